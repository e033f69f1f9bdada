"""Key rates of fibre links under the finite-key model and with classical traffic on the fibre."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.network.fibre_qkd import link_key, raman_noise_prob
from qnetemu.physics.finite_key import bb84_decoy_lim2014
from qnetemu.physics.qkd import bb84_decoy_ma2005
from qnetemu.pipeline import build_network
from qnetemu.scenario.load import validate_scenario_dict
from qnetemu.scenario.resolve import resolve
from qnetemu.scenario.schema import Coexistence, QKDProfile

LIT = {"filter_bandwidth_nm": 0.8,
       "channels": [{"count": 4, "launch_power_mw": 0.1, "wavelength_m": 1.5308e-6, "direction": "counter"}]}


def _scenario(qkd, fibre=None, links=None):
    data = {
        "name": "t",
        "sites": [{"name": "A", "lat_deg": 46.2, "lon_deg": 6.14}, {"name": "B", "lat_deg": 46.52, "lon_deg": 6.63},
                  {"name": "C", "lat_deg": 46.9, "lon_deg": 7.4}],
        "links": links or [{"a": "A", "b": "B", "length_km": 40.0}, {"a": "B", "b": "C", "length_km": 60.0}],
        "qkd": qkd,
        "trusted_nodes": {"optical_bypass": False},
        "demands": [{"a": "A", "b": "C"}],
    }
    if fibre:
        data["fibre"] = fibre
    scenario = validate_scenario_dict(data, "t.yaml")
    graph, _ = build_network(scenario, resolve(scenario, file="t.yaml", base_dir="."))
    return {d["link_id"]: d for _, _, d in graph.edges(data=True)}


def test_finite_key_links_use_lim2014_and_say_so():
    fk = {"block_detections": 1e8, "p_x": 0.8, "p_mu": 0.7, "p_nu": 0.2}
    links = _scenario({"preset": "commercial_decoy_bb84", "key_model": "finite", "finite_key": fk})
    asym = _scenario({"preset": "commercial_decoy_bb84"})
    profile = QKDProfile(preset="commercial_decoy_bb84")
    for link_id, data in links.items():
        assert data["key_model"] == "finite" and asym[link_id]["key_model"] == "asymptotic"
        expected = bb84_decoy_lim2014(data["transmittance"], block_detections=1e8, mu=profile.mu, nu=profile.nu,
                                      omega=0.0, p_mu=0.7, p_nu=0.2, p_x=0.8,
                                      detector_efficiency=profile.detector_efficiency,
                                      dark_count_prob=profile.dark_count_prob,
                                      misalignment_error=profile.misalignment_error, afterpulse_prob=0.0,
                                      ec_efficiency=profile.ec_efficiency, eps_sec=1e-10, eps_cor=1e-15)
        assert_allclose(data["key_rate_bps"], expected * profile.repetition_rate_hz, rtol=1e-12)
        assert 0 < data["key_rate_bps"] < asym[link_id]["key_rate_bps"]
        # The block of 1e8 sifted detections takes longer to fill on the longer, lossier link.
    assert links["B–C"]["block_time_s"] > links["A–B"]["block_time_s"] > 0
    assert np.isnan(asym["A–B"]["block_time_s"])


def test_block_time_gives_small_blocks_on_long_links():
    fk = {"block_time_s": 10.0}
    key = link_key(QKDProfile(preset="commercial_decoy_bb84", key_model="finite", finite_key=fk),
                   np.array([0.5, 1e-2, 1e-3]))
    assert_allclose(key.block_time_s, 10.0, rtol=1e-12)
    assert np.all(np.diff(key.block_detections) < 0)


def test_dark_fibre_profile_is_unchanged():
    """No coexistence: the asymptotic model is exactly Ma et al. (2005), as before."""
    profile = QKDProfile(preset="gys2005")
    t = np.array([1.0, 0.1, 1e-3])
    key = link_key(profile, t)
    expected = bb84_decoy_ma2005(t, mu=0.48, nu=0.05, detector_efficiency=0.045, dark_count_prob=1.7e-6,
                                 misalignment_error=0.033, ec_efficiency=1.22) * 2e6
    assert_allclose(key.key_rate_bps, expected, rtol=1e-12)


def test_coexistence_adds_raman_noise_and_costs_key():
    links = _scenario({"preset": "commercial_decoy_bb84", "gate_width_s": 1e-10}, fibre={"coexistence": LIT},
                      links=[{"a": "A", "b": "B", "length_km": 40.0},
                             {"a": "B", "b": "C", "length_km": 60.0, "dark_fibre": True}])
    dark = _scenario({"preset": "commercial_decoy_bb84", "gate_width_s": 1e-10})
    lit, unlit = links["A–B"], links["B–C"]
    assert lit["raman_noise_prob"] > 1e-6 and unlit["raman_noise_prob"] == 0.0
    assert lit["qber"] > dark["A–B"]["qber"]
    assert lit["key_rate_bps"] < dark["A–B"]["key_rate_bps"]
    assert unlit["key_rate_bps"] == dark["B–C"]["key_rate_bps"]


def test_link_rows_name_the_raman_coefficient_source():
    """Every lit link says whether its coefficient was modelled or given by the scenario; dark links say none."""
    given = {"count": 1, "launch_power_mw": 0.1, "wavelength_m": 1.31e-6, "raman_coefficient_per_km_nm": 3e-10}
    links = _scenario({"preset": "commercial_decoy_bb84"}, fibre={"coexistence": LIT},
                      links=[{"a": "A", "b": "B", "length_km": 40.0,
                              "coexistence": {"channels": [given, LIT["channels"][0]]}},
                             {"a": "B", "b": "C", "length_km": 60.0}])
    assert links["A–B"]["raman_coefficient_source"] == "scenario+silica_model"
    assert links["B–C"]["raman_coefficient_source"] == "silica_model"
    only_given = _scenario({"preset": "commercial_decoy_bb84"}, fibre={"coexistence": {"channels": [given]}})
    assert {d["raman_coefficient_source"] for d in only_given.values()} == {"scenario"}
    dark = _scenario({"preset": "commercial_decoy_bb84"})
    assert {d["raman_coefficient_source"] for d in dark.values()} == {None}


def test_a_given_coefficient_is_the_one_used():
    """A scenario's coefficient replaces the model's: noise scales with it exactly (weak-noise limit)."""
    profile = QKDProfile(preset="commercial_decoy_bb84", gate_width_s=1e-10)
    lengths = np.array([10.0, 50.0])
    group = {"launch_power_mw": 1e-3, "wavelength_m": 1.31e-6}
    p1 = raman_noise_prob(profile, Coexistence(channels=[{**group, "raman_coefficient_per_km_nm": 1e-10}]),
                          lengths, 0.2)
    p3 = raman_noise_prob(profile, Coexistence(channels=[{**group, "raman_coefficient_per_km_nm": 3e-10}]),
                          lengths, 0.2)
    assert_allclose(np.log1p(-p3) / np.log1p(-p1), 3.0, rtol=1e-9)  # Poisson mean is linear in beta


def test_noise_is_the_sum_over_channel_groups_and_directions():
    profile = QKDProfile(preset="commercial_decoy_bb84", gate_width_s=1e-10)
    one = Coexistence(channels=[{"launch_power_mw": 0.01, "direction": "co"}])
    two = Coexistence(channels=[{"launch_power_mw": 0.01, "direction": "co", "count": 2}])
    counter = Coexistence(channels=[{"launch_power_mw": 0.01, "direction": "counter"}])
    lengths = np.array([50.0, 100.0])
    p1, p2 = raman_noise_prob(profile, one, lengths, 0.2), raman_noise_prob(profile, two, lengths, 0.2)
    assert_allclose(p2, 1 - (1 - p1) ** 2, rtol=1e-9)  # Poisson: twice the photons
    assert np.all(raman_noise_prob(profile, counter, lengths, 0.2) > p1)


@pytest.mark.parametrize("length_km", [20.0, 60.0])
def test_raman_noise_shortens_reach(length_km):
    profile = QKDProfile(preset="commercial_decoy_bb84", gate_width_s=1e-10)
    lit = Coexistence(**LIT)
    lengths = np.linspace(1, 250, 500)
    t = 10 ** (-0.2 * lengths / 10)
    dark = link_key(profile, t).key_rate_bps
    noisy = link_key(profile, t, raman_noise_prob(profile, lit, lengths, 0.2)).key_rate_bps
    reach_dark = lengths[dark > 0].max()
    reach_lit = lengths[noisy > 0].max()
    assert reach_lit < reach_dark


def _inserted(qkd, reach):
    data = {
        "name": "t",
        "sites": [{"name": "A", "lat_deg": 44.43, "lon_deg": 26.10}, {"name": "B", "lat_deg": 45.75, "lon_deg": 21.21}],
        "links": [{"a": "A", "b": "B", "length_km": 600.0}],
        "qkd": qkd,
        "trusted_nodes": {"reach_km": reach, "optical_bypass": False},
        "demands": [{"a": "A", "b": "B"}],
    }
    scenario = validate_scenario_dict(data, "t.yaml")
    graph, inserted = build_network(scenario, resolve(scenario, file="t.yaml", base_dir="."))
    return graph, inserted


def test_protocol_reach_sets_trusted_node_insertion():
    """600 km: decoy BB84 (~140 km reach) needs 4+ trusted nodes, twin-field (~500 km) one."""
    _, bb84 = _inserted({"preset": "gys2005"}, "protocol")
    graph, tf = _inserted({"preset": "tf_lucamarini2018"}, "protocol")
    assert len(bb84) >= 4 and len(tf) == 1
    for _, _, data in graph.edges(data=True):
        # Each twin-field span has its measurement station, recorded as untrusted and not a graph node.
        assert data["untrusted_station"].startswith("MS ") and data["untrusted_station"] not in graph
        assert data["key_rate_bps"] > 0
    assert {graph.nodes[n]["role"] for n in graph} <= {"endpoint", "trusted_node"}


def test_fixed_reach_is_unchanged():
    _, inserted = _inserted({"preset": "tf_lucamarini2018"}, 100.0)
    assert len(inserted) == 5


def test_twin_field_architecture_rows():
    """Architecture twin_field: the same demand over twin-field links, trusted nodes at twin-field reach."""
    from qnetemu.pipeline import evaluate

    data = {
        "name": "t",
        "sites": [{"name": "A", "lat_deg": 44.43, "lon_deg": 26.10}, {"name": "B", "lat_deg": 45.75, "lon_deg": 21.21}],
        "links": [{"a": "A", "b": "B", "length_km": 600.0}],
        "qkd": {"preset": "gys2005"},
        "trusted_nodes": {"reach_km": "protocol", "optical_bypass": False},
        "architectures": ["trusted_node", "twin_field"],
        "demands": [{"a": "A", "b": "B"}],
    }
    scenario = validate_scenario_dict(data, "t.yaml")
    out = evaluate(scenario, resolve(scenario, file="t.yaml", base_dir="."))
    rows = {r["architecture"]: r for r in out.tables["demands"]}
    assert set(rows) == {"trusted_node", "twin_field"}
    assert rows["trusted_node"]["trusted_nodes"] >= 4 and rows["twin_field"]["trusted_nodes"] == 1
    assert rows["twin_field"]["key_rate_bps"] > 0 and rows["twin_field"]["key_model"] == "asymptotic"
    # The links table stays the trusted_node architecture's network.
    assert all(r["protocol"] == "decoy_bb84" for r in out.tables["links"])
