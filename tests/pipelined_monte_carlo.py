"""The Monte Carlo engine's pipelined event loop under instant swap messages.

The Monte Carlo engine pipelines (a link restarts as soon as its two memories
are free) only under classical messages; under instant messages it runs the
renewal cycle. Its event loop already has the pipelined model
(``_Params.pipelined``); with zero classical delays that is the instant-message
pipelined chain that SeQUeNCe runs. This runs it, with the engine's own run
statistics (independent runs of ``WARMUP + k`` deliveries from empty
memories, the first ``WARMUP`` not counted, errors from the per-run means), so the analytic
engine's pipelined chain and its labels can be checked against it. Used by
the tests and by ``benchmarks/bench_analytic_renewal.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from qnetemu.engines import repeater_montecarlo as mc
from qnetemu.engines.chain import ChainSpec

#: Deliveries of a run not counted (it starts from empty memories).
WARMUP = 4


@dataclass(frozen=True)
class PipelinedEstimate:
    """Steady-state pair rate [Hz] and mean delivered fidelity, with standard errors."""

    pair_rate_hz: float
    pair_rate_stderr_hz: float
    mean_fidelity: float
    fidelity_stderr: float
    runs: int


def pipelined_instant(chain: ChainSpec, *, seed: int, pairs: int, deliveries_per_run: int = 32,
                      batch: int = 4096) -> PipelinedEstimate:
    """Pipelined event loop of ``chain`` (instant swap messages) for about ``pairs`` counted pairs."""
    if chain.protocol.swap_messaging != "instant":
        raise ValueError("pipelined_instant runs instant swap messaging only")
    prm, lanes, _ = mc.MonteCarloChainEngine()._params(chain)
    prm = replace(prm, pipelined=True)  # zero delays: instant messages
    rng = np.random.default_rng(seed)
    k = deliveries_per_run
    runs = max(2, -(-pairs // k))
    dur, fmean = [], []
    done = 0
    while done < runs:
        size = min(batch, runs - done)
        t, f = mc._run_batch_events(rng, prm, size, WARMUP + k)
        dur.append(t[:, -1] - t[:, WARMUP - 1])
        fmean.append(f[:, WARMUP:].mean(axis=1))
        done += size
    d, fm = np.concatenate(dur), np.concatenate(fmean)
    mean_t = float(d.mean()) / k
    se_t = float(d.std(ddof=1)) / k / math.sqrt(runs)
    return PipelinedEstimate(pair_rate_hz=lanes / mean_t, pair_rate_stderr_hz=lanes * se_t / mean_t**2,
                             mean_fidelity=float(fm.mean()),
                             fidelity_stderr=float(fm.std(ddof=1) / math.sqrt(runs)), runs=runs)
