"""Asymptotic secret-key rates of prepare-and-measure BB84 over a lossy channel.

Every rate function returns secret-key bits **per pulse sent**; multiply by
the source repetition rate for bit/s. ``channel_transmittance`` is the
transmittance of the channel alone (fibre, free-space link, receiver optics
before the detector); the detector efficiency is a separate argument, so the
overall transmittance is ``channel_transmittance * detector_efficiency``,
written :math:`\\eta` below as in Ma et al. (2005).

The channel model is the one of Ma, Qi, Zhao, Lo (2005), Sec. II: an
*i*-photon pulse is detected with yield :math:`Y_i = Y_0 + \\eta_i`,
:math:`\\eta_i = 1-(1-\\eta)^i`, and gives an error with probability
:math:`e_i Y_i = e_0 Y_0 + e_d \\eta_i` (dark counts are random,
:math:`e_0 = 1/2`; :math:`e_d` is the misalignment error).

Detector dead time (optional ``dead_time_s`` with ``repetition_rate_hz``):
after each click the receiver's detectors are blind for ``dead_time_s``
(non-paralyzable, one dead time shared by all detectors, as QKD receivers
enforce it against the dead-time attack of Weier et al., NJP 13, 073024
(2011)). Dead gates are known to Bob and left out, so the key per live gate is
the formula's and the key per pulse sent is that times the live fraction
:func:`dead_time_live_fraction`. This caps the detected rate at
``1/dead_time_s``: at short distances with GHz clocks real systems are
detector-limited far below the dead-time-free rates.

Limits: asymptotic keys (no finite-size correction, see
:mod:`qnetemu.physics.finite_key`), no saturation or afterpulsing beyond
what ``dark_count_prob``, ``afterpulse_prob`` and the dead time absorb.

References
----------
X. Ma, B. Qi, Y. Zhao, H.-K. Lo, "Practical decoy state for quantum key
distribution", Phys. Rev. A 72, 012326 (2005).
https://doi.org/10.1103/PhysRevA.72.012326

D. Gottesman, H.-K. Lo, N. Lütkenhaus, J. Preskill, "Security of quantum key
distribution with imperfect devices", Quantum Inf. Comput. 4, 325 (2004).
https://doi.org/10.26421/QIC4.5-1
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import entr, gammainc

from qnetemu.physics.fibre import _checked, _out, db_to_transmittance

__all__ = [
    "bb84_decoy_ma2005",
    "bb84_gain_and_qber",
    "bb84_gllp_no_decoy",
    "bb84_infinite_decoy",
    "bb84_max_channel_loss_db",
    "binary_entropy",
    "dead_time_live_fraction",
]

_LN2 = np.log(2.0)
#: Error rate of a dark count or background click: a random bit.
_E0 = 0.5


def binary_entropy(p):
    """Binary Shannon entropy.

    Parameters
    ----------
    p : array_like
        Probability, in [0, 1]. [-]

    Returns
    -------
    h2 : numpy.ndarray or numpy.float64
        :math:`h_2(p) = -p\\log_2 p - (1-p)\\log_2(1-p)`, with
        :math:`h_2(0) = h_2(1) = 0`. [bit]
    """
    prob = _checked(p, "p", lower=0.0, upper=1.0)
    # scipy's entr(x) = -x ln x, and entr(0) = 0 exactly.
    return _out((entr(prob) + entr(1.0 - prob)) / _LN2)


def _h2(p: np.ndarray) -> np.ndarray:
    """Binary entropy of an already-validated array (no checks)."""
    return (entr(p) + entr(1.0 - p)) / _LN2


def _check_common(channel_transmittance, mu, detector_efficiency, dark_count_prob,
                  misalignment_error):
    return (
        _checked(channel_transmittance, "channel_transmittance", lower=0.0, upper=1.0),
        _checked(mu, "mu", lower=0.0, lower_open=True),
        _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True,
                 upper=1.0),
        _checked(dark_count_prob, "dark_count_prob", lower=0.0, upper=1.0, upper_open=True),
        _checked(misalignment_error, "misalignment_error", lower=0.0, upper=0.5),
    )


def _check_rate_args(ec_efficiency, sifting):
    return (
        _checked(ec_efficiency, "ec_efficiency", lower=1.0),
        _checked(sifting, "sifting", lower=0.0, lower_open=True, upper=1.0),
    )


def dead_time_live_fraction(click_rate_hz, *, dead_time_s):
    """Fraction of detection gates in which a non-paralyzable detector is live.

    Parameters
    ----------
    click_rate_hz : array_like
        Rate at which the detector would click with no dead time,
        :math:`R = f_{rep} Q` (repetition rate times clicks per gate), >= 0. [Hz]
    dead_time_s : array_like
        Dead time after each click, >= 0; 0 means no dead time. [s]

    Returns
    -------
    live_fraction : numpy.ndarray or numpy.float64
        :math:`1/(1 + R\\tau)`, in (0, 1]; the detected rate is
        :math:`R_d = R/(1 + R\\tau)`, which tends to :math:`1/\\tau` when
        :math:`R\\tau \\gg 1`. [-]

    Notes
    -----
    Non-paralyzable model: a click during the dead time is lost and does not
    extend it. For a gated detector with click probability :math:`Q` per
    live gate and :math:`N = f_{rep}\\tau` dead gates after each click, a
    renewal cycle is a geometric wait of mean :math:`1/Q` live gates plus
    :math:`N` dead ones, so clicks per gate are :math:`Q/(1 + NQ)`:
    the same law with :math:`R = f_{rep}Q`. Exact for independent gates and a
    dead time of whole gates; afterpulses released right after the dead time
    are correlated with the click before and are not modelled here.

    References
    ----------
    G. F. Knoll, *Radiation Detection and Measurement*, 4th ed. (Wiley, 2010),
    Ch. 4, Sec. VII, non-paralyzable model, :math:`m = n/(1 + n\\tau)`.
    D. J. Rogers, J. C. Bienfang, A. Nakassis, H. Xu, C. W. Clark, "Detector
    dead-time effects and paralyzability in high-speed quantum key
    distribution", New J. Phys. 9, 319 (2007),
    https://doi.org/10.1088/1367-2630/9/9/319 (the same law for gated QKD
    receivers).

    Examples
    --------
    >>> float(dead_time_live_fraction(1e6, dead_time_s=1e-5))  # saturated: R_d = 1e6/11
    0.09090909090909091
    """
    rate = _checked(click_rate_hz, "click_rate_hz", lower=0.0)
    tau = _checked(dead_time_s, "dead_time_s", lower=0.0)
    return _out(np.asarray(1.0 / (1.0 + rate * tau)))


def _live_fraction(click_prob, repetition_rate_hz, dead_time_s):
    """Live fraction for clicks per gate ``click_prob``; checks the two arguments."""
    tau = _checked(dead_time_s, "dead_time_s", lower=0.0)
    if repetition_rate_hz is None:
        if np.any(tau > 0):
            raise ValueError("dead_time_s > 0 needs repetition_rate_hz")
        return np.ones_like(tau)
    rep = _checked(repetition_rate_hz, "repetition_rate_hz", lower=0.0, lower_open=True)
    return 1.0 / (1.0 + rep * np.asarray(click_prob) * tau)


def _gain_qber(eta, mu, y0, e_d, p_ap=0.0):
    """Q_mu and E_mu (Ma et al. 2005, Eqs. 7 and 9) for validated arrays.

    Afterpulses (probability ``p_ap`` per click, each a random bit; Lim et
    al., PRA 89, 022307 (2014), Sec. IV) scale every yield by ``1 + p_ap``,
    which keeps the decoy equations linear in the yields.
    """
    # 1 - exp(-eta mu) loses all digits for eta ~ 1e-10 without expm1.
    detected = -np.expm1(-eta * mu)
    clicks = y0 + detected
    gain = clicks * (1.0 + p_ap)
    errors = _E0 * y0 + e_d * detected + _E0 * p_ap * clicks
    # No click at all (no light, no dark counts): nothing to err on; report
    # the uninformative 1/2 rather than 0/0.
    with np.errstate(invalid="ignore", divide="ignore"):
        qber = np.where(gain > 0, errors / np.where(gain > 0, gain, 1.0), _E0)
    return gain, qber


def bb84_gain_and_qber(channel_transmittance, *, mu, detector_efficiency, dark_count_prob,
                       misalignment_error, afterpulse_prob=0.0):
    """Gain and quantum bit error rate of weak coherent pulses.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the channel, detector excluded, in [0, 1]. [-]
    mu : array_like
        Mean photon number of the pulses, > 0. [-]
    detector_efficiency : array_like
        Bob's detection efficiency (including his optics), in (0, 1]. [-]
    dark_count_prob : array_like
        Background/dark-count probability per pulse :math:`Y_0`, in [0, 1). [-]
    misalignment_error : array_like
        Probability :math:`e_d` that a photon hits the wrong detector,
        in [0, 0.5]. [-]
    afterpulse_prob : array_like, optional
        Afterpulse probability per click, in [0, 1): yields scale by
        :math:`1 + p_{ap}` and every afterpulse is a random bit. [-]

    Returns
    -------
    gain : numpy.ndarray or numpy.float64
        :math:`Q_\\mu = Y_0 + 1 - e^{-\\eta\\mu}`, clicks per pulse. [-]
    qber : numpy.ndarray or numpy.float64
        :math:`E_\\mu = [e_0 Y_0 + e_d (1 - e^{-\\eta\\mu})] / Q_\\mu`. [-]

    Notes
    -----
    With no loss and no dark counts :math:`E_\\mu = e_d`; when the
    channel transmits nothing, :math:`Q_\\mu = Y_0` and :math:`E_\\mu = 1/2`.

    References
    ----------
    Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005), Eqs. (7) and (9).
    https://doi.org/10.1103/PhysRevA.72.012326
    """
    t, mu_, eta_d, y0, e_d = _check_common(channel_transmittance, mu, detector_efficiency,
                                           dark_count_prob, misalignment_error)
    p_ap = _checked(afterpulse_prob, "afterpulse_prob", lower=0.0, upper=1.0, upper_open=True)
    gain, qber = _gain_qber(t * eta_d, mu_, y0, e_d, p_ap)
    return _out(np.asarray(gain)), _out(np.asarray(qber))


def _gllp_rate(q1, e1, gain, qber, f, sifting):
    """GLLP key rate q{-Q f h2(E) + Q1 [1 - h2(e1)]}, clipped at 0."""
    # A phase-error bound above 1/2 is as bad as 1/2 (no secrecy left).
    e1 = np.clip(e1, 0.0, _E0)
    q1 = np.maximum(q1, 0.0)
    rate = sifting * (q1 * (1.0 - _h2(e1)) - gain * f * _h2(qber))
    return np.maximum(rate, 0.0)


def bb84_infinite_decoy(channel_transmittance, *, mu, detector_efficiency, dark_count_prob,
                        misalignment_error, ec_efficiency=1.22, sifting=0.5, repetition_rate_hz=None,
                        dead_time_s=0.0):
    """BB84 key rate with infinitely many decoy states (exact Y1 and e1).

    The upper limit of any decoy-state protocol: the single-photon yield and
    error rate are known exactly.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the channel, detector excluded, in [0, 1]. [-]
    mu : array_like
        Signal mean photon number, > 0. [-]
    detector_efficiency, dark_count_prob, misalignment_error : array_like
        As in :func:`bb84_gain_and_qber`. [-]
    ec_efficiency : array_like, optional
        Error-correction inefficiency :math:`f \\ge 1` (1.22 in Ma et al.). [-]
    sifting : array_like, optional
        Sifting factor :math:`q` (1/2 for standard BB84). [-]
    repetition_rate_hz : array_like, optional
        Pulse (gate) rate, > 0; needed only with a dead time. [Hz]
    dead_time_s : array_like, optional
        Detector dead time after each click, >= 0 (default 0: none). The
        key per pulse is multiplied by the live fraction
        :func:`dead_time_live_fraction` of the signal click rate
        ``repetition_rate_hz * Q_mu``. [s]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        :math:`R = q\\{-Q_\\mu f h_2(E_\\mu) + Q_1[1-h_2(e_1)]\\}`, clipped
        at 0, with :math:`Y_1 = Y_0 + \\eta`, :math:`Q_1 = Y_1 \\mu e^{-\\mu}`,
        :math:`e_1 = (e_0 Y_0 + e_d \\eta)/Y_1`. [bit/pulse]

    References
    ----------
    Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005), Eqs. (1), (8), (10)
    (GLLP formula with exact single-photon terms).
    https://doi.org/10.1103/PhysRevA.72.012326
    """
    t, mu_, eta_d, y0, e_d = _check_common(channel_transmittance, mu, detector_efficiency,
                                           dark_count_prob, misalignment_error)
    f, q = _check_rate_args(ec_efficiency, sifting)
    eta = t * eta_d
    gain, qber = _gain_qber(eta, mu_, y0, e_d)
    y1 = y0 + eta
    with np.errstate(invalid="ignore", divide="ignore"):
        e1 = np.where(y1 > 0, (_E0 * y0 + e_d * eta) / np.where(y1 > 0, y1, 1.0), _E0)
    q1 = y1 * mu_ * np.exp(-mu_)
    live = _live_fraction(gain, repetition_rate_hz, dead_time_s)
    return _out(np.asarray(_gllp_rate(q1, e1, gain, qber, f, q) * live))


def bb84_decoy_ma2005(channel_transmittance, *, mu, nu, detector_efficiency, dark_count_prob,
                      misalignment_error, ec_efficiency=1.22, sifting=0.5, afterpulse_prob=0.0,
                      repetition_rate_hz=None, dead_time_s=0.0):
    """BB84 key rate with the vacuum + one weak decoy state of Ma et al. (2005).

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the channel, detector excluded, in [0, 1]. [-]
    mu : array_like
        Signal mean photon number, > 0. [-]
    nu : array_like
        Weak decoy mean photon number, 0 < nu < mu. [-]
    detector_efficiency, dark_count_prob, misalignment_error : array_like
        As in :func:`bb84_gain_and_qber`. [-]
    ec_efficiency : array_like, optional
        Error-correction inefficiency :math:`f \\ge 1`. [-]
    sifting : array_like, optional
        Sifting factor :math:`q`. [-]
    afterpulse_prob : array_like, optional
        Afterpulse probability per click, as in :func:`bb84_gain_and_qber`. [-]
    repetition_rate_hz : array_like, optional
        Pulse (gate) rate, > 0; needed only with a dead time. [Hz]
    dead_time_s : array_like, optional
        Detector dead time after each click, >= 0 (default 0: none). The
        key per pulse is multiplied by the live fraction
        :func:`dead_time_live_fraction` of the signal click rate
        ``repetition_rate_hz * Q_mu``. [s]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        GLLP rate with the decoy bounds below, clipped at 0, times the live
        fraction when there is a dead time. [bit/pulse]

    Notes
    -----
    Asymptotic (no statistical fluctuations); the vacuum decoy measures
    :math:`Y_0`. Lower bound on the single-photon yield (Eq. 34) and upper
    bound on its error rate (Eq. 37):

    .. math::

        Y_1^L = \\frac{\\mu}{\\mu\\nu-\\nu^2}\\left(Q_\\nu e^{\\nu}
                - Q_\\mu e^{\\mu}\\frac{\\nu^2}{\\mu^2}
                - \\frac{\\mu^2-\\nu^2}{\\mu^2} Y_0\\right),\\qquad
        e_1^U = \\frac{E_\\nu Q_\\nu e^{\\nu} - e_0 Y_0}{Y_1^L \\nu},

    and :math:`Q_1^L = Y_1^L \\mu e^{-\\mu}`. Where :math:`Y_1^L \\le 0`
    no key can be certified and the rate is 0; :math:`e_1^U` is capped at
    1/2.

    With a dead time the decoy pulses see the same live fraction as the
    signals: whether the detector is live at a gate depends on earlier
    clicks, not on the intensity Alice picks for that gate, so all the
    yields above are those of live gates and the bounds hold unchanged. The
    live fraction uses the signal click rate only, as this asymptotic
    analysis sends a vanishing fraction of decoys.

    References
    ----------
    Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005), Sec. III.B
    ("vacuum + weak decoy state"), Eqs. (34), (37), (38).
    https://doi.org/10.1103/PhysRevA.72.012326
    """
    t, mu_, eta_d, y0, e_d = _check_common(channel_transmittance, mu, detector_efficiency,
                                           dark_count_prob, misalignment_error)
    nu_ = _checked(nu, "nu", lower=0.0, lower_open=True)
    if np.any(np.broadcast_to(nu_ >= mu_, np.broadcast_shapes(nu_.shape, mu_.shape))):
        raise ValueError("nu (decoy intensity) must be smaller than mu (signal intensity)")
    f, q = _check_rate_args(ec_efficiency, sifting)
    p_ap = _checked(afterpulse_prob, "afterpulse_prob", lower=0.0, upper=1.0, upper_open=True)
    eta = t * eta_d
    gain_mu, qber_mu = _gain_qber(eta, mu_, y0, e_d, p_ap)
    gain_nu, qber_nu = _gain_qber(eta, nu_, y0, e_d, p_ap)
    # The vacuum decoy measures the vacuum yield and its error rate, afterpulses included.
    vac_gain, vac_qber = _gain_qber(eta, 0.0, y0, e_d, p_ap)
    ratio2 = (nu_ / mu_) ** 2
    y1_low = (mu_ / (mu_ * nu_ - nu_**2)) * (
        gain_nu * np.exp(nu_) - gain_mu * np.exp(mu_) * ratio2 - (1.0 - ratio2) * vac_gain
    )
    certified = y1_low > 0
    safe_y1 = np.where(certified, y1_low, 1.0)
    e1_up = np.where(certified, (qber_nu * gain_nu * np.exp(nu_) - vac_qber * vac_gain) / (safe_y1 * nu_),
                     _E0)
    q1_low = np.where(certified, y1_low, 0.0) * mu_ * np.exp(-mu_)
    live = _live_fraction(gain_mu, repetition_rate_hz, dead_time_s)
    return _out(np.asarray(_gllp_rate(q1_low, e1_up, gain_mu, qber_mu, f, q) * live))


def bb84_gllp_no_decoy(channel_transmittance, *, mu, detector_efficiency, dark_count_prob,
                       misalignment_error, ec_efficiency=1.22, sifting=0.5, repetition_rate_hz=None,
                       dead_time_s=0.0):
    """BB84 key rate with weak coherent pulses and no decoy states (GLLP).

    Every multi-photon pulse is assumed to be detected and fully known to
    the eavesdropper (photon-number-splitting attack), so the mean photon
    number must be of the order of the overall transmittance.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the channel, detector excluded, in [0, 1]. [-]
    mu : array_like
        Mean photon number, > 0. [-]
    detector_efficiency, dark_count_prob, misalignment_error : array_like
        As in :func:`bb84_gain_and_qber`. [-]
    ec_efficiency : array_like, optional
        Error-correction inefficiency :math:`f \\ge 1`. [-]
    sifting : array_like, optional
        Sifting factor :math:`q`. [-]
    repetition_rate_hz : array_like, optional
        Pulse (gate) rate, > 0; needed only with a dead time. [Hz]
    dead_time_s : array_like, optional
        Detector dead time after each click, >= 0 (default 0: none). The
        key per pulse is multiplied by the live fraction
        :func:`dead_time_live_fraction` of the signal click rate
        ``repetition_rate_hz * Q_mu``. [s]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        :math:`R = q\\{-Q_\\mu f h_2(E_\\mu) + Q_\\mu(1-\\Delta)
        [1 - h_2(E_\\mu/(1-\\Delta))]\\}`, clipped at 0, with
        :math:`\\Delta = P_\\mathrm{multi}/Q_\\mu` and
        :math:`P_\\mathrm{multi} = 1 - (1+\\mu)e^{-\\mu}`. [bit/pulse]

    References
    ----------
    Gottesman, Lo, Lütkenhaus, Preskill, Quantum Inf. Comput. 4, 325 (2004);
    in the notation of Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005),
    Eq. (2) and Sec. II. https://doi.org/10.26421/QIC4.5-1
    """
    t, mu_, eta_d, y0, e_d = _check_common(channel_transmittance, mu, detector_efficiency,
                                           dark_count_prob, misalignment_error)
    f, q = _check_rate_args(ec_efficiency, sifting)
    gain, qber = _gain_qber(t * eta_d, mu_, y0, e_d)
    # P(n >= 2) of a Poisson law is the regularised incomplete gamma P(2, mu);
    # 1 - (1 + mu) exp(-mu) would cancel catastrophically for small mu.
    p_multi = gammainc(2.0, mu_)
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where(gain > 0, p_multi / np.where(gain > 0, gain, 1.0), 1.0)
    secure = delta < 1.0
    single_frac = np.where(secure, 1.0 - delta, 1.0)
    e_single = np.where(secure, qber / single_frac, _E0)
    q1 = np.where(secure, gain * single_frac, 0.0)
    live = _live_fraction(gain, repetition_rate_hz, dead_time_s)
    return _out(np.asarray(_gllp_rate(q1, e_single, gain, qber, f, q) * live))


def bb84_max_channel_loss_db(
    rate_fn: Callable[..., np.ndarray], /, *, tolerance_db: float = 1e-9,
    search_limit_db: float = 400.0, **params,
) -> float:
    """Channel loss at which a key-rate model stops giving key.

    Parameters
    ----------
    rate_fn : callable
        ``rate_fn(channel_transmittance, **params)`` returning bits per pulse
        (any function of this module), assumed non-increasing with loss.
    tolerance_db : float, optional
        Width of the final bracket. [dB]
    search_limit_db : float, optional
        Largest loss tried; a model still positive there raises ValueError. [dB]
    **params
        Keyword arguments passed to ``rate_fn`` (scalars).

    Returns
    -------
    max_loss_db : float
        Largest channel loss with a positive rate, within ``tolerance_db``;
        0.0 if even a lossless channel gives no key. Divide by the fibre
        attenuation for the reach in km. [dB]

    Notes
    -----
    Bisection on the sign of the rate: the rates are clipped at 0, so there
    is no sign change for a root finder such as ``brentq`` to use.
    """
    def positive(loss_db: float) -> bool:
        return float(rate_fn(float(db_to_transmittance(loss_db)), **params)) > 0.0

    if not positive(0.0):
        return 0.0
    if positive(search_limit_db):
        raise ValueError(
            f"{getattr(rate_fn, '__name__', 'rate_fn')} still gives key at "
            f"{search_limit_db} dB; raise search_limit_db"
        )
    low, high = 0.0, float(search_limit_db)
    while high - low > tolerance_db:
        mid = 0.5 * (low + high)
        if positive(mid):
            low = mid
        else:
            high = mid
    return low
