"""Satellites for skyfield, built from orbital elements or a two-line element set.

Everything here works offline: the timescale uses skyfield's built-in leap-second
and Delta T tables, and the Sun/Earth ephemeris (JPL DE421) is read from the
``skyfield-data`` package. Nothing is ever downloaded at run time.

Propagation uses SGP4 (Hoots & Roehrich, Spacetrack Report #3, 1980; the revised
implementation of Vallado, Crawford, Hujsak & Kelso, "Revisiting Spacetrack
Report #3", AIAA 2006-6753, doi:10.2514/6.2006-6753) through skyfield's
:class:`~skyfield.sgp4lib.EarthSatellite`. Satellites built from elements carry
no drag term (``bstar = 0``), so their orbits do not decay: fine for the
days-long windows used for pass statistics, not for mission lifetimes.
"""

from __future__ import annotations

import functools
import math
import warnings
from datetime import UTC, datetime

import numpy as np
from sgp4.api import WGS72, Satrec
from sgp4.earth_gravity import wgs72
from skyfield.api import EarthSatellite, Loader, load

__all__ = [
    "EARTH_GM_M3_PER_S2",
    "EARTH_J2",
    "EARTH_EQUATORIAL_RADIUS_M",
    "MIN_PERIGEE_ALTITUDE_KM",
    "ephemeris",
    "ephemeris_range_utc",
    "orbital_period_s",
    "satellite_from_elements",
    "satellite_from_tle",
    "sun_synchronous_inclination_deg",
    "timescale",
]

#: Earth's gravitational parameter GM [m^3/s^2] (IERS Conventions 2010,
#: IERS Technical Note 36, Table 1.1).
EARTH_GM_M3_PER_S2 = 3.986004418e14
#: Earth's dynamic form factor J2 (IERS Conventions 2010, Table 1.1).
EARTH_J2 = 1.0826359e-3
#: Earth's equatorial radius [m] (IERS Conventions 2010, Table 1.1).
EARTH_EQUATORIAL_RADIUS_M = 6_378_136.6
#: Length of the tropical year [s] (365.24219 mean solar days).
TROPICAL_YEAR_S = 365.24219 * 86_400.0
#: Lowest perigee altitude accepted [km]: below roughly 160 km atmospheric drag
#: brings a satellite down within days, so SGP4 without drag is meaningless.
MIN_PERIGEE_ALTITUDE_KM = 160.0
#: Largest apogee altitude accepted [km]: Earth's Hill sphere (about 1.5 million
#: km); beyond it the Sun, not the Earth, governs the orbit.
MAX_APOGEE_ALTITUDE_KM = 1.4e6

# SGP4 works in WGS-72 constants; the mean motion handed to it uses the same
# GM and radius so that "altitude 500 km" means what SGP4 will propagate.
_SGP4_GM_KM3_PER_S2 = wgs72.mu
_SGP4_RADIUS_KM = wgs72.radiusearthkm
_SGP4_EPOCH_ZERO = datetime(1949, 12, 31, tzinfo=UTC)


@functools.cache
def timescale():
    """Skyfield timescale built from the tables shipped with skyfield (no download)."""
    return load.timescale(builtin=True)


@functools.cache
def ephemeris():
    """JPL DE421 ephemeris read from the ``skyfield-data`` package (no download).

    Returns
    -------
    skyfield.jpllib.SpiceKernel
        Kernel with at least ``"earth"`` and ``"sun"``.
    """
    from skyfield_data import get_skyfield_data_path

    with warnings.catch_warnings():
        # skyfield-data warns that its Earth-orientation file is old; we use the
        # builtin timescale instead, and DE421 itself never expires.
        warnings.simplefilter("ignore", RuntimeWarning)
        path = get_skyfield_data_path()
    loader = Loader(path, verbose=False, expire=False)
    return loader("de421.bsp")


@functools.cache
def ephemeris_range_utc() -> tuple[datetime, datetime]:
    """First and last instant (UTC) that :func:`ephemeris` covers: Sun positions outside fail."""
    segments = ephemeris().spk.segments
    ts = timescale()
    first = ts.tdb_jd(max(s.start_jd for s in segments)).utc_datetime()
    last = ts.tdb_jd(min(s.end_jd for s in segments)).utc_datetime()
    return first, last


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def orbital_period_s(altitude_km, eccentricity=0.0):
    """Keplerian orbital period for a given mean altitude.

    Parameters
    ----------
    altitude_km : float or array_like
        Semi-major axis minus the Earth's equatorial radius. [km]
    eccentricity : float, optional
        Orbital eccentricity (does not change the period; checked only). [-]

    Returns
    -------
    float or numpy.ndarray
        Period ``T = 2 pi sqrt(a^3 / GM)`` (Kepler's third law). [s]

    Notes
    -----
    Uses GM and the equatorial radius from the IERS Conventions 2010, Table 1.1.
    J2 changes the anomalistic period of a 500 km orbit by about 0.1 %.
    """
    altitude_km = np.asarray(altitude_km, dtype=float)
    if not np.all(np.isfinite(altitude_km)) or np.any(altitude_km <= -6000.0):
        raise ValueError("altitude_km must be finite and above the Earth's centre")
    if not 0.0 <= float(eccentricity) < 1.0:
        raise ValueError(f"eccentricity must be in [0, 1), got {eccentricity!r}")
    a_m = EARTH_EQUATORIAL_RADIUS_M + altitude_km * 1e3
    period = 2.0 * np.pi * np.sqrt(a_m**3 / EARTH_GM_M3_PER_S2)
    return period[()] if period.ndim == 0 else period


