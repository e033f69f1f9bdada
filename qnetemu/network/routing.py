"""Key-relay routing: the path that gives a pair of sites the most key.

With hop-by-hop one-time-pad relay through trusted nodes, a path delivers at
most the smallest secret-key rate of its links, so the best path maximises
that bottleneck (the *widest path*, or maximum-capacity path; Pollack,
Oper. Res. 8, 733 (1960), doi:10.1287/opre.8.5.733). Among paths with the
same bottleneck, fewer hops are preferred (fewer places where the key sits
in the clear), then the shorter total length.

Where a trusted node may sit. A node whose attribute ``can_relay`` is False
(a sea-cable waypoint, a site in a country the scenario does not trust) may
end a demand's path but never relay it: it is never an interior node of a
route. A missing or ``None`` attribute counts as True. A demand that has no
path within that rule gets status ``no_allowed_path`` and the forbidden nodes
that the unrestricted best route would relay through.

Method, in compiled graph code (:mod:`scipy.sparse.csgraph`):

1. Bottlenecks. The bottleneck value between two nodes equals the smallest
   edge on the path joining them in a maximum spanning forest (Hu, Oper.
   Res. 9, 898 (1961), doi:10.1287/opre.9.6.898). The forest of the
   relay-allowed subgraph comes from ``minimum_spanning_tree`` on negated
   rates; a Kruskal pass over its n - 1 edges, in descending rate, records
   the rate at which each pair of *terminals* (demand endpoints; for an
   endpoint that may not relay, its allowed neighbours) first joins. A
   forbidden endpoint adds its own first or last edge: the best over its
   neighbours of min(edge rate, bottleneck onward).
2. Paths. Every path that uses only edges at least as wide as the
   bottleneck has exactly that bottleneck, so the route is a lexicographic
   (hops, length) shortest path in that subgraph. The lexicographic order
   is one Dijkstra weight, ``1 + length_km * scale`` with ``scale`` below one
   over the total length of the graph, so the hop count dominates. Demands
   that share a threshold share one multi-source ``dijkstra`` call; there
   are at most (terminals - 1) distinct bottlenecks, which bounds the calls.
   Edges leave a forbidden node only when it is the search's source, so a
   forbidden node is never passed through.

Ties. When two paths have the same (bottleneck, hops, length) either may be
returned, and a tie between lengths closer than about 1e-7 km on a
30,000-node graph is not resolved (the floating-point resolution of the
combined weight). Otherwise the routes equal those of
:mod:`qnetemu.network.routing_reference`, today's pure-Python method, which
tests check.

Only the edge attribute ``key_rate_bps`` is read (``length_km`` for
tie-breaks, 0 when absent), so fibre and satellite edges are treated alike.
"""

from __future__ import annotations

import gc
import math
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

_RATE = "key_rate_bps"

#: Demand statuses a :class:`Route` can carry.
STATUSES = ("ok", "no_path", "no_allowed_path")

#: Sources per multi-source Dijkstra call (bounds the dist/predecessor arrays to
#: about 64 x nodes x 12 bytes).
_SOURCE_CHUNK = 64


@dataclass(frozen=True)
class Route:
    """A demand's key-relay route and what it costs and delivers.

    Attributes
    ----------
    source, target
        The demand's endpoints.
    nodes : tuple
        Node sequence from ``source`` to ``target``; ``()`` when unserved.
    status : str
        ``"ok"``; ``"no_path"`` (no path of positive key rate at all);
        ``"no_allowed_path"`` (paths exist, but every one relays at a node
        with ``can_relay`` False).
    forbidden_relays : tuple
        For ``no_allowed_path``: the nodes with ``can_relay`` False that the
        unrestricted best route relays through.
    hops : int
        Links on the route.
    length_km : float
        Sum of the links' ``length_km`` (0 for links without one). [km]
    bottleneck_key_rate_bps : float
        Smallest link key rate on the route. [bit/s]
    latency_s : float
        Sum of the links' ``latency_s``. [s]
    segments : tuple of str
        Sorted distinct ``segment`` values of the links.
    link_ids : tuple
        ``link_id`` of each link in route order.
    inserted_trusted_nodes : int
        Interior nodes that the span splitter created.
    """

    source: object
    target: object
    nodes: tuple
    status: str
    forbidden_relays: tuple = ()
    hops: int = 0
    length_km: float = 0.0
    bottleneck_key_rate_bps: float = 0.0
    latency_s: float = 0.0
    segments: tuple = ()
    link_ids: tuple = ()
    inserted_trusted_nodes: int = 0

    @property
    def trusted_node_names(self) -> tuple:
        """Interior nodes, where the key is relayed in the clear."""
        return self.nodes[1:-1]

    @property
    def reason(self) -> str:
        """One line saying why the demand is not served (``""`` when it is)."""
        if self.status == "no_allowed_path":
            names = ", ".join(map(str, self.forbidden_relays))
            return f"every path relays at a node that may not relay; the best route would use: {names}"
        if self.status == "no_path":
            return "no path of positive key rate"
        return ""


