"""Repeater chains follow the trusted-node fibre routes: spans, segments, key in bit/s."""

from __future__ import annotations

import networkx as nx
import pytest

from qnetemu.architectures.repeater import (
    chain_for_route,
    fibre_route,
    route_spans,
    segment_lengths_km,
)
from qnetemu.scenario.schema import RepeaterProfile


def _graph():
    """A - TN1 - TN2 - B (one 240 km link split in three) and B - C (60 km), plus a satellite A - C."""
    g = nx.Graph()
    for n, ins in (("A", False), ("TN1", True), ("TN2", True), ("B", False), ("C", False)):
        g.add_node(n, inserted=ins)
    for u, v in (("A", "TN1"), ("TN1", "TN2"), ("TN2", "B")):
        g.add_edge(u, v, length_km=80.0, attenuation_db_per_km=0.2, segment="fibre")
    g.add_edge("B", "C", length_km=60.0, attenuation_db_per_km=0.17, segment="fibre")
    g.add_edge("A", "C", segment="satellite", key_rate_bps=1.0)
    return g


def test_inserted_trusted_nodes_are_merged_into_real_spans():
    spans = route_spans(_graph(), ["A", "TN1", "TN2", "B", "C"])
    assert spans == [(240.0, pytest.approx(0.2)), (60.0, pytest.approx(0.17))]


@pytest.mark.parametrize(
    ("spacing", "at_sites", "expected"),
    [
        (50.0, True, (48.0,) * 5 + (30.0, 30.0)),   # ceil(240/50)=5 links of 48; ceil(60/50)=2 of 30
        (100.0, True, (80.0,) * 3 + (60.0,)),
        (50.0, False, (50.0,) * 6),                  # 300 km cut evenly, ignoring the site at B
        (300.0, False, (300.0,)),
    ],
)
def test_segment_lengths(spacing, at_sites, expected):
    got = segment_lengths_km([(240.0, 0.2), (60.0, 0.17)], spacing, at_sites)
    assert got == pytest.approx(expected)
    assert sum(got) == pytest.approx(300.0)


def test_chain_uses_length_weighted_attenuation():
    profile = RepeaterProfile(placement={"spacing_km": 100.0})
    chain = chain_for_route(_graph(), ["A", "TN1", "TN2", "B", "C"], profile)
    assert chain.segment_lengths_km == pytest.approx((80.0, 80.0, 80.0, 60.0))
    assert chain.attenuation_db_per_km == pytest.approx((240 * 0.2 + 60 * 0.17) / 300)
    assert chain.hardware.memories_per_node == profile.memory.memories_per_node


def test_satellite_routes_fall_back_to_fibre():
    g = _graph()
    assert fibre_route(g, ["A", "C"], "A", "C") == ["A", "TN1", "TN2", "B", "C"]
    assert fibre_route(g, ["A", "TN1"], "A", "TN1") == ["A", "TN1"]
    g.remove_edge("B", "C")
    assert fibre_route(g, ["A", "C"], "A", "C") == []
