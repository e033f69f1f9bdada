"""Key-relay routing: the path that gives a pair of sites the most key.

With hop-by-hop one-time-pad relay through trusted nodes, a path delivers at
most the smallest secret-key rate of its links, so the best path maximises
that bottleneck (the *widest path*, or maximum-capacity path; Pollack,
Oper. Res. 8, 733 (1960), doi:10.1287/opre.8.5.733). Among paths with the
same bottleneck, fewer hops are preferred (fewer places where the key sits
in the clear), then the shorter total length.

Method. The bottleneck value between two nodes equals the smallest edge on
the path joining them in a maximum spanning forest (Hu, Oper. Res. 9, 898
(1961), doi:10.1287/opre.9.6.898), so one forest answers every pair. The
path itself is then a lexicographic (hops, length) shortest path restricted
to edges at least as wide as that bottleneck: every path there has exactly
that bottleneck, so this is optimal under the tie-break. (Running Dijkstra
on (bottleneck, hops, length) labels directly would be wrong: the order is
not preserved when two labels are extended by the same narrow edge.)

Only the edge attribute ``key_rate_bps`` is read (``length_km`` for
tie-breaks, 0 when absent), so fibre and satellite edges are treated alike.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict

import networkx as nx

_RATE = "key_rate_bps"


def _check_nodes(graph: nx.Graph, demands: list[tuple]) -> None:
    for source, target in demands:
        for node in (source, target):
            if node not in graph:
                raise ValueError(f"unknown node {node!r}")
        if source == target:
            raise ValueError(f"demand from {source!r} to itself")


def _positive_adjacency(graph: nx.Graph) -> dict:
    """Plain adjacency ``{node: [(neighbour, rate, length_km), ...]}`` of the edges with a
    positive key rate (plain dicts and tuples: the searches below run in pure Python and
    networkx's views would dominate their cost)."""
    adjacency: dict = {node: [] for node in graph.nodes}
    for u, v, data in graph.edges(data=True):
        rate = float(data.get(_RATE, 0.0))
        if math.isnan(rate):
            raise ValueError(f"edge {u!r}–{v!r} has key_rate_bps NaN")
        if rate > 0.0:
            length = float(data.get("length_km", 0.0) or 0.0)
            adjacency[u].append((v, rate, length))
            adjacency[v].append((u, rate, length))
    return adjacency


def _maximum_spanning_forest(adjacency: dict) -> dict:
    """Kruskal on descending rate with union-find; adjacency ``{node: [(nbr, rate)]}``."""
    edges = sorted(
        ((rate, u, v) for u, nbrs in adjacency.items() for v, rate, _ in nbrs),
        key=lambda edge: -edge[0],
    )
    parent = {node: node for node in adjacency}

    def root(node):
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    forest: dict = {node: [] for node in adjacency}
    for rate, u, v in edges:
        ru, rv = root(u), root(v)
        if ru != rv:
            parent[ru] = rv
            forest[u].append((v, rate))
            forest[v].append((u, rate))
    return forest


def _bottlenecks_from(forest: dict, source) -> dict:
    """Bottleneck (smallest forest edge) from ``source`` to every node of its tree."""
    best = {source: math.inf}
    stack = [source]
    while stack:
        node = stack.pop()
        width = best[node]
        for neighbour, rate in forest[node]:
            if neighbour not in best:
                best[neighbour] = rate if rate < width else width
                stack.append(neighbour)
    return best


def _fewest_hops_paths(adjacency: dict, source, threshold: float, targets: set) -> dict:
    """Lexicographic (hops, length) shortest paths using edges of rate >= threshold."""
    label = {source: (0, 0.0)}
    parent = {source: None}
    done: set = set()
    remaining = set(targets)
    counter = itertools.count()
    heap = [(0, 0.0, next(counter), source)]
    while heap and remaining:
        hops, length, _, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        remaining.discard(node)
        for neighbour, rate, edge_length in adjacency[node]:
            if rate < threshold or neighbour in done:
                continue
            candidate = (hops + 1, length + edge_length)
            if neighbour not in label or candidate < label[neighbour]:
                label[neighbour] = candidate
                parent[neighbour] = node
                heapq.heappush(heap, (*candidate, next(counter), neighbour))
    paths = {}
    for target in targets:
        if target not in done:
            continue
        path = [target]
        while parent[path[-1]] is not None:
            path.append(parent[path[-1]])
        paths[target] = path[::-1]
    return paths


def route_all(
    graph: nx.Graph,
    demands: list[tuple[str, str]],
    *,
    rate_tolerance: float = 0.0,
) -> list[list[str]]:
    """Best key-relay path for each demand.

    Parameters
    ----------
    graph : networkx.Graph
        Network whose edges carry ``key_rate_bps`` [bit/s] (and optionally
        ``length_km`` [km] for tie-breaks).
    demands : list of (source, target)
        Node pairs.
    rate_tolerance : float, optional
        Paths whose bottleneck is within this fraction of the best one count
        as equally good, so the fewest hops (trusted nodes) decide among them.
        0 (default) maximises the bottleneck strictly; on a dense backbone that
        can mean a detour of thousands of km for a fraction of a per cent more
        key, which no planner would build.

    Returns
    -------
    list of list
        For each demand, the node sequence from source to target that
        maximises the bottleneck ``key_rate_bps``, then has the fewest hops,
        then the shortest length; ``[]`` when no path of positive rate exists.

    Raises
    ------
    ValueError
        For an unknown node or a demand from a node to itself.

    Notes
    -----
    One maximum spanning forest serves all demands, and demands sharing a
    source and a bottleneck share one shortest-path search, so all pairs of
    40 sites on a graph of a few thousand nodes take well under a second.
    """
    if not (0.0 <= rate_tolerance < 1.0):
        raise ValueError(f"rate_tolerance must be in [0, 1), got {rate_tolerance!r}")
    demands = [tuple(d) for d in demands]
    _check_nodes(graph, demands)
    usable = _positive_adjacency(graph)
    forest = _maximum_spanning_forest(usable)
    bottleneck_cache: dict = {}
    groups: dict[tuple, set] = defaultdict(set)
    for source, target in demands:
        if source not in bottleneck_cache:
            bottleneck_cache[source] = _bottlenecks_from(forest, source)
        bottleneck = bottleneck_cache[source].get(target)
        if bottleneck is not None:
            groups[(source, bottleneck * (1.0 - rate_tolerance))].add(target)
    found: dict[tuple, list] = {}
    for (source, bottleneck), targets in groups.items():
        for target, path in _fewest_hops_paths(usable, source, bottleneck, targets).items():
            found[(source, target)] = path
    return [list(found.get((source, target), [])) for source, target in demands]


def best_key_rate_path(graph: nx.Graph, source, target) -> list[str]:
    """Best key-relay path between two nodes (see :func:`route_all`).

    Returns
    -------
    list
        Nodes from ``source`` to ``target``, or ``[]`` when no path with a
        positive key rate exists.
    """
    return route_all(graph, [(source, target)])[0]


def path_summary(graph: nx.Graph, path: list) -> dict:
    """What a path costs and delivers.

    Parameters
    ----------
    graph : networkx.Graph
        The network the path was found in.
    path : list
        Node sequence (``[]`` for an unroutable demand).

    Returns
    -------
    dict
        ``hops``; ``trusted_nodes`` (number of interior nodes, where the key
        is relayed in the clear) and ``trusted_node_names``;
        ``inserted_trusted_nodes`` (how many of those the splitter created);
        ``length_km`` [km] (sum of edge ``length_km``, 0 for edges without
        one); ``bottleneck_key_rate_bps`` [bit/s]; ``latency_s`` [s] (sum of
        edge ``latency_s``); ``segments`` (sorted distinct ``segment``
        values); ``link_ids``. An empty path gives zero hops and rate.

    Raises
    ------
    ValueError
        If consecutive nodes of the path are not joined by an edge.
    """
    if len(path) < 2:
        return {
            "hops": 0,
            "trusted_nodes": 0,
            "trusted_node_names": [],
            "inserted_trusted_nodes": 0,
            "length_km": 0.0,
            "bottleneck_key_rate_bps": 0.0,
            "latency_s": 0.0,
            "segments": [],
            "link_ids": [],
        }
    edges = []
    for u, v in zip(path[:-1], path[1:], strict=True):
        if not graph.has_edge(u, v):
            raise ValueError(f"path step {u!r} -> {v!r} is not a link of the graph")
        edges.append(graph.edges[u, v])
    interior = list(path[1:-1])
    return {
        "hops": len(edges),
        "trusted_nodes": len(interior),
        "trusted_node_names": interior,
        "inserted_trusted_nodes": sum(bool(graph.nodes[n].get("inserted")) for n in interior),
        "length_km": float(sum(float(e.get("length_km", 0.0) or 0.0) for e in edges)),
        "bottleneck_key_rate_bps": float(min(float(e.get(_RATE, 0.0)) for e in edges)),
        "latency_s": float(sum(float(e.get("latency_s", 0.0)) for e in edges)),
        "segments": sorted({str(e.get("segment", "fibre")) for e in edges}),
        "link_ids": [e.get("link_id") for e in edges],
    }
