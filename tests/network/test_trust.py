"""Where a trusted node may stand (qnetemu.network.trust, and the network the pipeline builds).

Reference network: topohub 1.5.1's backbone/europe with capitals attached, as in
scenarios/euroqci.yaml. Facts used: Girne (Kyrenia) lies in the north of Cyprus; the
Paphos–Alanya link is tagged terrestrial in topohub but crosses about 165 km of the
Mediterranean between Cyprus and Turkey; Zürich is in Switzerland (not in the EU).
"""

from __future__ import annotations

import warnings

import pytest

from qnetemu.geodata import REGIONS, is_land
from qnetemu.network.trust import RelayRules, may_relay, set_relay_permissions
from qnetemu.pipeline import build_network, relay_rules
from qnetemu.scenario.load import validate_scenario_dict
from qnetemu.scenario.resolve import resolve
from qnetemu.scenario.topology import TopologyImportWarning

EU = REGIONS["EU"]


@pytest.mark.parametrize(
    ("name", "data", "rules", "expected"),
    [
        ("Vienna", {"country": "AT"}, RelayRules(), True),
        ("Bern", {"country": "CH"}, RelayRules(allow_countries=EU), False),
        ("Bern", {"country": "CH"}, RelayRules(allow_countries=EU, allow_nodes=frozenset({"Bern"})), True),
        ("Vienna", {"country": "AT"}, RelayRules(allow_countries=EU, forbid_nodes=frozenset({"Vienna"})), False),
        ("Vienna", {"country": "AT"}, RelayRules(forbid_countries=frozenset({"AT"})), False),
        # forbid_nodes wins over allow_nodes; a junction never relays, whatever the lists say.
        ("X", {"country": "AT"}, RelayRules(allow_nodes=frozenset("X"), forbid_nodes=frozenset("X")), False),
        ("W", {"country": None, "is_site": False}, RelayRules(allow_nodes=frozenset("W")), False),
        # Unknown country: allowed with no country rule, refused when allowed countries are listed.
        ("Rig", {"country": None}, RelayRules(), True),
        ("Rig", {"country": None}, RelayRules(allow_countries=EU), False),
        ("Rig", {"country": None}, RelayRules(forbid_countries=frozenset({"GB"})), True),
        ("SAT 1", {"role": "satellite", "country": None}, RelayRules(allow_countries=EU), True),
        ("SAT 1", {"role": "satellite", "country": None}, RelayRules(satellites=False), False),
        ("SAT 1", {"role": "satellite"}, RelayRules(forbid_nodes=frozenset({"SAT 1"})), False),
    ],
)
def test_rules_in_order(name, data, rules, expected):
    assert may_relay(name, data, rules) is expected