def can_relay(data: dict) -> bool:
    """Whether a node (its attribute dict) may relay key: ``can_relay``, missing or None = True."""
    value = data.get("can_relay", True)
    return True if value is None else bool(value)


def _check_nodes(graph: nx.Graph, demands: list[tuple]) -> None:
    for source, target in demands:
        for node in (source, target):
            if node not in graph:
                raise ValueError(f"unknown node {node!r}")
        if source == target:
            raise ValueError(f"demand from {source!r} to itself")


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building large flat lists.

    Its passes over a graph of 10^6 attribute dicts cost more than the work
    itself; the lists and arrays built here hold no reference cycles.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _edges_with_data(graph: nx.Graph):
    """``graph.edges(data=True)``, read from the parent's dicts when ``graph`` is a subgraph view.

    A view's edge iteration goes through filtered adjacency objects per
    neighbour; asking its two filters directly over the parent's edges gives
    the same edges at about half the cost (the fibre-only view of a 30,000
    node network with bypass links has 1.4 million adjacency entries).
    """
    root = getattr(graph, "_graph", None)
    node_ok, edge_ok = getattr(graph, "_NODE_OK", None), getattr(graph, "_EDGE_OK", None)
    if (root is None or node_ok is None or edge_ok is None or type(root) is not nx.Graph
            or type(graph) is not nx.Graph):
        return graph.edges(data=True)
    return ((u, v, d) for u, v, d in root.edges(data=True) if node_ok(u) and node_ok(v) and edge_ok(u, v))


