"""The Python API: qnetemu.run / qnetemu.sweep return DataFrames; overrides, defaults, sharing, discovery."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from numpy.testing import assert_allclose

import qnetemu
from qnetemu.errors import UserError
from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.sweep import sharing
from qnetemu.sweep.axes import Point

ROOT = Path(__file__).resolve().parents[2]


def test_run_takes_a_path_a_mapping_or_a_scenario(scenarios_dir):
    path = scenarios_dir / "two_sites.yaml"
    by_path = qnetemu.run(path)
    by_mapping = qnetemu.run(yaml.safe_load(path.read_text()))
    by_model = qnetemu.run(qnetemu.load_scenario(path))
    for res in (by_path, by_mapping, by_model):
        assert isinstance(res.demands, pd.DataFrame) and isinstance(res.links, pd.DataFrame)
        assert isinstance(res.sites, pd.DataFrame)
        assert list(res.sites.name) == ["Alice", "Bob"]
    assert by_path.demands.key_rate_bps.iloc[0] == by_mapping.demands.key_rate_bps.iloc[0] \
        == by_model.demands.key_rate_bps.iloc[0] > 0


def test_overrides_change_the_physics_they_name(scenarios_dir):
    """40 km more fibre at 0.21 dB/km (still one link): the link's transmittance falls by exactly that loss."""
    base = qnetemu.run(scenarios_dir / "two_sites.yaml")
    longer = qnetemu.run(scenarios_dir / "two_sites.yaml", overrides={"links[0].length_km": 90.0})
    ratio = longer.links.transmittance.iloc[0] / base.links.transmittance.iloc[0]
    assert_allclose(ratio, fibre_transmittance(90.0, 0.21) / fibre_transmittance(50.0, 0.21), rtol=1e-12)
    assert longer.demands.key_rate_bps.iloc[0] < base.demands.key_rate_bps.iloc[0]


def test_a_default_can_be_overridden_and_architectures_chosen(scenarios_dir):
    """two_sites.yaml has no repeater section: its defaults are overridable by path."""
    path = scenarios_dir / "two_sites.yaml"
    split = {"repeater.placement.spacing_km": 25.0}  # one repeater in the middle: memories wait
    short = qnetemu.run(path, architectures=["repeater"], overrides={**split, "repeater.memory.coherence_time_s": 1e-4})
    long_ = qnetemu.run(path, architectures=["repeater"], overrides={**split, "repeater.memory.coherence_time_s": 10.0})
    assert set(short.demands.architecture) == {"repeater"}
    assert short.scenario.repeater.memory.coherence_time_s == 1e-4
    assert long_.demands.fidelity.iloc[0] > short.demands.fidelity.iloc[0]


def test_bad_override_or_architecture_is_a_user_error(scenarios_dir):
    path = scenarios_dir / "two_sites.yaml"
    with pytest.raises(UserError, match=r"overrides\['links\[5\]\.length_km'\]: names no parameter.*index \[5\] is out of range"):
        qnetemu.run(path, overrides={"links[5].length_km": 1.0})
    with pytest.raises(UserError, match=r"links\[0\]\.length_km"):
        qnetemu.run(path, overrides={"links[0].length_km": -3.0})
    with pytest.raises(UserError, match="unknown architecture 'repeaters'"):
        qnetemu.run(path, architectures=["repeaters"])


def test_import_qnetemu_exposes_what_a_script_needs():
    assert callable(qnetemu.sweep) and callable(qnetemu.run)
    for name in ("physics", "network", "plots", "scenario", "engines"):
        assert getattr(qnetemu, name).__name__ == f"qnetemu.{name}"
    assert qnetemu.Scenario.__name__ == "Scenario" and "sweep" in dir(qnetemu)
    import importlib

    runner = importlib.import_module("qnetemu.sweep.runner")  # the subpackage stays importable and callable
    assert runner.__name__ == "qnetemu.sweep.runner" and callable(qnetemu.sweep)


def test_sweep_api_returns_frames_and_shares_the_baseline(scenarios_dir, tmp_path):
    res = qnetemu.sweep(scenarios_dir / "repeater_chain.yaml", out_dir=tmp_path / "s",
                        axes={"repeater.memory.coherence_time_s": [0.01, 10.0], "repeater.swap_success_prob": [0.5, 1.0]},
                        architectures=["trusted_node", "repeater"])
    assert len(res.points) == 8 and (res.points.status == "ok").all()
    tn = res.demands[res.demands.architecture == "trusted_node"]
    assert tn.key_rate_bps.nunique() == 1 and len(tn) == 4
    journal = [yaml.safe_load(line) for line in (tmp_path / "s" / "journal.jsonl").read_text().splitlines()]
    shared = [r for r in journal if r.get("shared_from")]
    assert len(shared) == 3  # one trusted-node computation, copied to the three other hardware points
    assert_allclose(sorted(tn.seed), sorted(res.points[res.points.architecture == "trusted_node"].seed))
    rep = res.demands[res.demands.architecture == "repeater"].set_index(
        ["repeater.memory.coherence_time_s", "repeater.swap_success_prob"]).key_rate_bps
    assert rep[(10.0, 1.0)] > rep[(10.0, 0.5)] > 0 and rep[(10.0, 1.0)] > rep[(0.01, 1.0)]


