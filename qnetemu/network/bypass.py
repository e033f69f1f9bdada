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

Bounds. The reach bounds the work and the number of links per node (nodes
within ``reach_km`` of fibre), so the cost grows linearly with the network
at a given density; ``max_bypassed_nodes`` bounds it further, as an express
path through many ROADMs does (each adds insertion loss and a switch to
configure). The searches are one multi-source ``scipy.sparse.csgraph.dijkstra``
with ``limit=reach_km`` per block of sources, and the per-route sums and
maxima are accumulated over the shortest-path trees by pointer doubling, in
numpy. The result equals :func:`qnetemu.network.routing_reference.add_bypass_links`
(today's one-networkx-search-per-node version) up to the choice between two
fibre routes of exactly equal length.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from qnetemu.network.routing import _gc_paused
from qnetemu.physics.fibre import fibre_delay_s

#: Sources per multi-source search: bounds the dense (sources x nodes) arrays.
_SOURCE_CHUNK = 128


def _accumulate(parent: np.ndarray, values: list[np.ndarray], ops: list) -> list[np.ndarray]:
    """Combine each entry's value with all its ancestors' (``parent`` -1 = root child), by pointer doubling."""
    out = [v.copy() for v in values]
    jump = parent.copy()
    while (jump >= 0).any():
        has = jump >= 0
        up = jump[has]
        for arr, op in zip(out, ops, strict=True):
            arr[has] = op(arr[has], arr[up])
        jump[has] = jump[up]
    return out


def add_bypass_links(
    graph: nx.Graph,
    reach_km: float,
    *,
    bypass_loss_db: float = 1.0,
    max_bypassed_nodes: int | None = None,
) -> int:
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
    max_bypassed_nodes : int, optional
        Most intermediate nodes one bypass link may pass through; ``None``:
        as many as the reach allows.

    Notes
    -----
    The new edge's loss is the sum of ``attenuation x length`` over its fibre
    hops, plus the largest terminal ``extra_loss_db`` of those hops (one pair
    of QKD terminals), plus ``bypass_loss_db`` per intermediate node. The
    edge keeps ``fibre_path`` (the nodes it passes through) so repeater chains
    can follow the physical route. Links in an existing edge's place are not
    replaced. Only the shortest fibre route of a pair is considered: when it
    passes through more than ``max_bypassed_nodes`` nodes the pair gets no
    bypass link.
    """
    if not (math.isfinite(reach_km) and reach_km > 0):
        raise ValueError(f"reach_km must be a positive finite number, got {reach_km!r}")
    if not (math.isfinite(bypass_loss_db) and bypass_loss_db >= 0):
        raise ValueError(f"bypass_loss_db must be finite and >= 0, got {bypass_loss_db!r}")
    if max_bypassed_nodes is not None and max_bypassed_nodes < 1:
        raise ValueError(f"max_bypassed_nodes must be >= 1 or None, got {max_bypassed_nodes!r}")
    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    n = len(nodes)
    fibre = [(index[u], index[v], d) for u, v, d in graph.edges(data=True) if d.get("segment", "fibre") == "fibre"]
    if not fibre:
        return 0
    fu = np.array([u for u, _, _ in fibre], dtype=np.int64)
    fv = np.array([v for _, v, _ in fibre], dtype=np.int64)
    length = np.array([d["length_km"] for _, _, d in fibre], dtype=float)
    loss = length * np.array([d["attenuation_db_per_km"] for _, _, d in fibre], dtype=float)
    extra = np.array([d["extra_loss_db"] for _, _, d in fibre], dtype=float)
    submarine = np.array([d.get("cable") == "submarine" for _, _, d in fibre], dtype=bool)
    profile_names = sorted({d.get("qkd_profile") for _, _, d in fibre}, key=lambda p: (p is not None, str(p)))
    profile_code = {p: i for i, p in enumerate(profile_names)}
    profile = np.array([profile_code[d.get("qkd_profile")] for _, _, d in fibre], dtype=float)
    edge_id = np.arange(len(fibre))
    tails, heads = np.concatenate([fu, fv]), np.concatenate([fv, fu])
    matrix = sparse.csr_array((np.concatenate([length, length]), (tails, heads)), shape=(n, n))
    edge_of = sparse.csr_array((np.concatenate([edge_id, edge_id]) + 1, (tails, heads)), shape=(n, n))
    existing = {frozenset((index[u], index[v])) for u, v in graph.edges}

    with _gc_paused():
        new_edges = _bypass_edges(nodes, n, matrix, edge_of, existing, reach_km, bypass_loss_db, max_bypassed_nodes,
                                  loss, extra, submarine, profile, profile_names)
    if new_edges:
        latency_s = np.atleast_1d(fibre_delay_s(np.array([d["length_km"] for _, _, d in new_edges])))
        for (_, _, data), latency in zip(new_edges, latency_s.tolist(), strict=True):
            data["latency_s"] = latency
    with _gc_paused():
        graph.add_edges_from(new_edges)
    return len(new_edges)


def _bypass_edges(nodes, n, matrix, edge_of, existing, reach_km, bypass_loss_db, max_bypassed_nodes,
                  loss, extra, submarine, profile, profile_names) -> list[tuple]:
    """The new edges (u, v, data) from blocks of multi-source searches limited to the reach.

    Blocks are runs of a reverse Cuthill-McKee order (neighbours close
    together), and each block searches only the nodes within reach of one of
    its sources (one ``min_only`` search finds them): every route of length
    <= reach stays inside that set, so the result is exact while the dense
    (sources x nodes) arrays shrink from the whole network to the block's
    neighbourhood.
    """
    new_edges = []
    order = csgraph.reverse_cuthill_mckee(matrix, symmetric_mode=True).astype(np.int64)
    for start in range(0, n, _SOURCE_CHUNK):
        block = order[start:start + _SOURCE_CHUNK]
        near = csgraph.dijkstra(matrix, directed=True, indices=block, limit=reach_km, min_only=True)
        local = np.flatnonzero(np.isfinite(near))  # sorted global indices
        m = len(local)
        sub = matrix[local][:, local]
        sub_edge = edge_of[local][:, local]
        sources = np.searchsorted(local, block)  # block's positions in local
        dist, pred = csgraph.dijkstra(sub, directed=True, indices=sources, limit=reach_km, return_predecessors=True)
        rows, cols = np.nonzero(np.isfinite(dist))
        keep = cols != sources[rows]
        rows, cols = rows[keep], cols[keep]
        if not len(rows):
            continue
        parents = pred[rows, cols].astype(np.int64)
        # np.nonzero is row-major, so the flat positions are sorted: look parents up by bisection
        flat = rows * m + cols
        parent_flat = rows * m + parents
        up = np.minimum(np.searchsorted(flat, parent_flat), len(flat) - 1)
        up[flat[up] != parent_flat] = -1  # the parent is the source itself
        hop_edge = np.asarray(sub_edge[parents, cols]).astype(np.int64) - 1
        hops, fib, ext, subsea, pmin, pmax = _accumulate(
            up,
            [np.ones(len(rows)), loss[hop_edge], extra[hop_edge], submarine[hop_edge].astype(float),
             profile[hop_edge], profile[hop_edge]],
            [np.add, np.add, np.maximum, np.maximum, np.minimum, np.maximum],
        )
        # Each pair once, from its lower-numbered end, as the graph orders nodes.
        select = (local[cols] > block[rows]) & (hops >= 2)
        if max_bypassed_nodes is not None:
            select &= hops - 1 <= max_bypassed_nodes
        chosen = np.flatnonzero(select)
        if not len(chosen):
            continue
        local_list = local.tolist()
        source_list = sources.tolist()
        pred_rows = {}
        for r, c, route_km, fibre_db, extra_db, profile_lo, profile_hi, at_sea in zip(
            rows[chosen].tolist(), cols[chosen].tolist(), dist[rows[chosen], cols[chosen]].tolist(),
            fib[chosen].tolist(), ext[chosen].tolist(), pmin[chosen].tolist(), pmax[chosen].tolist(),
            subsea[chosen].tolist(), strict=True,
        ):
            s, t = int(block[r]), local_list[c]
            if frozenset((s, t)) in existing:
                continue
            back = pred_rows.get(r)
            if back is None:
                back = pred_rows[r] = pred[r].tolist()
            path = [c]
            while path[-1] != source_list[r]:
                path.append(back[path[-1]])
            extra_db += bypass_loss_db * (len(path) - 2)
            source, target = nodes[s], nodes[t]
            new_edges.append((source, target, {
                "length_km": route_km,
                "attenuation_db_per_km": fibre_db / route_km,
                "extra_loss_db": extra_db,
                "loss_db": fibre_db + extra_db,
                "segment": "fibre",
                "link_id": f"{source}–{target} (bypass)",
                "ends": (source, target),
                "fibre_path": tuple(nodes[local_list[i]] for i in reversed(path)),
                "qkd_profile": profile_names[int(profile_lo)] if profile_lo == profile_hi else None,
                "cable": "submarine" if at_sea else "terrestrial",
            }))
    return new_edges
