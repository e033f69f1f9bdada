"""Per-link secret-key rates of prepare-and-measure QKD over fibre.

Connects a scenario's QKD hardware profile to the pure key-rate formulas of
:mod:`qnetemu.physics.qkd` (asymptotic) and :mod:`qnetemu.physics.finite_key`
(finite key, Lim et al. 2014), with the detector dead time of the profile,
and sets ``key_rate_bps``, ``qber``,
``transmittance``, ``key_model``, ``block_time_s``, ``raman_noise_prob`` and
``raman_coefficient_source`` on every fibre edge, vectorised over all links that share a profile.
Classical WDM channels on a link (its ``coexistence``) add Raman noise
clicks (:mod:`qnetemu.physics.raman`) to the detector's dark counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from qnetemu.network.graph import assign_fibre_key_rates, fibre_edges
from qnetemu.physics.cv_qkd import cv_gg02_rr_lodewyck2007
from qnetemu.physics.fibre import db_to_transmittance
from qnetemu.physics.finite_key import (
    bb84_decoy_lim2014,
    bb84_detector_live_fraction,
    bb84_expected_counts,
)
from qnetemu.physics.mdi import mdi_decoy_xu2013
from qnetemu.physics.qkd import (
    bb84_decoy_ma2005,
    bb84_gain_and_qber,
    bb84_gllp_no_decoy,
    bb84_infinite_decoy,
)
from qnetemu.physics.raman import (
    effective_raman_coefficient,
    raman_noise_power_w,
    raman_noise_prob_per_gate,
)
from qnetemu.physics.twin_field import tf_pm_ma2018, tf_sns_aopp_xu2020, tf_sns_wang2018
from qnetemu.scenario.schema import Coexistence, QKDProfile

#: Protocols whose link has an untrusted measurement station in the middle.
MIDDLE_STATION_PROTOCOLS = ("tf_pm", "tf_sns", "mdi_decoy")


@dataclass(frozen=True)
class LinkKey:
    """What one profile gives on a set of links (arrays in link order)."""

    key_rate_bps: np.ndarray
    qber: np.ndarray
    block_time_s: np.ndarray  # time to fill one finite-key block [s]; nan for asymptotic keys
    block_detections: np.ndarray  # n_X per block; nan for asymptotic keys


def link_key(profile: QKDProfile, channel_transmittance, noise_prob=0.0) -> LinkKey:
    """Key rate [bit/s], signal QBER and block timing of ``profile`` at the given channel transmittances.

    ``noise_prob`` is the extra (Raman) click probability per gate, added to
    the profile's dark-count probability.
    """
    t = np.asarray(channel_transmittance, dtype=float)
    y0 = np.minimum(profile.dark_count_prob + np.asarray(noise_prob, dtype=float), 0.5)
    common = dict(
        mu=profile.mu,
        detector_efficiency=profile.detector_efficiency,
        dark_count_prob=y0,
        misalignment_error=profile.misalignment_error,
    )
    nan = np.full(np.broadcast_shapes(t.shape, y0.shape), np.nan)
    _, qber = bb84_gain_and_qber(t, afterpulse_prob=profile.afterpulse_prob, **common)
    qber = np.asarray(qber, dtype=float)
    if profile.key_model == "finite":
        fk = profile.finite_key
        settings = dict(mu=profile.mu, nu=profile.nu, omega=fk.omega, p_mu=fk.p_mu, p_nu=fk.p_nu, p_x=fk.p_x,
                        detector_efficiency=profile.detector_efficiency, dark_count_prob=y0,
                        misalignment_error=profile.misalignment_error, afterpulse_prob=profile.afterpulse_prob)
        n_x, *_ = bb84_expected_counts(t, 1.0, **settings)
        live = np.asarray(bb84_detector_live_fraction(
            t, repetition_rate_hz=profile.repetition_rate_hz, dead_time_s=profile.detector_dead_time_s,
            **{k: v for k, v in settings.items() if k not in ("p_x", "misalignment_error")}), dtype=float)
        # X-basis detections per pulse sent: dead gates give none.
        x_per_pulse = np.sum(n_x, axis=-1) * live
        if fk.block_detections is not None:
            block = np.broadcast_to(np.asarray(fk.block_detections, dtype=float), x_per_pulse.shape)
        else:
            block = fk.block_time_s * profile.repetition_rate_hz * x_per_pulse
        positive = block > 0
        safe_block = np.where(positive, block, 1.0)
        per_pulse = np.where(positive, bb84_decoy_lim2014(
            t, block_detections=safe_block, ec_efficiency=profile.ec_efficiency, eps_sec=fk.eps_sec,
            eps_cor=fk.eps_cor, repetition_rate_hz=profile.repetition_rate_hz,
            dead_time_s=profile.detector_dead_time_s, **settings), 0.0)
        with np.errstate(divide="ignore"):
            block_time_s = np.where(x_per_pulse > 0, block / (x_per_pulse * profile.repetition_rate_hz), np.inf)
        return LinkKey(np.asarray(per_pulse, dtype=float) * profile.repetition_rate_hz, qber,
                       np.asarray(block_time_s, dtype=float), np.asarray(block, dtype=float))
    if profile.protocol in ("tf_pm", "tf_sns", "mdi_decoy", "cv_gg02"):
        # The BB84 signal QBER means nothing here: report none rather than a wrong one.
        return LinkKey(_two_way_or_cv_rate(profile, t, y0) * profile.repetition_rate_hz, nan, nan, nan)
    dead = dict(repetition_rate_hz=profile.repetition_rate_hz, dead_time_s=profile.detector_dead_time_s)
    if profile.protocol == "decoy_bb84":
        per_pulse = bb84_decoy_ma2005(t, nu=profile.nu, ec_efficiency=profile.ec_efficiency,
                                      sifting=profile.sifting, afterpulse_prob=profile.afterpulse_prob, **common,
                                      **dead)
    elif profile.protocol == "decoy_bb84_infinite":
        per_pulse = bb84_infinite_decoy(t, ec_efficiency=profile.ec_efficiency, sifting=profile.sifting, **common,
                                        **dead)
    else:
        per_pulse = bb84_gllp_no_decoy(t, ec_efficiency=profile.ec_efficiency, sifting=profile.sifting, **common,
                                       **dead)
    return LinkKey(np.asarray(per_pulse, dtype=float) * profile.repetition_rate_hz, qber, nan, nan)


def _two_way_or_cv_rate(profile: QKDProfile, t, dark_count_prob) -> np.ndarray:
    """Key per pulse (or symbol) of the twin-field, MDI and CV protocols."""
    if profile.protocol == "tf_pm":
        rate = tf_pm_ma2018(t, mu=profile.mu, detector_efficiency=profile.detector_efficiency,
                            dark_count_prob=dark_count_prob, misalignment_error=profile.misalignment_error,
                            ec_efficiency=profile.ec_efficiency, phase_slices=profile.phase_slices)
    elif profile.protocol == "tf_sns":
        sns = tf_sns_aopp_xu2020 if profile.aopp else tf_sns_wang2018
        rate = sns(t, mu=profile.mu, sending_prob=profile.sending_prob,
                   detector_efficiency=profile.detector_efficiency, dark_count_prob=dark_count_prob,
                   misalignment_error=profile.misalignment_error, ec_efficiency=profile.ec_efficiency)
    elif profile.protocol == "mdi_decoy":
        rate = mdi_decoy_xu2013(t, mu=profile.mu, detector_efficiency=profile.detector_efficiency,
                                dark_count_prob=dark_count_prob, misalignment_error=profile.misalignment_error,
                                ec_efficiency=profile.ec_efficiency)
    else:
        rate = cv_gg02_rr_lodewyck2007(np.maximum(t, 1e-300), modulation_variance=profile.modulation_variance,
                                       excess_noise=profile.excess_noise,
                                       detector_efficiency=profile.detector_efficiency,
                                       electronic_noise=profile.electronic_noise,
                                       reconciliation_efficiency=profile.reconciliation_efficiency)
    return np.asarray(rate, dtype=float)


def profile_reach_km(profile: QKDProfile, *, attenuation_db_per_km: float, extra_loss_db: float,
                     coexistence: Coexistence | dict | None = None, tolerance_km: float = 0.01) -> float:
    """Longest link on which ``profile`` still gives key [km] (its own protocol and key model).

    Bisection on the sign of the key rate over length, with the link's
    terminal losses and the Raman noise of ``coexistence`` (dark fibre when
    None), capped by the profile's loss budget. Used for trusted-node
    insertion when ``trusted_nodes.reach_km`` is ``protocol``.
    """
    def positive(length_km: float) -> bool:
        loss_db = attenuation_db_per_km * length_km + extra_loss_db
        if profile.max_loss_db is not None and loss_db > profile.max_loss_db:
            return False
        noise = raman_noise_prob(profile, coexistence, length_km, attenuation_db_per_km)
        return float(link_key(profile, float(db_to_transmittance(loss_db)), noise).key_rate_bps) > 0.0

    if not positive(0.0):
        return 0.0
    low, high = 0.0, 100.0
    while positive(high):
        low, high = high, 2 * high
        if high > 1e5:
            return high
    while high - low > tolerance_km:
        mid = 0.5 * (low + high)
        low, high = (mid, high) if positive(mid) else (low, mid)
    return low


def key_rate_bps(profile: QKDProfile, channel_transmittance, noise_prob=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Secret-key rate [bit/s] and signal QBER of ``profile`` at the given channel transmittances."""
    result = link_key(profile, channel_transmittance, noise_prob)
    return result.key_rate_bps, result.qber


