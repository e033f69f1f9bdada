"""Tests of the PLOB and TGW repeaterless bounds.

Sources: Pirandola et al., Nat. Commun. 8, 15043 (2017), Eq. (19):
-log2(1 - eta); Takeoka, Guha, Wilde, Nat. Commun. 5, 5235 (2014):
log2((1 + eta)/(1 - eta)).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.physics.bounds import plob_bound, tgw_bound
from qnetemu.physics.fibre import fibre_transmittance


@pytest.mark.parametrize(
    ("eta", "plob", "tgw"),
    [
        (0.5, 1.0, np.log2(3.0)),
        (0.75, 2.0, np.log2(7.0)),
        (0.01, 0.014499569695115089, 0.028854862672184987),
        (0.0, 0.0, 0.0),
    ],
)
def test_closed_form_values(eta, plob, tgw):
    """PLOB(1/2) = 1 bit and PLOB(3/4) = 2 bits exactly; TGW(1/2) = log2 3."""
    assert_allclose(plob_bound(eta), plob, rtol=1e-14, atol=0)
    assert_allclose(tgw_bound(eta), tgw, rtol=1e-14, atol=0)


@pytest.mark.parametrize("length_km", [300.0, 500.0, 700.0])
def test_small_transmittance_is_accurate(length_km):
    """At 500 km of 0.2 dB/km, eta = 1e-10: PLOB = eta/ln2 (1 + eta/2 + ...), TGW = 2 eta/ln2.

    rtol=1e-12 fails for a naive -log2(1 - eta), whose relative error is
    eps/eta ~ 1e-6 at eta = 1e-10.
    """
    eta = fibre_transmittance(length_km, 0.2)
    assert_allclose(plob_bound(eta), eta / np.log(2) * (1 + eta / 2), rtol=1e-12)
    assert_allclose(tgw_bound(eta), 2 * eta / np.log(2), rtol=1e-12)
    assert plob_bound(eta) > 0


def test_tgw_is_never_below_plob():
    """TGW is an upper bound on the capacity that PLOB gives exactly."""
    eta = np.concatenate([[0.0], np.geomspace(1e-15, 0.5, 200), np.linspace(0.5, 1 - 1e-12, 200)])
    assert np.all(tgw_bound(eta) >= plob_bound(eta))


def test_unit_transmittance_is_infinite_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert plob_bound(1.0) == np.inf
        assert tgw_bound(np.array([1.0]))[0] == np.inf


def test_array_shape_preserved():
    eta = np.full((3, 4), 0.5)
    assert plob_bound(eta).shape == (3, 4)
    assert_allclose(plob_bound(eta), 1.0, rtol=1e-15)


@pytest.mark.parametrize("bound", [plob_bound, tgw_bound])
@pytest.mark.parametrize("eta", [-0.1, 1.1, np.nan])
def test_invalid_transmittance_raises(bound, eta):
    with pytest.raises(ValueError, match="transmittance"):
        bound(eta)
