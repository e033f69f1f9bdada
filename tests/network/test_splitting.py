"""Tests of trusted-node insertion (qnetemu.network.splitting)."""

from __future__ import annotations

import math

import pytest
from numpy.testing import assert_allclose

from qnetemu.constants import EARTH_RADIUS_M
from qnetemu.network.graph import build_graph
from qnetemu.network.splitting import split_long_spans

R_KM = EARTH_RADIUS_M / 1e3


def _haversine_km(lat1, lon1, lat2, lon2):
    """Independent haversine (Sinnott 1984) to check where inserted nodes lie."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * R_KM * math.asin(math.sqrt(h))


def _graph(a, b, length_km, extra_loss_db=0.0, link_id=None):
    sites = [
        {"name": "Bucharest", "lat_deg": a[0], "lon_deg": a[1]},
        {"name": "Constanța", "lat_deg": b[0], "lon_deg": b[1]},
        {"name": "Giurgiu", "lat_deg": 43.88, "lon_deg": 25.97},
    ]
    link = {"a": "Bucharest", "b": "Constanța", "length_km": length_km}
    if link_id:
        link["link_id"] = link_id
    link["extra_loss_db"] = extra_loss_db
    links = [link, {"a": "Bucharest", "b": "Giurgiu", "length_km": 60.0}]
    return build_graph(sites, links)


def test_250_km_at_100_km_reach_gives_three_spans_on_the_equator():
    """Ends on the equator at longitudes 0 and 3 deg: the two inserted nodes lie on the
    equator at 1 and 2 deg (closed form); spans are 250 / 3 = 83.33 km each and each keeps the
    link's 3 dB terminal loss: 0.2 dB/km x 83.33 km + 3 dB = 19.67 dB per span."""
    graph = _graph((0.0, 0.0), (0.0, 3.0), 250.0, extra_loss_db=3.0)
    new, report = split_long_spans(graph, 100.0)
    names = ["TN Bucharest–Constanța 1", "TN Bucharest–Constanța 2"]
    assert [r["name"] for r in report] == names
    assert_allclose([r["lat_deg"] for r in report], [0.0, 0.0], atol=1e-12)
    assert_allclose([r["lon_deg"] for r in report], [1.0, 2.0], rtol=1e-12)
    assert [r["index"] for r in report] == [1, 2]
    assert all(r["spans"] == 3 and r["link_id"] == "Bucharest–Constanța" for r in report)
    chain = ["Bucharest", *names, "Constanța"]
    spans = [new.edges[u, v] for u, v in zip(chain[:-1], chain[1:], strict=True)]
    assert_allclose([s["length_km"] for s in spans], [250.0 / 3] * 3, rtol=1e-12)
    assert_allclose([s["loss_db"] for s in spans], [0.2 * 250.0 / 3 + 3.0] * 3, rtol=1e-12)
    assert [s["link_id"] for s in spans] == [f"Bucharest–Constanța/{k}" for k in (1, 2, 3)]
    assert not new.has_edge("Bucharest", "Constanța")
    for name in names:
        assert new.nodes[name]["role"] == "trusted_node"
        assert new.nodes[name]["inserted"] is True
    # The original graph is left as it was.
    assert graph.has_edge("Bucharest", "Constanța") and len(graph) == 3


def test_inserted_nodes_are_evenly_spaced_on_the_great_circle():
    """Real coordinates (Bucharest 44.43N 26.10E, Constanța 44.18N 28.65E, 203 km apart): each
    inserted node is k/n of the great-circle distance from Bucharest and (n-k)/n from
    Constanța, which places it on the arc and nowhere else."""
    a, b = (44.43, 26.10), (44.18, 28.65)
    graph = _graph(a, b, 260.0)
    _, report = split_long_spans(graph, 60.0)
    n = math.ceil(260.0 / 60.0)
    assert len(report) == n - 1
    total = _haversine_km(*a, *b)
    for r in report:
        k = r["index"]
        assert_allclose(_haversine_km(*a, r["lat_deg"], r["lon_deg"]), total * k / n, rtol=1e-9)
        assert_allclose(
            _haversine_km(r["lat_deg"], r["lon_deg"], *b), total * (n - k) / n, rtol=1e-9
        )


@pytest.mark.parametrize(
    ("length_km", "reach_km", "n_spans"),
    [(250.0, 100.0, 3), (200.0, 100.0, 2), (100.0, 100.0, 1), (99.0, 100.0, 1), (301.0, 100.0, 4)],
)
def test_number_of_spans(length_km, reach_km, n_spans):
    graph = _graph((44.43, 26.10), (44.18, 28.65), length_km)
    new, report = split_long_spans(graph, reach_km)
    assert len(report) == n_spans - 1
    assert new.number_of_edges() == graph.number_of_edges() + n_spans - 1
    # The short Bucharest-Giurgiu link (60 km) is never touched.
    assert new.edges["Bucharest", "Giurgiu"] == graph.edges["Bucharest", "Giurgiu"]


def test_names_are_deterministic_and_use_the_link_id():
    graph = _graph((44.43, 26.10), (44.18, 28.65), 250.0, link_id="RO-07")
    first = split_long_spans(graph, 100.0)
    second = split_long_spans(graph, 100.0)
    assert [r["name"] for r in first[1]] == ["TN RO-07 1", "TN RO-07 2"]
    assert first[1] == second[1]
    assert list(first[0].nodes) == list(second[0].nodes)


