"""kill -9 a real ``qnetemu run --overwrite`` at every step of the swap: the old or the new result survives, whole.

The child process replaces :func:`qnetemu.results.outdir.checkpoint` with one
that kills itself at a named step (or pauses there), so each step is hit
exactly; one more test kills from outside whenever the temporary directory
appears.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, sys.argv[1])
    from qnetemu.results import outdir
    step, mode, marker = sys.argv[2], sys.argv[3], sys.argv[4]
    if mode == "no-exchange":
        outdir.exchange = lambda new, target: False  # the rename-aside path of systems without it

    def checkpoint(name):
        if name != step:
            return
        open(marker, "w").close()
        if mode == "pause":
            time.sleep(120)
        os.kill(os.getpid(), signal.SIGKILL)

    outdir.checkpoint = checkpoint
    from qnetemu.cli import main
    sys.exit(main(sys.argv[5:]))
    """
)


def run_child(tmp_path, scenario, out, step, mode="kill", wait=True):
    marker = tmp_path / f"marker-{step}-{mode}"
    args = [sys.executable, "-c", CHILD, str(ROOT), step, mode, str(marker),
            "run", str(scenario), "--out", str(out), "--seed", "2", "--overwrite", "--no-plots", "-q"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if wait:
        proc.communicate(timeout=300)
    return proc, marker


def seed_of_whole_result(directory: Path) -> int:
    """The seed of a complete result (every table its manifest lists, with its rows); fails otherwise."""
    manifest = json.loads((directory / "manifest.json").read_text())
    for name, rows in manifest["tables"].items():
        assert len(pd.read_parquet(directory / f"{name}.parquet")) == rows
        csv = directory / f"{name}.csv"
        assert csv.is_file() and (rows == 0 or len(pd.read_csv(csv)) == rows)
    assert (directory / "scenario.yaml").is_file() and (directory / "resolved.json").is_file()
    return manifest["seed"]


def stray(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".qnetemu-" in p.name)


@pytest.fixture
def old(cli, scenarios_dir, tmp_path) -> Path:
    out = tmp_path / "results" / "res"
    code, _, err = cli("run", scenarios_dir / "two_sites.yaml", "--out", out, "--seed", "1", "--no-plots", "-q")
    assert code == 0, err
    return out


@pytest.mark.parametrize(("step", "mode", "survivor"), [
    ("written", "kill", 1),        # new result complete, not yet swapped in: the old one stays
    ("exchanged", "kill", 2),      # swapped, old not yet deleted: the new one is there
    ("written", "no-exchange", 1),
    ("aside", "no-exchange", 1),   # old moved aside, new not in: the next run puts the old one back
    ("renamed", "no-exchange", 2),
])
def test_kill_at_each_step_leaves_old_or_new(cli, scenarios_dir, tmp_path, old, step, mode, survivor):
    proc, marker = run_child(tmp_path, scenarios_dir / "two_sites.yaml", old, step, mode)
    assert proc.returncode == -signal.SIGKILL and marker.exists(), proc.stderr
    assert stray(old.parent)  # the killed writer left its temporary directory (and lock file)
    # The next run, of any result in the same place, recovers and cleans up.
    code, _, err = cli("run", scenarios_dir / "two_sites.yaml", "--out", old.parent / "other", "--no-plots", "-q")
    assert code == 0, err
    assert seed_of_whole_result(old) == survivor
    assert stray(old.parent) == []
    # And the result can be replaced again as usual.
    code, _, err = cli("run", scenarios_dir / "two_sites.yaml", "--out", old, "--seed", "3", "--overwrite",
                       "--no-plots", "-q")
    assert code == 0 and seed_of_whole_result(old) == 3, err
    assert stray(old.parent) == []


def test_a_concurrent_writer_is_refused_and_a_killed_one_loses_nothing(cli, scenarios_dir, tmp_path, old):
    proc, marker = run_child(tmp_path, scenarios_dir / "two_sites.yaml", old, "written", "pause", wait=False)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        code, _, err = cli("run", scenarios_dir / "two_sites.yaml", "--out", old, "--overwrite", "--no-plots", "-q")
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert f"being written by another qnetemu process (pid {proc.pid})" in err
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    assert seed_of_whole_result(old) == 1
    code, _, err = cli("run", scenarios_dir / "two_sites.yaml", "--out", old, "--seed", "2", "--overwrite",
                       "--no-plots", "-q")
    assert code == 0 and seed_of_whole_result(old) == 2, err
    assert stray(old.parent) == []


def test_kill_from_outside_when_the_temporary_directory_appears(cli, scenarios_dir, tmp_path, old):
    """Whenever the kill lands, the result is the old or the new one, whole (the assertion needs no timing)."""
    proc, _ = run_child(tmp_path, scenarios_dir / "two_sites.yaml", old, "never", wait=False)
    deadline = time.monotonic() + 240
    while proc.poll() is None and not any(".qnetemu-tmp-" in n for n in stray(old.parent)):
        assert time.monotonic() < deadline
        time.sleep(0.005)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert seed_of_whole_result(old) in (1, 2)
    code, _, err = cli("run", scenarios_dir / "two_sites.yaml", "--out", old.parent / "other", "--no-plots", "-q")
    assert code == 0, err
    assert seed_of_whole_result(old) in (1, 2) and stray(old.parent) == []