def sun_synchronous_inclination_deg(altitude_km, eccentricity=0.0):
    """Inclination that makes the J2 nodal precession follow the mean Sun.

    Parameters
    ----------
    altitude_km : float or array_like
        Semi-major axis minus the Earth's equatorial radius. [km]
    eccentricity : float, optional
        Orbital eccentricity, in [0, 1). [-]

    Returns
    -------
    float or numpy.ndarray
        Retrograde inclination (between 90 and 180 degrees). [deg]

    Raises
    ------
    ValueError
        If the altitude is not finite or non-positive, the eccentricity is not in
        [0, 1), or no sun-synchronous orbit exists (above about 5,970 km the J2
        precession is too slow even for a polar-retrograde orbit).

    Notes
    -----
    Secular J2 nodal regression (Vallado, *Fundamentals of Astrodynamics and
    Applications*, 4th ed., 2013, Sec. 9.6, eq. 9-41):

    .. math:: \\dot\\Omega = -\\frac{3}{2} n J_2 \\left(\\frac{R_e}{p}\\right)^2 \\cos i,
              \\quad n = \\sqrt{GM/a^3},\\ p = a (1 - e^2)

    Setting :math:`\\dot\\Omega = 2\\pi / (1\\ \\text{tropical year})` and solving for
    :math:`i` gives the sun-synchronous inclination; at 500 km it is 97.4 deg.
    Constants from the IERS Conventions 2010, Table 1.1.
    """
    altitude_km = np.asarray(altitude_km, dtype=float)
    if not np.all(np.isfinite(altitude_km)) or np.any(altitude_km <= 0.0):
        raise ValueError(f"altitude_km must be finite and positive, got {altitude_km!r}")
    if not 0.0 <= float(eccentricity) < 1.0:
        raise ValueError(f"eccentricity must be in [0, 1), got {eccentricity!r}")
    a_m = EARTH_EQUATORIAL_RADIUS_M + altitude_km * 1e3
    p_m = a_m * (1.0 - float(eccentricity) ** 2)
    n_rad_per_s = np.sqrt(EARTH_GM_M3_PER_S2 / a_m**3)
    node_rate_rad_per_s = 2.0 * np.pi / TROPICAL_YEAR_S
    cos_i = (
        -2.0
        * node_rate_rad_per_s
        * p_m**2
        / (3.0 * n_rad_per_s * EARTH_J2 * EARTH_EQUATORIAL_RADIUS_M**2)
    )
    if np.any(cos_i < -1.0):
        raise ValueError(
            f"no sun-synchronous orbit exists at altitude {altitude_km} km "
            "(J2 precession too slow above about 5,970 km)"
        )
    inclination = np.degrees(np.arccos(cos_i))
    return inclination[()] if inclination.ndim == 0 else inclination


