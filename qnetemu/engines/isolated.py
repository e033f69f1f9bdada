"""Run one chain simulation in a child process of its own.

SeQUeNCe keeps process-wide class state (the generation protocol, the
swapping and purification formalisms, Python's global ``random``), so two
simulations in one process can change each other. :func:`run_isolated` runs
``engine.simulate`` in a fresh interpreter (the ``spawn`` start method: the
child inherits none of the parent's imported modules) and always returns a
:class:`~qnetemu.engines.chain.ChainResult`: an exception, a crash or a
timeout in the child becomes ``status="failed"`` with the error text, so a
sweep records the point and goes on.
"""

from __future__ import annotations

import copy
import math
import multiprocessing as mp
import queue as queue_module
import time
import traceback
from collections.abc import Callable

from qnetemu.engines.chain import ChainEngine, ChainResult, ChainSpec

__all__ = ["failed_result", "run_isolated"]

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