def raman_noise_prob(profile: QKDProfile, coexistence: Coexistence | dict | None, length_km, attenuation_db_per_km):
    """Raman click probability per gate on links of these lengths [km] and attenuations [dB/km].

    Sums the forward or backward Raman power of every classical channel
    group (:func:`qnetemu.physics.raman.raman_noise_power_w`) and turns it
    into clicks with the profile's detector efficiency and gate width. Zero
    for dark fibre (``coexistence`` None).
    """
    length_km = np.asarray(length_km, dtype=float)
    if coexistence is None:
        return np.zeros_like(length_km)
    if isinstance(coexistence, dict):  # as resolved link records carry it
        coexistence = Coexistence.model_validate(coexistence)
    middle = profile.protocol in MIDDLE_STATION_PROTOCOLS
    power_w = np.zeros_like(length_km)
    for group in coexistence.channels:
        beta = effective_raman_coefficient(group.wavelength_m, coexistence.quantum_wavelength_m,
                                           group.raman_coefficient_per_km_nm).beta_per_km_nm
        common = dict(attenuation_db_per_km=attenuation_db_per_km, raman_coefficient_per_km_nm=beta,
                      filter_bandwidth_nm=coexistence.filter_bandwidth_nm)
        p_in = group.launch_power_mw * 1e-3
        if middle:
            # The station sits half-way: a channel running through the link scatters forward
            # into it over one arm and backward over the other, each of half the length.
            scattered = (np.asarray(raman_noise_power_w(p_in, length_km / 2, counter_propagating=False, **common))
                         + np.asarray(raman_noise_power_w(p_in, length_km / 2, counter_propagating=True, **common)))
        else:
            scattered = np.asarray(raman_noise_power_w(p_in, length_km, counter_propagating=group.direction == "counter",
                                                       **common))
        power_w = power_w + group.count * scattered
    return np.asarray(raman_noise_prob_per_gate(
        power_w, quantum_wavelength_m=coexistence.quantum_wavelength_m,
        detector_efficiency=profile.detector_efficiency, gate_width_s=profile.gate_width_s), dtype=float)


