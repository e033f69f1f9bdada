"""Satellites inside the network: trusted node in orbit, time-averaged edges, errors."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from qnetemu.architectures.satellite import mean_wait_s


@pytest.mark.parametrize(("ends_h", "expected_h"), [
    ([6.0, 18.0], 6.0),          # two evenly spaced passes: gaps 12 h, mean wait 12/2
    ([12.0], 12.0),              # one pass a day: mean wait half a day
    ([1.0, 2.0], (1 + 23**2) / 48),  # uneven gaps 1 h and 23 h: (1 + 529) / (2 x 24)
])
def test_mean_wait_closed_form(ends_h, expected_h):
    assert mean_wait_s([h * 3600 for h in ends_h], 86400.0) == pytest.approx(expected_h * 3600)


def test_mean_wait_without_pass_is_infinite():
    assert mean_wait_s([], 86400.0) == float("inf")


@pytest.fixture(scope="module")
def space_run(tmp_path_factory, scenarios_dir):
    from qnetemu.cli import main

    out = tmp_path_factory.mktemp("space") / "run"
    assert main(["run", str(scenarios_dir / "space_demo.yaml"), "--out", str(out), "--quiet"]) == 0
    return out


def test_island_reached_only_by_satellite(space_run):
    d = pd.read_parquet(space_run / "demands.parquet").set_index(["a", "b", "architecture"])
    fibre = d.loc[("Bucharest", "Las Palmas", "trusted_node")]
    assert fibre.status == "no_path" and fibre.key_rate_bps == 0
    sat = d.loc[("Bucharest", "Las Palmas", "satellite")]
    assert sat.status == "ok" and sat.key_rate_bps > 0
    assert "SAT QKDSat-1" in sat.path.split(" > ")
    assert "SAT QKDSat-1" in sat.trusted_node_names  # the satellite is a trusted node
    assert "satellite" in sat.segments and "fibre" in sat.segments
    assert sat.latency_s > 600  # waits for passes: minutes to hours, not fibre milliseconds
    # A fibre-only demand is the same under both architectures.
    assert d.loc[("Lisbon", "Madrid", "satellite")].bottleneck_key_rate_bps == pytest.approx(
        d.loc[("Lisbon", "Madrid", "trusted_node")].bottleneck_key_rate_bps)


def test_satellite_edge_is_key_per_day_from_passes(space_run):
    """Edge rate = sum of pass keys x weather availability / window length."""
    links = pd.read_parquet(space_run / "satellite_links.parquet")
    passes = pd.read_parquet(space_run / "passes.parquet")
    scenario = yaml.safe_load((space_run / "scenario.yaml").read_text())
    weather = {s["name"]: s["ground_station"]["weather_availability"] for s in scenario["sites"]
               if s.get("role") == "ground_station"}
    duration = scenario["space"]["duration_s"]
    trusted = links[links.service == "trusted_satellite"]
    assert len(trusted) == len(weather)
    for row in trusted.itertuples():
        bits = passes[passes.station == row.b].key_bits.sum()
        assert row.key_rate_bps == pytest.approx(bits * weather[row.b] / duration, rel=1e-12)
        assert row.key_bits_per_day == pytest.approx(row.key_rate_bps * 86400, rel=1e-12)
    # The satellite's allocation never exceeds what each station collects.
    d = pd.read_parquet(space_run / "demands.parquet")
    sat_rows = d[(d.architecture == "satellite") & d.path.str.contains("OGS Teide")]
    teide = trusted[trusted.b == "OGS Teide"].key_rate_bps.iloc[0]
    assert sat_rows.key_rate_bps.sum() <= teide * (1 + 1e-9)


def test_space_figures(space_run):
    for stem in ("pass_timelines", "ground_tracks", "station_pair_key_per_day"):
        assert (space_run / "figures" / f"{stem}.png").stat().st_size > 5000


def _space_scenario(scenarios_dir, **changes):
    data = yaml.safe_load((scenarios_dir / "space_demo.yaml").read_text())
    for path, value in changes.items():
        node = data
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        node[keys[-1]] = value
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"satellites.0.orbit.altitude_km": 100}, "satellites[0].orbit.altitude_km", "atmosphere"),
    ({"satellites.0.orbit.altitude_km": 2.0e6}, "satellites[0].orbit.altitude_km", "Hill sphere"),
    ({"satellites.0.orbit.inclination_deg": 200}, "satellites[0].orbit.inclination_deg", "less than or equal to 180"),
    ({"satellites.0.orbit": None, "satellites.0.tle": ["1 25544U garbage", "2 25544 nonsense"]},
     "satellites[0].tle", "TLE"),
    ({"space.duration_s": 600}, "sites[", "has no pass"),
])
def test_bad_space_input(tmp_path, cli, scenarios_dir, changes, field, words):
    path = tmp_path / "space.yaml"
    path.write_text(_space_scenario(scenarios_dir, **changes))
    code, _, stderr = cli("run", path, "--out", tmp_path / "out")
    assert code == 2, stderr
    # Progress lines may precede it (the pass search runs first); the error itself is one line.
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and field in errors[0] and words in errors[0], stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "out").exists()
