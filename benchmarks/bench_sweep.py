"""Sweep executor benchmark: parallel efficiency on Ray and per-point overhead.

1. Efficiency: ``--points`` CPU-bound points of about ``--point-seconds`` each,
   run serially (local executor) and on a private Ray with one worker per
   core; efficiency = T_serial / (cores x T_ray). Ray start-up is timed
   separately and left out (a sweep pays it once). Target >= 0.9.
2. Overhead: ``--tiny`` points that do nothing, batched ``--batch`` per Ray
   task, through the whole runner (expand, validate, dispatch, journal with
   fsync, consolidate); overhead = wall time / points. Target <= 5 ms/point.

Usage: ``python benchmarks/bench_sweep.py [--cores N] [--points N] ...``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qnetemu.sweep.runner import run_sweep  # noqa: E402


def busy_point(scenario, *, engine, architecture, seed, source):
    """Pure-Python CPU work of a fixed number of iterations (no sleeping, no I/O)."""
    n = scenario["work"]["iterations"]
    acc = seed % 1000
    for i in range(n):
        acc = (acc * 1103515245 + i) % 2147483648
    return {"work": [{"acc": acc}]}


def tiny_point(scenario, *, engine, architecture, seed, source):
    return {"tiny": [{"x": scenario["x"]}]}


def no_validation(data, where):
    return None


def calibrate(seconds: float) -> int:
    """Iterations of busy_point that take about ``seconds`` on this machine."""
    n = 200_000
    while True:
        t0 = time.perf_counter()
        busy_point({"work": {"iterations": n}}, engine="", architecture="", seed=1, source="")
        dt = time.perf_counter() - t0
        if dt > 0.2:
            return int(n * seconds / dt)
        n *= 2


def sweep(n_points: int, **kw):
    axes = [{"path": "x", "linear_range": {"start": 0.0, "stop": 1.0, "num": n_points}}]
    return {"x": 0.0, "work": {"iterations": 0}, "sweep": {"seed": 1, "axes": axes, **kw}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--cores", type=int, default=os.cpu_count() or 1, help="Ray workers (default: all cores)"
    )
    ap.add_argument(
        "--points", type=int, default=None, help="CPU-bound points (default: 4 x cores)"
    )
    ap.add_argument("--point-seconds", type=float, default=1.0, help="CPU time per point [s]")
    ap.add_argument("--tiny", type=int, default=2000, help="tiny points for the overhead test")
    ap.add_argument("--batch", type=int, default=100, help="tiny points per Ray task")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args(argv)
    n_points = args.points or 4 * args.cores

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    iters = calibrate(args.point_seconds)
    scen = sweep(n_points, points_per_task=1)
    scen["work"]["iterations"] = iters
    common = {"point_fn": busy_point, "validate_fn": no_validation, "progress": False}
    out: dict[str, float] = {
        "cores": args.cores,
        "points": n_points,
        "point_seconds": args.point_seconds,
    }
    with tempfile.TemporaryDirectory(prefix="qbench-") as tmp:
        t0 = time.perf_counter()
        run_sweep(None, scen, out_dir=f"{tmp}/serial", executor="local", **common)
        out["serial_s"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        ray.init(
            address="local",
            num_cpus=args.cores,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            _temp_dir=f"/tmp/qb-{os.getpid()}",
            log_to_driver=False,
        )
        out["ray_init_s"] = time.perf_counter() - t0
        try:
            # Warm the worker pool so that process start-up is not billed to the sweep.
            run_sweep(
                None,
                sweep(args.cores, points_per_task=1) | {"work": {"iterations": 1}},
                out_dir=f"{tmp}/warm",
                executor="ray",
                **common,
            )
            t0 = time.perf_counter()
            run_sweep(None, scen, out_dir=f"{tmp}/ray", executor="ray", **common)
            out["ray_s"] = time.perf_counter() - t0
            out["speedup"] = out["serial_s"] / out["ray_s"]
            out["efficiency"] = out["speedup"] / args.cores

            tiny = sweep(args.tiny, points_per_task=args.batch)
            kw = {"point_fn": tiny_point, "validate_fn": no_validation, "progress": False}
            t0 = time.perf_counter()
            run_sweep(None, tiny, out_dir=f"{tmp}/tiny_ray", executor="ray", **kw)
            out["overhead_ray_ms_per_point"] = 1e3 * (time.perf_counter() - t0) / args.tiny
        finally:
            ray.shutdown()
        t0 = time.perf_counter()
        run_sweep(None, tiny, out_dir=f"{tmp}/tiny_local", executor="local", **kw)
        out["overhead_local_ms_per_point"] = 1e3 * (time.perf_counter() - t0) / args.tiny

    load = os.getloadavg()[0]
    out["load_avg_1min"] = load
    for k, v in out.items():
        print(f"{k:>28}: {v:.4g}" if isinstance(v, float) else f"{k:>28}: {v}")
    ok_eff = out["efficiency"] >= 0.9
    ok_ovh = out["overhead_ray_ms_per_point"] <= 5.0
    print(
        f"efficiency >= 0.9: {'yes' if ok_eff else 'NO'}; overhead <= 5 ms/point: {'yes' if ok_ovh else 'NO'}"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
