"""Repeater-chain engines behind one interface (see :mod:`qnetemu.engines.chain`).

``analytic``: closed forms and documented approximations, instant.
``montecarlo``: vectorised numpy simulation of the same chain, seeded.
``sequence``: SeQUeNCe 1.3 event simulation, one child process per chain
(SeQUeNCe keeps process-wide protocol state).
"""

from __future__ import annotations

from collections.abc import Callable

from qnetemu.engines.chain import ChainResult, ChainSpec

CHAIN_ENGINES = ("analytic", "montecarlo", "sequence")

RunChain = Callable[..., ChainResult]


def chain_engine(name: str) -> RunChain:
    """``run(chain, *, seed, max_pairs, max_time_s) -> ChainResult`` for an engine name."""
    if name == "analytic":
        from qnetemu.engines.repeater_analytic import AnalyticChainEngine

        return AnalyticChainEngine().simulate
    if name == "montecarlo":
        from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine

        return MonteCarloChainEngine(mode="textbook").simulate
    if name == "sequence":
        from qnetemu.engines.isolated import run_isolated
        from qnetemu.engines.sequence_adapter import SequenceChainEngine

        def run(chain: ChainSpec, *, seed: int, max_pairs: int, max_time_s: float,
                progress: Callable[[float], None] | None = None) -> ChainResult:
            return run_isolated(SequenceChainEngine(), chain, seed=seed, max_pairs=max_pairs, max_time_s=max_time_s,
                                progress=progress)

        return run
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(CHAIN_ENGINES)}")
