"""Per-link secret-key rates of prepare-and-measure QKD over fibre.

Connects a scenario's QKD hardware profile to the pure key-rate formulas of
:mod:`qnetemu.physics.qkd` and sets ``key_rate_bps``, ``qber`` and
``transmittance`` on every fibre edge, vectorised over all links that share a
profile.
"""

from __future__ import annotations

from functools import partial

import networkx as nx
import numpy as np

from qnetemu.network.graph import assign_fibre_key_rates, fibre_edges
from qnetemu.physics.qkd import (
    bb84_decoy_ma2005,
    bb84_gain_and_qber,
    bb84_gllp_no_decoy,
    bb84_infinite_decoy,
)
from qnetemu.scenario.schema import QKDProfile


def key_rate_bps(profile: QKDProfile, channel_transmittance) -> tuple[np.ndarray, np.ndarray]:
    """Secret-key rate [bit/s] and signal QBER of ``profile`` at the given channel transmittances."""
    common = dict(
        mu=profile.mu,
        detector_efficiency=profile.detector_efficiency,
        dark_count_prob=profile.dark_count_prob,
        misalignment_error=profile.misalignment_error,
    )
    t = np.asarray(channel_transmittance, dtype=float)
    if profile.protocol == "decoy_bb84":
        per_pulse = bb84_decoy_ma2005(t, nu=profile.nu, ec_efficiency=profile.ec_efficiency,
                                      sifting=profile.sifting, **common)
    elif profile.protocol == "decoy_bb84_infinite":
        per_pulse = bb84_infinite_decoy(t, ec_efficiency=profile.ec_efficiency, sifting=profile.sifting, **common)
    else:
        per_pulse = bb84_gllp_no_decoy(t, ec_efficiency=profile.ec_efficiency, sifting=profile.sifting, **common)
    _, qber = bb84_gain_and_qber(t, **common)
    return np.asarray(per_pulse, dtype=float) * profile.repetition_rate_hz, np.asarray(qber, dtype=float)


def assign_profile_key_rates(graph: nx.Graph, default: QKDProfile, profiles: dict[str, QKDProfile]) -> None:
    """Set ``transmittance``, ``key_rate_bps``, ``qber`` and ``repetition_rate_hz`` on every fibre edge.

    One vectorised call per QKD profile. Links beyond a profile's
    ``max_loss_db`` give no key: real devices stop there even when the
    asymptotic formula is still positive.
    """
    groups: dict[str | None, list[tuple]] = {}
    for edge in fibre_edges(graph):
        groups.setdefault(edge[2].get("qkd_profile"), []).append(edge)
    for name, edges in groups.items():
        profile = default if name is None else profiles[name]
        assign_fibre_key_rates(graph, partial(key_rate_bps, profile), max_loss_db=profile.max_loss_db, edges=edges)
        for _, _, data in edges:
            data["repetition_rate_hz"] = profile.repetition_rate_hz
