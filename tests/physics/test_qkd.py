"""Tests of the BB84 key-rate formulas.

Reference: X. Ma, B. Qi, Y. Zhao, H.-K. Lo, Phys. Rev. A 72, 012326 (2005)
(doi:10.1103/PhysRevA.72.012326), with the GYS parameters of its Table I
(detector efficiency 4.5 %, Y0 = 1.7e-6, e_d = 3.3 %, 0.21 dB/km,
f = 1.22). The paper reports an optimal signal intensity of about 0.48 and a
maximum distance of about 142 km for infinitely many decoys, with the vacuum
+ weak decoy protocol approaching it as nu -> 0, and a much shorter reach for
GLLP without decoys.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize_scalar

from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.physics.qkd import (
    bb84_decoy_ma2005,
    bb84_gain_and_qber,
    bb84_gllp_no_decoy,
    bb84_infinite_decoy,
    bb84_max_channel_loss_db,
    binary_entropy,
)

GYS = {"detector_efficiency": 0.045, "dark_count_prob": 1.7e-6, "misalignment_error": 0.033,
       "ec_efficiency": 1.22}
GYS_ALPHA_DB_PER_KM = 0.21
GYS_DEVICE = {k: GYS[k] for k in ("detector_efficiency", "dark_count_prob", "misalignment_error")}


def _reach_km(rate_fn, **params) -> float:
    return bb84_max_channel_loss_db(rate_fn, tolerance_db=1e-6, **params) / GYS_ALPHA_DB_PER_KM


# ---------------------------------------------------------------- entropy


@pytest.mark.parametrize(
    ("p", "h"),
    [(0.0, 0.0), (1.0, 0.0), (0.5, 1.0), (0.11, 0.499915958164528), (0.25, 0.8112781244591328),
     (0.01, 0.08079313589591118), (1e-9, 3.134004785335168e-08)],
)
def test_binary_entropy_values(p, h):
    """h2(p) = -p log2 p - (1-p) log2(1-p); h2(0.11) ~ 0.4999 (the BB84 11 % threshold)."""
    assert_allclose(binary_entropy(p), h, rtol=1e-12, atol=1e-300)
    # 1 - p itself is rounded (relative error up to eps/p), hence the looser rtol.
    assert_allclose(binary_entropy(1.0 - p), h, rtol=1e-6, atol=1e-300)


def test_binary_entropy_vectorised():
    p = np.array([[0.0, 0.5], [0.25, 1.0]])
    assert_allclose(binary_entropy(p), [[0.0, 1.0], [0.8112781244591328, 0.0]], rtol=1e-12)


@pytest.mark.parametrize("p", [-0.01, 1.01, np.nan])
def test_binary_entropy_invalid(p):
    with pytest.raises(ValueError, match="p"):
        binary_entropy(p)


# ---------------------------------------------------------------- gain and QBER


@pytest.mark.parametrize("mu", [0.1, 0.48, 1.0])
def test_gain_and_qber_at_zero_distance(mu):
    """Ma 2005 Eqs. (7), (9) with channel transmittance 1: eta = eta_Bob."""
    gain, qber = bb84_gain_and_qber(1.0, mu=mu, **GYS_DEVICE)
    detected = 1.0 - math.exp(-0.045 * mu)
    assert_allclose(gain, 1.7e-6 + detected, rtol=1e-12)
    assert_allclose(qber, (0.5 * 1.7e-6 + 0.033 * detected) / (1.7e-6 + detected), rtol=1e-12)


def test_qber_is_misalignment_without_dark_counts():
    """With Y0 = 0 every click is a signal click and E = e_d exactly."""
    _, qber = bb84_gain_and_qber(np.array([1.0, 1e-3, 1e-8]), mu=0.5, detector_efficiency=0.1,
                                 dark_count_prob=0.0, misalignment_error=0.02)
    assert_allclose(qber, 0.02, rtol=1e-12)


def test_dark_count_limit():
    """No light through (eta = 0): Q = Y0 and E = e0 = 1/2; no clicks at all: E = 1/2."""
    gain, qber = bb84_gain_and_qber(0.0, mu=0.48, **GYS_DEVICE)
    assert gain == 1.7e-6
    assert qber == 0.5
    gain, qber = bb84_gain_and_qber(0.0, mu=0.48, detector_efficiency=0.1, dark_count_prob=0.0,
                                    misalignment_error=0.01)
    assert (gain, qber) == (0.0, 0.5)


def test_gain_linear_regime_is_accurate():
    """For eta mu << 1, Q - Y0 = eta mu (1 - eta mu / 2); needs expm1 at 1e-12."""
    t = np.array([1e-8, 1e-10])
    gain, _ = bb84_gain_and_qber(t, mu=0.5, detector_efficiency=0.1, dark_count_prob=0.0,
                                 misalignment_error=0.01)
    x = t * 0.1 * 0.5
    assert_allclose(gain, x * (1 - x / 2), rtol=1e-12)


# ---------------------------------------------------------------- key rates


def test_infinite_decoy_optimal_mu_is_048():
    """Ma 2005: with GYS the optimal signal intensity is about 0.48 (short distances)."""
    for length_km in (0.0, 50.0):
        t = fibre_transmittance(length_km, GYS_ALPHA_DB_PER_KM)
        res = minimize_scalar(lambda m, t=t: -bb84_infinite_decoy(t, mu=m, **GYS),
                              bounds=(0.05, 1.5), method="bounded", options={"xatol": 1e-5})
        assert_allclose(res.x, 0.48, atol=0.01)


def test_infinite_decoy_reach_is_142_km():
    """Ma 2005: maximum secure distance with infinite decoys and GYS is about 142 km.

    The reach is maximised over mu (we get 142.2 km); 140-144 km catches
    errors in Y1, e1 or the GLLP formula: dropping f (f = 1) gives 150 km,
    doubling Y0 gives 128 km.
    """
    res = minimize_scalar(lambda m: -_reach_km(bb84_infinite_decoy, mu=m, **GYS),
                          bounds=(0.2, 0.8), method="bounded", options={"xatol": 1e-4})
    assert 140.0 < -res.fun < 144.0


def test_vacuum_weak_reach_gys():
    """Vacuum + weak decoy (mu = 0.48, nu = 0.05, GYS): key to about 140 km, none at 145 km."""
    params = {"mu": 0.48, "nu": 0.05, **GYS}
    reach = _reach_km(bb84_decoy_ma2005, **params)
    assert 139.0 < reach < 143.0
    rates = bb84_decoy_ma2005(fibre_transmittance(np.array([138.0, 145.0, 200.0]),
                                                  GYS_ALPHA_DB_PER_KM), **params)
    assert rates[0] > 0
    assert np.all(rates[1:] == 0.0)


def test_gllp_reach_is_tens_of_km():
    """Ma 2005: without decoys (GLLP, mu ~ eta) GYS reaches only some tens of km.

    Even with mu optimised, the reach must stay below 60 km and far below the
    decoy reach; above 20 km shows the multi-photon fraction is not
    over-counted.
    """
    res = minimize_scalar(lambda m: -_reach_km(bb84_gllp_no_decoy, mu=m, **GYS),
                          bounds=(1e-4, 0.03), method="bounded", options={"xatol": 1e-6})
    assert 20.0 < -res.fun < 60.0


@pytest.mark.parametrize("nu", [0.2, 0.1, 0.05, 0.01])
def test_rate_ordering_over_distance(nu):
    """Infinite decoy >= vacuum + weak >= GLLP (best mu) at every distance (Ma 2005)."""
    lengths = np.linspace(0.0, 200.0, 41)
    t = fibre_transmittance(lengths, GYS_ALPHA_DB_PER_KM)
    inf = bb84_infinite_decoy(t, mu=0.48, **GYS)
    vw = bb84_decoy_ma2005(t, mu=0.48, nu=nu, **GYS)
    mus = np.geomspace(1e-4, 0.2, 200)[:, np.newaxis]
    gllp_best = bb84_gllp_no_decoy(t[np.newaxis, :], mu=mus, **GYS).max(axis=0)
    assert np.all(inf >= vw)
    assert np.all(vw >= gllp_best)
    assert np.all(vw[lengths <= 100] > 2 * gllp_best[lengths <= 100])


@pytest.mark.parametrize("length_km", [20.0, 100.0, 130.0])
def test_vacuum_weak_approaches_infinite_decoy(length_km):
    """Ma 2005: as nu -> 0 the vacuum + weak bound tends to the infinite-decoy rate.

    The gap shrinks roughly linearly in nu: within 0.5 % at nu = 1e-3 and
    0.05 % at nu = 1e-4.
    """
    t = fibre_transmittance(length_km, GYS_ALPHA_DB_PER_KM)
    inf = bb84_infinite_decoy(t, mu=0.48, **GYS)
    assert_allclose(bb84_decoy_ma2005(t, mu=0.48, nu=1e-3, **GYS), inf, rtol=5e-3)
    assert_allclose(bb84_decoy_ma2005(t, mu=0.48, nu=1e-4, **GYS), inf, rtol=5e-4)


def test_infinite_decoy_closed_form_without_noise():
    """Y0 = 0, e_d = 0: R = q Q1 = q eta mu e^{-mu} (no error correction, no phase errors)."""
    t = np.array([1.0, 1e-3, 1e-9])
    rate = bb84_infinite_decoy(t, mu=0.5, detector_efficiency=0.2, dark_count_prob=0.0,
                               misalignment_error=0.0, sifting=0.5)
    assert_allclose(rate, 0.5 * t * 0.2 * 0.5 * np.exp(-0.5), rtol=1e-12)


@pytest.mark.parametrize("rate_fn", [bb84_infinite_decoy, bb84_gllp_no_decoy])
def test_rates_vanish_without_light(rate_fn):
    assert rate_fn(0.0, mu=0.01, **GYS) == 0.0


def test_gllp_multiphoton_excess_gives_zero():
    """mu = 0.5 with eta_Bob = 4.5 %: multi-photon pulses (9 %) exceed the gain (2 %), no key."""
    assert bb84_gllp_no_decoy(1.0, mu=0.5, **GYS) == 0.0
    assert bb84_max_channel_loss_db(bb84_gllp_no_decoy, mu=0.5, **GYS) == 0.0


def test_rates_decrease_with_distance():
    lengths = np.linspace(0.0, 150.0, 151)
    t = fibre_transmittance(lengths, GYS_ALPHA_DB_PER_KM)
    for rate in (bb84_infinite_decoy(t, mu=0.48, **GYS),
                 bb84_decoy_ma2005(t, mu=0.48, nu=0.05, **GYS),
                 bb84_gllp_no_decoy(t, mu=0.004, **GYS)):
        assert np.all(np.diff(rate) <= 0)


def test_vectorised_and_broadcast():
    t = fibre_transmittance(np.array([[10.0], [50.0]]), GYS_ALPHA_DB_PER_KM)
    mu = np.array([0.3, 0.48, 0.6])
    out = bb84_decoy_ma2005(t, mu=mu, nu=0.05, **GYS)
    assert out.shape == (2, 3)
    assert_allclose(out[1, 2], bb84_decoy_ma2005(t[1, 0], mu=0.6, nu=0.05, **GYS), rtol=1e-14)
    assert np.ndim(bb84_infinite_decoy(0.1, mu=0.48, **GYS)) == 0


def test_max_channel_loss_brackets_the_cutoff():
    """The reported loss is the last positive point: positive just below, zero just above."""
    params = {"mu": 0.48, "nu": 0.05, **GYS}
    loss = bb84_max_channel_loss_db(bb84_decoy_ma2005, **params)
    below = bb84_decoy_ma2005(10 ** (-(loss - 1e-3) / 10), **params)
    above = bb84_decoy_ma2005(10 ** (-(loss + 1e-3) / 10), **params)
    assert below > 0
    assert above == 0


def test_max_channel_loss_raises_when_never_zero():
    """No noise at all: key at any loss, so the search must say so, not return a number."""
    with pytest.raises(ValueError, match="search_limit_db"):
        bb84_max_channel_loss_db(bb84_infinite_decoy, mu=0.5, detector_efficiency=0.5,
                                 dark_count_prob=0.0, misalignment_error=0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"channel_transmittance": 1.2}, "channel_transmittance"),
        ({"channel_transmittance": np.nan}, "channel_transmittance contains NaN"),
        ({"mu": 0.0}, "mu"),
        ({"nu": 0.48}, "nu"),
        ({"nu": 0.0}, "nu"),
        ({"detector_efficiency": 0.0}, "detector_efficiency"),
        ({"detector_efficiency": 1.5}, "detector_efficiency"),
        ({"dark_count_prob": 1.0}, "dark_count_prob"),
        ({"dark_count_prob": -1e-6}, "dark_count_prob"),
        ({"misalignment_error": 0.6}, "misalignment_error"),
        ({"ec_efficiency": 0.9}, "ec_efficiency"),
        ({"sifting": 0.0}, "sifting"),
    ],
)
def test_decoy_invalid_input_raises(kwargs, match):
    args = {"channel_transmittance": 0.1, "mu": 0.48, "nu": 0.05, **GYS, **kwargs}
    t = args.pop("channel_transmittance")
    with pytest.raises(ValueError, match=match):
        bb84_decoy_ma2005(t, **args)


@pytest.mark.parametrize("rate_fn", [bb84_infinite_decoy, bb84_gllp_no_decoy])
def test_other_rates_invalid_input_raise(rate_fn):
    with pytest.raises(ValueError, match="channel_transmittance"):
        rate_fn(np.array([0.5, -0.1]), mu=0.1, **GYS)
    with pytest.raises(ValueError, match="misalignment_error"):
        rate_fn(0.5, mu=0.1, **{**GYS, "misalignment_error": np.nan})
