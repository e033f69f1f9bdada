"""Trusted-node insertion: cut fibre links longer than the QKD reach.

A fibre link of length ``L`` longer than the reach ``r`` of the QKD devices
becomes a chain of ``n = ceil(L / r)`` equal spans of ``L / n`` through
``n - 1`` inserted trusted nodes, placed evenly along the great circle
between the link's ends (the deployed fibre is assumed to follow the great
circle in proportion, whatever its route factor). Links within reach, and
satellite links, are left as they are.

Real intermediate sites are preferred without any special rule: only links
that are themselves too long are cut, so where the real topology already
offers a chain of short hops through real sites, those hops keep their own
(high) key rates, and widest-path routing
(:func:`qnetemu.network.routing.best_key_rate_path`) chooses them over a
long link cut into inserted spans whenever they give a higher bottleneck
rate. Inserted nodes are therefore only used where the real topology has no
better way round.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from qnetemu.geo import intermediate_points
from qnetemu.network.graph import set_fibre_derived

#: Edge attributes that describe a link's key production and must be
#: recomputed after a split rather than copied onto the spans.
_STALE_KEYS = ("key_rate_bps", "qber", "loss_db", "latency_s")


def inserted_node_name(link_name: str, index: int) -> str:
    """Name of the ``index``-th (1-based, from the link's ``a`` end) inserted node."""
    return f"TN {link_name} {index}"


def span_count(length_km: float, reach_km: float) -> float:
    """Spans a link of ``length_km`` is cut into so that none is longer than ``reach_km``.

    ``ceil(length_km / reach_km)`` (at least 1), an integer-valued count;
    infinity when the ratio overflows (``1e308 / 1e-6``), so a caller can
    compare it with a limit before allocating anything.
    """
    ratio = length_km / reach_km
    if not math.isfinite(ratio):
        return math.inf
    n_spans = math.ceil(ratio)
    # ceil of a ratio a hair above an integer (floating point) must not
    # add a needless node: L = 200.00000000001 with reach 100 is 2 spans.
    if math.isclose(ratio, n_spans - 1, rel_tol=1e-12):
        n_spans -= 1
    return max(n_spans, 1)


def inserted_node_count(graph: nx.Graph, reach_km: float, *, split_submarine: bool = True) -> float:
    """Trusted nodes :func:`split_long_spans` would insert, counted without inserting them."""
    return sum(
        span_count(d["length_km"], reach_km) - 1
        for _, _, d in graph.edges(data=True)
        if d.get("segment") == "fibre" and (split_submarine or d.get("cable") != "submarine")
    )


def split_long_spans(
    graph: nx.Graph, reach_km: float, *, split_submarine: bool = True
) -> tuple[nx.Graph, list[dict]]:
    """Insert trusted nodes into fibre links longer than the reach.

    Parameters
    ----------
    graph : networkx.Graph
        Graph from :func:`qnetemu.network.graph.build_graph`. Not modified.
    reach_km : float
        Longest fibre span the QKD devices can bridge. [km]
    split_submarine : bool, optional
        When False, links with ``cable == "submarine"`` are left whole: a
        trusted node cannot sit on the sea floor, so such a link carries key
        only if one QKD link bridges it.

    Returns
    -------
    new_graph : networkx.Graph
        A copy in which every fibre edge with ``length_km > reach_km`` is
        replaced by ``n = ceil(length_km / reach_km)`` spans of
        ``length_km / n`` each. Spans keep the link's attenuation and other
        attributes, carry ``link_id = "<link_id>/<k>"`` (k = 1..n from the
        ``a`` end) and ``split_from = <link_id>``. Each span keeps the link's
        full ``extra_loss_db``: those lumped losses (receiver optics,
        multiplexers, connectors at the terminals) belong to a QKD link's
        ends, and every span is a QKD link with its own pair of terminals.
        Key rates are not copied: assign them after splitting.
    report : list of dict
        One record per inserted node, in insertion order: ``name``,
        ``lat_deg``, ``lon_deg``, ``link_id`` (the link it was cut into),
        ``index`` (1-based from the ``a`` end), ``spans`` (n) and
        ``span_length_km``.

    Raises
    ------
    ValueError
        If ``reach_km`` is not a positive finite number, or an inserted
        node's name is already taken.

    Notes
    -----
    Names are deterministic: ``"TN <a>–<b> <k>"``, using the link's
    ``link_id`` (by default ``"<a>–<b>"``), e.g. ``"TN Bucharest–Constanța 1"``.
    """
    reach_km = float(reach_km)
    if not (math.isfinite(reach_km) and reach_km > 0.0):
        raise ValueError(f"reach_km must be a positive finite number, got {reach_km!r}")
    new_graph = graph.copy()
    report: list[dict] = []
    new_spans: list[tuple] = []
    for u, v, data in list(graph.edges(data=True)):
        if data.get("segment") != "fibre" or not data["length_km"] > reach_km:
            continue
        if not split_submarine and data.get("cable") == "submarine":
            continue
        a, b = data.get("ends", (u, v))
        n_spans = span_count(data["length_km"], reach_km)
        if n_spans < 2:
            continue
        link_id = data["link_id"]
        lats, lons = intermediate_points(
            graph.nodes[a]["lat_deg"],
            graph.nodes[a]["lon_deg"],
            graph.nodes[b]["lat_deg"],
            graph.nodes[b]["lon_deg"],
            n_spans - 1,
        )
        lats = np.atleast_1d(np.asarray(lats, dtype=float))
        lons = np.atleast_1d(np.asarray(lons, dtype=float))
        span_length_km = data["length_km"] / n_spans
        chain = [a]
        for k in range(1, n_spans):
            name = inserted_node_name(link_id, k)
            if name in new_graph:
                raise ValueError(f"cannot insert trusted node {name!r}: the name is taken")
            new_graph.add_node(
                name,
                lat_deg=float(lats[k - 1]),
                lon_deg=float(lons[k - 1]),
                role="trusted_node",
                inserted=True,
                split_from=link_id,
            )
            chain.append(name)
            report.append(
                {
                    "name": name,
                    "lat_deg": float(lats[k - 1]),
                    "lon_deg": float(lons[k - 1]),
                    "link_id": link_id,
                    "index": k,
                    "spans": n_spans,
                    "span_length_km": span_length_km,
                }
            )
        chain.append(b)
        new_graph.remove_edge(u, v)
        base = {k: val for k, val in data.items() if k not in _STALE_KEYS}
        for k, (x, y) in enumerate(zip(chain[:-1], chain[1:], strict=True), start=1):
            span = dict(base)
            span.update(
                length_km=span_length_km,
                link_id=f"{link_id}/{k}",
                split_from=link_id,
                ends=(x, y),
            )
            new_spans.append((x, y, span))
    set_fibre_derived([span for _, _, span in new_spans])
    new_graph.add_edges_from(new_spans)
    return new_graph, report
