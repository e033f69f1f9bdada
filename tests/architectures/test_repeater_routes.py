"""Repeater chains on the physical fibre: routes, stations on land only, segments, key in bit/s."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import pytest
import yaml

from qnetemu.architectures.repeater import chain_for_route
from qnetemu.network.repeater_routes import (
    FibreSection,
    RepeaterRoute,
    elementary_links,
    repeater_routes,
    route_from_path,
    section_cost,
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


def test_inserted_trusted_nodes_are_merged_into_real_sections():
    route = route_from_path(_graph(), ["A", "TN1", "TN2", "B", "C"])
    assert route.section_ends == ("A", "B", "C")
    assert [(s.length_km, s.loss_db, s.submarine) for s in route.sections] == [
        (240.0, pytest.approx(48.0), False), (60.0, pytest.approx(10.2), False)]


def _land(*lengths: float) -> RepeaterRoute:
    ends = tuple(f"S{k}" for k in range(len(lengths) + 1))
    return RepeaterRoute(ends, ends, tuple(FibreSection(x, 0.2 * x, False) for x in lengths))


@pytest.mark.parametrize(
    ("spacing", "at_sites", "expected", "stations"),
    [
        (50.0, True, (48.0,) * 5 + (30.0, 30.0), ("S1",)),  # ceil(240/50)=5 links of 48; ceil(60/50)=2 of 30
        (100.0, True, (80.0,) * 3 + (60.0,), ("S1",)),
        (50.0, False, (50.0,) * 6, ()),                     # 300 km cut evenly, ignoring the site at S1
        (300.0, False, (300.0,), ()),
    ],
)
def test_segment_lengths(spacing, at_sites, expected, stations):
    got, named = elementary_links(_land(240.0, 60.0), spacing, at_sites)
    assert got == pytest.approx(expected)
    assert sum(got) == pytest.approx(300.0)
    assert named == stations


def test_chain_uses_length_weighted_attenuation():
    profile = RepeaterProfile(placement={"spacing_km": 100.0})
    route = route_from_path(_graph(), ["A", "TN1", "TN2", "B", "C"])
    chain, stations = chain_for_route(route, profile)
    assert chain.segment_lengths_km == pytest.approx((80.0, 80.0, 80.0, 60.0))
    assert chain.attenuation_db_per_km == pytest.approx((240 * 0.2 + 60 * 0.17) / 300)
    assert chain.hardware.memories_per_node == profile.memory.memories_per_node
    assert stations == ("B",)


def test_routes_use_fibre_only_and_ignore_bypass_links():
    g = _graph()
    g.add_edge("A", "C", segment="fibre", length_km=10.0, attenuation_db_per_km=0.2,
               fibre_path=["A", "TN1", "TN2", "B", "C"])  # an optical-bypass overlay edge: not fibre of its own
    [route] = repeater_routes(g, [("A", "C")], 50.0)
    assert route.nodes == ("A", "TN1", "TN2", "B", "C")
    g.remove_edge("B", "C")
    assert repeater_routes(g, [("A", "C")], 50.0) == [None]


def test_least_loss_not_least_length():
    """A-X-B is 110 km at 0.3 dB/km (33 dB), A-B direct 120 km at 0.2 dB/km (24 dB): the direct one
    (4 links of 8.25 dB against 3 of 8 dB)."""
    g = nx.Graph()
    g.add_edge("A", "X", length_km=55.0, attenuation_db_per_km=0.3)
    g.add_edge("X", "B", length_km=55.0, attenuation_db_per_km=0.3)
    g.add_edge("A", "B", length_km=120.0, attenuation_db_per_km=0.2)
    assert [r.nodes for r in repeater_routes(g, [("A", "B"), ("B", "A"), ("X", "B")], 50.0)] == [
        ("A", "B"), ("B", "A"), ("X", "B")]
    # against networkx's own Dijkstra on the same weight
    assert list(repeater_routes(g, [("X", "A")], 50.0)[0].nodes) == nx.dijkstra_path(
        g, "X", "A", weight=lambda u, v, d: d["length_km"] * d["attenuation_db_per_km"])


def _sea_graph():
    """Lands End - (submarine 120 km) - W (branching unit at sea) - (submarine 100 km) - Brest - 100 km - Rennes,
    and W - (submarine 60 km) - Cork."""
    g = nx.Graph()
    g.add_node("W", is_site=False, role="junction")
    for n in ("Lands End", "Brest", "Rennes", "Cork"):
        g.add_node(n, is_site=True)
    g.add_edge("Lands End", "W", length_km=120.0, attenuation_db_per_km=0.2, cable="submarine")
    g.add_edge("W", "Brest", length_km=100.0, attenuation_db_per_km=0.2, cable="submarine")
    g.add_edge("W", "Cork", length_km=60.0, attenuation_db_per_km=0.2, cable="submarine")
    g.add_edge("Brest", "Rennes", length_km=100.0, attenuation_db_per_km=0.2, cable="terrestrial")
    return g


@pytest.mark.parametrize("at_sites", [True, False])
def test_no_repeater_station_at_sea(at_sites):
    """No station stands at the branching unit W or along a cable: each sea crossing between landing
    points is one elementary link. Cork - Lands End is one 180 km link through W. Lands End - Rennes
    does not take the 220 km crossing to Brest: it lands at Cork (180 km), crosses again through W to
    Brest (160 km), so its longest link is 40 km shorter, and cuts the 100 km land span in two."""
    [cable] = repeater_routes(_sea_graph(), [("Cork", "Lands End")], 50.0)
    assert cable.nodes == ("Cork", "W", "Lands End")
    assert elementary_links(cable, 50.0, at_sites) == ((180.0,), ())
    [route] = repeater_routes(_sea_graph(), [("Lands End", "Rennes")], 50.0)
    assert route.nodes == ("Lands End", "W", "Cork", "W", "Brest", "Rennes")
    assert route.section_ends == ("Lands End", "Cork", "Brest", "Rennes")
    lengths, stations = elementary_links(route, 50.0, at_sites)
    assert lengths == pytest.approx((180.0, 160.0, 50.0, 50.0))
    assert stations == ("Cork", "Brest")
    assert "W" not in stations


@pytest.mark.parametrize(("cable_km", "expected"), [(150.0, ("A", "C", "B")), (60.0, ("A", "B"))])
def test_sea_crossing_against_a_way_round_by_land(cable_km, expected):
    """A - B is a submarine cable, A - C - B 200 km of land fibre, repeaters every 50 km. The land way
    needs 4 links of 10 dB: 4 x 10 = 40 expected attempts (in units of the hardware's 1/c). A 150 km
    cable is one 30 dB link, 1,000 attempts: the chain goes by land although the cable is shorter.
    A 60 km cable is one 12 dB link, 10**1.2 = 15.8 attempts: the chain crosses the sea."""
    g = nx.Graph()
    g.add_edge("A", "B", length_km=cable_km, attenuation_db_per_km=0.2, cable="submarine")
    g.add_edge("A", "C", length_km=100.0, attenuation_db_per_km=0.2)
    g.add_edge("C", "B", length_km=100.0, attenuation_db_per_km=0.2)
    [route] = repeater_routes(g, [("A", "B")], 50.0)
    assert route.nodes == expected
    assert section_cost(150.0, 30.0, True, 50.0) == pytest.approx(1000.0)
    assert section_cost(200.0, 40.0, False, 50.0) == pytest.approx(40.0)
    assert section_cost(60.0, 12.0, True, 50.0) == pytest.approx(10 ** 1.2)


def test_a_link_found_to_cross_open_water_is_not_cut():
    """Trusted-node insertion marks a link tagged terrestrial whose route crosses more open water than
    one QKD span (``unsplit = "open water"``): it counts as a sea crossing, one elementary link."""
    g = nx.Graph()
    g.add_edge("Barcelona", "Palma", length_km=210.0, attenuation_db_per_km=0.2, cable="terrestrial",
               unsplit="open water")
    [route] = repeater_routes(g, [("Barcelona", "Palma")], 50.0)
    assert route.sections[0].submarine
    assert elementary_links(route, 50.0, True) == ((210.0,), ())


def _transit_scenario(tmp_path):
    """Paris - Geneva (CH) - Lyon is the short way (2 x 60 km); Paris - Dijon - Lyon the long one
    (2 x 90 km); Annecy hangs off Geneva only. Switzerland may not relay key."""
    data = {
        "name": "transit",
        "sites": [{"name": "Paris", "lat_deg": 48.86, "lon_deg": 2.35, "country": "FR"},
                  {"name": "Geneva", "lat_deg": 46.20, "lon_deg": 6.14, "country": "CH"},
                  {"name": "Lyon", "lat_deg": 45.76, "lon_deg": 4.84, "country": "FR"},
                  {"name": "Dijon", "lat_deg": 47.32, "lon_deg": 5.04, "country": "FR"},
                  {"name": "Annecy", "lat_deg": 45.90, "lon_deg": 6.13, "country": "FR"}],
        "links": [{"a": "Paris", "b": "Geneva", "length_km": 60.0}, {"a": "Geneva", "b": "Lyon", "length_km": 60.0},
                  {"a": "Paris", "b": "Dijon", "length_km": 90.0}, {"a": "Dijon", "b": "Lyon", "length_km": 90.0},
                  {"a": "Geneva", "b": "Annecy", "length_km": 40.0}],
        "architectures": ["trusted_node", "repeater"],
        "qkd": {"preset": "commercial_decoy_bb84"},
        "trusted_nodes": {"reach_km": 100, "insert_on_land": False, "optical_bypass": False},
        "trust": {"forbid_countries": ["CH"]},
        "repeater": {"memory": {"coherence_time_s": 10.0}, "placement": {"spacing_km": 30.0}},
        "demands": [{"a": "Paris", "b": "Lyon"}, {"a": "Paris", "b": "Annecy"}],
    }
    path = tmp_path / "transit.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_trust_policy_bars_trusted_nodes_not_repeaters(cli, tmp_path):
    """Key may not sit in the clear in Switzerland: the trusted-node demand Paris-Lyon goes round by
    Dijon and Paris-Annecy has no allowed route; the repeaters, which hold no key, take the short
    way through Geneva for both, with a repeater station there."""
    path = _transit_scenario(tmp_path)
    code, _, stderr = cli("run", path, "--out", tmp_path / "out", "--engine", "analytic", "--no-plots", "--quiet")
    assert code == 0, stderr
    d = pd.read_parquet(tmp_path / "out" / "demands.parquet")
    tn = d[d.architecture == "trusted_node"].set_index("b")
    rep = d[d.architecture == "repeater"].set_index("b")
    assert tn.loc["Lyon", "path"] == "Paris > Dijon > Lyon"
    assert tn.loc["Annecy", "status"] == "no_allowed_path"
    for b, route in (("Lyon", ["Paris", "Geneva", "Lyon"]), ("Annecy", ["Paris", "Geneva", "Annecy"])):
        row = rep.loc[b]
        assert row.status == "ok" and row.key_rate_bps > 0
        assert list(row.route_nodes) == route  # typed: a list of nodes, not a joined string
        assert list(row.repeater_sites) == ["Geneva"]
        assert list(row.segment_lengths_km) == pytest.approx([30.0, 30.0] + ([30.0, 30.0] if b == "Lyon"
                                                                              else [20.0, 20.0]))
        assert row.trusted_nodes == 0
    # Both chains cross span Paris-Geneva: they share its hardware (half each), as trusted-node key is shared.
    assert list(rep.hardware_share) == pytest.approx([0.5, 0.5])


def test_sweep_point_routes_like_run(tmp_path):
    """A repeater-only evaluation (what a sweep point runs) takes the same routes as the full run."""
    from qnetemu.pipeline import evaluate_point

    path = _transit_scenario(tmp_path)
    data = yaml.safe_load(path.read_text())
    rows = evaluate_point(data, engine="analytic", architecture="repeater", seed=0, source=str(path),
                          reuse_network=False)["demands"]
    assert [r["route_nodes"] for r in rows] == [["Paris", "Geneva", "Lyon"], ["Paris", "Geneva", "Annecy"]]


def test_hopeless_sea_crossing_is_recorded_without_simulating(monkeypatch):
    """A 400 km cable no station can split: p = 1/2 (eta_mem eta_det)^2 10^(-0.2 x 400 / 10) per attempt,
    one attempt per L/c (the herald's round trip), so with m memories the first herald takes
    tau / (1 - (1 - p)^m) on average: far beyond engine.max_time_s. The row says so, with no key, and
    the engine is not asked to simulate it."""
    import math

    from qnetemu.architectures import repeater as rep
    from qnetemu.physics.fibre import fibre_delay_s

    g = nx.Graph()
    g.add_edge("A", "B", length_km=400.0, attenuation_db_per_km=0.2, cable="submarine")
    g.add_edge("B", "C", length_km=40.0, attenuation_db_per_km=0.2)
    profile = RepeaterProfile(placement={"spacing_km": 50.0})
    asked = []
    real = rep.run_chains
    monkeypatch.setattr(rep, "run_chains", lambda engine, jobs, **kw: asked.append(len(jobs)) or real(engine, jobs, **kw))
    rows = rep.evaluate_repeater(g, [{"a": "A", "b": "C"}, {"a": "B", "b": "C"}], profile, engine="analytic",
                                 seeds=[1, 2], max_pairs=100, max_time_s=10.0)
    assert asked == [1]  # only B - C is simulated
    hopeless, fine = rows
    hw = profile.memory
    p = 0.5 * (hw.efficiency * profile.detector_efficiency) ** 2 * 10 ** (-0.2 * 400 / 10)
    tau = max(1 / hw.attempt_rate_hz, float(fibre_delay_s(400.0)))
    if profile.protocol.link_generation == "negotiated":
        tau = max(1 / hw.attempt_rate_hz, 4 * float(fibre_delay_s(400.0)))
    expected = tau / -math.expm1(hw.memories_per_node * math.log1p(-p))
    assert hopeless["status"] == "beyond_time_limit" and hopeless["key_rate_bps"] == 0.0
    assert hopeless["latency_s"] == pytest.approx(expected, rel=1e-9) and expected > 10.0
    assert "engine.max_time_s" in hopeless["error"]
    assert hopeless["segment_lengths_km"] == pytest.approx([400.0, 40.0])  # the cable stays whole
    assert hopeless["hardware_share"] == 0.0
    assert fine["status"] == "ok" and fine["key_rate_bps"] > 0 and fine["hardware_share"] == 1.0


def test_a_chain_the_engine_cannot_compute_is_recorded_and_the_others_run():
    """Twenty land links of 40..59 km, then a 230 km cable no station can split: the analytic engine
    cannot hold that chain's waiting-time laws (its grid or memory would not fit), so its row says
    so (status beyond_engine, the engine's one line), and the short demand beside it still runs."""
    from qnetemu.architectures.repeater import evaluate_repeater

    g = nx.Graph()
    for i in range(20):
        g.add_edge(f"S{i}", f"S{i + 1}", length_km=40.0 + i, attenuation_db_per_km=0.2)
    g.add_edge("S20", "Island", length_km=230.0, attenuation_db_per_km=0.2, cable="submarine")
    profile = RepeaterProfile(placement={"spacing_km": 60.0})
    rows = evaluate_repeater(g, [{"a": "S0", "b": "Island"}, {"a": "S0", "b": "S1"}], profile,
                             engine="analytic", seeds=[1, 2], max_pairs=100, max_time_s=1e4)
    far, near = rows
    assert far["status"] == "beyond_engine" and far["key_rate_bps"] == 0.0
    assert "use the montecarlo engine" in far["error"]
    assert far["segment_lengths_km"] == pytest.approx([40.0 + i for i in range(20)] + [230.0])
    assert near["status"] == "ok" and near["key_rate_bps"] > 0
