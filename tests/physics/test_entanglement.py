"""Werner / Bell-diagonal algebra, purification and BBM92 key fraction."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.physics.entanglement import (
    bbm92_fidelity_threshold,
    bbm92_key_fraction,
    bbm92_qber_werner,
    bbpssw_purify,
    dejmps_purify,
    fidelity_from_werner_parameter,
    werner_decohere_fidelity,
    werner_parameter_from_fidelity,
    werner_swap_fidelity,
)


def _werner_coeffs(f: float) -> np.ndarray:
    return np.array([f, (1 - f) / 3, (1 - f) / 3, (1 - f) / 3])


@pytest.mark.parametrize(
    ("fidelity", "w"), [(1.0, 1.0), (0.25, 0.0), (0.85, 0.8), (0.5, 1 / 3), (0.0, -1 / 3)]
)
def test_werner_parameter_closed_form(fidelity, w):
    """w = (4F - 1)/3 (Werner, PRA 40, 4277 (1989)) and its inverse."""
    assert_allclose(werner_parameter_from_fidelity(fidelity), w, rtol=0, atol=1e-15)
    assert_allclose(fidelity_from_werner_parameter(w), fidelity, rtol=0, atol=1e-15)


def test_werner_round_trip_vectorised():
    f = np.linspace(0.0, 1.0, 101)
    out = fidelity_from_werner_parameter(werner_parameter_from_fidelity(f))
    assert out.shape == f.shape
    assert_allclose(out, f, rtol=0, atol=1e-15)


@pytest.mark.parametrize(
    ("f1", "f2", "expected"),
    [
        # F1 F2 + (1-F1)(1-F2)/3 by hand: 0.81 + 0.01/3
        (0.9, 0.9, 0.81 + 0.01 / 3),
        (1.0, 0.7, 0.7),  # a perfect pair teleports the other unchanged
        (0.25, 0.99, 0.25),  # a fully mixed pair gives a fully mixed result
        (0.95, 0.8, 0.95 * 0.8 + 0.05 * 0.2 / 3),
    ],
)
def test_swap_multiplies_werner_parameters(f1, f2, expected):
    """Swap of Werner pairs: w = w1 w2 (Dür et al., PRA 59, 169 (1999));
    equals SeQUeNCe's twirled bell_diagonal swap F1F2 + (1-F1)(1-F2)/3."""
    assert_allclose(werner_swap_fidelity(f1, f2), expected, rtol=1e-14)
    assert_allclose(werner_swap_fidelity(f2, f1), expected, rtol=1e-14)


@pytest.mark.parametrize(
    ("fidelity", "t_over_t2", "expected"),
    [
        (1.0, math.log(2.0), 0.625),  # w: 1 -> 1/2, F = (1 + 3/2)/4
        (0.85, 1.0, (1 + 3 * 0.8 * math.exp(-1.0)) / 4),
        (0.9, 0.0, 0.9),
        (0.9, 60.0, 0.25),  # fully depolarised
    ],
)
def test_decoherence_closed_form(fidelity, t_over_t2, expected):
    """Depolarising storage: w -> w exp(-t/T2) (Brand et al., JSAC 38, 589 (2020), Eq. 4)."""
    t2 = 0.02
    assert_allclose(werner_decohere_fidelity(fidelity, t_over_t2 * t2, t2), expected, rtol=1e-12)


def test_decoherence_composes_and_accepts_perfect_memory():
    """Storing t1 then t2 equals storing t1 + t2; T2 = inf keeps the pair."""
    f1 = werner_decohere_fidelity(0.97, 0.003, 0.01)
    assert_allclose(
        werner_decohere_fidelity(f1, 0.004, 0.01),
        werner_decohere_fidelity(0.97, 0.007, 0.01),
        rtol=1e-14,
    )
    assert werner_decohere_fidelity(0.97, 5.0, np.inf) == pytest.approx(0.97, abs=1e-15)


@pytest.mark.parametrize(
    ("fidelity", "storage", "t2", "match"),
    [
        (1.1, 0.0, 1.0, "fidelity"),
        (0.9, -1.0, 1.0, "storage_time_s"),
        (0.9, 1.0, 0.0, "coherence_time_s"),
        (0.9, 1.0, -2.0, "coherence_time_s"),
        (float("nan"), 1.0, 1.0, "fidelity"),
    ],
)
def test_decoherence_rejects_invalid(fidelity, storage, t2, match):
    with pytest.raises(ValueError, match=match):
        werner_decohere_fidelity(fidelity, storage, t2)


