"""How far the analytic engine's renewal results are from the pipelined Monte Carlo engine.

Where pipelining can change results
(:func:`qnetemu.engines.repeater_analytic.pipelining_changes_results`) and the
analytic engine has no exact pipelined model, it computes the renewal cycle
(every link restarts after each delivery); SeQUeNCe and the Monte Carlo engine
restart a link as soon as its two memories are free. This prints the rate and
fidelity differences that the labels quote.

* default (classical swap messages): the default protocol (nested,
  negotiated, classical, independent lanes), 20 and 50 km links, T2 = 1 s,
  F0 = 0.98: :data:`~qnetemu.engines.repeater_analytic.RENEWAL_APPROXIMATION`.
* ``--phases``: continuous attempts on unequal links, where the sources'
  clock makes pairs herald at different phases of the attempt period:
  :data:`~qnetemu.engines.repeater_analytic.CLOCK_PHASE_APPROXIMATION`
  (T2 = 20 ms, F0 = 0.98).
* ``--instant``: instant swap messages, 20 km negotiated links, one memory,
  T2 = 50 ms, F0 = 0.98; swap-ASAP with swap probability 1 and 0.5 (up to
  :data:`~qnetemu.engines.repeater_analytic.PIPELINED_EXACT_MAX` segments the
  analytic engine is exact, and the rows check it; beyond, renewal) and nested
  (renewal from five segments):
  :data:`~qnetemu.engines.repeater_analytic.INSTANT_RENEWAL_APPROXIMATION`.

Usage::

    python benchmarks/bench_analytic_renewal.py            # ~1 min on one core
    python benchmarks/bench_analytic_renewal.py --instant  # ~5 min
    python benchmarks/bench_analytic_renewal.py --phases --pairs 40000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol  # noqa: E402
from qnetemu.engines.repeater_analytic import (  # noqa: E402
    CLOCK_PHASE_APPROXIMATION,
    CLOCK_RESTART_APPROXIMATION,
    PIPELINED_APPROXIMATION,
    AnalyticChainEngine,
)
from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine  # noqa: E402

DEFAULT = RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes")
ASAP_INSTANT = RepeaterProtocol("swap_asap", "negotiated", "instant", "single")
NESTED_INSTANT = RepeaterProtocol("nested", "negotiated", "instant", "single")


def _hardware(coherence_time_s: float, swap_success_prob: float = 1.0, attempt_rate_hz: float = 1e5) -> RepeaterHardware:
    return RepeaterHardware(memory_efficiency=1.0, coherence_time_s=coherence_time_s, decoherence="depolarising",
                            memories_per_node=1, link_fidelity=0.98, attempt_rate_hz=attempt_rate_hz,
                            detector_efficiency=1.0, swap_success_prob=swap_success_prob, swap_fidelity=1.0,
                            purification="none", purification_rounds=0, cutoff_time_s=None)


def _row(label: str, chain: ChainSpec, mc_rate, mc_se, mc_f, mc_f_se) -> str:
    a = AnalyticChainEngine().simulate(chain)
    z = (a.pair_rate_hz - mc_rate) / mc_se
    zf = (a.mean_fidelity - mc_f) / mc_f_se
    note = a.extra["approximation"]
    model = ("pipelined chain" if a.extra["pipelined"] else "renewal") + (
        ", extrapolated" if note.startswith(PIPELINED_APPROXIMATION) else "") + (
        ", clock phases" if CLOCK_PHASE_APPROXIMATION in note else "") + (
        ", clocked restarts" if CLOCK_RESTART_APPROXIMATION in note else "") + (", exact" if a.extra["exact"] else "")
    return (f"| {label} | {model} | {a.pair_rate_hz:.4g}, {a.mean_fidelity:.4f} "
            f"| {mc_rate:.4g} ± {mc_se:.2g}, {mc_f:.4f} ± {mc_f_se:.1g} "
            f"| {a.pair_rate_hz / mc_rate - 1:+.1%} ({z:+.1f}) | {a.mean_fidelity - mc_f:+.4f} ({zf:+.1f}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--instant", action="store_true", help="instant swap messages (see the docstring)")
    ap.add_argument("--phases", action="store_true",
                    help="continuous attempts on unequal links (clock phases, see the docstring)")
    ap.add_argument("--orders", nargs="+", default=["swap_asap", "nested"], choices=["swap_asap", "nested"],
                    help="with --instant: the swap orders to run")
    args = ap.parse_args()
    print("| chain | analytic model | analytic rate [Hz], F | Monte Carlo rate [Hz], F "
          "| rate difference (z) | F difference (z) |")
    print("| --- | --- | --- | --- | --- | --- |")
    if args.phases:
        for order, messaging, lengths, a, hz in (("swap_asap", "instant", (10.0, 20.0), 1.0, 1e5),
                                                 ("swap_asap", "instant", (10.0, 20.0, 10.0), 0.5, 1e5),
                                                 ("swap_asap", "instant", (15.0, 25.0, 15.0, 25.0), 0.6, 1e5),
                                                 ("nested", "instant", (10.0, 20.0, 10.0, 20.0), 1.0, 1e5),
                                                 ("nested", "classical", (10.0, 20.0), 1.0, 1e5),
                                                 ("nested", "classical", (20.0, 20.0), 1.0, 5e3),
                                                 ("nested", "classical", (20.0,) * 4, 1.0, 5e3)):
            protocol = RepeaterProtocol(order, "continuous", messaging, "single")
            chain = ChainSpec(lengths, _hardware(0.02, a, hz), attenuation_db_per_km=0.2, protocol=protocol)
            m = MonteCarloChainEngine().simulate(chain, seed=args.seed, max_pairs=args.pairs, max_time_s=1e9)
            print(_row(f"{order}, {messaging}, a = {a:g}, {' + '.join(f'{x:g}' for x in lengths)} km, "
                       f"{hz / 1e3:g} kHz", chain,
                       m.pair_rate_hz, m.pair_rate_stderr_hz, m.mean_fidelity, m.fidelity_stderr), flush=True)
        return
    if not args.instant:
        for length_km, n in ((20.0, 3), (20.0, 4), (20.0, 8), (20.0, 16), (50.0, 4), (50.0, 8), (50.0, 16)):
            chain = ChainSpec((length_km,) * n, _hardware(1.0), attenuation_db_per_km=0.2, protocol=DEFAULT)
            m = MonteCarloChainEngine().simulate(chain, seed=args.seed, max_pairs=args.pairs, max_time_s=1e9)
            print(_row(f"{n} x {length_km:g} km", chain, m.pair_rate_hz, m.pair_rate_stderr_hz,
                       m.mean_fidelity, m.fidelity_stderr), flush=True)
        return
    cases = [(ASAP_INSTANT, a, n) for a in (1.0, 0.5) for n in (4, 6, 9, 12, 16)] if "swap_asap" in args.orders else []
    cases += [(NESTED_INSTANT, 1.0, n) for n in (4, 5, 8, 16)] if "nested" in args.orders else []
    for protocol, a, n in cases:
        chain = ChainSpec((20.0,) * n, _hardware(0.05, a), attenuation_db_per_km=0.2, protocol=protocol)
        m = MonteCarloChainEngine().simulate(chain, seed=args.seed, max_pairs=args.pairs, max_time_s=1e9)
        print(_row(f"{protocol.swap_order}, a = {a:g}, {n} x 20 km", chain, m.pair_rate_hz,
                   m.pair_rate_stderr_hz, m.mean_fidelity, m.fidelity_stderr), flush=True)


if __name__ == "__main__":
    main()