def test_key_rates_are_not_copied_onto_spans():
    graph = _graph((44.43, 26.10), (44.18, 28.65), 250.0)
    graph.edges["Bucharest", "Constanța"]["key_rate_bps"] = 123.0
    new, _ = split_long_spans(graph, 100.0)
    assert all("key_rate_bps" not in d for _, _, d in new.edges(data=True) if d.get("split_from"))


def test_satellite_edges_are_not_split():
    graph = _graph((44.43, 26.10), (44.18, 28.65), 50.0)
    graph.add_edge("Giurgiu", "Constanța", segment="satellite", key_rate_bps=1.0, length_km=1000.0)
    new, report = split_long_spans(graph, 100.0)
    assert report == []
    assert new.edges["Giurgiu", "Constanța"]["segment"] == "satellite"


@pytest.mark.parametrize("reach_km", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_reach_raises(reach_km):
    with pytest.raises(ValueError, match="reach_km"):
        split_long_spans(_graph((0.0, 0.0), (0.0, 3.0), 250.0), reach_km)


def test_submarine_cables_are_not_split_unless_asked():
    """No trusted node on the sea floor: a long submarine cable stays one link."""
    import networkx as nx

    from qnetemu.network.graph import build_graph

    sites = [{"name": "A", "lat_deg": 0.0, "lon_deg": 0.0}, {"name": "B", "lat_deg": 0.0, "lon_deg": 3.0}]
    graph = build_graph(sites, [{"a": "A", "b": "B", "length_km": 300.0, "cable": "submarine"}])
    kept, report = split_long_spans(graph, 100.0, split_submarine=False)
    assert report == [] and nx.utils.graphs_equal(kept, graph)
    split, report = split_long_spans(graph, 100.0, split_submarine=True)
    assert len(report) == 2 and split.number_of_edges() == 3


def _equator_link(length_km, lon_end=3.0, **link):
    sites = [{"name": "A", "lat_deg": 0.0, "lon_deg": 0.0}, {"name": "B", "lat_deg": 0.0, "lon_deg": lon_end}]
    return build_graph(sites, [{"a": "A", "b": "B", "length_km": length_km, **link}])


def _sea_between(lon_from, lon_to):
    """Land test: water for longitudes strictly between the two values, land elsewhere."""
    import numpy as np

    def on_land(lat_deg, lon_deg):
        lon = np.asarray(lon_deg, dtype=float)
        return ~((lon > lon_from) & (lon < lon_to))

    return on_land


def test_even_placement_is_kept_when_it_is_on_land():
    graph = _equator_link(300.0)
    plain, report_plain = split_long_spans(graph, 100.0)
    landed, report_land = split_long_spans(graph, 100.0, on_land=_sea_between(5.0, 6.0))
    assert report_land == report_plain
    assert_allclose([r["lon_deg"] for r in report_land], [1.0, 2.0], rtol=1e-12)


def test_nodes_move_to_land_and_spans_stay_within_reach():
    """A-B on the equator, 3 deg of arc, 300 km of fibre (so 100 km per degree), reach 100 km:
    one span covers 1 deg. The even points at 1 and 2 deg lie in a sea from 0.9 to 2.05 deg,
    1.15 deg wide: no placement exists and the link stays whole. With the sea from 0.95 to
    1.9 deg instead, greedy placement (farthest land point within reach, candidates every
    LAND_SAMPLE_KM = 1 km, i.e. 0.009 deg) puts the first node at the last land point before
    0.95 deg, the second 1 deg further (1.95 deg, land again), the third at 2.95 deg: three
    nodes where the even split needed two, every span within reach."""
    graph = _equator_link(300.0)
    whole, report = split_long_spans(graph, 100.0, on_land=_sea_between(0.9, 2.05))
    assert report == [] and whole.edges["A", "B"]["unsplit"] == "open water"
    new, report = split_long_spans(graph, 100.0, on_land=_sea_between(0.95, 1.9))
    lons = [r["lon_deg"] for r in report]
    assert_allclose(lons, [0.95, 1.95, 2.95], atol=0.02)
    assert all(not (0.95 < lon < 1.9) for lon in lons)
    chain = ["A", *(r["name"] for r in report), "B"]
    spans = [new.edges[u, v]["length_km"] for u, v in zip(chain[:-1], chain[1:], strict=True)]
    assert_allclose(sum(spans), 300.0, rtol=1e-12)
    assert max(spans) <= 100.0 * (1 + 1e-9)
    assert_allclose([r["span_length_km"] for r in report], spans[:-1], rtol=1e-12)


def test_waypoints_route_the_inserted_nodes():
    """A cable A (0, 0) > (1, 1) > B (0, 2) split in two: the node stands at the bend."""
    graph = _equator_link(200.0, lon_end=2.0, waypoints=[[1.0, 1.0]])
    _, report = split_long_spans(graph, 100.0)
    assert_allclose([report[0]["lat_deg"], report[0]["lon_deg"]], [1.0, 1.0], atol=1e-9)
