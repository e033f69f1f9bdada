"""Trust analyses through the scenario file: tables, values by hand, report sections, bad input."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from numpy.testing import assert_allclose

#: A ring of four 40 km links: A and C are joined two ways, through B and through D.
RING = {
    "name": "ring",
    "sites": [{"name": n, "lat_deg": 45.0, "lon_deg": 10.0 + i * 0.1} for i, n in enumerate("ABCD")],
    "links": [{"a": a, "b": b, "length_km": 40.0} for a, b in ("AB", "BC", "CD", "DA")],
    "qkd": {"preset": "commercial_decoy_bb84"},
    "trusted_nodes": {"compromise_probability": 0.1, "relay": "multipath", "multipath_paths": 2,
                      "n_minus_one": "both", "optical_bypass": False},
    "demands": [{"a": "A", "b": "C", "required_key_rate_bps": 1000.0}],
    "planning": {"candidates": {"B": 5.0, "D": 3.0}},
}


def _run(cli, tmp_path, data):
    path = tmp_path / "ring.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    out = tmp_path / "out"
    code, stdout, stderr = cli("run", path, "--out", out, "--quiet")
    return code, out, stderr


def test_ring_tables_by_hand(cli, tmp_path):
    code, out, stderr = _run(cli, tmp_path, RING)
    assert code == 0, stderr
    holders = pd.read_parquet(out / "key_holders.parquet").iloc[0]
    assert holders.relay_nodes_in_clear == 1
    assert_allclose(holders.exposure_probability, 0.1)  # one relay at p = 0.1
    multi = pd.read_parquet(out / "multipath.parquet").iloc[0]
    assert multi.status == "ok" and multi.paths_found == 2
    assert set(multi.paths.split(" | ")) == {"A > B > C", "A > D > C"}
    assert_allclose(multi.exposure_probability, 0.1 * 0.1)  # both one-relay paths must fall
    assert_allclose(multi.key_rate_bps, 1000.0)  # capped at the requirement
    elements = pd.read_parquet(out / "n_minus_one_elements.parquet")
    # the single path uses one relay and two links; losing any of them moves the key to the other side,
    # which still gives the 1 kbit/s required: nothing is lost
    assert len(elements) == 0
    plan = pd.read_parquet(out / "planning.parquet").set_index("node")
    assert bool(plan.loc["D", "built"]) and not bool(plan.loc["B", "built"])  # the cheaper relay suffices
    assert_allclose(plan.plan_cost.iloc[0], 3.0)
    report = cli("report", out)
    assert report[0] == 0
    text = (out / "report.md").read_text()
    for heading in ("## Who sees the key", "## Multipath relay over 2", "## What survives a failure", "## Where to build"):
        assert heading in text
    assert (out / "figures" / "key_exposure.png").is_file()


def test_n_minus_one_reports_a_cut(cli, tmp_path):
    data = dict(RING, links=[{"a": a, "b": b, "length_km": 40.0} for a, b in ("AB", "BC")], planning=None)
    data["trusted_nodes"] = dict(RING["trusted_nodes"], relay="single_path")
    code, out, stderr = _run(cli, tmp_path, data)
    assert code == 0, stderr
    rows = pd.read_parquet(out / "n_minus_one.parquet")
    assert set(zip(rows.element_kind, rows.element, strict=True)) == {("link", "A–B"), ("link", "B–C"), ("node", "B")}
    assert (rows.key_rate_after_bps == 0).all() and rows.below_requirement.all()
    assert (out / "figures" / "n_minus_one.png").is_file()


@pytest.mark.parametrize("change, field", [({"planning": {"candidates": {"Nowhere": 1.0}}}, "planning"),
                                           ({"trusted_nodes": {"multipath_paths": 1}}, "multipath_paths")])
def test_bad_trust_fields(cli, tmp_path, change, field):
    code, _, stderr = _run(cli, tmp_path, dict(RING, **change))
    assert code == 2
    assert field in stderr
