"""Tests of widest-path key-relay routing (qnetemu.network.routing)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.network.routing import best_key_rate_path, path_summary, route_all


def _graph(edges):
    """Graph from (u, v, key_rate_bps, length_km) tuples."""
    graph = nx.Graph()
    for u, v, rate, length in edges:
        graph.add_edge(
            u, v, key_rate_bps=rate, length_km=length, latency_s=length / 2e5, segment="fibre"
        )
    return graph


def test_widest_path_beats_shortest_path():
    """A-C direct is shortest (10 km) but gives 10 bit/s; A-B-C gives min(100, 50) = 50."""
    graph = _graph([("A", "C", 10.0, 10.0), ("A", "B", 100.0, 50.0), ("B", "C", 50.0, 50.0)])
    assert nx.shortest_path(graph, "A", "C", weight="length_km") == ["A", "C"]
    assert best_key_rate_path(graph, "A", "C") == ["A", "B", "C"]
    assert best_key_rate_path(graph, "C", "A") == ["C", "B", "A"]


def test_equal_bottleneck_prefers_fewer_hops():
    """Both routes bottleneck at 50 bit/s; the 2-hop one wins over the 3-hop one even if longer."""
    graph = _graph(
        [
            ("S", "X", 80.0, 10.0),
            ("X", "Y", 90.0, 10.0),
            ("Y", "T", 50.0, 10.0),
            ("S", "Z", 50.0, 400.0),
            ("Z", "T", 70.0, 400.0),
        ]
    )
    assert best_key_rate_path(graph, "S", "T") == ["S", "Z", "T"]


def test_equal_bottleneck_and_hops_prefers_shorter():
    graph = _graph(
        [
            ("S", "X", 50.0, 60.0),
            ("X", "T", 50.0, 60.0),
            ("S", "Y", 50.0, 50.0),
            ("Y", "T", 50.0, 50.0),
        ]
    )
    assert best_key_rate_path(graph, "S", "T") == ["S", "Y", "T"]


def test_tie_break_is_not_fooled_by_wider_prefix():
    """Label-setting on (bottleneck, hops) would keep S-P-X (width 100) and discard S-X
    (width 60, 1 hop); after the 50 bit/s edge X-T both reach T at 50, and the 2-hop path
    S-X-T is the right answer."""
    graph = _graph(
        [
            ("S", "P", 100.0, 1.0),
            ("P", "X", 100.0, 1.0),
            ("S", "X", 60.0, 1.0),
            ("X", "T", 50.0, 1.0),
        ]
    )
    assert best_key_rate_path(graph, "S", "T") == ["S", "X", "T"]


@pytest.mark.parametrize(
    "edges",
    [
        [("A", "B", 10.0, 1.0), ("C", "D", 10.0, 1.0)],  # disconnected
        [("A", "B", 10.0, 1.0), ("B", "C", 0.0, 1.0), ("C", "D", 10.0, 1.0)],  # dead link
    ],
)
def test_unreachable_gives_empty_path(edges):
    graph = _graph(edges)
    assert best_key_rate_path(graph, "A", "D") == []
    assert path_summary(graph, [])["bottleneck_key_rate_bps"] == 0.0


@pytest.mark.parametrize("pair", [("A", "nowhere"), ("nowhere", "A"), ("A", "A")])
def test_bad_demands_raise(pair):
    graph = _graph([("A", "B", 1.0, 1.0)])
    with pytest.raises(ValueError):
        best_key_rate_path(graph, *pair)


def test_satellite_edge_is_routed_by_key_rate_only():
    """A satellite edge without length_km joins two fibre islands; only its rate matters."""
    graph = _graph([("A", "GS1", 1000.0, 80.0), ("GS2", "B", 1000.0, 90.0)])
    graph.add_edge("GS1", "GS2", key_rate_bps=20.0, latency_s=0.004, segment="satellite")
    path = best_key_rate_path(graph, "A", "B")
    assert path == ["A", "GS1", "GS2", "B"]
    summary = path_summary(graph, path)
    assert summary["hops"] == 3
    assert summary["trusted_nodes"] == 2
    assert summary["trusted_node_names"] == ["GS1", "GS2"]
    assert summary["segments"] == ["fibre", "satellite"]
    assert_allclose(summary["length_km"], 170.0)
    assert_allclose(summary["bottleneck_key_rate_bps"], 20.0)
    assert_allclose(summary["latency_s"], 80.0 / 2e5 + 0.004 + 90.0 / 2e5, rtol=1e-12)


def test_path_summary_rejects_non_path():
    graph = _graph([("A", "B", 1.0, 1.0), ("B", "C", 1.0, 1.0)])
    with pytest.raises(ValueError, match="not a link"):
        path_summary(graph, ["A", "C"])


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force_on_random_graphs(seed):
    """Exhaustive check over all simple paths: the returned path has the largest bottleneck,
    then the fewest hops, then the shortest length of all paths (lexicographic optimum)."""
    rng = np.random.default_rng(seed)
    graph = nx.gnp_random_graph(9, 0.4, seed=seed)
    for u, v in graph.edges:
        # Few distinct rates, so that ties (and the tie-breaks) occur often.
        graph.edges[u, v]["key_rate_bps"] = float(rng.choice([0.0, 5.0, 10.0, 20.0]))
        graph.edges[u, v]["length_km"] = float(rng.integers(1, 6))
    demands = list(itertools.permutations(graph.nodes, 2))
    paths = route_all(graph, demands)
    for (source, target), path in zip(demands, paths, strict=True):
        best = None
        for candidate in nx.all_simple_paths(graph, source, target):
            summary = path_summary(graph, candidate)
            if summary["bottleneck_key_rate_bps"] <= 0.0:
                continue
            key = (-summary["bottleneck_key_rate_bps"], summary["hops"], summary["length_km"])
            best = key if best is None or key < best else best
        if best is None:
            assert path == []
            continue
        summary = path_summary(graph, path)
        assert (path[0], path[-1]) == (source, target)
        assert len(set(path)) == len(path)
        got = (-summary["bottleneck_key_rate_bps"], summary["hops"], summary["length_km"])
        assert got[:2] == best[:2]
        assert_allclose(got[2], best[2], rtol=1e-12)


def test_route_all_matches_single_queries():
    graph = nx.grid_2d_graph(4, 4)
    rng = np.random.default_rng(7)
    for u, v in graph.edges:
        graph.edges[u, v].update(key_rate_bps=float(rng.uniform(1, 100)), length_km=1.0)
    nodes = list(graph.nodes)
    demands = [(nodes[0], nodes[-1]), (nodes[3], nodes[12]), (nodes[0], nodes[5])]
    assert route_all(graph, demands) == [best_key_rate_path(graph, s, t) for s, t in demands]
