"""The SeQUeNCe chains of one run as Ray tasks, on a cluster or a private local Ray.

``qnetemu run --engine sequence --address ADDR`` sends each chain to Ray as
one task. Ray is joined, or started privately on loopback, by the sweep's
:class:`~qnetemu.sweep.executors.RayExecutor` (one way to connect to Ray in
qnetemu), which also stops a Ray it started by process id at the end, after
an error or Ctrl-C, and cancels tasks still running on a cluster.

Isolation is that of :mod:`qnetemu.engines.isolated`: a Ray worker process
never simulates. On its first chain it starts one warm worker
(:class:`~qnetemu.engines.isolated.WarmWorkers`) that imports SeQUeNCe, and
every chain it is given runs in a fresh fork of that worker, so no chain sees
the class state an earlier chain on the same Ray worker set. The warm worker
ends with its Ray worker (it stops its chain when the pipe to it closes).
Each chain is seeded on its own, so the numbers equal a serial run's and a
``--workers N`` run's, whatever the node or order.
"""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from qnetemu.engines.chain import ChainEngine, ChainResult, ChainSpec
from qnetemu.engines.isolated import WarmWorkers, failed_result

__all__ = ["map_on_ray", "run_chains_on_ray", "run_chain_task"]

#: The warm worker of this (Ray worker) process, started on its first chain.
_POOL: WarmWorkers | None = None


def _warm_pool() -> WarmWorkers:
    global _POOL
    if _POOL is None:
        _POOL = WarmWorkers(1)
        atexit.register(_POOL.close)
    return _POOL


def run_chain_task(engine: ChainEngine, chain: ChainSpec, seed: int, max_pairs: int,
                   max_time_s: float) -> ChainResult:
    """The body of one Ray task: the chain in a fresh fork of this process's warm worker."""
    return _warm_pool().run(engine, chain, seed=seed, max_pairs=max_pairs, max_time_s=max_time_s)


_REMOTE: Any = None


def _remote() -> Any:
    """The one Ray remote function of this module (created once, on first use)."""
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(run_chain_task)
    return _REMOTE


def _task_options() -> dict[str, Any]:
    """One CPU per chain (its fork simulates; the Ray worker waits) and the memory a
    SeQUeNCe sweep task reserves, so a cluster does not pack more chains than fit."""
    from qnetemu.scenario.sweep_spec import DEFAULT_SEQUENCE_TASK_MEMORY_GIB

    return {"num_cpus": 1.0, "memory": int(DEFAULT_SEQUENCE_TASK_MEMORY_GIB * 2**30)}


def map_on_ray(
    executor: Any,
    engine: ChainEngine,
    jobs: Sequence[tuple[ChainSpec, int]],
    *,
    max_pairs: int,
    max_time_s: float,
    progress: Sequence[Callable[[float], None] | None] | None = None,
) -> list[ChainResult]:
    """Results of ``(chain, seed)`` jobs run as tasks on an entered ``RayExecutor``, in job order.

    ``progress``: one callback (or None) per job, called with 1.0 in this
    process when its chain has finished (Ray tasks report only their end).
    A task whose worker or node was lost (after Ray's retries) is a failed
    result with Ray's error, as a crashed chain is on local workers.
    """
    name = getattr(engine, "name", type(engine).__name__)
    callbacks = list(progress) if progress is not None else [None] * len(jobs)
    results: list[ChainResult | None] = [None] * len(jobs)
    calls = [(engine, chain, seed, max_pairs, max_time_s) for chain, seed in jobs]
    from qnetemu.sweep.executors import _error_text

    with contextlib.closing(executor.stream(_remote(), calls, _task_options())) as finished:
        for index, result, exc in finished:
            results[index] = result if exc is None else failed_result(
                name, f"Ray task failed: {_error_text(exc)}")
            if callbacks[index] is not None:
                callbacks[index](1.0)
    return results  # type: ignore[return-value]  # every index was filled


def run_chains_on_ray(
    engine: ChainEngine,
    jobs: Sequence[tuple[ChainSpec, int]],
    *,
    address: str,
    max_pairs: int,
    max_time_s: float,
    workers: int | None = None,
    ship_code: bool = False,
    progress: Sequence[Callable[[float], None] | None] | None = None,
) -> list[ChainResult]:
    """Join (or start) Ray at ``address``, run the jobs as tasks, and leave Ray as it was.

    ``address``: ``HOST:PORT`` of a cluster's head, ``auto``, or ``local``
    for a private Ray on this machine with ``workers`` CPUs (default: all
    cores; ignored on a cluster). ``ship_code``: send this project to the
    cluster's workers (:class:`~qnetemu.sweep.executors.RayExecutor`).
    """
    from qnetemu.sweep.executors import RayExecutor

    with RayExecutor(address=address, workers=workers, ship_code=ship_code,
                     ray_option="--address",
                     serial_hint="run without --address (local warm workers)") as ex:
        return map_on_ray(ex, engine, jobs, max_pairs=max_pairs, max_time_s=max_time_s,
                          progress=progress)
