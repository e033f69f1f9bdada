"""Elementary-link model shared by the analytic, Monte Carlo and SeQUeNCe engines.

An elementary link joins two neighbouring nodes through a Bell-state
measurement (BSM) station half way ("meet in the middle"). Each attempt, both
memories emit one photon; the link is heralded when both photons reach the
BSM and it succeeds (two-photon schemes: Barrett-Kok, single-heralded).

Success probability per attempt (one memory on each side)::

    p = p_bsm * (eta_mem * eta_det)**2 * T_A * T_B,   T = 10**(-alpha * L_half / 10)

with ``p_bsm = 1/2`` for a linear-optics BSM (Barrett & Kok, PRA 71, 060310
(2005), doi:10.1103/PhysRevA.71.060310; SeQUeNCe 1.3.1
``components/bsm.py::SingleHeraldedBSM`` with ``success_rate = 0.5``, the
photon loss of ``components/memory.py::excite`` and ``optical_channel.py``).

Attempt period, by ``protocol.link_generation``:

* ``"continuous"``: ``max(1 / attempt_rate_hz, L / c_fibre)``: the photons fly
  ``L/2`` to the BSM and the herald flies ``L/2`` back (Sangouard et al.,
  RMP 83, 33 (2011), doi:10.1103/RevModPhys.83.33, Sec. III).
* ``"negotiated"``: what SeQUeNCe 1.3.1's single-heralded protocol stack spends
  per attempt, read from ``resource_manager.py`` (REQUEST/RESPONSE pairing of
  the two protocols after every failure), ``generation/single_heralded.py``
  (NEGOTIATE, then emission one classical delay later for the ACK) and the
  heralding message from the BSM node: ``3 d + q + d / 2``, where ``d = L /
  c_fibre`` is the router-to-router classical delay, ``q = (L/2) / c_fibre``
  the photon flight (the adapter sets SeQUeNCe's quantum channels to the
  fibre's speed) and ``d/2`` the router-to-BSM classical delay. Bounded below
  by ``1 / attempt_rate_hz`` (the memory's ``next_excite_time``).

In both, a pair's storage starts at the photon emission: it is heralded
``L / c_fibre`` later (photon to the BSM, herald back) and has decohered
meanwhile.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.engines.chain import ChainSpec, RepeaterHardware

__all__ = [
    "SEQUENCE_QUANTUM_LIGHT_SPEED_M_PER_S",
    "ElementaryLink",
    "half_link_transmittance",
    "two_photon_success_prob",
    "attempt_period_s",
    "validate_chain",
    "elementary_links",
    "nested_swap_partners",
    "pumping_schedule",
    "pumping_expected_attempts",
]

TimingModel = Literal["continuous", "negotiated"]

#: SeQUeNCe's default quantum-channel light speed (``optical_channel.py``: 2e-4 m/ps);
#: the adapter replaces it by the fibre's speed.
SEQUENCE_QUANTUM_LIGHT_SPEED_M_PER_S = 2.0e8
#: Probability that a linear-optics BSM resolves the two-photon Bell state.
LINEAR_OPTICS_BSM_SUCCESS = 0.5
_M_PER_KM = 1e3


def half_link_transmittance(length_km, attenuation_db_per_km):
    """Transmittance from a node to the BSM station half way along its link.

    Parameters
    ----------
    length_km : array_like
        Node-to-node fibre length, >= 0. [km]
    attenuation_db_per_km : array_like
        Fibre attenuation, >= 0. [dB/km]

    Returns
    -------
    transmittance : float or ndarray
        ``10**(-alpha L / 20)``. [-]
    """
    length = np.asarray(length_km, dtype=float)
    alpha = np.asarray(attenuation_db_per_km, dtype=float)
    if np.any(~np.isfinite(length)) or np.any(length < 0):
        raise ValueError(f"length_km must be finite and >= 0, got {length_km!r}")
    if np.any(~np.isfinite(alpha)) or np.any(alpha < 0):
        raise ValueError(
            f"attenuation_db_per_km must be finite and >= 0, got {attenuation_db_per_km!r}"
        )
    t = np.exp(-np.log(10.0) * alpha * length / 20.0)
    return float(t) if t.ndim == 0 else t


def two_photon_success_prob(
    length_km,
    attenuation_db_per_km,
    memory_efficiency=1.0,
    detector_efficiency=1.0,
    bsm_success_prob=LINEAR_OPTICS_BSM_SUCCESS,
):
    """Heralding probability per attempt of a two-photon (Barrett-Kok type) link.

    Parameters
    ----------
    length_km : array_like
        Node-to-node length; the BSM sits half way. [km]
    attenuation_db_per_km : array_like
        Fibre attenuation. [dB/km]
    memory_efficiency, detector_efficiency : array_like
        Emission/retrieval and detection efficiencies, in [0, 1]. [-]
    bsm_success_prob : float
        Probability the BSM resolves the state given both photons (1/2). [-]

    Returns
    -------
    p : float or ndarray
        ``p_bsm (eta_mem eta_det)^2 10**(-alpha L / 10)``. [-]

    Notes
    -----
    Barrett & Kok, PRA 71, 060310 (2005); SeQUeNCe 1.3.1 SingleHeraldedBSM.
    """
    for name, v in (
        ("memory_efficiency", memory_efficiency),
        ("detector_efficiency", detector_efficiency),
        ("bsm_success_prob", bsm_success_prob),
    ):
        arr = np.asarray(v, dtype=float)
        if np.any(np.isnan(arr)) or np.any(arr < 0) or np.any(arr > 1):
            raise ValueError(f"{name} must lie in [0, 1], got {v!r}")
    t = np.asarray(half_link_transmittance(length_km, attenuation_db_per_km))
    eta = np.asarray(memory_efficiency, dtype=float) * np.asarray(detector_efficiency, dtype=float)
    p = bsm_success_prob * (eta * t) ** 2
    return float(p) if np.ndim(p) == 0 else p


def attempt_period_s(length_km, attempt_rate_hz, model: TimingModel):
    """Time between successive generation attempts on one link.

    Parameters
    ----------
    length_km : array_like
        Node-to-node length. [km]
    attempt_rate_hz : float
        Maximum attempt rate of a memory, > 0. [Hz]
    model : {"continuous", "negotiated"}
        ``protocol.link_generation`` (see the module docstring).

    Returns
    -------
    period_s : float or ndarray
        Attempt period. [s]
    """
    if not (np.isfinite(attempt_rate_hz) and attempt_rate_hz > 0):
        raise ValueError(f"attempt_rate_hz must be > 0, got {attempt_rate_hz!r}")
    length_m = np.asarray(length_km, dtype=float) * _M_PER_KM
    if np.any(~np.isfinite(length_m)) or np.any(length_m < 0):
        raise ValueError(f"length_km must be finite and >= 0, got {length_km!r}")
    d = length_m / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    if model == "continuous":
        comm = d
    elif model == "negotiated":
        comm = 3.0 * d + 0.5 * d + 0.5 * d
    else:
        raise ValueError(f"model must be 'continuous' or 'negotiated', got {model!r}")
    period = np.maximum(comm, 1.0 / attempt_rate_hz)
    return float(period) if np.ndim(period) == 0 else period


@dataclass(frozen=True)
class ElementaryLink:
    """One elementary link as the engines see it."""

    length_km: float
    success_prob: float
    """Heralding probability per attempt for one memory pair. [-]"""
    attempt_period_s: float
    """Time per attempt (emission to herald at both ends). [s]"""
    herald_delay_s: float
    """Time from emission to the herald reaching the nodes (pair ages meanwhile). [s]"""
    fidelity: float
    """Fidelity of the freshly heralded pair. [-]"""


def _check_unit_interval(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"hardware.{name} must lie in [0, 1], got {value!r}")


def validate_chain(chain: ChainSpec) -> None:
    """Raise ValueError naming the offending field of an impossible chain."""
    hw: RepeaterHardware = chain.hardware
    if chain.n_segments < 1:
        raise ValueError("segment_lengths_km must hold at least one segment")
    for i, length in enumerate(chain.segment_lengths_km):
        if not (math.isfinite(length) and length > 0):
            raise ValueError(f"segment_lengths_km[{i}] must be > 0, got {length!r}")
    if not (math.isfinite(chain.attenuation_db_per_km) and chain.attenuation_db_per_km >= 0):
        raise ValueError(f"attenuation_db_per_km must be >= 0, got {chain.attenuation_db_per_km!r}")
    allowed = {
        "swap_order": ("swap_asap", "nested"),
        "link_generation": ("continuous", "negotiated"),
        "swap_messaging": ("instant", "classical"),
        "multiplexing": ("single", "independent_lanes", "shared_pool"),
    }
    for name, values in allowed.items():
        if getattr(chain.protocol, name) not in values:
            raise ValueError(f"protocol.{name} must be one of {values}, got {getattr(chain.protocol, name)!r}")
    if hw.decoherence not in ("depolarising", "dephasing"):
        raise ValueError(f"hardware.decoherence must be depolarising or dephasing, got {hw.decoherence!r}")
    for name in (
        "memory_efficiency",
        "detector_efficiency",
        "swap_success_prob",
        "swap_fidelity",
        "link_fidelity",
    ):
        _check_unit_interval(name, getattr(hw, name))
    if hw.memory_efficiency == 0 or hw.detector_efficiency == 0:
        raise ValueError("hardware.memory_efficiency and detector_efficiency must be > 0")
    if hw.swap_success_prob == 0:
        raise ValueError("hardware.swap_success_prob must be > 0")
    if not (hw.coherence_time_s > 0):  # also rejects NaN; inf means a perfect memory
        raise ValueError(f"hardware.coherence_time_s must be > 0, got {hw.coherence_time_s!r}")
    if not (isinstance(hw.memories_per_node, numbers.Integral) and hw.memories_per_node >= 1):
        raise ValueError(
            f"hardware.memories_per_node must be an integer >= 1, got {hw.memories_per_node!r}"
        )
    if not (math.isfinite(hw.attempt_rate_hz) and hw.attempt_rate_hz > 0):
        raise ValueError(f"hardware.attempt_rate_hz must be > 0, got {hw.attempt_rate_hz!r}")
    if hw.purification not in ("none", "bbpssw", "dejmps"):
        raise ValueError(
            f"hardware.purification must be none, bbpssw or dejmps, got {hw.purification!r}"
        )
    if not (isinstance(hw.purification_rounds, numbers.Integral) and hw.purification_rounds >= 0):
        raise ValueError(
            f"hardware.purification_rounds must be an integer >= 0, got {hw.purification_rounds!r}"
        )
    if hw.purification != "none" and hw.link_fidelity <= 0.5:
        raise ValueError("hardware.link_fidelity must exceed 0.5 for purification to help")
    if hw.cutoff_time_s is not None and not (hw.cutoff_time_s > 0):
        raise ValueError(f"hardware.cutoff_time_s must be > 0 or None, got {hw.cutoff_time_s!r}")


def elementary_links(chain: ChainSpec) -> list[ElementaryLink]:
    """The chain's elementary links under its ``protocol.link_generation`` (validates the chain)."""
    validate_chain(chain)
    hw = chain.hardware
    # One vectorised call per quantity: long chains have hundreds of links.
    lengths = np.asarray(chain.segment_lengths_km, dtype=float)
    probs = np.broadcast_to(two_photon_success_prob(
        lengths, chain.attenuation_db_per_km, hw.memory_efficiency, hw.detector_efficiency
    ), lengths.shape)
    periods = np.broadcast_to(
        attempt_period_s(lengths, hw.attempt_rate_hz, chain.protocol.link_generation), lengths.shape
    )
    # storage counts from emission: photon to the BSM (L/2), herald back (L/2)
    heralds = lengths * _M_PER_KM / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    return [
        ElementaryLink(float(length), float(p), float(period), float(herald), hw.link_fidelity)
        for length, p, period, herald in zip(lengths, probs, periods, heralds, strict=True)
    ]


