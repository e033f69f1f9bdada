"""The compiled (scipy.sparse.csgraph) routing against today's pure-Python routing and brute force.

* Identical routes and max-min fair rates to :mod:`qnetemu.network.routing_reference`
  on random graphs with continuous rates and lengths (unique optima).
* A hypothesis property on small graphs with few distinct rates (many ties):
  the same (bottleneck, hops, length) as the reference.
* ``can_relay``: brute force over every simple path whose interior may relay;
  an unserved demand names the forbidden nodes the unrestricted route needs.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.network.graph import link_capacities_bps
from qnetemu.network.routing import path_summary, route_all, route_demands
from qnetemu.network.routing_reference import route_all as reference_route_all


def _random_graph(seed: int, n: int = 40, p: float = 0.12) -> nx.Graph:
    rng = np.random.default_rng(seed)
    graph = nx.gnp_random_graph(n, p, seed=seed)
    for u, v in graph.edges:
        graph.edges[u, v].update(key_rate_bps=float(rng.lognormal(3.0, 1.0)), length_km=float(rng.uniform(5, 100)))
    # a few dead links, as beyond-reach fibre gives
    for u, v in list(graph.edges)[::9]:
        graph.edges[u, v]["key_rate_bps"] = 0.0
    return graph


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("tolerance", [0.0, 0.2, 0.6])
def test_identical_routes_and_rates_to_reference(seed, tolerance):
    graph = _random_graph(seed)
    demands = list(itertools.combinations(range(0, 40, 3), 2))
    new = route_all(graph, demands, rate_tolerance=tolerance)
    old = reference_route_all(graph, demands, rate_tolerance=tolerance)
    assert new == old
    capacity = link_capacities_bps(graph)
    routed = [p for p in old if p]
    assert_allclose(allocate_max_min_fair([p for p in new if p], capacity),
                    allocate_max_min_fair(routed, capacity), rtol=0, atol=0)


def _key(graph, path):
    s = path_summary(graph, path)
    return (s["bottleneck_key_rate_bps"], s["hops"], s["length_km"])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(3, 9),
    edges=st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 8), st.sampled_from([0.0, 5.0, 10.0, 20.0]), st.integers(0, 5)),
        min_size=1, max_size=25,
    ),
    tolerance=st.sampled_from([0.0, 0.3, 0.6]),
)
@example(n=6, edges=[(0, 1, 5.0, 3), (0, 5, 5.0, 4), (1, 4, 20.0, 2), (4, 5, 10.0, 5)], tolerance=0.6)
def test_same_route_quality_as_reference_with_ties(n, edges, tolerance):
    """Integer lengths (including 0, as satellite edges have) and four rates: ties everywhere.
    Either optimal path may be returned, but its (hops, length) must be the reference's and its
    bottleneck within the tolerance of the best (equal when the tolerance is 0). With a tolerance,
    two routes of equal hops and length but different bottlenecks in the band are both optimal
    (the rule ranks hops, then length, inside the band), and each implementation keeps the one its
    search meets first (found by this test: 1-0-5 at 5 bit/s against 1-4-5 at 10 bit/s, both
    2 hops and 7 km, tolerance 0.6)."""
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    for u, v, rate, length in edges:
        if u < n and v < n and u != v:
            graph.add_edge(u, v, key_rate_bps=rate, length_km=float(length))
    demands = list(itertools.permutations(range(n), 2))
    new = route_all(graph, demands, rate_tolerance=tolerance)
    old = reference_route_all(graph, demands, rate_tolerance=tolerance)
    for (s, t), a, b in zip(demands, new, old, strict=True):
        assert bool(a) == bool(b)
        if a:
            assert (a[0], a[-1]) == (s, t)
            assert len(set(a)) == len(a)
            (width_a, hops_a, length_a), (width_b, hops_b, length_b) = _key(graph, a), _key(graph, b)
            assert (hops_a, length_a) == pytest.approx((hops_b, length_b), rel=1e-12)
            best = _brute_force(graph, s, t, forbidden=set())[0]
            floor = best * (1.0 - tolerance)
            assert width_a >= floor * (1 - 1e-12) and width_b >= floor * (1 - 1e-12)
            if tolerance == 0.0:
                assert width_a == pytest.approx(width_b, rel=1e-12)


def _brute_force(graph, source, target, forbidden):
    """Best (bottleneck, -hops, -length) over simple paths whose interior avoids ``forbidden``."""
    best = None
    for path in nx.all_simple_paths(graph, source, target):
        if any(node in forbidden for node in path[1:-1]):
            continue
        width, hops, length = _key(graph, path)
        if width <= 0.0:
            continue
        key = (width, -hops, -length)
        best = key if best is None or key > best else best
    return best


@pytest.mark.parametrize("seed", range(10))
def test_can_relay_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    graph = nx.gnp_random_graph(9, 0.45, seed=seed)
    for u, v in graph.edges:
        graph.edges[u, v].update(key_rate_bps=float(rng.choice([0.0, 5.0, 10.0, 20.0])),
                                 length_km=float(rng.integers(1, 6)))
    forbidden = set(rng.choice(9, size=3, replace=False).tolist())
    for node in graph.nodes:
        if node in forbidden:
            graph.nodes[node]["can_relay"] = False
        elif node % 2:
            graph.nodes[node]["can_relay"] = True  # the others carry no attribute: True
    demands = list(itertools.permutations(graph.nodes, 2))
    for (s, t), route in zip(demands, route_demands(graph, demands), strict=True):
        best = _brute_force(graph, s, t, forbidden)
        if best is None:
            assert route.status in ("no_path", "no_allowed_path")
            assert route.nodes == ()
            unrestricted = _brute_force(graph, s, t, set())
            if unrestricted is None:
                assert route.status == "no_path"
            else:
                assert route.status == "no_allowed_path"
                assert route.forbidden_relays and set(route.forbidden_relays) <= forbidden
            continue
        assert route.status == "ok"
        assert not set(route.trusted_node_names) & forbidden
        width, hops, length = _key(graph, list(route.nodes))
        assert (width, -hops) == best[:2]
        assert_allclose(-length, best[2], rtol=1e-12)
        assert_allclose(route.bottleneck_key_rate_bps, width)
        assert route.hops == hops


def test_forbidden_node_is_an_endpoint_but_never_a_relay():
    """W (a sea waypoint) offers the widest route A-W-B, but may not relay; it may still be a demand's end."""
    graph = nx.Graph()
    graph.add_edge("A", "W", key_rate_bps=100.0, length_km=10.0)
    graph.add_edge("W", "B", key_rate_bps=100.0, length_km=10.0)
    graph.add_edge("A", "C", key_rate_bps=20.0, length_km=50.0)
    graph.add_edge("C", "B", key_rate_bps=30.0, length_km=50.0)
    assert route_all(graph, [("A", "B")]) == [["A", "W", "B"]]
    graph.nodes["W"]["can_relay"] = False
    routes = route_demands(graph, [("A", "B"), ("W", "C"), ("W", "B")])
    assert routes[0].nodes == ("A", "C", "B")
    assert_allclose(routes[0].bottleneck_key_rate_bps, 20.0)
    assert routes[1].nodes == ("W", "B", "C")  # min(100, 30) beats W-A-C, min(100, 20)
    assert routes[2].nodes == ("W", "B")
    assert route_all(graph, [("A", "B")], honour_relay=False) == [["A", "W", "B"]]


