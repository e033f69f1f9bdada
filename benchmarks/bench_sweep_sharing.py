"""EuroQCI study, old against new: every point computed vs shared work (one run, same machine).

Old: each point validates, resolves and builds the whole network and
evaluates its architecture (``share_work=False``, ``reuse_network=False``).
New: the defaults, where the trusted-node baseline is computed once for
all repeater-hardware points and each process resolves the network once.
Both serial (local executor) on a reduced grid of the study's axes; the
demand tables must be identical. Prints the wall times and their ratio.

Usage: ``python benchmarks/bench_sweep_sharing.py [--grid small|full]``
"""

from __future__ import annotations

import argparse
import copy
import functools
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from qnetemu.pipeline import evaluate_point  # noqa: E402
from qnetemu.scenario.load import read_scenario_mapping  # noqa: E402
from qnetemu.sweep.runner import run_sweep  # noqa: E402

GRIDS = {
    # 3 x 1 x 1 x 2 = 6 hardware combinations x 2 architectures = 12 points
    "small": {"repeater.memory.coherence_time_s": [0.1, 1.0, 10.0], "repeater.memory.memories_per_node": [1, 100]},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=["small", "full"], default="small")
    args = parser.parse_args()
    path = ROOT / "scenarios" / "euroqci-study.yaml"
    raw = read_scenario_mapping(path)
    if args.grid != "full":
        raw = copy.deepcopy(raw)
        raw["sweep"]["axes"] = [{"path": p, "values": v} for p, v in GRIDS[args.grid].items()]
    n = len(raw["sweep"]["axes"])
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, kwargs in (
            ("old", {"share_work": False, "point_fn": functools.partial(evaluate_point, reuse_network=False,
                                                                       base_dir=path.parent)}),
            ("new", {}),
        ):
            t0 = time.perf_counter()
            summary = run_sweep(path, raw, out_dir=Path(tmp) / label, executor="local", progress=False, **kwargs)
            results[label] = time.perf_counter() - t0
            print(f"{label}: {summary.total} points ({n} axes), {summary.ok} ok, {results[label]:.1f} s", flush=True)
        cols = ["point_index", "a", "b", "architecture", "key_rate_bps", "fidelity", "seed"]
        old = pd.read_parquet(Path(tmp) / "old" / "demands.parquet")[cols]
        new = pd.read_parquet(Path(tmp) / "new" / "demands.parquet")[cols]
        pd.testing.assert_frame_equal(old, new)
    print(f"identical demand tables; wall time old / new = {results['old'] / results['new']:.2f}")


if __name__ == "__main__":
    main()
