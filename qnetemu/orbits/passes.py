"""Satellite passes over ground sites: elevation, slant range and the Sun.

The data types (:class:`Site`, :class:`Pass`, :class:`CommonWindow`) and the
one-site and two-site entry points. The geometry and the pass splitting live in
:mod:`qnetemu.orbits.visibility`, which computes many stations at once;
:func:`find_passes` and :func:`common_visibility` are thin wrappers over it, so
there is one implementation. See that module for how rise, culmination and set
are interpolated.

This module knows geometry only, nothing about QKD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

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


def check_window(start_utc, duration_s, step_s) -> None:
    """Raise ValueError unless the time window can be sampled."""
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


def check_mask(min_elevation_deg, max_sun_altitude_deg) -> None:
    """Raise ValueError unless the elevation mask and Sun limit are usable."""
    if not -90.0 <= min_elevation_deg < 90.0:
        raise ValueError(f"min_elevation_deg must be in [-90, 90), got {min_elevation_deg}")
    if not math.isfinite(max_sun_altitude_deg):
        raise ValueError("max_sun_altitude_deg must be finite")


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
    # visibility imports this module's data types, hence the late import.
    from qnetemu.orbits.visibility import passes_from_geometry, station_geometry

    site = Site(station_lat_deg, station_lon_deg, station_elevation_m, station_name)
    check_mask(min_elevation_deg, max_sun_altitude_deg)
    geom = station_geometry(
        satellite, [site], start_utc=start_utc, duration_s=duration_s, step_s=step_s
    )
    return passes_from_geometry(
        geom,
        0,
        min_elevation_deg=min_elevation_deg,
        night_only=night_only,
        max_sun_altitude_deg=max_sun_altitude_deg,
    )


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
    from qnetemu.orbits.visibility import common_windows_from_geometry, station_geometry

    for site in (station_a, station_b):
        if not isinstance(site, Site):
            raise ValueError(f"stations must be Site objects, got {type(site).__name__}")
    check_mask(min_elevation_deg, max_sun_altitude_deg)
    geom = station_geometry(
        satellite,
        [station_a, station_b],
        start_utc=start_utc,
        duration_s=duration_s,
        step_s=step_s,
    )
    return common_windows_from_geometry(
        geom,
        0,
        1,
        min_elevation_deg_i=min_elevation_deg,
        min_elevation_deg_j=min_elevation_deg,
        night_only=night_only,
        max_sun_altitude_deg=max_sun_altitude_deg,
    )
