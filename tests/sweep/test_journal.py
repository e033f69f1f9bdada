"""The sweep journal: durable lines, torn tails, resume after SIGKILL, consolidated tables."""

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

from qnetemu.errors import UserError
from qnetemu.scenario.sweep_spec import SweepSpec
from qnetemu.sweep.axes import expand_points
from qnetemu.sweep.executors import LocalExecutor
from qnetemu.sweep.journal import (
    PROVENANCE_COLUMNS,
    Journal,
    build_tables,
    latest_by_point,
    read_journal,
    write_tables,
)
from qnetemu.sweep.runner import run_sweep

ROOT = Path(__file__).resolve().parents[2]

# A point function whose numbers come only from the scenario and the seed; it lives in a
# file so that a separate process (the one we kill) can import it.
TOY_MODULE = textwrap.dedent(
    """
    import os
    import time

    import numpy as np

    def point_fn(scenario, *, engine, architecture, seed, source):
        rng = np.random.default_rng(seed)
        time.sleep(float(os.environ.get("TOY_SLEEP_S", "0")))
        eta = scenario["qkd"]["detector_efficiency"]
        return {
            "keys": [
                {"link": i, "rate_hz": 1e6 * eta * 10 ** (-0.02 * link["length_km"]) + rng.normal()}
                for i, link in enumerate(scenario["links"])
            ]
        }
    """
)

SCENARIO = {
    "qkd": {"detector_efficiency": 0.2},
    "links": [{"length_km": 10.0}, {"length_km": 50.0}],
    "sweep": {
        "seed": 99,
        "repetitions": 2,
        "architectures": ["trusted_node", "repeater"],
        "axes": [
            {
                "path": "qkd.detector_efficiency",
                "linear_range": {"start": 0.1, "stop": 0.3, "num": 5},
            },
            {"path": "links[*].length_km", "values": [10.0, 40.0, 80.0]},
        ],
    },
}
N_POINTS = 5 * 3 * 2 * 2


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "toy_sweep_point.py").write_text(TOY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import toy_sweep_point

    return toy_sweep_point.point_fn


def _no_validation(data, where):
    return None


def _record(pid, index, status="ok"):
    return {"point_id": pid, "index": index, "status": status, "rows": {"t": [{"x": index}]}}


# --- the journal file ----------------------------------------------------------------------------


def test_append_is_durable_and_readable(tmp_path):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.append(_record("a", 0))
        j.append({**_record("b", 1), "rows": {"t": [{"x": float("nan"), "y": float("inf")}]}})
        # Each line is on disk before the next call returns: read it from another handle.
        assert path.read_text().count("\n") == 2
    recs, good = read_journal(path)
    assert [r["point_id"] for r in recs] == ["a", "b"]
    assert good == path.stat().st_size
    assert recs[1]["rows"]["t"][0]["y"] == float("inf")


@pytest.mark.parametrize(
    "tail", [b'{"point_id": "c", "ind', b'{"point_id": "c"', b"{", b"\x00\x00"]
)
def test_torn_last_line_is_ignored_then_cut_off(tmp_path, tail):
    path = tmp_path / "journal.jsonl"
    with Journal(path) as j:
        j.append(_record("a", 0))
        j.append(_record("b", 1))
    intact = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(tail)  # what a kill in the middle of a write leaves
    recs, good = read_journal(path)
    assert [r["point_id"] for r in recs] == ["a", "b"] and good == intact
    with Journal(path) as j:  # reopening for append cuts the torn tail off
        assert path.stat().st_size == intact
        j.append(_record("c", 2))
    assert [r["point_id"] for r in read_journal(path)[0]] == ["a", "b", "c"]


def test_damaged_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"point_id": "a"}\nnot json\n{"point_id": "b"}\n')
    with pytest.raises(UserError, match="line 2 is damaged"):
        read_journal(path)


def test_latest_record_of_a_point_wins():
    recs = [_record("a", 0, "failed"), _record("b", 1), _record("a", 0, "ok")]
    latest = latest_by_point(recs)
    assert latest["a"]["status"] == "ok" and len(latest) == 2


# --- consolidation -------------------------------------------------------------------------------


