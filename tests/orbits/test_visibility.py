"""Multi-station geometry: agreement with skyfield per station, passes, common windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from numpy.testing import assert_allclose
from skyfield.api import wgs84

from qnetemu.orbits.passes import Site, find_passes
from qnetemu.orbits.satellites import (
    ephemeris,
    satellite_from_elements,
    sun_synchronous_inclination_deg,
    timescale,
)
from qnetemu.orbits.visibility import (
    StationGeometry,
    common_windows_by_pair,
    common_windows_from_geometry,
    passes_by_station,
    passes_from_geometry,
    station_geometry,
    wgs84_itrs_m,
)

# Night orbit as in test_passes.py: 500 km SSO, ascending node at 22:30 LMST.
EPOCH = datetime(2026, 3, 20, tzinfo=UTC)
DAY_S = 86_400.0
STEP_S = 10.0
# EuroQCI-like optical ground stations: mainland, high north, and the overseas
# territories (Canaries, Réunion, French Guiana) that fibre cannot reach.
STATIONS = [
    Site(40.6486, 16.7046, 536.0, "Matera"),
    Site(28.2997, -16.5097, 2390.0, "Tenerife"),
    Site(60.2172, 24.3946, 60.0, "Metsahovi"),
    Site(-21.2081, 55.5706, 2200.0, "Reunion"),
    Site(5.1597, -52.6503, 10.0, "Kourou"),
]
MASKS_DEG = np.array([10.0, 15.0, 20.0, 10.0, 25.0])


@pytest.fixture(scope="module")
def sso():
    return satellite_from_elements(
        "sso500",
        altitude_km=500.0,
        inclination_deg=sun_synchronous_inclination_deg(500.0),
        raan_deg=157.5,
        epoch_utc=EPOCH,
    )


@pytest.fixture(scope="module")
def geom(sso):
    return station_geometry(sso, STATIONS, start_utc=EPOCH, duration_s=DAY_S, step_s=STEP_S)


@pytest.fixture(scope="module")
def skyfield_grid(geom):
    """skyfield's Time for the geometry's grid, shared so nutation is computed once."""
    return timescale().utc(2026, 3, 20, 0, 0, geom.time_s)


def _topos(site):
    return wgs84.latlon(site.latitude_deg, site.longitude_deg, elevation_m=site.elevation_m)


@pytest.fixture(scope="module")
def skyfield_look(sso, skyfield_grid):
    """Elevation [deg] and range [m] from skyfield, one station at a time (the old path)."""
    looks = [(sso - _topos(site)).at(skyfield_grid).altaz() for site in STATIONS]
    return (
        np.array([alt.degrees for alt, _, _ in looks]),
        np.array([distance.m for _, _, distance in looks]),
    )


def test_grid_and_shapes(geom):
    """One day at 10 s is 8,641 samples; arrays are (stations, samples)."""
    assert geom.names == [s.name for s in STATIONS]
    assert_allclose(geom.time_s, np.arange(8641) * STEP_S)
    for array in (geom.elevation_deg, geom.slant_range_m, geom.sun_altitude_deg):
        assert array.shape == (len(STATIONS), 8641)
        assert np.all(np.isfinite(array))


@pytest.mark.parametrize("k", range(len(STATIONS)), ids=[s.name for s in STATIONS])
def test_look_angles_match_skyfield(geom, skyfield_look, k):
    """Elevation and slant range equal skyfield's ``(sat - topos).at(t).altaz()``.

    Same SGP4 and frames, so only the hourly-interpolated nutation (about 1e-5
    arcsec) and rounding differ: required within 0.01 deg and 10 m (brief),
    and in practice they agree to micro-degrees, so check 1e-4 deg / 0.1 m
    everywhere, including the zenith region where atan2 replaces arcsin.
    """
    elevation_deg, range_m = skyfield_look
    assert_allclose(geom.elevation_deg[k], elevation_deg[k], rtol=0, atol=1e-4)
    assert_allclose(geom.slant_range_m[k], range_m[k], rtol=0, atol=0.1)


@pytest.mark.parametrize("k", range(len(STATIONS)), ids=[s.name for s in STATIONS])
def test_sun_altitude_matches_skyfield(geom, skyfield_grid, k):
    """Sun altitude equals skyfield's topocentric apparent altitude, no refraction.

    Reference: ``(earth + topos).at(t).observe(sun).apparent().altaz()`` at 97
    samples (every 15 min). The geometry uses the apparent geocentric Sun plus
    topocentric parallax, so it lacks only diurnal aberration (at most 0.32
    arcsec = 9e-5 deg). Tolerance 3e-4 deg: far inside the brief's 0.05 deg,
    and tight enough to catch a geometric instead of apparent Sun (annual
    aberration, 20 arcsec = 0.006 deg) or a missing parallax (8.8 arcsec).
    """
    index = np.arange(0, geom.time_s.size, 90)
    eph = ephemeris()
    alt, _, _ = (
        (eph["earth"] + _topos(STATIONS[k]))
        .at(skyfield_grid[index])
        .observe(eph["sun"])
        .apparent()
        .altaz()
    )
    assert_allclose(geom.sun_altitude_deg[k, index], alt.degrees, rtol=0, atol=3e-4)


def _passes_from_arrays(geom, elevation_deg, range_m, k, mask_deg):
    """Passes cut from skyfield's per-station arrays (the pre-vectorisation path)."""
    old = StationGeometry(
        satellite=geom.satellite,
        stations=geom.stations,
        start_utc=geom.start_utc,
        time_s=geom.time_s,
        elevation_deg=elevation_deg,
        slant_range_m=range_m,
        sun_altitude_deg=geom.sun_altitude_deg,
    )
    return passes_from_geometry(old, k, min_elevation_deg=mask_deg, night_only=False)


