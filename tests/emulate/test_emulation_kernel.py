"""The emulator's model, checked on networks small enough to work out by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import networkx as nx
import numpy as np
import pytest

from qnetemu.emulate.kernel import Emulator
from qnetemu.emulate.network import emulated_network
from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.scenario.emulation import Emulation


def chain(rates_bps: dict[tuple[str, str], float], roles: dict[str, str] | None = None) -> nx.Graph:
    """A graph as the pipeline builds it: nodes with roles, edges with key_rate_bps and ends."""
    roles = roles or {}
    graph = nx.Graph()
    for (a, b), rate in rates_bps.items():
        for n in (a, b):
            graph.add_node(n, role=roles.get(n, "endpoint"), lat_deg=0.0, lon_deg=0.0)
        graph.add_edge(a, b, key_rate_bps=rate, link_id=f"{a}–{b}", ends=(a, b), segment="fibre", latency_s=0.0,
                       length_km=10.0)
    return graph


def outcomes(rows, app_name):
    return [r for r in rows if r["application"] == app_name]


GREEDY = dict(request_bits=1000, period_s=0.05)  # 20 kbit/s: more than any link gives


@pytest.mark.parametrize(("ac", "expected"), [
    (GREEDY, [9000.0, 1000.0, 1000.0]),
    # A–C asks for 500 bit/s only: it gets that, and B–C takes the rest of B–C.
    (dict(request_bits=500, period_s=1.0), [9500.0, 500.0, 1500.0]),
])
def test_constant_rates_converge_to_the_static_max_min_allocation(ac, expected):
    """Applications A–B, A–C and B–C on A–B (10 kbit/s) and B–C (2 kbit/s), A–B and B–C greedy.

    Max-min by hand: B–C is shared by A–C and B–C, 1 kbit/s each (or 0.5 and
    1.5 when A–C asks for 0.5); A–B keeps the rest of its 10 kbit/s. Served
    bits come in requests of at most 1000 bits and links deliver blocks of
    100 bits, so over T = 500 s a rate is off by about (request + block) / T
    = 2.2 bit/s, plus the start-up fill.
    """
    graph = chain({("A", "B"): 10_000.0, ("B", "C"): 2_000.0}, {"B": "trusted_node"})
    apps = [dict(a="A", b="B", **GREEDY), dict(a="A", b="C", **ac), dict(a="B", b="C", **GREEDY)]
    net = emulated_network(graph, Emulation(key_block_bits=100, store_capacity_bits=1e5, applications=apps))
    emu = Emulator.start(net, seed=0)
    duration_s = 500.0
    emu.run_until(duration_s)
    served_bps = np.array(emu.state.served_bits) / duration_s
    static = allocate_max_min_fair([["A", "B"], ["A", "B", "C"], ["B", "C"]],
                                   {("A", "B"): 10_000.0, ("B", "C"): 2_000.0}, [a.rate_bps for a in net.applications])
    np.testing.assert_allclose(static, expected)
    np.testing.assert_allclose(served_bps, static, atol=3 * (1000 + 100) / duration_s)


def test_fifo_is_not_max_min_fair_on_the_same_network():
    """The policy matters: first come, first served lets A–B and B–C take the key A–C needs on both."""
    graph = chain({("A", "B"): 10_000.0, ("B", "C"): 2_000.0}, {"B": "trusted_node"})
    apps = [dict(a="A", b="B", request_bits=1000, period_s=0.05), dict(a="A", b="C", request_bits=1000, period_s=0.05),
            dict(a="B", b="C", request_bits=1000, period_s=0.05)]
    net = emulated_network(graph, Emulation(key_block_bits=100, store_capacity_bits=1e5, applications=apps,
                                            scheduling="fifo"))
    emu = Emulator.start(net, seed=0)
    emu.run_until(500.0)
    served_bps = np.array(emu.state.served_bits) / 500.0
    assert served_bps[1] < 0.5 * 1000.0  # A–C starves under FIFO
    assert served_bps.sum() <= 10_000.0 + 2_000.0


def _two_link_outage(outage_s: float):
    """A–B–C at 1000 bit/s per link, stores of 10,000 bit, an application drawing 1000 bit every 10 s.

    Store depth at that draw: 10,000 / (1000 / 10) = 100 s. A–B is cut at
    t = 200 s, when its store is full; requests arrive at 5, 15, 25, ... s.
    """
    graph = chain({("A", "B"): 1000.0, ("B", "C"): 1000.0}, {"B": "trusted_node"})
    spec = Emulation(key_block_bits=100, store_capacity_bits=10_000, applications=[
        dict(name="rekey", a="A", b="C", request_bits=1000, period_s=10.0, start_s=5.0)],
        outages=[dict(a="A", b="B", start_s=200.0, duration_s=outage_s)])
    emu = Emulator.start(emulated_network(graph, spec), seed=0)
    rows = emu.run_until(600.0).requests + emu.finish().requests
    return emu, outcomes(rows, "rekey")


def test_outage_shorter_than_the_store_depth_does_not_starve():
    emu, rows = _two_link_outage(90.0)
    assert all(r["outcome"] == "served" for r in rows)
    assert len(rows) == 60
    # During the outage the A–B store drained by the nine draws at 205 ... 285 s.
    assert min(r["wait_s"] for r in rows) == 0.0


def test_outage_longer_than_the_store_depth_starves_by_hand():
    """Cut for 150 s (to 350 s): draws at 205 ... 295 s empty the store (ten of 1000 bit); the
    requests at 305, 315, 325 and 335 s find no key within their 10 s; the one at 345 s is
    served once A–B has made 1000 bit again, 1 s after the repair (6 s wait)."""
    emu, rows = _two_link_outage(150.0)
    missed = [r["arrival_s"] for r in rows if r["outcome"] == "missed"]
    assert missed == pytest.approx([305.0, 315.0, 325.0, 335.0])
    late = next(r for r in rows if r["arrival_s"] == pytest.approx(345.0))
    assert late["outcome"] == "served"
    assert late["wait_s"] == pytest.approx(6.0, abs=0.15)
    assert all(r["outcome"] == "served" for r in rows if r["arrival_s"] > 346.0)


def test_conservation_under_random_failures():
    """No link delivers more key than it generated (plus its initial fill), exactly accounted."""
    graph = chain({("A", "B"): 800.0, ("B", "C"): 500.0, ("C", "D"): 700.0, ("B", "D"): 300.0},
                  {"B": "trusted_node", "C": "trusted_node"})
    spec = Emulation(key_block_bits=200, store_capacity_bits=20_000, initial_fill=0.5, applications=[
        dict(a="A", b="D", rate_bps=200.0), dict(a="A", b="C", request_bits=512, period_s=2.0),
        dict(a="B", b="D", rate_bps=400.0)],
        failures=[dict(applies_to="fibre", mtbf_s=300.0, mttr_s=120.0),
                  dict(applies_to="trusted_nodes", mtbf_s=900.0, mttr_s=60.0)])
    emu = Emulator.start(emulated_network(graph, spec), seed=11)
    rows = emu.run_until(5000.0)
    s = emu.state
    assert rows.events, "the failure model produced no failures"
    for k in range(len(s.level_bits)):
        assert s.consumed_bits[k] <= s.generated_bits[k] + s.initial_bits[k] + 1e-6
        balance = s.initial_bits[k] + s.generated_bits[k] - s.consumed_bits[k] - s.discarded_bits[k]
        assert balance == pytest.approx(s.level_bits[k], abs=1e-6)
        assert 0.0 <= s.level_bits[k] <= 20_000 + 1e-9
    served = [r for r in rows.requests if r["outcome"] == "served"]
    # Every served request spent its bits on every hop: the hop-weighted sum is what the links lost.
    assert sum(r["bits"] * r["hops"] for r in served) == pytest.approx(sum(s.consumed_bits))


def test_trusted_node_failure_reroutes_around_it():
    """A–B–C is the wide route, A–D–C the narrow one; while B is down the key goes through D."""
    graph = chain({("A", "B"): 5000.0, ("B", "C"): 5000.0, ("A", "D"): 1000.0, ("D", "C"): 1000.0},
                  {"B": "trusted_node", "D": "trusted_node"})
    spec = Emulation(key_block_bits=100, store_capacity_bits=1e5, applications=[
        dict(name="app", a="A", b="C", request_bits=100, period_s=1.0)],
        outages=[dict(node="B", start_s=100.0, duration_s=100.0)])
    emu = Emulator.start(emulated_network(graph, spec), seed=0)
    rows = outcomes(emu.run_until(300.0).requests, "app")
    during = [r for r in rows if 110.0 <= r["arrival_s"] < 200.0]
    assert during and all(r["outcome"] == "served" and r["route"] == "A > D > C" for r in during)
    assert all(r["route"] == "A > B > C" for r in rows if r["arrival_s"] >= 210.0)


def test_satellite_key_arrives_pass_by_pass_on_clear_nights():
    """One pass a day, 10 kbit, at a station with 40 % clear nights: key only on clear nights, all of it."""
    graph = nx.Graph()
    graph.add_node("SAT S", role="satellite", lat_deg=float("nan"), lon_deg=float("nan"))
    graph.add_node("OGS", role="ground_station", lat_deg=40.0, lon_deg=-3.0,
                   ground_station={"weather_availability": 0.4})
    graph.add_edge("SAT S", "OGS", key_rate_bps=10_000 * 0.4 / 86400, segment="satellite", link_id="SAT S–OGS",
                   ends=("SAT S", "OGS"), latency_s=4e4)
    start = datetime(2026, 3, 20, tzinfo=UTC)
    passes = [{"satellite": "S", "station": "OGS", "set_utc": datetime(2026, 3, 20, 2, 0, tzinfo=UTC),
               "key_bits": 10_000.0}]
    net = emulated_network(graph, Emulation(store_capacity_bits=1e9, sample_period_s=86400.0), tables={"passes": passes}, start_utc=start,
                           window_s=86400.0)
    emu = Emulator.start(net, seed=5)
    nights = 400
    emu.run_until(nights * 86400.0)
    clear = sum(emu.state.nights.values())
    assert len(emu.state.nights) == nights
    assert emu.state.generated_bits[0] == pytest.approx(10_000.0 * clear)
    # Binomial: 4 standard errors of a 400-night fraction.
    assert abs(clear / nights - 0.4) < 4 * np.sqrt(0.4 * 0.6 / nights)


def test_same_seed_same_run_other_seed_other_failures():
    graph = chain({("A", "B"): 800.0, ("B", "C"): 500.0}, {"B": "trusted_node"})
    spec = Emulation(key_block_bits=200, applications=[dict(a="A", b="C", rate_bps=100.0)],
                     failures=[dict(applies_to="fibre", mtbf_s=200.0, mttr_s=50.0)])

    def run(seed):
        emu = Emulator.start(emulated_network(graph, spec), seed=seed)
        rows = emu.run_until(3000.0)
        return rows.events, rows.requests

    assert run(1) == run(1)
    assert run(1)[0] != run(2)[0]


def test_finite_key_links_deliver_their_own_blocks():
    """A finite-key link (block_time_s from its key model) delivers rate x block_time_s bits per block."""
    graph = chain({("A", "B"): 100.0, ("B", "C"): 100.0})
    graph.edges["A", "B"]["block_time_s"] = 30.0      # finite key: 3000-bit blocks every 30 s
    graph.edges["B", "C"]["block_time_s"] = float("nan")  # asymptotic: the emulation's block size
    net = emulated_network(graph, Emulation(key_block_bits=500, store_capacity_bits=1e6))
    assert [link.block_bits for link in net.links] == [3000.0, 500.0]
    emu = Emulator.start(net, seed=0)
    emu.run_until(95.0)
    assert [emu.level(k) for k in range(2)] == [9000.0, 9500.0]  # 3 blocks of 3000; 19 of 500


def test_routes_keep_the_relay_rules_of_the_built_graph():
    """A node that may not relay (can_relay False) is never a relay, even when it is the wide way round."""
    graph = chain({("A", "B"): 5000.0, ("B", "C"): 5000.0, ("A", "D"): 1000.0, ("D", "C"): 1000.0},
                  {"B": "trusted_node", "D": "trusted_node"})
    graph.nodes["B"]["can_relay"] = False
    spec = Emulation(key_block_bits=100, applications=[dict(name="app", a="A", b="C", request_bits=100)])
    emu = Emulator.start(emulated_network(graph, spec), seed=0)
    served = [r for r in emu.run_until(60.0).requests if r["outcome"] == "served"]
    assert served and all(r["route"] == "A > D > C" for r in served)


def test_a_deeper_store_on_one_link_rides_out_the_outage():
    """The 150 s cut of the two-link example starves a 10,000-bit store (depth 100 s); with 20,000
    bit on A–B (depth 200 s, full at the cut) it misses nothing."""
    graph = chain({("A", "B"): 1000.0, ("B", "C"): 1000.0}, {"B": "trusted_node"})
    spec = Emulation(key_block_bits=100, store_capacity_bits=10_000,
                     link_stores=[dict(a="A", b="B", capacity_bits=20_000)],
                     applications=[dict(name="rekey", a="A", b="C", request_bits=1000, period_s=10.0, start_s=5.0)],
                     outages=[dict(a="A", b="B", start_s=200.0, duration_s=150.0)])
    net = emulated_network(graph, spec)
    assert [link.capacity_bits for link in net.links] == [20_000.0, 10_000.0]
    emu = Emulator.start(net, seed=0)
    rows = emu.run_until(600.0).requests + emu.finish().requests
    assert rows and all(r["outcome"] == "served" for r in rows)


def test_link_failure_reroutes_when_another_route_exists():
    """A–B cut from 100 to 200 s: the key goes round through D meanwhile (A–B's stored key is not needed)."""
    graph = chain({("A", "B"): 5000.0, ("B", "C"): 5000.0, ("A", "D"): 1000.0, ("D", "C"): 1000.0},
                  {"B": "trusted_node", "D": "trusted_node"})
    spec = Emulation(key_block_bits=100, store_capacity_bits=1e5, applications=[
        dict(name="app", a="A", b="C", request_bits=100, period_s=1.0)],
        outages=[dict(a="A", b="B", start_s=100.0, duration_s=100.0)])
    emu = Emulator.start(emulated_network(graph, spec), seed=0)
    rows = outcomes(emu.run_until(300.0).requests, "app")
    assert {r["route"] for r in rows if 100.0 <= r["arrival_s"] < 200.0} == {"A > D > C"}
    assert {r["route"] for r in rows if r["arrival_s"] >= 200.0} == {"A > B > C"}
