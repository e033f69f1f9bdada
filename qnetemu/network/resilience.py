"""What survives a failure: N-1 analysis of a trusted-node network.

Each physical fibre link and each trusted node is taken out in turn; the
demands are routed again and the link keys shared again (max-min fair,
:func:`qnetemu.network.allocation.allocate_max_min_fair`), and every demand
that loses key or falls below its required rate is reported, with by how
much.

Elements.

* A *link* is a physical fibre link of the topology: every span the splitter
  cut it into (edges with the same ``split_from``) fails with it, and so does
  every optical-bypass QKD link whose ``fibre_path`` runs over it. A
  satellite link fails on its own.
* A *node* is a site that relays some demand's key on the intact network,
  or that a used bypass link passes through optically; when it fails its links fail, and so do the bypass links that pass through
  it (the site's optics go with it). Demands that end there are lost.

Why it is fast enough at EuroQCI scale. Only elements that some route uses
are examined: removing anything else leaves every route optimal and every
rate unchanged. For an element, only the demands whose route uses it are
routed again (the others' routes stay optimal in the smaller graph; when two
routes tie, keeping the old one is one of the optima), on arrays masked from
the intact network's (no graph copy), and the allocation is redone for all
demands because freed or newly shared links move everyone's fair share.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse

from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.network.routing import _Network, _route_indices, _summarise


@dataclass(frozen=True)
class Failure:
    """One element taken out, and what it does to one demand."""

    kind: str  # "link" or "node"
    element: str
    a: object
    b: object
    status: str  # the demand's status on the damaged network
    key_rate_before_bps: float
    key_rate_after_bps: float
    required_key_rate_bps: float | None

    @property
    def loss_bps(self) -> float:
        return self.key_rate_before_bps - self.key_rate_after_bps

    @property
    def below_requirement(self) -> bool:
        req = self.required_key_rate_bps
        return req is not None and self.key_rate_after_bps < req * (1 - 1e-9)


def _physical_id(data: dict) -> str:
    return str(data.get("split_from") or data.get("link_id"))


def _element_edges(graph: nx.Graph, net: _Network) -> tuple[dict[str, set[int]], dict[object, set[int]]]:
    """For every physical link and every node: the positive edges (indices into ``net``) that fail with it."""
    by_link: dict[str, set[int]] = {}
    by_node: dict[object, set[int]] = {}
    for e, (u, v) in enumerate(zip(net.u.tolist(), net.v.tolist(), strict=True)):
        a, b = net.nodes[u], net.nodes[v]
        data = graph.edges[a, b]
        through = data.get("fibre_path")
        if through:
            links = {_physical_id(graph.edges[x, y]) for x, y in zip(through[:-1], through[1:], strict=True)}
            nodes = set(through)
        else:
            links, nodes = {_physical_id(data)}, {a, b}
        for link in links:
            by_link.setdefault(link, set()).add(e)
        for node in nodes:
            by_node.setdefault(node, set()).add(e)
    return by_link, by_node


def _masked(net: _Network, dead: np.ndarray) -> _Network:
    """A copy of ``net`` without the edges flagged in ``dead`` (arrays only)."""
    keep = ~dead
    out = _Network.__new__(_Network)
    out.nodes, out.index, out.n = net.nodes, net.index, net.n
    out.allowed, out.inserted = net.allowed, net.inserted
    out.u, out.v, out.rate = net.u[keep], net.v[keep], net.rate[keep]
    out.length_km, out.latency_s = net.length_km[keep], net.latency_s[keep]
    old = np.flatnonzero(keep)
    out.segment = [net.segment[i] for i in old.tolist()]
    out.link_id = [net.link_id[i] for i in old.tolist()]
    renumber = np.full(len(dead), -1, dtype=np.int64)
    renumber[old] = np.arange(len(old))
    arcs = keep[net.arc_edge]
    out.tail, out.head, out.arc_edge = net.tail[arcs], net.head[arcs], renumber[net.arc_edge[arcs]]
    out.indptr = np.searchsorted(out.tail, np.arange(net.n + 1)).astype(np.int64)
    out.edge_of = sparse.csr_array((out.arc_edge + 1, out.head, out.indptr), shape=(net.n, net.n))
    out.scale = net.scale  # same weights: lexicographic order unchanged
    out.arc_weight, out.arc_rate = net.arc_weight[arcs], net.arc_rate[arcs]
    return out


def n_minus_one(
    graph: nx.Graph,
    demands: list[dict],
    *,
    rate_tolerance: float = 0.0,
    elements: str = "both",
    progress=None,
) -> list[Failure]:
    """Take out each used physical link and relay node in turn; report the demands that lose key.

    Parameters
    ----------
    graph : networkx.Graph
        The network (edges with ``key_rate_bps``; nodes may carry ``can_relay``).
    demands : list of dict
        With ``a``, ``b`` and optionally ``required_key_rate_bps`` [bit/s].
    rate_tolerance : float, optional
        As in :func:`qnetemu.network.routing.route_demands`.
    elements : {"both", "links", "nodes"}
        Which elements to take out.
    progress : callable, optional
        Receives a line now and then.

    Returns
    -------
    list of Failure
        One per (element, demand) whose key rate drops (by more than one
        part in 10^9) or that falls below its requirement, in element order
        (links by name, then nodes by name).
    """
    if elements not in ("both", "links", "nodes"):
        raise ValueError(f"elements must be both, links or nodes, got {elements!r}")
    pairs_named = [(d["a"], d["b"]) for d in demands]
    caps = [d.get("required_key_rate_bps") for d in demands]
    net = _Network(graph, honour_relay=True)
    pairs = [(net.index[a], net.index[b]) for a, b in pairs_named]
    base_paths = _route_indices(net, pairs, rate_tolerance)

    def rates_of(network: _Network, paths: list[list[int]]) -> np.ndarray:
        routes = _summarise(network, pairs_named, paths)
        capacity = {frozenset((network.nodes[u], network.nodes[v])): r
                    for u, v, r in zip(network.u.tolist(), network.v.tolist(), network.rate.tolist(), strict=True)}
        served = sorted(routes)
        out = np.zeros(len(pairs))
        if served:
            out[served] = allocate_max_min_fair([list(routes[d].nodes) for d in served], capacity,
                                                [caps[d] for d in served])
        return out

    before = rates_of(net, base_paths)
    by_link, by_node = _element_edges(graph, net)
    route_edges = []
    for path in base_paths:
        route_edges.append(set(net.edges_between(np.array(path[:-1]), np.array(path[1:])).tolist())
                           if len(path) > 1 else set())
    used = set().union(*route_edges) if route_edges else set()
    # Relay nodes of the intact routes, and sites the routes' bypass links pass through optically.
    relays = {net.nodes[i] for path in base_paths for i in path[1:-1]}
    for e in used:
        through = graph.edges[net.nodes[net.u[e]], net.nodes[net.v[e]]].get("fibre_path")
        if through:
            relays.update(through[1:-1])
    relays = sorted(relays, key=str)
    candidates: list[tuple[str, str, set[int], object]] = []
    if elements in ("both", "links"):
        candidates += [("link", name, edges, None) for name, edges in sorted(by_link.items()) if edges & used]
    if elements in ("both", "nodes"):
        candidates += [("node", str(node), by_node.get(node, set()), node) for node in relays]
    failures: list[Failure] = []
    for i, (kind, name, dead_edges, node) in enumerate(candidates):
        if progress and i % 50 == 0:
            progress(f"N-1: {i}/{len(candidates)} elements")
        dead = np.zeros(len(net.u), dtype=bool)
        dead[list(dead_edges)] = True
        damaged = _masked(net, dead)
        hit = [d for d, used_edges in enumerate(route_edges) if used_edges & dead_edges]
        lost_end = {d for d in hit if node is not None and node in pairs_named[d]}
        reroute = [d for d in hit if d not in lost_end]
        new_paths = [list(p) for p in base_paths]
        # Unchanged routes are renumbered into the damaged arrays by _summarise's edge lookup.
        fresh = _route_indices(damaged, [pairs[d] for d in reroute], rate_tolerance) if reroute else []
        for d, path in zip(reroute, fresh, strict=True):
            new_paths[d] = path
        for d in lost_end:
            new_paths[d] = []
        after = rates_of(damaged, new_paths)
        for d in range(len(pairs)):
            dropped = after[d] < before[d] * (1 - 1e-9)
            req = caps[d]
            newly_below = req is not None and after[d] < req * (1 - 1e-9) <= before[d]
            if not (dropped or newly_below):
                continue
            status = "endpoint_failed" if d in lost_end else ("ok" if new_paths[d] else "no_path")
            failures.append(Failure(kind, name, pairs_named[d][0], pairs_named[d][1], status,
                                    float(before[d]), float(after[d]), req))
    return failures


def failure_rows(failures: list[Failure]) -> list[dict]:
    """The failures as table rows (one per element and affected demand)."""
    return [
        {"element_kind": f.kind, "element": f.element, "a": f.a, "b": f.b, "status": f.status,
         "key_rate_before_bps": f.key_rate_before_bps, "key_rate_after_bps": f.key_rate_after_bps,
         "loss_bps": f.loss_bps,
         "loss_fraction": f.loss_bps / f.key_rate_before_bps if f.key_rate_before_bps > 0 else 0.0,
         "required_key_rate_bps": f.required_key_rate_bps, "below_requirement": f.below_requirement}
        for f in failures
    ]


def element_summary_rows(failures: list[Failure]) -> list[dict]:
    """Per element: demands that lose key, lose all of it, or fall below requirement; key lost [bit/s]."""
    out: dict[tuple, dict] = {}
    for f in failures:
        row = out.setdefault((f.kind, f.element), {
            "element_kind": f.kind, "element": f.element, "demands_losing_key": 0, "demands_cut": 0,
            "demands_below_requirement": 0, "key_lost_bps": 0.0})
        row["demands_losing_key"] += int(f.loss_bps > 0)
        row["demands_cut"] += int(f.key_rate_after_bps == 0.0 and f.key_rate_before_bps > 0.0)
        row["demands_below_requirement"] += int(f.below_requirement)
        row["key_lost_bps"] += max(f.loss_bps, 0.0)
    return sorted(out.values(), key=lambda r: (-r["demands_cut"], -r["key_lost_bps"], r["element"]))
