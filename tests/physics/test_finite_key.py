"""Tests of the finite-key decoy-BB84 bounds of Lim et al. (2014).

Reference: C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, Phys. Rev.
A 89, 022307 (2014), doi:10.1103/PhysRevA.89.022307. Their Sec. IV system:
InGaAs detectors with eta_Bob = 10 %, p_dc = 6e-7 per detector (Y0 = 2 p_dc),
afterpulse probability 4e-2, e_mis = 5e-3, 0.2 dB/km, f_EC = 1.16,
eps_cor = 1e-15, eps_sec = kappa * ell with kappa = 1e-15, mu3 = 2e-4, and the
key rate optimised over (q_x, p_mu1, p_mu2, mu1, mu2) for each length and
block size. Their Fig. 1: at 100 km the rate with n_X = 1e9 is about 1.75
times the one with n_X = 1e7, and smaller blocks lose reach.

What we do not reproduce: the paper's text says that a block of 1e4 still
gives key at 135 km; with Eqs. (2)-(5) as printed (one Hoeffding deviation
sqrt(n_X/2 ln(21/eps_sec)) for every intensity) 1e4 gives no key at 100 km.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize

from qnetemu.physics.finite_key import bb84_decoy_lim2014, bb84_expected_counts, lim2014_key_length
from qnetemu.physics.qkd import bb84_decoy_ma2005

LIM = dict(detector_efficiency=0.1, dark_count_prob=1.2e-6, misalignment_error=5e-3, afterpulse_prob=0.04,
           ec_efficiency=1.16, eps_cor=1e-15, omega=2e-4)
KAPPA = 1e-15


def _transmittance(length_km):
    return 10 ** (-0.2 * length_km / 10)


def _optimised_rate(length_km: float, block: float) -> float:
    """Key per pulse optimised over (q_x, p_mu, p_nu, mu, nu), eps_sec = kappa * ell (Lim et al., Sec. IV)."""
    t = _transmittance(length_km)
    rng = np.random.default_rng(7)
    size = 20000
    qx = rng.uniform(0.5, 0.99, size)
    pm = rng.uniform(0.2, 0.95, size)
    pn = rng.uniform(0.02, 0.98, size) * (1 - pm)
    mu = rng.uniform(0.1, 1.0, size)
    nu = np.maximum(rng.uniform(0.01, 0.5, size) * mu, 3e-4)
    eps = 1e-10
    best = 0.0
    for _ in range(3):
        rates = bb84_decoy_lim2014(t, block_detections=block, mu=mu, nu=nu, p_mu=pm, p_nu=pn, p_x=qx,
                                   eps_sec=eps, **LIM)
        i = int(np.argmax(rates))
        start = [qx[i], pm[i], pn[i], mu[i], nu[i]]

        def negative(x, eps=eps):
            q, a, b, m, v = x
            if not (0 < q < 1 and 0 < a and 0 < b and a + b < 1 and v > 2e-4 and m > v + 2e-4):
                return 0.0
            return -float(bb84_decoy_lim2014(t, block_detections=block, mu=m, nu=v, p_mu=a, p_nu=b, p_x=q,
                                             eps_sec=eps, **LIM))

        result = minimize(negative, start, method="Nelder-Mead",
                          options={"xatol": 1e-6, "fatol": 1e-16, "maxiter": 2000})
        best = max(-result.fun, float(rates[i]))
        if best <= 0:
            return 0.0
        x = result.x if -result.fun >= rates[i] else start
        n_x, *_ = bb84_expected_counts(t, 1.0, mu=x[3], nu=x[4], omega=2e-4, p_mu=x[1], p_nu=x[2], p_x=x[0],
                                       detector_efficiency=0.1, dark_count_prob=1.2e-6, misalignment_error=5e-3,
                                       afterpulse_prob=0.04)
        ell = best * block / float(np.sum(n_x))
        eps = min(KAPPA * ell, 0.1)
    return best


def test_lim2014_ratio_at_100_km():
    """Fig. 1: at 100 km, n_X = 1e9 gives about 1.75x the key of n_X = 1e7 (we get 1.71)."""
    ratio = _optimised_rate(100.0, 1e9) / _optimised_rate(100.0, 1e7)
    assert 1.6 < ratio < 1.9


def test_lim2014_small_blocks_lose_reach():
    """Fig. 1: smaller blocks reach less far; every finite block is below the asymptotic rate."""
    at_100 = {n: _optimised_rate(100.0, n) for n in (1e4, 1e5, 1e7, np.inf)}
    assert at_100[1e4] == 0.0
    assert 0.0 < at_100[1e5] < at_100[1e7] < at_100[np.inf]
    assert _optimised_rate(40.0, 1e4) > 0.0


def test_finite_key_is_monotone_in_block_and_tends_to_asymptotic():
    params = dict(mu=0.5, nu=0.1, omega=0.0, p_mu=0.8, p_nu=0.1, p_x=0.9, eps_sec=1e-10, **{
        k: v for k, v in LIM.items() if k != "omega"})
    t = _transmittance(np.array([10.0, 50.0, 100.0]))
    blocks = np.array([1e6, 1e8, 1e10, 1e12, 1e14])
    rates = np.array([bb84_decoy_lim2014(t, block_detections=n, **params) for n in blocks])
    assert np.all(np.diff(rates, axis=0) > 0)
    asymptotic = bb84_decoy_lim2014(t, block_detections=np.inf, **params)
    # The finite-size terms fall as 1/sqrt(n): 1e14 is within 1 % of the limit.
    assert_allclose(rates[-1], asymptotic, rtol=1e-2)
    assert np.all(rates[-1] < asymptotic)


@pytest.mark.parametrize("afterpulse_prob", [0.0, 0.04])
@pytest.mark.parametrize("length_km", [0.0, 25.0, 75.0, 100.0])
def test_asymptotic_limit_is_ma2005(length_km, afterpulse_prob):
    """n_X -> inf, omega = 0, p_mu -> 1, p_x^2 = sifting, no vacuum term: Ma, Qi, Zhao, Lo (2005) exactly.

    Also with afterpulses, which both models treat alike (yields x (1 + p_ap), random bits).
    """
    gys = dict(detector_efficiency=0.045, dark_count_prob=1.7e-6, misalignment_error=0.033, ec_efficiency=1.22,
               afterpulse_prob=afterpulse_prob)
    t = 10 ** (-0.21 * length_km / 10)
    ma = bb84_decoy_ma2005(t, mu=0.48, nu=0.05, sifting=0.5, **gys)
    lim = bb84_decoy_lim2014(t, block_detections=np.inf, mu=0.48, nu=0.05, omega=0.0, p_mu=1 - 2e-12,
                             p_nu=1e-12, p_x=np.sqrt(0.5), eps_sec=1e-10, eps_cor=1e-15,
                             vacuum_term=False, **gys)
    assert ma > 0
    assert_allclose(lim, ma, rtol=1e-9)


def test_key_length_from_counts_by_hand():
    """Eqs. (1)-(5) evaluated by hand for one set of counts (mu3 = 0)."""
    mu = np.array([0.5, 0.1, 0.0])
    p = np.array([0.7, 0.2, 0.1])
    n_x = np.array([1.0e6, 5.0e4, 2.0e2])
    m_x = np.array([1.0e4, 1.0e3, 1.0e2])
    n_z = np.array([2.0e5, 1.0e4, 4.0e1])
    m_z = np.array([2.0e3, 2.0e2, 2.0e1])
    eps_sec, eps_cor, f = 1e-9, 1e-15, 1.1
    ell = lim2014_key_length(n_x, m_x, n_z, m_z, intensities=mu, probabilities=p, ec_efficiency=f,
                             eps_sec=eps_sec, eps_cor=eps_cor)

    def h(x):
        return -x * np.log2(x) - (1 - x) * np.log2(1 - x)

    tau0 = np.sum(p * np.exp(-mu))
    tau1 = np.sum(p * np.exp(-mu) * mu)
    ln = np.log(21 / eps_sec)

    def pm(n, total):
        d = np.sqrt(total / 2 * ln)
        return np.exp(mu) / p * np.maximum(n - d, 0), np.exp(mu) / p * (n + d)

    def s01(n):
        lo, hi = pm(n, n.sum())
        s0 = max(tau0 * (mu[1] * lo[2] - mu[2] * hi[1]) / (mu[1] - mu[2]), 0.0)
        s1 = tau1 * mu[0] * (lo[1] - hi[2] - (mu[1] ** 2 - mu[2] ** 2) / mu[0] ** 2 * (hi[0] - s0 / tau0)) / (
            mu[0] * (mu[1] - mu[2]) - mu[1] ** 2 + mu[2] ** 2)
        return s0, s1

    s_x0, s_x1 = s01(n_x)
    _, s_z1 = s01(n_z)
    lo, hi = pm(m_z, m_z.sum())
    v = tau1 * (hi[1] - lo[2]) / (mu[1] - mu[2])
    b = v / s_z1
    c, d = s_z1, s_x1
    gamma = np.sqrt((c + d) * (1 - b) * b / (c * d * np.log(2)) * np.log2((c + d) / (c * d * (1 - b) * b) * 21**2 / eps_sec**2))
    expected = (s_x0 + s_x1 * (1 - h(b + gamma)) - f * n_x.sum() * h(m_x.sum() / n_x.sum())
                - 6 * np.log2(21 / eps_sec) - np.log2(2 / eps_cor))
    assert expected > 0
    assert_allclose(ell, expected, rtol=1e-12)


@pytest.mark.parametrize(("field", "value"), [("eps_sec", 0.0), ("eps_sec", 1.0), ("eps_cor", -1e-3)])
def test_epsilon_outside_unit_interval_is_refused(field, value):
    params = dict(block_detections=1e8, mu=0.5, nu=0.1, omega=0.0, p_mu=0.8, p_nu=0.1, p_x=0.9, eps_sec=1e-10,
                  **{k: v for k, v in LIM.items() if k != "omega"})
    params[field] = value
    with pytest.raises(ValueError, match=field):
        bb84_decoy_lim2014(0.1, **params)


def test_intensity_order_is_checked():
    with pytest.raises(ValueError, match="mu > nu"):
        bb84_decoy_lim2014(0.1, block_detections=1e8, mu=0.2, nu=0.15, omega=0.1, p_mu=0.8, p_nu=0.1, p_x=0.9,
                           eps_sec=1e-10, **{k: v for k, v in LIM.items() if k != "omega"})
