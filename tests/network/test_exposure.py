"""Who sees the key and exposure odds, by hand."""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from qnetemu.network.exposure import (
    exposure_probability,
    key_holders,
    path_compromise_probability,
    trusted_node_load,
)


def test_single_path_exposure_by_hand():
    """n = 4 relays at p = 0.05: 1 - 0.95**4 = 0.18549375."""
    assert_allclose(exposure_probability([["A", 1, 2, 3, 4, "B"]], 0.05), 0.18549375, rtol=1e-14)
    assert exposure_probability([["A", "B"]], 0.5) == 0.0  # a direct link relays nowhere


def test_small_p_keeps_its_digits():
    """p = 1e-12, 3 relays: q = 3e-12 - 3e-24 + ..., which 1 - (1 - p)**3 in floats gets wrong by ~1e-4."""
    assert_allclose(path_compromise_probability(["A", 1, 2, 3, "B"], 1e-12), 3e-12, rtol=1e-11)


def test_xor_over_disjoint_paths_needs_every_path():
    """Paths with 1, 2 and 3 relays at p = 0.1: q = 0.1, 0.19, 0.271; XOR: product = 0.005149."""
    paths = [["A", "x", "B"], ["A", "y1", "y2", "B"], ["A", "z1", "z2", "z3", "B"]]
    assert_allclose(exposure_probability(paths, 0.1), 0.1 * 0.19 * 0.271, rtol=1e-14)
    # 2-of-3 threshold sharing: any two compromised paths suffice.
    q = [0.1, 0.19, 0.271]
    two = q[0] * q[1] * (1 - q[2]) + q[0] * (1 - q[1]) * q[2] + (1 - q[0]) * q[1] * q[2] + q[0] * q[1] * q[2]
    assert_allclose(exposure_probability(paths, 0.1, threshold=2), two, rtol=1e-14)
    assert_allclose(exposure_probability(paths, 0.1, threshold=1), 1 - 0.9 * 0.81 * 0.729, rtol=1e-14)


def test_per_node_trust_levels_and_shared_relays_refused():
    paths = [["A", "x", "B"], ["A", "y", "B"]]
    assert_allclose(exposure_probability(paths, {"x": 0.5, "y": 0.2}), 0.1, rtol=1e-14)
    with pytest.raises(ValueError, match="not node-disjoint"):
        exposure_probability([["A", "x", "B"], ["A", "x", "y", "B"]], 0.1)
    with pytest.raises(ValueError, match="threshold"):
        exposure_probability(paths, 0.1, threshold=3)
    with pytest.raises(ValueError, match="0, 1"):
        exposure_probability(paths, 1.5)


def test_key_holders_and_node_load():
    assert key_holders([["A", "x", "y", "B"]]) == (("A", "x", "y", "B"), ())
    assert key_holders([["A", "x", "B"], ["A", "y", "B"]]) == (("A", "B"), ("x", "y"))
    load = trusted_node_load(
        [("A", "B"), ("A", "C"), ("B", "C")],
        [[["A", "x", "B"]], [["A", "x", "C"], ["A", "y", "C"]], [["B", "C"]]],
        [10.0, 3.0, 7.0],
    )
    assert set(load) == {"x", "y"}
    assert load["x"]["demands"] == [("A", "B"), ("A", "C")]
    assert load["x"]["key_in_clear_bps"] == 10.0 and load["x"]["shares_bps"] == 3.0
    assert load["y"]["key_in_clear_bps"] == 0.0 and load["y"]["shares_bps"] == 3.0
