"""N-1 analysis by hand and against re-evaluating the damaged network from scratch."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.network.bypass import add_bypass_links
from qnetemu.network.graph import build_graph, link_capacities_bps
from qnetemu.network.resilience import element_summary_rows, failure_rows, n_minus_one
from qnetemu.network.routing import route_all
from qnetemu.network.splitting import split_long_spans


def _g(edges):
    g = nx.Graph()
    for u, v, rate in edges:
        g.add_edge(u, v, key_rate_bps=float(rate), length_km=10.0, link_id=f"{u}-{v}")
    return g


def test_single_demand_by_hand():
    """A-X-C gives 10 bit/s; without A-X, X-C or X the demand falls back to A-Y-C, 4 < 5 required."""
    g = _g([("A", "X", 10), ("X", "C", 10), ("A", "Y", 4), ("Y", "C", 4)])
    failures = n_minus_one(g, [{"a": "A", "b": "C", "required_key_rate_bps": 5.0}])
    assert [(f.kind, f.element) for f in failures] == [("link", "A-X"), ("link", "X-C"), ("node", "X")]
    for f in failures:
        assert_allclose([f.key_rate_before_bps, f.key_rate_after_bps, f.loss_bps], [5.0, 4.0, 1.0])
        assert f.below_requirement and f.status == "ok"
    rows = failure_rows(failures)
    assert_allclose(rows[0]["loss_fraction"], 0.2)


def test_rerouted_demand_takes_share_from_an_untouched_one():
    """Without X, A-B moves onto Y-B (8 bit/s), which C-B already uses: both get 4."""
    g = _g([("A", "X", 10), ("X", "B", 10), ("A", "Y", 7), ("Y", "B", 8), ("C", "Y", 100)])
    demands = [{"a": "A", "b": "B"}, {"a": "C", "b": "B"}]
    node_x = [f for f in n_minus_one(g, demands, elements="nodes") if f.element == "X"]
    assert [(f.a, f.b) for f in node_x] == [("A", "B"), ("C", "B")]
    assert_allclose([f.key_rate_after_bps for f in node_x], [4.0, 4.0])
    assert_allclose([f.key_rate_before_bps for f in node_x], [10.0, 8.0])
    summary = {r["element"]: r for r in element_summary_rows(n_minus_one(g, demands))}
    assert summary["Y"]["demands_cut"] == 1  # C-B has no other way
    assert_allclose(summary["X"]["key_lost_bps"], 6.0 + 4.0)


def test_split_spans_and_bypass_fail_with_their_physical_link_and_node():
    """A-B (150 km) is cut into two spans; B-C-D get a bypass link B-D through C."""
    sites = [{"name": n, "lat_deg": 45.0, "lon_deg": 10.0 + i} for i, n in enumerate("ABCD")]
    links = [{"a": "A", "b": "B", "length_km": 150.0}, {"a": "B", "b": "C", "length_km": 30.0},
             {"a": "C", "b": "D", "length_km": 30.0}]
    g, _ = split_long_spans(build_graph(sites, links), 100.0)
    add_bypass_links(g, 100.0)
    for _, _, d in g.edges(data=True):
        d["key_rate_bps"] = 1000.0 / d["length_km"]
    assert route_all(g, [("A", "D")]) == [["A", "TN A–B 1", "B", "D"]]
    failures = n_minus_one(g, [{"a": "A", "b": "D"}])
    names = {(f.kind, f.element) for f in failures}
    # the whole A-B link, both spans; B-C and C-D carry the bypass; node C's optics carry it too
    assert {("link", "A–B"), ("link", "B–C"), ("link", "C–D"), ("node", "TN A–B 1"), ("node", "B")} <= names
    cut = {f.element: f for f in failures}
    assert cut["A–B"].key_rate_after_bps == 0.0 and cut["A–B"].status == "no_path"
    # C relays nothing, but the bypass link B-D passes through it: losing C cuts D off
    assert ("node", "C") in names and cut["C"].key_rate_after_bps == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_matches_reevaluating_each_damaged_network(seed):
    rng = np.random.default_rng(seed)
    g = nx.random_regular_graph(3, 16, seed=seed)
    g = nx.relabel_nodes(g, {i: f"n{i}" for i in g.nodes})
    for u, v in g.edges:
        g.edges[u, v].update(key_rate_bps=float(rng.uniform(1, 100)), length_km=float(rng.uniform(1, 50)),
                             link_id=f"{u}|{v}")
    demands = [{"a": f"n{i}", "b": f"n{j}"} for i, j in [(0, 5), (1, 9), (2, 12), (3, 7), (4, 15), (6, 11)]]
    pairs = [(d["a"], d["b"]) for d in demands]

    def rates(graph):
        paths = route_all(graph, pairs, rate_tolerance=0.2)
        out = np.zeros(len(pairs))
        served = [i for i, p in enumerate(paths) if p]
        if served:
            out[served] = allocate_max_min_fair([paths[i] for i in served], link_capacities_bps(graph))
        return out

    before = rates(g)
    got = {}
    for f in n_minus_one(g, demands, rate_tolerance=0.2):
        got[(f.kind, f.element, f.a, f.b)] = f.key_rate_after_bps
        assert_allclose(f.key_rate_before_bps, before[pairs.index((f.a, f.b))], rtol=1e-12)
    for u, v in list(g.edges):
        damaged = g.copy()
        damaged.remove_edge(u, v)
        after = rates(damaged)
        for i, (a, b) in enumerate(pairs):
            key = ("link", f"{u}|{v}", a, b)
            if after[i] < before[i] * (1 - 1e-9):
                assert_allclose(got[key], after[i], rtol=1e-9)
            else:
                assert key not in got
    for node in list(g.nodes):
        damaged = g.copy()
        damaged.remove_edges_from(list(g.edges(node)))
        after = rates(damaged)
        for i, (a, b) in enumerate(pairs):
            key = ("node", node, a, b)
            if key in got:
                assert_allclose(got[key], after[i], rtol=1e-9)
            elif any(node in p[1:-1] for p in route_all(g, pairs, rate_tolerance=0.2)):
                assert not after[i] < before[i] * (1 - 1e-9)
