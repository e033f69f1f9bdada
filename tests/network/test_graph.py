"""Tests of the network graph (qnetemu.network.graph)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.constants import EARTH_RADIUS_M, SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.network.graph import (
    DEFAULT_ATTENUATION_DB_PER_KM,
    assign_fibre_key_rates,
    build_graph,
    link_capacities_bps,
    nearest_nodes,
)

R_KM = EARTH_RADIUS_M / 1e3


def _site(name, lat, lon, **extra):
    return {"name": name, "lat_deg": lat, "lon_deg": lon, **extra}


@pytest.mark.parametrize(
    ("a", "b", "route_factor", "expected_km"),
    [
        # One degree of longitude on the equator: R * pi / 180.
        ((0.0, 0.0), (0.0, 1.0), 1.0, R_KM * math.pi / 180),
        ((0.0, 0.0), (0.0, 1.0), 1.3, 1.3 * R_KM * math.pi / 180),
        # Equator to pole along a meridian: a quarter circle, R * pi / 2.
        ((0.0, 10.0), (90.0, 10.0), 1.5, 1.5 * R_KM * math.pi / 2),
        # Two points at latitude 60 deg, 180 deg apart in longitude: the great circle goes
        # over the pole, central angle 60 deg -> R * pi / 3 (not the 180 deg parallel).
        ((60.0, 0.0), (60.0, 180.0), 1.0, R_KM * math.pi / 3),
    ],
)
def test_length_is_great_circle_times_route_factor(a, b, route_factor, expected_km):
    """Closed-form great-circle distances on a sphere of the IUGG mean radius."""
    graph = build_graph(
        [_site("A", *a), _site("B", *b)], [{"a": "A", "b": "B", "route_factor": route_factor}]
    )
    edge = graph.edges["A", "B"]
    assert_allclose(edge["length_km"], expected_km, rtol=1e-12)
    assert_allclose(edge["loss_db"], DEFAULT_ATTENUATION_DB_PER_KM * expected_km, rtol=1e-12)
    assert_allclose(
        edge["latency_s"], expected_km * 1e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S, rtol=1e-12
    )
    assert edge["segment"] == "fibre"
    assert edge["link_id"] == "A–B"
    assert edge["ends"] == ("A", "B")


def test_given_length_and_losses_are_kept():
    graph = build_graph(
        [_site("A", 44.43, 26.10, role="endpoint"), _site("B", 44.18, 28.65)],
        [
            {
                "a": "A",
                "b": "B",
                "length_km": 225.0,
                "attenuation_db_per_km": 0.18,
                "extra_loss_db": 3.0,
                "link_id": "ro-1",
            }
        ],
    )
    edge = graph.edges["B", "A"]
    assert edge["length_km"] == 225.0
    assert_allclose(edge["loss_db"], 0.18 * 225.0 + 3.0, rtol=1e-12)
    assert edge["link_id"] == "ro-1"
    assert graph.nodes["A"]["role"] == "endpoint"
    assert graph.nodes["A"]["inserted"] is False


@pytest.mark.parametrize(
    ("sites", "links", "match"),
    [
        ([_site("A", 0, 0), _site("A", 1, 1)], [], "duplicate site"),
        ([_site("A", 91, 0)], [], "lat_deg"),
        ([_site("A", 0, float("nan"))], [], "finite"),
        ([_site("A", 0, 0, role="router")], [], "role"),
        ([_site("A", 0, 0)], [{"a": "A", "b": "Z"}], "unknown site"),
        ([_site("A", 0, 0)], [{"a": "A", "b": "A"}], "itself"),
        (
            [_site("A", 0, 0), _site("B", 0, 1)],
            [{"a": "A", "b": "B"}, {"a": "B", "b": "A"}],
            "second link",
        ),
        ([_site("A", 0, 0), _site("B", 0, 1)], [{"a": "A", "b": "B", "length_km": -5}], "> 0"),
        ([_site("A", 0, 0), _site("B", 0, 0)], [{"a": "A", "b": "B"}], "same place"),
        ([_site("A", 0, 0), _site("B", 0, 1)], [{"a": "A", "b": "B", "route_factor": 0.9}], ">= 1"),
    ],
)
def test_invalid_input_raises(sites, links, match):
    with pytest.raises(ValueError, match=match):
        build_graph(sites, links)


def _line_graph():
    sites = [_site(n, 0.0, lon) for n, lon in (("A", 0.0), ("B", 1.0), ("C", 3.0))]
    links = [
        {"a": "A", "b": "B", "length_km": 50.0},
        {"a": "B", "b": "C", "length_km": 150.0},
    ]
    return build_graph(sites, links)


def test_assign_key_rates_calls_once_vectorised_and_applies_loss_cap():
    """Key rate fn = 1e6 * T (bit/s); T = 10^(-0.2 L / 10): 50 km -> 1e5, 150 km -> 1e3.
    With max_loss_db = 20 the 30 dB link gets 0."""
    graph = _line_graph()
    graph.add_edge("A", "C", segment="satellite", key_rate_bps=7.0)
    calls = []

    def rate_fn(transmittance):
        calls.append(np.asarray(transmittance).copy())
        return 1e6 * transmittance, np.full_like(transmittance, 0.02)

    assign_fibre_key_rates(graph, rate_fn, max_loss_db=20.0)
    assert len(calls) == 1
    assert_allclose(np.sort(calls[0]), [1e-3, 1e-1], rtol=1e-12)
    assert_allclose(graph.edges["A", "B"]["key_rate_bps"], 1e5, rtol=1e-12)
    assert graph.edges["B", "C"]["key_rate_bps"] == 0.0
    assert graph.edges["A", "B"]["qber"] == 0.02
    # Satellite edges are not touched.
    assert graph.edges["A", "C"]["key_rate_bps"] == 7.0
    capacities = link_capacities_bps(graph)
    assert_allclose(capacities[frozenset("AB")], 1e5, rtol=1e-12)
    assert capacities[frozenset("AC")] == 7.0


@pytest.mark.parametrize(
    "bad_fn",
    [
        lambda t: (t[:1], t),  # wrong shape
        lambda t: (-t, t),  # negative rate
        lambda t: (t * np.nan, t),  # NaN rate
    ],
)
def test_assign_key_rates_rejects_bad_output(bad_fn):
    with pytest.raises(ValueError, match="key_rate_fn"):
        assign_fibre_key_rates(_line_graph(), bad_fn)


def test_nearest_nodes():
    graph = _line_graph()
    assert nearest_nodes(graph, [0.1, -0.2, 0.0], [0.2, 1.4, 2.9]) == ["A", "B", "C"]
