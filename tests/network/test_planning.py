"""Where to build: the integer program against brute force over every subset of candidates."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import linprog

from qnetemu.network.planning import plan_trusted_nodes


def _feasible(graph, demands, relays):
    """LP check: can the demands be served with flows relayed only at ``relays`` (per-demand commodities)?"""
    arcs = [(u, v) for u, v in graph.edges] + [(v, u) for u, v in graph.edges]
    nodes = list(graph.nodes)
    n_var = len(demands) * len(arcs)
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for k, (s, t, rate) in enumerate(demands):
        for n in nodes:
            row = np.zeros(n_var)
            for j, (u, v) in enumerate(arcs):
                if u == n:
                    row[k * len(arcs) + j] += 1
                if v == n:
                    row[k * len(arcs) + j] -= 1
            a_eq.append(row)
            b_eq.append(rate if n == s else (-rate if n == t else 0.0))
            if n not in (s, t) and n not in relays:  # no forwarding through unbuilt nodes
                out = np.zeros(n_var)
                for j, (u, _) in enumerate(arcs):
                    if u == n:
                        out[k * len(arcs) + j] = 1
                a_ub.append(out)
                b_ub.append(0.0)
    for e, (u, v) in enumerate(graph.edges):
        row = np.zeros(n_var)
        for k in range(len(demands)):
            row[k * len(arcs) + e] = row[k * len(arcs) + e + graph.number_of_edges()] = 1
        a_ub.append(row)
        b_ub.append(graph.edges[u, v]["key_rate_bps"])
    res = linprog(np.zeros(n_var), A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq,
                  bounds=(0, None), method="highs")
    return res.status == 0


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    g = nx.connected_watts_strogatz_graph(9, 4, 0.4, seed=seed)
    g = nx.relabel_nodes(g, {i: f"n{i}" for i in g.nodes})
    for u, v in g.edges:
        g.edges[u, v]["key_rate_bps"] = float(rng.choice([2.0, 5.0, 10.0]))
    ends = ["n0", "n3", "n6"]
    demands = [(a, b, float(rng.choice([1.0, 3.0, 6.0]))) for a, b in itertools.combinations(ends, 2)]
    candidates = [n for n in g.nodes if n not in ends]
    # distinct powers of two: every subset has its own cost, so the optimum is unique
    costs = {n: float(2 ** i) for i, n in enumerate(rng.permutation(candidates).tolist())}
    plan = plan_trusted_nodes(g, demands, costs)
    best = None
    for size in range(len(candidates) + 1):
        for subset in itertools.combinations(candidates, size):
            cost = sum(costs[n] for n in subset)
            if (best is None or cost < best[0]) and _feasible(g, demands, set(subset)):
                best = (cost, tuple(sorted(subset)))
    if best is None:
        assert plan.status == "infeasible"
    else:
        assert plan.status == "optimal"
        assert_allclose(plan.cost, best[0])
        assert plan.built == best[1]


def test_ground_station_switches_its_satellite_link_and_relay_rule():
    """Island I reaches the mainland only by satellite (GS1-GS2); building both stations (10 + 10) beats
    nothing else, and a forbidden relay can never be built."""
    g = nx.Graph()
    g.add_edge("A", "GS1", key_rate_bps=100.0)
    g.add_edge("GS1", "GS2", key_rate_bps=5.0, segment="satellite")
    g.add_edge("GS2", "I", key_rate_bps=100.0)
    g.add_edge("A", "W", key_rate_bps=100.0)
    g.add_edge("W", "I", key_rate_bps=100.0)
    for n in ("GS1", "GS2"):
        g.nodes[n]["role"] = "ground_station"
    g.nodes["W"]["can_relay"] = False  # a sea waypoint: the cheap way is not allowed
    plan = plan_trusted_nodes(g, [("A", "I", 4.0)], {"GS1": 10.0, "GS2": 10.0, "W": 1.0})
    assert plan.status == "optimal" and plan.built == ("GS1", "GS2") and plan.cost == 20.0
    assert_allclose(plan.relayed_bps["GS1"], 4.0)
    assert plan_trusted_nodes(g, [("A", "I", 6.0)], {"GS1": 10.0, "GS2": 10.0}).status == "infeasible"
    # already in place: free
    assert plan_trusted_nodes(g, [("A", "I", 4.0)], {"GS2": 10.0}, existing={"GS1"}).built == ("GS2",)
    with pytest.raises(ValueError, match="unknown"):
        plan_trusted_nodes(g, [("A", "nowhere", 1.0)], {})
