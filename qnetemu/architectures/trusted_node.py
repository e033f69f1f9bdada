"""Trusted-node key distribution: route, relay hop by hop, share links fairly.

Each demand's key travels on the path with the best end-to-end (bottleneck)
key rate and is relayed by one-time pad at every trusted node on it, which
spends, on every link of the path, as much link key as the demand receives.
When demands share links the network-wide max-min fair allocation decides
(:func:`qnetemu.network.allocation.allocate_max_min_fair`), so the demands'
rates never over-spend any link's key.
"""

from __future__ import annotations

import networkx as nx

from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.network.routing import route_demands


def fibre_only(graph: nx.Graph) -> nx.Graph:
    """The terrestrial network: every node, only the fibre edges (a view, not a copy)."""
    adj = graph._adj  # the raw dict of dicts: the filter runs for every edge of every traversal
    return nx.subgraph_view(graph, filter_edge=lambda u, v: adj[u][v].get("segment", "fibre") == "fibre")


def evaluate_trusted_node(graph: nx.Graph, demands: list[dict], *, architecture: str = "trusted_node",
                          rate_tolerance: float = 0.0) -> list[dict]:
    """One row per demand: path, trusted nodes crossed, distance, rates.

    ``architecture`` only labels the rows: "trusted_node" is evaluated on the
    fibre graph, "satellite" on fibre plus satellite links (the caller passes
    the graph).
    """
    routes = route_demands(graph, [(d["a"], d["b"]) for d in demands], rate_tolerance=rate_tolerance)
    paths = [list(r.nodes) for r in routes]
    capacity = {frozenset((a, b)): float(data.get("key_rate_bps", 0.0)) for a, b, data in graph.edges(data=True)}
    caps = [d.get("required_key_rate_bps") for d in demands]
    routed = [p for p in paths if p]
    routed_caps = [c for p, c in zip(paths, caps, strict=True) if p]
    rates = iter(allocate_max_min_fair(routed, capacity, routed_caps) if routed else [])
    rows = []
    for demand, route in zip(demands, routes, strict=True):
        row = {"a": demand["a"], "b": demand["b"], "architecture": architecture,
               "required_key_rate_bps": demand.get("required_key_rate_bps")}
        path = list(route.nodes)
        if not path:
            # no_path, or no_allowed_path: only nodes that may not relay (can_relay False) would join the pair
            row.update(status=route.status, reason=route.reason, path="", route_sites="", hops=0, trusted_nodes=0,
                       trusted_node_names="", distance_km=float("nan"), bottleneck_key_rate_bps=0.0,
                       key_rate_bps=0.0, latency_s=float("nan"), segments="")
        else:
            row.update(
                status="ok",
                reason="",
                path=" > ".join(path),
                route_sites=" > ".join(n for n in path if not graph.nodes[n].get("inserted")),
                hops=route.hops,
                trusted_nodes=len(route.trusted_node_names),
                trusted_node_names=", ".join(map(str, route.trusted_node_names)),
                distance_km=route.length_km,
                bottleneck_key_rate_bps=route.bottleneck_key_rate_bps,
                key_rate_bps=float(next(rates)),
                latency_s=route.latency_s,
                segments=", ".join(route.segments),
            )
        req = row["required_key_rate_bps"]
        row["requirement_met"] = None if req is None else bool(row["key_rate_bps"] >= req * (1 - 1e-9))
        rows.append(row)
    return rows
