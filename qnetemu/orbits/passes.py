"""Satellite passes over ground sites: elevation, slant range and the Sun.

A window is sampled on a regular grid (one vectorised skyfield call for the
whole window). A pass is a contiguous run of samples where the satellite is at
least ``min_elevation_deg`` above the horizon and, with ``night_only``, the Sun
is at most ``max_sun_altitude_deg`` (-12 deg: nautical twilight, when sky
background no longer swamps single-photon detectors). Rise and set times are
refined by linear interpolation of that margin between the two samples around
each crossing, and culmination by a parabola through the three samples around
the highest one; the arrays along a pass hold the grid samples themselves.

This module knows geometry only, nothing about QKD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from skyfield.api import wgs84

from qnetemu.orbits.satellites import ephemeris, timescale

__all__ = ["CommonWindow", "Pass", "Site", "common_visibility", "find_passes"]

#: Largest number of samples in one window: a week at 1 s steps.
MAX_SAMPLES = 7 * 86_400 + 1


@dataclass(frozen=True)
class Site:
    """A place on the WGS-84 ellipsoid.

    Parameters
    ----------
    latitude_deg : float
        Geodetic latitude, in [-90, 90]. [deg]
    longitude_deg : float
        Longitude east of Greenwich, in [-180, 360]. [deg]
    elevation_m : float
        Height above the WGS-84 ellipsoid. [m]
    name : str
        Label used in results.
    """

    latitude_deg: float
    longitude_deg: float
    elevation_m: float = 0.0
    name: str = ""

    def __post_init__(self) -> None:
        for field in ("latitude_deg", "longitude_deg", "elevation_m"):
            if not math.isfinite(float(getattr(self, field))):
                raise ValueError(f"site {self.name!r}: {field} must be finite")
        if not -90.0 <= self.latitude_deg <= 90.0:
            raise ValueError(
                f"site {self.name!r}: latitude_deg must be in [-90, 90], got {self.latitude_deg}"
            )
        if not -180.0 <= self.longitude_deg <= 360.0:
            raise ValueError(
                f"site {self.name!r}: longitude_deg must be in [-180, 360], "
                f"got {self.longitude_deg}"
            )
        if not -500.0 <= self.elevation_m <= 9_000.0:
            raise ValueError(
                f"site {self.name!r}: elevation_m must be in [-500, 9000], got {self.elevation_m}"
            )


@dataclass(frozen=True, eq=False)
class Pass:
    """One pass of a satellite over a site.

    Attributes
    ----------
    satellite : str
        Satellite name.
    station : Site
        The ground site.
    window_start_utc : datetime
        Start of the searched window; ``time_s`` counts from it.
    rise_utc, culminate_utc, set_utc : datetime
        Interpolated start, highest point and end of the pass (UTC).
    max_elevation_deg : float
        Interpolated highest elevation. [deg] Near the zenith elevation has a
        cusp, not a parabola, and this underestimates it (by up to ~3 deg at
        10 s steps); the slant range at the nearest sample stays accurate.
    time_s : numpy.ndarray
        Sample times since ``window_start_utc``. [s]
    elevation_deg : numpy.ndarray
        Satellite elevation at each sample. [deg]
    slant_range_m : numpy.ndarray
        Site-to-satellite distance at each sample. [m]
    sun_altitude_deg : numpy.ndarray
        Altitude of the Sun's centre at the site (no refraction). [deg]
    truncated : bool
        True when the pass was cut by the start or end of the window.
    """

    satellite: str
    station: Site
    window_start_utc: datetime
    rise_utc: datetime
    culminate_utc: datetime
    set_utc: datetime
    max_elevation_deg: float
    time_s: np.ndarray
    elevation_deg: np.ndarray
    slant_range_m: np.ndarray
    sun_altitude_deg: np.ndarray
    truncated: bool

    @property
    def duration_s(self) -> float:
        """Time from rise to set. [s]"""
        return (self.set_utc - self.rise_utc).total_seconds()


@dataclass(frozen=True, eq=False)
class CommonWindow:
    """A stretch of time during which two sites both see the satellite.

    Attributes mirror :class:`Pass`, with one array per site (``_a``, ``_b``);
    ``start_utc`` and ``end_utc`` are interpolated like rise and set.
    """

    satellite: str
    station_a: Site
    station_b: Site
    window_start_utc: datetime
    start_utc: datetime
    end_utc: datetime
    time_s: np.ndarray
    elevation_a_deg: np.ndarray
    elevation_b_deg: np.ndarray
    slant_range_a_m: np.ndarray
    slant_range_b_m: np.ndarray
    sun_altitude_a_deg: np.ndarray
    sun_altitude_b_deg: np.ndarray
    truncated: bool

    @property
    def duration_s(self) -> float:
        """Time both sites see the satellite. [s]"""
        return (self.end_utc - self.start_utc).total_seconds()


def _check_window(start_utc, duration_s, step_s, min_elevation_deg, max_sun_altitude_deg):
    if not isinstance(start_utc, datetime) or start_utc.tzinfo is None:
        raise ValueError(
            "start_utc must be a timezone-aware datetime, e.g. datetime(..., tzinfo=timezone.utc)"
        )
    for name, value in (("duration_s", duration_s), ("step_s", step_s)):
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    if step_s > duration_s:
        raise ValueError(f"step_s ({step_s}) must not exceed duration_s ({duration_s})")
    if duration_s / step_s + 1 > MAX_SAMPLES:
        raise ValueError(
            f"{duration_s} s at {step_s} s steps is more than {MAX_SAMPLES} samples; "
            "use a longer step or a shorter window"
        )
    if not -90.0 <= min_elevation_deg < 90.0:
        raise ValueError(f"min_elevation_deg must be in [-90, 90), got {min_elevation_deg}")
    if not math.isfinite(max_sun_altitude_deg):
        raise ValueError("max_sun_altitude_deg must be finite")


def _grid(start_utc: datetime, duration_s: float, step_s: float):
    """Sample offsets [s] and the matching skyfield Time array."""
    start_utc = start_utc.astimezone(UTC)
    offsets_s = np.arange(int(math.floor(duration_s / step_s + 1e-9)) + 1) * float(step_s)
    seconds = start_utc.second + start_utc.microsecond * 1e-6 + offsets_s
    times = timescale().utc(
        start_utc.year, start_utc.month, start_utc.day, start_utc.hour, start_utc.minute, seconds
    )
    return start_utc, offsets_s, times


def _look(satellite, site: Site, times):
    """Elevation [deg] and slant range [m] of the satellite seen from the site."""
    topos = wgs84.latlon(site.latitude_deg, site.longitude_deg, elevation_m=site.elevation_m)
    alt, _, distance = (satellite - topos).at(times).altaz()
    return alt.degrees, distance.m


def _sun_altitude_deg(site: Site, times, needed: np.ndarray) -> np.ndarray:
    """Sun altitude [deg] at the samples flagged in ``needed`` (NaN elsewhere)."""
    out = np.full(needed.shape, np.nan)
    index = np.flatnonzero(needed)
    if index.size:
        eph = ephemeris()
        topos = wgs84.latlon(site.latitude_deg, site.longitude_deg, elevation_m=site.elevation_m)
        observer = eph["earth"] + topos
        alt = observer.at(times[index]).observe(eph["sun"]).apparent().altaz()[0]
        out[index] = alt.degrees
    return out


def _near(mask: np.ndarray) -> np.ndarray:
    """The mask grown by one sample each side (crossings need both neighbours)."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    return grown


