"""SeQUeNCe chains as Ray tasks: the same numbers as serial and as local workers, no class
state carried from chain to chain on a Ray worker, nothing left running afterwards.

Slow: it starts a private two-CPU Ray on loopback (~10 s idle, a minute or more loaded).
"""

from __future__ import annotations

import os
import sys

import pandas as pd
import pytest
import yaml

from qnetemu.engines import run_chains
from qnetemu.engines.chain import SEQUENCE_NATIVE_PROTOCOL, ChainSpec, RepeaterHardware
from qnetemu.engines.sequence_adapter import SequenceChainEngine

pytestmark = pytest.mark.slow

KW = {"max_pairs": 12, "max_time_s": 0.05}

# Three demands on two fibre spans: three chains of 2, 2 and 4 segments.
SCENARIO = {
    "name": "three-chains",
    "sites": [{"name": "West", "lat_deg": 46.20, "lon_deg": 6.14},
              {"name": "Mid", "lat_deg": 46.8, "lon_deg": 7.3},
              {"name": "East", "lat_deg": 47.37, "lon_deg": 8.54}],
    "links": [{"a": "West", "b": "Mid", "length_km": 60.0}, {"a": "Mid", "b": "East", "length_km": 80.0}],
    "architectures": ["repeater"],
    "qkd": {"preset": "commercial_decoy_bb84"},
    "repeater": {"memory": {"efficiency": 0.9, "coherence_time_s": 1.0, "memories_per_node": 1,
                            "attempt_rate_hz": 1.0e5},
                 "link_fidelity": 0.99,
                 "protocol": {"swap_order": "nested", "link_generation": "negotiated",
                              "swap_messaging": "classical", "multiplexing": "shared_pool"},
                 "placement": {"spacing_km": 40}},
    "engine": {"max_pairs": 20, "max_time_s": 0.2},
    "demands": [{"a": "West", "b": "Mid"}, {"a": "Mid", "b": "East"}, {"a": "West", "b": "East"}],
}


def _chain(n: int) -> ChainSpec:
    return ChainSpec((20.0,) * n, RepeaterHardware(coherence_time_s=0.5),
                     protocol=SEQUENCE_NATIVE_PROTOCOL)


def _same(a, b) -> None:
    assert a.status == b.status == "ok", (a.error, b.error)
    assert (a.pairs, a.pair_rate_hz, a.mean_fidelity, a.latency_s) == \
        (b.pairs, b.pair_rate_hz, b.mean_fidelity, b.latency_s)
    assert a.extra["pair_times_s"] == b.extra["pair_times_s"]
    assert a.extra["pair_fidelities"] == b.extra["pair_fidelities"]
    assert a.extra["events"] == b.extra["events"]


def _two_chains_in_one_ray_worker(first, second, chain, seed, max_pairs, max_time_s):
    """Two chains one after the other in one Ray worker process, as two tasks there would run."""
    from qnetemu.engines import ray_chains

    a = ray_chains.run_chain_task(first, chain, seed, max_pairs, max_time_s)
    b = ray_chains.run_chain_task(second, chain, seed, max_pairs, max_time_s)
    warm_pid = ray_chains._POOL._all[0][0].pid
    return a, b, "sequence" in sys.modules, os.getpid(), warm_pid


@pytest.fixture(scope="module")
def private_ray():
    """One private two-CPU Ray (as ``--address local`` starts it); afterwards every process it
    started, the Ray workers' warm SeQUeNCe workers included, must have ended."""
    import psutil
    import ray
    import ray.cloudpickle

    from qnetemu.sweep.executors import RayExecutor, ray_processes

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    seen: list[int] = []
    with RayExecutor(address="local", workers=2) as ex:
        yield ex, seen
        temp_dir = ex._private.temp_dir
        seen += ray_processes(temp_dir)
    assert not ray.is_initialized()
    alive = [p for p in seen if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert not alive, alive


def test_ray_equals_serial_and_local_workers(private_ray):
    """Three chains: one warm worker, two warm workers and Ray tasks give identical results."""
    from qnetemu.engines.ray_chains import map_on_ray

    ex, _ = private_ray
    jobs = [(_chain(n), 100 + n) for n in (1, 2, 4)]
    serial = run_chains("sequence", jobs, workers=1, **KW)
    local = run_chains("sequence", jobs, workers=2, **KW)
    done: list[int] = []
    progress = [lambda f, i=i: done.append(i) for i in range(len(jobs))]
    on_ray = map_on_ray(ex, SequenceChainEngine(), jobs, progress=progress, **KW)
    for a, b, c in zip(serial, local, on_ray, strict=True):
        _same(a, b)
        _same(a, c)
    assert sorted(done) == [0, 1, 2]  # each chain reported when it finished
    assert serial[0].extra["pair_times_s"] != serial[1].extra["pair_times_s"]


def test_cli_run_on_ray_writes_the_serial_numbers(private_ray, cli, tmp_path):
    """``qnetemu run --engine sequence --address local``: the demand table of ``--workers 1``."""
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    tables = {}
    for label, extra in (("serial", ["--workers", "1"]), ("ray", ["--address", "local"])):
        code, _, stderr = cli("run", path, "--engine", "sequence", "--seed", "3", "--no-plots",
                              "--out", tmp_path / label, *extra)
        assert code == 0, stderr
        tables[label] = pd.read_parquet(tmp_path / label / "demands.parquet").drop(columns=["wall_s"])
    assert "3 SeQUeNCe chain(s) as Ray tasks on a private Ray" in stderr
    assert (tables["serial"].status == "ok").all() and (tables["serial"].pairs > 0).all()
    pd.testing.assert_frame_equal(tables["serial"], tables["ray"], check_exact=True)


def test_no_class_state_carried_between_chains_of_a_ray_worker(private_ray):
    """A ket-vector chain (Barrett-Kok generation) then a Bell-diagonal one in the same Ray
    worker: the second equals a fresh interpreter's run, and the Ray worker itself never
    imported SeQUeNCe (its warm worker did, and forked each chain)."""
    import ray

    from qnetemu.engines.isolated import run_isolated

    ex, seen = private_ray
    chain = _chain(2)
    fresh = run_isolated(SequenceChainEngine(), chain, seed=5, timeout_s=300, **KW)
    task = ray.remote(_two_chains_in_one_ray_worker).options(num_cpus=1)
    ket, after, imported, ray_pid, warm_pid = ray.get(task.remote(
        SequenceChainEngine("ket_vector"), SequenceChainEngine(), chain, 5, KW["max_pairs"],
        KW["max_time_s"]))
    assert ket.status == "ok", ket.error
    _same(fresh, after)
    assert not imported
    assert warm_pid != ray_pid
    seen.append(warm_pid)  # must be stopped with the private Ray