@pytest.mark.parametrize("k", range(len(STATIONS)), ids=[s.name for s in STATIONS])
def test_passes_equal_per_station_path(geom, skyfield_look, k):
    """Passes from the vectorised geometry equal those from skyfield per station.

    The per-station skyfield elevation is what ``find_passes`` sampled before
    the multi-station path existed; with the same splitting rules, rise,
    culmination and set must agree within 1 s (brief), and the sampled arrays
    to the look-angle tolerance above.
    """
    new = passes_from_geometry(geom, k, min_elevation_deg=MASKS_DEG[k], night_only=False)
    old = _passes_from_arrays(geom, *skyfield_look, k, MASKS_DEG[k])
    assert len(new) == len(old) >= 1
    for a, b in zip(new, old, strict=True):
        for field in ("rise_utc", "culminate_utc", "set_utc"):
            assert abs((getattr(a, field) - getattr(b, field)).total_seconds()) < 1.0
        assert_allclose(a.time_s, b.time_s)
        assert_allclose(a.elevation_deg, b.elevation_deg, rtol=0, atol=1e-4)


@pytest.mark.filterwarnings("ignore:Setting the dtype:DeprecationWarning")
@pytest.mark.parametrize("k", [0, 2, 4], ids=["Matera", "Metsahovi", "Kourou"])
def test_passes_match_skyfield_find_events(sso, geom, k):
    """Per-station masks: events agree with skyfield's root finder at that mask.

    ``EarthSatellite.find_events(topos, t0, t1, altitude_degrees=mask)`` bisects
    to sub-second precision: linear interpolation of 10 s samples is within
    1 s at rise/set, the culmination parabola within 3 s (as in test_passes).
    Only passes wholly inside the window are compared.
    """
    ts = timescale()
    times, events = sso.find_events(
        _topos(STATIONS[k]),
        ts.from_datetime(EPOCH),
        ts.from_datetime(EPOCH + timedelta(seconds=DAY_S)),
        altitude_degrees=float(MASKS_DEG[k]),
    )
    reference = [t.utc_datetime() for t in times]
    passes = [
        p
        for p in passes_from_geometry(geom, k, min_elevation_deg=MASKS_DEG[k], night_only=False)
        if not p.truncated
    ]
    starts = [i for i in range(len(events) - 2) if list(events[i : i + 3]) == [0, 1, 2]]
    assert len(passes) == len(starts) >= 1
    for p, i in zip(passes, starts, strict=True):
        rise, culminate, set_ = reference[i : i + 3]
        assert abs((p.rise_utc - rise).total_seconds()) < 1.0
        assert abs((p.culminate_utc - culminate).total_seconds()) < 3.0
        assert abs((p.set_utc - set_).total_seconds()) < 1.0
        assert np.all(p.elevation_deg >= MASKS_DEG[k])