def _scenario(trust: dict | None = None):
    data = {
        "name": "eu",
        "topology": {"source": "topohub", "key": "backbone/europe", "role": "trusted_node"},
        "sites": [
            {"name": "Vienna", "lat_deg": 48.2082, "lon_deg": 16.3738, "attach": "nearest"},
            {"name": "Nicosia", "lat_deg": 35.1856, "lon_deg": 33.3823, "attach": "nearest"},
            {"name": "Valletta", "lat_deg": 35.8989, "lon_deg": 14.5146, "attach": "nearest"},
            {"name": "Las Palmas", "lat_deg": 28.1235, "lon_deg": -15.4363},
            {"name": "Saint-Denis", "lat_deg": -20.8823, "lon_deg": 55.4504},
            {"name": "Bucharest", "lat_deg": 44.4268, "lon_deg": 26.1025, "attach": "nearest"},
            {"name": "Chisinau", "lat_deg": 47.0105, "lon_deg": 28.8638, "country": "RO"},  # stated, wrongly
        ],
        "links": [{"a": "Bucharest", "b": "Chisinau"}],
        "qkd": {"preset": "commercial_decoy_bb84"},
        "trusted_nodes": {"reach_km": 100},
        "demands": [{"a": "Vienna", "b": "Nicosia"}],
    }
    if trust is not None:
        data["trust"] = trust
    scenario = validate_scenario_dict(data, "eu.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        resolved = resolve(scenario, file="eu.yaml")
    return scenario, resolved


@pytest.fixture(scope="module")
def eu_network():
    scenario, resolved = _scenario({"allow_countries": ["EU"], "allow_nodes": ["Zürich"], "forbid_nodes": ["Girne"]})
    graph, inserted = build_network(scenario, resolved)
    return graph, inserted


def test_sites_know_their_country(eu_network):
    graph, _ = eu_network
    countries = {n: graph.nodes[n]["country"] for n in
                 ("Vienna", "Nicosia", "Valletta", "Las Palmas", "Saint-Denis", "Bucharest", "Zürich", "Alanya")}
    assert countries == {"Vienna": "AT", "Nicosia": "CY", "Valletta": "MT", "Las Palmas": "ES",
                         "Saint-Denis": "RE", "Bucharest": "RO", "Zürich": "CH", "Alanya": "TR"}
    assert graph.nodes["Chisinau"]["country"] == "RO"  # a site's own statement wins over the gazetteer


def test_waypoints_are_never_trusted_nodes(eu_network):
    graph, _ = eu_network
    junctions = [n for n, d in graph.nodes(data=True) if not d["is_site"]]
    assert len(junctions) == 6  # the branching units; every other waypoint merged into its cable
    for n in junctions:
        d = graph.nodes[n]
        assert d["role"] == "junction" and d["can_relay"] is False and d["country"] is None
        assert graph.degree(n) >= 3
    assert not any(n.startswith("Seacable Waypoint") for n, d in graph.nodes(data=True) if d["is_site"])


def test_no_inserted_trusted_node_at_sea(eu_network):
    graph, inserted = eu_network
    assert len(inserted) > 500
    assert is_land([r["lat_deg"] for r in inserted], [r["lon_deg"] for r in inserted]).all()
    # Independently of the shoreline data: boxes of open sea (North Sea, Black Sea, Ionian Sea,
    # Bay of Biscay, Baltic south of Gotland, Tyrrhenian Sea, Balearic Sea, north of Cyprus) hold
    # no inserted node. The import before this rule put 16 in them (e.g. on Olbia–Civitavecchia,
    # Barcelona–Palma, Paphos–Alanya, Penmarch–Gijón, Katthammarsvik–Gdynia).
    seas = [(55.0, 57.0, 2.0, 5.0), (42.5, 44.0, 31.0, 36.0), (36.0, 38.0, 17.0, 19.5),
            (44.5, 46.0, -6.0, -3.0), (55.3, 56.3, 17.0, 19.5), (40.8, 41.6, 10.0, 11.5),
            (40.2, 41.0, 1.2, 2.4), (35.6, 36.2, 32.0, 32.6)]
    for lat0, lat1, lon0, lon1 in seas:
        assert not [r["name"] for r in inserted
                    if lat0 <= r["lat_deg"] <= lat1 and lon0 <= r["lon_deg"] <= lon1], (lat0, lon0)
    # Paphos–Alanya: tagged terrestrial, 242 km of fibre with 165 km of it under the sea.
    assert not any(r["link_id"] == "Paphos–Alanya" for r in inserted)
    assert graph.edges["Paphos", "Alanya"]["unsplit"] == "open water"
    # Submarine cables are one span between their landing points.
    split_cables = {d["split_from"] for *_, d in graph.edges(data=True)
                    if d.get("cable") == "submarine" and d.get("split_from")}
    assert split_cables == set()


def test_policy_sets_can_relay_as_specified(eu_network):
    graph, inserted = eu_network
    for name, d in graph.nodes(data=True):
        if name == "Zürich":
            expected = True
        elif name == "Girne":
            expected = False
        else:
            expected = d["is_site"] and d["country"] in EU
        assert d["can_relay"] is expected, (name, d["country"])
    assert graph.nodes["Alanya"]["can_relay"] is False and graph.nodes["Vienna"]["can_relay"] is True
    # Inserted nodes carry their country too, in the graph and in the report.
    assert all(graph.nodes[r["name"]]["country"] == r["country"] for r in inserted)
    assert {r["country"] for r in inserted} >= {"DE", "FR", "TR", "RU"}


def test_no_policy_lets_every_site_relay():
    scenario, resolved = _scenario()
    assert relay_rules(scenario) == RelayRules()
    graph, _ = build_network(scenario, resolved)
    assert all(d["can_relay"] is d["is_site"] for _, d in graph.nodes(data=True))


def test_set_relay_permissions_counts_and_fills_country():
    import networkx as nx

    graph = nx.Graph()
    graph.add_node("A", country="AT")
    graph.add_node("B")
    graph.add_node("W", is_site=False)
    assert set_relay_permissions(graph, RelayRules(allow_countries=EU)) == 2
    assert graph.nodes["B"]["country"] is None
    assert [graph.nodes[n]["can_relay"] for n in "ABW"] == [True, False, False]
