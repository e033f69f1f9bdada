"""``qnetemu sweep``: a small study end to end (serial executor), its figures, resume and errors."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml


@pytest.fixture
def study(tmp_path, scenarios_dir):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({
        "extends": str(scenarios_dir / "repeater_chain.yaml"),
        "sweep": {"seed": 7, "engines": ["analytic"], "architectures": ["trusted_node", "repeater"],
                  "axes": [{"path": "repeater.memory.coherence_time_s", "values": [0.01, 1.0]},
                           {"path": "repeater.memory.efficiency", "values": [0.5, 0.9]}]},
    }))
    return path


def test_sweep_runs_every_point_and_draws(cli, study, tmp_path):
    out = tmp_path / "sweep"
    code, stdout, stderr = cli("sweep", study, "--out", out, "--executor", "local", "--no-progress")
    assert code == 0, stderr
    assert "8 points, 8 ok, 0 failed" in stdout
    demands = pd.read_parquet(out / "demands.parquet")
    assert len(demands) == 8 and set(demands.architecture) == {"trusted_node", "repeater"}
    rep = demands[demands.architecture == "repeater"].set_index(
        ["repeater.memory.coherence_time_s", "repeater.memory.efficiency"]).key_rate_bps
    # Better memories never give less key (same chain, analytic engine).
    assert rep[(1.0, 0.9)] >= rep[(1.0, 0.5)] and rep[(1.0, 0.9)] >= rep[(0.01, 0.9)]
    tn = demands[demands.architecture == "trusted_node"].key_rate_bps
    assert tn.nunique() == 1  # the repeater axes do not touch the trusted-node baseline
    for stem in ("rate_vs_repeater_memory_coherence_time_s", "crossover_coherence_time_s_efficiency"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 5000
    assert (out / "baseline" / "figures" / "network_map.png").is_file()
    assert (out / "baseline" / "figures" / "repeater_vs_trusted_node.png").stat().st_size > 5000
    # Running again without --resume refuses; with --resume it has nothing left to do.
    code, _, stderr = cli("sweep", study, "--out", out, "--executor", "local", "--no-progress")
    assert code == 2 and "--resume" in stderr
    code, stdout, _ = cli("sweep", study, "--out", out, "--executor", "local", "--no-progress", "--resume")
    assert code == 0 and "(8 already done)" in stdout
    assert pd.read_parquet(out / "demands.parquet").equals(demands)


def test_sweep_errors(cli, tmp_path, scenarios_dir):
    code, _, stderr = cli("sweep", scenarios_dir / "two_sites.yaml", "--out", tmp_path / "o", "--executor", "local")
    assert code == 2 and "sweep" in stderr and "has no sweep" in stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"extends": str(scenarios_dir / "two_sites.yaml"), "sweep": {
        "seed": 1, "axes": [{"path": "qkd.detector_efficency", "values": [0.1, 0.2]}]}}))
    code, _, stderr = cli("sweep", bad, "--out", tmp_path / "o2", "--executor", "local")
    assert code == 2 and "sweep.axes[0].path" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o2" / "demands.parquet").exists()


def test_report_from_sweep_and_run(cli, study, tmp_path, scenarios_dir):
    out = tmp_path / "sweep"
    assert cli("sweep", study, "--out", out, "--executor", "local", "--no-progress", "--no-plots")[0] == 0
    code, stdout, _ = cli("report", out)
    assert code == 0 and "report.html" in stdout
    md = (out / "report.md").read_text()
    assert "Best architecture per demand" in md and "Repeater hardware study" in md
    assert "| West | East |" in md and "trusted_node" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4  # figures embedded: one self-contained file
    run = tmp_path / "run"
    assert cli("run", scenarios_dir / "space_demo.yaml", "--out", run, "--quiet")[0] == 0
    assert cli("report", run)[0] == 0
    md = (run / "report.md").read_text()
    assert "Space segment" in md and "OGS Teide" in md and "fibre + satellites" in md
    code, _, stderr = cli("report", tmp_path)
    assert code == 2 and "not a qnetemu run" in stderr