def nested_swap_partners(n_segments: int) -> list[tuple[int, int]]:
    """Swap partners of each node of a chain under the nested order.

    Parameters
    ----------
    n_segments : int
        Number of elementary links; nodes are ``0 .. n_segments``.

    Returns
    -------
    partners : list of (int, int)
        ``partners[j] = (left, right)``: node ``j`` swaps a pair ``left-j`` with
        a pair ``j-right``; ``(-1, -1)`` for the two end nodes.

    Notes
    -----
    The order of SeQUeNCe 1.3.1 (``resource_management/
    reservation_rule_registry.py::_get_swapping_neighbors``): nodes at odd
    positions of the path swap with their neighbours; the path is then reduced
    to its even positions (keeping the last node) and the rule repeats. For
    ``2**k`` segments this is the doubling scheme of Briegel et al. (1998).
    """
    if n_segments < 1:
        raise ValueError(f"n_segments must be >= 1, got {n_segments}")
    partners = [(-1, -1)] * (n_segments + 1)
    reduced = list(range(n_segments + 1))
    # level by level: inner nodes at odd positions swap; keep even positions and the last node
    while len(reduced) > 2:
        for k in range(1, len(reduced) - 1, 2):
            partners[reduced[k]] = (reduced[k - 1], reduced[k + 1])
        reduced = reduced[::2] if len(reduced) % 2 == 1 else reduced[::2] + [reduced[-1]]
    return partners


