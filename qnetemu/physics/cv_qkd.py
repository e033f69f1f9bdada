"""Continuous-variable QKD: GG02 Gaussian-modulated coherent states, reverse reconciliation.

Alice sends coherent states with Gaussian modulation of variance
:math:`V_A` (shot-noise units); Bob measures one quadrature by homodyne
detection (efficiency :math:`\\eta`, electronic noise :math:`v_{el}`, both
trusted); the channel has transmittance :math:`T` and excess noise
:math:`\\xi` referred to its input. With reverse reconciliation of
efficiency :math:`\\beta`, the asymptotic key per symbol against collective
(Gaussian-optimal) attacks is :math:`K = \\beta I_{AB} - \\chi_{BE}`
(Lodewyck et al., Phys. Rev. A 76, 042305 (2007), Sec. II; Jouguet et al.,
Nat. Photonics 7, 378 (2013)):

* :math:`V = V_A + 1`, :math:`\\chi_{line} = 1/T - 1 + \\xi`,
  :math:`\\chi_{hom} = (1-\\eta)/\\eta + v_{el}/\\eta`,
  :math:`\\chi_{tot} = \\chi_{line} + \\chi_{hom}/T`;
* :math:`I_{AB} = \\tfrac12\\log_2\\frac{V + \\chi_{tot}}{1 + \\chi_{tot}}`;
* :math:`\\chi_{BE} = G(\\tfrac{\\lambda_1-1}{2}) + G(\\tfrac{\\lambda_2-1}{2})
  - G(\\tfrac{\\lambda_3-1}{2}) - G(\\tfrac{\\lambda_4-1}{2})`,
  :math:`G(x) = (x+1)\\log_2(x+1) - x\\log_2 x`, with
  :math:`\\lambda_{1,2}^2 = \\tfrac12[A \\pm \\sqrt{A^2-4B}]`,
  :math:`A = V^2(1-2T) + 2T + T^2(V+\\chi_{line})^2`,
  :math:`B = T^2(V\\chi_{line}+1)^2`,
  :math:`\\lambda_{3,4}^2 = \\tfrac12[C \\pm \\sqrt{C^2-4D}]`,
  :math:`C = \\frac{V\\sqrt{B} + T(V+\\chi_{line}) + A\\chi_{hom}}{T(V+\\chi_{tot})}`,
  :math:`D = \\sqrt{B}\\frac{V + \\sqrt{B}\\chi_{hom}}{T(V+\\chi_{tot})}`.

Limits: asymptotic, Gaussian collective attacks, trusted detector noise;
the excess noise is a fixed input (it grows in practice with distance and
with classical channels on the fibre).
"""

from __future__ import annotations

import numpy as np

from qnetemu.physics.fibre import _checked, _out

__all__ = ["cv_gg02_rr_lodewyck2007"]


def _g(x):
    """G(x) = (x+1) log2(x+1) - x log2 x, G(0) = 0 (von Neumann entropy of a thermal state)."""
    x = np.maximum(x, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, (x + 1) * np.log2(x + 1) - x * np.log2(np.where(x > 0, x, 1.0)), 0.0)


def cv_gg02_rr_lodewyck2007(channel_transmittance, *, modulation_variance, excess_noise, detector_efficiency,
                            electronic_noise, reconciliation_efficiency):
    """GG02 reverse-reconciliation key per symbol with homodyne detection (Lodewyck et al. 2007).

    Parameters
    ----------
    channel_transmittance : array_like
        Channel transmittance :math:`T`, in (0, 1]. [-]
    modulation_variance : array_like
        Alice's modulation variance :math:`V_A`, > 0. [shot-noise units]
    excess_noise : array_like
        Excess noise :math:`\\xi` referred to the channel input, >= 0. [shot-noise units]
    detector_efficiency : array_like
        Homodyne detection efficiency :math:`\\eta`, in (0, 1]. [-]
    electronic_noise : array_like
        Electronic noise :math:`v_{el}`, >= 0. [shot-noise units]
    reconciliation_efficiency : array_like
        :math:`\\beta`, in (0, 1]. [-]

    Returns
    -------
    key_bits_per_symbol : numpy.ndarray or numpy.float64
        :math:`K = \\beta I_{AB} - \\chi_{BE}`, clipped at 0. [bit/symbol]

    References
    ----------
    J. Lodewyck et al., "Quantum key distribution over 25 km with an
    all-fiber continuous-variable system", Phys. Rev. A 76, 042305 (2007),
    https://doi.org/10.1103/PhysRevA.76.042305; P. Jouguet et al.,
    "Experimental demonstration of long-distance continuous-variable quantum
    key distribution", Nat. Photonics 7, 378 (2013),
    https://doi.org/10.1038/nphoton.2013.63.
    """
    t = _checked(channel_transmittance, "channel_transmittance", lower=0.0, lower_open=True, upper=1.0)
    v_a = _checked(modulation_variance, "modulation_variance", lower=0.0, lower_open=True)
    xi = _checked(excess_noise, "excess_noise", lower=0.0)
    eta = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    v_el = _checked(electronic_noise, "electronic_noise", lower=0.0)
    beta = _checked(reconciliation_efficiency, "reconciliation_efficiency", lower=0.0, lower_open=True, upper=1.0)
    v = v_a + 1.0
    chi_line = 1.0 / t - 1.0 + xi
    chi_hom = (1.0 - eta) / eta + v_el / eta
    chi_tot = chi_line + chi_hom / t
    i_ab = 0.5 * np.log2((v + chi_tot) / (1.0 + chi_tot))
    a = v**2 * (1 - 2 * t) + 2 * t + t**2 * (v + chi_line) ** 2
    b = t**2 * (v * chi_line + 1) ** 2
    disc = np.sqrt(np.maximum(a**2 - 4 * b, 0.0))
    l1 = np.sqrt(np.maximum((a + disc) / 2, 0.0))
    l2 = np.sqrt(np.maximum((a - disc) / 2, 0.0))
    c = (v * np.sqrt(b) + t * (v + chi_line) + a * chi_hom) / (t * (v + chi_tot))
    d = np.sqrt(b) * (v + np.sqrt(b) * chi_hom) / (t * (v + chi_tot))
    disc2 = np.sqrt(np.maximum(c**2 - 4 * d, 0.0))
    l3 = np.sqrt(np.maximum((c + disc2) / 2, 0.0))
    l4 = np.sqrt(np.maximum((c - disc2) / 2, 0.0))
    chi_be = _g((l1 - 1) / 2) + _g((l2 - 1) / 2) - _g((l3 - 1) / 2) - _g((l4 - 1) / 2)
    return _out(np.asarray(np.maximum(beta * i_ab - chi_be, 0.0)))
