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


def test_all_pairs_demands_expand():
    r = _resolve({"name": "t",
                  "sites": [{"name": n, "lat_deg": 45.0, "lon_deg": 20.0 + i} for i, n in enumerate("ABCD")],
                  "demands": [{"all_pairs": ["A", "B", "C", "D"]}]})
    assert {frozenset((d["a"], d["b"])) for d in r.demands} == {frozenset(p) for p in
                                                               ("AB", "AC", "AD", "BC", "BD", "CD")}


def test_a_demand_asked_for_twice_is_refused_not_dropped():
    """Dropping the repeat silently would lose its required_key_rate_bps."""
    with pytest.raises(UserError, match=r"demands\[1\]: demand 'B' ↔ 'A' is asked for twice \(also in demands\[0\]\)"):
        _resolve({"name": "t",
                  "sites": [{"name": n, "lat_deg": 45.0, "lon_deg": 20.0 + i} for i, n in enumerate("ABCD")],
                  "demands": [{"all_pairs": ["A", "B", "C", "D"]}, {"a": "B", "b": "A", "required_key_rate_bps": 1.0}]})


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


GRAPHML = """<?xml version="1.0" encoding="utf-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key attr.name="label" attr.type="string" for="node" id="d0"/>
  <key attr.name="Latitude" attr.type="double" for="node" id="d1"/>
  <key attr.name="Longitude" attr.type="double" for="node" id="d2"/>
  <graph edgedefault="undirected">
    <node id="0"><data key="d0">Geneva</data><data key="d1">46.2044</data><data key="d2">6.1432</data></node>
    <node id="1"><data key="d0">Lausanne</data><data key="d1">46.5197</data><data key="d2">6.6323</data></node>
    <node id="2"><data key="d0">Bern</data><data key="d1">46.9480</data><data key="d2">7.4474</data></node>
    <edge source="0" target="1"/>
    <edge source="1" target="2"/>
  </graph>
</graphml>
"""


def test_graphml_topology_relative_to_scenario(tmp_path, cli):
    """A Topology Zoo style GraphML file next to the scenario: lengths from coordinates x route factor."""
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "swiss.graphml").write_text(GRAPHML)
    scenario = tmp_path / "swiss.yaml"
    scenario.write_text(
        "name: swiss\ntopology: {source: graphml, path: nets/swiss.graphml}\n"
        "sites:\n  - {name: Geneva, topology_node: Geneva, role: endpoint}\n"
        "  - {name: Bern, topology_node: Bern, role: endpoint}\n"
        "fibre: {route_factor: 1.25, extra_loss_db: 0}\nqkd: {preset: commercial_decoy_bb84}\n"
        "demands:\n  - {a: Geneva, b: Bern}\n"
    )
    out = tmp_path / "out"
    code, _, stderr = cli("run", scenario, "--out", out, "--no-plots", "--quiet")
    assert code == 0, stderr
    import pandas as pd

    row = pd.read_parquet(out / "demands.parquet").iloc[0]
    expected = 1.25 * (float(great_circle_distance_km(46.2044, 6.1432, 46.5197, 6.6323))
                       + float(great_circle_distance_km(46.5197, 6.6323, 46.9480, 7.4474)))
    assert row.route_sites == "Geneva > Lausanne > Bern"
    assert row.distance_km == pytest.approx(expected, rel=1e-9)
    (tmp_path / "nets" / "swiss.graphml").unlink()
    code, _, stderr = cli("validate", scenario)
    assert code == 2 and "topology.path" in stderr


def test_extends_merges_mappings_and_replaces_lists(tmp_path):
    from qnetemu.scenario.load import read_scenario_mapping

    (tmp_path / "base.yaml").write_text(
        "name: base\nfibre: {route_factor: 1.3, attenuation_db_per_km: 0.2}\ndemands: [{a: X, b: Y}]\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "study.yaml").write_text(
        "extends: ../base.yaml\nfibre: {attenuation_db_per_km: 0.17}\ndemands: [{a: P, b: Q}]\n")
    data = read_scenario_mapping(tmp_path / "sub" / "study.yaml")
    assert data == {"name": "base", "fibre": {"route_factor": 1.3, "attenuation_db_per_km": 0.17},
                    "demands": [{"a": "P", "b": "Q"}]}


def test_circular_extends_is_a_user_error(tmp_path):
    from qnetemu.scenario.load import read_scenario_mapping

    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    with pytest.raises(UserError) as info:
        read_scenario_mapping(tmp_path / "a.yaml")
    assert info.value.field == "extends" and "circular" in info.value.message
