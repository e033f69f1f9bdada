"""Today's pure-Python widest-path routing, kept as the reference.

This is the implementation :mod:`qnetemu.network.routing` had before it moved
to compiled graph code (scipy.sparse.csgraph). It is kept unchanged, as the
oracle that tests (``tests/network/test_routing_csgraph.py``) and the speed
benchmark (``benchmarks/bench_routing_scale.py``) compare the new routing
against: same routes, same rates. It does not know ``can_relay``. :func:`add_bypass_links` is today's optical
bypass (one networkx Dijkstra per node), the reference for
:func:`qnetemu.network.bypass.add_bypass_links`.

Method (Pollack 1960; Hu 1961): one maximum spanning forest gives every
pair's bottleneck; a lexicographic (hops, length) Dijkstra restricted to
edges at least that wide gives the path.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict

import networkx as nx

from qnetemu.physics.fibre import fibre_delay_s

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