def _margin(elevation_deg, sun_deg, min_elevation_deg, night_only, max_sun_altitude_deg):
    """Signed margin [deg]: non-negative exactly where the sample is usable."""
    margin = elevation_deg - min_elevation_deg
    if night_only:
        sun_margin = max_sun_altitude_deg - sun_deg
        # Where the Sun was not computed the satellite is below the mask anyway.
        margin = np.where(np.isnan(sun_margin), margin, np.minimum(margin, sun_margin))
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


def find_passes(
    satellite,
    *,
    station_lat_deg: float,
    station_lon_deg: float,
    station_elevation_m: float = 0.0,
    station_name: str = "",
    start_utc: datetime,
    duration_s: float,
    step_s: float = 10.0,
    min_elevation_deg: float = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
) -> list[Pass]:
    """Passes of a satellite over a ground site within a time window.

    Parameters
    ----------
    satellite : skyfield.sgp4lib.EarthSatellite
        The satellite (see :mod:`qnetemu.orbits.satellites`).
    station_lat_deg, station_lon_deg : float
        Geodetic latitude and east longitude of the site. [deg]
    station_elevation_m : float, optional
        Site height above the WGS-84 ellipsoid. [m]
    station_name : str, optional
        Label for the site.
    start_utc : datetime
        Window start; timezone-aware.
    duration_s : float
        Window length. [s]
    step_s : float, optional
        Sampling step; 10 s moves a LEO satellite about 0.6 deg at culmination. [s]
    min_elevation_deg : float, optional
        Elevation mask. [deg]
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
        For a naive start time, a non-positive duration or step, more than
        :data:`MAX_SAMPLES` samples, or an elevation mask outside [-90, 90).
    """
    site = Site(station_lat_deg, station_lon_deg, station_elevation_m, station_name)
    _check_window(start_utc, duration_s, step_s, min_elevation_deg, max_sun_altitude_deg)
    start_utc, offsets_s, times = _grid(start_utc, duration_s, step_s)
    elevation_deg, range_m = _look(satellite, site, times)
    sun_deg = _sun_altitude_deg(site, times, _near(elevation_deg >= min_elevation_deg))
    margin = _margin(elevation_deg, sun_deg, min_elevation_deg, night_only, max_sun_altitude_deg)

    passes = []
    for i0, i1 in _runs(margin):
        rise_s, set_s, truncated = _edges(offsets_s, margin, i0, i1)
        culminate_s, max_elevation = _culmination(offsets_s, elevation_deg, i0, i1)
        run = slice(i0, i1 + 1)
        passes.append(
            Pass(
                satellite=satellite.name,
                station=site,
                window_start_utc=start_utc,
                rise_utc=start_utc + timedelta(seconds=rise_s),
                culminate_utc=start_utc + timedelta(seconds=culminate_s),
                set_utc=start_utc + timedelta(seconds=set_s),
                max_elevation_deg=max_elevation,
                time_s=offsets_s[run].copy(),
                elevation_deg=elevation_deg[run].copy(),
                slant_range_m=range_m[run].copy(),
                sun_altitude_deg=sun_deg[run].copy(),
                truncated=truncated,
            )
        )
    return passes


