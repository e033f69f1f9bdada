"""Run one chain simulation in a child process of its own.

SeQUeNCe keeps process-wide class state (the generation protocol, the
swapping and purification formalisms, Python's global ``random``), so two
simulations in one process can change each other. :func:`run_isolated` runs
``engine.simulate`` in a fresh interpreter (the ``spawn`` start method: the
child inherits none of the parent's imported modules) and always returns a
:class:`~qnetemu.engines.chain.ChainResult`: an exception, a crash or a
timeout in the child becomes ``status="failed"`` with the error text, so a
sweep records the point and goes on.

:class:`WarmWorkers` removes the per-chain start-up (a fresh interpreter
and SeQUeNCe's import, seconds per chain) while keeping that isolation:
each worker is started once and imports SeQUeNCe, then forks a fresh
process per chain, so every chain starts from the state just after the
import (the class state a previous chain set dies with its process). Its
:meth:`WarmWorkers.map` fans a run's chains out over the workers; results do
not depend on the worker count or order (each chain is seeded on its own).
"""

from __future__ import annotations

import copy
import gc
import importlib
import math
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import queue as queue_module
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from qnetemu.engines.chain import ChainEngine, ChainResult, ChainSpec

__all__ = ["WarmWorkers", "failed_result", "run_isolated"]

#: Modules a SeQUeNCe worker imports once, before its first chain.
SEQUENCE_PRELOAD = (
    "qnetemu.engines.sequence_adapter",
    "sequence.app.request_app",
    "sequence.kernel.timeline",
    "sequence.topology.router_net_topo",
)

#: How often the parent looks at the child while it waits [s].
_POLL_S = 0.05


def failed_result(engine_name: str, error: str, wall_s: float = 0.0) -> ChainResult:
    """A :class:`ChainResult` for a simulation that did not finish.

    Numbers are NaN (never a value that could be mistaken for a result) and
    ``status`` is ``"failed"``; ``error`` says why.
    """
    nan = float("nan")
    return ChainResult(
        engine=engine_name,
        pairs=0,
        simulated_time_s=nan,
        pair_rate_hz=nan,
        pair_rate_stderr_hz=nan,
        mean_fidelity=nan,
        fidelity_stderr=nan,
        latency_s=nan,
        wall_s=wall_s,
        status="failed",
        error=error,
    )


class _QueueProgress:
    """Picklable progress callback: forwards fractions to the parent."""

    def __init__(self, progress_queue):
        self.queue = progress_queue

    def __call__(self, fraction: float) -> None:
        self.queue.put(float(fraction))


def _child(engine, chain, seed, max_pairs, max_time_s, conn) -> None:
    try:
        result = engine.simulate(chain, seed=seed, max_pairs=max_pairs, max_time_s=max_time_s)
        conn.send(("ok", result))
    except BaseException as exc:  # the parent must hear about every failure
        text = f"{type(exc).__name__}: {exc}".strip()
        if text.endswith(":"):
            # e.g. SeQUeNCe's bare AssertionError: say where it came from
            text += " at " + traceback.extract_tb(exc.__traceback__)[-1].filename
        conn.send(("failed", text + "\n" + traceback.format_exc()))
    finally:
        conn.close()


