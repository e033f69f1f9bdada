"""SeQUeNCe engine start-up, throughput, routing set-up and fan-out, in one run.

On one chain (default 3 routers, 2 x 50 km, bell_diagonal, the SeQUeNCe
protocol, T2 = 10 s) it measures

(a) per-chain overhead before: ``run_isolated`` (a fresh ``spawn``
    interpreter that imports SeQUeNCe for every chain): wall time around the
    call minus the engine's own build-and-run time (``result.wall_s``);
(b) per-chain overhead after: the same on a warm worker
    (:class:`~qnetemu.engines.isolated.WarmWorkers`, a fresh fork per chain);
(c) events per wall second of the engine on the warm worker against the
    plain SeQUeNCe script ``plain_sequence_chain.py`` on the same chain,
    in adjacent runs (target: within 10 %);
(d) building a ``--routing-routers`` chain with SeQUeNCe's ``RouterNetTopo``
    (one Dijkstra per router pair) against :func:`chain_topology`;
(e) ``--chains`` chains one after the other on one warm worker against all
    of them on ``--workers`` workers (identical results checked).

Usage::

    python benchmarks/bench_sequence_workers.py
    python benchmarks/bench_sequence_workers.py --repeats 5 --routing-routers 128
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_repeater_engines import run_plain_script  # noqa: E402

from qnetemu.engines.chain import SEQUENCE_NATIVE_PROTOCOL, ChainSpec, RepeaterHardware  # noqa: E402
from qnetemu.engines.isolated import WarmWorkers, run_isolated  # noqa: E402
from qnetemu.engines.sequence_adapter import (  # noqa: E402
    SequenceChainEngine,
    _set_protocol_class_state,
    build_router_net_config,
    chain_topology,
)
from qnetemu.physics.entanglement import sequence_coherence_time_s  # noqa: E402


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=2)
    ap.add_argument("--length-km", type=float, default=50.0)
    ap.add_argument("--coherence-time-s", type=float, default=10.0)
    ap.add_argument("--window-s", type=float, default=0.5, help="simulated time per chain [s]")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--routing-routers", type=int, default=64)
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    hw = RepeaterHardware(memory_efficiency=1.0, coherence_time_s=args.coherence_time_s,
                          decoherence="depolarising", memories_per_node=1, link_fidelity=0.99,
                          attempt_rate_hz=1e5, detector_efficiency=1.0, swap_success_prob=1.0,
                          swap_fidelity=1.0, purification="none", purification_rounds=0, cutoff_time_s=None)
    chain = ChainSpec((args.length_km,) * args.segments, hw, attenuation_db_per_km=0.2,
                      protocol=SEQUENCE_NATIVE_PROTOCOL)
    engine = SequenceChainEngine()
    kw = {"max_pairs": 10**9, "max_time_s": args.window_s}

    cold, warm, ratios = [], [], []
    with WarmWorkers(1) as pool:
        pool.run(engine, chain, seed=0, **kw)  # the worker's one-off start and import
        for k in range(args.repeats):
            res, wall = timed(lambda k=k: run_isolated(engine, chain, seed=1 + k, **kw))
            cold.append(wall - res.wall_s)
            res, wall = timed(lambda k=k: pool.run(engine, chain, seed=1 + k, **kw))
            warm.append(wall - res.wall_s)
            plain = run_plain_script(
                routers=args.segments + 1, length_m=args.length_km * 1e3, memories=1,
                window_s=args.window_s, seed=1 + k,
                coherence_time_s=sequence_coherence_time_s(args.coherence_time_s))
            ratios.append((res.extra["events"] / res.wall_s) / (plain["events"] / plain["wall_s"]))
    print(f"chain: {args.segments} x {args.length_km:g} km, window {args.window_s:g} s, "
          f"median of {args.repeats}")
    print(f"(a) per-chain overhead, fresh interpreter: {statistics.median(cold):8.3f} s")
    print(f"(b) per-chain overhead, warm worker:       {statistics.median(warm):8.3f} s "
          f"({statistics.median(cold) / statistics.median(warm):.0f}x less)")
    print(f"(c) events per wall s, engine / plain script: median {statistics.median(ratios):.3f}, "
          f"range {min(ratios):.3f}-{max(ratios):.3f} (target 0.9-1.1)")

    big = ChainSpec((args.length_km,) * (args.routing_routers - 1), hw, attenuation_db_per_km=0.2,
                    protocol=SEQUENCE_NATIVE_PROTOCOL)
    config = build_router_net_config(big, seed=0, stop_time_s=1.0, formalism="bell_diagonal")
    _set_protocol_class_state("bell_diagonal")
    from sequence.topology.router_net_topo import RouterNetTopo

    _, t_dijkstra = timed(lambda: RouterNetTopo(config))
    _, t_direct = timed(lambda: chain_topology(config))
    print(f"(d) building {args.routing_routers} routers: RouterNetTopo {t_dijkstra:.2f} s, "
          f"chain_topology {t_direct:.2f} s ({t_dijkstra / t_direct:.1f}x)")

    jobs = [(chain, 10 + k) for k in range(args.chains)]
    with WarmWorkers(1) as one:
        one.run(engine, chain, seed=0, **kw)
        serial, t_serial = timed(lambda: one.map(engine, jobs, **kw))
    with WarmWorkers(args.workers) as many:
        many.map(engine, jobs[: args.workers], **kw)
        fanned, t_fanned = timed(lambda: many.map(engine, jobs, **kw))
    same = all(a.extra["pair_times_s"] == b.extra["pair_times_s"] for a, b in zip(serial, fanned, strict=True))
    print(f"(e) {args.chains} chains: 1 warm worker {t_serial:.2f} s, {args.workers} workers "
          f"{t_fanned:.2f} s ({t_serial / t_fanned:.2f}x), identical results: {same}")


if __name__ == "__main__":
    main()