def common_visibility(
    satellite,
    *,
    station_a: Site,
    station_b: Site,
    start_utc: datetime,
    duration_s: float,
    step_s: float = 10.0,
    min_elevation_deg: float = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
) -> list[CommonWindow]:
    """Windows during which two sites see the satellite at the same time.

    Needed for entanglement downlinks, where each pair's two photons go to two
    stations at once. Parameters are those of :func:`find_passes`, with the
    two sites given as :class:`Site`; the elevation mask and night condition
    apply at both sites.

    Returns
    -------
    list of CommonWindow
        In time order.
    """
    for site in (station_a, station_b):
        if not isinstance(site, Site):
            raise ValueError(f"stations must be Site objects, got {type(site).__name__}")
    _check_window(start_utc, duration_s, step_s, min_elevation_deg, max_sun_altitude_deg)
    start_utc, offsets_s, times = _grid(start_utc, duration_s, step_s)
    elevation_a, range_a = _look(satellite, station_a, times)
    elevation_b, range_b = _look(satellite, station_b, times)
    both = _near((elevation_a >= min_elevation_deg) & (elevation_b >= min_elevation_deg))
    sun_a = _sun_altitude_deg(station_a, times, both)
    sun_b = _sun_altitude_deg(station_b, times, both)
    margin = np.minimum(
        _margin(elevation_a, sun_a, min_elevation_deg, night_only, max_sun_altitude_deg),
        _margin(elevation_b, sun_b, min_elevation_deg, night_only, max_sun_altitude_deg),
    )

    windows = []
    for i0, i1 in _runs(margin):
        begin_s, end_s, truncated = _edges(offsets_s, margin, i0, i1)
        run = slice(i0, i1 + 1)
        windows.append(
            CommonWindow(
                satellite=satellite.name,
                station_a=station_a,
                station_b=station_b,
                window_start_utc=start_utc,
                start_utc=start_utc + timedelta(seconds=begin_s),
                end_utc=start_utc + timedelta(seconds=end_s),
                time_s=offsets_s[run].copy(),
                elevation_a_deg=elevation_a[run].copy(),
                elevation_b_deg=elevation_b[run].copy(),
                slant_range_a_m=range_a[run].copy(),
                slant_range_b_m=range_b[run].copy(),
                sun_altitude_a_deg=sun_a[run].copy(),
                sun_altitude_b_deg=sun_b[run].copy(),
                truncated=truncated,
            )
        )
    return windows
