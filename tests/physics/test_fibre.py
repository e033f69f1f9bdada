"""Tests of qnetemu.physics.fibre against the decibel definition and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.physics.fibre import (
    db_to_transmittance,
    fibre_delay_s,
    fibre_loss_db,
    fibre_transmittance,
    transmittance_to_db,
)


@pytest.mark.parametrize(
    ("length_km", "alpha_db_per_km", "extra_db", "loss_db", "transmittance"),
    [
        (100.0, 0.2, 0.0, 20.0, 1e-2),
        (50.0, 0.2, 0.0, 10.0, 1e-1),
        (0.0, 0.2, 0.0, 0.0, 1.0),
        (100.0, 0.16, 4.0, 20.0, 1e-2),
        (500.0, 0.2, 0.0, 100.0, 1e-10),
        (142.0, 0.21, 0.0, 29.82, 10 ** (-2.982)),
    ],
)
def test_fibre_loss_and_transmittance(length_km, alpha_db_per_km, extra_db, loss_db,
                                      transmittance):
    """L = alpha * length + extra, t = 10^(-L/10) (definition of the dB)."""
    assert_allclose(fibre_loss_db(length_km, alpha_db_per_km, extra_db), loss_db, rtol=1e-12)
    assert_allclose(fibre_transmittance(length_km, alpha_db_per_km, extra_db), transmittance,
                    rtol=1e-12)


@pytest.mark.parametrize("loss_db", [0.0, 3.0103, 10.0, 37.5, 120.0])
def test_db_round_trip(loss_db):
    """transmittance_to_db inverts db_to_transmittance; 3.0103 dB halves the power."""
    t = db_to_transmittance(loss_db)
    assert_allclose(transmittance_to_db(t), loss_db, rtol=1e-12, atol=1e-12)
    if loss_db == 3.0103:
        assert_allclose(t, 0.5, rtol=1e-5)


def test_infinite_loss_is_zero_transmittance():
    """A cut fibre (infinite loss) transmits nothing."""
    assert db_to_transmittance(np.inf) == 0.0


def test_unit_transmittance_is_zero_db_not_minus_zero():
    assert np.signbit(transmittance_to_db(1.0)) == np.False_


@pytest.mark.parametrize("length_km", [1.0, 100.0, 1000.0])
def test_fibre_delay_closed_form(length_km):
    """delay = L n_g / c with n_g = 1.468 (SMF-28): 4.8967 us per km (1.468e3 m / c)."""
    assert_allclose(fibre_delay_s(length_km), length_km * 1.468e3 / 299_792_458.0, rtol=1e-12)


def test_vectorised_shapes_and_scalars():
    lengths = np.array([[0.0, 10.0, 20.0], [30.0, 40.0, 50.0]])
    t = fibre_transmittance(lengths, 0.2)
    assert t.shape == (2, 3)
    assert_allclose(t, 10 ** (-0.02 * lengths), rtol=1e-12)
    assert_allclose(fibre_loss_db(lengths, np.array([0.2, 0.16, 0.3])),
                    lengths * np.array([0.2, 0.16, 0.3]), rtol=1e-12)
    assert isinstance(fibre_delay_s(1.0), float)
    assert np.ndim(fibre_transmittance(10.0, 0.2)) == 0


@pytest.mark.parametrize(
    ("func", "args", "match"),
    [
        (fibre_loss_db, (-1.0, 0.2), "length_km"),
        (fibre_loss_db, (np.nan, 0.2), "length_km contains NaN"),
        (fibre_loss_db, (10.0, -0.2), "attenuation_db_per_km"),
        (fibre_loss_db, (10.0, 0.2, -1.0), "extra_loss_db"),
        (fibre_loss_db, (np.inf, 0.2), "length_km must be finite"),
        (fibre_transmittance, ([10.0, -5.0], 0.2), "length_km"),
        (db_to_transmittance, (-3.0,), "loss_db"),
        (db_to_transmittance, (np.nan,), "loss_db"),
        (transmittance_to_db, (0.0,), "transmittance"),
        (transmittance_to_db, (1.5,), "transmittance"),
        (fibre_delay_s, (-2.0,), "length_km"),
    ],
)
def test_invalid_input_raises(func, args, match):
    with pytest.raises(ValueError, match=match):
        func(*args)
