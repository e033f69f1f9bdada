"""Sea-cable waypoints are not sites: chains of them merge into one span between landing points.

Reference data: topohub 1.5.1's backbone/europe (852 nodes: 375 cities, 202 sea-cable landing
points, 275 sea-cable waypoints, of which 269 have two links and 6 three).
"""

from __future__ import annotations

import json
import math
import warnings

import pytest
from numpy.testing import assert_allclose

from qnetemu.geo import great_circle_distance_km
from qnetemu.network.graph import build_graph
from qnetemu.scenario.topology import TopologyImportWarning, _records, load_graphml, load_topohub


@pytest.fixture(scope="module")
def europe():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        return load_topohub("backbone/europe")


def _raw_europe():
    import importlib.resources

    import topohub

    with (importlib.resources.files(topohub) / "data" / "backbone/europe.json").open() as stream:
        return json.load(stream)


def test_no_waypoint_of_degree_two_survives_and_cables_keep_their_length(europe):
    """Every waypoint left is a branching point (three or more links), and a merged cable, measured
    along its bends, is never shorter than the great circle between its landing points."""
    sites, links = europe
    names = {s["name"] for s in sites}
    degree = dict.fromkeys(names, 0)
    for link in links:
        degree[link["a"]] += 1
        degree[link["b"]] += 1
    junctions = [s["name"] for s in sites if not s["is_site"]]
    assert junctions and all(degree[n] >= 3 for n in junctions)
    # A merged cable is measured along its bends: no shorter than the straight line between its ends.
    by_name = {s["name"]: s for s in sites}
    merged = [link for link in links if link.get("waypoints")]
    assert len(merged) > 50
    for link in merged:
        a, b = by_name[link["a"]], by_name[link["b"]]
        straight = float(great_circle_distance_km(a["lat_deg"], a["lon_deg"], b["lat_deg"], b["lon_deg"]))
        graph = build_graph([a, b], [link])
        assert graph.edges[link["a"], link["b"]]["length_km"] >= straight * (1 - 1e-12)
        assert link["cable"] == "submarine"


def test_varna_to_igneada_is_one_cable_through_its_two_waypoints(europe):
    """In the file the Black Sea cable runs Varna > waypoint > waypoint > Igneada; after import it is
    one link whose length is topohub's three pieces together (1 % for coordinate rounding)."""
    raw = _raw_europe()
    nodes = {n["id"]: n for n in raw["nodes"]}
    varna = next(n["id"] for n in raw["nodes"] if n.get("name") == "Varna")
    igneada = next(n["id"] for n in raw["nodes"] if n.get("name") == "Igneada")
    # Walk the file's waypoint chain from Varna towards Igneada.
    adjacency: dict = {}
    for e in raw["edges"]:
        adjacency.setdefault(e["source"], []).append((e["target"], e["dist"]))
        adjacency.setdefault(e["target"], []).append((e["source"], e["dist"]))
    total = None
    for first, dist in adjacency[varna]:
        path_km, prev, node = dist, varna, first
        while nodes[node]["type"] == "Seacable Waypoint" and len(adjacency[node]) == 2:
            nxt, d = next((m, d) for m, d in adjacency[node] if m != prev)
            path_km, prev, node = path_km + d, node, nxt
        if node == igneada and prev != varna:
            total = path_km
    assert total is not None
    sites, links = europe
    link = next(k for k in links if {k["a"], k["b"]} == {"Varna", "Igneada"})
    assert len(link["waypoints"]) == 2
    by_name = {s["name"]: s for s in sites}
    graph = build_graph([by_name["Varna"], by_name["Igneada"]], [link])
    assert_allclose(graph.edges["Varna", "Igneada"]["length_km"], total, rtol=0.01)


def _synthetic(kind_of):
    """A - w1 - w2 - B plus a branch w2 - w3 - C: w2 becomes a junction, w1 and w3 merge away."""
    nodes = [
        ("A", "A", 0.0, 0.0), ("w1", None, 0.0, 1.0), ("w2", None, 0.0, 2.0),
        ("B", "B", 0.0, 3.0), ("w3", None, 1.0, 2.0), ("C", "C", 2.0, 2.0),
    ]
    edges = [("A", "w1"), ("w1", "w2"), ("w2", "B"), ("w2", "w3"), ("w3", "C")]
    non_sites = {n for n, *_ in nodes if kind_of(n)}
    return nodes, edges, non_sites


def test_branching_waypoint_stays_as_a_junction_and_chains_merge():
    from qnetemu.scenario.topology import _merge_waypoint_chains

    nodes, edges, non_sites = _synthetic(lambda n: n.startswith("w"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        sites, links = _records(nodes, edges, "test", non_sites)
        sites, links = _merge_waypoint_chains(sites, links, "test")
    names = {s["name"]: s for s in sites}
    assert set(names) == {"A", "B", "C", "node w2"}
    assert names["node w2"]["is_site"] is False
    pairs = {frozenset((k["a"], k["b"])): k for k in links}
    assert set(pairs) == {frozenset(("A", "node w2")), frozenset(("node w2", "B")), frozenset(("node w2", "C"))}
    assert pairs[frozenset(("A", "node w2"))]["waypoints"] == [[0.0, 1.0]]
    # Measured along the bend: A (0, 0) > (0, 1) > w2 (0, 2) is two 1-degree arcs.
    graph = build_graph(sites, links)
    one_degree_km = math.pi / 180 * 6371.0088
    assert_allclose(graph.edges["A", "node w2"]["length_km"], 2 * one_degree_km, rtol=1e-6)


def test_graphml_hyperedge_nodes_are_not_sites(tmp_path):
    path = tmp_path / "h.graphml"
    path.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key attr.name="label" attr.type="string" for="node" id="d0"/>
  <key attr.name="Latitude" attr.type="double" for="node" id="d1"/>
  <key attr.name="Longitude" attr.type="double" for="node" id="d2"/>
  <key attr.name="hyperedge" attr.type="int" for="node" id="d3"/>
  <graph edgedefault="undirected">
    <node id="0"><data key="d0">A</data><data key="d1">45</data><data key="d2">7</data></node>
    <node id="1"><data key="d0">Bus</data><data key="d1">45.5</data><data key="d2">7.5</data><data key="d3">1</data></node>
    <node id="2"><data key="d0">B</data><data key="d1">46</data><data key="d2">8</data></node>
    <edge source="0" target="1"/><edge source="1" target="2"/>
  </graph>
</graphml>"""
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        sites, links = load_graphml(path)
    assert [s["name"] for s in sites] == ["A", "B"]
    assert [(k["a"], k["b"], k["waypoints"]) for k in links] == [("A", "B", [[45.5, 7.5]])]


def test_import_of_many_repeated_names_is_linear():
    """20,000 nodes that all carry one label: each gets a distinct generated name. With the old
    list scan of names already given this took 2·10^8 string comparisons; the names'
    set makes it one look-up per name (speed itself: benchmarks/bench_topology_import.py)."""
    n = 20_000
    nodes = [(i, "PoP", 45.0 + i * 1e-4, 7.0) for i in range(n)]
    edges = [(i, i + 1) for i in range(n - 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        sites, links = _records(nodes, edges, "synthetic")
    names = [s["name"] for s in sites]
    assert names[:3] == ["PoP", "PoP (2)", "PoP (3)"] and names[-1] == f"PoP ({n})"
    assert len(set(names)) == n and len(links) == n - 1
