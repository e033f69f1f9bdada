"""Detector dead time: the non-paralyzable live fraction and how both key models use it.

The law is :math:`R_d = R/(1 + R\\tau)` (Knoll, *Radiation Detection and
Measurement*, Ch. 4; Rogers et al., NJP 9, 319 (2007) for gated QKD
receivers). Dead gates are dropped, so a key rate with dead time is the
rate without it times the live fraction, exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.physics.finite_key import bb84_decoy_lim2014, bb84_detector_live_fraction
from qnetemu.physics.qkd import (
    bb84_decoy_ma2005,
    bb84_gain_and_qber,
    bb84_gllp_no_decoy,
    bb84_infinite_decoy,
    dead_time_live_fraction,
)

HW = dict(mu=0.45, detector_efficiency=0.10, dark_count_prob=2e-6, misalignment_error=0.01)
FK = dict(mu=0.45, nu=0.15, omega=0.0, p_mu=0.5, p_nu=0.35, p_x=0.8, detector_efficiency=0.10,
          dark_count_prob=2e-6, misalignment_error=0.01, afterpulse_prob=0.02, ec_efficiency=1.15,
          eps_sec=4e-9, eps_cor=1e-15)
REP_HZ = 625e6


@pytest.mark.parametrize(("rate_hz", "tau_s", "live"), [
    (0.0, 1e-5, 1.0), (1e5, 0.0, 1.0), (1e5, 1e-5, 0.5), (1e6, 1e-5, 1 / 11), (9e6, 1e-6, 0.1),
])
def test_live_fraction_closed_form(rate_hz, tau_s, live):
    """1/(1 + R tau): R tau = 1 halves the live gates; R tau = 10 leaves one in eleven."""
    assert_allclose(dead_time_live_fraction(rate_hz, dead_time_s=tau_s), live, rtol=1e-14)


def test_detected_rate_saturates_at_one_over_tau():
    """R_d = R f rises with R, stays below both R and 1/tau, and tends to 1/tau (within 1e-4 at R tau = 1e4)."""
    tau = 6e-6
    rate = np.logspace(2, 10, 81)
    detected = rate * dead_time_live_fraction(rate, dead_time_s=tau)
    assert detected.shape == rate.shape
    assert np.all(np.diff(detected) > 0)
    assert np.all(detected < np.minimum(rate, 1 / tau))
    assert_allclose(detected[rate * tau >= 1e4] * tau, 1.0, atol=1e-4)
    assert_allclose(detected[rate * tau <= 1e-4], rate[rate * tau <= 1e-4], rtol=1e-4)


def test_negative_dead_time_and_missing_clock_raise():
    with pytest.raises(ValueError, match="dead_time_s must be >= 0"):
        dead_time_live_fraction(1e5, dead_time_s=-1e-6)
    with pytest.raises(ValueError, match="needs repetition_rate_hz"):
        bb84_decoy_ma2005(0.1, nu=0.1, dead_time_s=1e-6, **HW)
    with pytest.raises(ValueError, match="needs repetition_rate_hz"):
        bb84_decoy_lim2014(0.1, block_detections=1e6, dead_time_s=1e-6, **FK)


T = fibre_transmittance(np.array([0.0, 10.0, 25.0, 50.0, 100.0, 140.0]), 0.2)


@pytest.mark.parametrize("rate_fn", [bb84_infinite_decoy, bb84_gllp_no_decoy,
                                     lambda t, **kw: bb84_decoy_ma2005(t, nu=0.1, **kw)])
def test_zero_dead_time_is_todays_rate_exactly(rate_fn):
    today = rate_fn(T, **HW)
    assert_array_equal(rate_fn(T, repetition_rate_hz=REP_HZ, dead_time_s=0.0, **HW), today)
    assert_array_equal(rate_fn(T, **HW, dead_time_s=0.0), today)


def test_zero_dead_time_finite_key_exactly():
    today = bb84_decoy_lim2014(T, block_detections=1e6, **FK)
    assert_array_equal(bb84_decoy_lim2014(T, block_detections=1e6, repetition_rate_hz=REP_HZ, dead_time_s=0.0, **FK),
                       today)


@pytest.mark.parametrize("tau_s", [1e-7, 6e-6, 1e-4])
def test_asymptotic_rates_scale_by_the_signal_live_fraction(tau_s):
    """Ma 2005 key with dead time = key without x 1/(1 + f_rep Q_mu tau), Q_mu the signal gain."""
    gain, _ = bb84_gain_and_qber(T, **HW)
    live = 1.0 / (1.0 + REP_HZ * gain * tau_s)
    for fn, kw in ((bb84_decoy_ma2005, {"nu": 0.1}), (bb84_infinite_decoy, {}), (bb84_gllp_no_decoy, {})):
        assert_allclose(fn(T, **kw, **HW, repetition_rate_hz=REP_HZ, dead_time_s=tau_s), fn(T, **kw, **HW) * live,
                        rtol=1e-12)


def test_finite_key_scales_by_the_live_fraction_of_all_intensities():
    """Lim 2014 key per pulse with dead time = without x 1/(1 + f_rep sum_k p_k Q_k tau), by hand."""
    tau = 6e-6
    eta = T * FK["detector_efficiency"]
    q = sum(p * (FK["dark_count_prob"] - np.expm1(-eta * k)) * (1 + FK["afterpulse_prob"])
            for k, p in ((0.45, 0.5), (0.15, 0.35), (0.0, 0.15)))
    live = 1.0 / (1.0 + REP_HZ * q * tau)
    args = {k: FK[k] for k in ("mu", "nu", "omega", "p_mu", "p_nu", "detector_efficiency", "dark_count_prob",
                               "afterpulse_prob")}
    assert_allclose(bb84_detector_live_fraction(T, repetition_rate_hz=REP_HZ, dead_time_s=tau, **args), live,
                    rtol=1e-12)
    assert_allclose(bb84_decoy_lim2014(T, block_detections=1e6, repetition_rate_hz=REP_HZ, dead_time_s=tau, **FK),
                    bb84_decoy_lim2014(T, block_detections=1e6, **FK) * live, rtol=1e-12)
    # Saturated at short range (under 3 % of the gates live up to 25 km), mostly live at 140 km.
    assert live[0] < 0.01 and live[2] < 0.03 and live[-1] > 0.8


def test_saturation_flattens_the_short_range_rate_and_keeps_the_reach():
    """With a 6 us dead time at 625 MHz the detected rate is within 6 % of 1/tau up to 25 km and the key
    falls by under 10 % from 0 to 25 km, where without dead time it falls by 5 dB (3.2x). The reach is
    unchanged with blocks of fixed size: the live fraction multiplies a key that is positive or not."""
    from qnetemu.network.fibre_qkd import link_key, profile_reach_km
    from qnetemu.scenario.schema import QKDProfile

    dead = QKDProfile(preset="idq_cerberis_class", detector_efficiency=0.10, detector_dead_time_s=6e-6)
    free = dead.model_copy(update={"detector_dead_time_s": 0.0})
    t = fibre_transmittance(np.array([0.0, 25.0]), 0.2)
    k_dead, k_free = link_key(dead, t), link_key(free, t)
    assert k_dead.key_rate_bps[1] / k_dead.key_rate_bps[0] > 0.9
    assert k_free.key_rate_bps[0] / k_free.key_rate_bps[1] > 3.0
    args = {k: FK[k] for k in ("mu", "nu", "omega", "p_mu", "p_nu", "detector_efficiency", "dark_count_prob",
                               "afterpulse_prob")}
    live = bb84_detector_live_fraction(t, repetition_rate_hz=REP_HZ, dead_time_s=6e-6, **args)
    eta = t * FK["detector_efficiency"]
    clicks_per_gate = sum(p * (FK["dark_count_prob"] - np.expm1(-eta * k)) * (1 + FK["afterpulse_prob"])
                          for k, p in ((0.45, 0.5), (0.15, 0.35), (0.0, 0.15)))
    detected_hz = REP_HZ * clicks_per_gate * live
    assert_allclose(detected_hz * 6e-6, 1.0, atol=0.06)
    # Blocks of 1e6 detections take 1/f longer to fill.
    assert_allclose(k_dead.block_time_s, k_free.block_time_s / live, rtol=1e-12)
    assert profile_reach_km(dead, attenuation_db_per_km=0.2, extra_loss_db=0.0) == pytest.approx(
        profile_reach_km(free, attenuation_db_per_km=0.2, extra_loss_db=0.0), abs=0.02)
