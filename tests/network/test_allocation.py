"""Tests of max-min fair key allocation (qnetemu.network.allocation).

Reference: Bertsekas & Gallager, Data Networks, 2nd ed. (1992), Sec. 6.5.2. The expected
rates below are worked by hand with their progressive-filling rule, and the property test
checks their characterisation: an allocation is max-min fair iff it is feasible and every
session has a bottleneck link (saturated, and no session on it gets more), here extended
with caps (a capped session may instead sit at its cap).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from qnetemu.network.allocation import allocate_max_min_fair, link_utilisation

PARKING_LOT = {("0", "1"): 1.0, ("1", "2"): 1.0, ("2", "3"): 1.0}


def test_parking_lot():
    """Long session 0-1-2-3 and one short session per link, all capacities 1: each link is
    shared by two sessions, every session gets 1/2."""
    paths = [["0", "1", "2", "3"], ["0", "1"], ["1", "2"], ["2", "3"]]
    assert_allclose(allocate_max_min_fair(paths, PARKING_LOT), [0.5, 0.5, 0.5, 0.5], rtol=1e-12)


def test_two_bottleneck_levels():
    """Link A-B (capacity 1) carries sessions 1, 2, 3; link B-C (capacity 1) carries sessions 1
    and 4; link C-D (capacity 10) carries session 5 alone. Filling: at 1/3 link A-B saturates,
    freezing 1, 2, 3; session 4 then takes the rest of B-C, 1 - 1/3 = 2/3; session 5 fills
    C-D to 10."""
    capacity = {frozenset("AB"): 1.0, frozenset("BC"): 1.0, frozenset("CD"): 10.0}
    paths = [list("ABC"), list("AB"), list("BA"), list("BC"), list("CD")]
    rates = allocate_max_min_fair(paths, capacity)
    assert_allclose(rates, [1 / 3, 1 / 3, 1 / 3, 2 / 3, 10.0], rtol=1e-12)
    use = link_utilisation(paths, rates, capacity)
    assert_allclose(use[frozenset("AB")]["utilisation"], 1.0, rtol=1e-12)
    assert_allclose(use[frozenset("BC")]["used_bps"], 1.0, rtol=1e-12)
    assert use[frozenset("CD")]["demands"] == [4]


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        # The long session needs only 0.2: the short ones share the rest, 0.8 each.
        ([0.2, None, None, None], [0.2, 0.8, 0.8, 0.8]),
        # All capped below their fair share: everyone gets their cap.
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]),
        # A cap of 0 leaves the links to the others.
        ([0.0, None, 0.25, None], [0.0, 1.0, 0.25, 1.0]),
    ],
)
def test_caps(caps, expected):
    paths = [["0", "1", "2", "3"], ["0", "1"], ["1", "2"], ["2", "3"]]
    assert_allclose(allocate_max_min_fair(paths, PARKING_LOT, caps), expected, rtol=1e-12)


def test_unroutable_and_dead_links():
    """An empty path gets 0; a zero-capacity link gives 0 to its sessions only."""
    capacity = {("A", "B"): 0.0, ("B", "C"): 3.0}
    paths = [[], ["A", "B", "C"], ["B", "C"]]
    assert_allclose(allocate_max_min_fair(paths, capacity), [0.0, 0.0, 3.0], rtol=1e-12)


@pytest.mark.parametrize(
    ("paths", "capacity", "caps"),
    [
        ([["A", "B"]], {}, None),  # link without capacity
        ([["A", "B"]], {("A", "B"): -1.0}, None),
        ([["A", "B"]], {("A", "B"): float("nan")}, None),
        ([["A", "B"]], {("A", "B"): 1.0}, [float("nan")]),
        ([["A", "B"]], {("A", "B"): 1.0}, [1.0, 2.0]),
    ],
)
def test_invalid_input_raises(paths, capacity, caps):
    with pytest.raises(ValueError):
        allocate_max_min_fair(paths, capacity, caps)


@st.composite
def _instances(draw):
    n_nodes = draw(st.integers(3, 9))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    graph = nx.connected_watts_strogatz_graph(n_nodes, 2, 0.5, seed=seed)
    capacity = {
        frozenset((u, v)): float(rng.choice([0.0, 1.0, 2.5, 7.0, rng.uniform(0.1, 10)]))
        for u, v in graph.edges
    }
    n_demands = draw(st.integers(1, 12))
    paths, caps = [], []
    for _ in range(n_demands):
        s, t = rng.choice(n_nodes, size=2, replace=False)
        paths.append(nx.shortest_path(graph, int(s), int(t)))
        caps.append(None if rng.random() < 0.5 else float(rng.uniform(0.0, 3.0)))
    return paths, capacity, caps


@settings(max_examples=150, deadline=None)
@given(_instances())
def test_feasible_and_every_demand_bottlenecked(instance):
    """B&G's characterisation of max-min fairness, checked on random instances."""
    paths, capacity, caps = instance
    rates = allocate_max_min_fair(paths, capacity, caps)
    assert np.all(rates >= 0.0)
    use = link_utilisation(paths, rates, capacity)
    tol = 1e-9
    for link, entry in use.items():
        assert entry["used_bps"] <= capacity[link] * (1 + tol) + tol
    for d, path in enumerate(paths):
        if caps[d] is not None:
            assert rates[d] <= caps[d] * (1 + tol) + tol
            if np.isclose(rates[d], caps[d], rtol=tol, atol=tol):
                continue
        links = [frozenset(pair) for pair in zip(path[:-1], path[1:], strict=True)]
        bottlenecked = any(
            use[link]["used_bps"] >= capacity[link] * (1 - tol) - tol
            and all(rates[other] <= rates[d] * (1 + tol) + tol for other in use[link]["demands"])
            for link in links
        )
        assert bottlenecked, f"demand {d} could grow: rate {rates[d]} on {links}"
