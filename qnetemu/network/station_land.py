"""Repeater stations on land along a land stretch of fibre.

A land stretch of a repeater route (fibre between two sites, no submarine
cable) is cut evenly into elementary links no longer than the spacing
(:func:`qnetemu.network.repeater_routes.elementary_links`). "Land" there
means only that no piece is a submarine cable: a terrestrial link may still
cross a bay, a strait or a lake that is narrower than one QKD span (longer
crossings are tagged ``unsplit = "open water"`` by trusted-node insertion and
are one elementary link already), and an evenly placed station would then
stand in the water. Repeater stations are buildings, like trusted nodes, so
:class:`LandStations` moves them the way trusted-node insertion does
(:mod:`qnetemu.network.splitting`): where the even points are not all on
land, the stations go to the fewest land points with every elementary link
within the spacing (greedy, farthest reachable land point first, points
tried every :data:`~qnetemu.network.splitting.LAND_SAMPLE_KM` of fibre);
water wider than the spacing is crossed by one elementary link from the
last land point before it to the first after it, as a sea cable is.

A station's position along an edge follows the edge's route (great circle
or waypoints) in proportion to fibre length, the convention of
:func:`qnetemu.network.splitting.split_long_spans`. Stretches whose nodes
have no coordinates (synthetic networks) keep the even cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import networkx as nx
import numpy as np

from qnetemu.geo import points_along
from qnetemu.network.splitting import LAND_SAMPLE_KM

__all__ = ["LandStations", "land_cuts"]

#: Cuts already placed, by stretch geometry: sweeps rebuild the same routes for every point.
_CUTS_CACHE: dict[tuple, tuple[float, ...]] = {}
_CUTS_CACHE_MAX = 50_000


#: A link shorter than this fraction of the spacing is a sliver: a water crossing that lands
#: (at the coarse straight-arc geometry) just short of a site is taken on to the site instead.
SLIVER_FRACTION = 0.1


def _nearest_on_land(candidates_km: np.ndarray, land: np.ndarray, positions_km: np.ndarray) -> bool:
    """Whether the candidate nearest each position is on land."""
    right = np.clip(np.searchsorted(candidates_km, positions_km), 1, candidates_km.size - 1)
    left = right - 1
    pick = np.where(positions_km - candidates_km[left] <= candidates_km[right] - positions_km, left, right)
    return bool(land[pick].all())


def land_cuts(candidates_km: np.ndarray, land: np.ndarray, length_km: float,
              spacing_km: float) -> tuple[float, ...]:
    """Station positions on land: the fewest with every link within ``spacing_km`` where land allows.

    ``candidates_km`` are sorted positions along the stretch from 0 to
    ``length_km`` (both ends included, and counted as land: they are sites).

    1. Greedy: from each station the next one is the farthest land candidate
       within ``spacing_km``; where no land lies within reach (water wider
       than the spacing) the next station is the first land candidate after
       the water, so that crossing is one longer link.
    2. A sliver (a link shorter than :data:`SLIVER_FRACTION` of the spacing)
       joins its shorter neighbour where the joined link stays within the
       spacing or the neighbour is a crossing anyway.
    3. Each run of links within the spacing between crossings (the whole
       stretch where there is none) is cut into equal links instead where
       every equal cut's nearest candidate is on land.

    Examples
    --------
    >>> land = np.array([True, True, False, False, False, True, True])
    >>> land_cuts(np.arange(7.0) * 10.0, land, 60.0, 20.0)
    (10.0, 50.0)
    """
    allowed = candidates_km[land | (candidates_km <= 0.0) | (candidates_km >= length_km)]
    tol = 1.0 + 1e-12
    cuts: list[float] = []
    position = 0.0
    while length_km - position > spacing_km * tol:
        k = int(np.searchsorted(allowed, position + spacing_km * tol, side="right")) - 1
        if allowed[k] <= position:  # no land within reach: cross the water in one link
            k = int(np.searchsorted(allowed, position, side="right"))
        position = float(allowed[k])
        if position >= length_km:
            break
        cuts.append(position)
    bounds = [0.0, *cuts, float(length_km)]
    while len(bounds) > 2:
        links = np.diff(bounds)
        k = int(np.argmin(links))
        if links[k] >= SLIVER_FRACTION * spacing_km:
            break
        left = links[k - 1] if k > 0 else math.inf
        right = links[k + 1] if k + 1 < links.size else math.inf
        neighbour = min(left, right)
        if not (links[k] + neighbour <= spacing_km * tol or neighbour > spacing_km * tol):
            break
        del bounds[k if left <= right else k + 1]  # the cut between the sliver and that neighbour
    balanced = [bounds[0]]
    start = 0
    for end in range(1, len(bounds)):
        crossing = bounds[end] - bounds[end - 1] > spacing_km * tol
        if crossing or end == len(bounds) - 1:
            stop = end - 1 if crossing else end  # the run of land links is bounds[start..stop]
            n = stop - start
            if n >= 2:
                even = bounds[start] + (bounds[stop] - bounds[start]) * np.arange(1, n) / n
                if _nearest_on_land(candidates_km, land, even):
                    balanced += even.tolist()
                else:
                    balanced += bounds[start + 1: stop]
            else:
                balanced += bounds[start + 1: stop]
            if stop > start:
                balanced.append(bounds[stop])
            if crossing:
                balanced.append(bounds[end])
            start = end
    cuts_out = [b for b in balanced[1:-1]]
    return tuple(cuts_out)


class LandStations:
    """Where the stations of land stretches stand, checked against a land test.

    Parameters
    ----------
    graph : networkx.Graph
        The fibre graph the routes run on (node ``lat_deg``/``lon_deg``, edge
        ``length_km``, optional ``ends`` and ``waypoints``).
    on_land : callable
        ``on_land(lat_deg, lon_deg) -> bool array``, vectorised (e.g.
        :func:`qnetemu.geodata.is_land`).
    spacing_km : float
        Longest elementary link on land. [km]
    """

    def __init__(self, graph: nx.Graph, on_land: Callable, spacing_km: float):
        self.graph = graph
        self.on_land = on_land
        self.spacing_km = float(spacing_km)

    def _edges(self, nodes: Sequence) -> list[tuple[float, np.ndarray, np.ndarray]] | None:
        """``(length_km, lats, lons)`` of each fibre edge along ``nodes``, oriented; None without coordinates."""
        out = []
        for u, v in zip(nodes[:-1], nodes[1:], strict=True):
            data = self.graph.edges[u, v]
            a, b = data.get("ends", (u, v))
            try:
                lats = [self.graph.nodes[a]["lat_deg"], *(float(p[0]) for p in data.get("waypoints") or []),
                        self.graph.nodes[b]["lat_deg"]]
                lons = [self.graph.nodes[a]["lon_deg"], *(float(p[1]) for p in data.get("waypoints") or []),
                        self.graph.nodes[b]["lon_deg"]]
            except KeyError:
                return None
            lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
            if not (np.isfinite(lats).all() and np.isfinite(lons).all()):
                return None
            if a != u:
                lats, lons = lats[::-1], lons[::-1]
            out.append((float(data["length_km"]), lats, lons))
        return out

    @staticmethod
    def _points(edges, positions_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of positions along the stretch (fibre km from its start)."""
        lengths = np.array([e[0] for e in edges])
        starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
        which = np.clip(np.searchsorted(starts, positions_km, side="right") - 1, 0, len(edges) - 1)
        lat = np.empty(positions_km.size)
        lon = np.empty(positions_km.size)
        for k in np.unique(which):
            sel = which == k
            frac = np.clip((positions_km[sel] - starts[k]) / max(lengths[k], 1e-300), 0.0, 1.0)
            lat[sel], lon[sel] = points_along(edges[k][1], edges[k][2], frac)
        return lat, lon

    def _key(self, edges) -> tuple:
        return (tuple((e[0], tuple(e[1].tolist()), tuple(e[2].tolist())) for e in edges),
                self.spacing_km, self.on_land)

    def prepare(self, stretches: Iterable[tuple[Sequence, float, int]]) -> None:
        """Place the stations of every ``(nodes, length_km, links)`` stretch, with few land-test calls.

        ``links`` is the even cut's link count; stretches of one link need no
        station. All even positions are tested in one call, and the stretches
        with a station in the water are then sampled in a second.
        """
        todo: dict[tuple, tuple] = {}
        for nodes, length_km, links in stretches:
            if links < 2:
                continue
            edges = self._edges(nodes)
            if edges is None:
                continue
            key = self._key(edges)
            if key not in _CUTS_CACHE and key not in todo:
                todo[key] = (edges, float(length_km), int(links))
        if not todo:
            return
        items = list(todo.items())
        even = [np.arange(1, links) * (length_km / links) for _, (_, length_km, links) in items]
        land = self._test([(edges, pos) for (_, (edges, _, _)), pos in zip(items, even, strict=True)])
        wet = []
        for (key, (edges, length_km, _)), pos, ok in zip(items, even, land, strict=True):
            if ok.all():
                self._store(key, tuple(pos.tolist()))
            else:
                wet.append((key, edges, length_km))
        samples = [np.linspace(0.0, length_km, max(2, math.ceil(length_km / LAND_SAMPLE_KM)) + 1)
                   for _, _, length_km in wet]
        masks = self._test([(edges, s) for (_, edges, _), s in zip(wet, samples, strict=True)])
        for (key, _, length_km), s, ok in zip(wet, samples, masks, strict=True):
            self._store(key, land_cuts(s, ok, length_km, self.spacing_km))

    def _test(self, jobs: list[tuple[list, np.ndarray]]) -> list[np.ndarray]:
        """``on_land`` at the given positions of each stretch, in one call."""
        if not jobs:
            return []
        points = [self._points(edges, pos) for edges, pos in jobs]
        mask = np.asarray(self.on_land(np.concatenate([p[0] for p in points]),
                                       np.concatenate([p[1] for p in points])), dtype=bool)
        out, offset = [], 0
        for lat, _ in points:
            out.append(mask[offset: offset + lat.size])
            offset += lat.size
        return out

    @staticmethod
    def _store(key: tuple, cuts: tuple[float, ...]) -> None:
        if len(_CUTS_CACHE) > _CUTS_CACHE_MAX:
            _CUTS_CACHE.clear()
        _CUTS_CACHE[key] = cuts

    def cuts_km(self, nodes: Sequence, length_km: float, links: int) -> tuple[float, ...]:
        """Station positions along a stretch (fibre km from its start), on land where it allows."""
        even = tuple((np.arange(1, links) * (length_km / links)).tolist())
        if links < 2:
            return even
        edges = self._edges(nodes)
        if edges is None:
            return even
        key = self._key(edges)
        if key not in _CUTS_CACHE:
            self.prepare([(nodes, length_km, links)])
        return _CUTS_CACHE[key]
