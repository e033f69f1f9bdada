"""Warm SeQUeNCe workers: same numbers as one fresh interpreter per chain, in parallel too.

Each chain of a worker runs in a fresh fork of a process that imported
SeQUeNCe once, so class state a chain sets (the generation protocol, the
formalisms) must not reach the next chain, and results must not depend on
the number of workers. The chain topology must route as SeQUeNCe's own
all-pairs Dijkstra does.
"""

from __future__ import annotations

import os

import pytest
from repeater_chain_values import make_chain, make_hardware

from qnetemu.engines import run_chains
from qnetemu.engines.chain import SEQUENCE_NATIVE_PROTOCOL, ChainSpec
from qnetemu.engines.isolated import WarmWorkers, run_isolated
from qnetemu.engines.sequence_adapter import (
    SequenceChainEngine,
    _set_protocol_class_state,
    build_router_net_config,
    chain_topology,
)

pytestmark = pytest.mark.slow

KW = {"max_pairs": 12, "max_time_s": 0.05}


def _chain(n: int) -> ChainSpec:
    return make_chain((20.0,) * n, make_hardware(coherence_time_s=0.5),
                     protocol=SEQUENCE_NATIVE_PROTOCOL)


def _same(a, b) -> None:
    assert a.status == b.status == "ok", (a.error, b.error)
    assert a.extra["pair_times_s"] == b.extra["pair_times_s"]
    assert a.extra["pair_fidelities"] == b.extra["pair_fidelities"]
    assert a.extra["events"] == b.extra["events"]


def test_parallel_equals_serial_for_fixed_seeds():
    """Three chains on two warm workers (twice, reusing them) equal fresh interpreters."""
    jobs = [(_chain(n), 100 + n) for n in (1, 2, 4)]
    engine = SequenceChainEngine()
    serial = [run_isolated(engine, c, seed=s, timeout_s=300, **KW) for c, s in jobs]
    with WarmWorkers(2) as pool:
        first = pool.map(engine, jobs, timeout_s=300, **KW)
        again = pool.map(engine, jobs[::-1], timeout_s=300, **KW)[::-1]
    for a, b, c in zip(serial, first, again, strict=True):
        _same(a, b)
        _same(a, c)
    assert serial[0].extra["pair_times_s"] != serial[1].extra["pair_times_s"]
    _same(serial[2], run_chains("sequence", jobs[2:], workers=1, **KW)[0])


def test_class_state_does_not_leak_between_chains_of_a_worker():
    """A ket-vector chain (Barrett-Kok generation) before a Bell-diagonal one on the
    same worker: the second equals a fresh interpreter's run."""
    chain = _chain(2)
    fresh = run_isolated(SequenceChainEngine(), chain, seed=5, timeout_s=300, **KW)
    with WarmWorkers(1) as pool:
        ket = pool.run(SequenceChainEngine("ket_vector"), chain, seed=5, timeout_s=300, **KW)
        after = pool.run(SequenceChainEngine(), chain, seed=5, timeout_s=300, **KW)
    assert ket.status == "ok", ket.error
    _same(fresh, after)


class _Crash:
    name = "crashing"

    def simulate(self, chain, *, seed, max_pairs, max_time_s):
        os._exit(3)


def test_worker_survives_a_crashing_chain():
    """A chain whose process dies is a failed result; the worker runs the next chain."""
    with WarmWorkers(1, preload=()) as pool:
        dead = pool.run(_Crash(), _chain(1), seed=0, **KW)
        ok = pool.run(SequenceChainEngine(), _chain(1), seed=3, timeout_s=300, **KW)
    assert dead.status == "failed" and "exit code 3" in dead.error
    _same(run_isolated(SequenceChainEngine(), _chain(1), seed=3, timeout_s=300, **KW), ok)


@pytest.mark.parametrize("n", [1, 2, 5, 12])
def test_chain_forwarding_tables_equal_sequence_dijkstra(n):
    from sequence.topology.router_net_topo import RouterNetTopo

    config = build_router_net_config(_chain(n), seed=1, stop_time_s=1.0, formalism="bell_diagonal")
    _set_protocol_class_state("bell_diagonal")

    def tables(topo):
        return {r.name: dict(r.network_manager.get_forwarding_table())
                for r in topo.get_nodes_by_type(RouterNetTopo.QUANTUM_ROUTER)}

    assert tables(chain_topology(config)) == tables(RouterNetTopo(config))
