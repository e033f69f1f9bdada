"""Space services: key per pass, trusted-satellite relay, BBM92 entanglement downlink."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.orbits.passes import Pass, Site
from qnetemu.orbits.satellites import (
    orbital_period_s,
    satellite_from_elements,
    sun_synchronous_inclination_deg,
)
from qnetemu.physics.freespace import downlink_transmittance
from qnetemu.physics.qkd import bb84_decoy_ma2005, binary_entropy
from qnetemu.space.services import (
    MICIUS_BB84_PAYLOAD,
    MICIUS_PAIR_SOURCE,
    XINGLONG_STATION,
    BB84Payload,
    GroundStation,
    bbm92_downlink_rates,
    entanglement_downlink_key_per_day,
    key_per_pass,
    trusted_satellite_key_per_day,
)

EPOCH = datetime(2026, 3, 20, tzinfo=UTC)
MATERA = dataclasses.replace(XINGLONG_STATION, site=Site(40.6486, 16.7046, 536.0, "Matera"))
BUCHAREST = dataclasses.replace(XINGLONG_STATION, site=Site(44.4268, 26.1025, 80.0, "Bucharest"))


def _synthetic_pass(time_s, elevation_deg, slant_range_m, site=XINGLONG_STATION.site):
    n = len(time_s)
    return Pass(
        satellite="synthetic",
        station=site,
        window_start_utc=EPOCH,
        rise_utc=EPOCH + timedelta(seconds=float(time_s[0])),
        culminate_utc=EPOCH + timedelta(seconds=float(time_s[n // 2])),
        set_utc=EPOCH + timedelta(seconds=float(time_s[-1])),
        max_elevation_deg=float(np.max(elevation_deg)),
        time_s=np.asarray(time_s, dtype=float),
        elevation_deg=np.asarray(elevation_deg, dtype=float),
        slant_range_m=np.asarray(slant_range_m, dtype=float),
        sun_altitude_deg=np.full(n, -30.0),
        truncated=False,
    )


def test_constant_geometry_key_is_rate_times_duration():
    """Constant range/elevation: key = Ma et al. (2005) rate x repetition rate x duration.

    Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005), vacuum + weak decoy;
    the trapezoid rule is exact for a constant rate.
    """
    payload, station = MICIUS_BB84_PAYLOAD, XINGLONG_STATION
    time_s = np.arange(0.0, 301.0, 10.0)
    p = _synthetic_pass(time_s, np.full(31, 45.0), np.full(31, 700e3))
    channel = downlink_transmittance(
        700e3,
        45.0,
        wavelength_m=payload.wavelength_m,
        divergence_rad=payload.divergence_rad,
        rx_aperture_m=station.rx_aperture_m,
        pointing_jitter_rad=payload.pointing_jitter_rad,
        zenith_transmittance=station.zenith_transmittance,
        receiver_efficiency=station.optics_efficiency,
    )
    rate = bb84_decoy_ma2005(
        channel,
        mu=payload.mu,
        nu=payload.nu,
        detector_efficiency=station.detector_efficiency,
        dark_count_prob=station.dark_count_prob,
        misalignment_error=payload.misalignment_error,
    )
    result = key_per_pass(p, payload=payload, station=station)
    assert_allclose(result["key_bits"], rate * payload.repetition_rate_hz * 300.0, rtol=1e-12)
    assert_allclose(result["mean_loss_db"], -10 * np.log10(channel), rtol=1e-12)
    assert result["duration_s"] == 300.0


def _micius_like_pass(step_s=1.0):
    """A 500 km overflight seen from 1200 km down to 645 km and back.

    Circular orbit over a spherical, non-rotating Earth; the station sits at
    the cross-track angle that makes the closest approach 645 km.
    """
    earth_m, orbit_m = 6_371e3, 6_871e3
    omega = 2 * np.pi / orbital_period_s(500.0)
    cos_cross = (earth_m**2 + orbit_m**2 - 645e3**2) / (2 * earth_m * orbit_m)
    t = np.arange(-400.0, 400.0 + step_s, step_s)
    cos_central = cos_cross * np.cos(omega * t)
    d = np.sqrt(earth_m**2 + orbit_m**2 - 2 * earth_m * orbit_m * cos_central)
    el = np.degrees(np.arcsin((orbit_m * cos_central - earth_m) / d))
    keep = d <= 1200e3
    return _synthetic_pass(t[keep] - t[keep][0], el[keep], d[keep])


def test_micius_pass_key_bounds_reported_final_key():
    """Micius-Xinglong pass (Liao et al., Nature 549, 43 (2017)): 300,939 bits in 273 s.

    That is a finite-size key; the asymptotic key of the same geometry
    (645-1200 km, 276 s here) must exceed it, and by less than the factor of
    ~10 that finite-size penalties at ~10^6 sifted bits reach at most.
    """
    p = _micius_like_pass()
    result = key_per_pass(p, payload=MICIUS_BB84_PAYLOAD, station=XINGLONG_STATION)
    assert_allclose(result["duration_s"], 273.0, atol=10.0)
    assert 300_939 < result["key_bits"] < 10 * 300_939


def test_single_sample_pass_has_no_key():
    """One sample spans no time: zero key, not NaN."""
    p = _synthetic_pass([0.0], [40.0], [800e3])
    result = key_per_pass(p, payload=MICIUS_BB84_PAYLOAD, station=XINGLONG_STATION)
    assert result["key_bits"] == 0.0
    assert result["mean_key_rate_hz"] == 0.0


@pytest.fixture(scope="module")
def sso():
    return satellite_from_elements(
        "sso500",
        altitude_km=500.0,
        inclination_deg=sun_synchronous_inclination_deg(500.0),
        raan_deg=157.5,
        epoch_utc=EPOCH,
    )


@pytest.fixture(scope="module")
def relay(sso):
    return trusted_satellite_key_per_day(
        sso, station_a=MATERA, station_b=BUCHAREST, payload=MICIUS_BB84_PAYLOAD, start_utc=EPOCH
    )


def test_trusted_relay_is_min_of_both_links(relay):
    """Store-and-forward relay (Liao et al., PRL 120, 030501 (2018)): min(key_A, key_B) per day."""
    assert relay["passes_a"] >= 1 and relay["passes_b"] >= 1
    # Both sides are scaled by 86,400 s / window; the window comes from float timestamps.
    assert relay["key_bits_per_day"] == pytest.approx(
        min(relay["key_bits_a"], relay["key_bits_b"]), rel=1e-12
    )
    assert relay["key_bits_per_day"] > 0.0
    assert 0.0 < relay["latency_s"] <= 86_400.0


def test_trusted_relay_is_symmetric(sso, relay):
    """Swapping A and B swaps the per-station totals and keeps the shared key."""
    swapped = trusted_satellite_key_per_day(
        sso, station_a=BUCHAREST, station_b=MATERA, payload=MICIUS_BB84_PAYLOAD, start_utc=EPOCH
    )
    assert_allclose(swapped["key_bits_a"], relay["key_bits_b"], rtol=1e-12)
    assert_allclose(swapped["key_bits_per_day"], relay["key_bits_per_day"], rtol=1e-12)
    assert swapped["latency_s"] == relay["latency_s"]


def test_unreachable_station_gives_no_key(sso):
    """A station the satellite never sees at night yields no key and infinite latency.

    The South Pole at the March equinox has the Sun on the horizon all day, so
    the -12 deg night condition is never met.
    """
    pole = dataclasses.replace(XINGLONG_STATION, site=Site(-90.0, 0.0, 2835.0, "South Pole"))
    result = trusted_satellite_key_per_day(
        sso, station_a=MATERA, station_b=pole, payload=MICIUS_BB84_PAYLOAD, start_utc=EPOCH
    )
    assert result["key_bits_per_day"] == 0.0
    assert result["passes_b"] == 0
    assert math.isinf(result["latency_s"])


def test_bbm92_noiseless_limit():
    """No noise, no accidentals: K = q R eta_A eta_B (1 - (1+f) h2(e_int)) (Ma, Fung, Lo 2007)."""
    eta_a, eta_b = 1e-3, 2e-3
    for e_int in (0.0, 0.02):
        key, coincidences, qber = bbm92_downlink_rates(
            eta_a,
            eta_b,
            pair_rate_hz=5.9e6,
            detector_efficiency_a=1.0,
            detector_efficiency_b=1.0,
            noise_rate_a_hz=0.0,
            noise_rate_b_hz=0.0,
            coincidence_window_s=1e-18,
            intrinsic_qber=e_int,
            ec_efficiency=1.1,
        )
        true_rate = 5.9e6 * eta_a * eta_b
        assert_allclose(coincidences, true_rate, rtol=1e-9)
        assert_allclose(qber, e_int, atol=1e-9)
        assert_allclose(key, 0.5 * true_rate * (1 - 2.1 * binary_entropy(e_int)), rtol=1e-6)


def test_bbm92_accidentals_equal_true_gives_quarter_qber():
    """C_acc = R^2 eta^2 tau equals C_t = R eta^2 when R tau = 1: E = (0 + 1/2)/2 = 1/4."""
    _, coincidences, qber = bbm92_downlink_rates(
        1e-2,
        1e-2,
        pair_rate_hz=1e6,
        detector_efficiency_a=1.0,
        detector_efficiency_b=1.0,
        noise_rate_a_hz=0.0,
        noise_rate_b_hz=0.0,
        coincidence_window_s=1e-6,
        intrinsic_qber=0.0,
    )
    assert_allclose(qber, 0.25, rtol=1e-12)
    assert_allclose(coincidences, 2 * 1e6 * 1e-4, rtol=1e-12)


@pytest.mark.parametrize(("e_int", "positive"), [(0.105, True), (0.115, False)])
def test_bbm92_threshold_at_eleven_percent(e_int, positive):
    """With f = 1 the key vanishes at h2(E) = 1/2, E = 11.0 % (Shor & Preskill, PRL 85, 441 (2000))."""
    key, _, _ = bbm92_downlink_rates(
        0.1,
        0.1,
        pair_rate_hz=1e6,
        detector_efficiency_a=1.0,
        detector_efficiency_b=1.0,
        noise_rate_a_hz=0.0,
        noise_rate_b_hz=0.0,
        coincidence_window_s=1e-18,
        intrinsic_qber=e_int,
        ec_efficiency=1.0,
    )
    assert (key > 0.0) == positive


def test_bbm92_high_loss_gives_no_key():
    """At 100 dB per downlink noise dominates: QBER -> 1/2, key clipped to 0."""
    key, _, qber = bbm92_downlink_rates(
        1e-10,
        1e-10,
        pair_rate_hz=5.9e6,
        detector_efficiency_a=0.5,
        detector_efficiency_b=0.5,
        noise_rate_a_hz=300.0,
        noise_rate_b_hz=300.0,
        coincidence_window_s=2.5e-9,
        intrinsic_qber=0.03,
    )
    assert key == 0.0
    assert_allclose(qber, 0.5, atol=1e-3)


def test_entanglement_downlink_per_day(sso):
    """BBM92 over common night windows: symmetric, key <= q x coincidences, loss adds in dB.

    Two 500 km downlinks each lose >= 25 dB in this model, so the two-downlink
    loss must exceed 50 dB (Yin et al., Science 356, 1140 (2017) report
    64-82 dB for their longer, lower-elevation links).
    """
    ab = entanglement_downlink_key_per_day(
        sso, station_a=MATERA, station_b=BUCHAREST, source=MICIUS_PAIR_SOURCE, start_utc=EPOCH
    )
    ba = entanglement_downlink_key_per_day(
        sso, station_a=BUCHAREST, station_b=MATERA, source=MICIUS_PAIR_SOURCE, start_utc=EPOCH
    )
    assert ab["windows"] >= 1
    assert_allclose(ab["key_bits"], ba["key_bits"], rtol=1e-12)
    assert 0.0 < ab["key_bits"] <= 0.5 * ab["coincidences"]
    assert ab["min_loss_db"] > 50.0
    assert MICIUS_PAIR_SOURCE.intrinsic_qber < ab["mean_qber"] < 0.11


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (BB84Payload, {"nu": 0.9}),  # decoy above signal
        (BB84Payload, {"divergence_rad": None}),  # no beam given
        (BB84Payload, {"tx_aperture_m": 0.3}),  # two beams given
        (GroundStation, {"detector_efficiency": 1.5}),
        (GroundStation, {"noise_rate_hz": -1.0}),
        (GroundStation, {"zenith_transmittance": 0.0}),
    ],
)
def test_invalid_devices_raise(cls, kwargs):
    """Impossible device parameters are refused with ValueError."""
    base = MICIUS_BB84_PAYLOAD if cls is BB84Payload else XINGLONG_STATION
    with pytest.raises(ValueError):
        dataclasses.replace(base, **kwargs)
