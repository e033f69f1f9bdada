"""Spontaneous Raman noise from classical WDM channels sharing a QKD fibre.

A classical channel of launch power :math:`P_{in}` at wavelength
:math:`\\lambda_p` scatters photons into the quantum channel at
:math:`\\lambda_q` all along the fibre. What reaches Bob's filter of
bandwidth :math:`\\Delta\\lambda` is (Eraerds et al. 2010, Eqs. 1-2; the same
expressions in Patel et al. 2012):

* co-propagating (launched at Alice's end, travelling with the quantum
  signal; forward scattering):
  :math:`P_f = P_{in} e^{-\\alpha L} \\beta L \\Delta\\lambda`;
* counter-propagating (launched at Bob's end; backward scattering):
  :math:`P_b = P_{in} \\beta \\frac{1 - e^{-2\\alpha L}}{2\\alpha} \\Delta\\lambda`,

with :math:`\\alpha` the fibre attenuation in 1/km (the same at both
wavelengths) and :math:`\\beta` the effective Raman coefficient
[1/(km nm)]. The noise probability per detection gate is
:math:`P \\lambda_q/(hc) \\cdot \\eta_{det} \\cdot t_{gate}`; it adds to the
dark-count probability :math:`Y_0` of the key-rate formulas (each Raman
click is a random bit).

The Raman coefficient
----------------------
:func:`raman_coefficient_per_km_nm` models :math:`\\beta` from the Raman gain
of silica and the thermal occupation of the phonon mode (the spontaneous-
stimulated relation of Raman scattering; e.g. Agrawal, *Nonlinear Fiber
Optics*, Ch. 8):

.. math::

    \\beta(\\Delta\\nu) = \\frac{g_R(|\\Delta\\nu|)}{A_{eff}}\\, h\\nu_q
        \\left[n_{th}(|\\Delta\\nu|) + \\tfrac{1}{2} \\pm \\tfrac{1}{2}\\right]
        \\frac{c}{\\lambda_q^2},
    \\qquad n_{th} = \\frac{1}{e^{h|\\Delta\\nu|/k_BT} - 1},

with :math:`+` on the Stokes side (:math:`\\lambda_q > \\lambda_p`) and
:math:`-` on the anti-Stokes side. The gain spectrum is the co-polarised
fused-silica spectrum of Stolen & Ippen (1973) digitised coarsely
(:data:`SILICA_RAMAN_GAIN_SHAPE`) and scaled to a peak
:math:`g_R/A_{eff}` of :data:`PEAK_RAMAN_GAIN_PER_W_KM` for standard
single-mode fibre at 1550 nm. This is a model, not a measurement: in the
C band, a few nm from the pump, it gives :math:`\\beta` of a few
1e-9 /(km nm); from a 1550 nm pump into 1310 nm (anti-Stokes, 35 THz) a
few 1e-12; from 1310 nm data into a 1550 nm quantum channel (Stokes,
35 THz) about 2.6e-10. The formula has no polarisation factor:
spontaneous scattering fills both polarisation modes, with gains :math:`g_\\parallel` and
:math:`g_\\perp` summing to twice the polarisation-averaged gain a long-fibre
measurement gives, so :data:`PEAK_RAMAN_GAIN_PER_W_KM` stands for
:math:`(g_\\parallel + g_\\perp)/A_{eff}`; read as a measured average gain it
would be off by a factor of two. This convention, like the value, is what a measured
:math:`\\beta` would settle.

No measured coefficient is built in. Measured values exist (Eraerds 2010,
Patel 2012, Chapuran et al. 2009, da Silva et al. 2014, Kumar et al. 2015,
Fröhlich et al. 2015, Wang et al. 2017, Dynes et al. 2016, Eriksson et al.
2019) but every stored copy that could be searched for this module (ar5iv and
arXiv HTML, publisher and repository pages, document-sharing transcripts)
held only the paper's opening (title, abstract, first paragraphs of the
introduction); the figures, tables and text that carry the measured
coefficients and noise count rates could not be read, so none of their
numbers enters the default and none is quoted here. Second-hand values in
third-party code were not taken either: they cannot be checked against the
paper's figure. The orders of magnitude above are the model's own. Give
``raman_coefficient_per_km_nm`` explicitly (scenario field
``coexistence.channels[].raman_coefficient_per_km_nm``) where a measured
value for the fibre and wavelength pair exists; every link row says which
source its coefficient came from (:func:`effective_raman_coefficient`,
``links.raman_coefficient_source``).

References
----------
P. Eraerds, N. Walenta, M. Legré, N. Gisin, H. Zbinden, "Quantum key
distribution and 1 Gbps secure encryption over a single fibre", New J.
Phys. 12, 063027 (2010). https://doi.org/10.1088/1367-2630/12/6/063027

K. A. Patel et al., "Coexistence of high-bit-rate quantum key distribution
and data on optical fiber", Phys. Rev. X 2, 041010 (2012).
https://doi.org/10.1103/PhysRevX.2.041010

R. H. Stolen, E. P. Ippen, "Raman gain in glass optical waveguides", Appl.
Phys. Lett. 22, 276 (1973). https://doi.org/10.1063/1.1654637

L. A. Zischler et al., "Spontaneous Raman scattering in SDM fibers",
arXiv:2602.18280 (2026): the same route from Raman gain efficiency to
spontaneous-Raman noise, Stokes and anti-Stokes, validated on field fibre.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.constants import Boltzmann, Planck, speed_of_light

from qnetemu.physics.fibre import _checked, _out

__all__ = [
    "PEAK_RAMAN_GAIN_PER_W_KM",
    "SILICA_RAMAN_GAIN_SHAPE",
    "RamanCoefficient",
    "effective_raman_coefficient",
    "raman_coefficient_per_km_nm",
    "raman_noise_power_w",
    "raman_noise_prob_per_gate",
]

#: Peak Raman gain efficiency g_R/A_eff of standard single-mode fibre (SMF-28,
#: A_eff ~ 80 um^2) at 1550 nm, at the 13.2 THz peak [1/(W km)]. Values of
#: 0.4-0.7 1/(W km) are usual for SMF; 0.6 here, taken as both polarisation modes
#: together (module docstring). Model parameter, not a measurement.
PEAK_RAMAN_GAIN_PER_W_KM = 0.6

#: Normalised co-polarised Raman gain of fused silica against detuning [THz]:
#: (detuning_THz, gain / peak), a coarse digitisation of Stolen & Ippen, Appl.
#: Phys. Lett. 22, 276 (1973) (as reproduced in Agrawal, Nonlinear Fiber
#: Optics, Fig. 8.1): linear rise to the 13.2 THz peak, the 14.5 THz
#: shoulder, the 18 and 25 THz bumps, nothing beyond 40 THz.
SILICA_RAMAN_GAIN_SHAPE = np.array([
    (0.0, 0.0), (1.0, 0.06), (3.0, 0.21), (5.0, 0.37), (7.0, 0.50), (9.0, 0.63), (11.0, 0.80),
    (13.2, 1.0), (14.5, 0.93), (15.5, 0.55), (16.5, 0.38), (17.5, 0.35), (18.5, 0.37), (20.0, 0.30),
    (22.0, 0.20), (24.0, 0.20), (25.0, 0.22), (27.0, 0.12), (30.0, 0.05), (33.0, 0.04), (35.0, 0.03),
    (40.0, 0.0),
])

_NM_PER_M = 1e9


def raman_coefficient_per_km_nm(pump_wavelength_m, quantum_wavelength_m, *, temperature_k=300.0):
    """Effective spontaneous Raman coefficient beta of standard fibre (model).

    Parameters
    ----------
    pump_wavelength_m : array_like
        Wavelength of the classical channel, in (1e-6, 2e-6). [m]
    quantum_wavelength_m : array_like
        Wavelength of the quantum channel, in (1e-6, 2e-6). [m]
    temperature_k : array_like, optional
        Fibre temperature, > 0. [K]

    Returns
    -------
    beta_per_km_nm : numpy.ndarray or numpy.float64
        Scattered power into the quantum channel per unit launch power, per
        km of fibre and per nm of filter bandwidth. [1/(km nm)]

    Notes
    -----
    See the module docstring for the formula. The ratio of the anti-Stokes
    to the Stokes coefficient at the same detuning is
    :math:`e^{-h|\\Delta\\nu|/k_BT}` (times the small ratio of photon
    energies and :math:`c/\\lambda^2` factors).
    """
    lp = _checked(pump_wavelength_m, "pump_wavelength_m", lower=1e-6, upper=2e-6)
    lq = _checked(quantum_wavelength_m, "quantum_wavelength_m", lower=1e-6, upper=2e-6)
    temp = _checked(temperature_k, "temperature_k", lower=0.0, lower_open=True)
    nu_p = speed_of_light / lp
    nu_q = speed_of_light / lq
    detuning_hz = np.abs(nu_p - nu_q)
    shape = np.interp(detuning_hz / 1e12, SILICA_RAMAN_GAIN_SHAPE[:, 0], SILICA_RAMAN_GAIN_SHAPE[:, 1],
                      right=0.0)
    gain_per_w_km = PEAK_RAMAN_GAIN_PER_W_KM * shape
    with np.errstate(divide="ignore", over="ignore"):
        n_th = 1.0 / np.expm1(Planck * detuning_hz / (Boltzmann * temp))
    occupation = np.where(nu_q < nu_p, n_th + 1.0, n_th)  # Stokes: n + 1; anti-Stokes: n
    occupation = np.where(detuning_hz > 0, occupation, 0.0)
    # W/(W km Hz) -> per nm at the quantum wavelength: dnu = c dlambda / lambda^2.
    per_hz = gain_per_w_km * Planck * nu_q * occupation
    return _out(np.asarray(per_hz * speed_of_light / lq**2 / _NM_PER_M))


#: Where an effective Raman coefficient came from: the silica-gain model of this
#: module, or a (measured) value the scenario gives for the channel group.
RamanCoefficientSource = Literal["silica_model", "scenario"]


@dataclass(frozen=True)
class RamanCoefficient:
    """An effective Raman coefficient and where it came from.

    Attributes
    ----------
    beta_per_km_nm : float
        Effective Raman coefficient into the quantum channel. [1/(km nm)]
    source : {"silica_model", "scenario"}
        ``silica_model``: :func:`raman_coefficient_per_km_nm` from the two
        wavelengths; ``scenario``: the value the scenario gives.
    """

    beta_per_km_nm: float
    source: RamanCoefficientSource


def effective_raman_coefficient(pump_wavelength_m: float, quantum_wavelength_m: float,
                                given_per_km_nm: float | None = None) -> RamanCoefficient:
    """The coefficient a classical channel group scatters with, and its source.

    Parameters
    ----------
    pump_wavelength_m : float
        Wavelength of the classical channel, in (1e-6, 2e-6). [m]
    quantum_wavelength_m : float
        Wavelength of the quantum channel, in (1e-6, 2e-6). [m]
    given_per_km_nm : float or None, optional
        A coefficient the scenario gives (a measured value for its fibre and
        wavelength pair), >= 0; None to model it. [1/(km nm)]

    Returns
    -------
    RamanCoefficient
        The given value (source ``scenario``), else the silica model's
        (source ``silica_model``). No measured table is consulted: none is
        built in (see the module docstring).
    """
    if given_per_km_nm is not None:
        beta = float(_checked(given_per_km_nm, "raman_coefficient_per_km_nm", lower=0.0))
        return RamanCoefficient(beta_per_km_nm=beta, source="scenario")
    beta = float(raman_coefficient_per_km_nm(pump_wavelength_m, quantum_wavelength_m))
    return RamanCoefficient(beta_per_km_nm=beta, source="silica_model")


def raman_noise_power_w(launch_power_w, length_km, *, attenuation_db_per_km, raman_coefficient_per_km_nm,
                        filter_bandwidth_nm, counter_propagating):
    """Raman power reaching the quantum receiver through its filter (Eraerds et al. 2010, Eqs. 1-2).

    Parameters
    ----------
    launch_power_w : array_like
        Launch power of the classical channel, >= 0. [W]
    length_km : array_like
        Fibre length, >= 0. [km]
    attenuation_db_per_km : array_like
        Fibre attenuation (taken equal at both wavelengths), > 0. [dB/km]
    raman_coefficient_per_km_nm : array_like
        Effective Raman coefficient beta, >= 0. [1/(km nm)]
    filter_bandwidth_nm : array_like
        Bandwidth of the quantum receiver's filter, > 0. [nm]
    counter_propagating : array_like of bool
        True for a channel launched at the receiver's end (backward
        scattering), False for one travelling with the quantum signal
        (forward scattering).

    Returns
    -------
    power_w : numpy.ndarray or numpy.float64
        :math:`P_{in} e^{-\\alpha L}\\beta L\\Delta\\lambda` (forward) or
        :math:`P_{in}\\beta\\Delta\\lambda (1 - e^{-2\\alpha L})/(2\\alpha)`
        (backward). [W]

    Notes
    -----
    Forward noise peaks at :math:`L = 1/\\alpha` (21.7 km at 0.2 dB/km) and
    then falls with the signal; backward noise grows to the saturation value
    :math:`P_{in}\\beta\\Delta\\lambda/(2\\alpha)` and stays, which is why it
    shortens the reach most.

    References
    ----------
    Eraerds et al., New J. Phys. 12, 063027 (2010), Eqs. (1) and (2).
    https://doi.org/10.1088/1367-2630/12/6/063027
    """
    p_in = _checked(launch_power_w, "launch_power_w", lower=0.0)
    length = _checked(length_km, "length_km", lower=0.0)
    alpha_db = _checked(attenuation_db_per_km, "attenuation_db_per_km", lower=0.0, lower_open=True)
    beta = _checked(raman_coefficient_per_km_nm, "raman_coefficient_per_km_nm", lower=0.0)
    band = _checked(filter_bandwidth_nm, "filter_bandwidth_nm", lower=0.0, lower_open=True)
    backward = np.asarray(counter_propagating, dtype=bool)
    alpha = alpha_db * np.log(10.0) / 10.0  # 1/km
    forward_w = p_in * np.exp(-alpha * length) * beta * length * band
    backward_w = p_in * beta * band * -np.expm1(-2.0 * alpha * length) / (2.0 * alpha)
    return _out(np.asarray(np.where(backward, backward_w, forward_w)))


def raman_noise_prob_per_gate(noise_power_w, *, quantum_wavelength_m, detector_efficiency, gate_width_s):
    """Probability of a Raman click in one detection gate.

    Parameters
    ----------
    noise_power_w : array_like
        Raman power at the receiver's filter output, >= 0. [W]
    quantum_wavelength_m : array_like
        Wavelength of the quantum channel. [m]
    detector_efficiency : array_like
        Receiver detection efficiency (optics included), in (0, 1]. [-]
    gate_width_s : array_like
        Effective detection gate (or time filter) per pulse, > 0. [s]

    Returns
    -------
    prob : numpy.ndarray or numpy.float64
        :math:`1 - \\exp(-P\\lambda_q t_{gate}\\eta_{det}/(hc))`: Poisson
        photon arrivals, at most one click per gate. [-]
    """
    power = _checked(noise_power_w, "noise_power_w", lower=0.0)
    lq = _checked(quantum_wavelength_m, "quantum_wavelength_m", lower=1e-7, upper=1e-5)
    eta = _checked(detector_efficiency, "detector_efficiency", lower=0.0, lower_open=True, upper=1.0)
    gate = _checked(gate_width_s, "gate_width_s", lower=0.0, lower_open=True)
    photons = power * lq / (Planck * speed_of_light) * gate * eta
    return _out(np.asarray(-np.expm1(-photons)))
