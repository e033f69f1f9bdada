"""Emulation figures: drawn from the stored tables, showing the stores that matter."""

from __future__ import annotations

import pandas as pd

from qnetemu.plots.emulation import _max_drawdown_bits, store_levels


def test_drawdown_ignores_filling_and_finds_the_drained_store():
    levels = pd.DataFrame({
        "time_s": [0, 1, 2, 3] * 2,
        "link_id": ["filling"] * 4 + ["drained"] * 4,
        "level_bits": [0, 5, 10, 10, 0, 10, 4, 6],
    })
    drawdown = _max_drawdown_bits(levels)
    assert drawdown["filling"] == 0 and drawdown["drained"] == 6


def test_store_levels_draws_the_drained_link_first_and_merges_identical_ones():
    levels = pd.DataFrame({
        "time_s": [0, 1, 2] * 3, "link_id": ["x/1"] * 3 + ["x/2"] * 3 + ["y"] * 3,
        "level_bits": [10, 2, 10, 10, 2, 10, 0, 5, 10], "up": True,
    })
    links = pd.DataFrame({"link_id": ["y", "x/1", "x/2"], "consumed_bits": [1.0, 1.0, 1.0]})
    events = pd.DataFrame({"time_s": [0.5, 1.5], "element": "link", "name": ["x/1", "x/1"], "event": ["down", "up"],
                           "cause": "scheduled"})
    fig = store_levels(levels, links, events, title="t")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["x/1 (+1 alike)", "y"]
    assert len(fig.axes[0].patches) == 1  # the outage of x/1, shaded once


def test_a_line_on_top_of_another_is_dashed_the_rest_stay_solid():
    """x and z differ by 1 % of the fullest store (more than the 0.5 % that merges lines, less than a line's width)."""
    levels = pd.DataFrame({
        "time_s": [0, 1, 2] * 3, "link_id": ["x"] * 3 + ["y"] * 3 + ["z"] * 3,
        "level_bits": [0, 50, 100, 0, 20, 100, 0, 51, 100], "up": True,
    })
    links = pd.DataFrame({"link_id": ["x", "y", "z"], "consumed_bits": [3.0, 2.0, 1.0]})
    events = pd.DataFrame(columns=["time_s", "element", "name", "event", "cause"])
    fig = store_levels(levels, links, events, title="t")
    styles = {line.get_label(): line.get_linestyle() for line in fig.axes[0].get_lines()}
    assert styles["x"] == "-" and styles["y"] == "-"
    assert styles["z"] == "--"
