"""Repeater stations of land stretches stand on land (qnetemu.network.station_land)."""

import networkx as nx
import numpy as np
import pytest

from qnetemu.geo import great_circle_distance_km, points_along
from qnetemu.geodata import is_land
from qnetemu.network.repeater_routes import elementary_links, land_stretches, route_from_path
from qnetemu.network.station_land import LandStations, land_cuts

COPENHAGEN = (55.6761, 12.5683)
MALMO = (55.6050, 13.0038)  # the straight line crosses the Øresund (and Saltholm) on a 28 km link
VIENNA = (48.2082, 16.3738)
BRNO = (49.1951, 16.6068)  # all land


def _link(a, b, name_a="A", name_b="B"):
    g = nx.Graph()
    g.add_node(name_a, lat_deg=a[0], lon_deg=a[1])
    g.add_node(name_b, lat_deg=b[0], lon_deg=b[1])
    length = float(great_circle_distance_km(*a, *b))
    g.add_edge(name_a, name_b, length_km=length, attenuation_db_per_km=0.2)
    return g, route_from_path(g, [name_a, name_b]), length


def _stations(a, b, lengths, length):
    cuts = np.cumsum(lengths)[:-1] / length
    return points_along([a[0], b[0]], [a[1], b[1]], cuts)


def test_even_stations_in_the_sound_move_to_land():
    g, route, length = _link(COPENHAGEN, MALMO)
    even, _ = elementary_links(route, 10.0, True)
    assert not is_land(*_stations(COPENHAGEN, MALMO, even, length)).any()  # the case exists
    lengths, _ = elementary_links(route, 10.0, True, LandStations(g, is_land, 10.0))
    assert sum(lengths) == pytest.approx(length, rel=1e-12)
    assert is_land(*_stations(COPENHAGEN, MALMO, lengths, length)).all()
    # Saltholm holds one station; the water east of it, wider than 10 km, is one longer link that
    # lands at Malmö itself (the 1 km from the sampled shore point to the site is not a link of its own)
    assert len(lengths) == 3
    assert sorted(lengths)[-2] <= 10.0 < max(lengths) < 16.0
    assert min(lengths) > 1.0


def test_stretch_on_land_keeps_the_even_cut_exactly():
    g, route, _ = _link(VIENNA, BRNO)
    even = elementary_links(route, 25.0, True)
    assert elementary_links(route, 25.0, True, LandStations(g, is_land, 25.0)) == even


def test_nodes_without_coordinates_keep_the_even_cut():
    g = nx.Graph()
    g.add_edge("A", "B", length_km=100.0, attenuation_db_per_km=0.2)
    route = route_from_path(g, ["A", "B"])
    assert elementary_links(route, 30.0, True, LandStations(g, is_land, 30.0)) == ((25.0,) * 4, ())


def test_prepare_tests_land_in_two_calls_for_many_stretches():
    g, route, _ = _link(COPENHAGEN, MALMO)
    calls = []

    def counting(lat, lon):
        calls.append(np.size(lat))
        return is_land(lat, lon)

    stations = LandStations(g, counting, 7.0)
    stations.prepare(land_stretches(route, 7.0, True))
    assert len(calls) == 2  # the even points, then the samples of the wet stretch
    elementary_links(route, 7.0, True, stations)
    assert len(calls) == 2  # placed once, reused


def test_land_cuts_closed_cases():
    x = np.arange(11.0) * 10.0  # 0..100 km every 10 km
    assert land_cuts(x, np.ones(11, bool), 100.0, 30.0) == (25.0, 50.0, 75.0)  # greedy count, equal links
    wet = np.ones(11, bool)
    wet[3:8] = False  # water from 25 to 75 km
    assert land_cuts(x, wet, 100.0, 30.0) == (20.0, 80.0)  # 20 + 60 (the crossing) + 20


def test_a_crossing_that_lands_just_short_of_a_site_goes_on_to_it_and_land_runs_are_equal():
    x = np.linspace(0.0, 100.0, 101)  # every km
    land = np.ones(101, bool)
    land[46:98] = False  # water from 45.5 to 97.5 km: greedy would end on a 2 km sliver
    assert land_cuts(x, land, 100.0, 40.0) == (22.5, 45.0)  # 22.5 + 22.5 on land, then 55 across
