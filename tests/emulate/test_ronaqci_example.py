"""The RoNaQCI emulation example tells the story its README section tells, with numbers by hand.

``scenarios/ronaqci-emulation.yaml`` sizes its applications and stores for
the links of ``ronaqci.yaml``: every application draws at most about half
of its route's bottleneck, so the stores fill in the first day, and a full
Bucharest–Constanța store lasts store / draw (13.7 h), well inside the
36-hour cut. The stored example (``results/examples/ronaqci-emulation``)
must show its first miss where that hand derivation puts it.
"""

from __future__ import annotations

import pandas as pd
import pytest

import qnetemu
from qnetemu.scenario.load import read_scenario_mapping

PAIR = ("Bucharest", "Constanța")


@pytest.fixture(scope="module")
def example(scenarios_dir):
    path = scenarios_dir / "ronaqci-emulation.yaml"
    return read_scenario_mapping(path)["emulation"], qnetemu.run(path).demands.set_index(["a", "b"])


def _draw_bps(emulation) -> dict[tuple[str, str], float]:
    draw: dict[tuple[str, str], float] = {}
    for app in emulation["applications"]:
        bps = app.get("rate_bps") or app["request_bits"] / app["period_s"]
        draw[(app["a"], app["b"])] = draw.get((app["a"], app["b"]), 0.0) + bps
    return draw


def test_every_pair_draws_at_most_60_percent_of_its_bottleneck(example):
    emulation, demands = example
    for pair, bps in _draw_bps(emulation).items():
        assert bps <= 0.6 * demands.loc[pair].bottleneck_key_rate_bps, (pair, bps)


def test_constanta_store_fills_before_the_cut_and_drains_during_it(example):
    """Fill: store / (bottleneck - draw) < cut start; drain: store / draw = 1e8 / 2,025.6 s = 13.7 h < 36 h."""
    emulation, demands = example
    (cut,) = [o for o in emulation["outages"] if (o["a"], o["b"]) == PAIR]
    store = emulation["store_capacity_bits"]
    draw = _draw_bps(emulation)[PAIR]
    assert draw == pytest.approx(2025.6)
    fill_s = store / (demands.loc[PAIR].bottleneck_key_rate_bps - draw)
    drain_s = store / draw
    assert fill_s < cut["start_s"]
    assert drain_s == pytest.approx(49_368, abs=1) and drain_s < cut["duration_s"]


def test_stored_example_misses_where_the_hand_derivation_says(example, scenarios_dir):
    """First OTP miss within one key block (< 20 s on these links) of cut start + drain time; the rest served."""
    emulation, _ = example
    results = scenarios_dir.parent / "results" / "examples" / "ronaqci-emulation"
    outages = pd.read_csv(results / "outages.csv")
    (cut,) = [o for o in emulation["outages"] if (o["a"], o["b"]) == PAIR]
    drain_s = emulation["store_capacity_bits"] / _draw_bps(emulation)[PAIR]
    otp = outages[(outages.application == "Bucharest ↔ Constanța OTP") & (outages.start_s >= cut["start_s"])]
    assert otp.start_s.min() == pytest.approx(cut["start_s"] + drain_s, abs=20)
    availability = pd.read_csv(results / "availability.csv").set_index("application")
    others = availability[availability.b != "Constanța"]
    assert (others.availability > 0.999).all()