def raman_coefficient_source(coexistence: Coexistence | dict | None) -> str | None:
    """Where the Raman coefficients of ``coexistence`` came from; None for dark fibre.

    ``silica_model``, ``scenario`` (values the scenario gives), or both
    joined by ``+`` when its channel groups differ
    (:func:`qnetemu.physics.raman.effective_raman_coefficient`).
    """
    if coexistence is None:
        return None
    if isinstance(coexistence, dict):
        coexistence = Coexistence.model_validate(coexistence)
    return "+".join(sorted({"silica_model" if g.raman_coefficient_per_km_nm is None else "scenario"
                            for g in coexistence.channels}))


def _edge_coexistence(graph: nx.Graph, data: dict) -> Coexistence | dict | None:
    """A link's classical traffic; a bypass link is lit by the channels of the first lit hop it passes."""
    if "fibre_path" not in data:
        return data.get("coexistence")
    path = data["fibre_path"]
    for u, v in zip(path[:-1], path[1:], strict=True):
        if graph.has_edge(u, v) and graph.edges[u, v].get("coexistence") is not None:
            return graph.edges[u, v]["coexistence"]
    return None


def assign_profile_key_rates(graph: nx.Graph, default: QKDProfile, profiles: dict[str, QKDProfile]) -> None:
    """Set key rate, QBER, key model, block time, Raman noise and repetition rate on every fibre edge.

    One vectorised call per QKD profile. Links beyond a profile's
    ``max_loss_db`` give no key: real devices stop there even when the
    formula is still positive.
    """
    groups: dict[str | None, list[tuple]] = {}
    for edge in fibre_edges(graph):
        groups.setdefault(edge[2].get("qkd_profile"), []).append(edge)
    for name, edges in groups.items():
        profile = default if name is None else profiles[name]
        noise = np.zeros(len(edges))
        sources: list[str | None] = [None] * len(edges)
        # One vectorised Raman call per distinct classical-traffic spec (usually the fibre default).
        by_spec: dict[str, tuple[Coexistence | dict, list[int]]] = {}
        for i, (_, _, data) in enumerate(edges):
            spec = _edge_coexistence(graph, data)
            sources[i] = raman_coefficient_source(spec)
            if spec is not None:
                key = spec.model_dump_json() if isinstance(spec, Coexistence) else repr(sorted(spec.items()))
                by_spec.setdefault(key, (spec, []))[1].append(i)
        for spec, index in by_spec.values():
            noise[index] = raman_noise_prob(profile, spec, [edges[i][2]["length_km"] for i in index],
                                            np.array([edges[i][2]["attenuation_db_per_km"] for i in index]))
        result: dict[str, LinkKey] = {}

        def rate_fn(transmittance, noise=noise, profile=profile, result=result):
            result["key"] = link_key(profile, transmittance, noise)
            return result["key"].key_rate_bps, result["key"].qber

        assign_fibre_key_rates(graph, rate_fn, max_loss_db=profile.max_loss_db, edges=edges)
        key = result["key"]
        for i, (_, _, data) in enumerate(edges):
            data["repetition_rate_hz"] = profile.repetition_rate_hz
            data["key_model"] = profile.key_model
            data["protocol"] = profile.protocol
            data["raman_noise_prob"] = float(noise[i])
            data["raman_coefficient_source"] = sources[i]
            data["block_time_s"] = float(np.broadcast_to(key.block_time_s, noise.shape)[i])
            data["block_detections"] = float(np.broadcast_to(key.block_detections, noise.shape)[i])
            # Twin-field and MDI links measure in the middle: an untrusted station, never a trusted node.
            data["untrusted_station"] = (f"MS {data.get('link_id', '')}"
                                         if profile.protocol in MIDDLE_STATION_PROTOCOLS else None)


