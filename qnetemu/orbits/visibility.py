"""One satellite seen from many ground stations at once: the vectorised geometry.

:func:`station_geometry` propagates the satellite once for a whole time grid
(SGP4 through skyfield), turns it and the Sun into Earth-fixed (ITRS)
coordinates once, and then gets elevation, slant range and Sun altitude for
every station and every sample with a few matrix products. Passes and
common-visibility windows are then cut from that geometry
(:func:`passes_from_geometry`, :func:`common_windows_from_geometry`, and the
batch forms :func:`passes_by_station`, :func:`common_windows_by_pair`), so a
EuroQCI scenario with 20 stations costs about one station's worth of
astronomy. :func:`qnetemu.orbits.passes.find_passes` and
:func:`~qnetemu.orbits.passes.common_visibility` are thin wrappers over these.

Where the time goes, and what is done about it (one day at 10 s steps):

* IAU 2000A nutation, needed by every celestial-to-terrestrial rotation, is
  about 90 % of skyfield's cost. It is evaluated hourly and interpolated
  linearly; its fastest sizeable term (13.66 d, 0.23 arcsec) then errs by
  about 1e-5 arcsec, far below anything that matters here.
* The Sun's apparent geocentric position (light time, aberration) is likewise
  computed hourly in the GCRS, where it moves about 0.04 deg per hour, and
  interpolated (error below 1e-7 rad) before the exact rotation to ITRS.
* SGP4 itself, the rotations and the station geometry are fully vectorised and
  cost milliseconds.

A pass is a contiguous run of samples where the satellite is at least
``min_elevation_deg`` above the horizon and, with ``night_only``, the Sun is at
most ``max_sun_altitude_deg`` (-12 deg: nautical twilight, when sky background
no longer swamps single-photon detectors). Rise and set times are refined by
linear interpolation of that margin between the two samples around each
crossing, and culmination by a parabola through the three samples around the
highest one; the arrays along a pass hold the grid samples themselves.

This module knows geometry only, nothing about QKD.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import combinations

import numpy as np
from skyfield.framelib import itrs
from skyfield.nutationlib import iau2000a_radians

from qnetemu.orbits.passes import (
    CommonWindow,
    Pass,
    Site,
    check_mask,
    check_window,
)
from qnetemu.orbits.satellites import ephemeris, timescale

__all__ = [
    "StationGeometry",
    "common_windows_by_pair",
    "common_windows_from_geometry",
    "passes_by_station",
    "passes_from_geometry",
    "station_geometry",
    "wgs84_itrs_m",
]

#: WGS-84 semi-major axis [m] and flattening (NIMA TR8350.2, 3rd ed., 2000, Table 3.1).
WGS84_SEMI_MAJOR_AXIS_M = 6_378_137.0
WGS84_FLATTENING = 1.0 / 298.257223563

#: Spacing of the nodes at which nutation and the Sun are computed exactly. [s]
_SLOW_NODE_STEP_S = 3600.0
#: Largest number of (station, sample) values computed in one block.
_BLOCK_ELEMENTS = 2_000_000


@dataclass(frozen=True, eq=False)
class StationGeometry:
    """Look angles of one satellite from many stations on one time grid.

    Attributes
    ----------
    satellite : str
        Satellite name.
    stations : tuple of Site
        The ground stations, in the order of the first array axis.
    start_utc : datetime
        Start of the window (UTC); ``time_s`` counts from it.
    time_s : numpy.ndarray, shape (T,)
        Sample times since ``start_utc``. [s]
    elevation_deg : numpy.ndarray, shape (S, T)
        Satellite elevation above each station's geodetic horizon. [deg]
    slant_range_m : numpy.ndarray, shape (S, T)
        Station-to-satellite distance. [m]
    sun_altitude_deg : numpy.ndarray, shape (S, T)
        Altitude of the Sun's apparent centre above the geodetic horizon, no
        refraction. [deg]
    """

    satellite: str
    stations: tuple[Site, ...]
    start_utc: datetime
    time_s: np.ndarray
    elevation_deg: np.ndarray
    slant_range_m: np.ndarray
    sun_altitude_deg: np.ndarray

    @property
    def names(self) -> list[str]:
        """Station names, in array order."""
        return [site.name for site in self.stations]


def wgs84_itrs_m(latitude_deg, longitude_deg, elevation_m):
    """Earth-fixed position and local east/north/up axes of geodetic points.

    Parameters
    ----------
    latitude_deg, longitude_deg : array_like, shape (S,)
        Geodetic latitude and east longitude. [deg]
    elevation_m : array_like, shape (S,)
        Height above the WGS-84 ellipsoid. [m]

    Returns
    -------
    position_m : numpy.ndarray, shape (S, 3)
        ITRS (Earth-centred, Earth-fixed) Cartesian position. [m]
    east, north, up : numpy.ndarray, shape (S, 3)
        Unit vectors of the local geodetic frame (up is the ellipsoid normal).

    Notes
    -----
    Geodetic to Cartesian (NIMA TR8350.2, *Department of Defense World
    Geodetic System 1984*, 3rd ed., 2000, eq. 4-14):

    .. math:: X = (N + h)\\cos\\phi\\cos\\lambda,\\quad
              Y = (N + h)\\cos\\phi\\sin\\lambda,\\quad
              Z = (N (1 - e^2) + h)\\sin\\phi,\\quad
              N = a / \\sqrt{1 - e^2 \\sin^2\\phi}
    """
    lat = np.radians(np.asarray(latitude_deg, dtype=float))
    lon = np.radians(np.asarray(longitude_deg, dtype=float))
    h = np.asarray(elevation_m, dtype=float)
    e2 = WGS84_FLATTENING * (2.0 - WGS84_FLATTENING)
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    sin_lon, cos_lon = np.sin(lon), np.cos(lon)
    n_m = WGS84_SEMI_MAJOR_AXIS_M / np.sqrt(1.0 - e2 * sin_lat**2)
    position_m = np.stack(
        [
            (n_m + h) * cos_lat * cos_lon,
            (n_m + h) * cos_lat * sin_lon,
            (n_m * (1.0 - e2) + h) * sin_lat,
        ],
        axis=-1,
    )
    east = np.stack([-sin_lon, cos_lon, np.zeros_like(lon)], axis=-1)
    north = np.stack([-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat], axis=-1)
    up = np.stack([cos_lat * cos_lon, cos_lat * sin_lon, sin_lat], axis=-1)
    return position_m, east, north, up


def _times(start_utc: datetime, offsets_s: np.ndarray):
    seconds = start_utc.second + start_utc.microsecond * 1e-6 + offsets_s
    return timescale().utc(
        start_utc.year, start_utc.month, start_utc.day, start_utc.hour, start_utc.minute, seconds
    )


def _slow_nodes(start_utc: datetime, offsets_s: np.ndarray):
    """Hourly Time nodes spanning the grid (both ends included)."""
    count = max(2, int(math.ceil(offsets_s[-1] / _SLOW_NODE_STEP_S)) + 1)
    return _times(start_utc, np.linspace(0.0, offsets_s[-1], count))


def _interpolate(times, nodes, values: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values[..., node]`` onto ``times`` (in TT)."""
    origin = nodes.tt[0]
    x, xp = times.tt - origin, nodes.tt - origin
    flat = values.reshape(-1, values.shape[-1])
    return np.stack([np.interp(x, xp, row) for row in flat]).reshape(values.shape[:-1] + x.shape)