def run_isolated(
    engine: ChainEngine,
    chain: ChainSpec,
    *,
    seed: int,
    max_pairs: int,
    max_time_s: float,
    timeout_s: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> ChainResult:
    """Run ``engine.simulate(chain, ...)`` in a fresh child process.

    Parameters
    ----------
    engine
        A picklable engine (e.g. ``SequenceChainEngine()``); an engine with a
        ``progress`` attribute has it replaced in the child by a forwarder to
        ``progress``.
    chain, seed, max_pairs, max_time_s
        Passed to ``engine.simulate``. ``max_time_s`` is simulated time. [s]
    timeout_s
        Wall-clock limit [s]; the child is terminated when it runs longer.
        None waits for ever.
    progress
        Called in this process with each fraction the child reports.

    Returns
    -------
    ChainResult
        The engine's result, or :func:`failed_result` with the error text
        (the child's exception and traceback, its exit code if it died, or
        the timeout).
    """
    if timeout_s is not None and not (math.isfinite(timeout_s) and timeout_s > 0):
        raise ValueError(f"timeout_s must be finite and > 0 or None, got {timeout_s}")
    name = getattr(engine, "name", type(engine).__name__)
    ctx = mp.get_context("spawn")
    progress_queue = None
    if progress is not None and hasattr(engine, "progress"):
        progress_queue = ctx.Queue()
        engine = copy.copy(engine)
        engine.progress = _QueueProgress(progress_queue)
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_child, args=(engine, chain, seed, max_pairs, max_time_s, sender), daemon=True
    )
    start = time.perf_counter()
    proc.start()
    sender.close()  # so that recv() sees EOF if the child dies

    def drain() -> None:
        while progress_queue is not None:
            try:
                progress(progress_queue.get_nowait())
            except queue_module.Empty:
                return

    try:
        message = None
        while True:
            if receiver.poll(_POLL_S):
                try:
                    message = receiver.recv()
                except EOFError:
                    message = None
                break
            drain()
            if not proc.is_alive() and not receiver.poll(0):
                break
            if timeout_s is not None and time.perf_counter() - start > timeout_s:
                proc.terminate()
                proc.join(5)
                return failed_result(
                    name, f"timed out after {timeout_s:g} s wall clock", time.perf_counter() - start
                )
        proc.join(10)
        drain()
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
            proc.join()
    wall_s = time.perf_counter() - start
    if message is None:
        return failed_result(
            name, f"child process ended without a result (exit code {proc.exitcode})", wall_s
        )
    status, payload = message
    if status == "ok":
        return payload
    return failed_result(name, payload, wall_s)


class _PipeProgress:
    """Progress callback of a forked simulation: sends fractions up its pipe."""

    def __init__(self, conn):
        self.conn = conn

    def __call__(self, fraction: float) -> None:
        self.conn.send(("progress", float(fraction)))


def _parent_gone(tasks) -> bool:
    """Whether the parent's end of ``tasks`` is closed (readable with nothing to read)."""
    try:
        tasks.recv_bytes()
    except (EOFError, OSError):
        return True
    return False


def _warm_worker(tasks, preload: tuple[str, ...]) -> None:
    """Import ``preload`` once, then run each task received in a forked child.

    Sends up ``tasks``: ``("pid", pid)``, any ``("progress", f)``, then the
    child's ``("ok", result)`` / ``("failed", text)``, or ``("died", code)``
    when it ended without one. When the parent's end of ``tasks`` closes
    (the parent died, was interrupted, or its Ray task was cancelled) it
    kills the running child and returns.
    """
    for name in preload:
        importlib.import_module(name)
    # the imported objects never need collecting: keep the children's garbage
    # collector off them (fewer pages copied on write, shorter collections)
    gc.freeze()
    ctx = mp.get_context("fork")
    while True:
        try:
            task = tasks.recv()
        except EOFError:
            return
        engine, chain, seed, max_pairs, max_time_s, with_progress = task
        receiver, sender = ctx.Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the fresh simulation process
            code = 0
            try:
                receiver.close()
                if with_progress:
                    engine = copy.copy(engine)
                    engine.progress = _PipeProgress(sender)
                _child(engine, chain, seed, max_pairs, max_time_s, sender)
            except BaseException:
                code = 1
            finally:
                os._exit(code)  # no atexit handlers of the worker
        sender.close()
        tasks.send(("pid", pid))
        final = False
        while True:
            if tasks in mp_connection.wait([receiver, tasks]) and _parent_gone(tasks):
                # nothing is sent down while a chain runs, so this is the end of the parent
                # (Ctrl-C, a cancelled Ray task): stop the chain now, not when it finishes
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return
            try:
                message = receiver.recv()
            except EOFError:
                break
            tasks.send(message)
            if message[0] in ("ok", "failed"):
                final = True
                break
        receiver.close()
        _, status = os.waitpid(pid, 0)
        if not final:
            tasks.send(("died", os.waitstatus_to_exitcode(status)))


