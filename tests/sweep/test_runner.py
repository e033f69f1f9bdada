"""The sweep runner: validation before dispatch, failed points, seeds, manifest, local vs Ray."""

from __future__ import annotations

import json
import os
import socket
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from qnetemu.errors import UserError
from qnetemu.scenario.sweep_spec import SweepSpec
from qnetemu.sweep.axes import expand_points
from qnetemu.sweep.runner import run_sweep, scenario_hash

SCENARIO = {
    "qkd": {"detector_efficiency": 0.2},
    "repeater": {"memory": {"coherence_time_s": 0.1}},
    "links": [{"length_km": 10.0}, {"length_km": 50.0}, {"length_km": 80.0}],
    "sweep": {
        "seed": 2024,
        "repetitions": 2,
        "architectures": ["trusted_node", "repeater"],
        "points_per_task": 3,
        "axes": [
            {
                "path": "repeater.memory.coherence_time_s",
                "log_range": {"start": 1e-3, "stop": 1.0, "num": 4},
            },
            {"path": "links[1].length_km", "values": [20.0, 60.0]},
        ],
    },
}
N_POINTS = 4 * 2 * 2 * 2


def toy_point(scenario, *, engine, architecture, seed, source):
    """Deterministic in (scenario, seed); fails for the shortest memory on the repeater."""
    t = scenario["repeater"]["memory"]["coherence_time_s"]
    if architecture == "repeater" and t < 2e-3:
        raise ValueError(f"memory too short: {t} s")
    rng = np.random.default_rng(seed)
    return {
        "keys": [
            {
                "link": i,
                "rate_hz": float(np.exp(-link["length_km"] / 50.0) / t),
                "noise": float(rng.normal()),
            }
            for i, link in enumerate(scenario["links"])
        ],
        "summary": [{"draws": rng.integers(0, 2**31, size=3).tolist()}],
    }


def no_validation(data, where):
    return None


def run_local(out, scenario=SCENARIO, **kw):
    kw.setdefault("point_fn", toy_point)
    kw.setdefault("validate_fn", no_validation)
    kw.setdefault("progress", False)
    return run_sweep("toy.yaml", scenario, out_dir=out, executor="local", **kw)


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path):
    s = run_local(tmp_path)
    # 1 ms memory x repeater x 2 lengths x 2 reps fail
    assert (s.total, s.ran, s.ok, s.failed) == (N_POINTS, N_POINTS, N_POINTS - 4, 4)
    pts = pd.read_parquet(tmp_path / "points.parquet")
    bad = pts[pts["status"] == "failed"]
    assert set(bad["architecture"]) == {"repeater"}
    assert_allclose(bad["repeater.memory.coherence_time_s"], 1e-3)
    assert bad["error"].str.fullmatch(r"ValueError: memory too short: 0\.001 s").all()
    keys = pd.read_parquet(tmp_path / "keys.parquet")
    assert not set(keys["point_id"]) & set(bad["point_id"])
    assert len(keys) == 3 * (N_POINTS - 4)


def test_rows_are_computed_with_each_points_overrides_and_seed(tmp_path):
    run_local(tmp_path)
    keys = pd.read_parquet(tmp_path / "keys.parquet")
    t = keys["repeater.memory.coherence_time_s"]
    length = np.where(
        keys["link"] == 1, keys["links[1].length_km"], np.array([10.0, 0.0, 80.0])[keys["link"]]
    )
    assert_allclose(keys["rate_hz"], np.exp(-length / 50.0) / t, rtol=1e-14)
    # Noise of point i is the first normal of default_rng(point seed i): seed by index, not by order.
    points = expand_points(SweepSpec.model_validate(SCENARIO["sweep"]))
    first = keys[keys["link"] == 0].set_index("point_index")["noise"]
    for p in points:
        if p.index in first.index:
            assert first[p.index] == np.random.default_rng(p.seed).normal()


def test_manifest_records_hash_axes_and_counts(tmp_path):
    run_local(tmp_path)
    m = json.loads((tmp_path / "sweep.json").read_text())
    assert m["scenario_hash"] == scenario_hash(SCENARIO)
    assert m["master_seed"] == 2024
    assert m["counts"] == {
        "combinations": 8,
        "engines": 1,
        "architectures": 2,
        "repetitions": 2,
        "points": N_POINTS,
    }
    assert_allclose([v[0] for v in m["axes"][0]["values"]], [1e-3, 1e-2, 1e-1, 1.0], rtol=1e-14)
    assert m["results"] == {
        "ok": N_POINTS - 4,
        "failed": 4,
        "tables": ["keys", "points", "summary"],
    }
    assert m["versions"]["numpy"] == np.__version__


def test_scenario_hash_ignores_key_order():
    reordered = dict(reversed(list(SCENARIO.items())))
    assert scenario_hash(reordered) == scenario_hash(SCENARIO)
    assert scenario_hash({**SCENARIO, "qkd": {"detector_efficiency": 0.21}}) != scenario_hash(
        SCENARIO
    )


