"""Tests of the Raman noise model (Eraerds et al., NJP 12, 063027 (2010), Eqs. 1-2).

Closed forms: forward noise P e^{-aL} b L dl peaks at L = 1/a with value
P b dl/(a e); backward noise P b dl (1 - e^{-2aL})/(2a) grows to P b dl/(2a);
both are P b dl L to first order in L. The thermal (Bose-Einstein) factor makes
anti-Stokes over Stokes at equal detuning exactly n/(n+1) = e^{-h dnu / kT}
(times the photon-energy and c/lambda^2 factors).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.constants import Boltzmann, Planck, speed_of_light

from qnetemu.physics.raman import (
    RamanCoefficient,
    effective_raman_coefficient,
    raman_coefficient_per_km_nm,
    raman_noise_power_w,
    raman_noise_prob_per_gate,
)

ALPHA_DB = 0.2
ALPHA = ALPHA_DB * np.log(10) / 10
BETA = 3e-9
P_IN = 1e-3
BAND = 0.8


def _power(length_km, counter):
    return raman_noise_power_w(P_IN, length_km, attenuation_db_per_km=ALPHA_DB, raman_coefficient_per_km_nm=BETA,
                               filter_bandwidth_nm=BAND, counter_propagating=counter)


def test_forward_peaks_at_one_over_alpha():
    lengths = np.linspace(1, 100, 9901)
    forward = _power(lengths, False)
    assert_allclose(lengths[np.argmax(forward)], 1 / ALPHA, atol=0.01)
    assert_allclose(forward.max(), P_IN * BETA * BAND / (ALPHA * np.e), rtol=1e-6)


def test_backward_saturates():
    assert_allclose(_power(1000.0, True), P_IN * BETA * BAND / (2 * ALPHA), rtol=1e-12)
    assert np.all(np.diff(_power(np.linspace(0, 200, 50), True)) > 0)


@pytest.mark.parametrize("counter", [False, True])
def test_short_fibre_limit(counter):
    assert_allclose(_power(1e-4, counter), P_IN * BETA * BAND * 1e-4, rtol=1e-4)


def test_backward_exceeds_forward_beyond_a_few_km():
    lengths = np.array([25.0, 50.0, 100.0])
    assert np.all(_power(lengths, True) > _power(lengths, False))


def test_noise_prob_per_gate():
    """Small-signal limit: photons per second x gate x efficiency; saturates below 1."""
    power = 1e-15
    expected = power * 1550e-9 / (Planck * speed_of_light) * 1e-9 * 0.2
    got = raman_noise_prob_per_gate(power, quantum_wavelength_m=1550e-9, detector_efficiency=0.2, gate_width_s=1e-9)
    assert_allclose(got, expected, rtol=1e-6)
    assert raman_noise_prob_per_gate(1.0, quantum_wavelength_m=1550e-9, detector_efficiency=1.0,
                                     gate_width_s=1e-9) <= 1.0


def test_stokes_anti_stokes_ratio_is_thermal():
    pump = 1550e-9
    dnu = 2e12
    nu_p = speed_of_light / pump
    stokes_q, anti_q = speed_of_light / (nu_p - dnu), speed_of_light / (nu_p + dnu)
    ratio = raman_coefficient_per_km_nm(pump, anti_q) / raman_coefficient_per_km_nm(pump, stokes_q)
    energy_and_band = ((nu_p + dnu) / (nu_p - dnu)) * (stokes_q / anti_q) ** 2
    assert_allclose(ratio, np.exp(-Planck * dnu / (Boltzmann * 300.0)) * energy_and_band, rtol=1e-9)


def test_coefficient_orders_of_magnitude():
    """C band a few nm from the pump: a few 1e-9 /(km nm); 1550 nm into 1310 nm: ~1e-12 (model)."""
    c_band = raman_coefficient_per_km_nm(1550e-9, 1555e-9)
    o_band = raman_coefficient_per_km_nm(1550e-9, 1310e-9)
    assert 1e-9 < c_band < 1e-8
    assert 1e-13 < o_band < 1e-11
    assert 2e-10 < raman_coefficient_per_km_nm(1310e-9, 1550.12e-9) < 3.2e-10  # O-band data into C band (Stokes)
    assert raman_coefficient_per_km_nm(1550e-9, 1550e-9) == 0.0
    assert raman_coefficient_per_km_nm(1550e-9, 1200e-9) == 0.0  # beyond the 40 THz Raman band


def test_negative_power_is_refused():
    with pytest.raises(ValueError, match="launch_power_w"):
        raman_noise_power_w(-1e-3, 10.0, attenuation_db_per_km=0.2, raman_coefficient_per_km_nm=BETA,
                            filter_bandwidth_nm=BAND, counter_propagating=False)


def test_effective_coefficient_says_where_it_came_from():
    """A given (measured) value is used as given; otherwise the silica model, and the source says which."""
    assert effective_raman_coefficient(1310e-9, 1550.12e-9, 4.2e-10) == RamanCoefficient(4.2e-10, "scenario")
    modelled = effective_raman_coefficient(1310e-9, 1550.12e-9)
    assert modelled.source == "silica_model"
    assert modelled.beta_per_km_nm == float(raman_coefficient_per_km_nm(1310e-9, 1550.12e-9))
    assert effective_raman_coefficient(1550e-9, 1555e-9, 0.0).beta_per_km_nm == 0.0  # given zero stays zero
    with pytest.raises(ValueError, match="raman_coefficient_per_km_nm"):
        effective_raman_coefficient(1310e-9, 1550.12e-9, -1e-9)