def pumping_schedule(
    link_fidelity: float, rounds: int, method: str
) -> tuple[list[float], list[float]]:
    """Fidelity and success probability of each round of entanglement pumping.

    Parameters
    ----------
    link_fidelity : float
        Werner fidelity of every freshly heralded pair. [-]
    rounds : int
        Pumping rounds; round ``k`` purifies the kept pair with a fresh one.
    method : {"none", "bbpssw", "dejmps"}
        Recurrence step (Bennett et al. 1996; Deutsch et al. 1996).

    Returns
    -------
    fidelities : list of float
        ``fidelities[k]``: fidelity of the kept pair after ``k`` rounds
        (``fidelities[0] = link_fidelity``). DEJMPS keeps the Bell-diagonal
        weights between rounds; the result is read as a Werner pair of the
        same fidelity (a twirl), as the swap algebra needs.
    success_probs : list of float
        ``success_probs[k-1]``: probability that round ``k`` keeps the pair.

    Notes
    -----
    Pumping as in Dür, Briegel, Cirac, Zoller, PRA 59, 169 (1999), with the
    recurrence step of the chosen protocol; storage decoherence during pumping
    is neglected.
    """
    from qnetemu.physics.entanglement import bbpssw_purify, dejmps_purify

    fids, probs = [float(link_fidelity)], []
    if method == "none" or rounds == 0:
        return fids, probs
    fresh = np.array([link_fidelity] + [(1.0 - link_fidelity) / 3.0] * 3)
    coeffs = fresh.copy()
    for _ in range(rounds):
        if method == "bbpssw":
            f, p = bbpssw_purify(fids[-1], link_fidelity)
        elif method == "dejmps":
            coeffs, p = dejmps_purify(coeffs, fresh)
            f = float(coeffs[0])
        else:
            raise ValueError(
                f"hardware.purification must be none, bbpssw or dejmps, got {method!r}"
            )
        fids.append(float(f))
        probs.append(float(p))
    return fids, probs


def pumping_expected_attempts(p: float, success_probs: list[float]) -> float:
    """Mean attempts to produce a pumped pair when every failure restarts from scratch.

    ``E_0 = 1/p`` and ``E_k = (E_{k-1} + 1/p) / P_k`` (a level-k pair needs a
    level-(k-1) pair and a fresh one, then round k succeeds with ``P_k``).
    """
    e = 1.0 / p
    for pk in success_probs:
        e = (e + 1.0 / p) / pk
    return e