def satellite_from_elements(
    name: str,
    *,
    altitude_km: float,
    inclination_deg: float,
    raan_deg: float,
    epoch_utc: datetime,
    mean_anomaly_deg: float = 0.0,
    eccentricity: float = 0.0,
    arg_perigee_deg: float = 0.0,
    catalog_number: int = 99999,
) -> EarthSatellite:
    """Build an SGP4 satellite from mean orbital elements.

    Parameters
    ----------
    name : str
        Name given to the satellite.
    altitude_km : float
        Semi-major axis minus the WGS-72 equatorial radius (6378.135 km). [km]
    inclination_deg : float
        Inclination, in [0, 180]. [deg]
    raan_deg : float
        Right ascension of the ascending node at epoch. [deg]
    epoch_utc : datetime.datetime
        Epoch of the elements; must be timezone-aware.
    mean_anomaly_deg : float, optional
        Mean anomaly at epoch; for a circular orbit with ``arg_perigee_deg = 0``
        this is the argument of latitude. [deg]
    eccentricity : float, optional
        Eccentricity, in [0, 1). [-]
    arg_perigee_deg : float, optional
        Argument of perigee. [deg]
    catalog_number : int, optional
        NORAD catalogue number recorded in the SGP4 record.

    Returns
    -------
    skyfield.sgp4lib.EarthSatellite

    Raises
    ------
    ValueError
        If a value is not finite, the perigee is below 160 km (the atmosphere),
        the apogee is beyond Earth's Hill sphere or the orbit is not bound
        (eccentricity outside [0, 1)), the inclination is outside [0, 180] deg,
        the epoch is naive, or SGP4 rejects the elements.

    Notes
    -----
    Mean motion from Kepler's third law, ``n = sqrt(GM / a^3)``, with the WGS-72
    GM = 398600.8 km^3/s^2 that SGP4 itself uses (Vallado et al. 2006,
    AIAA 2006-6753). No drag (``bstar = 0``).
    """
    altitude_km = _finite("altitude_km", altitude_km)
    inclination_deg = _finite("inclination_deg", inclination_deg)
    raan_deg = _finite("raan_deg", raan_deg)
    mean_anomaly_deg = _finite("mean_anomaly_deg", mean_anomaly_deg)
    arg_perigee_deg = _finite("arg_perigee_deg", arg_perigee_deg)
    eccentricity = _finite("eccentricity", eccentricity)
    if not 0.0 <= eccentricity < 1.0:
        raise ValueError(
            f"eccentricity must be in [0, 1) for an orbit bound to the Earth, got {eccentricity}"
        )
    if not 0.0 <= inclination_deg <= 180.0:
        raise ValueError(f"inclination_deg must be in [0, 180], got {inclination_deg}")
    if not isinstance(epoch_utc, datetime) or epoch_utc.tzinfo is None:
        raise ValueError(
            "epoch_utc must be a timezone-aware datetime, e.g. datetime(..., tzinfo=timezone.utc)"
        )
    a_km = _SGP4_RADIUS_KM + altitude_km
    perigee_km = a_km * (1.0 - eccentricity) - _SGP4_RADIUS_KM
    apogee_km = a_km * (1.0 + eccentricity) - _SGP4_RADIUS_KM
    if perigee_km < MIN_PERIGEE_ALTITUDE_KM:
        raise ValueError(
            f"perigee altitude {perigee_km:.1f} km is below {MIN_PERIGEE_ALTITUDE_KM:.0f} km: "
            "the satellite would re-enter the atmosphere"
        )
    if apogee_km > MAX_APOGEE_ALTITUDE_KM:
        raise ValueError(
            f"apogee altitude {apogee_km:.3g} km is beyond Earth's Hill sphere "
            f"({MAX_APOGEE_ALTITUDE_KM:.2g} km): the orbit is not bound to the Earth"
        )

    mean_motion_rad_per_min = math.sqrt(_SGP4_GM_KM3_PER_S2 / a_km**3) * 60.0
    epoch_days = (epoch_utc - _SGP4_EPOCH_ZERO).total_seconds() / 86_400.0
    satrec = Satrec()
    satrec.sgp4init(
        WGS72,
        "i",
        int(catalog_number),
        epoch_days,
        0.0,  # bstar: no drag
        0.0,  # ndot
        0.0,  # nddot
        eccentricity,
        math.radians(arg_perigee_deg % 360.0),
        math.radians(inclination_deg),
        math.radians(mean_anomaly_deg % 360.0),
        mean_motion_rad_per_min,
        math.radians(raan_deg % 360.0),
    )
    if satrec.error != 0:
        raise ValueError(f"SGP4 rejected the elements of {name!r} (error code {satrec.error})")
    satellite = EarthSatellite.from_satrec(satrec, timescale())
    satellite.name = name
    return satellite


def _tle_checksum(line: str) -> int:
    # Modulo-10 sum of the digits, with each minus sign counting as 1
    # (Spacetrack Report #3 / CelesTrak TLE format).
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line[:68]) % 10


def satellite_from_tle(name: str, line1: str, line2: str) -> EarthSatellite:
    """Build a satellite from a two-line element set.

    Parameters
    ----------
    name : str
        Name given to the satellite.
    line1, line2 : str
        The two 69-character TLE lines.

    Returns
    -------
    skyfield.sgp4lib.EarthSatellite

    Raises
    ------
    ValueError
        If a line has the wrong length or line number, a checksum does not match,
        the two lines name different satellites, or SGP4 cannot use the elements.
    """
    lines = []
    for number, line in ((1, line1), (2, line2)):
        if not isinstance(line, str):
            raise ValueError(f"TLE line {number} of {name!r} must be a string")
        line = line.rstrip()
        if len(line) != 69:
            raise ValueError(
                f"TLE line {number} of {name!r} must be 69 characters long, got {len(line)}"
            )
        if not line.startswith(f"{number} "):
            raise ValueError(f"TLE line {number} of {name!r} must start with '{number} '")
        if not line[68].isdigit() or int(line[68]) != _tle_checksum(line):
            raise ValueError(
                f"TLE line {number} of {name!r} fails its checksum "
                f"(expected {_tle_checksum(line)}, found {line[68]!r})"
            )
        lines.append(line)
    if lines[0][2:7] != lines[1][2:7]:
        raise ValueError(
            f"TLE lines of {name!r} name different satellites "
            f"({lines[0][2:7]!r} and {lines[1][2:7]!r})"
        )
    try:
        satrec = Satrec.twoline2rv(lines[0], lines[1], WGS72)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"TLE of {name!r} does not parse: {exc}") from exc
    if satrec.error != 0:
        raise ValueError(f"SGP4 rejected the TLE of {name!r} (error code {satrec.error})")
    satellite = EarthSatellite.from_satrec(satrec, timescale())
    satellite.name = name
    return satellite
