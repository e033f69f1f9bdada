"""Repeater demands over the same fibre share its hardware max-min fairly (like trusted-node key)."""

from __future__ import annotations

import pytest

from qnetemu.architectures.repeater import share_hardware


def _row(path: str, alone: float, req: float | None = None, status: str = "ok") -> dict:
    return {"route_nodes": path.split(" > "), "status": status, "bottleneck_key_rate_bps": alone, "key_rate_bps": alone,
            "required_key_rate_bps": req}


def test_parking_lot_by_hand():
    """A-B, B-C and A-C on the line A - B - C: each span is crossed by two demands, so the
    max-min fair shares are 1/2 each (Bertsekas & Gallager's parking lot), whatever their
    rates alone; key = share x rate alone."""
    rows = [_row("A > B", 100.0), _row("B > C", 40.0), _row("A > B > C", 10.0)]
    share_hardware(rows)
    assert [r["hardware_share"] for r in rows] == pytest.approx([0.5, 0.5, 0.5])
    assert [r["key_rate_bps"] for r in rows] == pytest.approx([50.0, 20.0, 5.0])


def test_three_demands_on_one_span_and_a_lone_one():
    """Three demands on span A-B get 1/3 each; D-E alone keeps all of its hardware."""
    rows = [_row("A > B", 9.0), _row("A > B", 3.0), _row("X > A > B", 6.0), _row("D > E", 7.0)]
    share_hardware(rows)
    assert [r["hardware_share"] for r in rows] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0])
    assert rows[3]["key_rate_bps"] == pytest.approx(7.0)


def test_a_demand_capped_at_its_requirement_frees_hardware():
    """A-B needs 20 of its 100 bit/s alone: it takes a share of 0.2, and A-B-C gets the rest
    of span A-B (0.8) but only half of B-C, which it shares with B-C: 1/2 each there."""
    rows = [_row("A > B", 100.0, req=20.0), _row("A > B > C", 10.0), _row("B > C", 30.0)]
    share_hardware(rows)
    assert [r["hardware_share"] for r in rows] == pytest.approx([0.2, 0.5, 0.5])
    assert rows[0]["key_rate_bps"] == pytest.approx(20.0) and rows[0]["requirement_met"] is True
    assert rows[1]["requirement_met"] is None


def test_failed_and_unroutable_rows_take_nothing():
    rows = [_row("A > B", 10.0), _row("A > B", 10.0, status="failed"), {"route_nodes": [], "status": "no_path",
                                                                         "key_rate_bps": 0.0,
                                                                         "required_key_rate_bps": 1.0}]
    share_hardware(rows)
    assert rows[0]["hardware_share"] == pytest.approx(1.0)
    assert rows[1]["hardware_share"] == 0.0 and rows[1]["key_rate_bps"] == 0.0
    assert rows[2]["hardware_share"] == 0.0 and rows[2]["requirement_met"] is False


def test_shares_through_qnetemu_run(cli, tmp_path):
    """Through `qnetemu run`: West-East and West-Mid both cross span West-Mid, so each holds
    its hardware half the time (Mid-East is used by West-East only, which is bottlenecked at
    West-Mid): key = 1/2 x the rate alone, and the shares on West-Mid sum to 1."""
    import pandas as pd
    import yaml

    data = {
        "name": "shared",
        "sites": [{"name": "West", "lat_deg": 46.2, "lon_deg": 6.1}, {"name": "Mid", "lat_deg": 46.8, "lon_deg": 7.3},
                  {"name": "East", "lat_deg": 47.4, "lon_deg": 8.5}],
        "links": [{"a": "West", "b": "Mid", "length_km": 100.0}, {"a": "Mid", "b": "East", "length_km": 100.0}],
        "architectures": ["trusted_node", "repeater"],
        "qkd": {"preset": "commercial_decoy_bb84"},
        "trusted_nodes": {"reach_km": 100},
        "repeater": {"memory": {"coherence_time_s": 10.0}},
        "demands": [{"a": "West", "b": "East"}, {"a": "West", "b": "Mid"}],
    }
    path = tmp_path / "shared.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, stderr = cli("run", path, "--out", tmp_path / "out", "--engine", "analytic", "--no-plots", "--quiet")
    assert code == 0, stderr
    d = pd.read_parquet(tmp_path / "out" / "demands.parquet")
    rep = d[d.architecture == "repeater"]
    assert list(rep.hardware_share) == pytest.approx([0.5, 0.5])
    assert list(rep.key_rate_bps) == pytest.approx(list(0.5 * rep.bottleneck_key_rate_bps))
    assert (rep.key_rate_bps > 0).all()
