"""Benchmark: topology import is linear in the number of nodes.

Imports synthetic topologies (a chain of ``n`` PoPs plus one sea-cable
waypoint between every tenth pair, as topohub's backbones have) through the
same code as ``load_topohub`` (naming, waypoint merging), at ``n``, ``2 n``,
``4 n`` and ``8 n`` nodes, once with distinct names and once with every node
carrying the same label (the worst case for the renaming of repeated
names), and prints the time per node at each size. A linear import keeps it
flat: the ratio of the time per node at ``8 n`` to that at ``n`` is about 1,
where the quadratic name check it replaced gave about 8.

Run::

    python benchmarks/bench_topology_import.py --nodes 5000 --repeat 3
"""

from __future__ import annotations

import argparse
import time
import warnings

from qnetemu.scenario.topology import TopologyImportWarning, _merge_waypoint_chains, _records


def synthetic(n: int, same_label: bool):
    nodes, edges, non_sites = [], [], set()
    for i in range(n):
        nodes.append((i, "PoP" if same_label else f"PoP {i}", 40.0 + 1e-3 * i, 10.0))
    for i in range(n - 1):
        if i % 10 == 0:  # a waypoint on this link
            w = f"w{i}"
            nodes.append((w, None, 40.0 + 1e-3 * (i + 0.5), 10.1))
            non_sites.add(w)
            edges += [(i, w), (w, i + 1)]
        else:
            edges.append((i, i + 1))
    return nodes, edges, non_sites


def import_seconds(n: int, same_label: bool, repeat: int) -> float:
    nodes, edges, non_sites = synthetic(n, same_label)
    best = float("inf")
    for _ in range(repeat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TopologyImportWarning)
            t0 = time.perf_counter()
            sites, links = _records(nodes, edges, "synthetic", non_sites)
            _merge_waypoint_chains(sites, links, "synthetic")
            best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for same in (False, True):
        sizes = [args.nodes * k for k in (1, 2, 4, 8)]
        per_node_us = [1e6 * import_seconds(n, same, args.repeat) / n for n in sizes]
        label = "one label for all" if same else "distinct names"
        cells = ", ".join(f"{n:,}: {t:.1f}" for n, t in zip(sizes, per_node_us, strict=True))
        print(f"{label:18}: us per node at {cells}; ratio 8n/n {per_node_us[-1] / per_node_us[0]:.2f} "
              "(linear 1, quadratic 8)")


if __name__ == "__main__":
    main()
