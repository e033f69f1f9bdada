"""Twin-field QKD key rates, asymptotic, infinite decoys: phase-matching (PM) and sending-or-not-sending (SNS).

Alice and Bob each send a phase-randomised weak coherent pulse of intensity
:math:`\\mu/2` to an untrusted measurement station in the middle, which
interferes them on a beam splitter and announces which detector clicked.
The key is encoded in the common phase; a single photon that passes either
half of the channel is enough, so the rate scales with
:math:`\\sqrt{\\eta}` of the whole channel and can beat the repeaterless
(PLOB) bound :math:`-\\log_2(1-\\eta)` at long distance (Lucamarini, Yuan,
Dynes, Shields, Nature 557, 400 (2018)).

Rate (Ma, Zeng, Zhou, Phys. Rev. X 8, 031043 (2018), Eqs. (9)-(10), with
the phase post-selection of their Sec. V, keeping the
:math:`2/M` of pulses whose random phase slices match or differ by
:math:`\\pi`):

.. math::

    R = \\frac{2}{M} Q_\\mu \\left[1 - f\\,h(E_\\mu^Z) - h(E_\\mu^X)\\right],

with, for arm transmittance :math:`\\eta_a = \\sqrt{\\eta}\\,\\eta_d` (each
half of the fibre times the detector efficiency) and dark-count probability
:math:`p_d` per detector,

* :math:`Y_k = 1 - (1-p_d)^2 (1-\\eta_a)^k`: yield of the :math:`k`-photon
  component of the joint (Poisson, mean :math:`\\mu`) source;
* :math:`Q_\\mu = \\sum_k e^{-\\mu}\\mu^k/k!\\, Y_k
  = 1 - (1-p_d)^2 e^{-\\eta_a\\mu}`;
* bit error :math:`E^Z_\\mu Q_\\mu = e_d (Q_\\mu - Y_0 e^{-\\mu}) + Y_0 e^{-\\mu}/2`,
  with :math:`e_d` the interference (phase-mismatch plus misalignment) error;
* phase error :math:`E^X_\\mu \\le \\sum_{k\\ \\mathrm{even}} e^{-\\mu}\\mu^k/k!\\, Y_k / Q_\\mu`
  (the even photon-number components carry no phase information, Ma et al.
  2018, Eq. 9), known exactly with infinitely many decoys.

Where the crossing with PLOB lies: with hardware of the kind Lucamarini et
al. call realistic (30 % detectors, 1e-8 dark counts, e_d = 3 %, f = 1.15,
M = 16; values assumed, see :data:`qnetemu.physics.presets.QKD_DEVICE_PRESETS`)
this rate crosses :math:`-\\log_2(1-\\eta)` of the fibre alone at 305 km of
0.2 dB/km fibre. Until dark counts matter the rate is
:math:`(2/M)\\,c^*\\eta_d\\sqrt{\\eta}` with
:math:`c^* = \\max_\\mu \\mu[1 - f h(e_d) - h((1-e^{-2\\mu})/2)]`, so the
crossing is :math:`\\sqrt{\\eta_\\times} = (2/M) c^* \\eta_d \\ln 2`
(tested). Keeping only the :math:`1/M` of pairs whose slices coincide
halves the key, which moves the crossing out by
:math:`10\\log_{10}4/\\alpha = 30` km, to 336 km, the ~340 km Lucamarini et
al. report for their own (original TF-QKD) analysis; against PLOB of fibre
and detectors together (:math:`\\eta\\,\\eta_d`) the crossing comes
:math:`10\\log_{10}(1/\\eta_d^2)/\\alpha` earlier (253 km at
:math:`\\eta_d = 0.3`).

Sending-or-not-sending (Wang, Yu, Hu, Phys. Rev. A 98, 062323 (2018)): see
:func:`tf_sns_wang2018`; with actively odd-parity pairing of the raw key
(Xu, Yu, Jiang, Hu, Wang, Phys. Rev. A 101, 042330 (2020)), the protocol of
Liu et al.'s 1,002 km (Phys. Rev. Lett. 130, 210801 (2023)):
:func:`tf_sns_aopp_xu2020` and :func:`sns_aopp_counts`.

Limits: asymptotic (no finite-size terms), symmetric arms, phase
stabilisation perfect up to what :math:`e_d` absorbs. The middle station is
untrusted: it learns nothing of the key.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, i0e

from qnetemu.physics.fibre import _checked, _out

__all__ = ["tf_pm_ma2018", "tf_sns_wang2018", "tf_sns_aopp_xu2020", "sns_gains", "sns_aopp_counts"]

_LN2 = np.log(2.0)


def _h2(p):
    return (entr(p) + entr(1.0 - p)) / _LN2


def tf_pm_ma2018(channel_transmittance, *, mu, detector_efficiency, dark_count_prob, misalignment_error,
                 ec_efficiency, phase_slices):
    """Phase-matching twin-field key per pulse pair (Ma, Zeng, Zhou 2018), asymptotic.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the whole Alice-to-Bob fibre, detectors excluded, in
        [0, 1]; each half carries its square root. [-]
    mu : array_like
        Total intensity of the two pulses (mean photon number), > 0. [-]
    detector_efficiency : array_like
        Efficiency of the station's detectors, in (0, 1]. [-]
    dark_count_prob : array_like
        Dark-count probability per detector per pulse, in [0, 1). [-]
    misalignment_error : array_like
        Interference error :math:`e_d` (phase mismatch, polarisation,
        slice width), in [0, 0.5]. [-]
    ec_efficiency : array_like
        Error-correction inefficiency :math:`f \\ge 1`. [-]
    phase_slices : array_like
        Number :math:`M` of phase slices of the post-selection, >= 2. [-]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        :math:`R`, clipped at 0. [bit/pulse]

    References
    ----------
    X. Ma, P. Zeng, H. Zhou, "Phase-matching quantum key distribution",
    Phys. Rev. X 8, 031043 (2018). https://doi.org/10.1103/PhysRevX.8.031043

    M. Lucamarini, Z. L. Yuan, J. F. Dynes, A. J. Shields, Nature 557, 400
    (2018). https://doi.org/10.1038/s41586-018-0066-6
    """
    t = _checked(channel_transmittance, "channel_transmittance", lower=0.0, upper=1.0)
    mu_ = _checked(mu, "mu", lower=0.0, lower_open=True)
    eta_d = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    p_d = _checked(dark_count_prob, "dark_count_prob", lower=0.0, upper=1.0, upper_open=True)
    e_d = _checked(misalignment_error, "misalignment_error", lower=0.0, upper=0.5)
    f = _checked(ec_efficiency, "ec_efficiency", lower=1.0)
    m = _checked(phase_slices, "phase_slices", lower=2.0)
    eta_a = np.sqrt(t) * eta_d
    no_dark = (1.0 - p_d) ** 2
    y0 = 1.0 - no_dark
    gain = 1.0 - no_dark * np.exp(-eta_a * mu_)
    vacuum = y0 * np.exp(-mu_)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(gain > 0, gain, 1.0)
        e_z = np.where(gain > 0, (e_d * (gain - vacuum) + 0.5 * vacuum) / safe, 0.5)
        # Even components: sum over even k of e^-mu mu^k/k! [1 - (1-p_d)^2 (1-eta_a)^k]
        #   = e^-mu [cosh(mu) - (1-p_d)^2 cosh(mu (1-eta_a))].
        even = np.exp(-mu_) * (np.cosh(mu_) - no_dark * np.cosh(mu_ * (1.0 - eta_a)))
        e_x = np.where(gain > 0, even / safe, 0.5)
    e_z = np.clip(e_z, 0.0, 0.5)
    e_x = np.clip(e_x, 0.0, 0.5)
    rate = 2.0 / m * gain * (1.0 - f * _h2(e_z) - _h2(e_x))
    return _out(np.asarray(np.maximum(rate, 0.0)))


def sns_gains(arm_transmittance, *, mu, dark_count_prob):
    """Click probabilities of the sending-or-not-sending Z windows, per window.

    An effective event is exactly one of the station's two detectors
    clicking. With arm transmittance :math:`\\eta` (fibre half times
    detector efficiency) and dark-count probability :math:`p_d` per detector:

    * neither sends: :math:`S_{00} = 2p_d(1-p_d)`;
    * one sends intensity :math:`\\mu` (it splits evenly over the two
      detectors): :math:`S_{01} = 2(1-p_d)e^{-\\eta\\mu/2}[1-(1-p_d)e^{-\\eta\\mu/2}]`;
    * both send, with independent random phases (the detectors see
      :math:`\\eta\\mu(1\\pm\\cos\\delta)`, averaged over :math:`\\delta`):
      :math:`S_{11} = 2(1-p_d)e^{-\\eta\\mu}I_0(\\eta\\mu) - 2(1-p_d)^2e^{-2\\eta\\mu}`,
      with :math:`I_0` the modified Bessel function.

    Parameters
    ----------
    arm_transmittance : array_like
        :math:`\\eta`, one arm's fibre transmittance times the detector
        efficiency, in [0, 1]. [-]
    mu : array_like
        Intensity of a sent pulse, > 0. [-]
    dark_count_prob : array_like
        Dark-count probability per detector per window, in [0, 1). [-]

    Returns
    -------
    s00, s01, s11 : numpy.ndarray
        The three click probabilities. [-]

    References
    ----------
    X.-B. Wang, Z.-W. Yu, X.-L. Hu, Phys. Rev. A 98, 062323 (2018), the
    channel model of their simulations; Z.-W. Yu, X.-L. Hu, C. Jiang, H. Xu,
    X.-B. Wang, "Sending-or-not-sending twin-field quantum key distribution
    in practice", Sci. Rep. 9, 3080 (2019), https://doi.org/10.1038/s41598-019-39225-y.
    """
    eta = np.asarray(arm_transmittance, dtype=float)
    mu_ = np.asarray(mu, dtype=float)
    p_d = np.asarray(dark_count_prob, dtype=float)
    x = eta * mu_
    s00 = 2.0 * p_d * (1.0 - p_d) * np.ones_like(x)
    half = np.exp(-x / 2.0)
    # 1 - (1-p_d) e^{-x/2}, kept accurate for x ~ 1e-9 (1000 km of fibre).
    s01 = 2.0 * (1.0 - p_d) * half * (-np.expm1(-x / 2.0) + p_d * half)
    # e^{-x} I0(x) - (1-p_d) e^{-2x} = [i0e(x) - e^{-2x}] + p_d e^{-2x}; the bracket is
    # x - 5x^2/4 + ... and loses digits below x ~ 1e-4, where its series is used.
    small = x < 1e-4
    bracket = np.where(small, x - 1.25 * x**2 + (11.0 / 12.0) * x**3, i0e(x) - np.exp(-2.0 * x))
    s11 = 2.0 * (1.0 - p_d) * (bracket + p_d * np.exp(-2.0 * x))
    return s00, s01, s11


def tf_sns_wang2018(channel_transmittance, *, mu, sending_prob, detector_efficiency, dark_count_prob,
                    misalignment_error, ec_efficiency):
    """Sending-or-not-sending twin-field key per pulse pair (Wang, Yu, Hu 2018), asymptotic.

    In a Z (signal) window Alice and Bob each send, with probability
    :math:`\\epsilon`, a phase-randomised pulse of intensity :math:`\\mu`
    (Alice's bit 1, Bob's bit 0) and otherwise send nothing; an effective
    event is exactly one click at the untrusted station. A bit is right when
    exactly one party sent. X (decoy) windows, with phase post-selection,
    give the single-photon yield :math:`s_1` and its phase-flip error
    :math:`e_1^{ph}`, which with infinitely many decoys are their true
    values; in the asymptotic limit the X windows take a vanishing fraction
    of the pulses. The key (their Eq. (2)):

    .. math::

        R = 2\\epsilon(1-\\epsilon)\\mu e^{-\\mu} s_1 [1 - h(e_1^{ph})]
            - f S_Z h(E_Z),

    with :math:`S_Z = (1-\\epsilon)^2 S_{00} + 2\\epsilon(1-\\epsilon) S_{01}
    + \\epsilon^2 S_{11}` (:func:`sns_gains`),
    :math:`E_Z = [(1-\\epsilon)^2 S_{00} + \\epsilon^2 S_{11}] / S_Z`, and for
    the single photon of one arm (it clicks one detector when it arrives, a
    dark count of the other spoils the event):
    :math:`s_1 = (1-p_d)[\\eta + 2(1-\\eta)p_d]`,
    :math:`e_1^{ph} s_1 = (1-p_d)[\\eta e_d + (1-\\eta)p_d]`.

    The bit-flip error :math:`E_Z` does not involve the interference, so the
    protocol tolerates misalignment :math:`e_d` up to more than 45 %
    (Wang et al.'s central result); the price is the :math:`\\epsilon^2`
    both-sent errors, which cap :math:`\\epsilon`. No advantage distillation:
    :func:`tf_sns_aopp_xu2020` adds the actively odd-parity pairing (AOPP)
    with which Liu et al. (2023) reach 1,002 km.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the whole Alice-to-Bob fibre, detectors excluded, in
        [0, 1]; each half carries its square root. [-]
    mu : array_like
        Intensity :math:`\\mu` of a sent Z-window pulse, > 0. [-]
    sending_prob : array_like
        Sending probability :math:`\\epsilon` in a Z window, in (0, 1). [-]
    detector_efficiency : array_like
        Efficiency of the station's detectors, in (0, 1]. [-]
    dark_count_prob : array_like
        Dark-count probability per detector per window, in [0, 1). [-]
    misalignment_error : array_like
        Single-photon interference error :math:`e_d` of the X windows, in [0, 0.5]. [-]
    ec_efficiency : array_like
        Error-correction inefficiency :math:`f \\ge 1`. [-]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        :math:`R` per pulse pair, clipped at 0. [bit/pulse]

    References
    ----------
    X.-B. Wang, Z.-W. Yu, X.-L. Hu, "Twin-field quantum key distribution
    with large misalignment error", Phys. Rev. A 98, 062323 (2018).
    https://doi.org/10.1103/PhysRevA.98.062323

    Y. Liu et al., "Experimental twin-field quantum key distribution over
    1000 km fiber distance", Phys. Rev. Lett. 130, 210801 (2023).
    https://doi.org/10.1103/PhysRevLett.130.210801
    """
    eta, p_d, e_d, f = _sns_inputs(channel_transmittance, mu, sending_prob, detector_efficiency, dark_count_prob,
                                   misalignment_error, ec_efficiency)
    mu_ = np.asarray(mu, dtype=float)
    eps = np.asarray(sending_prob, dtype=float)
    s00, s01, s11 = sns_gains(eta, mu=mu_, dark_count_prob=p_d)
    wrong = (1.0 - eps) ** 2 * s00 + eps**2 * s11
    s_z = wrong + 2.0 * eps * (1.0 - eps) * s01
    s1, e1 = _sns_single_photon(eta, p_d, e_d)
    e_z = np.clip(_ratio(wrong, s_z), 0.0, 0.5)
    rate = 2.0 * eps * (1.0 - eps) * mu_ * np.exp(-mu_) * s1 * (1.0 - _h2(e1)) - f * s_z * _h2(e_z)
    return _out(np.asarray(np.maximum(rate, 0.0)))


def _sns_inputs(channel_transmittance, mu, sending_prob, detector_efficiency, dark_count_prob, misalignment_error,
                ec_efficiency):
    """Check the SNS arguments; return the arm transmittance eta (fibre half times detectors), p_d, e_d, f."""
    t = _checked(channel_transmittance, "channel_transmittance", lower=0.0, upper=1.0)
    _checked(mu, "mu", lower=0.0, lower_open=True)
    _checked(sending_prob, "sending_prob", lower=0.0, upper=1.0, lower_open=True, upper_open=True)
    eta_d = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    p_d = _checked(dark_count_prob, "dark_count_prob", lower=0.0, upper=1.0, upper_open=True)
    e_d = _checked(misalignment_error, "misalignment_error", lower=0.0, upper=0.5)
    f = _checked(ec_efficiency, "ec_efficiency", lower=1.0)
    return np.sqrt(t) * eta_d, p_d, e_d, f


def _sns_single_photon(eta, p_d, e_d):
    """Yield s_1 and phase-flip error e_1^ph of one arm's single photon, the other arm sending nothing.

    The photon clicks one detector when it arrives; a dark count of the other
    detector spoils the (exactly-one-click) event. Returns ``(s1, e1)``, e1
    clipped to [0, 0.5].
    """
    s1 = (1.0 - p_d) * (eta + 2.0 * (1.0 - eta) * p_d)
    e1 = _ratio((1.0 - p_d) * (eta * e_d + (1.0 - eta) * p_d), s1)
    return s1, np.clip(e1, 0.0, 0.5)


def _ratio(num, den):
    """num / den, and 1/2 (a random bit) where den is 0 (no event ever happens)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=float), np.asarray(den, dtype=float))
    out = np.full(num.shape, 0.5)
    np.divide(num, den, out=out, where=den > 0)
    return out


