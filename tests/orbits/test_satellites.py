"""Satellites from elements and TLEs, sun-synchronous inclination, offline data."""

from __future__ import annotations

import math
import socket
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.orbits import satellites
from qnetemu.orbits.satellites import (
    orbital_period_s,
    satellite_from_elements,
    satellite_from_tle,
    sun_synchronous_inclination_deg,
    timescale,
)

EPOCH = datetime(2026, 3, 20, tzinfo=UTC)

# ISS element set printed in skyfield's documentation (earth-satellites page).
ISS_LINE1 = "1 25544U 98067A   14020.93268519  .00009878  00000-0  18200-3 0  5082"
ISS_LINE2 = "2 25544  51.6498 109.4756 0003572  55.9686 274.8005 15.49815350868473"


@pytest.mark.parametrize(
    ("altitude_km", "expected_deg", "tolerance_deg"),
    [
        # Vallado, Fundamentals of Astrodynamics (4th ed.), Sec. 9.6: 97.4 deg
        # near 500 km, the value quoted for Micius-class orbits.
        (500.0, 97.40, 0.02),
        # Landsat 8 (USGS Landsat 8 Data Users Handbook): 705 km, 98.2 deg.
        (705.0, 98.2, 0.05),
    ],
)
def test_sun_synchronous_inclination_matches_published(altitude_km, expected_deg, tolerance_deg):
    """J2 precession of one turn per tropical year: published SSO inclinations."""
    assert_allclose(sun_synchronous_inclination_deg(altitude_km), expected_deg, atol=tolerance_deg)


def test_sun_synchronous_inclination_round_trip():
    """The returned inclination gives a nodal rate of 360 deg per tropical year (Vallado eq. 9-41)."""
    altitude_km = np.array([300.0, 600.0, 1200.0, 3000.0])
    inclination = np.radians(sun_synchronous_inclination_deg(altitude_km))
    a_m = satellites.EARTH_EQUATORIAL_RADIUS_M + altitude_km * 1e3
    n = np.sqrt(satellites.EARTH_GM_M3_PER_S2 / a_m**3)
    node_rate = (
        -1.5 * n * satellites.EARTH_J2 * (satellites.EARTH_EQUATORIAL_RADIUS_M / a_m) ** 2
    ) * np.cos(inclination)
    assert_allclose(node_rate, 2 * np.pi / satellites.TROPICAL_YEAR_S, rtol=1e-12)


@pytest.mark.parametrize("altitude_km", [-10.0, 0.0, 7000.0, math.nan])
def test_sun_synchronous_inclination_rejects_impossible(altitude_km):
    """No SSO at or below the surface, above ~5,970 km, or for NaN."""
    with pytest.raises(ValueError):
        sun_synchronous_inclination_deg(altitude_km)


@pytest.mark.parametrize(
    ("altitude_km", "expected_min"),
    [(500.0, 94.6), (35_786.0, 1436.07)],  # LEO textbook value; geostationary = 1 sidereal day
)
def test_orbital_period(altitude_km, expected_min):
    """Kepler's third law: 94.6 min at 500 km, one sidereal day (1436.07 min) at GEO."""
    assert_allclose(orbital_period_s(altitude_km) / 60.0, expected_min, atol=0.05)


