"""Measurement-device-independent QKD (decoy BB84 MDI), asymptotic, infinite decoys.

Alice and Bob each send polarisation-encoded phase-randomised weak coherent
pulses (intensities :math:`\\mu` and :math:`\\sigma`) to an untrusted relay
in the middle, which makes a Bell-state measurement and announces the
result; no detector attack can learn the key (Lo, Curty, Qi, Phys. Rev.
Lett. 108, 130503 (2012)). Key from the Z basis, phase error from single
photons in the X basis:

.. math::

    R = Q_{11}^Z [1 - h(e_{11}^X)] - f\\, Q^Z_{\\mu\\sigma} h(E^Z_{\\mu\\sigma})

(Lo, Curty, Qi 2012, Eq. 1), with the closed forms of Ma and Razavi, Phys.
Rev. A 86, 062319 (2012) and Xu, Curty, Qi, Lo, New J. Phys. 15, 113007
(2013), Appendix B, for arm transmittances :math:`\\eta_a, \\eta_b` (fibre
half times detector efficiency), dark count :math:`p_d` per detector and
misalignment :math:`e_d`:

* :math:`Y_{11} = (1-p_d)^2[\\eta_a\\eta_b/2 + (2\\eta_a + 2\\eta_b - 3\\eta_a\\eta_b)p_d
  + 4(1-\\eta_a)(1-\\eta_b)p_d^2]`, :math:`Q_{11} = \\mu\\sigma e^{-\\mu-\\sigma} Y_{11}`;
* :math:`e_{11}^X Y_{11} = Y_{11}/2 - (1/2 - e_d)(1-p_d)^2 \\eta_a\\eta_b/2`;
* :math:`Q^Z = Q_C + Q_E`, :math:`E^Z Q^Z = e_d Q_C + (1-e_d) Q_E`, with
  :math:`Q_C = 2(1-p_d)^2 e^{-\\mu'/2}[1-(1-p_d)e^{-\\eta_a\\mu/2}][1-(1-p_d)e^{-\\eta_b\\sigma/2}]`,
  :math:`Q_E = 2p_d(1-p_d)^2 e^{-\\mu'/2}[I_0(2x) - (1-p_d)e^{-\\mu'/2}]`,
  :math:`\\mu' = \\eta_a\\mu + \\eta_b\\sigma`, :math:`x = \\sqrt{\\eta_a\\mu\\eta_b\\sigma}/2`.

The rate falls as :math:`\\eta` of the whole channel (two photons must
meet), so MDI moves the trusted node out of the middle but does not beat
the repeaterless bound.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr, i0e

from qnetemu.physics.fibre import _checked, _out

__all__ = ["mdi_decoy_xu2013"]

_LN2 = np.log(2.0)


def _h2(p):
    return (entr(p) + entr(1.0 - p)) / _LN2


def mdi_decoy_xu2013(channel_transmittance, *, mu, detector_efficiency, dark_count_prob, misalignment_error,
                     ec_efficiency):
    """MDI-QKD key per pulse pair with infinitely many decoys, symmetric arms (Xu et al. 2013).

    Parameters
    ----------
    channel_transmittance : array_like
        Transmittance of the whole Alice-to-Bob fibre, detectors excluded, in
        [0, 1]; the relay sits in the middle, each arm carries its square root. [-]
    mu : array_like
        Signal intensity of each sender (:math:`\\mu = \\sigma`), > 0. [-]
    detector_efficiency : array_like
        Efficiency of the relay's detectors, in (0, 1]. [-]
    dark_count_prob : array_like
        Dark-count probability per detector per pulse, in [0, 1). [-]
    misalignment_error : array_like
        Misalignment error :math:`e_d`, in [0, 0.5]. [-]
    ec_efficiency : array_like
        Error-correction inefficiency :math:`f \\ge 1`. [-]

    Returns
    -------
    key_bits_per_pulse : numpy.ndarray or numpy.float64
        :math:`R`, clipped at 0 (basis sifting left out, as in the
        references: efficient Z-basis key). [bit/pulse]

    References
    ----------
    H.-K. Lo, M. Curty, B. Qi, Phys. Rev. Lett. 108, 130503 (2012),
    https://doi.org/10.1103/PhysRevLett.108.130503; X. Ma, M. Razavi, Phys.
    Rev. A 86, 062319 (2012), https://doi.org/10.1103/PhysRevA.86.062319;
    F. Xu, M. Curty, B. Qi, H.-K. Lo, New J. Phys. 15, 113007 (2013),
    https://doi.org/10.1088/1367-2630/15/11/113007.
    """
    t = _checked(channel_transmittance, "channel_transmittance", lower=0.0, upper=1.0)
    mu_ = _checked(mu, "mu", lower=0.0, lower_open=True)
    eta_d = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    p_d = _checked(dark_count_prob, "dark_count_prob", lower=0.0, upper=1.0, upper_open=True)
    e_d = _checked(misalignment_error, "misalignment_error", lower=0.0, upper=0.5)
    f = _checked(ec_efficiency, "ec_efficiency", lower=1.0)
    eta_a = eta_b = np.sqrt(t) * eta_d
    sigma = mu_
    nd2 = (1.0 - p_d) ** 2
    y11 = nd2 * (eta_a * eta_b / 2 + (2 * eta_a + 2 * eta_b - 3 * eta_a * eta_b) * p_d
                 + 4 * (1 - eta_a) * (1 - eta_b) * p_d**2)
    q11 = mu_ * sigma * np.exp(-mu_ - sigma) * y11
    with np.errstate(invalid="ignore", divide="ignore"):
        e11 = np.where(y11 > 0, (y11 / 2 - (0.5 - e_d) * nd2 * eta_a * eta_b / 2) / np.where(y11 > 0, y11, 1.0),
                       0.5)
    mu_p = eta_a * mu_ + eta_b * sigma
    x = np.sqrt(eta_a * mu_ * eta_b * sigma) / 2
    q_c = 2 * nd2 * np.exp(-mu_p / 2) * (1 - (1 - p_d) * np.exp(-eta_a * mu_ / 2)) * (
        1 - (1 - p_d) * np.exp(-eta_b * sigma / 2))
    # I0(2x) e^{-mu'/2} = i0e(2x) e^{2x - mu'/2}: i0e keeps it finite for large arguments.
    q_e = 2 * p_d * nd2 * np.exp(-mu_p / 2) * (i0e(2 * x) * np.exp(2 * x) - (1 - p_d) * np.exp(-mu_p / 2))
    gain = q_c + q_e
    with np.errstate(invalid="ignore", divide="ignore"):
        e_z = np.where(gain > 0, (e_d * q_c + (1 - e_d) * q_e) / np.where(gain > 0, gain, 1.0), 0.5)
    rate = q11 * (1 - _h2(np.clip(e11, 0, 0.5))) - f * gain * _h2(np.clip(e_z, 0, 0.5))
    return _out(np.asarray(np.maximum(rate, 0.0)))
