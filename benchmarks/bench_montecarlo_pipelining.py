"""Monte Carlo with and without pipelining on the default protocol, in one run.

The default protocol (nested swaps, negotiated attempts, classical messages,
independent lanes) pipelines: a link restarts once its two memories are free.
For chains of ``--segments`` x 20 km (T2 = 1 s, link fidelity 0.98) it runs
the engine as scenarios do and with ``pipelining=False`` (every link restarted
after each delivery, the analytic engine's model), and prints the deliveries
per wall second of each (best of ``--repeats``), their ratio, and what
pipelining changes in pair rate and fidelity (in combined standard errors).

Usage::

    python benchmarks/bench_montecarlo_pipelining.py
    python benchmarks/bench_montecarlo_pipelining.py --segments 4 16 37 64 --pairs 20000
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.engines import repeater_montecarlo as mc  # noqa: E402
from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol  # noqa: E402

DEFAULT = RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, nargs="+", default=[4, 16, 37, 64])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    print("| segments | path | pipelined pairs/s | renewal pairs/s | ratio | rate change (z) | F change (z) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in args.segments:
        hardware = RepeaterHardware(memory_efficiency=1.0, coherence_time_s=1.0, decoherence="depolarising",
                                    memories_per_node=1, link_fidelity=0.98, attempt_rate_hz=1e5,
                                    detector_efficiency=1.0, swap_success_prob=1.0, swap_fidelity=1.0,
                                    purification="none", purification_rounds=0, cutoff_time_s=None)
        chain = ChainSpec((20.0,) * n, hardware, attenuation_db_per_km=0.2, protocol=DEFAULT)
        res, speed = {}, {}
        for pip in (True, False):
            walls = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                res[pip] = mc.MonteCarloChainEngine(pipelining=pip).simulate(
                    chain, seed=1, max_pairs=args.pairs, max_time_s=1e12)
                walls.append(time.perf_counter() - t0)
            speed[pip] = res[pip].pairs / min(walls)
        prm, _, _ = mc.MonteCarloChainEngine()._params(chain)
        p, r = res[True], res[False]
        z_rate = (p.pair_rate_hz - r.pair_rate_hz) / math.hypot(p.pair_rate_stderr_hz, r.pair_rate_stderr_hz)
        z_fid = (p.mean_fidelity - r.mean_fidelity) / math.hypot(p.fidelity_stderr, r.fidelity_stderr)
        print(f"| {n} | {'direct' if mc._fast_path(prm) else 'event loop'} | {speed[True]:,.0f} "
              f"| {speed[False]:,.0f} | {speed[True] / speed[False]:.2f} "
              f"| {p.pair_rate_hz / r.pair_rate_hz - 1:+.1%} ({z_rate:+.0f}) "
              f"| {p.mean_fidelity - r.mean_fidelity:+.4f} ({z_fid:+.0f}) |", flush=True)


if __name__ == "__main__":
    main()
