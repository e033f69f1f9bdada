"""Repeater architecture end to end: engines agree, key = pair rate x BBM92 fraction, bad input."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml

from qnetemu.engines.repeater_analytic import expected_max_geometric
from qnetemu.physics.entanglement import bbm92_key_fraction


def _run(cli, scenarios_dir, tmp_path, engine, **changes):
    data = yaml.safe_load((scenarios_dir / "repeater_chain.yaml").read_text())
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    path = tmp_path / f"rc-{engine}.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / f"out-{engine}"
    code, stdout, stderr = cli("run", path, "--out", out, "--engine", engine, "--no-plots", "--quiet")
    return code, out, stderr


def _repeater_row(out):
    d = pd.read_parquet(out / "demands.parquet")
    return d[d.architecture == "repeater"].iloc[0]


def test_analytic_and_montecarlo_agree_and_key_is_bbm92(cli, scenarios_dir, tmp_path):
    code, out_a, _ = _run(cli, scenarios_dir, tmp_path, "analytic")
    assert code == 0
    code, out_m, _ = _run(cli, scenarios_dir, tmp_path, "montecarlo", **{"engine.max_pairs": 4000})
    assert code == 0
    a, m = _repeater_row(out_a), _repeater_row(out_m)
    assert a.repeaters == 3 and a.segment_length_km == pytest.approx(50.0)
    assert a.trusted_nodes == 0 and a.engine == "analytic" and m.engine == "montecarlo"
    # every row records the protocol that produced it
    assert a.protocol == m.protocol == "nested/negotiated/classical/independent_lanes"
    assert a.decoherence == "depolarising"
    # Monte Carlo statistics: the analytic engine is exact for this protocol, so 4 standard errors.
    assert abs(m.pair_rate_hz - a.pair_rate_hz) < 4 * m.pair_rate_stderr_hz
    assert abs(m.fidelity - a.fidelity) < 4 * m.fidelity_stderr
    for row in (a, m):
        assert row.key_fraction == pytest.approx(float(bbm92_key_fraction(row.fidelity, ec_efficiency=1.16)))
        assert row.key_rate_bps == pytest.approx(row.pair_rate_hz * row.key_fraction)


def test_analytic_rate_against_closed_form(cli, scenarios_dir, tmp_path):
    """4 x 50 km, one memory per link, deterministic swaps, instant messages (swap-ASAP).

    Success per attempt p = 1/2 (eta_mem eta_det)^2 10^(-0.2 x 50 / 10) (two photons, each over
    half the link, Barrett-Kok-like heralding). Links restart as soon as their two memories are
    free (pipelining, as SeQUeNCe runs it), so the rate is the stationary delivery probability
    of the pipelined chain per attempt period; its first pair waits E[max of 4 geometric]
    attempts (links restarted early never hold it up), and the rate exceeds 1 / (E[max] x period).
    """
    from qnetemu.engines.swap_asap_pipelined import swap_asap_pipelined

    textbook = {"swap_order": "swap_asap", "link_generation": "continuous", "swap_messaging": "instant",
                "multiplexing": "single"}
    code, out, _ = _run(cli, scenarios_dir, tmp_path, "analytic",
                        **{"repeater.memory.memories_per_node": 1, "repeater.protocol": textbook})
    assert code == 0
    row = _repeater_row(out)
    assert row.protocol == "swap_asap/continuous/instant/single"
    p = 0.5 * (0.9 * 0.9) ** 2 * 10 ** (-0.2 * 50 / 10)
    period = max(1 / 1e5, 50e3 * 1.468 / 299_792_458.0)
    chain = swap_asap_pipelined([p] * 4, 1.0, 0.0, fidelity=False)
    assert row.pair_rate_hz == pytest.approx(chain.deliveries_per_period / period, rel=1e-6)
    assert row.pair_rate_hz > 1.02 / (float(expected_max_geometric([p] * 4)) * period)
    # Closed form of the maximum of 4 geometric variables (inclusion-exclusion): the first pair.
    e_max = sum(math.comb(4, k) * (-1) ** (k + 1) / (1 - (1 - p) ** k) for k in range(1, 5))
    assert chain.first_delivery_periods == pytest.approx(e_max, rel=1e-9)


def test_chain_that_cannot_deliver_in_time_is_recorded(cli, scenarios_dir, tmp_path):
    code, out, _ = _run(cli, scenarios_dir, tmp_path, "analytic",
                        **{"engine.max_time_s": 1e-4, "repeater.memory.memories_per_node": 1})
    assert code == 0
    row = _repeater_row(out)
    assert row.status == "beyond_time_limit" and row.key_rate_bps == 0 and "max_time_s" in row.error
    d = pd.read_parquet(out / "demands.parquet")
    assert d[d.architecture == "trusted_node"].iloc[0].key_rate_bps > 0  # the other rows are kept


@pytest.mark.parametrize(("engine", "path", "value", "field"), [
    ("sequence", "repeater.purification", {"protocol": "bbpssw", "rounds": 1}, "repeater.purification"),
    # repeater_chain.yaml has 4 memories per link: SeQUeNCe keeps every heralded pair
    ("sequence", "repeater.protocol.multiplexing", "single", "repeater.protocol.multiplexing"),
    ("analytic", "repeater.cutoff_time_s", 2e-3, "repeater.cutoff_time_s"),
    ("montecarlo", "repeater.protocol.multiplexing", "shared_pool", "repeater.protocol.multiplexing"),
])
def test_engine_refuses_what_it_cannot_run(cli, scenarios_dir, tmp_path, engine, path, value, field):
    """An engine that cannot run what the scenario asks says so in one line naming the file and
    the field, exit 2, and writes nothing; none substitutes another protocol."""
    code, out, stderr = _run(cli, scenarios_dir, tmp_path, engine, **{path: value})
    assert code == 2, stderr
    assert field in stderr and f"rc-{engine}.yaml" in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_repeater_route_is_the_same_in_run_and_sweep_point(tmp_path):
    """Issue 12 item 5: a repeater-only sweep point routes as `qnetemu run` does.

    A - B is one 150 km span (one inserted trusted node, two 75 km QKD links); A - C - D - B
    is three 60 km spans (two trusted nodes, faster links). With the scenario's tolerance
    (0.9) the trusted-node key takes the direct span. The repeater chain takes its own route
    on the fibre, the same in the run and in the point: three 50 km links (10 dB each, 3 x 10
    expected attempts) against six of 30 km (6 dB, 6 x 10**0.6 = 23.9), so the three spans;
    and it stays there when the trust routing changes (tolerance 0).
    """
    from qnetemu.pipeline import evaluate, evaluate_point
    from qnetemu.scenario.load import validate_scenario_dict
    from qnetemu.scenario.resolve import resolve

    data = {
        "name": "routes",
        "sites": [{"name": n, "lat_deg": 46.0 + 0.1 * i, "lon_deg": 6.0 + 0.1 * i}
                  for i, n in enumerate("ACDB")],
        "links": [{"a": "A", "b": "B", "length_km": 150.0}, {"a": "A", "b": "C", "length_km": 60.0},
                  {"a": "C", "b": "D", "length_km": 60.0}, {"a": "D", "b": "B", "length_km": 60.0}],
        "qkd": {"preset": "commercial_decoy_bb84"},
        "trusted_nodes": {"reach_km": 100, "route_rate_tolerance": 0.9},
        "architectures": ["trusted_node", "repeater"],
        "demands": [{"a": "A", "b": "B"}],
    }
    scenario = validate_scenario_dict(data, "routes.yaml")
    run_rows = evaluate(scenario, resolve(scenario, file="routes.yaml", base_dir=tmp_path),
                        engine="analytic", seed=1).tables["demands"]
    run_route = next(r["path"] for r in run_rows if r["architecture"] == "repeater")
    point_rows = evaluate_point(data, engine="analytic", architecture="repeater", seed=1,
                                source="routes.yaml", base_dir=tmp_path)["demands"]
    assert [r["architecture"] for r in point_rows] == ["repeater"]
    assert point_rows[0]["path"] == run_route
    assert run_route == "A > C > D > B"
    assert next(r["path"] for r in run_rows if r["architecture"] == "trusted_node") == "A > TN A–B 1 > B"

    strict = validate_scenario_dict(data | {"trusted_nodes": {"reach_km": 100, "route_rate_tolerance": 0.0}},
                                    "routes.yaml")
    strict_rows = evaluate(strict, resolve(strict, file="routes.yaml", base_dir=tmp_path),
                           engine="analytic", seed=1).tables["demands"]
    assert "C" in next(r["path"] for r in strict_rows if r["architecture"] == "trusted_node")
    assert next(r["path"] for r in strict_rows if r["architecture"] == "repeater") == run_route


@pytest.mark.parametrize(("path", "value", "field"), [
    ("repeater.memory.efficiency", 1.2, "repeater.memory.efficiency"),
    ("repeater.memory.coherence_time_s", -1.0, "repeater.memory.coherence_time_s"),
    ("repeater.memory.memories_per_node", 0, "repeater.memory.memories_per_node"),
    ("repeater.swap_success_prob", 0.0, "repeater.swap_success_prob"),
])
def test_impossible_hardware(cli, scenarios_dir, tmp_path, path, value, field):
    code, out, stderr = _run(cli, scenarios_dir, tmp_path, "analytic", **{path: value})
    assert code == 2 and field in stderr and len(stderr.strip().splitlines()) == 1
    assert not out.exists()