def insertion_reach_km(scenario) -> float:
    """The span length beyond which trusted nodes are inserted [km].

    ``trusted_nodes.reach_km`` when it is a number; for ``protocol``, the
    reach of the default QKD profile on the fibre defaults
    (:func:`profile_reach_km`), so a twin-field network gets far fewer
    trusted nodes than a BB84 one.
    """
    reach = scenario.trusted_nodes.reach_km
    if reach != "protocol":
        return float(reach)
    fibre = scenario.fibre
    return profile_reach_km(scenario.qkd, attenuation_db_per_km=fibre.attenuation_db_per_km,
                            extra_loss_db=fibre.extra_loss_db, coexistence=fibre.coexistence)


def profiles_without_key(default: QKDProfile, profiles: dict[str, QKDProfile]) -> list[tuple[str, str]]:
    """Profiles that give no key even on a lossless, dark link, as (field path, reason) pairs.

    A finite-key block too small to give key is a mistake in the scenario,
    not a result; so is hardware that cannot make key at all.
    """
    bad = []
    for where, profile in (("qkd", default), *((f"qkd_profiles.{n}", p) for n, p in profiles.items())):
        if float(link_key(profile, 1.0).key_rate_bps) > 0.0:
            continue
        fk = profile.finite_key
        if profile.key_model == "finite":
            name, value = (("block_detections", fk.block_detections) if fk.block_detections is not None
                           else ("block_time_s", fk.block_time_s))
            bad.append((f"{where}.finite_key.{name}", f"{value:g} is too small to give any key, even on a "
                        "lossless link"))
        else:
            bad.append((where, "this hardware gives no key even on a lossless link"))
    return bad
