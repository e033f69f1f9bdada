"""End to end: ``qnetemu run scenarios/ronaqci.yaml`` writes tables whose values hold up."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qnetemu.geo import great_circle_distance_km
from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.physics.finite_key import bb84_decoy_lim2014
from qnetemu.physics.presets import qkd_device_preset
from qnetemu.physics.raman import (
    raman_coefficient_per_km_nm,
    raman_noise_power_w,
    raman_noise_prob_per_gate,
)
from qnetemu.scenario.load import content_hash, read_yaml

CITIES = ["Bucharest", "Iași", "Cluj-Napoca", "Timișoara", "Craiova", "Constanța"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, scenarios_dir):
    from qnetemu.cli import main

    out = tmp_path_factory.mktemp("ronaqci") / "run"
    assert main(["run", str(scenarios_dir / "ronaqci.yaml"), "--out", str(out)]) == 0
    return out


def test_all_fifteen_city_pairs_get_key(run_dir):
    demands = pd.read_parquet(run_dir / "demands.parquet")
    assert len(demands) == 15
    pairs = {frozenset(p) for p in zip(demands.a, demands.b, strict=True)}
    assert pairs == {frozenset((x, y)) for i, x in enumerate(CITIES) for y in CITIES[i + 1 :]}
    assert (demands.status == "ok").all()
    assert (demands.key_rate_bps > 0).all()
    assert (demands.key_rate_bps <= demands.bottleneck_key_rate_bps * (1 + 1e-12)).all()


def test_bucharest_constanta_by_hand(run_dir):
    """Direct RoEduNet link: great circle x 1.3, split at the lit-fibre reach (~97.7 km) into 3 spans, 2 trusted nodes.

    Great-circle Bucharest–Constanța is about 204 km (haversine with the
    scenario's coordinates); 1.3 x that is 265 km, so ceil(265/97.7) = 3 spans
    of 88.4 km, each 0.2 dB/km x 88.4 km + 1 dB = 18.7 dB. Each span's key is
    the finite-key rate of the idq_cerberis_class preset (Lim et al. 2014)
    with the Raman noise of the scenario's O-band data channels
    (Eraerds et al. 2010) added to the dark counts, times the live fraction
    of its 6 us detector dead time (1/(1 + R tau), by hand).
    """
    demands = pd.read_parquet(run_dir / "demands.parquet").set_index(["a", "b"])
    row = demands.loc[("Bucharest", "Constanța")]
    gc_km = float(great_circle_distance_km(44.4268, 26.1025, 44.1598, 28.6348))
    assert gc_km == pytest.approx(204, abs=3)
    assert row.distance_km == pytest.approx(1.3 * gc_km, rel=1e-9)
    assert row.trusted_nodes == 2 and row.hops == 3
    assert row.route_sites == "Bucharest > Constanța"
    p = qkd_device_preset("idq_cerberis_class")
    fk = p["finite_key"]
    span_km = 1.3 * gc_km / 3
    span_t = fibre_transmittance(span_km, 0.2, 1.0)
    # Raman from 2 co- + 2 counter-propagating 0.05 mW channels at 1310 nm into 1550.12 nm, 0.1 nm filter.
    beta = raman_coefficient_per_km_nm(1310e-9, 1550.12e-9)
    power_w = sum(2 * raman_noise_power_w(0.05e-3, span_km, attenuation_db_per_km=0.2, raman_coefficient_per_km_nm=beta,
                                          filter_bandwidth_nm=0.1, counter_propagating=counter)
                  for counter in (False, True))
    noise = raman_noise_prob_per_gate(power_w, quantum_wavelength_m=1550.12e-9,
                                      detector_efficiency=p["detector_efficiency"], gate_width_s=p["gate_width_s"])
    span_rate = float(bb84_decoy_lim2014(
        span_t, block_detections=fk["block_detections"], mu=p["mu"], nu=p["nu"], omega=fk["omega"], p_mu=fk["p_mu"],
        p_nu=fk["p_nu"], p_x=fk["p_x"], detector_efficiency=p["detector_efficiency"],
        dark_count_prob=p["dark_count_prob"] + noise, misalignment_error=p["misalignment_error"],
        afterpulse_prob=p["afterpulse_prob"], ec_efficiency=p["ec_efficiency"], eps_sec=fk["eps_sec"],
        eps_cor=fk["eps_cor"])) * p["repetition_rate_hz"]
    # Clicks per gate over the three intensities (mu, nu, vacuum), then the dead time's live fraction.
    eta = span_t * p["detector_efficiency"]
    clicks = sum(prob * (p["dark_count_prob"] + noise - np.expm1(-eta * k)) * (1 + p["afterpulse_prob"])
                 for k, prob in ((p["mu"], fk["p_mu"]), (p["nu"], fk["p_nu"]), (fk["omega"], 1 - fk["p_mu"] - fk["p_nu"])))
    live = 1 / (1 + p["repetition_rate_hz"] * clicks * p["detector_dead_time_s"])
    assert 0.3 < live < 0.6  # 88 km spans: the dead time still costs about half the gates
    # At 10 % efficiency the O-band data's Raman noise exceeds the detectors' 2e-6 dark counts.
    assert 1.0 * p["dark_count_prob"] < noise < 5.0 * p["dark_count_prob"]
    assert row.bottleneck_key_rate_bps == pytest.approx(span_rate * live, rel=1e-6)


def test_allocation_never_overspends_a_link(run_dir):
    links = pd.read_parquet(run_dir / "links.parquet")
    demands = pd.read_parquet(run_dir / "demands.parquet")
    capacity = {frozenset((a, b)): r for a, b, r in zip(links.a, links.b, links.key_rate_bps, strict=True)}
    used = dict.fromkeys(capacity, 0.0)
    for path, rate in zip(demands.path, demands.key_rate_bps, strict=True):
        nodes = path.split(" > ")
        for u, v in zip(nodes[:-1], nodes[1:], strict=True):
            used[frozenset((u, v))] += rate
    over = {k: (used[k], capacity[k]) for k in capacity if used[k] > capacity[k] * (1 + 1e-9)}
    assert not over
    # Max-min fairness: every demand crosses at least one saturated link.
    saturated = {k for k in capacity if used[k] >= capacity[k] * (1 - 1e-9)}
    for path in demands.path:
        nodes = path.split(" > ")
        assert any(frozenset(e) in saturated for e in zip(nodes[:-1], nodes[1:], strict=True)), path


def test_spans_respect_reach_and_links_have_physics(run_dir):
    links = pd.read_parquet(run_dir / "links.parquet")
    assert (links.length_km <= 100 + 1e-9).all()
    assert np.allclose(links.transmittance, 10 ** (-links.loss_db / 10))
    # Lit RoEduNet fibre: every link's Raman coefficient is the silica model's (no measured one is built in).
    assert (links.raman_coefficient_source == "silica_model").all()
    sites = pd.read_parquet(run_dir / "sites.parquet")
    assert set(CITIES) <= set(sites.name)
    assert sites.inserted.sum() == len(pd.read_parquet(run_dir / "inserted_trusted_nodes.parquet"))


def test_manifest_provenance(run_dir, scenarios_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == content_hash(read_yaml(scenarios_dir / "ronaqci.yaml"))
    assert manifest["versions"]["sequence"] and manifest["versions"]["numpy"]
    assert manifest["tables"]["demands"] == 15
    assert (run_dir / "demands.csv").is_file() and (run_dir / "scenario.yaml").is_file()


def test_figures_are_drawn_and_redrawn(run_dir, cli):
    figures = run_dir / "figures"
    for stem in ("network_map", "link_rate_vs_distance", "demand_rate_vs_distance", "trusted_nodes_per_demand"):
        assert (figures / f"{stem}.png").stat().st_size > 5000
    assert not list(figures.glob("*.pdf"))  # PDF only when asked for
    (figures / "network_map.png").unlink()
    code, stdout, _ = cli("plot", run_dir, "--pdf")
    assert code == 0 and "network_map.png" in stdout and "network_map.pdf" in stdout
    assert (figures / "network_map.png").is_file() and (figures / "network_map.pdf").stat().st_size > 5000


def test_printed_table(tmp_path, cli, scenarios_dir):
    code, stdout, _ = cli("run", scenarios_dir / "ronaqci.yaml", "--out", tmp_path / "r", "--no-plots")
    assert code == 0
    assert "Bucharest ↔ Constanța" in stdout and "Trusted nodes" in stdout and "kbit/s" in stdout


def test_schema_and_info(cli):
    code, stdout, _ = cli("schema")
    schema = json.loads(stdout)
    assert code == 0 and "sites" in schema["properties"] and "Link" in schema["$defs"]
    code, stdout, _ = cli("info")
    assert code == 0 and "sequence" in stdout and "numpy" in stdout


def test_same_nodes_variant_inserts_at_the_lit_reach(scenarios_dir):
    """ronaqci_dark_fibre_same_nodes.yaml's reach_km is the lit fibre's protocol reach (to 0.1 km)."""
    from qnetemu.network.fibre_qkd import profile_reach_km
    from qnetemu.scenario.schema import Coexistence, QKDProfile

    lit = read_yaml(scenarios_dir / "ronaqci.yaml")
    same = read_yaml(scenarios_dir / "ronaqci_dark_fibre_same_nodes.yaml")
    fibre = lit["fibre"]
    reach = profile_reach_km(QKDProfile(**lit["qkd"]), attenuation_db_per_km=fibre["attenuation_db_per_km"],
                             extra_loss_db=fibre["extra_loss_db"],
                             coexistence=Coexistence.model_validate(fibre["coexistence"]))
    assert same["trusted_nodes"]["reach_km"] == pytest.approx(reach, abs=0.1)
