"""Repeater-chain engines behind one interface (see :mod:`qnetemu.engines.chain`).

``analytic``: exact distributions where it says so, refusing the rest.
``montecarlo``: vectorised numpy simulation of the same chain, seeded.
``sequence``: SeQUeNCe 1.3 event simulation, one child process per chain
(SeQUeNCe keeps process-wide protocol state).

Every engine runs the chain's :class:`~qnetemu.engines.chain.RepeaterProtocol`
or refuses it with :class:`~qnetemu.engines.chain.ProtocolNotSupported`
(a user error naming the scenario field) before any work starts.
"""

from __future__ import annotations

from collections.abc import Callable

from qnetemu.engines.chain import ChainResult, ChainSpec

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
