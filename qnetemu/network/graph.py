"""The trusted-node network as a :class:`networkx.Graph`.

Nodes are sites, named by their ``name``, with attributes ``lat_deg``,
``lon_deg``, ``role`` (``"endpoint"``, ``"trusted_node"``,
``"ground_station"``, or ``"junction"`` for a point a cable passes where no
equipment stands), ``inserted`` (True only for trusted nodes that
:func:`qnetemu.network.splitting.split_long_spans` created) and ``is_site``
(False for junctions: sea-cable branching units and the like).
:func:`qnetemu.network.trust.set_relay_permissions` adds ``country`` and
``can_relay`` (whether key may be relayed there).

Edges are links, with attributes ``length_km``, ``attenuation_db_per_km``,
``extra_loss_db``, ``segment`` (``"fibre"`` or ``"satellite"``),
``loss_db``, ``latency_s``, ``link_id`` (a stable string), ``ends`` (the
link's declared ``(a, b)`` orientation, which a :class:`networkx.Graph` does
not keep) and optionally ``waypoints`` (``[[lat_deg, lon_deg], ...]``, the
bends of a cable from ``a`` to ``b``). :func:`assign_fibre_key_rates` adds ``key_rate_bps`` (secret-key
bits per second the link produces) and ``qber``. Satellite edges are added by
other layers with their own ``key_rate_bps`` and ``latency_s``; routing and
allocation look only at ``key_rate_bps``.

This module does not parse files and does not hard-wire a QKD formula: the
caller passes the key-rate function.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import networkx as nx
import numpy as np

from qnetemu.geo import great_circle_distance_km, polyline_length_km
from qnetemu.physics.fibre import db_to_transmittance, fibre_delay_s, fibre_loss_db

ROLES = ("endpoint", "trusted_node", "ground_station", "junction")
SEGMENTS = ("fibre", "satellite")

#: Attenuation of standard single-mode fibre at 1550 nm used when a link does
#: not give one [dB/km] (ITU-T G.652.D cabled fibre is specified at <= 0.35,
#: installed SMF-28 measures 0.18-0.22; QKD studies commonly take 0.2, e.g.
#: Pirandola et al., Adv. Opt. Photon. 12, 1012 (2020), doi:10.1364/AOP.361502).
DEFAULT_ATTENUATION_DB_PER_KM = 0.2
#: Ratio of deployed fibre length to great-circle distance when a link gives
#: neither a length nor a factor. 1.0 means "as the crow flies": a lower bound.
DEFAULT_ROUTE_FACTOR = 1.0

_LINK_KEYS = {
    "a",
    "b",
    "length_km",
    "route_factor",
    "attenuation_db_per_km",
    "extra_loss_db",
    "link_id",
}


def _finite(value: object, what: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return number


def set_fibre_derived(edges: list[dict]) -> None:
    """Fill ``loss_db`` [dB] and ``latency_s`` [s] of fibre edges' attribute dicts.

    One vectorised call of :func:`qnetemu.physics.fibre.fibre_loss_db`
    (``alpha * L + extra``) and :func:`qnetemu.physics.fibre.fibre_delay_s`
    (group index of SMF-28) for all of them.
    """
    if not edges:
        return
    length_km = np.array([d["length_km"] for d in edges], dtype=float)
    loss_db = np.atleast_1d(
        fibre_loss_db(
            length_km,
            np.array([d["attenuation_db_per_km"] for d in edges], dtype=float),
            np.array([d["extra_loss_db"] for d in edges], dtype=float),
        )
    )
    latency_s = np.atleast_1d(fibre_delay_s(length_km))
    for data, loss, latency in zip(edges, loss_db.tolist(), latency_s.tolist(), strict=True):
        data["loss_db"] = loss
        data["latency_s"] = latency


def build_graph(sites: list[dict], links: list[dict]) -> nx.Graph:
    """Build the network graph from site and link records.

    Parameters
    ----------
    sites : list of dict
        Each with ``name`` (unique), ``lat_deg`` [deg, -90..90], ``lon_deg``
        [deg, -180..180] and optionally ``role`` (default ``"endpoint"``),
        ``inserted`` and ``is_site`` (default False and True). Other keys
        are kept as node attributes.
    links : list of dict
        Each with ``a`` and ``b`` (site names) and optionally ``length_km``
        [km] (``None`` or absent: derived from the coordinates),
        ``route_factor`` (deployed length over great-circle distance, >= 1,
        default :data:`DEFAULT_ROUTE_FACTOR`), ``attenuation_db_per_km``
        [dB/km] (default :data:`DEFAULT_ATTENUATION_DB_PER_KM`),
        ``extra_loss_db`` [dB] (default 0) and ``link_id`` (default
        ``"a–b"``) and ``waypoints`` (``[[lat_deg, lon_deg], ...]``: the
        cable bends there on its way from ``a`` to ``b``). Other keys are
        kept as edge attributes.

    Returns
    -------
    networkx.Graph
        Nodes and fibre edges with the attributes described in the module
        docstring; ``loss_db`` and ``latency_s`` are filled in.

    Raises
    ------
    ValueError
        Duplicate site names or link ids, unknown link endpoints, self-loops,
        two links between the same pair of sites, or invalid numbers.

    Notes
    -----
    A missing length is ``great_circle_distance_km * route_factor``: the
    route factor accounts for fibre following roads and rails rather than the
    great circle (typical values 1.2-1.6 for terrestrial backbones). A link
    with waypoints is measured along them (great-circle arcs from ``a``
    through each waypoint to ``b``), times the route factor.
    """
    graph = nx.Graph()
    for index, site in enumerate(sites):
        where = f"sites[{index}]"
        if "name" not in site:
            raise ValueError(f"{where}: missing 'name'")
        name = site["name"]
        if name in graph:
            raise ValueError(f"{where}: duplicate site name {name!r}")
        lat_deg = _finite(site.get("lat_deg"), f"{where}.lat_deg")
        lon_deg = _finite(site.get("lon_deg"), f"{where}.lon_deg")
        if not -90.0 <= lat_deg <= 90.0:
            raise ValueError(f"{where}.lat_deg must lie in [-90, 90], got {lat_deg}")
        if not -180.0 <= lon_deg <= 180.0:
            raise ValueError(f"{where}.lon_deg must lie in [-180, 180], got {lon_deg}")
        role = site.get("role", "endpoint")
        if role not in ROLES:
            raise ValueError(f"{where}.role must be one of {ROLES}, got {role!r}")
        extra = {k: v for k, v in site.items()
                 if k not in {"name", "lat_deg", "lon_deg", "role", "inserted", "is_site"}}
        graph.add_node(
            name,
            **extra,
            lat_deg=lat_deg,
            lon_deg=lon_deg,
            role=role,
            inserted=bool(site.get("inserted", False)),
            is_site=bool(site.get("is_site", True)),
        )

    link_ids: set[str] = set()
    pairs: set[frozenset] = set()
    records: list[tuple[str, str, dict]] = []
    for index, link in enumerate(links):
        where = f"links[{index}]"
        a, b = link.get("a"), link.get("b")
        for end, key in ((a, "a"), (b, "b")):
            if end not in graph:
                raise ValueError(f"{where}.{key}: unknown site {end!r}")
        if a == b:
            raise ValueError(f"{where}: link joins {a!r} to itself")
        if frozenset((a, b)) in pairs:
            raise ValueError(f"{where}: a second link between {a!r} and {b!r}")
        pairs.add(frozenset((a, b)))
        link_id = str(link.get("link_id") or f"{a}–{b}")
        if link_id in link_ids:
            raise ValueError(f"{where}.link_id: duplicate link id {link_id!r}")
        link_ids.add(link_id)

        route_factor = link.get("route_factor")
        route_factor = _finite(
            DEFAULT_ROUTE_FACTOR if route_factor is None else route_factor,
            f"{where}.route_factor",
        )
        if route_factor < 1.0:
            raise ValueError(
                f"{where}.route_factor must be >= 1 (fibre is never shorter than the "
                f"great circle), got {route_factor}"
            )
        length_km = link.get("length_km")
        if length_km is not None:
            length_km = _finite(length_km, f"{where}.length_km")
        attenuation = link.get("attenuation_db_per_km")
        attenuation = _finite(
            DEFAULT_ATTENUATION_DB_PER_KM if attenuation is None else attenuation,
            f"{where}.attenuation_db_per_km",
        )
        extra_loss_db = link.get("extra_loss_db")
        extra_loss_db = _finite(
            0.0 if extra_loss_db is None else extra_loss_db, f"{where}.extra_loss_db"
        )
        if attenuation < 0.0 or extra_loss_db < 0.0:
            raise ValueError(f"{where}: attenuation and extra loss must be >= 0")
        data = {k: v for k, v in link.items() if k not in _LINK_KEYS}
        data.update(
            length_km=length_km,
            route_factor=route_factor,
            attenuation_db_per_km=attenuation,
            extra_loss_db=extra_loss_db,
            segment="fibre",
            link_id=link_id,
            ends=(a, b),
        )
        records.append((a, b, data))

    # Missing lengths: one vectorised great-circle call for all of them.
    derive = [i for i, (_, _, d) in enumerate(records) if d["length_km"] is None]
    if derive:
        nodes = graph.nodes
        ends = [(nodes[records[i][0]], nodes[records[i][1]]) for i in derive]
        distance_km = np.atleast_1d(
            great_circle_distance_km(
                np.array([p["lat_deg"] for p, _ in ends]),
                np.array([p["lon_deg"] for p, _ in ends]),
                np.array([q["lat_deg"] for _, q in ends]),
                np.array([q["lon_deg"] for _, q in ends]),
            )
        )
        for i, distance in zip(derive, distance_km.tolist(), strict=True):
            waypoints = records[i][2].get("waypoints")
            if waypoints:  # a cable with bends: along them (few links, so not vectorised)
                a, b = nodes[records[i][0]], nodes[records[i][1]]
                distance = polyline_length_km(
                    [a["lat_deg"], *(float(p[0]) for p in waypoints), b["lat_deg"]],
                    [a["lon_deg"], *(float(p[1]) for p in waypoints), b["lon_deg"]],
                )
            records[i][2]["length_km"] = records[i][2]["route_factor"] * distance
    for index, (_, _, data) in enumerate(records):
        if not data["length_km"] > 0.0:
            raise ValueError(
                f"links[{index}].length_km must be > 0, got {data['length_km']} "
                "(sites at the same place?)"
            )
    set_fibre_derived([data for _, _, data in records])
    graph.add_edges_from(records)
    return graph


def fibre_edges(graph: nx.Graph) -> list[tuple[str, str, dict]]:
    """The graph's fibre edges as ``(u, v, data)`` in the graph's edge order."""
    return [(u, v, d) for u, v, d in graph.edges(data=True) if d.get("segment") == "fibre"]


def assign_fibre_key_rates(
    graph: nx.Graph,
    key_rate_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    *,
    max_loss_db: float | None = None,
    edges: list[tuple] | None = None,
) -> None:
    """Set ``transmittance``, ``key_rate_bps`` and ``qber`` on every fibre edge, in place.

    Parameters
    ----------
    graph : networkx.Graph
        Graph from :func:`build_graph` (possibly split).
    key_rate_fn : callable
        ``key_rate_fn(transmittance) -> (key_rate_bps, qber)``, vectorised:
        it receives the channel transmittance ``10**(-loss_db / 10)`` of all
        fibre edges as one array and returns two arrays of the same shape
        (secret-key rate [bit/s] and quantum bit error rate). It is called
        once.
    max_loss_db : float, optional
        Links whose loss exceeds this [dB] get ``key_rate_bps = 0`` (e.g. the
        loss budget the QKD devices are specified for).
    edges : list of (u, v, data), optional
        Only these fibre edges (e.g. those sharing one QKD device model);
        default all fibre edges of the graph.

    Raises
    ------
    ValueError
        If ``key_rate_fn`` returns arrays of the wrong shape, or negative or
        non-finite rates.
    """
    edges = fibre_edges(graph) if edges is None else edges
    if not edges:
        return
    loss_db = np.array([d["loss_db"] for _, _, d in edges], dtype=float)
    transmittance = np.asarray(db_to_transmittance(loss_db), dtype=float)
    rate_bps, qber = key_rate_fn(transmittance)
    rate_bps = np.asarray(rate_bps, dtype=float)
    qber = np.asarray(qber, dtype=float)
    for what, values in (("key_rate_bps", rate_bps), ("qber", qber)):
        if values.shape != transmittance.shape:
            raise ValueError(
                f"key_rate_fn returned {what} of shape {values.shape}, "
                f"expected {transmittance.shape}"
            )
    if not np.all(np.isfinite(rate_bps)) or np.any(rate_bps < 0.0):
        raise ValueError("key_rate_fn returned a negative or non-finite key rate")
    if max_loss_db is not None:
        rate_bps = np.where(loss_db > float(max_loss_db), 0.0, rate_bps)
    for (_, _, data), rate, error, t in zip(edges, rate_bps, qber, transmittance, strict=True):
        data["transmittance"] = float(t)
        data["key_rate_bps"] = float(rate)
        data["qber"] = float(error)


def link_key(u, v) -> frozenset:
    """The key a link has in capacity and utilisation dicts: ``frozenset({u, v})``."""
    return frozenset((u, v))


def link_capacities_bps(graph: nx.Graph) -> dict[frozenset, float]:
    """Every edge's ``key_rate_bps`` keyed by :func:`link_key` (edges without one: 0)."""
    return {link_key(u, v): float(d.get("key_rate_bps", 0.0)) for u, v, d in graph.edges(data=True)}


def nearest_nodes(graph: nx.Graph, lat_deg: Iterable[float], lon_deg: Iterable[float]) -> list:
    """The node nearest (great circle) to each given point.

    Parameters
    ----------
    graph : networkx.Graph
        Graph whose nodes carry ``lat_deg`` and ``lon_deg``.
    lat_deg, lon_deg : iterable of float
        Points. [deg]

    Returns
    -------
    list
        One node name per point.
    """
    names = list(graph.nodes)
    if not names:
        raise ValueError("the graph has no nodes")
    node_lat = np.array([graph.nodes[n]["lat_deg"] for n in names], dtype=float)
    node_lon = np.array([graph.nodes[n]["lon_deg"] for n in names], dtype=float)
    result = []
    for lat, lon in zip(lat_deg, lon_deg, strict=True):
        distance_km = np.asarray(great_circle_distance_km(lat, lon, node_lat, node_lon))
        result.append(names[int(np.argmin(distance_km))])
    return result
