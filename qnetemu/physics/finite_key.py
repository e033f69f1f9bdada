"""Finite-key decoy-state BB84: the concise bounds of Lim et al. (2014).

The protocol is the asymmetric-basis BB84 of Lim, Curty, Walenta, Xu,
Zbinden (2014), Sec. II: Alice and Bob choose the X basis with probability
``p_x`` each (key from the events where both chose X, the Z basis only for
estimating the phase error), and Alice picks one of three intensities
:math:`\\mu_1 > \\mu_2 + \\mu_3`, :math:`\\mu_2 > \\mu_3 \\ge 0` with
probabilities :math:`p_{\\mu_1}, p_{\\mu_2}, p_{\\mu_3}`. Here the three
intensities are called ``mu`` (signal), ``nu`` (decoy) and ``omega`` (the
weakest, 0 for a vacuum decoy), as in the asymptotic functions of
:mod:`qnetemu.physics.qkd`. All three intensities give key.

Two layers:

* :func:`lim2014_key_length` turns the observed statistics of one block
  (detections and errors per intensity and basis) into a secret-key length,
  Eqs. (1)-(5) of the paper. It knows nothing about channels: it is what a
  real system computes from its data, and what satellite passes feed with
  counts summed over the pass.
* :func:`bb84_decoy_lim2014` takes the channel model of
  :mod:`qnetemu.physics.qkd` (yield :math:`Y_0 + 1 - e^{-\\eta k}`), fills
  a block of ``block_detections`` sifted X-basis detections with their
  expected counts and returns the key per pulse sent, like the asymptotic
  rate functions.

Detector dead time (``dead_time_s`` with ``repetition_rate_hz``): the
block is filled from live gates only (Bob knows which gates followed a
click within the dead time and drops them), so the statistics and the key
length of a block are those without dead time, and the key per pulse sent
and the time to fill a block scale with the live fraction of
:func:`bb84_detector_live_fraction`.

With ``block_detections = inf`` the statistical terms vanish and the bounds
become the asymptotic two-decoy bounds; with ``omega = 0``, ``p_mu -> 1``,
``p_x**2`` equal to the asymptotic sifting factor and the vacuum term left
out, they are exactly :func:`qnetemu.physics.qkd.bb84_decoy_ma2005`
(tested).

References
----------
C. C. W. Lim, M. Curty, N. Walenta, F. Xu, H. Zbinden, "Concise security
bounds for practical decoy-state quantum key distribution", Phys. Rev. A 89,
022307 (2014). https://doi.org/10.1103/PhysRevA.89.022307
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import entr

from qnetemu.physics.fibre import _checked, _out
from qnetemu.physics.qkd import dead_time_live_fraction

__all__ = [
    "FiniteKeyProtocol",
    "bb84_decoy_lim2014",
    "bb84_detector_live_fraction",
    "bb84_expected_counts",
    "lim2014_key_length",
]

_LN2 = np.log(2.0)
_E0 = 0.5


@dataclass(frozen=True)
class FiniteKeyProtocol:
    """Protocol settings of the finite-key analysis that are not channel or detector physics.

    Parameters
    ----------
    eps_sec, eps_cor : float
        Secrecy and correctness parameters, in (0, 1). [-]
    p_x : float
        Probability that each party picks the X (key) basis. [-]
    p_mu, p_nu : float
        Probabilities of the signal and decoy intensities; the weakest gets the rest. [-]
    omega : float
        Weakest intensity (0: vacuum). [-]
    """

    eps_sec: float
    eps_cor: float
    p_x: float
    p_mu: float
    p_nu: float
    omega: float


def _h2(p):
    return (entr(p) + entr(1.0 - p)) / _LN2


def _poisson_weights(intensities, probabilities, n):
    """tau_n = sum_k p_k e^{-k} k^n / n!  (Lim et al., below Eq. 2), over the last axis."""
    k = intensities
    factorial = 1.0 if n < 2 else float(np.prod(np.arange(1, n + 1)))
    return np.sum(probabilities * np.exp(-k) * k**n / factorial, axis=-1)


def lim2014_key_length(n_x, m_x, n_z, m_z, *, intensities, probabilities, ec_efficiency,
                       eps_sec, eps_cor):
    """Secret-key length of one block from its observed statistics (Lim et al. 2014).

    Parameters
    ----------
    n_x, m_x : array_like, shape (..., 3)
        Detections and bit errors in the X basis (both parties chose X), per
        intensity in the order of ``intensities``. [count]
    n_z, m_z : array_like, shape (..., 3)
        The same in the Z basis. [count]
    intensities : array_like, shape (3,) or (..., 3)
        Mean photon numbers :math:`(\\mu_1, \\mu_2, \\mu_3)` with
        :math:`\\mu_1 > \\mu_2 + \\mu_3` and :math:`\\mu_2 > \\mu_3 \\ge 0`. [-]
    probabilities : array_like, shape (3,) or (..., 3)
        Probabilities :math:`p_k` with which Alice picks each intensity; each
        in (0, 1), summing to 1. [-]
    ec_efficiency : array_like
        Error-correction inefficiency :math:`f \\ge 1`; the leak is
        :math:`\\lambda_{EC} = f\\, n_X h(m_X/n_X)`. [-]
    eps_sec, eps_cor : array_like
        Secrecy and correctness parameters, in (0, 1). [-]

    Returns
    -------
    key_bits : numpy.ndarray or numpy.float64
        :math:`\\ell`, Eq. (1), clipped at 0 and not rounded down to an
        integer (so rates stay smooth in the parameters). [bit]

    Notes
    -----
    With :math:`\\delta(n) = \\sqrt{n/2\\,\\ln(21/\\varepsilon_{sec})}` and
    :math:`n^\\pm_{X,k} = (e^k/p_k)(n_{X,k} \\pm \\delta(n_X))` (likewise
    :math:`m^\\pm_{Z,k}` with :math:`\\delta(m_Z)`):

    * vacuum events, Eq. (2):
      :math:`s_{X,0} \\ge \\tau_0 (\\mu_2 n^-_{X,\\mu_3} - \\mu_3 n^+_{X,\\mu_2})/(\\mu_2-\\mu_3)`;
    * single-photon events, Eq. (3):
      :math:`s_{X,1} \\ge \\tau_1\\mu_1[n^-_{X,\\mu_2} - n^+_{X,\\mu_3} -
      \\frac{\\mu_2^2-\\mu_3^2}{\\mu_1^2}(n^+_{X,\\mu_1} - s_{X,0}/\\tau_0)] /
      [\\mu_1(\\mu_2-\\mu_3) - \\mu_2^2 + \\mu_3^2]`, and the same in Z;
    * single-photon bit errors in Z, Eq. (4):
      :math:`v_{Z,1} \\le \\tau_1 (m^+_{Z,\\mu_2} - m^-_{Z,\\mu_3})/(\\mu_2-\\mu_3)`;
    * phase-error rate, Eq. (5):
      :math:`\\phi_X \\le v_{Z,1}/s_{Z,1} + \\gamma(\\varepsilon_{sec}, v_{Z,1}/s_{Z,1}, s_{Z,1}, s_{X,1})`,
      :math:`\\gamma(a,b,c,d) = \\sqrt{\\frac{(c+d)(1-b)b}{cd\\ln 2}
      \\log_2\\frac{(c+d)\\,21^2}{cd(1-b)b\\,a^2}}`;
    * key length, Eq. (1): :math:`\\ell = s_{X,0} + s_{X,1}[1 - h(\\phi_X)]
      - \\lambda_{EC} - 6\\log_2(21/\\varepsilon_{sec}) - \\log_2(2/\\varepsilon_{cor})`.

    Two valid tightenings of the printed bounds: a lower bound
    :math:`n^-_{X,k}` (or :math:`m^-_{Z,k}`) below 0 is replaced by 0, and
    :math:`s_{X,0}` enters Eq. (3) as :math:`\\max(s_{X,0}, 0)`, since the
    quantities bounded are never negative. They matter only for the weakest
    intensity in small blocks.

    Infinite counts are not accepted; use :func:`bb84_decoy_lim2014` with
    ``block_detections=inf`` for the asymptotic limit. Where the bounds
    certify no single photon (:math:`s_{X,1} \\le 0` or :math:`s_{Z,1} \\le 0`)
    the key is 0; a phase-error bound above 1/2 counts as 1/2.

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, Phys. Rev. A 89, 022307 (2014),
    Eqs. (1)-(5). https://doi.org/10.1103/PhysRevA.89.022307
    """
    counts = [_checked(c, name, lower=0.0) for c, name in
              ((n_x, "n_x"), (m_x, "m_x"), (n_z, "n_z"), (m_z, "m_z"))]
    mu = _checked(intensities, "intensities", lower=0.0)
    p = _checked(probabilities, "probabilities", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    f = _checked(ec_efficiency, "ec_efficiency", lower=1.0)
    es = _checked(eps_sec, "eps_sec", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    ec = _checked(eps_cor, "eps_cor", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    for arr, name in ((mu, "intensities"), (p, "probabilities"),
                     *zip(counts, ("n_x", "m_x", "n_z", "m_z"), strict=True)):
        if arr.shape[-1:] != (3,):
            raise ValueError(f"{name} must have 3 entries (mu, nu, omega) on its last axis, got shape {arr.shape}")
    mu1, mu2, mu3 = mu[..., 0], mu[..., 1], mu[..., 2]
    if np.any(~(mu1 > mu2 + mu3)) or np.any(~(mu2 > mu3)):
        raise ValueError("intensities must satisfy mu > nu + omega and nu > omega >= 0")
    if np.any(np.abs(np.sum(p, axis=-1) - 1.0) > 1e-9):
        raise ValueError("probabilities must sum to 1")
    key = _key_length(*counts, mu, p, f, es, ec, finite=True)
    return _out(np.asarray(key))


def _key_length(n_x, m_x, n_z, m_z, mu, p, f, eps_sec, eps_cor, *, finite, vacuum_term=True):
    """Eqs. (1)-(5) on validated arrays; ``finite=False`` drops every statistical term."""
    mu1, mu2, mu3 = mu[..., 0], mu[..., 1], mu[..., 2]
    tau0 = _poisson_weights(mu, p, 0)
    tau1 = _poisson_weights(mu, p, 1)
    ln_term = np.log(21.0 / eps_sec)
    scale = np.exp(mu) / p

    def bounds(n):
        total = np.sum(n, axis=-1, keepdims=True)
        delta = np.sqrt(total / 2.0 * ln_term[..., None]) if finite else 0.0
        # The asymptotic counts are >= 0, so a negative lower bound is replaced
        # by 0: still a valid bound, and tighter for the rarely seen weakest
        # intensity in small blocks.
        return scale * np.maximum(n - delta, 0.0), scale * (n + delta)

    def vacuum_and_single(n):
        low, high = bounds(n)
        # s0 >= 0 always, so max(bound, 0) is a valid (tighter) lower bound for Eq. (3) too.
        s0 = np.maximum(tau0 * (mu2 * low[..., 2] - mu3 * high[..., 1]) / (mu2 - mu3), 0.0)
        s1 = tau1 * mu1 * (low[..., 1] - high[..., 2]
                           - (mu2**2 - mu3**2) / mu1**2 * (high[..., 0] - s0 / tau0)) / (
            mu1 * (mu2 - mu3) - mu2**2 + mu3**2)
        return s0, s1

    s_x0, s_x1 = vacuum_and_single(n_x)
    _, s_z1 = vacuum_and_single(n_z)
    m_low, m_high = bounds(m_z)
    v_z1 = tau1 * (m_high[..., 1] - m_low[..., 2]) / (mu2 - mu3)

    certified = (s_x1 > 0) & (s_z1 > 0)
    sx = np.where(certified, s_x1, 1.0)
    sz = np.where(certified, s_z1, 1.0)
    b = np.clip(np.where(certified, np.maximum(v_z1, 0.0) / sz, _E0), 0.0, _E0)
    if finite:
        with np.errstate(divide="ignore", invalid="ignore"):
            # gamma is undefined (0/0) for b = 0: then there is no error to
            # fluctuate and the hypergeometric correction vanishes.
            bb = np.where(b > 0, b * (1.0 - b), 1.0)
            inner = (sz + sx) / (sz * sx * bb) * 21.0**2 / eps_sec**2
            gamma = np.sqrt(np.maximum((sz + sx) * bb / (sz * sx * _LN2) * np.log2(inner), 0.0))
            gamma = np.where(b > 0, gamma, 0.0)
    else:
        gamma = 0.0
    phi = np.clip(b + gamma, 0.0, _E0)

    n_x_total = np.sum(n_x, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_obs = np.where(n_x_total > 0, np.sum(m_x, axis=-1) / np.where(n_x_total > 0, n_x_total, 1.0), 0.0)
    leak = f * n_x_total * _h2(np.clip(e_obs, 0.0, 1.0))
    key = np.where(certified, s_x1 * (1.0 - _h2(phi)), 0.0) - leak
    if vacuum_term:
        key = key + s_x0
    if finite:
        key = key - 6.0 * np.log2(21.0 / eps_sec) - np.log2(2.0 / eps_cor)
    return np.maximum(key, 0.0)


def _gain_error(eta, k, y0, e_d, p_ap):
    """Expected detections and errors per pulse of intensity k (Ma et al. 2005 model plus afterpulses).

    Afterpulses as in Lim et al. (2014), Sec. IV: they add ``p_ap`` times the
    detections, each a random bit.
    """
    detected = -np.expm1(-eta * k)
    clicks = y0 + detected
    gain = clicks * (1.0 + p_ap)
    errors = _E0 * y0 + e_d * detected + _E0 * p_ap * clicks
    return gain, errors


def bb84_expected_counts(channel_transmittance, pulses, *, mu, nu, omega, p_mu, p_nu, p_x,
                         detector_efficiency, dark_count_prob, misalignment_error, afterpulse_prob):
    """Expected per-intensity detections and errors in each basis for ``pulses`` sent.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the channel, detector excluded, in [0, 1]. [-]
    pulses : array_like
        Pulses Alice sends, > 0. [count]
    mu, nu, omega : array_like
        Signal, decoy and weakest intensities (mean photon numbers). [-]
    p_mu, p_nu : array_like
        Probabilities of the signal and decoy; the weakest gets the rest. [-]
    p_x : array_like
        Probability that each party picks the X (key) basis, in (0, 1). [-]
    detector_efficiency, dark_count_prob, misalignment_error : array_like
        As in :func:`qnetemu.physics.qkd.bb84_gain_and_qber`. [-]
    afterpulse_prob : array_like
        Afterpulse probability per detection :math:`p_{ap}` in [0, 1);
        each afterpulse is a random bit (Lim et al. 2014, Sec. IV). [-]

    Returns
    -------
    n_x, m_x, n_z, m_z : numpy.ndarray, shape (..., 3)
        Detections and errors per intensity (mu, nu, omega) in X and Z. [count]

    Notes
    -----
    Per pulse of intensity :math:`k` the detection probability is
    :math:`Q_k = (Y_0 + 1 - e^{-\\eta k})(1+p_{ap})` and the error
    probability :math:`E_kQ_k = Y_0/2 + e_d(1-e^{-\\eta k}) + p_{ap}(Y_0 + 1 - e^{-\\eta k})/2`
    with :math:`\\eta` = channel transmittance x detector efficiency (Ma et
    al. 2005, Eqs. 7 and 9; afterpulses after Lim et al. 2014). The X counts
    are :math:`N p_x^2 p_k Q_k`, the Z counts :math:`N (1-p_x)^2 p_k Q_k`.
    """
    t = _checked(channel_transmittance, "channel_transmittance", lower=0.0, upper=1.0)
    n = _checked(pulses, "pulses", lower=0.0, lower_open=True)
    eta_d = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    y0 = _checked(dark_count_prob, "dark_count_prob", lower=0.0, upper=1.0, upper_open=True)
    e_d = _checked(misalignment_error, "misalignment_error", lower=0.0, upper=0.5)
    p_ap = _checked(afterpulse_prob, "afterpulse_prob", lower=0.0, upper=1.0, upper_open=True)
    intensities, probs, px = _intensities_and_probabilities(mu, nu, omega, p_mu, p_nu, p_x)
    return _counts(t * eta_d, n, intensities, probs, px, y0, e_d, p_ap)


def _intensities_and_probabilities(mu, nu, omega, p_mu, p_nu, p_x):
    mu_ = _checked(mu, "mu", lower=0.0, lower_open=True)
    nu_ = _checked(nu, "nu", lower=0.0, lower_open=True)
    om = _checked(omega, "omega", lower=0.0)
    pm = _checked(p_mu, "p_mu", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    pn = _checked(p_nu, "p_nu", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    px = _checked(p_x, "p_x", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    shape = np.broadcast_shapes(mu_.shape, nu_.shape, om.shape, pm.shape, pn.shape)
    intensities = np.stack(np.broadcast_arrays(mu_, nu_, om), axis=-1).reshape(*shape, 3)
    p_om = 1.0 - pm - pn
    if np.any(p_om <= 0.0):
        raise ValueError("p_mu + p_nu must be below 1 (the weakest intensity needs a probability)")
    probs = np.stack(np.broadcast_arrays(pm, pn, p_om), axis=-1).reshape(*shape, 3)
    if np.any(~(intensities[..., 0] > intensities[..., 1] + intensities[..., 2])) or np.any(
            ~(intensities[..., 1] > intensities[..., 2])):
        raise ValueError("intensities must satisfy mu > nu + omega and nu > omega >= 0 (Lim et al. 2014)")
    return intensities, probs, px


def _counts(eta, pulses, intensities, probs, px, y0, e_d, p_ap):
    eta_k = np.asarray(eta)[..., None]
    gain, errors = _gain_error(eta_k, intensities, np.asarray(y0)[..., None], np.asarray(e_d)[..., None],
                               np.asarray(p_ap)[..., None])
    n = np.asarray(pulses)[..., None] * probs
    qx = (np.asarray(px) ** 2)[..., None]
    qz = ((1.0 - np.asarray(px)) ** 2)[..., None]
    return n * qx * gain, n * qx * errors, n * qz * gain, n * qz * errors


def bb84_detector_live_fraction(channel_transmittance, *, repetition_rate_hz, dead_time_s, mu, nu, omega, p_mu,
                                p_nu, detector_efficiency, dark_count_prob, afterpulse_prob):
    """Fraction of gates in which Bob's detectors are live, for the three-intensity protocol.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the channel, detector excluded, in [0, 1]. [-]
    repetition_rate_hz : array_like
        Pulse (gate) rate, > 0. [Hz]
    dead_time_s : array_like
        Dead time after each click, shared by Bob's detectors, >= 0. [s]
    mu, nu, omega, p_mu, p_nu : array_like
        Intensities and their probabilities; see :func:`bb84_expected_counts`. [-]
    detector_efficiency, dark_count_prob, afterpulse_prob : array_like
        Detector model; see :func:`bb84_expected_counts`. [-]

    Returns
    -------
    live_fraction : numpy.ndarray or numpy.float64
        :math:`1/(1 + f_{rep}\\bar Q\\tau)` with :math:`\\bar Q = \\sum_k p_k Q_k`
        the clicks per live gate averaged over the intensities, both bases
        (:func:`qnetemu.physics.qkd.dead_time_live_fraction`). [-]

    Notes
    -----
    Every intensity and basis gets this same live fraction: the detector's
    state at a gate depends on the clicks before it, not on the intensity
    Alice picks for that gate (independent choices), so the decoy method's
    yields are those of live gates. Approximation: the analysis treats the
    live gates as independent, as Lim et al. (2014) treat all gates; the dead
    time correlates neighbouring gates, and afterpulses, released just after
    the dead time, depend on the previous click. Both are small when the
    click probability per gate is small.
    """
    t = _checked(channel_transmittance, "channel_transmittance", lower=0.0, upper=1.0)
    rep = _checked(repetition_rate_hz, "repetition_rate_hz", lower=0.0, lower_open=True)
    tau = _checked(dead_time_s, "dead_time_s", lower=0.0)
    eta_d = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    y0 = _checked(dark_count_prob, "dark_count_prob", lower=0.0, upper=1.0, upper_open=True)
    p_ap = _checked(afterpulse_prob, "afterpulse_prob", lower=0.0, upper=1.0, upper_open=True)
    intensities, probs, _ = _intensities_and_probabilities(mu, nu, omega, p_mu, p_nu, 0.5)
    return dead_time_live_fraction(rep * _click_prob(t * eta_d, intensities, probs, y0, p_ap), dead_time_s=tau)


def _click_prob(eta, intensities, probs, y0, p_ap):
    """Clicks per gate averaged over the intensities, sum_k p_k Q_k (both bases)."""
    gain, _ = _gain_error(np.asarray(eta)[..., None], intensities, np.asarray(y0)[..., None], 0.0,
                          np.asarray(p_ap)[..., None])
    return np.sum(probs * gain, axis=-1)


def bb84_decoy_lim2014(channel_transmittance, *, block_detections, mu, nu, omega, p_mu, p_nu, p_x,
                       detector_efficiency, dark_count_prob, misalignment_error, afterpulse_prob,
                       ec_efficiency, eps_sec, eps_cor, vacuum_term=True, repetition_rate_hz=None,
                       dead_time_s=0.0):
    """Finite-key decoy-BB84 key per pulse for a block of ``block_detections`` sifted X detections.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the channel, detector excluded, in [0, 1]. [-]
    block_detections : array_like
        Post-processing block size :math:`n_X`: detections in the X basis
        (both parties chose X), all intensities together, > 0; ``inf`` gives
        the asymptotic limit. [count]
    mu, nu, omega, p_mu, p_nu, p_x : array_like
        Intensities and their probabilities, X-basis probability; see
        :func:`bb84_expected_counts`. [-]
    detector_efficiency, dark_count_prob, misalignment_error, afterpulse_prob : array_like
        Channel and detector model; see :func:`bb84_expected_counts`. [-]
    ec_efficiency : array_like
        Error-correction inefficiency :math:`f \\ge 1`. [-]
    eps_sec, eps_cor : array_like
        Secrecy and correctness parameters, in (0, 1). [-]
    vacuum_term : bool, optional
        Count the vacuum events :math:`s_{X,0}` as key, as Lim et al. do
        (default). False leaves them out, as the GLLP formula of Ma et al.
        (2005) does; used to check the asymptotic limit.
    repetition_rate_hz : array_like, optional
        Pulse (gate) rate, > 0; needed only with a dead time. [Hz]
    dead_time_s : array_like, optional
        Detector dead time after each click, >= 0 (default 0: none). [s]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        :math:`f_{live}\\,\\ell / N`, with :math:`N = n_X / (p_x^2 \\sum_k p_k Q_k)`
        the live gates that fill the block (expected counts) and
        :math:`f_{live}` the live fraction of
        :func:`bb84_detector_live_fraction` (1 without dead time). [bit/pulse]

    Notes
    -----
    The block is filled with its expected statistics (no sampling): the
    rate is what a system with these parameters gets on average. Multiply
    by the repetition rate for bit/s; :math:`N/(f_{live}\\,f_{rep})` is the
    time one block takes to fill.

    References
    ----------
    Lim, Curty, Walenta, Xu, Zbinden, Phys. Rev. A 89, 022307 (2014),
    Eqs. (1)-(5) and the detector model of Sec. IV.
    https://doi.org/10.1103/PhysRevA.89.022307
    """
    t = _checked(channel_transmittance, "channel_transmittance", lower=0.0, upper=1.0)
    n_block = _checked(block_detections, "block_detections", lower=0.0, lower_open=True, allow_inf=True)
    eta_d = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    y0 = _checked(dark_count_prob, "dark_count_prob", lower=0.0, upper=1.0, upper_open=True)
    e_d = _checked(misalignment_error, "misalignment_error", lower=0.0, upper=0.5)
    p_ap = _checked(afterpulse_prob, "afterpulse_prob", lower=0.0, upper=1.0, upper_open=True)
    f = _checked(ec_efficiency, "ec_efficiency", lower=1.0)
    es = _checked(eps_sec, "eps_sec", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    ec = _checked(eps_cor, "eps_cor", lower=0.0, lower_open=True, upper=1.0, upper_open=True)
    intensities, probs, px = _intensities_and_probabilities(mu, nu, omega, p_mu, p_nu, p_x)
    # Counts of one pulse, then scale to the block: N = n_X / P(X detection).
    n_x1, m_x1, n_z1, m_z1 = _counts(t * eta_d, 1.0, intensities, probs, px, y0, e_d, p_ap)
    per_pulse_x = np.sum(n_x1, axis=-1)
    shape = np.broadcast_shapes(per_pulse_x.shape, n_block.shape, f.shape, es.shape, ec.shape)
    per_pulse_x = np.broadcast_to(per_pulse_x, shape)
    n_block = np.broadcast_to(n_block, shape)
    finite = np.isfinite(n_block)
    detected = per_pulse_x > 0
    pulses = np.where(finite & detected, n_block / np.where(detected, per_pulse_x, 1.0), 1.0)
    scale = pulses[..., None]

    def broadcast(a):
        return np.broadcast_to(a, (*shape, 3))

    args = [broadcast(c) * scale for c in (n_x1, m_x1, n_z1, m_z1)]
    mu_b, p_b = broadcast(intensities), broadcast(probs)
    f_b, es_b, ec_b = (np.broadcast_to(a, shape) for a in (f, es, ec))
    key_finite = _key_length(*args, mu_b, p_b, f_b, es_b, ec_b, finite=True, vacuum_term=vacuum_term) / pulses
    key_asym = _key_length(*(broadcast(c) for c in (n_x1, m_x1, n_z1, m_z1)), mu_b, p_b, f_b, es_b, ec_b,
                           finite=False, vacuum_term=vacuum_term)
    rate = np.where(finite, key_finite, key_asym)
    tau = _checked(dead_time_s, "dead_time_s", lower=0.0)
    if repetition_rate_hz is None:
        if np.any(tau > 0):
            raise ValueError("dead_time_s > 0 needs repetition_rate_hz")
        live = 1.0
    else:
        rep = _checked(repetition_rate_hz, "repetition_rate_hz", lower=0.0, lower_open=True)
        live = dead_time_live_fraction(rep * _click_prob(t * eta_d, intensities, probs, y0, p_ap), dead_time_s=tau)
    return _out(np.asarray(np.where(detected, rate * live, 0.0)))