def sns_aopp_counts(arm_transmittance, *, mu, sending_prob, dark_count_prob):
    """Per-window bookkeeping of actively odd-parity pairing (AOPP) on the SNS raw key.

    Bob's bit says whether he sent (a Z window he "sent" in is one bit value,
    one he kept dark the other), so he knows which of his raw bits have which
    value. He pairs each bit of one value with a bit of the other at random
    and announces the pairs; Alice announces the parity of her two bits, and
    the pair survives if it is odd for her too (both bits right or both
    wrong); one bit of a surviving pair is kept (Xu, Yu, Jiang, Hu, Wang,
    PRA 101, 042330 (2020); Liu et al., PRL 130, 210801 (2023)). Per Z window,
    with :func:`sns_gains` and sending probability :math:`\\epsilon`:

    * Bob sent: :math:`n_s = \\epsilon(1-\\epsilon)S_{01} + \\epsilon^2 S_{11}`,
      wrong when Alice sent too, :math:`e_s = \\epsilon^2 S_{11}/n_s`;
    * Bob dark: :math:`n_0 = \\epsilon(1-\\epsilon)S_{01} + (1-\\epsilon)^2 S_{00}`,
      wrong when Alice was dark too, :math:`e_0 = (1-\\epsilon)^2 S_{00}/n_0`;
    * pairs :math:`n_g = \\min(n_s, n_0)` (each needs one bit of each value);
    * a pair survives with :math:`p = (1-e_s)(1-e_0) + e_s e_0`, so
      :math:`n_t' = n_g\\,p` bits remain, with bit-flip error
      :math:`E' = e_s e_0 / p`;
    * untagged bits (exactly one party sent, a single photon) make
      :math:`u = \\epsilon(1-\\epsilon)\\mu e^{-\\mu}s_1` of each value and are
      never wrong; a pair of two untagged bits (drawn at random from each
      value) always survives: :math:`n_1' = n_g (u/n_s)(u/n_0)`.

    Parameters
    ----------
    arm_transmittance : array_like
        One arm's fibre transmittance times the detector efficiency, in [0, 1]. [-]
    mu : array_like
        Intensity of a sent pulse, > 0. [-]
    sending_prob : array_like
        Sending probability :math:`\\epsilon`, in (0, 1). [-]
    dark_count_prob : array_like
        Dark-count probability per detector per window, in [0, 1). [-]

    Returns
    -------
    pairs, survivors, survivor_error, untagged_pairs, raw_bits, raw_error : numpy.ndarray
        :math:`n_g`, :math:`n_t'`, :math:`E'`, :math:`n_1'` (per window [-]),
        and for comparison the raw key before pairing, :math:`S_Z = n_s + n_0`
        and its bit error :math:`E_Z`.

    References
    ----------
    H. Xu, Z.-W. Yu, C. Jiang, X.-L. Hu, X.-B. Wang, "Sending-or-not-sending
    twin-field quantum key distribution: Breaking the direct transmission key
    rate", Phys. Rev. A 101, 042330 (2020), https://doi.org/10.1103/PhysRevA.101.042330
    (arXiv:1904.06331). The expressions above are derived here from the
    protocol as the paper's abstract and Liu et al. (2023) describe it; the
    paper's own equations could not be read for this module.
    """
    eta = np.asarray(arm_transmittance, dtype=float)
    mu_ = np.asarray(mu, dtype=float)
    eps = np.asarray(sending_prob, dtype=float)
    p_d = np.asarray(dark_count_prob, dtype=float)
    s00, s01, s11 = sns_gains(eta, mu=mu_, dark_count_prob=p_d)
    right = eps * (1.0 - eps) * s01
    wrong_sent, wrong_dark = eps**2 * s11, (1.0 - eps) ** 2 * s00
    n_sent, n_dark = right + wrong_sent, right + wrong_dark
    e_sent, e_dark = _ratio(wrong_sent, n_sent), _ratio(wrong_dark, n_dark)
    pairs = np.minimum(n_sent, n_dark)
    keep = (1.0 - e_sent) * (1.0 - e_dark) + e_sent * e_dark
    s1, _ = _sns_single_photon(eta, p_d, 0.0)
    untagged = eps * (1.0 - eps) * mu_ * np.exp(-mu_) * s1
    untagged_pairs = pairs * _ratio(untagged, n_sent) * _ratio(untagged, n_dark)
    raw = n_sent + n_dark
    return (pairs, pairs * keep, _ratio(e_sent * e_dark, keep), untagged_pairs, raw,
            _ratio(wrong_sent + wrong_dark, raw))


