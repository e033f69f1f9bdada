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
