"""Twin-field QKD: phase-matching (PM-QKD) key rate, asymptotic, infinite decoys.

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

Limits: asymptotic (no finite-size terms), symmetric arms, phase
stabilisation perfect up to what :math:`e_d` absorbs. The middle station is
untrusted: it learns nothing of the key.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr

from qnetemu.physics.fibre import _checked, _out

__all__ = ["tf_pm_ma2018"]

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
