"""Monte Carlo engine on a long chain: deliveries per wall second, peak memory, numpy limit.

On one chain (default 1,000 segments of 20 km, the default hardware and
protocol: swap-ASAP, certain swaps, no cutoff) it times, in one run,

(a) the engine (``MonteCarloChainEngine.simulate``: the direct array path),
(b) the event loop the engine used before for every chain
    (``_run_batch_events``, the general path), on fewer trials,
(c) the numpy limit: ``Generator.geometric`` drawing the same number of
    link attempts (segments x deliveries) and nothing else,

and prints deliveries per wall second of each, the ratios (a)/(c) (target
>= 0.10) and (a)/(b), and the peak traced memory of (a) (tracemalloc; target
< 1 GB). Each figure is the best of ``--repeats`` runs.

Usage::

    python benchmarks/bench_montecarlo_scale.py
    python benchmarks/bench_montecarlo_scale.py --segments 100 --pairs 100000
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.engines import repeater_montecarlo as mc  # noqa: E402
from qnetemu.engines.chain import TEXTBOOK_PROTOCOL, ChainSpec, RepeaterHardware  # noqa: E402


def best(fn, repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls [s]."""
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    return min(walls)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=1000)
    ap.add_argument("--length-km", type=float, default=20.0)
    ap.add_argument("--pairs", type=int, default=20_000, help="deliveries of the engine run")
    ap.add_argument("--event-pairs", type=int, default=64, help="deliveries of the event loop")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    hardware = RepeaterHardware(memory_efficiency=1.0, coherence_time_s=1.0, decoherence="depolarising",
                                memories_per_node=1, link_fidelity=0.99, attempt_rate_hz=1e5,
                                detector_efficiency=1.0, swap_success_prob=1.0, swap_fidelity=1.0,
                                purification="none", purification_rounds=0, cutoff_time_s=None)
    chain = ChainSpec((args.length_km,) * args.segments, hardware, attenuation_db_per_km=0.2,
                      protocol=TEXTBOOK_PROTOCOL)
    engine = mc.MonteCarloChainEngine()
    prm, _, _ = engine._params(chain)
    assert mc._fast_path(prm)

    wall_engine = best(
        lambda: engine.simulate(chain, seed=1, max_pairs=args.pairs, max_time_s=1e12), args.repeats
    )
    tracemalloc.start()
    res = engine.simulate(chain, seed=1, max_pairs=args.pairs, max_time_s=1e12)
    peak_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    wall_events = best(
        lambda: mc._run_batch_events(np.random.default_rng(1), prm, args.event_pairs), 1
    )
    rng = np.random.default_rng(1)
    rows = mc.batch_rows(prm.n, True, engine.memory_bytes)

    def numpy_draws() -> None:
        left = args.pairs
        while left:
            k = min(rows, left)
            rng.geometric(prm.p, size=(k, prm.n))
            left -= k

    wall_numpy = best(numpy_draws, args.repeats)
    rate_engine = args.pairs / wall_engine
    rate_events = args.event_pairs / wall_events
    rate_numpy = args.pairs / wall_numpy
    print(f"chain: {args.segments} x {args.length_km:g} km, p = {prm.p[0]:.4f} per attempt, "
          f"F = {res.mean_fidelity:.4f}, batch {rows} trials")
    print(f"engine (direct path):   {rate_engine:10.0f} deliveries / wall s ({args.pairs} pairs)")
    print(f"event loop (before):    {rate_events:10.1f} deliveries / wall s ({args.event_pairs} pairs)")
    print(f"numpy geometric limit:  {rate_numpy:10.0f} deliveries / wall s")
    print(f"engine / numpy limit:   {rate_engine / rate_numpy:10.2f}  (target >= 0.10)")
    print(f"engine / event loop:    {rate_engine / rate_events:10.0f}x")
    print(f"peak traced memory:     {peak_bytes / 2**20:10.0f} MiB (target < 1024)")


if __name__ == "__main__":
    main()
