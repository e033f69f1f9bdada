"""Multipath key relay: each key split over k node-disjoint paths, so no single trusted node sees it.

Scheme. The source draws k - 1 uniformly random strings s_1..s_{k-1} as long
as the key K and sends s_j over path j and s_k = K xor s_1 xor ... xor
s_{k-1} over path k, each hop by hop with one-time pad like ordinary
trusted-node relay; the target XORs the k shares. Any k - 1 shares are
uniformly random and independent of K, so a coalition of relay nodes learns
nothing unless it holds a node on every one of the k paths: on node-disjoint
paths, no coalition of fewer than k trusted nodes learns the key (Salvail et
al., J. Comput. Secur. 18, 61 (2010), doi:10.3233/JCS-2010-0373, "Security of
trusted repeater quantum key distribution networks"). A t-of-k threshold
scheme (Shamir 1979) would survive k - t lost paths at the price of
exposure to t paths; qnetemu implements XOR (t = k), and
:func:`qnetemu.network.exposure.exposure_probability` evaluates both.

Cost. Every key bit needs one share bit on every path, so a demand at key
rate r spends r of link key on every link of each of its k paths.

Paths. For each demand: the best key-relay route
(:func:`qnetemu.network.routing.route_demands`, honouring ``can_relay``),
then the best route avoiding its relay nodes (and the direct link if used),
k times. When this greedy search stops short of k, a maximum-flow search
(:func:`networkx.algorithms.connectivity.node_disjoint_paths`, on the
positive-rate links and relay-allowed nodes) decides whether k disjoint
paths exist at all and gives them.

Rates. A linear program (:func:`scipy.optimize.linprog`, HiGHS) allocates
the demands' rates: first it maximises the smallest rate ``t`` of the served
demands (a demand whose required rate is below ``t`` is fixed at its
requirement and ``t`` is raised again), then, holding every demand at or
above ``t``, it maximises the total key; never over-spending a link:
``sum_d r_d * (uses of link l by d's paths) <= capacity_l``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from qnetemu.network.routing import can_relay, route_demands

#: Statuses of a :class:`MultipathRoute`.
STATUSES = ("ok", "no_path", "too_few_disjoint_paths")


@dataclass(frozen=True)
class MultipathRoute:
    """A demand's node-disjoint relay paths.

    Attributes
    ----------
    source, target
        The demand's endpoints.
    paths : tuple of tuple
        The k paths when ``status == "ok"``, else the disjoint paths found.
    status : str
        ``"ok"``, ``"no_path"`` or ``"too_few_disjoint_paths"``.
    k : int
        Paths asked for.
    """

    source: Hashable
    target: Hashable
    paths: tuple
    status: str
    k: int

    @property
    def served(self) -> bool:
        return self.status == "ok"


def _usable(graph: nx.Graph, source, target, banned_nodes: set, banned_edges: set) -> nx.Graph:
    def node_ok(n):
        return n not in banned_nodes

    def edge_ok(u, v):
        return frozenset((u, v)) not in banned_edges

    return nx.subgraph_view(graph, filter_node=node_ok, filter_edge=edge_ok)


def _flow_paths(graph: nx.Graph, source, target, k: int) -> list[list]:
    """Up to k node-disjoint paths over positive-rate links whose interior may relay (max flow)."""
    usable = nx.Graph()
    usable.add_nodes_from([source, target])
    for u, v, d in graph.edges(data=True):
        if float(d.get("key_rate_bps", 0.0)) <= 0.0:
            continue
        if all(n in (source, target) or can_relay(graph.nodes[n]) for n in (u, v)):
            usable.add_edge(u, v)
    try:
        return [list(p) for p in nx.node_disjoint_paths(usable, source, target, cutoff=k)]
    except nx.NetworkXNoPath:
        return []


def disjoint_routes(graph: nx.Graph, demands: list[tuple], k: int, *, rate_tolerance: float = 0.0) -> list[MultipathRoute]:
    """k node-disjoint key-relay paths per demand (see the module docstring).

    Parameters
    ----------
    graph : networkx.Graph
        Network with edge ``key_rate_bps`` [bit/s] and node ``can_relay``.
    demands : list of (source, target)
    k : int
        Paths per demand, >= 1 (1 is ordinary single-path relay).
    rate_tolerance : float, optional
        As in :func:`qnetemu.network.routing.route_demands`, for each path.

    Returns
    -------
    list of MultipathRoute
        Paths share no node but the endpoints, and no link.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    demands = [tuple(d) for d in demands]
    first = route_demands(graph, demands, rate_tolerance=rate_tolerance)
    result = []
    for (source, target), route in zip(demands, first, strict=True):
        if route.status != "ok":
            result.append(MultipathRoute(source, target, (), "no_path", k))
            continue
        paths = [list(route.nodes)]
        banned_nodes: set = set()
        banned_edges: set = set()
        while len(paths) < k:
            banned_nodes.update(paths[-1][1:-1])
            if len(paths[-1]) == 2:
                banned_edges.add(frozenset(paths[-1]))
            nxt = route_demands(_usable(graph, source, target, banned_nodes, banned_edges), [(source, target)],
                                rate_tolerance=rate_tolerance)[0]
            if nxt.status != "ok":
                break
            paths.append(list(nxt.nodes))
        if len(paths) < k:
            flow = _flow_paths(graph, source, target, k)
            if len(flow) >= k:
                paths = flow[:k]
        status = "ok" if len(paths) >= k else "too_few_disjoint_paths"
        result.append(MultipathRoute(source, target, tuple(tuple(p) for p in paths), status, k))
    return result


