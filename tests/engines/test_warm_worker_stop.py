"""A warm worker whose parent goes away (Ctrl-C, a cancelled Ray task) stops the chain it runs."""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import psutil

from qnetemu.engines.isolated import _warm_worker


class _Sleeper:
    """An engine whose simulation never ends on its own."""

    name = "sleeper"

    def simulate(self, chain, *, seed, max_pairs, max_time_s):
        time.sleep(3600)


def _ended(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_chain_stops_when_the_pipe_to_its_parent_closes():
    ctx = mp.get_context("spawn")
    here, there = ctx.Pipe()
    worker = ctx.Process(target=_warm_worker, args=(there, ()), daemon=True)
    worker.start()
    there.close()
    chain_pid = None
    try:
        here.send((_Sleeper(), None, 0, 1, 1.0, False))
        assert here.poll(120)
        kind, chain_pid = here.recv()
        assert kind == "pid" and psutil.pid_exists(chain_pid) and chain_pid != os.getpid()
        here.close()  # the parent's end goes, as when its process dies
        worker.join(30)
        deadline = time.monotonic() + 30
        while not _ended(chain_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _ended(chain_pid), "the chain outlived its warm worker's parent"
        assert worker.exitcode == 0
    finally:  # a failing run leaves nothing sleeping either
        if chain_pid is not None and not _ended(chain_pid):
            os.kill(chain_pid, 9)
        if worker.is_alive():
            worker.kill()
            worker.join()
