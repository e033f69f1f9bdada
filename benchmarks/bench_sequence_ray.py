"""Per-chain overhead of a run's SeQUeNCe chains: serial, ``--workers 2`` and Ray tasks, in one run.

The same ``--chains`` chains (default 8 of 2 x 50 km, bell_diagonal, the
SeQUeNCe protocol, ``--window-s`` of simulated time each, one seed per chain)
are run

(a) one after the other on one warm worker (``qnetemu run --workers 1``);
(b) on two warm workers (``--workers 2``);
(c) as Ray tasks on a private local Ray with two CPUs (``--address local
    --workers 2``), through :func:`qnetemu.engines.ray_chains.map_on_ray`.

Each is warmed first (workers started, SeQUeNCe imported; for Ray, its
worker processes and their warm workers), so start-up is timed on its own
(a run pays it once). Per-chain overhead is the core time a chain costs
beyond the engine's own build-and-run (``result.wall_s``):
``(slots x wall time - sum of wall_s) / chains``, with ``slots`` the chains
run at once (1, 2, 2). The results of (b) and (c) are checked identical to (a).

Usage::

    python benchmarks/bench_sequence_ray.py [--chains 8] [--window-s 0.5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.engines.chain import SEQUENCE_NATIVE_PROTOCOL, ChainSpec, RepeaterHardware  # noqa: E402
from qnetemu.engines.isolated import WarmWorkers  # noqa: E402
from qnetemu.engines.ray_chains import map_on_ray  # noqa: E402
from qnetemu.engines.sequence_adapter import SequenceChainEngine  # noqa: E402
from qnetemu.sweep.executors import RayExecutor  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def overhead_s(results, wall_s: float, slots: int) -> float:
    """Core seconds per chain spent outside the engine's build-and-run."""
    return (slots * wall_s - sum(r.wall_s for r in results)) / len(results)


def same(a, b) -> bool:
    return all(x.status == y.status == "ok" and x.extra["pair_times_s"] == y.extra["pair_times_s"]
               and x.extra["pair_fidelities"] == y.extra["pair_fidelities"]
               for x, y in zip(a, b, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=2)
    ap.add_argument("--length-km", type=float, default=50.0)
    ap.add_argument("--window-s", type=float, default=0.5, help="simulated time per chain [s]")
    ap.add_argument("--chains", type=int, default=8)
    args = ap.parse_args()

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    hw = RepeaterHardware(coherence_time_s=10.0, link_fidelity=0.99, attempt_rate_hz=1e5)
    chain = ChainSpec((args.length_km,) * args.segments, hw, protocol=SEQUENCE_NATIVE_PROTOCOL)
    engine = SequenceChainEngine()
    kw = {"max_pairs": 10**9, "max_time_s": args.window_s}
    jobs = [(chain, 10 + k) for k in range(args.chains)]
    rows = []

    with WarmWorkers(1) as one:
        _, start_s = timed(lambda: one.map(engine, jobs[:1], **kw))
        serial, t = timed(lambda: one.map(engine, jobs, **kw))
    rows.append(("serial, 1 warm worker", start_s, t, overhead_s(serial, t, 1), True))
    with WarmWorkers(2) as two:
        _, start_s = timed(lambda: two.map(engine, jobs[:2], **kw))
        local, t = timed(lambda: two.map(engine, jobs, **kw))
    rows.append(("--workers 2", start_s, t, overhead_s(local, t, 2), same(serial, local)))
    t0 = time.perf_counter()
    with RayExecutor(address="local", workers=2) as ex:
        map_on_ray(ex, engine, jobs[:2], **kw)  # Ray workers and their warm workers start
        start_s = time.perf_counter() - t0
        on_ray, t = timed(lambda: map_on_ray(ex, engine, jobs, **kw))
        t1 = time.perf_counter()
    stop_s = time.perf_counter() - t1
    rows.append(("Ray tasks, --address local", start_s, t, overhead_s(on_ray, t, 2), same(serial, on_ray)))

    print(f"{args.chains} chains of {args.segments} x {args.length_km:g} km, window {args.window_s:g} s, "
          f"load average {os.getloadavg()[0]:.2f} at the end, {os.cpu_count()} cores")
    print(f"{'':28} {'start-up':>9} {'chains':>8} {'speed-up':>9} {'overhead/chain':>15}  identical")
    base = rows[0][2]
    for name, start, wall, over, ok in rows:
        print(f"{name:28} {start:8.2f}s {wall:7.2f}s {base / wall:8.2f}x {1e3 * over:12.1f} ms  {ok}")
    print(f"Ray stop (by pid): {stop_s:.2f} s")


if __name__ == "__main__":
    main()