def test_every_point_is_validated_before_anything_runs(tmp_path):
    calls, seen = [], []

    def validate(data, where):
        seen.append(data["links"][1]["length_km"])
        if data["links"][1]["length_km"] > 50:
            raise UserError(
                "length_km must be <= 50 for this toy", file=where, field="links[1].length_km"
            )

    def never(*a, **k):
        calls.append(1)
        return {}

    with pytest.raises(
        UserError,
        match=r"toy\.yaml \[sweep point 4 \(.*links\[1\]\.length_km=60\.0.*links\[1\]\.length_km: length_km must be",
    ):
        run_local(tmp_path / "out", validate_fn=validate, point_fn=never)
    assert calls == [] and not (tmp_path / "out").exists()
    assert seen == [
        20.0,
        60.0,
    ]  # one validation per parameter combination, in order, stops at the first bad


def test_axis_path_not_in_scenario_is_a_user_error(tmp_path):
    bad = json.loads(json.dumps(SCENARIO))
    bad["sweep"]["axes"].append({"path": "qkd.detector_eficiency", "values": [0.1]})
    with pytest.raises(UserError) as err:
        run_local(tmp_path / "out", bad, point_fn=lambda *a, **k: pytest.fail("ran"))
    assert str(err.value).startswith(
        "toy.yaml: sweep.axes[2].path: 'qkd.detector_eficiency' names no parameter"
    )


@pytest.mark.parametrize(
    ("sweep", "field"),
    [
        ({"seed": 1, "axes": [{"path": "x", "values": []}]}, "sweep.axes[0].values"),
        ({"seed": 1, "repetitions": 0}, "sweep.repetitions"),
        ({"seed": 1, "mode": "diagonal"}, "sweep.mode"),
        ({"repetitions": 2}, "sweep.seed"),
    ],
)
def test_bad_sweep_section_names_the_field(tmp_path, sweep, field):
    with pytest.raises(UserError) as err:
        run_local(tmp_path, {**SCENARIO, "sweep": sweep})
    assert err.value.field == field and err.value.file == "toy.yaml"


def test_unreachable_cluster_is_a_user_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UserError, match=rf"cannot reach a Ray cluster at 127\.0\.0\.1:{port}"):
        run_sweep(
            "toy.yaml",
            SCENARIO,
            out_dir=tmp_path,
            executor="ray",
            address=f"127.0.0.1:{port}",
            point_fn=toy_point,
            validate_fn=no_validation,
            progress=False,
            ray_options={"connect_timeout_s": 2},
        )
    assert not (tmp_path / "journal.jsonl").read_bytes()


def test_unknown_executor(tmp_path):
    with pytest.raises(UserError, match="unknown executor 'dask'"):
        run_sweep(
            "toy.yaml",
            SCENARIO,
            out_dir=tmp_path,
            executor="dask",
            point_fn=toy_point,
            validate_fn=no_validation,
            progress=False,
        )


def test_progress_bar_reports_done_and_failed(tmp_path, capsys):
    run_local(tmp_path, progress=True)
    err = capsys.readouterr().err
    assert f"{N_POINTS}/{N_POINTS}" in err and "failed 4" in err


@pytest.fixture(scope="session")
def local_ray():
    """One private two-CPU Ray for the session's Ray tests (started like the runner does)."""
    import ray
    import ray.cloudpickle

    from qnetemu.sweep.executors import RayExecutor

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    with RayExecutor(workers=2, temp_dir=f"/tmp/qr-t{os.getpid()}"):
        yield ray


@pytest.mark.slow  # Ray start-up: ~7 s on an idle 2-core machine, 30-60 s (or a failed start) when loaded
def test_ray_executor_gives_the_local_executors_numbers(tmp_path, local_ray):
    run_local(tmp_path / "local")
    s = run_sweep(
        "toy.yaml",
        SCENARIO,
        out_dir=tmp_path / "ray",
        executor="ray",
        point_fn=toy_point,
        validate_fn=no_validation,
        progress=False,
    )
    assert (s.ok, s.failed) == (N_POINTS - 4, 4)
    assert local_ray.is_initialized()  # the executor leaves a Ray it did not start running
    for table in ("keys", "summary"):  # completion order differs; the files do not
        assert (tmp_path / "ray" / f"{table}.parquet").read_bytes() == (
            tmp_path / "local" / f"{table}.parquet"
        ).read_bytes()
    a = pd.read_parquet(tmp_path / "ray" / "points.parquet")
    b = pd.read_parquet(tmp_path / "local" / "points.parquet")
    prov = [c for c in a.columns if c.startswith("_")]
    pd.testing.assert_frame_equal(a.drop(columns=prov), b.drop(columns=prov), check_exact=True)
    assert (a["_node_id"].str.len() > 0).all() and (b["_node_id"] == "").all()
