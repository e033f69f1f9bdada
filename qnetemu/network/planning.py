"""Where to build: the least-cost set of trusted nodes (and ground stations) that serves every demand.

Model (a fixed-charge multicommodity flow, the textbook network-design
integer program; Magnanti & Wong, Transp. Sci. 18, 1 (1984),
doi:10.1287/trsc.18.1.1). Key relay is one-time-pad hop by hop, so key
volume can be split over several routes: a demand (s, t) needing R_st bit/s
is a flow of R_st from s to t, and a link's key rate caps the sum of all
flows on it (both directions). Demands that share a source are one
commodity (a single-source flow decomposes into paths to each target).
Binary y_n says whether candidate n is built:

    minimise    sum_n cost_n y_n
    subject to  flow conservation of every commodity (source s supplies
                sum_t R_st, target t absorbs R_st, other nodes 0),
                sum_s (f_s(u->v) + f_s(v->u)) <= c_uv          every link,
                sum_v f_s(n->v) <= (sum_t R_st) y_n            every commodity s, node n != s,
                f >= 0,  y in {0, 1}.

A node that forwards key relays it, so its outflow needs it built (a
target may absorb key without being built). Nodes already in place relay
freely; nodes that are neither candidates nor in place, and nodes with
``can_relay`` False, never relay. A satellite link from a candidate ground
station carries key only when that station is built (``c_uv y_g``). Solved
with :func:`scipy.optimize.milp` (HiGHS branch and cut).

Scale: one flow variable per commodity and link direction; a few hundred
candidates over a few thousand links solve in seconds to minutes. The plan
allows a demand's key to take several routes at once; the trusted-node
evaluation of the built network routes each demand on one path, so it may
serve less than the plan where a demand needs more than its widest path.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from qnetemu.network.routing import can_relay


@dataclass(frozen=True)
class Plan:
    """The least-cost build.

    Attributes
    ----------
    status : str
        ``"optimal"`` or ``"infeasible"`` (no build serves every demand).
    built : tuple
        Candidates chosen, sorted by name.
    cost : float
        Their total cost (the candidates' cost unit).
    relayed_bps : dict
        Key each built or existing node forwards [bit/s].
    """

    status: str
    built: tuple
    cost: float
    relayed_bps: dict


def plan_trusted_nodes(
    graph: nx.Graph,
    demands: list[tuple[Hashable, Hashable, float]],
    candidate_cost: Mapping,
    *,
    existing: set | frozenset = frozenset(),
    time_limit_s: float | None = None,
) -> Plan:
    """Least-cost set of candidate trusted nodes (or ground stations) serving every demand.

    Parameters
    ----------
    graph : networkx.Graph
        Edges with ``key_rate_bps`` [bit/s] (and ``segment``); nodes may carry
        ``can_relay`` and ``role``.
    demands : list of (a, b, required_key_rate_bps)
        Required rates [bit/s], > 0.
    candidate_cost : mapping
        Node -> cost of building it (>= 0, any one currency unit).
    existing : set, optional
        Nodes that relay already, at no cost.
    time_limit_s : float, optional
        Stop the solver after this long [s] (then the best plan found so far,
        if any, is returned as ``"optimal"`` only when HiGHS proved it).

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        For an unknown node, a non-positive required rate or a negative cost.
    """
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    for n, cost in candidate_cost.items():
        if n not in index:
            raise ValueError(f"candidate {n!r} is not a node of the network")
        if not (math.isfinite(float(cost)) and float(cost) >= 0):
            raise ValueError(f"cost of {n!r} must be finite and >= 0, got {cost!r}")
    for a, b, rate in demands:
        if a not in index or b not in index:
            raise ValueError(f"demand {a!r}–{b!r} names an unknown node")
        if not float(rate) > 0:
            raise ValueError(f"demand {a!r}–{b!r}: required rate must be > 0, got {rate!r}")
    cand = [n for n in candidate_cost if can_relay(graph.nodes[n])]
    cpos = {n: i for i, n in enumerate(cand)}
    relay_free = {n for n in existing if n in index and can_relay(graph.nodes[n])} - set(cand)

    edges = [(index[u], index[v], float(d.get("key_rate_bps", 0.0)), d) for u, v, d in graph.edges(data=True)
             if float(d.get("key_rate_bps", 0.0)) > 0.0]
    arcs = [(u, v, e) for e, (u, v, _, _) in enumerate(edges)] + [(v, u, e) for e, (u, v, _, _) in enumerate(edges)]
    sources = sorted({index[a] for a, _, _ in demands})
    supply = {s: np.zeros(len(nodes)) for s in sources}
    for a, b, rate in demands:
        supply[index[a]][index[a]] += float(rate)
        supply[index[a]][index[b]] -= float(rate)
    n_arcs, n_y = len(arcs), len(cand)
    n_f = len(sources) * n_arcs

    rows: list = []
    cols: list = []
    vals: list = []
    lo: list = []
    hi: list = []
    tail = np.array([a[0] for a in arcs], dtype=np.int64)
    head = np.array([a[1] for a in arcs], dtype=np.int64)
    arc_ids = np.arange(n_arcs)
    r = 0
    # conservation: out - in = supply
    for k, s in enumerate(sources):
        rows += [r + tail, r + head]
        cols += [k * n_arcs + arc_ids] * 2
        vals += [np.ones(n_arcs), -np.ones(n_arcs)]
        lo.append(supply[s])
        hi.append(supply[s])
        r += len(nodes)
    # link capacity (both directions, every commodity)
    n_e = len(edges)
    edge_of_arc = arc_ids % n_e if n_e else arc_ids
    for k in range(len(sources)):
        rows.append(r + edge_of_arc)
        cols.append(k * n_arcs + arc_ids)
        vals.append(np.ones(n_arcs))
    capacity = np.array([rate for _, _, rate, _ in edges], dtype=float)
    lo.append(np.full(n_e, -np.inf))
    hi.append(capacity)
    r += n_e
    # ... and on a satellite link, zero unless its candidate ground station is built: sum f - c y <= 0
    for e, (u, v, rate, data) in enumerate(edges):
        for n in (nodes[u], nodes[v]):
            if n in cpos and data.get("segment") == "satellite" and graph.nodes[n].get("role") == "ground_station":
                for k in range(len(sources)):
                    rows.append(np.array([r, r]))
                    cols.append(np.array([k * n_arcs + e, k * n_arcs + e + n_e]))
                    vals.append(np.ones(2))
                rows.append(np.array([r]))
                cols.append(np.array([n_f + cpos[n]]))
                vals.append(np.array([-rate]))
                lo.append(np.array([-np.inf]))
                hi.append(np.array([0.0]))
                r += 1
    rows_l, cols_l, vals_l = [np.concatenate(rows)], [np.concatenate(cols)], [np.concatenate(vals)]
    rows, cols, vals = [], [], []
    lo_l, hi_l = [np.concatenate(lo)], [np.concatenate(hi)]
    lo, hi = [], []
    # relay: outflow of node n != s needs n built (free if existing; never if not allowed)
    out_arcs: dict[int, list[int]] = {}
    for arc in range(n_arcs):
        out_arcs.setdefault(int(tail[arc]), []).append(arc)
    for k, s in enumerate(sources):
        total = float(supply[s][s])
        for n, arcs_out in out_arcs.items():
            name = nodes[n]
            if n == s or name in relay_free:
                continue
            rows += [r] * len(arcs_out)
            cols += [k * n_arcs + arc for arc in arcs_out]
            vals += [1.0] * len(arcs_out)
            if name in cpos:
                rows.append(r)
                cols.append(n_f + cpos[name])
                vals.append(-total)
            lo.append(-np.inf)
            hi.append(0.0)
            r += 1
    rows_l.append(np.array(rows, dtype=np.int64))
    cols_l.append(np.array(cols, dtype=np.int64))
    vals_l.append(np.array(vals, dtype=float))
    lo = np.concatenate(lo_l + [np.array(lo, dtype=float)])
    hi = np.concatenate(hi_l + [np.array(hi, dtype=float)])
    matrix = sparse.csr_array((np.concatenate(vals_l), (np.concatenate(rows_l), np.concatenate(cols_l))),
                              shape=(r, n_f + n_y))
    cost = np.concatenate([np.zeros(n_f), [float(candidate_cost[n]) for n in cand]])
    integrality = np.concatenate([np.zeros(n_f), np.ones(n_y)])
    options = {} if time_limit_s is None else {"time_limit": float(time_limit_s)}
    result = milp(cost, constraints=LinearConstraint(matrix, lo, hi), integrality=integrality,
                  bounds=Bounds(np.zeros(n_f + n_y), np.concatenate([np.full(n_f, np.inf), np.ones(n_y)])),
                  options=options)
    if result.x is None or result.status not in (0,):
        if result.status == 2:
            return Plan("infeasible", (), float("nan"), {})
        raise RuntimeError(f"planning MILP stopped: {result.message}")
    y = np.round(result.x[n_f:]).astype(bool)
    built = tuple(sorted((cand[i] for i in np.flatnonzero(y)), key=str))
    flows = result.x[:n_f].reshape(len(sources), n_arcs)
    forwarded = np.zeros(len(nodes))
    for k, s in enumerate(sources):
        out = np.bincount(tail, weights=flows[k], minlength=len(nodes))
        out[s] = 0.0  # a source sends its own key: that is not relaying
        forwarded += out
    relayed = {nodes[i]: float(forwarded[i]) for i in np.flatnonzero(forwarded > 1e-9)}
    return Plan("optimal", built, float(sum(candidate_cost[n] for n in built)), relayed)
