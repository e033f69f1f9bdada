"""Results directories: what --overwrite may replace, locking, damaged files, names as paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from qnetemu.errors import UserError
from qnetemu.results import outdir
from qnetemu.results.outdir import DirLock, safe_component


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def two_sites(scenarios_dir) -> Path:
    return scenarios_dir / "two_sites.yaml"


@pytest.fixture
def old_run(cli, two_sites, tmp_path) -> Path:
    """A run result written with seed 1 (the new ones use seed 2)."""
    out = tmp_path / "res"
    code, _, err = cli("run", two_sites, "--out", out, "--seed", "1", "--no-plots", "-q")
    assert code == 0, err
    return out


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def no_leftovers(parent: Path) -> None:
    stray = [p.name for p in parent.iterdir() if ".qnetemu-" in p.name]
    assert not stray, stray


def test_overwrite_replaces_a_qnetemu_run_and_leaves_nothing_behind(cli, two_sites, old_run):
    assert json.loads((old_run / "manifest.json").read_text())["written_by"] == "qnetemu"
    code, _, err = cli("run", two_sites, "--out", old_run, "--seed", "2", "--overwrite", "-q")
    assert code == 0, err
    assert json.loads((old_run / "manifest.json").read_text())["seed"] == 2
    assert (old_run / "figures" / "network_map.png").is_file()  # figures are part of the swap
    no_leftovers(old_run.parent)


def test_without_overwrite_an_existing_result_is_refused(cli, two_sites, old_run):
    before = snapshot(old_run)
    code, _, err = cli("run", two_sites, "--out", old_run, "-q")
    assert code == 2 and "--overwrite" in one_line(err)
    assert snapshot(old_run) == before


def test_overwrite_refuses_a_directory_qnetemu_did_not_write(cli, two_sites, tmp_path):
    home = tmp_path / "home"
    (home / "thesis").mkdir(parents=True)
    (home / "thesis" / "chapter1.tex").write_text("precious")
    (home / ".bashrc").write_text("precious too")
    before = snapshot(home)
    code, _, err = cli("run", two_sites, "--out", home, "--overwrite", "-q")
    assert code == 2 and "not a qnetemu results directory" in one_line(err)
    assert snapshot(home) == before
    no_leftovers(tmp_path)


def test_overwrite_refuses_the_working_directory(cli, two_sites, tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("precious")
    monkeypatch.chdir(tmp_path)
    for target in (".", str(tmp_path), ".."):
        code, _, err = cli("run", two_sites, "--out", target, "--overwrite", "-q")
        assert code == 2 and "working directory" in one_line(err), target
    assert (tmp_path / "notes.txt").read_text() == "precious"


def test_overwrite_refuses_a_file_and_a_symlink(cli, two_sites, old_run, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("precious")
    code, _, err = cli("run", two_sites, "--out", a_file, "--overwrite", "-q")
    assert code == 2 and "not a directory" in one_line(err)
    assert a_file.read_text() == "precious"
    link = tmp_path / "link"
    link.symlink_to(old_run)
    before = snapshot(old_run)
    code, _, err = cli("run", two_sites, "--out", link, "--overwrite", "-q")
    assert code == 2 and "symbolic link" in one_line(err)
    assert link.is_symlink() and snapshot(old_run) == before


def test_overwrite_refuses_a_damaged_manifest(cli, two_sites, old_run):
    (old_run / "manifest.json").write_bytes(b'{"written_by": "qnetemu", \xff')
    before = snapshot(old_run)
    code, _, err = cli("run", two_sites, "--out", old_run, "--overwrite", "-q")
    line = one_line(err)
    assert code == 2 and "manifest.json" in line and "damaged" in line
    assert snapshot(old_run) == before


def test_a_locked_result_is_refused_in_one_line(cli, two_sites, old_run):
    before = snapshot(old_run)
    with DirLock(old_run):  # flock conflicts between two open files, in one process too
        code, _, err = cli("run", two_sites, "--out", old_run, "--overwrite", "-q")
    line = one_line(err)
    assert code == 2 and "being written by another qnetemu process" in line and f"pid {os.getpid()}" in line
    assert snapshot(old_run) == before
    no_leftovers(old_run.parent)  # the lock file goes with its holder


def test_plot_of_damaged_files_is_one_line(cli, old_run):
    (old_run / "demands.parquet").write_bytes(b"PAR1 not really")
    code, _, err = cli("plot", old_run)
    assert code == 2 and "demands.parquet" in one_line(err) and "damaged" in err
    (old_run / "manifest.json").write_text("[1, 2")
    code, _, err = cli("plot", old_run)
    assert code == 2 and "manifest.json" in one_line(err)
    (old_run / "manifest.json").write_text("[1, 2]")
    code, _, err = cli("report", old_run)
    assert code == 2 and "manifest.json" in one_line(err) and "not an object" in err


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/qnetemu-escaped", "a\0b", "x" * 1000, "..", "ok/../../up"])
def test_results_stay_under_results_whatever_the_name(cli, two_sites, tmp_path, monkeypatch, name):
    work = tmp_path / "work"
    work.mkdir()
    scenario = yaml.safe_load(two_sites.read_text())
    scenario["name"] = name
    path = work / "named.yaml"
    path.write_text(yaml.safe_dump(scenario))
    monkeypatch.chdir(work)
    code, _, err = cli("run", path, "--no-plots", "-q")
    assert set(os.listdir(work)) <= {"named.yaml", "results"}
    assert not Path("/tmp/qnetemu-escaped").exists() and not (tmp_path / "escaped").exists()
    if code == 0:
        (made,) = list((work / "results").iterdir())
        assert made.parent == work / "results" and len(made.name.encode()) <= 100
        assert "\0" not in made.name and "/" not in made.name and not made.name.startswith(".")
    else:  # a name the schema refuses is one line, exit 2
        assert code == 2 and one_line(err)


def test_safe_component():
    assert safe_component("../../x") == "x"
    assert safe_component("/tmp/x") == "tmp_x"
    assert safe_component("a\0b\x1b[31m") == "a_b_31m"
    assert safe_component("ronaqci") == "ronaqci" and safe_component("Iași ↔ Cluj") == "Iași_Cluj"
    assert safe_component("..") == safe_component("") == safe_component("///") == "scenario"
    long = safe_component("é" * 500)
    assert len(long.encode()) <= outdir.MAX_NAME_BYTES and long == "é" * (outdir.MAX_NAME_BYTES // 2)


# --- sweeps ------------------------------------------------------------------------------------


@pytest.fixture
def study(tmp_path, scenarios_dir) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({
        "extends": str(scenarios_dir / "two_sites.yaml"),
        "sweep": {"seed": 3, "axes": [{"path": "links[0].length_km", "values": [20.0, 40.0]}]},
    }))
    return path


def sweep(cli, study, out, *extra):
    return cli("sweep", study, "--out", out, "--executor", "local", "--no-progress", "--no-plots", *extra)


def test_sweep_never_writes_into_a_run_result_or_a_foreign_directory(cli, study, old_run, tmp_path):
    (old_run / "baseline").mkdir()
    (old_run / "baseline" / "keep.txt").write_text("precious")
    before = snapshot(old_run)
    code, _, err = sweep(cli, study, old_run)
    assert code == 2 and "not a qnetemu sweep directory" in one_line(err) and "run result" in err
    assert snapshot(old_run) == before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.csv").write_text("1,2\n")
    code, _, err = sweep(cli, study, foreign, "--resume")
    assert code == 2 and "not a qnetemu sweep directory" in one_line(err)
    assert sorted(os.listdir(foreign)) == ["data.csv"]
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    code, _, err = sweep(cli, study, a_file)
    assert code == 2 and "not a directory" in one_line(err)


def test_sweep_is_locked_while_written_and_resumes_its_own_directory(cli, study, tmp_path):
    out = tmp_path / "sw"
    with DirLock(out):
        code, _, err = sweep(cli, study, out)
    assert code == 2 and "being written by another qnetemu process" in one_line(err)
    assert not (out / "journal.jsonl").exists()
    code, stdout, err = sweep(cli, study, out)
    assert code == 0 and "2 ok" in stdout, err
    (out / "sweep.json.tmp").write_text("{torn")  # what a kill during the manifest write leaves
    code, stdout, err = sweep(cli, study, out, "--resume")
    assert code == 0 and "(2 already done)" in stdout, err
    assert not (out / "sweep.json.tmp").exists()
    no_leftovers(tmp_path)


def test_damaged_sweep_manifest_is_one_line(cli, study, tmp_path):
    out = tmp_path / "sw"
    assert sweep(cli, study, out)[0] == 0
    (out / "sweep.json").write_text('{"scenario_hash": ')
    for args in (("sweep", study, "--out", out, "--executor", "local", "--resume"), ("plot", out), ("report", out)):
        code, _, err = cli(*args)
        assert code == 2 and "sweep.json" in one_line(err) and "damaged" in err, args
    (out / "sweep.json").write_text("{}")
    (out / "demands.parquet").write_bytes(b"\0" * 64)
    code, _, err = cli("plot", out)
    assert code == 2 and "demands.parquet" in one_line(err)


def test_failed_points_exit_non_zero_and_say_how_many(cli, study, tmp_path, monkeypatch):
    import qnetemu.pipeline

    real = qnetemu.pipeline.evaluate_point

    def sometimes(scenario, **kw):
        if scenario["links"][0]["length_km"] == 40.0:
            raise RuntimeError("detector on fire")
        return real(scenario, **kw)

    monkeypatch.setattr(qnetemu.pipeline, "evaluate_point", sometimes)
    out = tmp_path / "sw"
    code, stdout, err = sweep(cli, study, out)
    assert code == 1 and "2 points, 1 ok, 1 failed" in stdout
    assert "1 of 2 points failed" in one_line(err) and "points.csv" in err
    points = pd.read_parquet(out / "points.parquet")
    assert "detector on fire" in points.set_index("status").loc["failed", "error"]
    monkeypatch.setattr(qnetemu.pipeline, "evaluate_point", real)
    code, stdout, _ = sweep(cli, study, out, "--resume")  # the failed point runs again and succeeds
    assert code == 0 and "2 ok, 0 failed" in stdout


def test_lock_is_exclusive_and_removed(tmp_path):
    target = tmp_path / "t"
    with DirLock(target) as lock:
        assert lock.path.is_file() and lock.path.read_text().strip() == str(os.getpid())
        with pytest.raises(UserError, match="being written"):
            DirLock(target).acquire()
        assert DirLock(target).acquire(refuse=False) is False
    assert not lock.path.exists()
    with DirLock(target):  # free again
        pass


def test_a_dead_writers_lock_file_is_cleaned_by_the_next_run(cli, two_sites, tmp_path):
    parent = tmp_path / "results"
    parent.mkdir()
    (parent / ".dead-run.qnetemu-lock").write_text("99999\n")  # its writer was killed before writing anything
    code, _, err = cli("run", two_sites, "--out", parent / "next", "--no-plots", "-q")
    assert code == 0, err
    assert sorted(os.listdir(parent)) == ["next"]