def test_elements_give_the_requested_orbit():
    """SGP4 record carries the elements; position at epoch is the ascending node.

    A circular orbit with mean anomaly 0 and argument of perigee 0 starts at the
    ascending node: declination 0 and right ascension (of date) = RAAN; a
    quarter period later the declination equals the inclination (i <= 90 deg).
    Geocentric distance = R_e(WGS-72) + altitude within SGP4's short-period
    terms (a few km).
    """
    sat = satellite_from_elements(
        "test", altitude_km=600.0, inclination_deg=53.0, raan_deg=40.0, epoch_utc=EPOCH
    )
    assert sat.name == "test"
    assert_allclose(math.degrees(sat.model.inclo), 53.0, rtol=1e-12)
    assert_allclose(2 * math.pi / sat.model.no_kozai, orbital_period_s(600.0) / 60.0, rtol=1e-4)
    ts = timescale()
    quarter = timedelta(seconds=orbital_period_s(600.0) / 4)
    t = ts.from_datetimes([EPOCH, EPOCH + quarter])
    position = sat.at(t)
    ra, dec, distance = position.radec(epoch="date")
    assert_allclose(dec.degrees, [0.0, 53.0], atol=0.3)
    assert_allclose(ra.hours[0] * 15.0, 40.0, atol=0.3)
    assert_allclose(distance.km, 6378.135 + 600.0, atol=15.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"altitude_km": 120.0},  # inside the atmosphere
        {"altitude_km": 2.0e6},  # beyond the Hill sphere
        {"altitude_km": math.nan},
        {"inclination_deg": 180.5},
        {"inclination_deg": -1.0},
        {"eccentricity": 1.0},  # parabolic: not bound
        {"eccentricity": -0.1},
        {"altitude_km": 500.0, "eccentricity": 0.1},  # perigee below the surface
        {"epoch_utc": datetime(2026, 3, 20)},  # naive datetime
    ],
)
def test_bad_elements_raise(kwargs):
    """Impossible or ambiguous orbits are refused with ValueError."""
    args = {
        "altitude_km": 500.0,
        "inclination_deg": 97.4,
        "raan_deg": 0.0,
        "epoch_utc": EPOCH,
    } | kwargs
    with pytest.raises(ValueError):
        satellite_from_elements("bad", **args)


def test_tle_parses():
    """The ISS TLE gives inclination 51.6498 deg and 15.4981535 revolutions per day."""
    sat = satellite_from_tle("ISS", ISS_LINE1, ISS_LINE2)
    assert_allclose(math.degrees(sat.model.inclo), 51.6498, rtol=1e-9)
    assert_allclose(sat.model.no_kozai * 1440 / (2 * math.pi), 15.49815350, rtol=1e-9)


def _flip_digit(line: str, index: int) -> str:
    return line[:index] + str((int(line[index]) + 1) % 10) + line[index + 1 :]


def _with_checksum(line: str) -> str:
    """Line with a valid modulo-10 checksum (digits, '-' counts 1)."""
    total = sum(int(c) if c.isdigit() else (c == "-") for c in line[:68])
    return line[:68] + str(total % 10)


@pytest.mark.parametrize(
    ("line1", "line2"),
    [
        (_flip_digit(ISS_LINE1, 20), ISS_LINE2),  # epoch digit changed: checksum fails
        (ISS_LINE1, _flip_digit(ISS_LINE2, 68)),  # checksum digit changed
        (ISS_LINE1[:60], ISS_LINE2),  # truncated
        (ISS_LINE2, ISS_LINE1),  # swapped
        (ISS_LINE1, _with_checksum(ISS_LINE2.replace("25544", "25545", 1))),  # other satellite
        ("garbage", "more garbage"),
    ],
)
def test_bad_tle_raises(line1, line2):
    """Malformed TLEs are refused with ValueError, not silently propagated."""
    with pytest.raises(ValueError):
        satellite_from_tle("bad", line1, line2)


def test_everything_builds_offline(monkeypatch):
    """Timescale, DE421 and satellites load with every network connection refused."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr("skyfield.iokit.urlopen", refuse)
    satellites.timescale.cache_clear()
    satellites.ephemeris.cache_clear()
    try:
        eph = satellites.ephemeris()
        sat = satellite_from_elements(
            "offline", altitude_km=500.0, inclination_deg=97.4, raan_deg=0.0, epoch_utc=EPOCH
        )
        t = timescale().from_datetime(EPOCH)
        sun_distance_au = (eph["sun"] - eph["earth"]).at(t).distance().au
        assert_allclose(sun_distance_au, 0.996, atol=0.002)  # near-equinox Earth-Sun distance
        assert sat.at(t).distance().km > 6000.0
    finally:
        satellites.timescale.cache_clear()
        satellites.ephemeris.cache_clear()
