"""Cost of the figures: ``qnetemu run`` on EuroQCI with figures against the same run without, in one go.

Runs the command-line program as a child process (as a user would),
alternating without / with figures ``--repeat`` times, and prints the
median wall times and their ratio (target: with figures <= 2 x without).

Usage: ``python benchmarks/bench_figures.py [--repeat 3] [--scenario scenarios/euroqci.yaml]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def once(scenario: Path, out: Path, plots: bool) -> float:
    cmd = [sys.executable, "-m", "qnetemu", "run", str(scenario), "--out", str(out), "--overwrite", "-q"]
    if not plots:
        cmd.append("--no-plots")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "euroqci.yaml")
    args = parser.parse_args()
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            for plots in (False, True):
                times[plots].append(once(args.scenario, Path(tmp) / f"run{k}{int(plots)}", plots))
                print(f"{'with' if plots else 'without'} figures: {times[plots][-1]:.1f} s", flush=True)
        n_png = len(list((Path(tmp) / f"run{args.repeat - 1}1" / "figures").glob("*.png")))
    without, with_ = statistics.median(times[False]), statistics.median(times[True])
    print(f"median without figures {without:.1f} s, with {with_:.1f} s ({n_png} PNG): ratio {with_ / without:.2f}")


if __name__ == "__main__":
    main()