def test_find_passes_wrapper_equals_multi_station(sso, geom):
    """The one-site wrapper gives the same passes as the many-station geometry."""
    site = STATIONS[1]
    single = find_passes(
        sso,
        station_lat_deg=site.latitude_deg,
        station_lon_deg=site.longitude_deg,
        station_elevation_m=site.elevation_m,
        station_name=site.name,
        start_utc=EPOCH,
        duration_s=DAY_S,
        min_elevation_deg=15.0,
    )
    multi = passes_from_geometry(geom, 1, min_elevation_deg=15.0)
    assert len(single) == len(multi) >= 1
    for a, b in zip(single, multi, strict=True):
        assert abs((a.rise_utc - b.rise_utc).total_seconds()) < 1e-3
        assert abs((a.set_utc - b.set_utc).total_seconds()) < 1e-3
        assert_allclose(a.slant_range_m, b.slant_range_m, rtol=0, atol=1e-3)


@pytest.mark.parametrize("night_only", [False, True])
def test_batch_forms_equal_single_calls(geom, night_only):
    """passes_by_station / common_windows_by_pair equal the one-at-a-time calls."""
    by_station = passes_by_station(geom, min_elevation_deg=MASKS_DEG, night_only=night_only)
    for k, passes in enumerate(by_station):
        single = passes_from_geometry(
            geom, k, min_elevation_deg=MASKS_DEG[k], night_only=night_only
        )
        assert [p.rise_utc for p in passes] == [p.rise_utc for p in single]
        if night_only:
            for p in passes:
                assert np.all(p.sun_altitude_deg <= -12.0)
    pairs = common_windows_by_pair(geom, min_elevation_deg=MASKS_DEG, night_only=night_only)
    assert sorted(pairs) == [(i, j) for i in range(5) for j in range(i + 1, 5)]
    for (i, j), windows in pairs.items():
        single = common_windows_from_geometry(
            geom,
            i,
            j,
            min_elevation_deg_i=MASKS_DEG[i],
            min_elevation_deg_j=MASKS_DEG[j],
            night_only=night_only,
        )
        assert [(w.start_utc, w.end_utc) for w in windows] == [
            (w.start_utc, w.end_utc) for w in single
        ]


@pytest.mark.parametrize("pair", [(0, 2), (0, 1), (1, 4)], ids=["Mat-Mets", "Mat-Ten", "Ten-Kou"])
def test_common_windows_are_pass_intersections(geom, pair):
    """A common window is the overlap of one pass over each station.

    Each window must start at the later rise and end at the earlier set of a
    pair of passes (each at its own mask) within 1 s; every overlap of passes
    longer than two steps must appear as a window.
    """
    i, j = pair
    passes_i = passes_from_geometry(geom, i, min_elevation_deg=MASKS_DEG[i], night_only=False)
    passes_j = passes_from_geometry(geom, j, min_elevation_deg=MASKS_DEG[j], night_only=False)
    overlaps = [
        (max(a.rise_utc, b.rise_utc), min(a.set_utc, b.set_utc))
        for a in passes_i
        for b in passes_j
        if min(a.set_utc, b.set_utc) - max(a.rise_utc, b.rise_utc) > timedelta(seconds=2 * STEP_S)
    ]
    windows = common_windows_from_geometry(
        geom,
        i,
        j,
        min_elevation_deg_i=MASKS_DEG[i],
        min_elevation_deg_j=MASKS_DEG[j],
        night_only=False,
    )
    assert len(windows) == len(overlaps)
    for w, (start, end) in zip(windows, overlaps, strict=True):
        assert abs((w.start_utc - start).total_seconds()) < 1.0
        assert abs((w.end_utc - end).total_seconds()) < 1.0
        assert np.all(w.elevation_a_deg >= MASKS_DEG[i])
        assert np.all(w.elevation_b_deg >= MASKS_DEG[j])
        assert w.station_a is STATIONS[i] and w.station_b is STATIONS[j]


