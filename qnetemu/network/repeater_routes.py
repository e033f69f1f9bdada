"""Repeater-chain routes: the physical fibre a chain runs on, and where its stations can stand.

A quantum repeater holds no key. It stores and swaps entangled pairs, and
the key is distilled only at the chain's two ends (BBM92 on the delivered
pairs), so no station of the chain ever sees key in the clear. The trust
policy (:mod:`qnetemu.network.trust`, which bars nodes from *relaying key*:
untrusted countries, points at sea) therefore does not apply to repeater
chains, and they are routed on the physical fibre graph alone:

* the physical fibre graph is every fibre edge that is a real span (the
  pieces of a link cut by inserted trusted nodes included, optical-bypass
  links of the QKD overlay and satellite links left out);
* a demand's chain takes the route that minimises the mean attempts to
  herald each of its elementary links once (:func:`section_cost`,
  :func:`repeater_routes`): on land the least-loss route, with a sea
  crossing no station can split weighed by its loss against a way round;
  every node is allowed in transit whatever its ``can_relay``.

Where repeater stations (memories and swaps) can stand. Equipment needs a
site on land: a node with ``is_site`` (not a sea-cable junction or
branching unit) that is not an inserted trusted node (inserted nodes were
placed only because one QKD link cannot reach further). The route is cut
at those nodes into :class:`FibreSection` s. A section with any piece at
sea (``cable == "submarine"``, junctions at sea included, or a link that
trusted-node insertion found to cross more open water than one QKD span,
``unsplit == "open water"``) is one elementary link from landing point to
landing point: no station stands at sea. The others are cut evenly into elementary links no longer than the
spacing (:func:`elementary_links`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from qnetemu.network.station_land import LandStations

#: Weight of one km of fibre in the route search, added to its loss in dB:
#: it breaks ties between equal-loss routes toward the shorter one and keeps
#: every edge weight positive (sparse graph code drops zero weights).
_LENGTH_TIE_BREAK_PER_KM = 1e-9


@dataclass(frozen=True)
class FibreSection:
    """Fibre between two consecutive candidate stations of a route.

    Attributes
    ----------
    length_km : float
        Fibre length of the section. [km]
    loss_db : float
        Its fibre loss, sum of ``length_km * attenuation_db_per_km`` of its pieces. [dB]
    submarine : bool
        Whether any piece runs at sea (:func:`at_sea`): no station may be put inside it.
    """

    length_km: float
    loss_db: float
    submarine: bool


@dataclass(frozen=True)
class RepeaterRoute:
    """A repeater chain's physical fibre route.

    Attributes
    ----------
    nodes : tuple of str
        Every fibre node from one end to the other (inserted trusted nodes
        and junctions included), as the fibre graph names them.
    section_ends : tuple of str
        The route's candidate stations in order: both ends and every
        intermediate site where equipment can stand; ``len(sections) + 1``.
    sections : tuple of FibreSection
        The fibre between consecutive ``section_ends``.
    """

    nodes: tuple[str, ...]
    section_ends: tuple[str, ...]
    sections: tuple[FibreSection, ...]

    @property
    def length_km(self) -> float:
        return float(sum(s.length_km for s in self.sections))

    @property
    def attenuation_db_per_km(self) -> float:
        """Length-weighted mean attenuation of the whole route [dB/km]."""
        return float(sum(s.loss_db for s in self.sections)) / self.length_km


def fibre_graph(graph: nx.Graph) -> nx.Graph:
    """The physical fibre spans of ``graph`` (a view): no satellite, no optical-bypass edges."""
    adj = graph._adj  # the raw dict of dicts: the filter runs for every edge of every traversal
    return nx.subgraph_view(
        graph, filter_edge=lambda u, v: adj[u][v].get("segment", "fibre") == "fibre" and "fibre_path" not in adj[u][v])


def at_sea(data: dict) -> bool:
    """Whether a fibre edge runs at sea: a submarine cable, or a link found to cross open water."""
    return data.get("cable") == "submarine" or data.get("unsplit") == "open water"


def station_allowed(data: dict) -> bool:
    """Whether a repeater station may stand at a node with attributes ``data`` (a site on land, not inserted)."""
    return bool(data.get("is_site", True)) and not data.get("inserted", False)


def route_from_path(graph: nx.Graph, path: Sequence) -> RepeaterRoute:
    """Cut a fibre path of ``graph`` into sections at the nodes where stations may stand.

    Examples
    --------
    >>> g = nx.Graph()
    >>> g.add_node("W", is_site=False)
    >>> g.add_edge("A", "W", length_km=100.0, attenuation_db_per_km=0.2, cable="submarine")
    >>> g.add_edge("W", "B", length_km=50.0, attenuation_db_per_km=0.2, cable="submarine")
    >>> g.add_edge("B", "C", length_km=60.0, attenuation_db_per_km=0.2)
    >>> r = route_from_path(g, ["A", "W", "B", "C"])
    >>> r.section_ends, [s.length_km for s in r.sections], [s.submarine for s in r.sections]
    (('A', 'B', 'C'), [150.0, 60.0], [True, False])
    """
    path = list(path)
    ends, sections = [path[0]], []
    length = loss = 0.0
    submarine = False
    for k, (u, v) in enumerate(zip(path[:-1], path[1:], strict=True)):
        d = graph.edges[u, v]
        length += d["length_km"]
        loss += d["length_km"] * d["attenuation_db_per_km"]
        submarine |= at_sea(d)
        if k == len(path) - 2 or station_allowed(graph.nodes[v]):
            ends.append(v)
            sections.append(FibreSection(length_km=length, loss_db=loss, submarine=submarine))
            length = loss = 0.0
            submarine = False
    return RepeaterRoute(nodes=tuple(path), section_ends=tuple(ends), sections=tuple(sections))


def _sections(fibre: nx.Graph, stations: set) -> list[tuple]:
    """Every section of the fibre: ``(u, v, length_km, loss_db, submarine, nodes)`` between two stations.

    A section is a station-to-station fibre edge, or the least-loss way from
    one station to another through nodes that hold no station (an inserted
    trusted node's chain, a junction cluster at sea), passing no third
    station; of parallel sections only the least-loss one is kept.
    """
    out: dict[frozenset, tuple] = {}

    def keep(u, v, length, loss, submarine, nodes):
        key = frozenset((u, v))
        if key not in out or loss < out[key][3]:
            out[key] = (u, v, length, loss, submarine, tuple(nodes))

    for u, v, d in fibre.edges(data=True):
        if u in stations and v in stations:
            keep(u, v, d["length_km"], d["length_km"] * d["attenuation_db_per_km"], at_sea(d),
                 (u, v))
    others = fibre.subgraph([n for n in fibre if n not in stations])
    for component in nx.connected_components(others):
        boundary = sorted({m for n in component for m in fibre[n] if m in stations}, key=str)
        inside = component | set(boundary)
        for source in boundary:
            # Paths leave `source`, run through the component, and end at the first station reached.
            def weight(u, v, d, source=source, inside=inside):
                if (u in stations and u != source) or v not in inside or (u in stations and v in stations):
                    return None
                return d["length_km"] * (d["attenuation_db_per_km"] + _LENGTH_TIE_BREAK_PER_KM)

            _, paths = nx.single_source_dijkstra(fibre, source, weight=weight)
            for target in boundary:
                if target == source or target not in paths or str(target) < str(source):
                    continue
                nodes = paths[target]
                hops = [fibre.edges[x, y] for x, y in zip(nodes[:-1], nodes[1:], strict=True)]
                keep(source, target, sum(h["length_km"] for h in hops),
                     sum(h["length_km"] * h["attenuation_db_per_km"] for h in hops),
                     any(at_sea(h) for h in hops), nodes)
    return list(out.values())


#: Largest cost one section adds to a route search: keeps sums of many finite.
_MAX_SECTION_COST = 1e290


def section_cost(length_km: float, loss_db: float, submarine: bool, spacing_km: float) -> float:
    """Expected attempts to herald every elementary link of a section once, up to a hardware constant.

    The section is cut into ``n`` elementary links (``n = 1`` at sea, else
    ``ceil(length_km / spacing_km)``), each of loss ``loss_db / n``. A link
    heralds a pair per attempt with probability ``p = c * 10**(-loss / 10)``:
    with the Bell-state measurement in the middle each photon crosses half
    the loss, so the two-photon success goes as the whole link's
    transmittance, ``c`` holding memory and detector efficiencies, the same
    on every link (Sangouard et al., Rev. Mod. Phys. 83, 33 (2011),
    doi:10.1103/RevModPhys.83.33, Sec. III). A link's mean attempts are
    ``1 / p`` (geometric), so the cost is ``n * 10**(loss_db / (10 n))``
    (in units of ``1 / c``). Summed over a route it bounds the mean
    attempts until every link has heralded from above, ``E[max_i T_i] <=
    sum_i E[T_i]``, and it grows with a route's weakest link exponentially
    and with its number of links linearly: one 80 km crossing (cost 40)
    beats a 700 km detour by land (14 links of 50 km, cost 140), a 150 km
    crossing (1,000) loses to 200 km by land (40).

    Examples
    --------
    >>> round(section_cost(80.0, 16.0, True, 50.0), 2), section_cost(200.0, 40.0, False, 50.0)
    (39.81, 40.0)
    """
    n = 1 if submarine else elementary_link_count(length_km, spacing_km)
    if not math.isfinite(n):
        return _MAX_SECTION_COST
    exponent = loss_db / (10.0 * n)
    return min(n * 10.0 ** min(exponent, 300.0), _MAX_SECTION_COST)


def repeater_routes(graph: nx.Graph, pairs: Sequence[tuple], spacing_km: float) -> list[RepeaterRoute | None]:
    """Each pair's repeater route on the physical fibre graph (None when fibre does not join them).

    The route minimises the sum of :func:`section_cost` over its sections:
    the mean attempts to herald each of its elementary links once, which
    weighs a sea crossing no station can split by its loss, exponentially,
    against a longer way round by land, linearly in its extra links. On land
    alone it is, within the rounding of the links, the least-loss route.

    Every node may be passed in transit: the trust policy (``can_relay``)
    concerns key in the clear, which a repeater never holds. Method: the
    sections between candidate stations form a graph (:func:`_sections`), and
    one Dijkstra run per distinct source searches it
    (:func:`scipy.sparse.csgraph.dijkstra`). A route may pass a sea-cable
    junction twice, when going out to a landing station on a branch and back
    splits a long crossing.

    Examples
    --------
    >>> g = nx.Graph()
    >>> g.add_node("X", can_relay=False)
    >>> g.add_edge("A", "X", length_km=50.0, attenuation_db_per_km=0.2)
    >>> g.add_edge("X", "B", length_km=50.0, attenuation_db_per_km=0.2)
    >>> g.add_edge("A", "B", length_km=150.0, attenuation_db_per_km=0.2)
    >>> [r.nodes for r in repeater_routes(g, [("A", "B")], 50.0)]
    [('A', 'X', 'B')]
    """
    fibre = fibre_graph(graph)
    ends = {n for pair in pairs for n in pair if n in fibre}
    stations = {n for n, d in fibre.nodes(data=True) if station_allowed(d)} | ends
    sections = _sections(fibre, stations)
    names = sorted(stations, key=str)
    index = {n: i for i, n in enumerate(names)}
    rows, cols, weights = [], [], []
    by_ends = {}
    for u, v, length, loss, submarine, nodes in sections:
        # The length term breaks ties between equal costs and keeps every weight positive.
        w = section_cost(length, loss, submarine, spacing_km) + length * _LENGTH_TIE_BREAK_PER_KM
        rows += [index[u], index[v]]
        cols += [index[v], index[u]]
        weights += [w, w]
        by_ends[frozenset((index[u], index[v]))] = (u, nodes)
    n = len(names)
    matrix = sparse.csr_matrix((weights, (rows, cols)), shape=(n, n))
    wanted = [k for k, (a, b) in enumerate(pairs) if a in index and b in index and a != b]
    sources = sorted({index[pairs[k][0]] for k in wanted})
    out: list[RepeaterRoute | None] = [None] * len(pairs)
    if not sources:
        return out
    _, predecessors = dijkstra(matrix, directed=True, indices=sources, return_predecessors=True)
    row_of = {s: r for r, s in enumerate(sources)}
    for k in wanted:
        a, b = index[pairs[k][0]], index[pairs[k][1]]
        pred = predecessors[row_of[a]]
        hops, node = [], b
        while node != a:
            prev = int(pred[node])
            if prev < 0:  # scipy marks an unreachable node with -9999
                break
            hops.append((prev, node))
            node = prev
        if node != a:
            continue
        path: list = [names[a]]
        for prev, node in reversed(hops):
            u, nodes = by_ends[frozenset((prev, node))]
            path += list(nodes[1:] if u == names[prev] else reversed(nodes[:-1]))
        out[k] = route_from_path(graph, path)
    return out


def elementary_link_count(length_km: float, spacing_km: float) -> float:
    """Equal elementary links no longer than ``spacing_km`` that cover ``length_km`` (infinity on overflow)."""
    ratio = length_km / spacing_km
    return max(1, math.ceil(ratio - 1e-9)) if math.isfinite(ratio) else math.inf


def _groups(route: RepeaterRoute, at_sites: bool) -> list[tuple[float, bool, int, int]]:
    """``(length_km, submarine, first, last)`` of each stretch cut as one: indices into ``section_ends``."""
    groups: list[list] = []
    for k, section in enumerate(route.sections, start=1):
        if not at_sites and groups and not section.submarine and not groups[-1][1]:
            groups[-1][0] += section.length_km
            groups[-1][3] = k
        else:
            groups.append([section.length_km, section.submarine, k - 1, k])
    return [tuple(g) for g in groups]


def _end_positions(route: RepeaterRoute) -> list[int]:
    """Index in ``route.nodes`` of each of ``route.section_ends`` (in order; a node may recur)."""
    out, at = [], 0
    for end in route.section_ends:
        while route.nodes[at] != end:
            at += 1
        out.append(at)
        at += 1
    return out


def land_stretches(route: RepeaterRoute, spacing_km: float, at_sites: bool) -> list[tuple[tuple, float, int]]:
    """``(nodes, length_km, links)`` of each land stretch of ``route`` that :func:`elementary_links` cuts."""
    where = _end_positions(route)
    out = []
    for length, submarine, first, last in _groups(route, at_sites):
        if not submarine:
            n = elementary_link_count(length, spacing_km)
            if math.isfinite(n):
                out.append((route.nodes[where[first]: where[last] + 1], length, int(n)))
    return out


def elementary_links(route: RepeaterRoute, spacing_km: float, at_sites: bool,
                     land: LandStations | None = None) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Elementary-link lengths of a route and the named sites that hold a repeater station.

    With ``at_sites``, every section is cut evenly into links no longer than
    ``spacing_km``, so every intermediate candidate station holds a
    repeater. Without, consecutive land sections are joined and cut evenly as
    one stretch (stations at even distances, sites ignored). Either way a
    submarine section is one elementary link between its landing points,
    which then hold the stations either side of it. With ``land``, stations
    of a land stretch that would stand in the water move to land
    (:class:`~qnetemu.network.station_land.LandStations`): the links are
    then unequal, and water wider than the spacing is one longer link.

    Returns
    -------
    segment_lengths_km : tuple of float
        Elementary-link lengths from one end to the other. [km]
    station_sites : tuple of str
        Intermediate route nodes where a repeater stands (stations placed
        along a stretch between sites have no name and are not listed).

    Examples
    --------
    >>> r = RepeaterRoute(("A", "B", "C"), ("A", "B", "C"),
    ...                   (FibreSection(150.0, 30.0, True), FibreSection(60.0, 12.0, False)))
    >>> elementary_links(r, 50.0, True)
    ((150.0, 30.0, 30.0), ('B',))
    """
    groups = _groups(route, at_sites)
    where = _end_positions(route) if land is not None else None
    lengths: list[float] = []
    for length, submarine, first, last in groups:
        n = 1 if submarine else elementary_link_count(length, spacing_km)
        if not math.isfinite(n):
            raise ValueError(f"{length:g} km cut at {spacing_km:g} km gives an unbounded number of elementary links")
        if land is None or n < 2:
            lengths += [length / n] * int(n)
            continue
        cuts = land.cuts_km(route.nodes[where[first]: where[last] + 1], length, int(n))
        lengths += np.diff(np.concatenate([[0.0], cuts, [length]])).tolist()
    stations = tuple(route.section_ends[last] for *_, last in groups[:-1])
    return tuple(lengths), stations


def route_columns(route: RepeaterRoute | None, stations: Sequence[str] = (),
                  segment_lengths_km: Sequence[float] = ()) -> dict:
    """The typed route columns of a repeater result row (lists, not joined strings)."""
    if route is None:
        return {"route_nodes": [], "repeater_sites": [], "segment_lengths_km": []}
    return {"route_nodes": list(map(str, route.nodes)), "repeater_sites": list(map(str, stations)),
            "segment_lengths_km": [float(x) for x in np.asarray(segment_lengths_km, dtype=float)]}