class WarmWorkers:
    """Persistent worker processes that run each chain in a fresh fork.

    Parameters
    ----------
    workers : int
        Number of workers (chains run at once); each is a ``spawn`` child
        that imports ``preload`` once.
    preload : tuple of str
        Modules imported by each worker before its first chain (SeQUeNCe's
        by default), so that no chain pays for them.

    Use as a context manager, or call :meth:`close`; workers are daemons and
    also end with this process.
    """

    def __init__(self, workers: int, preload: tuple[str, ...] = SEQUENCE_PRELOAD):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self._ctx = mp.get_context("spawn")
        self._preload = tuple(preload)
        self._idle: queue_module.Queue = queue_module.Queue()
        self._all: list = []
        for _ in range(workers):
            self._idle.put(self._start())
        self.workers = workers

    def _start(self):
        here, there = self._ctx.Pipe()
        proc = self._ctx.Process(target=_warm_worker, args=(there, self._preload), daemon=True)
        proc.start()
        there.close()
        self._all.append((proc, here))
        return proc, here

    def run(
        self,
        engine: ChainEngine,
        chain: ChainSpec,
        *,
        seed: int,
        max_pairs: int,
        max_time_s: float,
        timeout_s: float | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> ChainResult:
        """Like :func:`run_isolated`, on the next free worker (blocks until one is free)."""
        name = getattr(engine, "name", type(engine).__name__)
        proc, conn = self._idle.get()
        start = time.perf_counter()
        pid, finished = None, False
        try:
            conn.send((engine, chain, seed, max_pairs, max_time_s,
                       progress is not None and hasattr(engine, "progress")))
            while True:
                left = None if timeout_s is None else timeout_s - (time.perf_counter() - start)
                if (left is not None and left <= 0) or not conn.poll(left):
                    return failed_result(
                        name, f"timed out after {timeout_s:g} s wall clock",
                        time.perf_counter() - start)
                kind, payload = conn.recv()
                if kind == "pid":
                    pid = payload
                elif kind == "progress":
                    progress(payload)
                else:
                    finished = True
                    if kind == "ok":
                        return payload
                    if kind == "failed":
                        return failed_result(name, payload, time.perf_counter() - start)
                    return failed_result(
                        name, f"child process ended without a result (exit code {payload})",
                        time.perf_counter() - start)
        except (EOFError, OSError) as exc:  # the worker itself died
            return failed_result(name, f"worker process failed: {exc!r}", time.perf_counter() - start)
        finally:
            self._give_back(proc, conn, finished, pid)

    def _give_back(self, proc, conn, finished: bool, pid: int | None) -> None:
        """Return the worker once its chain has finished; otherwise (a timeout, a
        dead worker) stop it and its child, by their ids, and start a new one."""
        if finished and proc.is_alive():
            self._idle.put((proc, conn))
            return
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        conn.close()
        proc.kill()
        proc.join()
        self._all.remove((proc, conn))
        self._idle.put(self._start())

    def map(
        self,
        engine: ChainEngine,
        jobs: Sequence[tuple[ChainSpec, int]],
        *,
        max_pairs: int,
        max_time_s: float,
        timeout_s: float | None = None,
        progress: Sequence[Callable[[float], None] | None] | None = None,
    ) -> list[ChainResult]:
        """Run ``(chain, seed)`` jobs on all workers at once; results in job order.

        ``progress``: one callback (or None) per job, called from a thread of
        this process with the job's fractions.
        """
        callbacks = list(progress) if progress is not None else [None] * len(jobs)
        with ThreadPoolExecutor(self.workers) as pool:
            futures = [
                pool.submit(self.run, engine, chain, seed=seed, max_pairs=max_pairs,
                            max_time_s=max_time_s, timeout_s=timeout_s, progress=callback)
                for (chain, seed), callback in zip(jobs, callbacks, strict=True)
            ]
            return [f.result() for f in futures]

    def close(self) -> None:
        """Stop every worker (each by its own process)."""
        for _proc, conn in self._all:
            conn.close()  # the worker's recv() sees EOF and returns
        for proc, _ in self._all:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        self._all.clear()

    def __enter__(self) -> WarmWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
