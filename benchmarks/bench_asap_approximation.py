"""Swap-ASAP beyond the exact pipelined chain: the analytic engine's approximation against Monte Carlo.

For chains of ``--segments`` equal links (swap-ASAP, continuous attempts,
instant messages, one memory per link) runs the analytic engine, which beyond
:data:`~qnetemu.engines.swap_asap_pipelined.PIPELINED_EXACT_MAX` segments
continues the exact pipelined chain by extrapolating its increments
(:func:`~qnetemu.engines.repeater_analytic.swap_asap_pipelined_extrapolated`),
and the Monte Carlo engine on the same chain (which pipelines: links restart
once their two memories are free, as SeQUeNCe does). Prints one JSON line per chain: both rates and
fidelities, Monte Carlo's standard errors, the relative difference and its
z-score. Then checks the extrapolation on the exact chain itself: the values
at the exact limit predicted from the sizes ``--ahead`` below it.

Usage::

    python benchmarks/bench_asap_approximation.py                          # 12, 16 segments
    python benchmarks/bench_asap_approximation.py --segments 12 16 --swap 1.0
    python benchmarks/bench_asap_approximation.py --segments 12 --unequal  # alternating 15 / 25 km
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.engines import repeater_analytic as ra  # noqa: E402
from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol  # noqa: E402
from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine  # noqa: E402
from qnetemu.engines.swap_asap_pipelined import PIPELINED_EXACT_MAX, swap_asap_pipelined  # noqa: E402


def _chain(n: int, args) -> ChainSpec:
    lengths = [args.length_km * (0.75 if i % 2 else 1.25) for i in range(n)] if args.unequal else [args.length_km] * n
    return ChainSpec(
        tuple(lengths),
        RepeaterHardware(memory_efficiency=1.0, coherence_time_s=args.coherence_time_s,
                         decoherence="depolarising", memories_per_node=1, link_fidelity=0.99,
                         attempt_rate_hz=1e5, detector_efficiency=1.0, swap_success_prob=args.swap,
                         swap_fidelity=1.0, purification="none", purification_rounds=0, cutoff_time_s=None),
        attenuation_db_per_km=0.2,
        protocol=RepeaterProtocol("swap_asap", "continuous", "instant", "single"),
    )


def _self_check(args) -> dict:
    """The engine's extrapolation run with its exact limit ``ahead`` lower, against the exact chain."""
    p = ra.AnalyticChainEngine().simulate(_chain(2, args)).extra["link_success_prob"][0]
    tau = args.length_km * 1e3 / ra.SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    decay = 2.0 * tau / args.coherence_time_s
    top = PIPELINED_EXACT_MAX
    exact = swap_asap_pipelined([p] * top, args.swap, decay)
    ra.PIPELINED_EXACT_MAX = top - args.ahead  # the extrapolation reads the module's limit
    try:
        periods, first, factor = ra.swap_asap_pipelined_extrapolated([p] * top, args.swap, decay)
    finally:
        ra.PIPELINED_EXACT_MAX = top
    return {"self_check": f"{top} links from {top - 4 - args.ahead}-{top - args.ahead}",
            "periods_rel_error": periods * exact.deliveries_per_period - 1.0,
            "first_periods_rel_error": first / exact.first_delivery_periods - 1.0,
            "storage_factor_rel_error": factor / exact.storage_factor - 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, nargs="+", default=[12, 16])
    parser.add_argument("--length-km", type=float, default=20.0)
    parser.add_argument("--coherence-time-s", type=float, default=0.05)
    parser.add_argument("--swap", type=float, default=0.5, help="swap success probability")
    parser.add_argument("--unequal", action="store_true", help="links alternately 1.25 and 0.75 x --length-km")
    parser.add_argument("--pairs", type=int, default=20_000, help="Monte Carlo deliveries per chain")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ahead", type=int, default=1, help="steps predicted in the self-check")
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
            "unequal": args.unequal, "coherence_time_s": args.coherence_time_s,
            "analytic_rate_hz": an.pair_rate_hz, "mc_rate_hz": mc.pair_rate_hz,
            "mc_rate_stderr_hz": mc.pair_rate_stderr_hz,
            "rate_rel_diff": an.pair_rate_hz / mc.pair_rate_hz - 1.0,
            "rate_z": (an.pair_rate_hz - mc.pair_rate_hz) / mc.pair_rate_stderr_hz,
            "analytic_fidelity": an.mean_fidelity, "mc_fidelity": mc.mean_fidelity,
            "mc_fidelity_stderr": mc.fidelity_stderr,
            "fidelity_diff": an.mean_fidelity - mc.mean_fidelity,
            "fidelity_z": (an.mean_fidelity - mc.mean_fidelity) / mc.fidelity_stderr,
            "analytic_exact": an.extra["exact"], "analytic_s": round(t1 - t0, 2),
            "mc_pairs": mc.pairs, "mc_pipelined": mc.extra["pipelined"], "mc_s": round(t2 - t1, 1),
        }), flush=True)


if __name__ == "__main__":
    main()
