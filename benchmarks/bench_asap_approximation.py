"""Swap-ASAP beyond the exact Markov chain: the analytic engine's approximation against Monte Carlo.

For chains of ``--segments`` equal links (swap-ASAP, continuous attempts,
instant messages, one memory per link, probabilistic swaps) runs the analytic
engine, which beyond :data:`~qnetemu.engines.repeater_analytic.MARKOV_EXACT_MAX`
segments (rate) and ``MARKOV_FIDELITY_EXACT_MAX`` (fidelity) continues the
exact chain by extrapolating its increments
(:func:`~qnetemu.engines.repeater_analytic.swap_asap_extrapolated`), and the
Monte Carlo engine on the same chain. Prints one JSON line per chain: both
rates and fidelities, Monte Carlo's standard errors, the relative difference
and its z-score. Then checks the extrapolation on the exact chain itself:
``E[T]`` and the storage factor at the exact limit, predicted from four sizes
``--ahead`` below it.

Usage::

    python benchmarks/bench_asap_approximation.py                          # 14, 16, 20 segments
    python benchmarks/bench_asap_approximation.py --segments 13 24 --pairs 20000 --swap 0.8
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.engines import repeater_analytic as ra  # noqa: E402
from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol  # noqa: E402
from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine  # noqa: E402


def _chain(n: int, args) -> ChainSpec:
    return ChainSpec(
        (args.length_km,) * n,
        RepeaterHardware(coherence_time_s=args.coherence_time_s, swap_success_prob=args.swap,
                         memories_per_node=1, memory_efficiency=1.0, detector_efficiency=1.0),
        protocol=RepeaterProtocol("swap_asap", "continuous", "instant", "single"),
    )


def _self_check(args) -> dict:
    """Predict the exact limit's values from sizes ``ahead`` below, against the exact chain."""
    p = ra.AnalyticChainEngine().simulate(_chain(2, args)).extra["link_success_prob"][0]
    tau = args.length_km * 1e3 / ra.SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    decay = 2.0 * tau / args.coherence_time_s
    top_t, top_f = ra.MARKOV_EXACT_MAX, ra.MARKOV_FIDELITY_EXACT_MAX
    k = args.ahead
    att = np.array([ra.swap_asap_markov([p] * m, args.swap, 0.0, fidelity=False)[0]
                    for m in range(top_t - 3 - k, top_t + 1)])
    fac = np.array([ra.swap_asap_markov([p] * m, args.swap, decay)[1]
                    for m in range(top_f - 3 - k, top_f + 1)])
    pred_t = math.exp(ra._extrapolate_increments(np.log(att[:4]), top_t - 3 - k, top_t))
    pred_f = math.exp(-ra._extrapolate_increments(-np.log(fac[:4]), top_f - 3 - k, top_f))
    return {"self_check": f"{top_t} links from {top_t - 3 - k}-{top_t - k}",
            "attempts_rel_error": pred_t / att[-1] - 1.0,
            "storage_factor_rel_error": pred_f / fac[-1] - 1.0,
            "storage_factor_links": f"{top_f} from {top_f - 3 - k}-{top_f - k}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, nargs="+", default=[14, 16, 20])
    parser.add_argument("--length-km", type=float, default=20.0)
    parser.add_argument("--coherence-time-s", type=float, default=0.05)
    parser.add_argument("--swap", type=float, default=0.5, help="swap success probability")
    parser.add_argument("--pairs", type=int, default=4000, help="Monte Carlo deliveries per chain")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ahead", type=int, default=3, help="steps predicted in the self-check")
    args = parser.parse_args()
    print(json.dumps(_self_check(args)), flush=True)
    for n in args.segments:
        chain = _chain(n, args)
        t0 = time.perf_counter()
        an = ra.AnalyticChainEngine().simulate(chain)
        t1 = time.perf_counter()
        mc = MonteCarloChainEngine().simulate(chain, seed=args.seed, max_pairs=args.pairs, max_time_s=1e9)
        t2 = time.perf_counter()
        print(json.dumps({
            "segments": n, "swap_success_prob": args.swap, "length_km": args.length_km,
            "coherence_time_s": args.coherence_time_s,
            "analytic_rate_hz": an.pair_rate_hz, "mc_rate_hz": mc.pair_rate_hz,
            "mc_rate_stderr_hz": mc.pair_rate_stderr_hz,
            "rate_rel_diff": an.pair_rate_hz / mc.pair_rate_hz - 1.0,
            "rate_z": (an.pair_rate_hz - mc.pair_rate_hz) / mc.pair_rate_stderr_hz,
            "analytic_fidelity": an.mean_fidelity, "mc_fidelity": mc.mean_fidelity,
            "mc_fidelity_stderr": mc.fidelity_stderr,
            "fidelity_diff": an.mean_fidelity - mc.mean_fidelity,
            "fidelity_z": (an.mean_fidelity - mc.mean_fidelity) / mc.fidelity_stderr,
            "analytic_exact": an.extra["exact"], "analytic_s": round(t1 - t0, 2),
            "mc_pairs": mc.pairs, "mc_s": round(t2 - t1, 1),
        }), flush=True)


if __name__ == "__main__":
    main()
