"""Ground-station detector dead time: the fibre receivers' law, in both BB84 key models and in BBM92.

Non-paralyzable detectors are live a fraction 1/(1 + R tau) of the time
(Knoll, Radiation Detection and Measurement, 4th ed., Ch. 4, Sec. VII;
Rogers et al., NJP 9, 319 (2007)), R the click rate they would see with no
dead time. The checks compare with that closed form at count rates where it
halves the key, and with today's dead-time-free results bit for bit at 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from test_services import _synthetic_pass  # tests/space is on sys.path (pytest prepend import mode)

from qnetemu.physics.finite_key import FiniteKeyProtocol, bb84_expected_counts, lim2014_key_length
from qnetemu.physics.qkd import bb84_decoy_ma2005
from qnetemu.scenario.schema import GroundStationOptics, QKDProfile
from qnetemu.space.services import (
    MICIUS_BB84_PAYLOAD,
    XINGLONG_STATION,
    GroundStation,
    _channel_transmittance,
    bbm92_downlink_rates,
    key_over_passes,
    key_per_pass,
    pass_counts,
    pass_key_profile,
)

PROTOCOL = FiniteKeyProtocol(eps_sec=1e-10, eps_cor=1e-15, p_x=0.7, p_mu=0.6, p_nu=0.3, omega=0.0)
#: A GHz transmitter overhead at 500 km: about 10^6 clicks per second at the station.
FAST = dataclasses.replace(MICIUS_BB84_PAYLOAD, repetition_rate_hz=1e9)
TAU_S = 1e-6


def _constant_pass(n=31, range_m=500e3, elevation_deg=80.0):
    return _synthetic_pass(np.linspace(0.0, 300.0, n), np.full(n, elevation_deg), np.full(n, range_m))


def _varying_pass():
    t = np.linspace(0.0, 400.0, 41)
    elevation = 20.0 + 60.0 * np.sin(np.pi * t / 400.0)
    return _synthetic_pass(t, elevation, 500e3 / np.sin(np.radians(elevation)) ** 0.8)


def _station(tau_s):
    return dataclasses.replace(XINGLONG_STATION, detector_dead_time_s=tau_s)


def _eta(pass_, payload=FAST, station=XINGLONG_STATION):
    return _channel_transmittance(pass_.slant_range_m, pass_.elevation_deg, payload, station) \
        * station.detector_efficiency


def test_schema_default_is_none_like_the_fibre_receivers():
    assert GroundStationOptics().detector_dead_time_s == 0.0 == QKDProfile().detector_dead_time_s
    assert XINGLONG_STATION.detector_dead_time_s == 0.0
    with pytest.raises(ValueError, match="detector_dead_time_s"):
        _station(-1e-9)


@pytest.mark.parametrize("pass_", [_constant_pass(), _varying_pass()])
def test_no_dead_time_is_exactly_the_dead_time_free_model(pass_):
    """tau = 0: the pass key and counts are bit for bit those of the formulas without a dead time."""
    station = _station(0.0)
    channel = _channel_transmittance(pass_.slant_range_m, pass_.elevation_deg, FAST, station)
    _, rate_hz = pass_key_profile(pass_, payload=FAST, station=station)
    free = np.asarray(bb84_decoy_ma2005(channel, mu=FAST.mu, nu=FAST.nu, detector_efficiency=station.detector_efficiency,
                                        dark_count_prob=station.dark_count_prob,
                                        misalignment_error=FAST.misalignment_error, ec_efficiency=1.22))
    assert_array_equal(rate_hz, free * FAST.repetition_rate_hz)
    counts = pass_counts(pass_, payload=FAST, station=station, protocol=PROTOCOL)
    per_second = bb84_expected_counts(
        channel, FAST.repetition_rate_hz, mu=FAST.mu, nu=FAST.nu, omega=0.0, p_mu=0.6, p_nu=0.3, p_x=0.7,
        detector_efficiency=station.detector_efficiency, dark_count_prob=station.dark_count_prob,
        misalignment_error=FAST.misalignment_error, afterpulse_prob=0.0)
    for got, c in zip(counts, per_second, strict=True):
        assert_array_equal(got, np.trapezoid(c, pass_.time_s, axis=0))


def test_asymptotic_pass_key_scales_by_the_live_fraction_of_the_signal_clicks():
    """Ma et al. (2005) signal gain Q_mu = Y0 + 1 - exp(-eta mu); live = 1/(1 + f Q_mu tau), about 1/2 here."""
    p = _constant_pass()
    eta = float(_eta(p)[0])
    gain = XINGLONG_STATION.dark_count_prob + 1.0 - np.exp(-eta * FAST.mu)
    live = 1.0 / (1.0 + FAST.repetition_rate_hz * gain * TAU_S)
    assert 0.3 < live < 0.7  # a count rate at which the dead time matters
    free = key_per_pass(p, payload=FAST, station=_station(0.0))
    dead = key_per_pass(p, payload=FAST, station=_station(TAU_S))
    assert_allclose(dead["key_rate_hz"], free["key_rate_hz"] * live, rtol=1e-12)
    assert_allclose(dead["key_bits"], free["key_bits"] * live, rtol=1e-12)
    # Detected signal clicks never exceed 1/tau.
    assert FAST.repetition_rate_hz * gain * live < 1.0 / TAU_S


def test_finite_key_pass_counts_scale_by_the_live_fraction_of_all_intensities():
    """Lim et al. (2014) three intensities: live = 1/(1 + f tau sum_k p_k Q_k); the block is lim2014 of those counts."""
    p = _constant_pass()
    eta = float(_eta(p)[0])
    mus, probs = np.array([FAST.mu, FAST.nu, 0.0]), np.array([0.6, 0.3, 0.1])
    mean_gain = float(np.sum(probs * (XINGLONG_STATION.dark_count_prob + 1.0 - np.exp(-eta * mus))))
    live = 1.0 / (1.0 + FAST.repetition_rate_hz * mean_gain * TAU_S)
    free = pass_counts(p, payload=FAST, station=_station(0.0), protocol=PROTOCOL)
    dead = pass_counts(p, payload=FAST, station=_station(TAU_S), protocol=PROTOCOL)
    for got, ref in zip(dead, free, strict=True):
        assert_allclose(got, ref * live, rtol=1e-12)
    keys = key_over_passes([p], payload=FAST, station=_station(TAU_S), ec_efficiency=1.16, finite_key=PROTOCOL)
    expected = lim2014_key_length(*(c * live for c in free), intensities=mus, probabilities=probs,
                                  ec_efficiency=1.16, eps_sec=1e-10, eps_cor=1e-15)
    assert expected > 0
    assert_allclose(keys[0]["key_bits"], expected, rtol=1e-9)
    # Fewer detections per block: the finite-size cost grows, so the key falls by more than the live fraction.
    free_key = key_over_passes([p], payload=FAST, station=_station(0.0), ec_efficiency=1.16, finite_key=PROTOCOL)
    assert keys[0]["key_bits"] < live * free_key[0]["key_bits"]


def test_bbm92_coincidences_need_both_stations_live():
    """Singles S = R eta + n per station; every coincidence scales by L_A L_B = 1/((1 + S_A tA)(1 + S_B tB))."""
    eta_a, eta_b, rate = np.array([0.05, 0.2]), np.array([0.1, 0.02]), 5.9e7
    common = dict(pair_rate_hz=rate, detector_efficiency_a=0.5, detector_efficiency_b=0.6, noise_rate_a_hz=300.0,
                  noise_rate_b_hz=500.0, coincidence_window_s=2.5e-9, intrinsic_qber=0.03)
    free = bbm92_downlink_rates(eta_a, eta_b, **common)
    dead = bbm92_downlink_rates(eta_a, eta_b, dead_time_a_s=TAU_S, dead_time_b_s=2 * TAU_S, **common)
    s_a, s_b = rate * eta_a * 0.5 + 300.0, rate * eta_b * 0.6 + 500.0
    both_live = 1.0 / ((1.0 + s_a * TAU_S) * (1.0 + s_b * 2 * TAU_S))
    assert np.all(both_live < 0.5)
    assert_allclose(dead[0], free[0] * both_live, rtol=1e-12)  # key
    assert_allclose(dead[1], free[1] * both_live, rtol=1e-12)  # coincidences
    assert_allclose(dead[2], free[2], rtol=1e-12)  # QBER: true and accidental alike
    zero = bbm92_downlink_rates(eta_a, eta_b, dead_time_a_s=0.0, dead_time_b_s=0.0, **common)
    for got, ref in zip(zero, free, strict=True):
        assert_array_equal(got, ref)


def test_a_station_with_a_dead_time_gets_it_from_the_scenario(scenarios_dir):
    """The scenario field reaches the station the pass key is computed for, and lowers that key."""
    import qnetemu
    from qnetemu.architectures.satellite import ground_stations

    path = scenarios_dir / "space_demo.yaml"
    sc = qnetemu.load_scenario(path)
    sites = [s.model_dump(exclude_unset=True) for s in sc.sites]
    i = next(k for k, s in enumerate(sc.sites) if s.role == "ground_station")
    base = qnetemu.run(path, architectures=["satellite"])
    dead = qnetemu.run(path, architectures=["satellite"],
                       overrides={f"sites[{i}].ground_station.detector_dead_time_s": 50e-6})
    name = sites[i]["name"]
    station, _ = ground_stations(dead.resolved)[name]
    assert isinstance(station, GroundStation) and station.detector_dead_time_s == 50e-6
    rows = {r["b"]: r for r in base.tables["satellite_links"].to_dict("records")
            if r["service"] == "trusted_satellite"}
    dead_rows = {r["b"]: r for r in dead.tables["satellite_links"].to_dict("records")
                 if r["service"] == "trusted_satellite"}
    assert 0 < dead_rows[name]["key_bits_per_day"] < rows[name]["key_bits_per_day"]
    others = [n for n in rows if n != name]
    assert others and all(dead_rows[n]["key_bits_per_day"] == rows[n]["key_bits_per_day"] for n in others)