def test_unserved_demand_names_the_forbidden_relays():
    graph = nx.Graph()
    graph.add_edge("Vienna", "Sea 1", key_rate_bps=50.0, length_km=80.0)
    graph.add_edge("Sea 1", "Sea 2", key_rate_bps=50.0, length_km=80.0)
    graph.add_edge("Sea 2", "Nicosia", key_rate_bps=50.0, length_km=80.0)
    graph.add_node("Island")
    for node in ("Sea 1", "Sea 2"):
        graph.nodes[node]["can_relay"] = False
    cut, island = route_demands(graph, [("Vienna", "Nicosia"), ("Vienna", "Island")])
    assert cut.status == "no_allowed_path"
    assert cut.forbidden_relays == ("Sea 1", "Sea 2")
    assert "Sea 1, Sea 2" in cut.reason
    assert island.status == "no_path"
    assert island.forbidden_relays == ()


def test_route_summary_equals_path_summary():
    graph = _random_graph(3)
    for u, v in graph.edges:
        graph.edges[u, v].update(latency_s=graph.edges[u, v]["length_km"] / 2e5, link_id=f"{u}-{v}",
                                 segment="satellite" if (u + v) % 7 == 0 else "fibre")
    graph.nodes[5]["inserted"] = True
    demands = list(itertools.combinations(range(0, 40, 4), 2))
    for route in route_demands(graph, demands, rate_tolerance=0.2):
        if route.status != "ok":
            continue
        expect = path_summary(graph, list(route.nodes))
        assert route.hops == expect["hops"]
        assert list(route.trusted_node_names) == expect["trusted_node_names"]
        assert route.inserted_trusted_nodes == expect["inserted_trusted_nodes"]
        assert list(route.segments) == expect["segments"]
        assert list(route.link_ids) == expect["link_ids"]
        assert_allclose([route.length_km, route.latency_s, route.bottleneck_key_rate_bps],
                        [expect["length_km"], expect["latency_s"], expect["bottleneck_key_rate_bps"]], rtol=1e-12)


def test_trusted_node_rows_carry_status_and_reason():
    from qnetemu.architectures.trusted_node import evaluate_trusted_node

    graph = nx.Graph()
    graph.add_edge("A", "W", key_rate_bps=100.0, length_km=10.0, segment="fibre")
    graph.add_edge("W", "B", key_rate_bps=100.0, length_km=10.0, segment="fibre")
    graph.nodes["W"]["can_relay"] = False
    rows = evaluate_trusted_node(graph, [{"a": "A", "b": "B", "required_key_rate_bps": 1.0},
                                         {"a": "A", "b": "W"}])
    assert rows[0]["status"] == "no_allowed_path"
    assert "W" in rows[0]["reason"]
    assert rows[0]["key_rate_bps"] == 0.0 and rows[0]["requirement_met"] is False
    assert rows[1]["status"] == "ok" and rows[1]["reason"] == ""
    assert_allclose(rows[1]["key_rate_bps"], 100.0)


def test_fibre_only_view_routes_as_its_copy():
    """Subgraph views are read through their filters over the parent's edges: same routes as a real copy."""
    from qnetemu.architectures.trusted_node import fibre_only

    graph = _random_graph(5)
    for i, (u, v) in enumerate(graph.edges):
        graph.edges[u, v]["segment"] = "satellite" if i % 4 == 0 else "fibre"
    view = fibre_only(graph)
    copy = nx.Graph(view)
    demands = list(itertools.combinations(range(0, 40, 5), 2))
    assert route_all(view, demands, rate_tolerance=0.2) == route_all(copy, demands, rate_tolerance=0.2)
    inner = nx.subgraph_view(view, filter_node=lambda n: n != 7)
    assert route_all(inner, demands[:5]) == route_all(nx.Graph(inner), demands[:5])
