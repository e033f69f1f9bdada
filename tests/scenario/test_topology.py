"""Tests of topology import (qnetemu.scenario.topology).

Reference data: the Internet Topology Zoo RoEduNet map as shipped by topohub 1.5.1
(40 PoPs, one per Romanian county seat, 44 links; Knight et al., IEEE JSAC 29, 1765 (2011)),
and Romania's extent (43.6-48.3 N, 20.2-29.7 E).
"""

from __future__ import annotations

import math
import warnings

import pytest
from numpy.testing import assert_allclose

from qnetemu.constants import EARTH_RADIUS_M
from qnetemu.network.graph import build_graph
from qnetemu.scenario.topology import (
    TopologyImportWarning,
    load_graphml,
    load_topohub,
    topohub_keys,
)


def test_roedunet_loads_with_plausible_romanian_coordinates():
    sites, links = load_topohub("topozoo/Roedunet")
    assert len(sites) == 40
    assert len(links) == 44
    by_name = {s["name"]: s for s in sites}
    # Bucharest is 44.43 N 26.10 E; topohub calls the PoP "Bucaresti".
    assert_allclose(
        (by_name["Bucaresti"]["lat_deg"], by_name["Bucaresti"]["lon_deg"]),
        (44.43, 26.10),
        atol=0.05,
    )
    for site in sites:
        assert 43.6 <= site["lat_deg"] <= 48.3, site
        assert 20.2 <= site["lon_deg"] <= 29.7, site
    graph = build_graph(sites, links)
    # Craiova (Dolj) - Slatina (Olt): 46.9 km in topohub's own table; our great circle from
    # the same coordinates must agree to 1 %.
    assert_allclose(graph.edges["Dolj", "Olt"]["length_km"], 46.88, rtol=0.01)
    for link in links:
        assert_allclose(
            graph.edges[link["a"], link["b"]]["length_km"], link["dataset_length_km"], rtol=0.02
        )


@pytest.mark.parametrize(
    ("key", "n_sites", "n_links", "name"),
    # backbone/europe: 852 nodes and 1,287 links in the file; its 269 sea-cable waypoints of
    # degree two merge away (one link fewer each), and 20 merged cables parallel another.
    [("topozoo/Geant2012", 37, 58, "RO"), ("backbone/europe", 852 - 269, 1287 - 269 - 20, "Bratislava")],
)
def test_other_european_topologies_load(key, n_sites, n_links, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        sites, links = load_topohub(key)
    assert (len(sites), len(links)) == (n_sites, n_links)
    assert name in {s["name"] for s in sites}
    build_graph(sites, links)


def test_backbone_duplicate_names_and_submarine_cables():
    """backbone/europe has two nodes named Palma and unnamed sea-cable waypoints; the
    waypoints that remain are the six where cables branch (degree three), never sites."""
    with pytest.warns(TopologyImportWarning) as record:
        sites, links = load_topohub("backbone/europe")
    assert any("Palma" in str(w.message) for w in record)
    names = [s["name"] for s in sites]
    assert len(set(names)) == len(names)
    assert {"Palma", "Palma (2)"} <= set(names)
    junctions = [s for s in sites if s["name"].startswith("Seacable Waypoint ")]
    assert len(junctions) == 6
    assert all(s["is_site"] is False and s["kind"] == "Seacable Waypoint" for s in junctions)
    assert all(s["is_site"] for s in sites if s.get("kind") != "Seacable Waypoint")
    assert {link["cable"] for link in links} == {"submarine", "terrestrial"}


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("topozoo/Roedunett", "topozoo/Roedunet"), ("europe", "backbone/europe")],
)
def test_unknown_key_lists_close_matches(typo, suggestion):
    with pytest.raises(KeyError, match=suggestion):
        load_topohub(typo)


def test_keys_include_the_documented_ones():
    assert {"topozoo/Roedunet", "topozoo/Geant2012", "backbone/europe"} <= set(topohub_keys())


GRAPHML = """<?xml version="1.0" encoding="utf-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key attr.name="Latitude" attr.type="double" for="node" id="d0"/>
  <key attr.name="Longitude" attr.type="double" for="node" id="d1"/>
  <key attr.name="label" attr.type="string" for="node" id="d2"/>
  <graph edgedefault="undirected">
    <node id="0"><data key="d0">44.43</data><data key="d1">26.10</data>
      <data key="d2">Bucharest</data></node>
    <node id="1"><data key="d0">44.18</data><data key="d1">28.65</data>
      <data key="d2">Constanta</data></node>
    <node id="2"><data key="d2">Nowhere</data></node>
    <node id="3"><data key="d0">47.16</data><data key="d1">27.59</data>
      <data key="d2">Bucharest</data></node>
    <node id="4"><data key="d0">46.77</data><data key="d1">23.60</data></node>
    <edge source="0" target="1"/>
    <edge source="1" target="0"/>
    <edge source="0" target="0"/>
    <edge source="0" target="2"/>
    <edge source="3" target="4"/>
    <edge source="0" target="3"/>
  </graph>
</graphml>
"""


def test_graphml_warts(tmp_path):
    """Dropped node without coordinates (and its link), a repeated label, an unnamed node,
    a self-loop and a parallel link, each reported and resolved deterministically."""
    path = tmp_path / "zoo.graphml"
    path.write_text(GRAPHML, encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sites, links = load_graphml(path)
    messages = " | ".join(str(w.message) for w in caught if w.category is TopologyImportWarning)
    for fragment in ("Nowhere", "Bucharest (2)", "self-loop", "parallel", "unnamed"):
        assert fragment in messages
    assert [s["name"] for s in sites] == ["Bucharest", "Constanta", "Bucharest (2)", "node 4"]
    assert {frozenset((link["a"], link["b"])) for link in links} == {
        frozenset(("Bucharest", "Constanta")),
        frozenset(("Bucharest (2)", "node 4")),
        frozenset(("Bucharest", "Bucharest (2)")),
    }
    assert len(links) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        assert load_graphml(path) == (sites, links)
    graph = build_graph(
        sites,
        links,
    )
    # Bucharest - Constanta great circle: haversine of the file's coordinates.
    p1, p2 = math.radians(44.43), math.radians(44.18)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(28.65 - 26.10) / 2) ** 2
    )
    expected = 2 * EARTH_RADIUS_M / 1e3 * math.asin(math.sqrt(h))
    assert_allclose(graph.edges["Bucharest", "Constanta"]["length_km"], expected, rtol=1e-12)
    assert_allclose(expected, 203.0, rtol=0.01)


def test_graphml_missing_or_broken_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_graphml(tmp_path / "absent.graphml")
    broken = tmp_path / "broken.graphml"
    broken.write_text("<graphml><graph>", encoding="utf-8")
    with pytest.raises(ValueError, match="GraphML"):
        load_graphml(broken)
