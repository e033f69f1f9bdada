"""The report's per-demand verdict: best architecture, margin, ties to the simpler one."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from qnetemu.report import best_architecture_table


def _rows(rates: dict[str, dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"a": pair[0], "b": pair[1], "architecture": arch, "key_rate_bps": rate, "trusted_nodes": 3,
         "distance_km": 300.0}
        for pair, by_arch in ((tuple(k.split("-")), v) for k, v in rates.items()) for arch, rate in by_arch.items()
    ])


def test_best_margin_and_ties():
    table = best_architecture_table(_rows({
        "A-B": {"trusted_node": 1000.0, "satellite": 1020.0, "repeater": 10.0},   # 2 % apart: a tie, trusted wins
        "A-C": {"trusted_node": 0.0, "satellite": 5.0, "repeater": 0.0},          # only the satellite
        "A-D": {"trusted_node": 100.0, "satellite": 100.0, "repeater": 400.0},    # repeaters x4
        "A-E": {"trusted_node": 0.0, "satellite": 0.0, "repeater": 0.0},          # nothing
    })).set_index(["a", "b"])
    assert table.loc[("A", "B"), "best"] == "trusted_node"
    assert table.loc[("A", "B"), "margin"] == pytest.approx(1000 / 1020)
    assert table.loc[("A", "C"), "best"] == "satellite" and table.loc[("A", "C"), "margin"] == math.inf
    assert table.loc[("A", "D"), "best"] == "repeater" and table.loc[("A", "D"), "margin"] == pytest.approx(4.0)
    assert table.loc[("A", "E"), "best"] == "none" and math.isnan(table.loc[("A", "E"), "margin"])
    assert table.loc[("A", "B"), "trusted_nodes_today"] == 3


def test_trust_summary_counts_barred_nodes_and_refused_demands():
    from qnetemu.report import trust_summary

    sites = pd.DataFrame({
        "name": ["A", "B", "C", "W", "S"],
        "role": ["endpoint", "trusted_node", "trusted_node", "junction", "satellite"],
        "country": ["AT", "CH", "CH", None, None],
        "can_relay": [True, False, False, False, True],
    })
    demands = pd.DataFrame({"a": ["A", "A"], "b": ["B", "C"], "architecture": ["trusted_node", "satellite"],
                            "status": ["no_allowed_path", "ok"]})
    text = trust_summary(sites, demands)
    assert "3 of 5 nodes may not relay" in text
    assert "1 cable junctions at sea, 2 barred by the trust policy: CH 2" in text
    assert "trusted nodes (fibre) 1" in text and "fibre + satellites" not in text
    assert trust_summary(sites.assign(can_relay=True), demands) == ""
    assert trust_summary(sites.drop(columns="can_relay"), demands) == ""
