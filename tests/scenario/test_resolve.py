"""Resolution: topology import, binding sites to topology nodes, attach, references."""

from __future__ import annotations

import pytest

from qnetemu.errors import UserError
from qnetemu.geo import great_circle_distance_km
from qnetemu.scenario.load import validate_scenario_dict
from qnetemu.scenario.resolve import ATTACH_BIND_KM, resolve


def _resolve(data):
    return resolve(validate_scenario_dict(data, "s.yaml"), file="s.yaml")


ROEDUNET = {"source": "topohub", "key": "topozoo/Roedunet"}


def test_topology_node_binding_renames_node_and_its_links():
    r = _resolve({"name": "t", "topology": ROEDUNET,
                  "sites": [{"name": "Bucharest", "topology_node": "Bucaresti"}]})
    names = {s["name"] for s in r.sites}
    assert "Bucharest" in names and "Bucaresti" not in names and len(names) == 40
    bucharest = next(s for s in r.sites if s["name"] == "Bucharest")
    assert (bucharest["lat_deg"], bucharest["lon_deg"]) == (44.43, 26.11)  # topohub's coordinates
    assert bucharest["role"] == "endpoint"
    assert sum("Bucharest" in (link["a"], link["b"]) for link in r.links) == 15  # RoEduNet's hub degree
    assert all(link["route_factor"] == 1.3 for link in r.links)


def test_attach_binds_when_close_and_links_when_far():
    # Bucharest is ~0.8 km from topohub's 'Bucaresti'; Sulina is ~70 km from 'Tulcea'.
    r = _resolve({"name": "t", "topology": ROEDUNET, "sites": [
        {"name": "Bucharest", "lat_deg": 44.4268, "lon_deg": 26.1025, "attach": "nearest"},
        {"name": "Sulina", "lat_deg": 45.156, "lon_deg": 29.65, "attach": "nearest"}]})
    names = {s["name"] for s in r.sites}
    assert "Bucaresti" not in names and "Tulcea" in names
    attach = [link for link in r.links if link["source"] == "attach"]
    assert [(link["a"], link["b"]) for link in attach] == [("Sulina", "Tulcea")]
    assert great_circle_distance_km(45.156, 29.65, 45.17, 28.8) > ATTACH_BIND_KM


def test_all_pairs_demands_expand_and_deduplicate():
    r = _resolve({"name": "t",
                  "sites": [{"name": n, "lat_deg": 45.0, "lon_deg": 20.0 + i} for i, n in enumerate("ABCD")],
                  "demands": [{"all_pairs": ["A", "B", "C", "D"]}, {"a": "B", "b": "A"}]})
    assert len(r.demands) == 6


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"name": "t", "sites": [{"name": "A", "lat_deg": 1, "lon_deg": 1, "attach": "nearest"}]},
     "sites[0].attach", "needs an imported topology"),
    ({"name": "t", "topology": ROEDUNET, "sites": [{"name": "X", "topology_node": "Bucharest"}]},
     "sites[0].topology_node", "did you mean"),
    ({"name": "t", "topology": ROEDUNET, "sites": [{"name": "X", "topology_node": "Iasi"},
                                                  {"name": "Y", "topology_node": "Iasi"}]},
     "sites[1].topology_node", "already bound"),
    ({"name": "t", "sites": [{"name": "A", "lat_deg": 1, "lon_deg": 1}, {"name": "B", "lat_deg": 1, "lon_deg": 2}],
      "links": [{"a": "A", "b": "B"}, {"a": "B", "b": "A"}]}, "links[1]", "duplicate link"),
    ({"name": "t", "sites": [{"name": "A", "lat_deg": 1, "lon_deg": 1}, {"name": "B", "lat_deg": 1, "lon_deg": 2}],
      "links": [{"a": "A", "b": "B", "qkd_profile": "fast"}]}, "links[0].qkd_profile", "unknown QKD profile"),
])
def test_reference_errors_name_the_field(data, field, words):
    with pytest.raises(UserError) as info:
        _resolve(data)
    assert info.value.field == field and words in info.value.message and info.value.file == "s.yaml"