def test_matera_metsahovi_share_a_pass(geom):
    """Stations 2,160 km apart share part of a 500 km orbit's pass at 10/20 deg masks.

    A 500 km satellite at 10 deg elevation is seen up to ~1,400 km away, so
    a track between the two sites is seen from both: at least one window.
    """
    windows = common_windows_from_geometry(
        geom, 0, 2, min_elevation_deg_i=10.0, min_elevation_deg_j=10.0, night_only=False
    )
    assert len(windows) >= 1


@pytest.mark.parametrize(
    ("latitude_deg", "longitude_deg", "elevation_m"),
    [(0.0, 0.0, 0.0), (40.6486, 16.7046, 536.0), (-21.2081, 55.5706, 2200.0), (89.9, -120.0, 0.0)],
)
def test_wgs84_position_matches_skyfield(latitude_deg, longitude_deg, elevation_m):
    """Closed-form WGS-84 (NIMA TR8350.2 eq. 4-14) equals skyfield's itrs_xyz within 1 mm.

    The east/north/up axes are orthonormal and right-handed (east x north = up).
    """
    position_m, east, north, up = wgs84_itrs_m([latitude_deg], [longitude_deg], [elevation_m])
    reference = wgs84.latlon(latitude_deg, longitude_deg, elevation_m=elevation_m).itrs_xyz.m
    assert_allclose(position_m[0], reference, rtol=0, atol=1e-3)
    axes = np.stack([east[0], north[0], up[0]])
    assert_allclose(axes @ axes.T, np.eye(3), atol=1e-15)
    assert_allclose(np.cross(east[0], north[0]), up[0], atol=1e-15)


def test_equator_site_on_equatorial_orbit_reaches_zenith():
    """Equatorial orbit over an equatorial site: elevation ~90 deg, range ~ altitude.

    At 10 s steps the nearest sample is within 38 km along-track of the zenith
    point, i.e. elevation above 85 deg; range within 1 % of 500 km (SGP4 mean
    vs osculating radius).
    """
    sat = satellite_from_elements(
        "equatorial", altitude_km=500.0, inclination_deg=0.0, raan_deg=0.0, epoch_utc=EPOCH
    )
    g = station_geometry(sat, [Site(0.0, 30.0, 0.0, "eq")], start_utc=EPOCH, duration_s=3 * 3600.0)
    k = int(np.argmax(g.elevation_deg[0]))
    assert g.elevation_deg[0, k] > 85.0
    assert_allclose(g.slant_range_m[0, k], 500e3, rtol=0.01)
    assert k == int(np.argmin(g.slant_range_m[0]))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, g: station_geometry(s, [], start_utc=EPOCH, duration_s=60.0), "at least one"),
        (
            lambda s, g: station_geometry(s, [(40.0, 16.0)], start_utc=EPOCH, duration_s=60.0),
            "Site",
        ),
        (
            lambda s, g: station_geometry(
                s, STATIONS, start_utc=datetime(2026, 3, 20), duration_s=60.0
            ),
            "timezone-aware",
        ),
        (lambda s, g: passes_from_geometry(g, 5), "index"),
        (lambda s, g: passes_from_geometry(g, 0, min_elevation_deg=90.0), "min_elevation_deg"),
        (lambda s, g: passes_by_station(g, min_elevation_deg=[10.0, 20.0]), "one per station"),
        (
            lambda s, g: common_windows_from_geometry(g, 0, 1, max_sun_altitude_deg=np.nan),
            "finite",
        ),
    ],
)
def test_bad_input_raises(sso, geom, call, message):
    """Bad stations, windows, indices and masks are refused with a clear ValueError."""
    with pytest.raises(ValueError, match=message):
        call(sso, geom)
