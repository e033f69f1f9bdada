"""Time the analytic run of the whole EuroQCI scenario, stage by stage, on one core.

Not a test: timings on shared machines are noisy. It runs the scenario
``--repeat`` times in this process and prints the best time of each stage,
plus the share of the total each stage takes (a ratio that is stable across
machines).

    python benchmarks/bench_euroqci.py [--scenario scenarios/euroqci.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the issue asks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(Path(__file__).parents[1] / "scenarios" / "euroqci.yaml"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from qnetemu.pipeline import evaluate
    from qnetemu.scenario.load import load_scenario
    from qnetemu.scenario.resolve import resolve

    import_s = time.perf_counter() - t0
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        stages: dict[str, float] = {}
        t = time.perf_counter()
        scenario, _raw = load_scenario(args.scenario)
        resolved = resolve(scenario, file=args.scenario, base_dir=Path(args.scenario).parent)
        stages["load + resolve (topology import)"] = time.perf_counter() - t
        t = time.perf_counter()
        out = evaluate(scenario, resolved, engine="analytic", file=args.scenario)
        total = time.perf_counter() - t
        for key, label in (("network_s", "network (split, bypass, key rates)"), ("satellites_s", "satellite passes"),
                           ("trusted_node_s", "trusted-node routing + allocation"),
                           ("satellite_s", "fibre + satellite routing + allocation"),
                           ("repeater_s", "repeater chains (analytic)")):
            stages[label] = out.timings_s.get(key, 0.0)
        stages["evaluate, total"] = total
        for k, v in stages.items():
            best[k] = min(best.get(k, float("inf")), v)
    graph = out.graph
    demands = out.tables["demands"]
    print(f"scenario: {args.scenario}")
    print(f"network: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} links (incl. bypass and satellite), "
          f"{len(resolved.demands)} demands x {len(scenario.architectures)} architectures = {len(demands)} rows")
    print(f"import qnetemu: {import_s:.2f} s (once)")
    whole = best["load + resolve (topology import)"] + best["evaluate, total"]
    for k, v in best.items():
        print(f"  {k:42s} {v:7.3f} s  ({v / whole:5.1%} of load + evaluate)")
    print(f"load + evaluate, best of {args.repeat}: {whole:.2f} s")


if __name__ == "__main__":
    main()
