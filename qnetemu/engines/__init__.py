"""Repeater-chain engines behind one interface (see :mod:`qnetemu.engines.chain`).

``analytic``: exact distributions where it says so, refusing the rest.
``montecarlo``: vectorised numpy simulation of the same chain, seeded.
``sequence``: SeQUeNCe 1.3 event simulation, one fresh process per chain
(SeQUeNCe keeps process-wide protocol state), forked from warm workers that
imported SeQUeNCe once; :func:`run_chains` fans a run's chains out over them.

Every engine runs the chain's :class:`~qnetemu.engines.chain.RepeaterProtocol`
or refuses it with :class:`~qnetemu.engines.chain.ProtocolNotSupported`
(a user error naming the scenario field) before any work starts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from qnetemu.engines.chain import ChainResult, ChainSpec
from qnetemu.errors import UserError

CHAIN_ENGINES = ("analytic", "montecarlo", "sequence")

RunChain = Callable[..., ChainResult]


def engine_object(name: str):
    """The engine instance for a name (the SeQUeNCe one is run in a child process)."""
    if name == "analytic":
        from qnetemu.engines.repeater_analytic import AnalyticChainEngine

        return AnalyticChainEngine()
    if name == "montecarlo":
        from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine

        return MonteCarloChainEngine()
    if name == "sequence":
        from qnetemu.engines.sequence_adapter import SequenceChainEngine

        return SequenceChainEngine()
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(CHAIN_ENGINES)}")


def chain_engine(name: str) -> RunChain:
    """``run(chain, *, seed, max_pairs, max_time_s) -> ChainResult`` for an engine name.

    ``run`` first asks the engine whether it runs the chain's protocol
    (raising ``ProtocolNotSupported`` in this process), then simulates.
    """
    engine = engine_object(name)
    if name == "sequence":
        from qnetemu.engines.isolated import run_isolated

        def run(chain: ChainSpec, *, seed: int, max_pairs: int, max_time_s: float,
                progress: Callable[[float], None] | None = None) -> ChainResult:
            engine.check_protocol(chain)
            return run_isolated(engine, chain, seed=seed, max_pairs=max_pairs, max_time_s=max_time_s,
                                progress=progress)

        return run

    def run(chain: ChainSpec, *, seed: int, max_pairs: int, max_time_s: float, **_) -> ChainResult:
        engine.check_protocol(chain)
        return engine.simulate(chain, seed=seed, max_pairs=max_pairs, max_time_s=max_time_s)

    return run


def check_address(name: str, address: str | None) -> None:
    """Refuse a Ray ``address`` for an engine that runs its chains in this process."""
    if address is not None and name in CHAIN_ENGINES and name != "sequence":
        raise UserError(f"fans SeQUeNCe chains out over Ray; the {name} engine runs its chains in "
                        "this process (use --engine sequence, or qnetemu sweep --address for many "
                        "points)", field="--address")


def run_chains(
    name: str,
    jobs: Sequence[tuple[ChainSpec, int]],
    *,
    max_pairs: int,
    max_time_s: float,
    workers: int | None = None,
    address: str | None = None,
    ship_code: bool = False,
    progress: Sequence[Callable[[float], None] | None] | None = None,
) -> list[ChainResult]:
    """Results of ``(chain, seed)`` jobs, in job order.

    Every chain's protocol is checked first (``ProtocolNotSupported`` before
    any work). SeQUeNCe chains run at once on ``workers`` warm workers
    (default: this machine's cores, at most one per chain), each chain in a
    fresh fork, so the numbers equal a serial run's; with ``address``
    (``HOST:PORT``, ``auto``, or ``local`` for a private Ray of ``workers``
    CPUs) each chain is a Ray task instead (:mod:`qnetemu.engines.ray_chains`),
    with the same numbers. The other engines run one after the other in this
    process and refuse ``address``. ``ship_code``: send this project to a
    cluster's workers (Ray's ``working_dir``), as ``qnetemu sweep --ship-code``. ``progress``: one callback per job
    (SeQUeNCe only).
    """
    check_address(name, address)
    engine = engine_object(name)
    for chain, _ in jobs:
        engine.check_protocol(chain)
    if name != "sequence":
        return [engine.simulate(chain, seed=seed, max_pairs=max_pairs, max_time_s=max_time_s)
                for chain, seed in jobs]
    if not jobs:
        return []
    if address:
        from qnetemu.engines.ray_chains import run_chains_on_ray

        return run_chains_on_ray(engine, jobs, address=address, max_pairs=max_pairs,
                                 max_time_s=max_time_s, workers=workers, ship_code=ship_code,
                                 progress=progress)
    from qnetemu.engines.isolated import WarmWorkers

    count = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    with WarmWorkers(count) as pool:
        return pool.map(engine, jobs, max_pairs=max_pairs, max_time_s=max_time_s,
                        progress=progress)
