"""The CLI's own input: usage errors, files that are not scenario files, names that look like markup,
damaged result files, and validate checking what run and sweep check (issue #10)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml


def _one_line(code, stdout, stderr, *words):
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stdout + stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(("args", "words"), [
    ([], ["a command is missing", "--help"]),
    (["--frobnicate"], ["No such option: --frobnicate"]),
    (["frob"], ["No such command 'frob'"]),
    (["run"], ["Missing argument 'scenario'"]),
    (["sweep", "scenarios/two_sites.yaml"], ["Missing option '--out'"]),
    (["run", "scenarios/two_sites.yaml", "--seed", "abc"], ["'--seed'"]),
    (["run", "scenarios/two_sites.yaml", "--seed", "-1"], ["'--seed'", "greater than or equal to 0"]),
    (["run", "scenarios/two_sites.yaml", "--seed", str(2**64)], ["'--seed'", "18446744073709551615"]),
    (["sweep", "scenarios/two_sites.yaml", "--out", "x", "--workers", "0"], ["'--workers'"]),
    (["emulate", "scenarios/two_sites.yaml", "--out", "x", "--seed", "-1"], ["'--seed'"]),
    (["serve", "scenarios/two_sites.yaml", "--certs", "x", "--port", "70000"], ["'--port'", "65535"]),
])
def test_usage_errors_are_one_line_exit_2(cli, args, words):
    _one_line(*cli(*args), *words)


def test_usage_error_from_the_installed_entry_point():
    """Typer bundles its own click: the error types must be caught in a real process too."""
    proc = subprocess.run([sys.executable, "-m", "qnetemu", "run", "--seed", "abc"], capture_output=True,
                          text=True, timeout=120)
    _one_line(proc.returncode, proc.stdout, proc.stderr, "'--seed'")


def test_largest_seed_is_accepted(cli, scenarios_dir, tmp_path):
    code, _, stderr = cli("run", scenarios_dir / "two_sites.yaml", "--seed", str(2**64 - 1), "--out",
                          tmp_path / "out", "--no-plots", "-q")
    assert code == 0, stderr


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "oversized", "not-utf8"])
def test_files_that_are_not_scenario_files(cli, tmp_path, kind):
    path = tmp_path / "s.yaml"
    if kind == "directory":
        path.mkdir()
        words = ["is a directory"]
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would block forever
        words = ["not a regular file"]
    elif kind == "device":
        path = "/dev/zero"  # reading it would never end
        words = ["not a regular file"]
    elif kind == "oversized":
        with open(path, "wb") as fh:
            fh.truncate(200 * 2**20)  # sparse: 200 MiB that costs no disk
        words = ["200.0 MiB", "limited to 16 MiB", "GraphML"]
    else:
        path.write_bytes(b"name: \xff\xfe\n")
        words = ["not UTF-8"]
    for command in ("validate", "run"):
        _one_line(*cli(command, path), str(path), *words)


def test_extends_chains_are_bounded(cli, tmp_path, scenarios_dir):
    for i in range(1000):
        (tmp_path / f"c{i}.yaml").write_text(f"extends: c{i + 1}.yaml\n")
    (tmp_path / "c1000.yaml").write_text((scenarios_dir / "two_sites.yaml").read_text())
    _one_line(*cli("validate", tmp_path / "c0.yaml"), "extends", "more than 16 files")
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    _one_line(*cli("validate", tmp_path / "a.yaml"), "extends", "circular extends")


def test_out_that_is_a_file_is_refused_before_work(cli, tmp_path, scenarios_dir):
    target = tmp_path / "file"
    target.write_text("keep me")
    for out in (target, target / "below"):
        _one_line(*cli("run", scenarios_dir / "two_sites.yaml", "--out", out), "--out", "not a directory")
        _one_line(*cli("sweep", scenarios_dir / "two_sites.yaml", "--out", out), "--out", "not a directory")
    assert target.read_text() == "keep me"


def test_names_are_printed_as_text_not_markup_or_terminal_controls(cli, tmp_path):
    name = "Al[/bold]ice\x1b[31m\u2028[red]x"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "x[/bold]", "sites": [{"name": name, "lat_deg": 46.2, "lon_deg": 6.14},
                                      {"name": "Bob", "lat_deg": 46.5, "lon_deg": 6.6}],
        "links": [{"a": name, "b": "Bob", "length_km": 50.0}], "demands": [{"a": name, "b": "Bob"}]}))
    code, stdout, stderr = cli("validate", path)
    assert code == 0, stderr
    assert "'x[/bold]'" in stdout
    code, stdout, stderr = cli("run", path, "--out", tmp_path / "out", "--no-plots")
    assert code == 0, stderr
    assert "\x1b" not in stdout + stderr and "\u2028" not in stdout + stderr
    assert "Al[/bold]ice\\x1b[31m\\u2028[red]x" in stdout  # shown, escaped, never interpreted
    # An error message quoting the name is one line and escaped as well.
    bad = yaml.safe_load(path.read_text())
    bad["demands"] = [{"a": name, "b": "Nowhere[/x]"}]
    path.write_text(yaml.safe_dump(bad))
    line = _one_line(*cli("validate", path), "unknown site 'Nowhere[/x]'")
    assert "\x1b" not in line


def test_validate_runs_the_space_checks_run_runs(cli, tmp_path, scenarios_dir):
    """Garbage TLE and a station no satellite sees: validate refuses what run would refuse."""
    base = yaml.safe_load((scenarios_dir / "space_demo.yaml").read_text())
    garbage = dict(base, satellites=[dict(base["satellites"][0], orbit=None, tle=["garbage", "more garbage"])])
    del garbage["satellites"][0]["orbit"]
    blind = yaml.safe_load(yaml.safe_dump(base))
    teide = next(s for s in blind["sites"] if s["name"] == "OGS Teide")
    teide["lat_deg"] = -89.0  # a sun-synchronous 500 km orbit at night in March: never over the South Pole
    for data, words in ((garbage, ["satellites[0].tle", "69 characters"]),
                        (blind, ["sites[4]", "'OGS Teide' has no pass"])):
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(data))
        lines = {_one_line(*cli(command, path, *extra), *words)
                 for command, extra in (("validate", []), ("run", ["--out", tmp_path / "out"]))}
        assert len(lines) == 1  # the same line from both commands
        assert not (tmp_path / "out").exists()


def test_validate_checks_the_sweep_and_every_point(cli, tmp_path, scenarios_dir):
    """A swept reach_km that would insert millions of nodes is refused by validate, naming the point."""
    data = yaml.safe_load((scenarios_dir / "two_sites.yaml").read_text())
    data["sweep"] = {"seed": 1, "axes": [{"path": "trusted_nodes.reach_km", "values": [100.0, 1e-6]}],
                     "architectures": ["trusted_node"]}
    data["trusted_nodes"] = {"reach_km": 100.0}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    line = _one_line(*cli("validate", path), "sweep point 1", "trusted_nodes.reach_km",
                     "limits.max_inserted_trusted_nodes")
    assert line == _one_line(*cli("sweep", path, "--out", tmp_path / "sw", "--executor", "local"))
    assert not (tmp_path / "sw").exists()
    data["limits"] = {"max_inserted_trusted_nodes": 10**9}  # the documented way to raise it
    data["sweep"]["axes"][0]["values"] = [100.0, 0.1]
    path.write_text(yaml.safe_dump(data))
    code, stdout, stderr = cli("validate", path)
    assert code == 0 and "sweep of 2 points" in stdout, stderr


def test_tiny_swap_probability_is_refused_in_one_line_not_a_crash(cli, tmp_path, scenarios_dir):
    """swap_success_prob 1e-300: (1e-300)^depth underflows to 0; the analytic engine refuses the
    chain before allocating its waiting-time grid instead of dividing by zero. The refusal is the
    chain's (its grid would not fit), so the run records it in that demand's row and goes on."""
    import pandas as pd

    data = yaml.safe_load((scenarios_dir / "repeater_chain.yaml").read_text())
    data["repeater"]["swap_success_prob"] = 1e-300
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    code, stdout, stderr = cli("run", path, "--out", tmp_path / "out", "--no-plots", "-q")
    assert code == 0 and "Traceback" not in stdout + stderr, stderr
    rows = pd.read_parquet(tmp_path / "out" / "demands.parquet")
    row = rows[rows.architecture == "repeater"].iloc[0]
    assert row.status == "beyond_engine" and row.key_rate_bps == 0.0
    assert "grid points" in row.error and "use the montecarlo engine" in row.error


@pytest.mark.parametrize("damage", ["manifest-not-json", "manifest-a-list", "parquet-garbage"])
def test_damaged_results_are_one_line(cli, tmp_path, scenarios_dir, damage):
    out = tmp_path / "out"
    assert cli("run", scenarios_dir / "two_sites.yaml", "--out", out, "--no-plots", "-q")[0] == 0
    if damage == "manifest-not-json":
        (out / "manifest.json").write_text('{"torn": ')
        words = ["manifest.json", "not valid JSON"]
    elif damage == "manifest-a-list":
        (out / "manifest.json").write_text(json.dumps([1, 2]))
        words = ["manifest.json", "not an object"]
    else:
        (out / "links.parquet").write_bytes(b"PAR1 not really")
        words = ["links.parquet", "not a Parquet file"]
    _one_line(*cli("plot", out), *words)


def test_damaged_sweep_manifest_on_resume_is_one_line(cli, tmp_path, scenarios_dir):
    data = yaml.safe_load((scenarios_dir / "two_sites.yaml").read_text())
    data["sweep"] = {"seed": 1, "axes": [{"path": "links[0].length_km", "values": [40.0, 60.0]}]}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "sw"
    out.mkdir()
    (out / "sweep.json").write_text("{torn")
    _one_line(*cli("sweep", path, "--out", out, "--executor", "local", "--resume", "--no-plots"),
              "sweep.json", "not valid JSON")
    assert (out / "sweep.json").read_text() == "{torn"
