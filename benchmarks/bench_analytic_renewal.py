"""How far the analytic engine's renewal recursion is from the pipelined Monte Carlo engine.

Under classical swap messaging on three or more segments the analytic engine
restarts every link after each delivery; SeQUeNCe and the Monte Carlo engine
restart a link as soon as a swap frees its memories. This prints the rate and
fidelity differences that :data:`qnetemu.engines.repeater_analytic.RENEWAL_APPROXIMATION`
quotes, for the default protocol (nested, negotiated, classical, independent lanes).

Usage::

    python benchmarks/bench_analytic_renewal.py            # ~1 min on one core
"""

from __future__ import annotations

import argparse

from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol
from qnetemu.engines.repeater_analytic import AnalyticChainEngine
from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine

DEFAULT = RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    hardware = RepeaterHardware(memory_efficiency=1.0, coherence_time_s=1.0, decoherence="depolarising",
                                memories_per_node=1, link_fidelity=0.98, attempt_rate_hz=1e5,
                                detector_efficiency=1.0, swap_success_prob=1.0, swap_fidelity=1.0,
                                purification="none", purification_rounds=0, cutoff_time_s=None)
    print("| chain | analytic rate [Hz], F | Monte Carlo rate [Hz], F | rate difference (z) | F difference |")
    print("| --- | --- | --- | --- | --- |")
    for length_km, n in ((20.0, 3), (20.0, 4), (20.0, 8), (20.0, 16), (50.0, 4), (50.0, 8), (50.0, 16)):
        chain = ChainSpec((length_km,) * n, hardware, attenuation_db_per_km=0.2, protocol=DEFAULT)
        a = AnalyticChainEngine().simulate(chain)
        m = MonteCarloChainEngine().simulate(chain, seed=args.seed, max_pairs=args.pairs, max_time_s=1e9)
        z = (a.pair_rate_hz - m.pair_rate_hz) / m.pair_rate_stderr_hz
        print(f"| {n} x {length_km:g} km | {a.pair_rate_hz:.4g}, {a.mean_fidelity:.4f} "
              f"| {m.pair_rate_hz:.4g} ± {m.pair_rate_stderr_hz:.2g}, {m.mean_fidelity:.4f} "
              f"| {a.pair_rate_hz / m.pair_rate_hz - 1:+.1%} ({z:+.1f}) "
              f"| {a.mean_fidelity - m.mean_fidelity:+.4f} |", flush=True)


if __name__ == "__main__":
    main()