class _Network:
    """The graph's positive-rate edges as arrays (read once per routing call)."""

    def __init__(self, graph: nx.Graph, honour_relay: bool):
        with _gc_paused():
            self._read(graph, honour_relay)

    def _read(self, graph: nx.Graph, honour_relay: bool) -> None:
        node_data = list(graph.nodes(data=True))
        self.nodes = [node for node, _ in node_data]
        self.index = {node: i for i, node in enumerate(self.nodes)}
        n = len(self.nodes)
        self.allowed = np.ones(n, dtype=bool)
        if honour_relay:
            self.allowed = np.array([can_relay(d) for _, d in node_data], dtype=bool)
        self.inserted = np.array([bool(d.get("inserted")) for _, d in node_data], dtype=bool)
        us, vs, rates, lengths, latencies, segments, link_ids = [], [], [], [], [], [], []
        index = self.index
        for u, v, data in _edges_with_data(graph):
            rate = float(data.get(_RATE, 0.0))
            if math.isnan(rate):
                raise ValueError(f"edge {u!r}–{v!r} has key_rate_bps NaN")
            if rate > 0.0 and u != v:
                us.append(index[u])
                vs.append(index[v])
                rates.append(rate)
                lengths.append(float(data.get("length_km", 0.0) or 0.0))
                latencies.append(float(data.get("latency_s", 0.0)))
                segments.append(str(data.get("segment", "fibre")))
                link_ids.append(data.get("link_id"))
        self.u = np.array(us, dtype=np.int64)
        self.v = np.array(vs, dtype=np.int64)
        self.rate = np.array(rates, dtype=float)
        self.length_km = np.array(lengths, dtype=float)
        self.latency_s = np.array(latencies, dtype=float)
        self.segment = segments
        self.link_id = link_ids
        self.n = n
        m = len(us)
        # Directed arcs (both orientations of every edge) in CSR order, and an edge lookup.
        tail = np.concatenate([self.u, self.v])
        head = np.concatenate([self.v, self.u])
        edge = np.concatenate([np.arange(m), np.arange(m)])
        order = np.lexsort((head, tail))
        self.tail, self.head, self.arc_edge = tail[order], head[order], edge[order]
        self.indptr = np.searchsorted(self.tail, np.arange(n + 1)).astype(np.int64)
        self.edge_of = sparse.csr_array((self.arc_edge + 1, self.head, self.indptr), shape=(n, n))
        # Hop count dominates: any simple path's length part stays below 1.
        self.scale = 1.0 / (1.0 + float(self.length_km.sum()))
        self.arc_weight = 1.0 + self.length_km[self.arc_edge] * self.scale
        self.arc_rate = self.rate[self.arc_edge]

    def neighbours(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """Neighbours of ``node`` over positive edges, and those edges' rates."""
        arcs = slice(self.indptr[node], self.indptr[node + 1])
        return self.head[arcs], self.arc_rate[arcs]

    def edges_between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Edge index of each (a[i], b[i]) pair (the pairs must be edges)."""
        return np.asarray(self.edge_of[a, b]).astype(np.int64) - 1


def _terminal_bottlenecks(net: _Network, terminals: np.ndarray) -> np.ndarray:
    """Bottleneck between every pair of ``terminals`` in the relay-allowed subgraph.

    Maximum spanning forest of the allowed subgraph (csgraph, on negated
    rates), then Kruskal in descending rate over its edges: when two
    components merge at rate w, every terminal pair across them gets w.
    Diagonal: inf; not connected: 0.
    """
    k = len(terminals)
    best = np.zeros((k, k))
    np.fill_diagonal(best, np.inf)
    keep = net.allowed[net.u] & net.allowed[net.v]
    if k < 2 or not keep.any():
        return best
    u, v, rate = net.u[keep], net.v[keep], net.rate[keep]
    # Both orientations with the same value: csgraph reads an undirected graph.
    matrix = sparse.csr_array((np.concatenate([-rate, -rate]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                              shape=(net.n, net.n))
    forest = csgraph.minimum_spanning_tree(matrix).tocoo()
    order = np.argsort(forest.data, kind="stable")  # most negative = widest first
    rows, cols, widths = forest.row[order].tolist(), forest.col[order].tolist(), (-forest.data[order]).tolist()
    parent = list(range(net.n))
    members: dict[int, list[int]] = {node: [position] for position, node in enumerate(terminals.tolist())}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b, width in zip(rows, cols, widths, strict=True):
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        ta, tb = members.pop(ra, None), members.pop(rb, None)
        if ta and tb:
            best[np.ix_(ta, tb)] = width
            best[np.ix_(tb, ta)] = width
        parent[ra] = rb
        if ta or tb:
            members[rb] = (tb or []) + (ta or [])
    return best


def _demand_bottlenecks(net: _Network, pairs: list[tuple[int, int]]) -> np.ndarray:
    """Widest-path value of each (source, target) index pair under the relay rule."""
    ends = sorted({node for pair in pairs for node in pair})
    forbidden_ends = [node for node in ends if not net.allowed[node]]
    hood = {node: net.neighbours(node) for node in forbidden_ends}
    terminal_set = {node for node in ends if net.allowed[node]}
    for node in forbidden_ends:
        nbrs, _ = hood[node]
        terminal_set.update(int(x) for x in nbrs[net.allowed[nbrs]])
    terminals = np.array(sorted(terminal_set), dtype=np.int64)
    position = {node: i for i, node in enumerate(terminals.tolist())}
    between = _terminal_bottlenecks(net, terminals)

    def entry(node: int) -> tuple[np.ndarray, np.ndarray]:
        """Terminal positions a path from ``node`` may enter, with the rate of getting there."""
        if net.allowed[node]:
            return np.array([position[node]]), np.array([np.inf])
        nbrs, rates = hood[node]
        mask = net.allowed[nbrs]
        return np.array([position[int(x)] for x in nbrs[mask]], dtype=np.int64), rates[mask]

    result = np.zeros(len(pairs))
    src = np.array([s for s, _ in pairs], dtype=np.int64)
    dst = np.array([t for _, t in pairs], dtype=np.int64)
    plain = net.allowed[src] & net.allowed[dst]
    if plain.any():
        lookup = np.full(net.n, -1, dtype=np.int64)
        lookup[terminals] = np.arange(len(terminals))
        result[plain] = between[lookup[src[plain]], lookup[dst[plain]]]
    for d in np.flatnonzero(~plain).tolist():
        s, t = pairs[d]
        ps, ws = entry(s)
        pt, wt = entry(t)
        value = 0.0
        if len(ps) and len(pt):
            grid = np.minimum(np.minimum(ws[:, None], between[np.ix_(ps, pt)]), wt[None, :])
            value = float(grid.max())
        if not net.allowed[s] and not net.allowed[t]:
            direct = net.edge_of[np.array([s]), np.array([t])][0]
            if direct:
                value = max(value, float(net.rate[int(direct) - 1]))
        result[d] = value
    return result


def _threshold_matrix(net: _Network, threshold: float, extra_source: int | None = None) -> sparse.csr_array:
    """Directed arcs of rate >= threshold leaving relay-allowed nodes (and ``extra_source``).

    Other arcs keep their place with an infinite weight, which csgraph never
    relaxes, so the CSR structure is shared instead of rebuilt.
    """
    leave = net.allowed[net.tail]
    if extra_source is not None:
        leave = leave.copy()
        leave[net.indptr[extra_source]:net.indptr[extra_source + 1]] = True
    weight = np.where((net.arc_rate >= threshold) & leave, net.arc_weight, np.inf)
    return sparse.csr_array((weight, net.head, net.indptr), shape=(net.n, net.n))


def _paths_from(net: _Network, matrix, sources: list[int], wanted: dict[int, set[int]]) -> dict:
    """Lexicographic (hops, length) shortest paths ``{(s, t): [indices]}`` from each source."""
    found: dict[tuple[int, int], list[int]] = {}
    for start in range(0, len(sources), _SOURCE_CHUNK):
        chunk = sources[start:start + _SOURCE_CHUNK]
        dist, pred = csgraph.dijkstra(matrix, directed=True, indices=chunk, return_predecessors=True)
        for row, s in enumerate(chunk):
            targets = sorted(wanted[s])
            reached = np.isfinite(dist[row, targets])
            back = pred[row].tolist()
            for t, ok in zip(targets, reached.tolist(), strict=True):
                if not ok:
                    continue
                path = [t]
                while path[-1] != s:
                    path.append(back[path[-1]])
                found[(s, t)] = path[::-1]
    return found


def _orient(pairs: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """Search from the endpoint the group's demands share most, so fewer searches run.

    Returns ``(source, target, reversed)`` per pair.
    """
    count = Counter(node for pair in pairs for node in pair)
    return [(t, s, True) if count[t] > count[s] else (s, t, False) for s, t in pairs]


def _route_indices(net: _Network, pairs: list[tuple[int, int]], rate_tolerance: float) -> list[list[int]]:
    """Index paths for index pairs ([] when none within the relay rule)."""
    bottleneck = _demand_bottlenecks(net, pairs) if pairs else np.zeros(0)
    groups: dict[float, list[int]] = defaultdict(list)
    for d, width in enumerate(bottleneck.tolist()):
        if width > 0.0:
            groups[width * (1.0 - rate_tolerance)].append(d)
    paths: list[list[int]] = [[] for _ in pairs]
    for threshold, members in groups.items():
        oriented = _orient([pairs[d] for d in members])
        # Searches from a node that may not relay need that node's own arcs.
        by_matrix: dict[int | None, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
        for s, t, _ in oriented:
            by_matrix[None if net.allowed[s] else s][s].add(t)
        found: dict = {}
        for extra, wanted in by_matrix.items():
            matrix = _threshold_matrix(net, threshold, extra)
            found.update(_paths_from(net, matrix, sorted(wanted), wanted))
        for d, (s, t, flipped) in zip(members, oriented, strict=True):
            path = found.get((s, t), [])
            paths[d] = path[::-1] if flipped else path
    return paths


def _pick(values: list, indices: list[int]) -> tuple:
    """``tuple(values[i] for i in indices)``, in C."""
    return (values[indices[0]],) if len(indices) == 1 else itemgetter(*indices)(values)


def _summarise(net: _Network, demands: list[tuple], paths: list[list[int]]) -> dict[int, Route]:
    """Routes (with their sums, minima and link ids) of the demands that have a path, in one pass."""
    served = [d for d, path in enumerate(paths) if path]
    if not served:
        return {}
    a = np.concatenate([np.asarray(paths[d][:-1], dtype=np.int64) for d in served])
    b = np.concatenate([np.asarray(paths[d][1:], dtype=np.int64) for d in served])
    edges = net.edges_between(a, b)
    starts = np.cumsum([0] + [len(paths[d]) - 1 for d in served])[:-1]
    length = np.add.reduceat(net.length_km[edges], starts)
    latency = np.add.reduceat(net.latency_s[edges], starts)
    width = np.minimum.reduceat(net.rate[edges], starts)
    edge_list = edges.tolist()
    routes = {}
    for i, d in enumerate(served):
        path = paths[d]
        hop_edges = edge_list[starts[i]:starts[i] + len(path) - 1]
        # itemgetter of two or more indices returns a tuple, in C
        routes[d] = Route(
            source=demands[d][0],
            target=demands[d][1],
            nodes=itemgetter(*path)(net.nodes),
            status="ok",
            hops=len(path) - 1,
            length_km=float(length[i]),
            bottleneck_key_rate_bps=float(width[i]),
            latency_s=float(latency[i]),
            segments=tuple(sorted(set(_pick(net.segment, hop_edges)))),
            link_ids=_pick(net.link_id, hop_edges),
            inserted_trusted_nodes=int(net.inserted[path[1:-1]].sum()) if len(path) > 2 else 0,
        )
    return routes


def route_demands(
    graph: nx.Graph,
    demands: list[tuple],
    *,
    rate_tolerance: float = 0.0,
    honour_relay: bool = True,
) -> list[Route]:
    """Best key-relay route of each demand, with what it costs and delivers.

    Parameters
    ----------
    graph : networkx.Graph
        Network whose edges carry ``key_rate_bps`` [bit/s] (and optionally
        ``length_km`` [km], ``latency_s`` [s], ``segment``, ``link_id``); nodes
        may carry ``can_relay`` (bool; missing = True) and ``inserted``.
    demands : list of (source, target)
        Node pairs.
    rate_tolerance : float, optional
        Paths whose bottleneck is within this fraction of the best one count
        as equally good, so the fewest hops (trusted nodes) decide among them.
        0 (default) maximises the bottleneck strictly; on a dense backbone that
        can mean a detour of thousands of km for a fraction of a per cent more
        key, which no planner would build.
    honour_relay : bool, optional
        Keep nodes with ``can_relay`` False off the interior of routes
        (default). False routes as if every node could relay.

    Returns
    -------
    list of Route
        For each demand, the node sequence that maximises the bottleneck
        ``key_rate_bps`` (within the tolerance), then has the fewest hops,
        then the shortest length, with only relay-allowed interior nodes; or
        an unserved route whose status says why.

    Raises
    ------
    ValueError
        For an unknown node, a demand from a node to itself, a NaN key rate
        or a tolerance outside [0, 1).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_edge("A", "B", key_rate_bps=100.0, length_km=50.0)
    >>> g.add_edge("B", "C", key_rate_bps=50.0, length_km=50.0)
    >>> g.add_edge("A", "C", key_rate_bps=10.0, length_km=10.0)
    >>> route_demands(g, [("A", "C")])[0].nodes
    ('A', 'B', 'C')
    >>> g.nodes["B"]["can_relay"] = False
    >>> route_demands(g, [("A", "C")])[0].nodes
    ('A', 'C')
    """
    if not (0.0 <= rate_tolerance < 1.0):
        raise ValueError(f"rate_tolerance must be in [0, 1), got {rate_tolerance!r}")
    demands = [tuple(d) for d in demands]
    _check_nodes(graph, demands)
    net = _Network(graph, honour_relay)
    pairs = [(net.index[s], net.index[t]) for s, t in demands]
    paths = _route_indices(net, pairs, rate_tolerance)
    found = _summarise(net, demands, paths)
    routes: list[Route | None] = [found.get(d) for d in range(len(demands))]
    unserved = [d for d in range(len(demands)) if d not in found]
    if unserved and not net.allowed.all():
        # Would the demand be served if every node could relay? Then say where it would relay.
        free = np.ones(net.n, dtype=bool)
        restricted, net.allowed = net.allowed, free
        loose = _route_indices(net, [pairs[d] for d in unserved], rate_tolerance)
        net.allowed = restricted
        for d, path in zip(unserved, loose, strict=True):
            source, target = demands[d]
            if path:
                blocked = tuple(net.nodes[i] for i in path[1:-1] if not restricted[i])
                routes[d] = Route(source, target, (), "no_allowed_path", forbidden_relays=blocked)
    for d in unserved:
        if routes[d] is None:
            routes[d] = Route(demands[d][0], demands[d][1], (), "no_path")
    return routes  # type: ignore[return-value]


def route_all(
    graph: nx.Graph,
    demands: list[tuple[str, str]],
    *,
    rate_tolerance: float = 0.0,
    honour_relay: bool = True,
) -> list[list[str]]:
    """Best key-relay path (node list) for each demand; ``[]`` when unserved.

    See :func:`route_demands` for the parameters and the method.
    """
    return [list(r.nodes) for r in route_demands(graph, demands, rate_tolerance=rate_tolerance,
                                                 honour_relay=honour_relay)]


def best_key_rate_path(graph: nx.Graph, source, target) -> list[str]:
    """Best key-relay path between two nodes (see :func:`route_demands`).

    Returns
    -------
    list
        Nodes from ``source`` to ``target``, or ``[]`` when no path with a
        positive key rate exists within the relay rule.
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