def _earth_fixed(satellite, start_utc: datetime, offsets_s: np.ndarray):
    """ITRS positions [m] of the satellite and the Sun, each of shape (3, T)."""
    times = _times(start_utc, offsets_s)
    nodes = _slow_nodes(start_utc, offsets_s)
    # skyfield reads nutation from this attribute when it is set (its own
    # documented way to avoid recomputing IAU 2000A for every sample).
    d_psi, d_eps = iau2000a_radians(nodes)
    times._nutation_angles_radians = tuple(
        _interpolate(times, nodes, np.asarray(a)[np.newaxis])[0] for a in (d_psi, d_eps)
    )
    satellite_m = satellite.at(times).frame_xyz(itrs).m
    eph = ephemeris()
    sun_gcrs_m = eph["earth"].at(nodes).observe(eph["sun"]).apparent().position.m
    sun_gcrs_m = _interpolate(times, nodes, sun_gcrs_m)
    rotation = itrs.rotation_at(times)
    sun_m = np.einsum("ijt,jt->it", rotation, sun_gcrs_m)
    return satellite_m, sun_m


def _look(target_m, position_m, east, north, up):
    """Elevation [deg] and distance [m] of ITRS targets (3, T) from stations (S, 3).

    Components along east/north/up come from matrix products, so no (S, T, 3)
    temporary is built; elevation uses atan2 of the vertical and horizontal
    components, which stays accurate near the zenith where arcsin does not.
    """
    e = east @ target_m - np.sum(east * position_m, axis=1)[:, np.newaxis]
    n = north @ target_m - np.sum(north * position_m, axis=1)[:, np.newaxis]
    u = up @ target_m - np.sum(up * position_m, axis=1)[:, np.newaxis]
    horizontal = np.hypot(e, n)
    return np.degrees(np.arctan2(u, horizontal)), np.hypot(horizontal, u)


