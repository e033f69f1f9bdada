"""A sweep on a two-node Ray cluster on loopback: both nodes run points, numbers equal local ones.

Run on its own: ``python -m pytest -m cluster tests/sweep/test_ray_cluster.py``
(one Ray cluster per pytest process).
"""

from __future__ import annotations

import os
import shutil
import socket
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_nodes():
    """Head and one worker node, 1 CPU each, on 127.0.0.1; stopped (by object) at the end."""
    for key, value in {
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
        # On a loaded machine the node's agents start slowly; let the raylet wait for them.
        "RAY_raylet_start_wait_time_s": "120",
    }.items():
        os.environ[key] = value
    import ray
    import ray.cloudpickle
    from ray.cluster_utils import Cluster

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    temp_dir = f"/tmp/qr-c{os.getpid()}"  # short: Unix socket paths are limited to 107 bytes
    common = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}

    def ports():
        # Fixed agent ports: with port 0 the raylet waits only ~16 s for its agent to
        # report a port, which a loaded 2-core machine does not always meet.
        return {
            "metrics_agent_port": _free_port(),
            "metrics_export_port": _free_port(),
            "dashboard_agent_listen_port": _free_port(),
            "runtime_env_agent_port": _free_port(),
        }

    with pytest.MonkeyPatch.context() as mp:
        # Cluster would publish its address in /tmp/ray/ray_current_cluster, where any other
        # user's plain ray.init() on this machine would find it (and delete it at shutdown).
        mp.setattr(ray._private.utils, "write_ray_address", lambda *a, **k: None)
        mp.setattr(ray._common.utils, "reset_ray_address", lambda *a, **k: None)
        cluster = Cluster(
            initialize_head=True,
            connect=False,
            head_node_args={**common, **ports(), "include_dashboard": False, "temp_dir": temp_dir},
        )
        try:
            worker = cluster.add_node(**common, **ports())
            cluster.wait_for_nodes()
            yield cluster.address, {cluster.head_node.node_id, worker.node_id}
        finally:
            if ray.is_initialized():
                ray.shutdown()
            cluster.shutdown()
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