def test_shared_sweep_equals_the_sweep_that_computes_every_point(scenarios_dir, tmp_path):
    import functools

    from qnetemu.pipeline import evaluate_point
    from qnetemu.scenario.load import read_scenario_mapping
    from qnetemu.sweep.runner import run_sweep

    path = scenarios_dir / "repeater_chain.yaml"
    raw = read_scenario_mapping(path)
    raw["sweep"] = {"seed": 3, "repetitions": 2, "architectures": ["trusted_node", "repeater"],
                    "axes": [{"path": "repeater.memory.memories_per_node", "values": [1, 8]}]}
    old = run_sweep(path, raw, out_dir=tmp_path / "old", executor="local", progress=False, share_work=False,
                    point_fn=functools.partial(evaluate_point, reuse_network=False))
    new = run_sweep(path, raw, out_dir=tmp_path / "new", executor="local", progress=False)
    assert old.total == new.total == 8
    a, b = (pd.read_parquet(tmp_path / d / "demands.parquet") for d in ("old", "new"))
    pd.testing.assert_frame_equal(a.drop(columns=["wall_s"], errors="ignore"), b.drop(columns=["wall_s"], errors="ignore"))


def point(index, arch, overrides, engine="analytic", rep=0):
    return Point(index=index, point_id=f"p{index}", overrides=overrides, rep=rep, engine=engine, architecture=arch,
                 seed=index)


def test_sharing_plan_only_merges_points_that_compute_alike():
    points = [
        point(0, "trusted_node", {"repeater.memory.efficiency": 0.5}),
        point(1, "trusted_node", {"repeater.memory.efficiency": 0.9}),
        point(2, "trusted_node", {"qkd.detector_efficiency": 0.2}),
        point(3, "repeater", {"repeater.memory.efficiency": 0.5}, rep=0),
        point(4, "repeater", {"repeater.memory.efficiency": 0.5}, rep=1),
        point(5, "repeater", {"repeater.memory.efficiency": 0.5}, engine="montecarlo", rep=0),
        point(6, "repeater", {"repeater.memory.efficiency": 0.5}, engine="montecarlo", rep=1),
    ]
    plan = sharing.plan(points)
    assert {k: [p.index for p in v] for k, v in plan.items()} == {"p0": [1]}


def test_choose_executor_serial_for_small_sweeps(monkeypatch):
    from qnetemu.sweep.runner import SERIAL_MAX_POINTS, choose_executor

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert choose_executor("auto", 9, None) == "local"
    assert choose_executor("auto", SERIAL_MAX_POINTS + 1, None) == "ray"
    assert choose_executor("auto", 2, "10.0.0.1:6379") == "ray"
    assert choose_executor("ray", 2, None) == "ray"


def test_validate_checks_the_sweep_section(cli, tmp_path, scenarios_dir):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump({"extends": str(scenarios_dir / "two_sites.yaml"), "sweep": {
        "seed": 1, "axes": [{"path": "repeater.memory.coherence_time_s", "values": [0.1, 1.0]}]}}))
    code, out, err = cli("validate", good)
    assert code == 0, err
    assert "sweep of 2 points" in out  # a default (no repeater section in the file) can be swept
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"extends": str(scenarios_dir / "two_sites.yaml"), "sweep": {
        "seed": 1, "axes": [{"path": "qkd.detector_efficiency", "values": [0.1, 1.5]}]}}))
    code, _, err = cli("validate", bad)
    assert code == 2 and "qkd.detector_efficiency" in err and len(err.strip().splitlines()) == 1


def test_topology_list_and_show(cli):
    code, out, _ = cli("topology", "list", "roedu")
    assert code == 0 and out.split() == ["topozoo/Roedunet"]
    code, out, _ = cli("topology", "show", "topozoo/Roedunet")
    assert code == 0
    row = next(line for line in out.splitlines() if "Bucaresti" in line)
    lat, lon = (float(x) for x in re.findall(r"\d+\.\d{4}", row)[:2])
    assert 44 < lat < 45 and 26 < lon < 27
    code, _, err = cli("topology", "show", "topozoo/Roedunt")
    assert code == 2 and "did you mean topozoo/Roedunet" in err


def test_unknown_topology_node_suggests_names(cli, tmp_path, scenarios_dir):
    raw = yaml.safe_load((scenarios_dir / "ronaqci.yaml").read_text())
    raw["sites"][2]["topology_node"] = "Cluj-Napoca"
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    code, _, err = cli("validate", path)
    assert code == 2 and "sites[2].topology_node" in err and "did you mean Cluj" in err


def test_readme_python_api_example_runs(tmp_path, monkeypatch):
    """The README's Python API example, executed as written (from the repository root)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
    assert isinstance(namespace["res"].demands, pd.DataFrame)
    assert np.isfinite(namespace["res"].demands.key_rate_bps).all()


def test_large_runs_print_a_summary_per_architecture():
    from rich.console import Console

    from qnetemu.cli import MAX_TABLE_ROWS, _summary_table

    rows = [{"a": f"A{i}", "b": "B", "architecture": arch, "key_rate_bps": float(i) if arch == "trusted_node" else 0.0,
             "trusted_nodes": i % 7, "distance_km": 100.0 * i}
            for i in range(1, MAX_TABLE_ROWS) for arch in ("trusted_node", "repeater")]
    console = Console(width=200, record=True)
    console.print(_summary_table(rows, "t"))
    text = console.export_text()
    assert "trusted nodes (fibre)" in text and f"{MAX_TABLE_ROWS - 1} of {MAX_TABLE_ROWS - 1}" in text
    assert "repeaters" in text and f"0 of {MAX_TABLE_ROWS - 1}" in text
    assert "20 bit/s" in text  # median of 1..39 bit/s
    assert len(text.splitlines()) < 10
