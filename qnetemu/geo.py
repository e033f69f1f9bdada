"""Great-circle geometry on a spherical Earth.

Used to estimate fibre routes and ground distances between sites. The
sphere has the IUGG mean Earth radius
(:data:`qnetemu.constants.EARTH_RADIUS_M`); against the WGS84 ellipsoid the
error is at most about 0.5 %, far below the uncertainty of where a fibre
actually runs.
"""

from __future__ import annotations

import numpy as np

from qnetemu.constants import EARTH_RADIUS_M
from qnetemu.physics.fibre import _checked, _out

__all__ = ["great_circle_distance_km", "intermediate_points", "points_along", "polyline_length_km"]

_EARTH_RADIUS_KM = EARTH_RADIUS_M / 1e3


def _lat_lon(lat_deg, lon_deg, which: str) -> tuple[np.ndarray, np.ndarray]:
    lat = _checked(lat_deg, f"lat{which}_deg", lower=-90.0, upper=90.0)
    lon = _checked(lon_deg, f"lon{which}_deg")
    return np.radians(lat), np.radians(lon)


def _central_angle_rad(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Haversine central angle; stable for nearby points, unlike the cosine law."""
    half = (np.sin(0.5 * (lat2 - lat1)) ** 2
            + np.cos(lat1) * np.cos(lat2) * np.sin(0.5 * (lon2 - lon1)) ** 2)
    # Rounding can push the haversine a hair above 1 for antipodes.
    return 2.0 * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0)))


def great_circle_distance_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg):
    """Great-circle (orthodromic) distance between two points.

    Parameters
    ----------
    lat1_deg, lon1_deg : array_like
        Latitude in [-90, 90] and longitude of the first point. [deg]
    lat2_deg, lon2_deg : array_like
        Latitude and longitude of the second point. [deg]

    Returns
    -------
    distance_km : numpy.ndarray or numpy.float64
        :math:`2R\\arcsin\\sqrt{\\sin^2\\frac{\\Delta\\varphi}{2} +
        \\cos\\varphi_1\\cos\\varphi_2\\sin^2\\frac{\\Delta\\lambda}{2}}`,
        broadcast over the inputs. [km]

    References
    ----------
    R. W. Sinnott, "Virtues of the haversine", Sky and Telescope 68(2), 159
    (1984).
    """
    lat1, lon1 = _lat_lon(lat1_deg, lon1_deg, "1")
    lat2, lon2 = _lat_lon(lat2_deg, lon2_deg, "2")
    return _out(np.asarray(_EARTH_RADIUS_KM * _central_angle_rad(lat1, lon1, lat2, lon2)))


def _unit_vector(lat, lon) -> np.ndarray:
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)],
                    axis=-1)


def intermediate_points(lat1_deg, lon1_deg, lat2_deg, lon2_deg, n):
    """Evenly spaced interior points on the great circle between two points.

    Parameters
    ----------
    lat1_deg, lon1_deg : array_like
        First end point. [deg]
    lat2_deg, lon2_deg : array_like
        Second end point. [deg]
    n : int
        Number of interior points, >= 0. They split the arc into ``n + 1``
        equal pieces; the end points are not included.

    Returns
    -------
    lats_deg, lons_deg : numpy.ndarray
        Arrays of shape ``broadcast_shape + (n,)``; longitudes in
        (-180, 180]. [deg]

    Raises
    ------
    ValueError
        For invalid coordinates, a negative or non-integer ``n``, or
        antipodal end points (the great circle through them is not unique).

    Notes
    -----
    Spherical linear interpolation of the end points' unit vectors:
    :math:`\\mathbf{p}(f) = [\\sin((1-f)\\delta)\\,\\mathbf{a} +
    \\sin(f\\delta)\\,\\mathbf{b}] / \\sin\\delta` with :math:`\\delta` the
    central angle (K. Shoemake, SIGGRAPH '85, "Animating rotation with
    quaternion curves", https://doi.org/10.1145/325165.325242).
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    lat1, lon1 = _lat_lon(lat1_deg, lon1_deg, "1")
    lat2, lon2 = _lat_lon(lat2_deg, lon2_deg, "2")
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(lat1, lon1, lat2, lon2)
    delta = _central_angle_rad(lat1, lon1, lat2, lon2)
    sin_delta = np.sin(delta)
    # Antipodes: sin(delta) ~ 0 with delta ~ pi; coincident points are fine.
    if np.any((sin_delta < 1e-12) & (delta > 1.0)):
        raise ValueError("end points are antipodal: the great circle between them is not unique")
    a = _unit_vector(lat1, lon1)[..., np.newaxis, :]
    b = _unit_vector(lat2, lon2)[..., np.newaxis, :]
    frac = np.arange(1, n + 1) / (n + 1)
    d = delta[..., np.newaxis]
    sd = sin_delta[..., np.newaxis]
    coincident = sd < 1e-12
    safe_sd = np.where(coincident, 1.0, sd)
    wa = np.where(coincident, 1.0 - frac, np.sin((1.0 - frac) * d) / safe_sd)[..., np.newaxis]
    wb = np.where(coincident, frac, np.sin(frac * d) / safe_sd)[..., np.newaxis]
    p = wa * a + wb * b
    lats = np.degrees(np.arctan2(p[..., 2], np.hypot(p[..., 0], p[..., 1])))
    lons = np.degrees(np.arctan2(p[..., 1], p[..., 0]))
    return lats, lons


def polyline_length_km(lat_deg, lon_deg) -> float:
    """Length of a polyline of great-circle arcs through the given vertices. [km]

    Examples
    --------
    >>> round(polyline_length_km([0.0, 0.0, 1.0], [0.0, 1.0, 1.0]), 1)   # two 1-degree arcs
    222.4
    """
    lat = np.asarray(lat_deg, dtype=float).reshape(-1)
    lon = np.asarray(lon_deg, dtype=float).reshape(-1)
    if lat.size < 2 or lat.shape != lon.shape:
        raise ValueError("a polyline needs at least two vertices with a latitude and longitude each")
    return float(np.sum(great_circle_distance_km(lat[:-1], lon[:-1], lat[1:], lon[1:])))


def points_along(lat_deg, lon_deg, fractions):
    """Points at given fractions of the length of a polyline of great-circle arcs.

    Parameters
    ----------
    lat_deg, lon_deg : array_like
        The polyline's vertices, at least two, from its start. [deg]
    fractions : array_like
        Where, as fractions of the total length in [0, 1].

    Returns
    -------
    lats_deg, lons_deg : numpy.ndarray
        One point per fraction, on the arc that holds it, placed by the
        spherical linear interpolation of :func:`intermediate_points`. [deg]

    Examples
    --------
    >>> lats, lons = points_along([0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.25, 0.75])
    >>> [round(float(x), 6) for x in (*lats, *lons)]
    [0.0, 0.5, 0.5, 1.0]
    """
    lat = np.asarray(lat_deg, dtype=float).reshape(-1)
    lon = np.asarray(lon_deg, dtype=float).reshape(-1)
    frac = np.asarray(fractions, dtype=float).reshape(-1)
    if lat.size < 2 or lat.shape != lon.shape:
        raise ValueError("a polyline needs at least two vertices with a latitude and longitude each")
    if np.any(~np.isfinite(frac)) or np.any((frac < 0.0) | (frac > 1.0)):
        raise ValueError("fractions must lie in [0, 1]")
    rlat, rlon = _lat_lon(lat, lon, "")
    arc = np.atleast_1d(_central_angle_rad(rlat[:-1], rlon[:-1], rlat[1:], rlon[1:]))
    cum = np.concatenate([[0.0], np.cumsum(arc)])
    target = frac * cum[-1]
    k = np.clip(np.searchsorted(cum, target, side="right") - 1, 0, arc.size - 1)
    delta = arc[k]
    local = np.where(delta > 0.0, (target - cum[k]) / np.where(delta > 0.0, delta, 1.0), 0.0)
    a = _unit_vector(rlat[k], rlon[k])
    b = _unit_vector(rlat[k + 1], rlon[k + 1])
    sd = np.sin(delta)
    small = sd < 1e-12
    safe = np.where(small, 1.0, sd)
    wa = np.where(small, 1.0 - local, np.sin((1.0 - local) * delta) / safe)[:, np.newaxis]
    wb = np.where(small, local, np.sin(local * delta) / safe)[:, np.newaxis]
    p = wa * a + wb * b
    lats = np.degrees(np.arctan2(p[:, 2], np.hypot(p[:, 0], p[:, 1])))
    lons = np.degrees(np.arctan2(p[:, 1], p[:, 0]))
    return lats, lons
