"""Trusted-node insertion: cut fibre links longer than the QKD reach.

A fibre link of length ``L`` longer than the reach ``r`` of the QKD devices
becomes a chain of ``n = ceil(L / r)`` equal spans of ``L / n`` through
``n - 1`` inserted trusted nodes, placed evenly along the link's route: the
great circle between its ends, or the arcs through its ``waypoints`` (the
deployed fibre is assumed to follow the route in proportion, whatever its
route factor). Links within reach, and satellite links, are left as they
are.

A trusted node is a building with guards, so it stands on land. Given a
land test (``on_land``, e.g. :func:`qnetemu.geodata.is_land`), a link whose
evenly spaced points are not all on land gets its nodes at the fewest points
on land instead, each span within reach (greedy, farthest reachable land
point first, which is optimal for the count; points are tried every
:data:`LAND_SAMPLE_KM` of route), and a link whose route crosses more open
water than one span covers is left whole: it carries key only if one QKD
link bridges it.

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

from qnetemu.geo import points_along, polyline_length_km
from qnetemu.network.graph import set_fibre_derived

#: Edge attributes that describe a link's key production and must be
#: recomputed after a split rather than copied onto the spans.
_STALE_KEYS = ("key_rate_bps", "qber", "loss_db", "latency_s")


def inserted_node_name(link_name: str, index: int) -> str:
    """Name of the ``index``-th (1-based, from the link's ``a`` end) inserted node."""
    return f"TN {link_name} {index}"


#: Spacing of the candidate points along a route where the even placement
#: would put a trusted node at sea [km of great circle].
LAND_SAMPLE_KM = 1.0

#: Land tests of sampled routes, by route geometry and sample count: sweeps
#: rebuild the same network for every point.
_LAND_CACHE: dict[tuple, np.ndarray] = {}
_LAND_CACHE_MAX = 20_000


def _route(graph: nx.Graph, a, b, data: dict) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a link's route from ``a`` to ``b``: its ends and any waypoints between."""
    bends = data.get("waypoints") or []
    lats = [graph.nodes[a]["lat_deg"], *(float(p[0]) for p in bends), graph.nodes[b]["lat_deg"]]
    lons = [graph.nodes[a]["lon_deg"], *(float(p[1]) for p in bends), graph.nodes[b]["lon_deg"]]
    return np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)