def _link_use(routes: list[MultipathRoute], capacity_bps: Mapping) -> tuple[np.ndarray, sparse.csr_array]:
    capacity = {frozenset(key) if not isinstance(key, frozenset) else key: float(v) for key, v in capacity_bps.items()}
    index: dict = {}
    rows, cols = [], []
    for d, route in enumerate(routes):
        if not route.served:
            continue
        for path in route.paths:
            for u, v in zip(path[:-1], path[1:], strict=True):
                link = frozenset((u, v))
                if link not in capacity:
                    raise ValueError(f"link {u!r}–{v!r} has no capacity given")
                rows.append(index.setdefault(link, len(index)))
                cols.append(d)
    cap = np.array([capacity[link] for link in index], dtype=float)
    use = sparse.csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(index), len(routes)))
    return cap, use


def allocate_multipath(routes: list[MultipathRoute], link_capacity_bps: Mapping,
                       demand_caps_bps: list[float | None] | None = None) -> np.ndarray:
    """Key rate of each demand on its disjoint paths, by linear programming (HiGHS).

    Parameters
    ----------
    routes : list of MultipathRoute
        Unserved routes get 0.
    link_capacity_bps : mapping
        Secret-key rate of each link [bit/s], keyed by ``frozenset({u, v})``
        or ``(u, v)``.
    demand_caps_bps : list of (float or None), optional
        Required rate per demand [bit/s]; never exceeded.

    Returns
    -------
    numpy.ndarray
        Rate per demand [bit/s]: the smallest served rate is as large as the
        links allow, then the total is; every link spends at most its key.
    """
    n = len(routes)
    caps = np.full(n, np.inf) if demand_caps_bps is None else np.array(
        [np.inf if c is None else float(c) for c in demand_caps_bps])
    if len(caps) != n:
        raise ValueError(f"demand_caps_bps has {len(caps)} entries for {n} demands")
    served = np.array([r.served for r in routes], dtype=bool)
    rates = np.zeros(n)
    if not served.any():
        return rates
    cap, use = _link_use(routes, link_capacity_bps)
    idx = np.flatnonzero(served)
    a_links = use[:, idx]
    m = len(idx)
    # An uncapped demand on links is bounded by them; keep the LP bounded even so.
    upper = np.minimum(caps[idx], cap.max() if len(cap) else 0.0)
    fixed = np.zeros(m, dtype=bool)
    floor = 0.0
    while True:
        # variables: r (m), t; maximise t  s.t.  A r <= c;  t - r_i <= 0 (free i);  bounds
        free = ~fixed
        rows = [sparse.hstack([a_links, sparse.csr_array((a_links.shape[0], 1))])]
        rhs = [cap]
        if free.any():
            pick = sparse.csr_array((np.full(free.sum(), -1.0), (np.arange(free.sum()), np.flatnonzero(free))),
                                    shape=(free.sum(), m))
            rows.append(sparse.hstack([pick, sparse.csr_array(np.ones((free.sum(), 1)))]))
            rhs.append(np.zeros(free.sum()))
        bounds = [(upper[i], upper[i]) if fixed[i] else (0.0, upper[i]) for i in range(m)] + [(0.0, None)]
        res = linprog(np.r_[np.zeros(m), -1.0], A_ub=sparse.vstack(rows).tocsr(), b_ub=np.concatenate(rhs),
                      bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"multipath LP failed: {res.message}")
        floor = float(res.x[-1])
        reached = free & (upper <= floor * (1 + 1e-9) + 1e-12)
        if not reached.any() or not free.any():
            break
        fixed |= reached
        if fixed.all():
            break
    # Stage 2: every free demand keeps at least the floor; maximise the total.
    lower = np.where(fixed, upper, np.minimum(floor * (1 - 1e-9), upper))
    res = linprog(-np.ones(m), A_ub=a_links.tocsr(), b_ub=cap, bounds=list(zip(lower, upper, strict=True)),
                  method="highs")
    if res.status != 0:
        raise RuntimeError(f"multipath LP failed: {res.message}")
    rates[idx] = np.minimum(np.maximum(res.x, 0.0), upper)
    return rates
