"""Optical bypass: one QKD link through several fibre hops while within reach."""

from __future__ import annotations

import pytest

from qnetemu.architectures.repeater import physical_path
from qnetemu.network.bypass import add_bypass_links
from qnetemu.network.graph import build_graph
from qnetemu.network.routing import route_all


def _chain(lengths_km, extra_db=(1.0, 2.0, 1.0, 1.0)):
    names = [chr(ord("A") + i) for i in range(len(lengths_km) + 1)]
    sites = [{"name": n, "lat_deg": 45.0, "lon_deg": 10.0 + i} for i, n in enumerate(names)]
    links = [{"a": names[i], "b": names[i + 1], "length_km": L, "attenuation_db_per_km": 0.2,
              "extra_loss_db": extra_db[i]} for i, L in enumerate(lengths_km)]
    return build_graph(sites, links)


def test_bypass_edge_loss_by_hand():
    """A-B 40 km, B-C 50 km, reach 100: A-C is one link of 90 km.

    Loss = 0.2 dB/km x 90 km + max terminal loss (2 dB) + 1.5 dB for bypassing B = 21.5 dB.
    """
    g = _chain([40.0, 50.0])
    assert add_bypass_links(g, 100.0, bypass_loss_db=1.5) == 1
    e = g.edges["A", "C"]
    assert e["length_km"] == pytest.approx(90.0)
    assert e["loss_db"] == pytest.approx(0.2 * 90 + 2.0 + 1.5)
    assert e["fibre_path"] == ("A", "B", "C")
    assert e["latency_s"] == pytest.approx(90e3 * 1.468 / 299_792_458.0)


def test_no_bypass_beyond_reach():
    g = _chain([60.0, 50.0, 30.0])
    add_bypass_links(g, 100.0)
    assert not g.has_edge("A", "C")   # 110 km
    assert g.has_edge("B", "D")       # 80 km
    assert not g.has_edge("A", "D")


def test_routing_uses_bypass_so_fewer_trusted_nodes():
    g = _chain([30.0, 30.0, 30.0])
    for _, _, d in g.edges(data=True):
        d["key_rate_bps"] = 1000.0
    add_bypass_links(g, 100.0)
    for _, _, d in g.edges(data=True):
        if "fibre_path" in d:
            d["key_rate_bps"] = 900.0  # bypass links: more loss, a bit less key
    # Best bottleneck is 1000 over the three single hops; with equal key the bypass wins on hops.
    assert route_all(g, [("A", "D")]) == [["A", "B", "C", "D"]]
    for _, _, d in g.edges(data=True):
        d["key_rate_bps"] = 1000.0
    assert route_all(g, [("A", "D")]) == [["A", "D"]]
    assert physical_path(g, ["D", "A"]) == ["D", "C", "B", "A"]


def test_rate_tolerance_trades_a_little_key_for_fewer_trusted_nodes():
    """Widest path A-B-C-D has bottleneck 1000; the direct bypass A-D gives 900 (10 % less).

    Tolerance 0 keeps the widest path (2 trusted nodes); tolerance 0.2 counts 900 as equal and
    takes A-D (no trusted node); tolerance 0.05 does not.
    """
    g = _chain([30.0, 30.0, 30.0])
    for _, _, d in g.edges(data=True):
        d["key_rate_bps"] = 1000.0
    add_bypass_links(g, 100.0)
    for u, v, d in g.edges(data=True):
        if "fibre_path" in d:
            d["key_rate_bps"] = 900.0 if {u, v} == {"A", "D"} else 0.0
    assert route_all(g, [("A", "D")]) == [["A", "B", "C", "D"]]
    assert route_all(g, [("A", "D")], rate_tolerance=0.05) == [["A", "B", "C", "D"]]
    assert route_all(g, [("A", "D")], rate_tolerance=0.2) == [["A", "D"]]
    with pytest.raises(ValueError, match="rate_tolerance"):
        route_all(g, [("A", "D")], rate_tolerance=1.0)