def _land_mask(on_land, routes: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """``on_land`` at ``fractions`` of each ``(lats, lons, fractions)`` route, in one call (cached by geometry)."""
    # The function itself (not its id, which a new function may reuse) is part of the key.
    keys = [(tuple(la.tolist()), tuple(lo.tolist()), tuple(f.tolist()), on_land) for la, lo, f in routes]
    todo = [i for i, k in enumerate(keys) if k not in _LAND_CACHE]
    if todo:
        points = [points_along(*routes[i]) for i in todo]
        mask = np.asarray(on_land(np.concatenate([p[0] for p in points]), np.concatenate([p[1] for p in points])),
                          dtype=bool)
        if len(_LAND_CACHE) > _LAND_CACHE_MAX:
            _LAND_CACHE.clear()
        offset = 0
        for i, (lats, _) in zip(todo, points, strict=True):
            _LAND_CACHE[keys[i]] = mask[offset: offset + lats.size]
            offset += lats.size
    return [_LAND_CACHE[k] for k in keys]


def _greedy_land_fractions(fractions: np.ndarray, land: np.ndarray, reach_fraction: float) -> list[float] | None:
    """Fewest interior points, on land, with consecutive gaps of at most ``reach_fraction``.

    ``fractions`` are sorted candidate positions in [0, 1] including both
    ends (which count as land: they are sites); None when no such points exist.
    """
    allowed = fractions[land | (fractions == 0.0) | (fractions == 1.0)]
    chosen: list[float] = []
    position = 0.0
    while 1.0 - position > reach_fraction * (1.0 + 1e-12):
        k = int(np.searchsorted(allowed, position + reach_fraction * (1.0 + 1e-12), side="right")) - 1
        if k < 0 or allowed[k] <= position:
            return None
        position = float(allowed[k])
        chosen.append(position)
    return chosen


def split_long_spans(
    graph: nx.Graph, reach_km: float, *, split_submarine: bool = True, on_land=None
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
    on_land : callable, optional
        ``on_land(lat_deg, lon_deg) -> bool array``, vectorised (e.g.
        :func:`qnetemu.geodata.is_land`). When given, inserted trusted nodes
        stand only where it is True (see the module docstring); when None,
        anywhere on the route.

    Returns
    -------
    new_graph : networkx.Graph
        A copy in which every fibre edge with ``length_km > reach_km`` is
        replaced by ``n = ceil(length_km / reach_km)`` spans of
        ``length_km / n`` each (other lengths where land decides, every one
        within reach). Spans keep the link's attenuation and other
        attributes, carry ``link_id = "<link_id>/<k>"`` (k = 1..n from the
        ``a`` end) and ``split_from = <link_id>``. Each span keeps the link's
        full ``extra_loss_db``: those lumped losses (receiver optics,
        multiplexers, connectors at the terminals) belong to a QKD link's
        ends, and every span is a QKD link with its own pair of terminals.
        Key rates are not copied: assign them after splitting. A link that
        cannot be split on land keeps ``unsplit = "open water"``.
    report : list of dict
        One record per inserted node, in insertion order: ``name``,
        ``lat_deg``, ``lon_deg``, ``link_id`` (the link it was cut into),
        ``index`` (1-based from the ``a`` end), ``spans`` (n) and
        ``span_length_km`` (of the span that ends at this node, from the
        ``a`` side).

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
    # Links to cut, with the fractions of their route where nodes go (evenly spaced first).
    plans: list[tuple] = []
    for u, v, data in graph.edges(data=True):
        if data.get("segment") != "fibre" or not data["length_km"] > reach_km:
            continue
        if not split_submarine and data.get("cable") == "submarine":
            continue
        a, b = data.get("ends", (u, v))
        n_spans = math.ceil(data["length_km"] / reach_km)
        # ceil of a ratio a hair above an integer (floating point) must not
        # add a needless node: L = 200.00000000001 with reach 100 is 2 spans.
        if math.isclose(data["length_km"] / reach_km, n_spans - 1, rel_tol=1e-12):
            n_spans -= 1
        if n_spans < 2:
            continue
        lats, lons = _route(graph, a, b, data)
        plans.append([u, v, a, b, data, lats, lons, np.arange(1, n_spans) / n_spans])
    if on_land is not None and plans:
        even = _land_mask(on_land, [(p[5], p[6], p[7]) for p in plans])
        at_sea = [p for p, land in zip(plans, even, strict=True) if not land.all()]
        samples = []
        for p in at_sea:
            n_samples = max(2, math.ceil(polyline_length_km(p[5], p[6]) / LAND_SAMPLE_KM))
            samples.append(np.linspace(0.0, 1.0, n_samples + 1))
        masks = _land_mask(on_land, [(p[5], p[6], f) for p, f in zip(at_sea, samples, strict=True)])
        for p, fractions, land in zip(at_sea, samples, masks, strict=True):
            chosen = _greedy_land_fractions(fractions, land, reach_km / p[4]["length_km"])
            p[7] = None if chosen is None else np.asarray(chosen)

    new_graph = graph.copy()
    report: list[dict] = []
    new_spans: list[tuple] = []
    for u, v, a, b, data, lats, lons, fractions in plans:
        if fractions is None:
            new_graph.edges[u, v]["unsplit"] = "open water"
            continue
        link_id = data["link_id"]
        n_spans = fractions.size + 1
        node_lats, node_lons = points_along(lats, lons, fractions)
        bounds = np.concatenate([[0.0], fractions, [1.0]])
        span_km = (np.diff(bounds) * data["length_km"]).tolist()
        chain = [a]
        for k in range(1, n_spans):
            name = inserted_node_name(link_id, k)
            if name in new_graph:
                raise ValueError(f"cannot insert trusted node {name!r}: the name is taken")
            new_graph.add_node(
                name,
                lat_deg=float(node_lats[k - 1]),
                lon_deg=float(node_lons[k - 1]),
                role="trusted_node",
                inserted=True,
                is_site=True,
                split_from=link_id,
            )
            chain.append(name)
            report.append(
                {
                    "name": name,
                    "lat_deg": float(node_lats[k - 1]),
                    "lon_deg": float(node_lons[k - 1]),
                    "link_id": link_id,
                    "index": k,
                    "spans": n_spans,
                    "span_length_km": span_km[k - 1],
                }
            )
        chain.append(b)
        new_graph.remove_edge(u, v)
        base = {k: val for k, val in data.items() if k not in _STALE_KEYS}
        base.pop("waypoints", None)  # each span is drawn and measured as its own arc
        for k, (x, y) in enumerate(zip(chain[:-1], chain[1:], strict=True), start=1):
            span = dict(base)
            span.update(
                length_km=span_km[k - 1],
                link_id=f"{link_id}/{k}",
                split_from=link_id,
                ends=(x, y),
            )
            new_spans.append((x, y, span))
    set_fibre_derived([span for _, _, span in new_spans])
    new_graph.add_edges_from(new_spans)
    return new_graph, report
