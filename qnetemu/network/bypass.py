"""QKD links that pass optically through intermediate sites (optical bypass).

A point of presence on a fibre route need not be a trusted node: the quantum
channel can be patched straight through it (a fibre patch or a ROADM express
path), so one QKD link may span several fibre hops as long as their total
length is within the device's reach. Deployed networks do this to keep the
number of trusted nodes low (e.g. the Cambridge and Madrid metropolitan QKD
networks; Dynes et al., npj Quantum Inf. 5, 101 (2019),
doi:10.1038/s41534-019-0221-4). Without it every PoP of a dense backbone
becomes a place where the key sits in the clear.

:func:`add_bypass_links` adds, for every pair of nodes whose shortest fibre
route is within reach and crosses at least one intermediate node, a fibre
edge with that route's length and loss plus ``bypass_loss_db`` per bypassed
node. Routing then picks, among all of them, the path with the best
bottleneck and the fewest trusted nodes.
"""

from __future__ import annotations

import math

import networkx as nx

from qnetemu.physics.fibre import fibre_delay_s


def add_bypass_links(graph: nx.Graph, reach_km: float, *, bypass_loss_db: float = 1.0) -> int:
    """Add bypass QKD links in place; return how many were added.

    Parameters
    ----------
    graph : networkx.Graph
        Fibre graph after trusted-node insertion (edges with ``length_km``,
        ``attenuation_db_per_km``, ``extra_loss_db``).
    reach_km : float
        Longest fibre route one QKD link covers. [km]
    bypass_loss_db : float, optional
        Insertion loss of each node passed through optically. [dB]

    Notes
    -----
    The new edge's loss is the sum of ``attenuation x length`` over its fibre
    hops, plus the largest terminal ``extra_loss_db`` of those hops (one pair
    of QKD terminals), plus ``bypass_loss_db`` per intermediate node. The
    edge keeps ``fibre_path`` (the nodes it passes through) so repeater chains
    can follow the physical route. Links in an existing edge's place are not
    replaced.
    """
    if not (math.isfinite(reach_km) and reach_km > 0):
        raise ValueError(f"reach_km must be a positive finite number, got {reach_km!r}")
    if not (math.isfinite(bypass_loss_db) and bypass_loss_db >= 0):
        raise ValueError(f"bypass_loss_db must be finite and >= 0, got {bypass_loss_db!r}")
    fibre = nx.Graph()
    fibre.add_nodes_from(graph.nodes)
    fibre.add_edges_from(
        (u, v, d) for u, v, d in graph.edges(data=True) if d.get("segment", "fibre") == "fibre"
    )
    order = {node: i for i, node in enumerate(graph.nodes)}
    new_edges = []
    for source in graph.nodes:
        lengths, paths = nx.single_source_dijkstra(fibre, source, cutoff=reach_km, weight="length_km")
        for target, length in lengths.items():
            path = paths[target]
            if order[target] <= order[source] or len(path) < 3 or graph.has_edge(source, target):
                continue
            hops = [fibre.edges[u, v] for u, v in zip(path[:-1], path[1:], strict=True)]
            fibre_loss = sum(h["length_km"] * h["attenuation_db_per_km"] for h in hops)
            extra = max(h["extra_loss_db"] for h in hops) + bypass_loss_db * (len(path) - 2)
            profiles = {h.get("qkd_profile") for h in hops}
            new_edges.append((source, target, {
                "length_km": length,
                "attenuation_db_per_km": fibre_loss / length,
                "extra_loss_db": extra,
                "loss_db": fibre_loss + extra,
                "latency_s": float(fibre_delay_s(length)),
                "segment": "fibre",
                "link_id": f"{source}–{target} (bypass)",
                "ends": (source, target),
                "fibre_path": tuple(path),
                "qkd_profile": profiles.pop() if len(profiles) == 1 else None,
                "cable": "submarine" if any(h.get("cable") == "submarine" for h in hops) else "terrestrial",
            }))
    graph.add_edges_from(new_edges)
    return len(new_edges)
