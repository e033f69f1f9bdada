"""A sweep on a two-node Ray cluster on loopback: both nodes run points, numbers equal local ones.

Run on its own: ``python -m pytest -m cluster tests/sweep/test_ray_cluster.py``
(one Ray cluster per pytest process).
"""

from __future__ import annotations

import contextlib
import os
import secrets
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


# Token auth with one shared token, on every process (else InvalidAuthToken): nothing else
# on the machine can submit work to the test's cluster.
RAY_ENV = {
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(32),
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
}
# Fewer Python processes importing Ray at once while the raylet waits for its agents.
QUIET_NODE = ("--include-log-monitor=false",)
START_ATTEMPTS = 3  # like the executor: on a loaded machine a raylet may give up on its agents (15 s)
START_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_under(temp_dir: str) -> set[int]:
    out = subprocess.run(["pgrep", "-f", temp_dir], capture_output=True, text=True)
    return {int(p) for p in out.stdout.split() if int(p) != os.getpid()}


def _ray_start(temp_dir: str, *args: str) -> None:
    """``ray start ARGS``, tried up to START_ATTEMPTS times; a failed try's processes are stopped by pid."""
    env = {**os.environ, **RAY_ENV}
    errors = []
    for _ in range(START_ATTEMPTS):
        before = _pids_under(temp_dir)
        try:
            out = subprocess.run(["ray", "start", *args], env=env, capture_output=True, text=True,
                                 timeout=START_TIMEOUT_S)
            if out.returncode == 0:
                return
            errors.append(out.stderr[-1500:])
        except subprocess.TimeoutExpired:
            errors.append(f"no answer in {START_TIMEOUT_S} s")
        _stop_pids(_pids_under(temp_dir) - before)  # only what this try started
    raise RuntimeError(f"ray start {' '.join(args)} failed {START_ATTEMPTS} times: {errors}")


def _stop_pids(pids: set[int]) -> None:
    import psutil  # installed with the test extra's Ray

    targets = set(pids)
    for pid in list(targets):  # Ray's agents rename themselves: collect descendants first
        with contextlib.suppress(psutil.Error):
            targets.update(c.pid for c in psutil.Process(pid).children(recursive=True))
    targets.discard(os.getpid())
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid in [p for p in targets if psutil.pid_exists(p)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while [p for p in targets if psutil.pid_exists(p)] and time.monotonic() < deadline:
            time.sleep(0.2)


def _stop_processes_under(temp_dir: str) -> None:
    """Stop, by process id, every process whose command line names our temp dir.

    Never a bare ``ray stop``: it would stop every Ray instance on the machine.
    """
    _stop_pids(_pids_under(temp_dir))
    _stop_pids(_pids_under(temp_dir))  # agents a dying raylet was still starting


@pytest.fixture(scope="module")
def two_nodes():
    """A head and a worker node (1 CPU each) started with ``ray start`` on 127.0.0.1."""
    os.environ.update(RAY_ENV)
    import ray
    import ray.cloudpickle

    from qnetemu.sweep.executors import refresh_ray_config

    refresh_ray_config()  # this process sees the token even if Ray was imported before
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    temp_dir = f"/tmp/qr-c{os.getpid()}"  # short: Unix socket paths are limited to 107 bytes
    port = _free_port()
    address = f"127.0.0.1:{port}"
    try:
        _ray_start(
            temp_dir,
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=1",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp_dir}",
            *QUIET_NODE,
            "--no-monitor",  # no autoscaler for a fixed cluster
        )
        _ray_start(temp_dir, f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1", *QUIET_NODE)
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
