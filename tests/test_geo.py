"""Tests of great-circle geometry.

Reference distances: great-circle distance Paris-London about 344 km and
Bucharest-Cluj-Napoca about 324 km (city-centre coordinates below, spherical
Earth, IUGG mean radius 6371.0088 km); closed forms on the sphere for
meridian and equator arcs.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.geo import great_circle_distance_km, intermediate_points

R_KM = 6371.0088
PARIS = (48.8566, 2.3522)
LONDON = (51.5074, -0.1278)
BUCHAREST = (44.4268, 26.1025)
CLUJ = (46.7712, 23.6236)


@pytest.mark.parametrize(
    ("a", "b", "expected_km"),
    [(PARIS, LONDON, 344.0), (BUCHAREST, CLUJ, 324.0)],
)
def test_city_distances(a, b, expected_km):
    """Published great-circle distances, to within 1 km."""
    assert_allclose(great_circle_distance_km(*a, *b), expected_km, atol=1.0)
    assert_allclose(great_circle_distance_km(*b, *a), great_circle_distance_km(*a, *b),
                    rtol=1e-15)


@pytest.mark.parametrize(
    ("p1", "p2", "expected_km"),
    [
        ((0.0, 0.0), (90.0, 0.0), np.pi * R_KM / 2),    # quarter meridian
        ((0.0, 0.0), (0.0, 1.0), np.pi * R_KM / 180),   # one degree of equator, 111.195 km
        ((0.0, 0.0), (0.0, 180.0), np.pi * R_KM),        # antipodes
        ((45.0, 10.0), (45.0, 10.0), 0.0),
        ((10.0, 179.5), (10.0, -179.5), np.pi * R_KM / 180 * np.cos(np.radians(10.0))),
    ],
)
def test_closed_forms(p1, p2, expected_km):
    """Arcs on the sphere; the last is short enough that the parallel ~ the great circle."""
    assert_allclose(great_circle_distance_km(*p1, *p2), expected_km, rtol=1e-5, atol=1e-12)


def test_metre_scale_accuracy():
    """1e-5 deg of latitude is 1.112 m; haversine keeps full precision (arccos would not)."""
    d = great_circle_distance_km(45.0, 7.0, 45.00001, 7.0)
    assert_allclose(d, np.radians(1e-5) * R_KM, rtol=1e-8)


def test_vectorised_broadcast():
    lats = np.array([0.0, 30.0, 60.0])
    d = great_circle_distance_km(0.0, 0.0, lats, 0.0)
    assert d.shape == (3,)
    assert_allclose(d, np.radians(lats) * R_KM, rtol=1e-12)


@pytest.mark.parametrize(
    ("args", "match"),
    [((91.0, 0.0, 0.0, 0.0), "lat1_deg"), ((0.0, 0.0, -90.5, 0.0), "lat2_deg"),
     ((np.nan, 0.0, 0.0, 0.0), "lat1_deg contains NaN"), ((0.0, np.inf, 0.0, 0.0), "lon1_deg")],
)
def test_invalid_coordinates(args, match):
    with pytest.raises(ValueError, match=match):
        great_circle_distance_km(*args)


@pytest.mark.parametrize("n", [1, 3, 10])
@pytest.mark.parametrize(("a", "b"), [(PARIS, LONDON), (BUCHAREST, CLUJ), ((10.0, 170.0),
                                                                           (-20.0, -150.0))])
def test_intermediate_points_lie_on_the_great_circle(a, b, n):
    """Consecutive pieces are equal and add up to the whole arc (only true on the geodesic)."""
    lats, lons = intermediate_points(*a, *b, n)
    all_lat = np.concatenate([[a[0]], lats, [b[0]]])
    all_lon = np.concatenate([[a[1]], lons, [b[1]]])
    pieces = great_circle_distance_km(all_lat[:-1], all_lon[:-1], all_lat[1:], all_lon[1:])
    total = great_circle_distance_km(*a, *b)
    assert_allclose(pieces, total / (n + 1), rtol=1e-9)
    assert_allclose(pieces.sum(), total, rtol=1e-12)


def test_intermediate_points_closed_forms():
    """Equator and meridian arcs split into equal angles."""
    lats, lons = intermediate_points(0.0, 0.0, 0.0, 90.0, 2)
    assert_allclose(lats, [0.0, 0.0], atol=1e-12)
    assert_allclose(lons, [30.0, 60.0], rtol=1e-12)
    lats, lons = intermediate_points(0.0, 0.0, 60.0, 0.0, 5)
    assert_allclose(lats, [10.0, 20.0, 30.0, 40.0, 50.0], rtol=1e-12)
    assert_allclose(lons, 0.0, atol=1e-12)
    lats, lons = intermediate_points(0.0, 170.0, 0.0, -170.0, 1)
    assert_allclose(np.abs(lons), [180.0], rtol=1e-12)


def test_intermediate_points_edge_cases_and_broadcast():
    lats, lons = intermediate_points(*PARIS, *LONDON, 0)
    assert lats.shape == lons.shape == (0,)
    lats, lons = intermediate_points(45.0, 10.0, 45.0, 10.0, 3)
    assert_allclose(lats, 45.0, rtol=1e-12)
    assert_allclose(lons, 10.0, rtol=1e-12)
    lats, lons = intermediate_points(0.0, 0.0, np.array([0.0, 30.0]), np.array([90.0, 0.0]), 2)
    assert lats.shape == (2, 2)
    assert_allclose(lats[1], [10.0, 20.0], rtol=1e-12)


@pytest.mark.parametrize("n", [-1, 2.5, True])
def test_intermediate_points_bad_n(n):
    with pytest.raises(ValueError, match="n must be"):
        intermediate_points(0.0, 0.0, 1.0, 1.0, n)


def test_intermediate_points_antipodal_raises():
    with pytest.raises(ValueError, match="antipodal"):
        intermediate_points(0.0, 0.0, 0.0, 180.0, 1)
