"""Multipath relay: disjoint paths, LP allocation feasibility, exposure, by hand."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.network.exposure import exposure_probability
from qnetemu.network.graph import link_capacities_bps
from qnetemu.network.multipath import MultipathRoute, allocate_multipath, disjoint_routes


def _g(edges):
    g = nx.Graph()
    for u, v, rate in edges:
        g.add_edge(u, v, key_rate_bps=float(rate), length_km=10.0)
    return g


def _assert_disjoint(route):
    interiors = [set(p[1:-1]) for p in route.paths]
    for a, b in itertools.combinations(interiors, 2):
        assert not a & b
    links = [frozenset(e) for p in route.paths for e in zip(p[:-1], p[1:], strict=True)]
    assert len(links) == len(set(links))
    for p in route.paths:
        assert (p[0], p[-1]) == (route.source, route.target)


def _two_sources():
    """A and C both reach B through relays x and y; x-B carries 10 bit/s of key, y-B 6."""
    return _g([("A", "x", 100), ("x", "B", 10), ("A", "y", 100), ("y", "B", 6), ("C", "x", 100), ("C", "y", 100)])


def test_disjoint_paths_and_lp_by_hand():
    g = _two_sources()
    routes = disjoint_routes(g, [("A", "B"), ("C", "B")], 2)
    for route in routes:
        assert route.status == "ok"
        _assert_disjoint(route)
        assert sorted(len(p) for p in route.paths) == [3, 3]
    # x-B: r1 + r2 <= 10 and y-B: r1 + r2 <= 6, so the fair floor is 3 each and the total 6.
    rates = allocate_multipath(routes, link_capacities_bps(g))
    assert_allclose(rates, [3.0, 3.0], rtol=1e-9)
    # A needs only 1 bit/s: it keeps 1, C gets the rest of y-B, 5.
    assert_allclose(allocate_multipath(routes, link_capacities_bps(g), [1.0, None]), [1.0, 5.0], rtol=1e-9)
    # Exposure at p = 0.1 per relay: both one-relay paths must fall, 0.1 x 0.1.
    assert_allclose(exposure_probability(routes[0].paths, 0.1), 0.01, rtol=1e-12)


def test_greedy_trap_falls_back_to_max_flow():
    """The widest path s-a-b-t blocks both a and b; s-a-t and s-b-t are the disjoint pair."""
    g = _g([("s", "a", 100), ("a", "b", 100), ("b", "t", 100), ("s", "b", 5), ("a", "t", 5)])
    (route,) = disjoint_routes(g, [("s", "t")], 2)
    assert route.status == "ok"
    _assert_disjoint(route)
    assert sorted(route.paths) == [("s", "a", "t"), ("s", "b", "t")]


def test_too_few_paths_and_relay_rule():
    g = _g([("A", "x", 10), ("x", "B", 10), ("A", "y", 10), ("y", "B", 10), ("A", "B", 1)])
    assert disjoint_routes(g, [("A", "B")], 3)[0].status == "ok"  # x, y and the direct link
    assert disjoint_routes(g, [("A", "B")], 4)[0].status == "too_few_disjoint_paths"
    g.nodes["y"]["can_relay"] = False
    route = disjoint_routes(g, [("A", "B")], 3)[0]
    assert route.status == "too_few_disjoint_paths"
    assert all("y" not in p[1:-1] for p in route.paths)
    g.add_node("Z")
    assert disjoint_routes(g, [("A", "Z")], 2)[0].status == "no_path"
    with pytest.raises(ValueError):
        disjoint_routes(g, [("A", "B")], 0)


@pytest.mark.parametrize("seed", range(6))
def test_lp_never_overspends_and_k1_floor_equals_max_min_fair(seed):
    rng = np.random.default_rng(seed)
    g = nx.random_regular_graph(4, 14, seed=seed)
    for u, v in g.edges:
        g.edges[u, v].update(key_rate_bps=float(rng.uniform(1, 50)), length_km=float(rng.uniform(1, 9)))
    demands = [(0, 7), (1, 8), (2, 9), (3, 10), (4, 11)]
    capacity = link_capacities_bps(g)
    for k in (1, 2, 3):
        routes = disjoint_routes(g, demands, k)
        rates = allocate_multipath(routes, capacity)
        load: dict = {}
        for route, rate in zip(routes, rates, strict=True):
            if route.status == "ok":
                _assert_disjoint(route)
            else:
                assert rate == 0.0
            for p in route.paths if route.served else ():
                for e in zip(p[:-1], p[1:], strict=True):
                    load[frozenset(e)] = load.get(frozenset(e), 0.0) + rate
        for link, used in load.items():
            assert used <= capacity[link] * (1 + 1e-9)
        if k == 1:
            fair = allocate_max_min_fair([list(r.paths[0]) for r in routes], capacity)
            assert_allclose(rates.min(), fair.min(), rtol=1e-7)
            assert rates.sum() >= fair.sum() * (1 - 1e-9)  # the LP then maximises the total


def test_unserved_routes_get_zero():
    r = MultipathRoute("A", "B", (), "no_path", 2)
    assert_allclose(allocate_multipath([r], {}), [0.0])