def test_tables_do_not_depend_on_completion_order(tmp_path, toy):
    spec = SweepSpec.model_validate(SCENARIO["sweep"])
    points = expand_points(spec)
    records = [r for batch in LocalExecutor().run(toy, SCENARIO, points, source="s") for r in batch]
    fwd = build_tables(points, latest_by_point(records))
    rev = build_tables(points, latest_by_point(reversed(records)))
    assert fwd == rev
    assert [r["point_index"] for r in fwd["points"]] == list(range(N_POINTS))
    assert len(fwd["keys"]) == 2 * N_POINTS
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_tables(tmp_path / "a", fwd)
    write_tables(tmp_path / "b", rev)
    for name in ("keys.parquet", "keys.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_result_rows_carry_point_columns(tmp_path, toy):
    out = tmp_path / "sweep"  # tmp_path holds the toy module: not a directory a sweep may write into
    run_sweep(
        "toy.yaml",
        SCENARIO,
        out_dir=out,
        executor="local",
        point_fn=toy,
        validate_fn=_no_validation,
        progress=False,
    )
    keys = pd.read_parquet(out / "keys.parquet")
    pts = pd.read_parquet(out / "points.parquet")
    assert list(keys.columns[:8]) == [
        "point_index",
        "point_id",
        "engine",
        "architecture",
        "rep",
        "seed",
        "qkd.detector_efficiency",
        "links[*].length_km",
    ]
    # The override columns hold the swept values: rate = 1e6 eta 10^(-L/50) + N(0, 1).
    expected = 1e6 * keys["qkd.detector_efficiency"] * 10 ** (-0.02 * keys["links[*].length_km"])
    assert ((keys["rate_hz"] - expected).abs() < 6).all()  # 6 sigma of the unit normal noise
    assert set(PROVENANCE_COLUMNS) <= set(pts.columns)
    assert (pd.read_csv(out / "keys.csv")["rate_hz"] - keys["rate_hz"]).abs().max() < 1e-6


# --- resume --------------------------------------------------------------------------------------

DRIVER = textwrap.dedent(
    """
    import json, sys
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from toy_sweep_point import point_fn
    from qnetemu.sweep.runner import run_sweep
    scenario = json.loads(open(sys.argv[3]).read())
    run_sweep("toy.yaml", scenario, out_dir=sys.argv[4], executor="local", point_fn=point_fn,
              validate_fn=lambda d, w: None, progress=False)
    """
)


def _strip(df):
    return df.drop(columns=[c for c in df.columns if c.startswith("_")])


def test_resume_after_sigkill_gives_the_rows_of_an_uninterrupted_run(tmp_path, toy):
    """Kill -9 a sweep mid-way, resume it: identical tables to a run never interrupted, no duplicates."""
    (tmp_path / "scenario.json").write_text(json.dumps(SCENARIO))
    (tmp_path / "driver.py").write_text(DRIVER)
    out = tmp_path / "killed"
    env = {**os.environ, "TOY_SLEEP_S": "0.05"}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(tmp_path / "driver.py"),
            str(ROOT),
            str(tmp_path),
            str(tmp_path / "scenario.json"),
            str(out),
        ],
        env=env,
    )
    try:
        journal = out / "journal.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_bytes().count(b"\n") >= 8:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done_before = len(read_journal(journal)[0])
    assert 8 <= done_before < N_POINTS
    assert not (out / "keys.parquet").exists()
    with open(journal, "ab") as fh:
        fh.write(b'{"point_id": "torn", "sta')  # a kill can also land inside a write

    with pytest.raises(UserError, match="pass --resume"):
        run_sweep(
            "toy.yaml",
            SCENARIO,
            out_dir=out,
            executor="local",
            point_fn=toy,
            validate_fn=_no_validation,
            progress=False,
        )
    resumed = run_sweep(
        "toy.yaml",
        SCENARIO,
        out_dir=out,
        executor="local",
        point_fn=toy,
        validate_fn=_no_validation,
        progress=False,
        resume=True,
    )
    assert resumed.skipped == done_before and resumed.ran == N_POINTS - done_before

    whole = tmp_path / "whole"
    run_sweep(
        "toy.yaml",
        SCENARIO,
        out_dir=whole,
        executor="local",
        point_fn=toy,
        validate_fn=_no_validation,
        progress=False,
    )
    for table in ("keys", "points"):
        a = _strip(pd.read_parquet(out / f"{table}.parquet"))
        b = _strip(pd.read_parquet(whole / f"{table}.parquet"))
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    pts = pd.read_parquet(out / "points.parquet")
    assert pts["point_id"].is_unique and len(pts) == N_POINTS
    assert (out / "keys.parquet").read_bytes() == (whole / "keys.parquet").read_bytes()


def test_resume_refuses_a_changed_scenario(tmp_path, toy):
    run_sweep(
        "toy.yaml",
        SCENARIO,
        out_dir=tmp_path / "sweep",
        executor="local",
        point_fn=toy,
        validate_fn=_no_validation,
        progress=False,
    )
    changed = json.loads(json.dumps(SCENARIO))
    changed["links"][0]["length_km"] = 11.0
    with pytest.raises(UserError, match="scenario changed"):
        run_sweep(
            "toy.yaml",
            changed,
            out_dir=tmp_path / "sweep",
            executor="local",
            point_fn=toy,
            validate_fn=_no_validation,
            progress=False,
            resume=True,
        )


def test_resume_reruns_failed_points_only(tmp_path):
    calls = []

    def flaky(scenario, *, engine, architecture, seed, source):
        calls.append(seed)
        if len(calls) <= 2:
            raise RuntimeError("transient")
        return {"t": [{"seed": seed}]}

    sc = {"x": 1.0, "sweep": {"seed": 5, "axes": [{"path": "x", "values": [1.0, 2.0, 3.0, 4.0]}]}}
    first = run_sweep(
        None,
        sc,
        out_dir=tmp_path,
        executor="local",
        point_fn=flaky,
        validate_fn=_no_validation,
        progress=False,
    )
    assert (first.ok, first.failed) == (2, 2)
    second = run_sweep(
        None,
        sc,
        out_dir=tmp_path,
        executor="local",
        point_fn=flaky,
        validate_fn=_no_validation,
        progress=False,
        resume=True,
    )
    assert (second.skipped, second.ran, second.ok, second.failed) == (2, 2, 4, 0)
    assert len(calls) == 6
    pts = pd.read_parquet(tmp_path / "points.parquet")
    assert list(pts["status"]) == ["ok"] * 4 and pts["point_id"].is_unique
