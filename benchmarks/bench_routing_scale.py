"""Trusted-node networks at continental scale: compiled routing and bypass against today's code.

Builds a synthetic backbone (``--nodes`` points in a box over Europe, the
Euclidean minimum spanning tree of their Delaunay triangulation plus a share
of the other Delaunay edges, fibre = great circle x 1.3), splits spans at the
QKD reach, adds optical bypass links, assigns decoy-BB84 key rates (default
QKD profile) and routes every pair of ``--sites`` random sites, with the
scenario default route tolerance 0.2. Then it times, in this one process,
on the same graph:

* today: :func:`qnetemu.network.routing_reference.add_bypass_links` (a
  networkx search per node), :func:`qnetemu.network.routing_reference.route_all`
  (pure-Python searches) and :func:`qnetemu.network.routing.path_summary` on
  the fibre-only view, as ``evaluate_trusted_node`` did;
* now: :func:`qnetemu.network.bypass.add_bypass_links` and
  :func:`qnetemu.network.routing.route_demands` (routes with their summaries);

checks that both give the same bypass links and routes of the same hops and
length (split spans and bypass links make many exact ties, between which
either route is optimal; where every route is node-identical the max-min
fair rates are compared too), and prints the ratio. Today's routing takes
hours at 30,000 nodes, so by default its spanning forest and bottlenecks are
timed in full but its searches, one per (source, threshold) group, only on
a random sample of ``--reference-groups`` groups, scaled by their number;
``--reference-groups 0`` runs them all.

    python benchmarks/bench_routing_scale.py --nodes 30000 --sites 200
    python benchmarks/bench_routing_scale.py --nodes 3000 --sites 60 --reference-groups 0
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from scipy.sparse import coo_array  # noqa: E402
from scipy.sparse.csgraph import minimum_spanning_tree  # noqa: E402
from scipy.spatial import Delaunay  # noqa: E402

from qnetemu.architectures.trusted_node import fibre_only  # noqa: E402
from qnetemu.network import routing_reference  # noqa: E402
from qnetemu.network.allocation import allocate_max_min_fair  # noqa: E402
from qnetemu.network.bypass import add_bypass_links  # noqa: E402
from qnetemu.network.fibre_qkd import assign_profile_key_rates  # noqa: E402
from qnetemu.network.graph import build_graph, link_capacities_bps  # noqa: E402
from qnetemu.network.routing import path_summary, route_demands  # noqa: E402
from qnetemu.network.splitting import split_long_spans  # noqa: E402
from qnetemu.scenario.schema import QKDProfile  # noqa: E402


def synthetic_backbone(n_nodes: int, seed: int, extra_edge_share: float = 0.25) -> tuple[list[dict], list[dict]]:
    """Sites and links of a planar random backbone (mean degree about 2 + 2 x share)."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(38.0, 60.0, n_nodes)
    lon = rng.uniform(-8.0, 28.0, n_nodes)
    xy = np.column_stack([lon * np.cos(np.radians(49.0)) * 111.2, lat * 111.2])  # km, equirectangular
    triangles = Delaunay(xy).simplices
    pairs = np.unique(np.sort(np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [0, 2]]]), axis=1),
                      axis=0)
    length = np.linalg.norm(xy[pairs[:, 0]] - xy[pairs[:, 1]], axis=1)
    tree = minimum_spanning_tree(coo_array((length, (pairs[:, 0], pairs[:, 1])), shape=(n_nodes, n_nodes))).tocoo()
    in_tree = {(min(a, b), max(a, b)) for a, b in zip(tree.row.tolist(), tree.col.tolist(), strict=True)}
    extra = rng.random(len(pairs)) < extra_edge_share
    keep = [(a, b) for (a, b), x in zip(pairs.tolist(), extra.tolist(), strict=True) if x or (a, b) in in_tree]
    sites = [{"name": f"N{i}", "lat_deg": float(lat[i]), "lon_deg": float(lon[i]), "role": "trusted_node"}
             for i in range(n_nodes)]
    links = [{"a": f"N{a}", "b": f"N{b}", "route_factor": 1.3, "attenuation_db_per_km": 0.2, "extra_loss_db": 1.0}
             for a, b in keep]
    return sites, links


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=30000)
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--reach-km", type=float, default=100.0)
    parser.add_argument("--tolerance", type=float, default=0.2, help="route rate tolerance (scenario default)")
    parser.add_argument("--reference-groups", type=int, default=120,
                        help="(source, threshold) groups today's searches are timed on (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    sites, links = synthetic_backbone(args.nodes, args.seed)
    graph, inserted = split_long_spans(build_graph(sites, links), args.reach_km)
    print(f"synthetic backbone: {args.nodes} nodes, {len(links)} links; {len(inserted)} trusted nodes inserted "
          f"at {args.reach_km:g} km ({time.perf_counter() - t0:.1f} s to build)", flush=True)
    rng = np.random.default_rng(args.seed + 1)
    ends = [f"N{i}" for i in sorted(rng.choice(args.nodes, size=args.sites, replace=False).tolist())]
    for name in ends:
        graph.nodes[name]["role"] = "endpoint"
    demands = list(itertools.combinations(ends, 2))

    old_graph, new_graph = graph.copy(), graph.copy()
    t = time.perf_counter()
    n_old = routing_reference.add_bypass_links(old_graph, args.reach_km)
    old_bypass_s = time.perf_counter() - t
    t = time.perf_counter()
    n_new = add_bypass_links(new_graph, args.reach_km)
    new_bypass_s = time.perf_counter() - t
    assert n_old == n_new, (n_old, n_new)
    assert {frozenset(e) for e in old_graph.edges} == {frozenset(e) for e in new_graph.edges}
    print(f"optical bypass: {n_new} links; today {old_bypass_s:.1f} s, now {new_bypass_s:.2f} s", flush=True)
    del old_graph
    assign_profile_key_rates(new_graph, QKDProfile(), {})
    view = fibre_only(new_graph)

    t = time.perf_counter()
    routes = route_demands(view, demands, rate_tolerance=args.tolerance)
    new_route_s = time.perf_counter() - t
    served = [r for r in routes if r.status == "ok"]
    print(f"routing {len(demands)} demands ({len(served)} served): now {new_route_s:.2f} s "
          "(routes and their summaries)", flush=True)

    # Today's routing, stage by stage as routing_reference.route_all runs it: one adjacency, one
    # spanning forest and every source's bottlenecks (timed in full), then one search per (source,
    # threshold) group (timed on a random sample of the groups and scaled by their number).
    t = time.perf_counter()
    usable = routing_reference._positive_adjacency(view)
    forest = routing_reference._maximum_spanning_forest(usable)
    groups: dict[tuple, list[int]] = {}
    widths: dict = {}
    for d, (source, target) in enumerate(demands):
        if source not in widths:
            widths[source] = routing_reference._bottlenecks_from(forest, source)
        if target in widths[source]:
            groups.setdefault((source, widths[source][target] * (1.0 - args.tolerance)), []).append(d)
    fixed_s = time.perf_counter() - t
    keys = list(groups)
    if args.reference_groups and args.reference_groups < len(keys):
        keys = [keys[i] for i in sorted(rng.choice(len(keys), size=args.reference_groups, replace=False).tolist())]
    sample, old_paths = [], []
    t = time.perf_counter()
    for source, threshold in keys:
        members = groups[(source, threshold)]
        found = routing_reference._fewest_hops_paths(usable, source, threshold, {demands[d][1] for d in members})
        for d in members:
            sample.append(d)
            old_paths.append(found.get(demands[d][1], []))
    search_s = (time.perf_counter() - t) * len(groups) / len(keys)
    t = time.perf_counter()
    for path in old_paths:
        if path:
            path_summary(view, path)
    summary_s = (time.perf_counter() - t) * len(demands) / max(len(sample), 1)
    old_route_s = fixed_s + search_s + summary_s
    same = sum(list(routes[i].nodes) == p for i, p in zip(sample, old_paths, strict=True))
    for i, path in zip(sample, old_paths, strict=True):
        # Split spans plus bypass make exact ties (A-TN2-B and A-TN1-B over one cut link): either
        # route is optimal, so compare what the routes are worth.
        want = path_summary(view, path) if path else None
        got = routes[i]
        assert (got.status == "ok") == bool(path), demands[i]
        if want is not None:
            # Within the tolerance the order is (hops, length): tied routes may differ in bottleneck.
            assert got.hops == want["hops"], demands[i]
            assert np.isclose(got.length_km, want["length_km"], rtol=1e-9, atol=0), demands[i]
    scaled = "" if len(keys) == len(groups) else (
        f" (forest and bottlenecks {fixed_s:.1f} s in full; searches timed on {len(keys)} of {len(groups)} "
        f"(source, threshold) groups and scaled; path summaries on {len(sample)} demands, scaled)")
    print(f"routing today: {old_route_s:.1f} s{scaled}; of {len(sample)} routes compared all have the same "
          f"hops and length, {same} the same nodes (the others are exact ties)", flush=True)

    capacity = link_capacities_bps(new_graph)
    t = time.perf_counter()
    rates = allocate_max_min_fair([list(r.nodes) for r in served], capacity)
    allocate_s = time.perf_counter() - t
    if len(sample) == len(demands):
        by_demand = dict(zip(sample, old_paths, strict=True))
        old_rates = allocate_max_min_fair([by_demand[d] for d in range(len(demands)) if by_demand.get(d)], capacity)
        differ = np.abs(rates - old_rates) > 1e-9 * np.maximum(old_rates, 1.0)
        print(f"max-min fair rates: {int((~differ).sum())} of {len(rates)} identical "
              f"(largest relative difference {np.max(np.abs(rates - old_rates) / np.maximum(old_rates, 1e-300)):.2g})")
    today = old_bypass_s + old_route_s
    now = new_bypass_s + new_route_s
    print(f"allocation (same code both ways, not in the ratio): {allocate_s:.2f} s")
    print(f"bypass + routing + path summaries: today {today:.1f} s, now {now:.1f} s: {today / now:.1f}x faster "
          f"(routing and summaries alone {old_route_s / new_route_s:.1f}x, bypass alone "
          f"{old_bypass_s / new_bypass_s:.1f}x)")
    nx.freeze(new_graph)


if __name__ == "__main__":
    main()