def test_bbpssw_two_pairs_of_0_9_hand_value():
    """BBPSSW on two F = 0.9 Werner pairs (Bennett et al., PRL 76, 722 (1996)).

    p = 0.81 + 2(0.9)(0.1)/3 + 5(0.01)/9 = 197/225;
    F' = (0.81 + 0.01/9) / p = 365/394 = 0.926396.
    """
    f, p = bbpssw_purify(0.9, 0.9)
    assert_allclose(p, 197 / 225, rtol=1e-14)
    assert_allclose(f, 365 / 394, rtol=1e-14)
    # second recurrence round on two F = 365/394 pairs, same formula by hand
    f2, p2 = bbpssw_purify(f, f)
    e = 1 - f
    assert_allclose(p2, f * f + 2 * f * e / 3 + 5 * e * e / 9, rtol=1e-14)
    assert_allclose(f2, 0.9472077932330234, rtol=1e-12)


def test_purification_improves_above_half_and_fixed_point():
    """Both recurrences raise F for 0.5 < F < 1; F = 1/2 and F = 1 are fixed points."""
    f = np.linspace(0.51, 0.99, 49)
    out, p = bbpssw_purify(f, f)
    assert np.all(out > f) and np.all((p > 0) & (p <= 1))
    coeffs = np.stack([_werner_coeffs(x) for x in f])
    dout, dp = dejmps_purify(coeffs, coeffs)
    assert np.all(dout[:, 0] > f)
    for fixed in (0.5, 1.0):
        assert_allclose(bbpssw_purify(fixed, fixed)[0], fixed, rtol=1e-14)


def test_dejmps_on_werner_equals_bbpssw_first_round():
    """On Werner inputs the first DEJMPS round gives the BBPSSW fidelity and
    success probability (Deutsch et al., PRL 77, 2818 (1996), Eq. 8)."""
    out, n = dejmps_purify(_werner_coeffs(0.9), _werner_coeffs(0.9))
    f, p = bbpssw_purify(0.9, 0.9)
    assert_allclose(out[0], f, rtol=1e-14)
    assert_allclose(n, p, rtol=1e-14)


def test_dejmps_hand_values_bell_diagonal():
    """(A,B,C,D) = (0.8, 0.1, 0.05, 0.05) twice, by hand from Deutsch et al. Eq. 8:
    N = 0.9^2 + 0.1^2 = 0.82; A' = 0.65/0.82; B' = C' = 0.005/0.82; D' = 0.16/0.82."""
    c = np.array([0.8, 0.1, 0.05, 0.05])
    out, n = dejmps_purify(c, c)
    assert_allclose(n, 0.82, rtol=1e-14)
    assert_allclose(out, np.array([0.65, 0.005, 0.005, 0.16]) / 0.82, rtol=1e-13)
    assert_allclose(out.sum(), 1.0, rtol=1e-14)


@pytest.mark.parametrize("bad", [[0.5, 0.5, 0.5, 0.5], [1.2, -0.2, 0.0, 0.0], [0.5, 0.5, 0.0]])
def test_dejmps_rejects_non_distributions(bad):
    with pytest.raises(ValueError, match="bell_coeffs_1"):
        dejmps_purify(bad, [1.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize(("fidelity", "qber"), [(1.0, 0.0), (0.25, 0.5), (0.85, 0.1)])
def test_bbm92_qber(fidelity, qber):
    """Q = 2(1-F)/3 for a Werner pair."""
    assert_allclose(bbm92_qber_werner(fidelity), qber, rtol=0, atol=1e-15)


def _h(q: float) -> float:
    return -q * math.log2(q) - (1 - q) * math.log2(1 - q)


@pytest.mark.parametrize(
    ("fidelity", "f_ec", "expected"),
    [
        (1.0, 1.0, 0.5),
        (0.95, 1.0, 0.5 * (1 - 2 * _h(1 / 30))),  # = 0.289158
        (0.9, 1.16, 0.5 * (1 - 2.16 * _h(1 / 15))),  # = 0.118372
        (0.8, 1.0, 0.0),  # below threshold: clipped
    ],
)
def test_bbm92_key_fraction_closed_form(fidelity, f_ec, expected):
    """Shor-Preskill rate sifting (1 - f h(Q) - h(Q)) (BBM92, PRL 68, 557 (1992))."""
    assert_allclose(
        bbm92_key_fraction(fidelity, ec_efficiency=f_ec), expected, rtol=1e-12, atol=1e-15
    )


def test_bbm92_threshold():
    """Key vanishes at Q = 11.0028 % (Shor-Preskill), i.e. F = 1 - 1.5 Q = 0.834958."""
    f_star = bbm92_fidelity_threshold()
    assert_allclose(f_star, 1 - 1.5 * 0.1100278644, rtol=1e-9)
    assert bbm92_key_fraction(f_star + 1e-6) > 0 and bbm92_key_fraction(f_star - 1e-6) == 0
    # worse error correction needs a better pair
    assert bbm92_fidelity_threshold(1.16) > f_star


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"ec_efficiency": 0.9}, "ec_efficiency"), ({"sifting": 0.0}, "sifting")]
)
def test_bbm92_rejects_invalid(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bbm92_key_fraction(0.95, **kwargs)
