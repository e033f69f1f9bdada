"""Speed of the repeater-chain engines on one chain: pairs per wall second.

Runs the same chain through

(a) qnetemu's SeQUeNCe engine (``SequenceChainEngine``, in a child process
    as a sweep would run it),
(b) a plain SeQUeNCe script that does not use qnetemu
    (``plain_sequence_chain.py``, run as its own program),
(c) qnetemu's Monte Carlo engine on the same protocol (negotiated attempts,
    nested swaps, classical messages; with ``--memories`` above 1 SeQUeNCe
    and the plain script share a memory pool, which the Monte Carlo engine
    replaces by independent lanes), with at least 100x the pairs of (a),

and prints delivered pairs per wall second for each, with the ratios
montecarlo / sequence (target >= 1000) and sequence engine / plain script
(target: within 10 %). Wall times exclude importing SeQUeNCe and starting the
child interpreter; each figure is the median over ``--repeats`` runs.

Usage::

    python benchmarks/bench_repeater_engines.py            # 3 routers, 2 x 50 km, 1 memory
    python benchmarks/bench_repeater_engines.py --segments 4 --window-s 0.5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol  # noqa: E402
from qnetemu.engines.isolated import run_isolated  # noqa: E402
from qnetemu.engines.sequence_adapter import SequenceChainEngine  # noqa: E402
from qnetemu.physics.entanglement import sequence_coherence_time_s  # noqa: E402


def run_plain_script(**kwargs) -> dict:
    """Run ``plain_sequence_chain.py`` as its own program; parse its JSON line."""
    argv = [sys.executable, str(ROOT / "benchmarks" / "plain_sequence_chain.py")]
    for key, value in kwargs.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(argv, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=2, help="elementary links (routers - 1)")
    parser.add_argument("--length-km", type=float, default=50.0, help="length of each link [km]")
    parser.add_argument("--memories", type=int, default=1, help="memories per node per link")
    parser.add_argument("--coherence-time-s", type=float, default=10.0)
    parser.add_argument("--window-s", type=float, default=1.0, help="simulated time [s]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--mc-pairs",
        type=int,
        default=0,
        help="pairs for the Monte Carlo run (default: 100x the sequence engine's, at least)",
    )
    args = parser.parse_args()

    hardware = RepeaterHardware(
        memory_efficiency=1.0,
        coherence_time_s=args.coherence_time_s,
        decoherence="depolarising",
        memories_per_node=args.memories,
        link_fidelity=0.99,
        attempt_rate_hz=1e5,
        detector_efficiency=1.0,
        swap_success_prob=1.0,
        swap_fidelity=1.0,
        purification="none",
        purification_rounds=0,
        cutoff_time_s=None,
    )
    pool = RepeaterProtocol("nested", "negotiated", "classical", "shared_pool")
    chain = ChainSpec((args.length_km,) * args.segments, hardware=hardware, attenuation_db_per_km=0.2,
                      protocol=pool)
    mc_chain = ChainSpec(chain.segment_lengths_km, hardware=hardware, attenuation_db_per_km=0.2,
                         protocol=RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes"))
    rows = []

    # (a) and (b) alternate, and swap places every repeat, so that changes in
    # the machine's load (and one child's exit overlapping the next) hit both
    def run_a(k: int) -> None:
        result = run_isolated(
            SequenceChainEngine(),
            chain,
            seed=args.seed + k,
            max_pairs=10**9,
            max_time_s=args.window_s,
        )
        if result.status != "ok":
            raise SystemExit(f"sequence engine failed: {result.error}")
        seq_runs.append(result)

    def run_b(k: int) -> None:
        plain_runs.append(
            run_plain_script(
                routers=args.segments + 1,
                length_m=args.length_km * 1e3,
                memories=args.memories,
                window_s=args.window_s,
                seed=args.seed + k,
                coherence_time_s=sequence_coherence_time_s(args.coherence_time_s),
            )
        )

    seq_runs, plain_runs = [], []
    for k in range(args.repeats):
        for run in (run_a, run_b) if k % 2 == 0 else (run_b, run_a):
            run(k)
    seq_pairs = statistics.median(r.pairs for r in seq_runs)
    seq_wall = statistics.median(r.wall_s for r in seq_runs)
    rows.append(
        (
            "(a) qnetemu sequence engine",
            seq_pairs,
            seq_wall,
            statistics.median(r.extra["events"] for r in seq_runs),
            statistics.median(r.pair_rate_hz for r in seq_runs),
            statistics.median(r.mean_fidelity for r in seq_runs),
        )
    )

    plain_pairs = statistics.median(r["pairs"] for r in plain_runs)
    plain_wall = statistics.median(r["wall_s"] for r in plain_runs)
    rows.append(
        (
            "(b) plain SeQUeNCe script",
            plain_pairs,
            plain_wall,
            statistics.median(r["events"] for r in plain_runs),
            plain_pairs / args.window_s,
            float("nan"),
        )
    )

    mc_row = None
    try:
        from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine
    except ImportError as exc:
        print(f"montecarlo engine not available ({exc}); skipping (c)")
    else:
        engine = MonteCarloChainEngine()
        mc_pairs = max(args.mc_pairs, int(100 * max(seq_pairs, 1)))
        # a first call pays any one-off set-up (imports, caches)
        engine.simulate(mc_chain, seed=args.seed, max_pairs=10, max_time_s=1e9)
        mc_runs = []
        for k in range(args.repeats):
            start = time.perf_counter()
            result = engine.simulate(mc_chain, seed=args.seed + k, max_pairs=mc_pairs, max_time_s=1e9)
            wall = time.perf_counter() - start
            if result.status != "ok":
                raise SystemExit(f"montecarlo engine failed: {result.error}")
            mc_runs.append((result, wall))
        mc_row = (
            "(c) qnetemu montecarlo",
            statistics.median(r.pairs for r, _ in mc_runs),
            statistics.median(w for _, w in mc_runs),
            float("nan"),
            statistics.median(r.pair_rate_hz for r, _ in mc_runs),
            statistics.median(r.mean_fidelity for r, _ in mc_runs),
        )
        rows.append(mc_row)

    print(
        f"chain: {args.segments + 1} routers, {args.segments} x {args.length_km:g} km, "
        f"{args.memories} memories/link, T2 = {args.coherence_time_s:g} s, "
        f"window {args.window_s:g} s simulated, median of {args.repeats}"
    )
    header = (
        f"{'engine':<40}{'pairs':>10}{'wall s':>10}{'events':>10}"
        f"{'pairs/wall s':>14}{'rate Hz':>10}{'fidelity':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, pairs, wall, events, rate, fid in rows:
        print(
            f"{name:<40}{pairs:>10.0f}{wall:>10.3f}{events:>10.0f}"
            f"{pairs / wall:>14.1f}{rate:>10.1f}{fid:>10.4f}"
        )
    seq_speed = seq_pairs / seq_wall
    plain_speed = plain_pairs / plain_wall
    print(f"sequence engine / plain script (pairs per wall s): {seq_speed / plain_speed:.3f}")
    print(
        f"sequence engine / plain script (wall s per event): "
        f"{(seq_wall / rows[0][3]) / (plain_wall / rows[1][3]):.3f}"
    )
    # adjacent runs share the machine's load best: the median of their ratios
    paired = [
        (a.wall_s / a.extra["events"]) / (b["wall_s"] / b["events"])
        for a, b in zip(seq_runs, plain_runs, strict=True)
    ]
    print(
        "sequence engine / plain script (wall s per event, adjacent runs): "
        f"median {statistics.median(paired):.3f}, range {min(paired):.3f}-{max(paired):.3f}"
    )
    if mc_row is not None:
        print(
            f"montecarlo / sequence engine (pairs per wall s): "
            f"{(mc_row[1] / mc_row[2]) / seq_speed:.0f}"
        )


if __name__ == "__main__":
    main()
