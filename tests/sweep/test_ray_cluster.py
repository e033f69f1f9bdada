"""A sweep on a two-node Ray cluster on loopback: both nodes run points, numbers equal local ones.

Run on its own: ``python -m pytest -m cluster tests/sweep/test_ray_cluster.py``
(one Ray cluster per pytest process).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from qnetemu.sweep.runner import run_sweep

pytestmark = pytest.mark.cluster

SCENARIO = {
    "qkd": {"detector_efficiency": 0.2},
    "links": [{"length_km": 10.0}, {"length_km": 50.0}],
    "sweep": {
        "seed": 7,
        "repetitions": 2,
        "points_per_task": 1,
        "axes": [{"path": "links[*].length_km", "values": [10.0, 25.0, 50.0, 100.0]}],
    },
}
N_POINTS = 8


def slow_point(scenario, *, engine, architecture, seed, source):
    """Long enough (0.4 s) that one node cannot take every task while the other idles."""
    time.sleep(0.4)
    rng = np.random.default_rng(seed)
    eta = scenario["qkd"]["detector_efficiency"]
    return {
        "keys": [
            {
                "link": i,
                "rate_hz": 1e6 * eta * 10 ** (-0.02 * link["length_km"]),
                "noise": float(rng.normal()),
            }
            for i, link in enumerate(scenario["links"])
        ]
    }


def no_validation(data, where):
    return None


RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",  # consistently on every process, else InvalidAuthToken
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_start(*args: str) -> None:
    env = {**os.environ, **RAY_ENV}
    out = subprocess.run(
        ["ray", "start", *args], env=env, capture_output=True, text=True, timeout=180
    )
    if out.returncode:
        raise RuntimeError(f"ray start {' '.join(args)} failed: {out.stderr[-2000:]}")


def _stop_processes_under(temp_dir: str) -> None:
    """Stop, by process id, every process whose command line names our temp dir.

    Never a bare ``ray stop``: it would stop every Ray instance on the machine.
    """

    import psutil  # a Ray dependency

    def matching() -> set[int]:
        out = subprocess.run(["pgrep", "-f", temp_dir], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split() if int(p) != os.getpid()}

    # Ray's agents rename themselves (ray::DashboardAgent) and outlive a killed raylet:
    # collect every descendant before the first signal, while they are still children.
    targets = matching()
    for pid in list(targets):
        with contextlib.suppress(psutil.Error):
            targets.update(c.pid for c in psutil.Process(pid).children(recursive=True))
    targets.discard(os.getpid())

    def alive() -> list[int]:
        return [p for p in targets | matching() if psutil.pid_exists(p)]

    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while alive() and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def two_nodes():
    """A head and a worker node (1 CPU each) started with ``ray start`` on 127.0.0.1."""
    os.environ.update(RAY_ENV)
    import ray
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    temp_dir = f"/tmp/qr-c{os.getpid()}"  # short: Unix socket paths are limited to 107 bytes
    port = _free_port()
    address = f"127.0.0.1:{port}"
    try:
        _ray_start(
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=1",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp_dir}",
        )
        _ray_start(f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1")
        ray.init(address=address, log_to_driver=False)
        node_ids = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        ray.shutdown()
        assert len(node_ids) == 2, node_ids
        yield address, node_ids
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop_processes_under(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_sweep_on_two_nodes_matches_local(tmp_path, two_nodes):
    address, node_ids = two_nodes
    on_cluster = run_sweep(
        "toy.yaml",
        SCENARIO,
        out_dir=tmp_path / "cluster",
        executor="ray",
        address=address,
        ship_code=True,
        point_fn=slow_point,
        validate_fn=no_validation,
        progress=False,
        ray_options={"task_options": {"scheduling_strategy": "SPREAD"}},
    )
    assert (on_cluster.ok, on_cluster.failed) == (N_POINTS, 0)
    import ray

    assert not ray.is_initialized()  # the executor disconnected the driver it connected

    run_sweep(
        "toy.yaml",
        SCENARIO,
        out_dir=tmp_path / "local",
        executor="local",
        point_fn=slow_point,
        validate_fn=no_validation,
        progress=False,
    )
    pts = pd.read_parquet(tmp_path / "cluster" / "points.parquet")
    assert set(pts["_node_id"]) == node_ids  # both nodes ran points, and the rows say which
    assert pts.groupby("_node_id")["_pid"].nunique().min() >= 1
    assert (pts["_hostname"].str.len() > 0).all()
    assert (tmp_path / "cluster" / "keys.parquet").read_bytes() == (
        tmp_path / "local" / "keys.parquet"
    ).read_bytes()
    local = pd.read_parquet(tmp_path / "local" / "points.parquet")
    prov = [c for c in pts.columns if c.startswith("_")]
    pd.testing.assert_frame_equal(
        pts.drop(columns=prov), local.drop(columns=prov), check_exact=True
    )
