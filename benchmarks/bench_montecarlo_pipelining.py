"""Monte Carlo with and without pipelining, in one run.

A chain pipelines when a link's two memories can be free before the pair
they served is delivered: a link then restarts at once. For chains of
``--segments`` x 20 km (T2 = 1 s, link fidelity 0.98) and each protocol of
``--protocols`` (``default``: nested swaps, negotiated attempts, classical
messages, independent lanes; ``asap-instant``: swap-ASAP with instant swap
messages; ``nested-instant``: nested with instant messages) it runs the
engine as scenarios do and with ``pipelining=False`` (every link restarted
after each delivery, the analytic engine's model), and prints the path used
(the vectorised paths or the event loop), the deliveries per wall second of
each (best of ``--repeats``), their ratio, and what pipelining changes in
pair rate and fidelity (in combined standard errors). Chains too short to
pipeline run the same renewal trials both ways (ratio about 1).

Usage::

    python benchmarks/bench_montecarlo_pipelining.py
    python benchmarks/bench_montecarlo_pipelining.py --segments 4 16 37 64 --pairs 20000
    python benchmarks/bench_montecarlo_pipelining.py --protocols asap-instant --segments 3 4 8 16 64
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

PROTOCOLS = {
    "default": RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes"),
    "asap-instant": RepeaterProtocol("swap_asap", "negotiated", "instant", "independent_lanes"),
    "nested-instant": RepeaterProtocol("nested", "negotiated", "instant", "independent_lanes"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, nargs="+", default=[4, 16, 37, 64])
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--protocols", nargs="+", choices=sorted(PROTOCOLS), default=["default"])
    args = ap.parse_args()
    print("| protocol | segments | path | pipelined pairs/s | renewal pairs/s | ratio | rate change (z) "
          "| F change (z) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, n in ((name, n) for name in args.protocols for n in args.segments):
        hardware = RepeaterHardware(memory_efficiency=1.0, coherence_time_s=1.0, decoherence="depolarising",
                                    memories_per_node=1, link_fidelity=0.98, attempt_rate_hz=1e5,
                                    detector_efficiency=1.0, swap_success_prob=1.0, swap_fidelity=1.0,
                                    purification="none", purification_rounds=0, cutoff_time_s=None)
        chain = ChainSpec((20.0,) * n, hardware, attenuation_db_per_km=0.2, protocol=PROTOCOLS[name])
        res, speed = {}, {}
        for pip in (True, False):
            walls = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                res[pip] = mc.MonteCarloChainEngine(pipelining=pip).simulate(
                    chain, seed=1, max_pairs=args.pairs, max_time_s=1e12)
                walls.append(time.perf_counter() - t0)
            speed[pip] = res[pip].pairs / min(walls)
        prm, _, extra = mc.MonteCarloChainEngine()._params(chain)
        p, r = res[True], res[False]
        path = "direct" if mc._fast_path(prm) else "event loop"
        if not extra["pipelined"]:
            path += ", renewal both ways"
        z_rate = (p.pair_rate_hz - r.pair_rate_hz) / math.hypot(p.pair_rate_stderr_hz, r.pair_rate_stderr_hz)
        z_fid = (p.mean_fidelity - r.mean_fidelity) / math.hypot(p.fidelity_stderr, r.fidelity_stderr)
        print(f"| {name} | {n} | {path} | {speed[True]:,.0f} "
              f"| {speed[False]:,.0f} | {speed[True] / speed[False]:.2f} "
              f"| {p.pair_rate_hz / r.pair_rate_hz - 1:+.1%} ({z_rate:+.0f}) "
              f"| {p.mean_fidelity - r.mean_fidelity:+.4f} ({z_fid:+.0f}) |", flush=True)


if __name__ == "__main__":
    main()