def tf_sns_aopp_xu2020(channel_transmittance, *, mu, sending_prob, detector_efficiency, dark_count_prob,
                       misalignment_error, ec_efficiency):
    """Sending-or-not-sending twin-field key per pulse pair with AOPP (Xu et al. 2020), asymptotic.

    The raw key of :func:`tf_sns_wang2018` goes through actively odd-parity
    pairing before error correction (:func:`sns_aopp_counts`): pairs whose
    parities disagree are dropped, which removes most of the both-sent and
    dark-count bit errors that cap plain SNS at long distance, at the price
    of half the bits. A surviving untagged bit's phase flip is the parity of
    its pair's two phase flips (the bit-parity check of two-way entanglement
    purification passes phase errors back to the kept qubit), so

    .. math::

        R = n_1' \\left[1 - h(e_1'^{ph})\\right] - f\\,n_t' h(E'),
        \\qquad e_1'^{ph} = 2e_1^{ph}(1 - e_1^{ph}),

    with :math:`e_1^{ph}` the single-photon phase-flip error of plain SNS
    (known exactly with infinitely many decoys) and :math:`n_1'`,
    :math:`n_t'`, :math:`E'` per window as in :func:`sns_aopp_counts`.
    Tagged survivors carry no key. In the asymptotic limit the X (decoy)
    windows take a vanishing fraction of the pulses.

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the whole Alice-to-Bob fibre, detectors excluded, in
        [0, 1]; each half carries its square root. [-]
    mu : array_like
        Intensity :math:`\\mu` of a sent Z-window pulse, > 0. [-]
    sending_prob : array_like
        Sending probability :math:`\\epsilon` in a Z window, in (0, 1). [-]
    detector_efficiency : array_like
        Efficiency of the station's detectors, in (0, 1]. [-]
    dark_count_prob : array_like
        Dark-count probability per detector per window, in [0, 1). [-]
    misalignment_error : array_like
        Single-photon interference error :math:`e_d` of the X windows, in [0, 0.5]. [-]
    ec_efficiency : array_like
        Error-correction inefficiency :math:`f \\ge 1`. [-]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        :math:`R` per pulse pair sent, clipped at 0. [bit/pulse]

    References
    ----------
    H. Xu, Z.-W. Yu, C. Jiang, X.-L. Hu, X.-B. Wang, Phys. Rev. A 101, 042330
    (2020), https://doi.org/10.1103/PhysRevA.101.042330 (arXiv:1904.06331).

    Y. Liu et al., "Experimental twin-field quantum key distribution over
    1000 km fiber distance", Phys. Rev. Lett. 130, 210801 (2023), SNS with
    AOPP: 9.53e-12 bit per pulse at 1,002 km, asymptotic.
    https://doi.org/10.1103/PhysRevLett.130.210801
    """
    eta, p_d, e_d, f = _sns_inputs(channel_transmittance, mu, sending_prob, detector_efficiency, dark_count_prob,
                                   misalignment_error, ec_efficiency)
    _, survivors, e_bit, untagged_pairs, _, _ = sns_aopp_counts(eta, mu=mu, sending_prob=sending_prob,
                                                                dark_count_prob=p_d)
    _, e1 = _sns_single_photon(eta, p_d, e_d)
    e1_after = 2.0 * e1 * (1.0 - e1)
    rate = untagged_pairs * (1.0 - _h2(e1_after)) - f * survivors * _h2(np.clip(e_bit, 0.0, 0.5))
    return _out(np.asarray(np.maximum(rate, 0.0)))