def station_geometry(
    satellite,
    stations: Sequence[Site],
    *,
    start_utc: datetime,
    duration_s: float,
    step_s: float = 10.0,
) -> StationGeometry:
    """Elevation, slant range and Sun altitude for many stations on one time grid.

    Parameters
    ----------
    satellite : skyfield.sgp4lib.EarthSatellite
        The satellite (see :mod:`qnetemu.orbits.satellites`).
    stations : sequence of Site
        Ground stations; at least one.
    start_utc : datetime
        Window start; timezone-aware.
    duration_s : float
        Window length. [s]
    step_s : float, optional
        Sampling step; 10 s moves a LEO satellite about 0.6 deg at culmination. [s]

    Returns
    -------
    StationGeometry

    Raises
    ------
    ValueError
        For no stations or a non-Site entry, a naive start time, a
        non-positive duration or step, or more than
        :data:`qnetemu.orbits.passes.MAX_SAMPLES` samples.

    Notes
    -----
    Elevation is measured from the WGS-84 ellipsoid normal, as skyfield's
    ``(satellite - topos).at(t).altaz()`` does; the satellite position is
    geometric (SGP4 in TEME rotated to ITRS through the GCRS, IAU 2006/2000A
    precession-nutation as in skyfield). The Sun is the apparent geocentric Sun
    (DE421, light time and aberration) seen from the station, so topocentric
    parallax (up to 8.8 arcsec) is included and only diurnal aberration (0.3
    arcsec) is not.
    """
    stations = tuple(stations)
    if not stations:
        raise ValueError("stations must contain at least one Site")
    for site in stations:
        if not isinstance(site, Site):
            raise ValueError(f"stations must be Site objects, got {type(site).__name__}")
    check_window(start_utc, duration_s, step_s)
    start_utc = start_utc.astimezone(UTC)
    offsets_s = np.arange(int(math.floor(duration_s / step_s + 1e-9)) + 1) * float(step_s)
    satellite_m, sun_m = _earth_fixed(satellite, start_utc, offsets_s)
    frame = wgs84_itrs_m(
        [s.latitude_deg for s in stations],
        [s.longitude_deg for s in stations],
        [s.elevation_m for s in stations],
    )
    shape = (len(stations), offsets_s.size)
    elevation_deg, range_m, sun_deg = np.empty(shape), np.empty(shape), np.empty(shape)
    # Blocks of stations keep the temporaries near _BLOCK_ELEMENTS values even
    # for a week at 1 s steps; a day at 10 s for 25 stations is one block.
    block = max(1, _BLOCK_ELEMENTS // offsets_s.size)
    for b in range(0, len(stations), block):
        rows = slice(b, b + block)
        local = [axis[rows] for axis in frame]
        elevation_deg[rows], range_m[rows] = _look(satellite_m, *local)
        sun_deg[rows] = _look(sun_m, *local)[0]
    return StationGeometry(
        satellite=satellite.name,
        stations=stations,
        start_utc=start_utc,
        time_s=offsets_s,
        elevation_deg=elevation_deg,
        slant_range_m=range_m,
        sun_altitude_deg=sun_deg,
    )


def _index(geom: StationGeometry, index: int) -> int:
    if not isinstance(index, int | np.integer) or not 0 <= index < len(geom.stations):
        raise ValueError(
            f"station index must be an integer in [0, {len(geom.stations)}), got {index!r}"
        )
    return int(index)


def _margin(geom: StationGeometry, index: int, min_elevation_deg, night_only, max_sun_deg):
    """Signed margin [deg] of one station: non-negative exactly where usable."""
    margin = geom.elevation_deg[index] - min_elevation_deg
    if night_only:
        margin = np.minimum(margin, max_sun_deg - geom.sun_altitude_deg[index])
    return margin


def _runs(margin: np.ndarray):
    """Inclusive index ranges of contiguous runs where ``margin >= 0``."""
    inside = np.concatenate(([0], (margin >= 0.0).astype(np.int8), [0]))
    edges = np.diff(inside)
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def _crossing_s(offsets_s, margin, before: int, after: int) -> float:
    """Time [s] where the margin crosses zero between two neighbouring samples."""
    m0, m1 = margin[before], margin[after]
    fraction = m0 / (m0 - m1) if m0 != m1 else 0.5
    return float(offsets_s[before] + fraction * (offsets_s[after] - offsets_s[before]))


def _edges(offsets_s, margin, i0: int, i1: int):
    """Interpolated start and end [s] of run ``[i0, i1]`` and whether it is truncated."""
    last = len(offsets_s) - 1
    start_s = _crossing_s(offsets_s, margin, i0 - 1, i0) if i0 > 0 else float(offsets_s[0])
    end_s = _crossing_s(offsets_s, margin, i1, i1 + 1) if i1 < last else float(offsets_s[last])
    return start_s, end_s, bool(i0 == 0 or i1 == last)


def _culmination(offsets_s, elevation_deg, i0: int, i1: int):
    """Time [s] and elevation [deg] of the highest point, by parabolic interpolation."""
    k = i0 + int(np.argmax(elevation_deg[i0 : i1 + 1]))
    if i0 < k < i1:
        e_minus, e_0, e_plus = elevation_deg[k - 1], elevation_deg[k], elevation_deg[k + 1]
        curvature = e_minus - 2.0 * e_0 + e_plus
        if curvature < 0.0:
            step = offsets_s[k + 1] - offsets_s[k]
            shift = 0.5 * (e_minus - e_plus) / curvature
            return (
                float(offsets_s[k] + shift * step),
                float(e_0 - 0.25 * (e_minus - e_plus) * shift),
            )
    return float(offsets_s[k]), float(elevation_deg[k])


def _passes(geom: StationGeometry, index: int, margin: np.ndarray) -> list[Pass]:
    offsets_s, start = geom.time_s, geom.start_utc
    elevation_deg = geom.elevation_deg[index]
    passes = []
    for i0, i1 in _runs(margin):
        rise_s, set_s, truncated = _edges(offsets_s, margin, i0, i1)
        culminate_s, max_elevation = _culmination(offsets_s, elevation_deg, i0, i1)
        run = slice(i0, i1 + 1)
        passes.append(
            Pass(
                satellite=geom.satellite,
                station=geom.stations[index],
                window_start_utc=start,
                rise_utc=start + timedelta(seconds=rise_s),
                culminate_utc=start + timedelta(seconds=culminate_s),
                set_utc=start + timedelta(seconds=set_s),
                max_elevation_deg=max_elevation,
                time_s=offsets_s[run].copy(),
                elevation_deg=elevation_deg[run].copy(),
                slant_range_m=geom.slant_range_m[index, run].copy(),
                sun_altitude_deg=geom.sun_altitude_deg[index, run].copy(),
                truncated=truncated,
            )
        )
    return passes


def _windows(geom: StationGeometry, i: int, j: int, margin: np.ndarray) -> list[CommonWindow]:
    offsets_s, start = geom.time_s, geom.start_utc
    windows = []
    for i0, i1 in _runs(margin):
        begin_s, end_s, truncated = _edges(offsets_s, margin, i0, i1)
        run = slice(i0, i1 + 1)
        windows.append(
            CommonWindow(
                satellite=geom.satellite,
                station_a=geom.stations[i],
                station_b=geom.stations[j],
                window_start_utc=start,
                start_utc=start + timedelta(seconds=begin_s),
                end_utc=start + timedelta(seconds=end_s),
                time_s=offsets_s[run].copy(),
                elevation_a_deg=geom.elevation_deg[i, run].copy(),
                elevation_b_deg=geom.elevation_deg[j, run].copy(),
                slant_range_a_m=geom.slant_range_m[i, run].copy(),
                slant_range_b_m=geom.slant_range_m[j, run].copy(),
                sun_altitude_a_deg=geom.sun_altitude_deg[i, run].copy(),
                sun_altitude_b_deg=geom.sun_altitude_deg[j, run].copy(),
                truncated=truncated,
            )
        )
    return windows


def passes_from_geometry(
    geom: StationGeometry,
    station_index: int,
    *,
    min_elevation_deg: float = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
) -> list[Pass]:
    """Passes over one station of a :class:`StationGeometry`.

    Parameters
    ----------
    geom : StationGeometry
        From :func:`station_geometry`.
    station_index : int
        Index of the station in ``geom.stations``.
    min_elevation_deg : float, optional
        Elevation mask of this station. [deg]
    night_only : bool, optional
        Keep only samples with the Sun at most ``max_sun_altitude_deg``.
    max_sun_altitude_deg : float, optional
        Highest Sun altitude counted as night (-12 deg: nautical twilight). [deg]

    Returns
    -------
    list of Pass
        In time order; a pass cut by the window edges has ``truncated=True``.

    Raises
    ------
    ValueError
        For an index out of range, an elevation mask outside [-90, 90) or a
        non-finite Sun limit.
    """
    index = _index(geom, station_index)
    check_mask(min_elevation_deg, max_sun_altitude_deg)
    margin = _margin(geom, index, min_elevation_deg, night_only, max_sun_altitude_deg)
    return _passes(geom, index, margin)


def common_windows_from_geometry(
    geom: StationGeometry,
    i: int,
    j: int,
    *,
    min_elevation_deg_i: float = 10.0,
    min_elevation_deg_j: float = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
) -> list[CommonWindow]:
    """Windows during which stations ``i`` and ``j`` both see the satellite.

    Each station has its own elevation mask; the night condition, when asked
    for, applies at both. Station ``i`` is ``station_a`` of each window.

    Returns
    -------
    list of CommonWindow
        In time order.

    Raises
    ------
    ValueError
        As :func:`passes_from_geometry`.
    """
    i, j = _index(geom, i), _index(geom, j)
    check_mask(min_elevation_deg_i, max_sun_altitude_deg)
    check_mask(min_elevation_deg_j, max_sun_altitude_deg)
    margin = np.minimum(
        _margin(geom, i, min_elevation_deg_i, night_only, max_sun_altitude_deg),
        _margin(geom, j, min_elevation_deg_j, night_only, max_sun_altitude_deg),
    )
    return _windows(geom, i, j, margin)


def _masks(geom: StationGeometry, min_elevation_deg, max_sun_altitude_deg) -> np.ndarray:
    masks = np.asarray(min_elevation_deg, dtype=float)
    count = len(geom.stations)
    if masks.ndim == 0:
        masks = np.full(count, float(masks))
    elif masks.shape != (count,):
        raise ValueError(
            f"min_elevation_deg must be one number or one per station ({count}), "
            f"got shape {masks.shape}"
        )
    for mask in masks:
        check_mask(float(mask), max_sun_altitude_deg)
    return masks


def passes_by_station(
    geom: StationGeometry,
    *,
    min_elevation_deg: float | Sequence[float] = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
) -> list[list[Pass]]:
    """Passes over every station, in the order of ``geom.stations``.

    Parameters
    ----------
    geom : StationGeometry
        From :func:`station_geometry`.
    min_elevation_deg : float or sequence of float, optional
        One elevation mask for all stations, or one per station. [deg]
    night_only, max_sun_altitude_deg
        As in :func:`passes_from_geometry`.

    Returns
    -------
    list of list of Pass
    """
    masks = _masks(geom, min_elevation_deg, max_sun_altitude_deg)
    return [
        _passes(geom, k, _margin(geom, k, masks[k], night_only, max_sun_altitude_deg))
        for k in range(len(geom.stations))
    ]


def common_windows_by_pair(
    geom: StationGeometry,
    *,
    min_elevation_deg: float | Sequence[float] = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
) -> dict[tuple[int, int], list[CommonWindow]]:
    """Common-visibility windows for every pair of stations ``i < j``.

    Parameters are those of :func:`passes_by_station`. Each station's margin
    is computed once and shared by all its pairs.

    Returns
    -------
    dict
        ``{(i, j): [CommonWindow, ...]}`` for all ``i < j``, windows in time order.
    """
    masks = _masks(geom, min_elevation_deg, max_sun_altitude_deg)
    margins = [
        _margin(geom, k, masks[k], night_only, max_sun_altitude_deg)
        for k in range(len(geom.stations))
    ]
    return {
        (i, j): _windows(geom, i, j, np.minimum(margins[i], margins[j]))
        for i, j in combinations(range(len(geom.stations)), 2)
    }
