"""Tests of the QKD device presets.

The gys2005 values are those of Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326
(2005), Table I (GYS experiment): eta_Bob = 4.5 %, Y0 = 1.7e-6,
e_d = 3.3 %, 0.21 dB/km, f = 1.22; with them the vacuum + weak decoy
protocol reaches about 140 km (infinite decoys: 142 km).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.physics.presets import QKD_DEVICE_PRESETS, qkd_device_preset
from qnetemu.physics.qkd import bb84_decoy_ma2005, bb84_max_channel_loss_db

KEYS = {"protocol", "repetition_rate_hz", "detector_efficiency", "dark_count_prob",
        "misalignment_error", "ec_efficiency", "mu", "nu", "attenuation_db_per_km", "source"}
#: Keys a preset may add: QKD profile fields (qnetemu.scenario.schema.QKDProfile).
OPTIONAL_KEYS = {"afterpulse_prob", "gate_width_s", "detector_dead_time_s", "key_model", "finite_key", "max_loss_db"}
#: Keys of the twin-field, MDI and CV presets beyond those they share with BB84 presets.
OTHER_KEYS = {"phase_slices", "sending_prob", "aopp", "modulation_variance", "excess_noise", "electronic_noise", "reconciliation_efficiency"}
RATE_KEYS = ("mu", "nu", "detector_efficiency", "dark_count_prob", "misalignment_error",
             "ec_efficiency")


BB84_PRESETS = sorted(n for n, p in QKD_DEVICE_PRESETS.items() if p["protocol"] == "decoy_bb84")


@pytest.mark.parametrize("name", BB84_PRESETS)
def test_preset_schema_and_ranges(name):
    p = qkd_device_preset(name)
    assert KEYS <= set(p) <= KEYS | OPTIONAL_KEYS
    assert p["protocol"] == "decoy_bb84"
    assert p["repetition_rate_hz"] > 0
    assert 0 < p["detector_efficiency"] <= 1
    assert 0 <= p["dark_count_prob"] < 1
    assert 0 <= p["misalignment_error"] <= 0.5
    assert p["ec_efficiency"] >= 1
    assert 0 < p["nu"] < p["mu"]
    assert 0 < p["attenuation_db_per_km"] < 1
    assert isinstance(p["source"], str) and len(p["source"]) > 20


@pytest.mark.parametrize("name", BB84_PRESETS)
def test_preset_gives_key_at_50_km_and_none_at_300_km(name):
    """Every preset must feed the decoy rate function directly (keys match its arguments)."""
    p = qkd_device_preset(name)
    t = fibre_transmittance(np.array([50.0, 300.0]), p["attenuation_db_per_km"])
    rate = bb84_decoy_ma2005(t, **{k: p[k] for k in RATE_KEYS})
    assert rate[0] > 0
    assert rate[1] == 0


def test_gys2005_matches_ma2005_table():
    """Ma et al. 2005, Table I (GYS)."""
    p = qkd_device_preset("gys2005")
    assert_allclose([p["detector_efficiency"], p["dark_count_prob"], p["misalignment_error"],
                     p["attenuation_db_per_km"], p["ec_efficiency"]],
                    [0.045, 1.7e-6, 0.033, 0.21, 1.22], rtol=0)
    assert_allclose(p["mu"], 0.48, atol=0.01)


def test_gys2005_reach():
    """Ma et al. 2005: vacuum + weak decoy with GYS reaches about 140 km (ours: 140.6 km)."""
    p = qkd_device_preset("gys2005")
    loss_db = bb84_max_channel_loss_db(bb84_decoy_ma2005, **{k: p[k] for k in RATE_KEYS})
    assert 139.0 < loss_db / p["attenuation_db_per_km"] < 143.0


def test_returns_independent_copy():
    p = qkd_device_preset("gys2005")
    p["mu"] = 99.0
    assert QKD_DEVICE_PRESETS["gys2005"]["mu"] == 0.48
    assert qkd_device_preset("gys2005")["mu"] == 0.48


def test_unknown_preset_names_dict_and_choices():
    with pytest.raises(KeyError, match="QKD_DEVICE_PRESETS") as info:
        qkd_device_preset("toshiba")
    assert "gys2005" in str(info.value) and "commercial_decoy_bb84" in str(info.value)


@pytest.mark.parametrize("name", sorted(QKD_DEVICE_PRESETS))
def test_every_preset_is_a_valid_profile(name):
    from qnetemu.scenario.schema import QKDProfile

    profile = QKDProfile(preset=name)
    assert profile.repetition_rate_hz == QKD_DEVICE_PRESETS[name]["repetition_rate_hz"]


def test_toshiba_tokyo2015_reproduces_dynes_2015():
    """Dynes et al., Opt. Express 23, 7583 (2015): 878 Gbit in 34 days (~300 kbit/s) on the 45 km Tokyo link.

    Finite key (Lim et al. 2014, blocks of 1e8, eps = 1e-10) at the link's 14.5 dB; within 10 %.
    The same settings with blocks of 1e14 give about 30 % more (385 kbit/s):
    finite-size effects are what the commercial (asymptotic) preset missed.
    """
    from qnetemu.network.fibre_qkd import link_key
    from qnetemu.scenario.schema import QKDProfile

    reported_bps = 878e9 / (34 * 86400)
    profile = QKDProfile(preset="toshiba_tokyo2015")
    key = link_key(profile, 10 ** (-14.5 / 10))
    assert_allclose(key.key_rate_bps, reported_bps, rtol=0.10)
    huge_blocks = QKDProfile(preset="toshiba_tokyo2015", finite_key={"block_detections": 1e14})
    assert link_key(huge_blocks, 10 ** (-14.5 / 10)).key_rate_bps > 1.2 * key.key_rate_bps
    assert 0.02 < key.qber < 0.05


def test_idq_class_reproduces_walenta_2014():
    """Walenta et al., NJP 16, 013047 (2014): 625 MHz COW, eps_QKD = 4e-9, "above 21 kbps over 25 km".

    The decoy-BB84 stand-in at 25 km of 0.2 dB/km (5 dB): 21 kbit/s, at
    most 5 % above; the clock and the security parameter are the paper's.
    The receiver is dead-time limited there, so the fitted dead time sets
    the rate: 10 % more or less of it moves the rate out of that window,
    while 10 % of efficiency, 10 % of clock or 0.5 dB of loss move it by
    under 1.5 % (saturation). Without the dead time the same hardware would
    give over 30 times the reported rate.
    """
    from qnetemu.network.fibre_qkd import link_key
    from qnetemu.scenario.schema import QKDProfile

    profile = QKDProfile(preset="idq_cerberis_class")
    assert profile.repetition_rate_hz == 625e6 and profile.key_model == "finite"
    assert_allclose(profile.finite_key.eps_sec + profile.finite_key.eps_cor, 4e-9, rtol=1e-12)
    t_25km = fibre_transmittance(25.0, 0.2)

    def in_window(rate_bps):
        return 21e3 <= rate_bps <= 1.05 * 21e3

    key = link_key(profile, t_25km)
    assert in_window(key.key_rate_bps), key.key_rate_bps
    assert 0.01 < key.qber < 0.04
    tau = profile.detector_dead_time_s
    for wrong in ({"detector_dead_time_s": 0.9 * tau}, {"detector_dead_time_s": 1.1 * tau}):
        assert not in_window(link_key(QKDProfile(preset="idq_cerberis_class", **wrong), t_25km).key_rate_bps)
    for small in ({"repetition_rate_hz": 0.9 * 625e6}, {"repetition_rate_hz": 1.1 * 625e6},
                  {"detector_efficiency": 0.9 * 0.10}, {"detector_efficiency": 1.1 * 0.10}):
        rate = link_key(QKDProfile(preset="idq_cerberis_class", **small), t_25km).key_rate_bps
        assert_allclose(rate, key.key_rate_bps, rtol=0.015)
    for loss_db in (4.5, 5.5):
        assert_allclose(link_key(profile, 10 ** (-loss_db / 10)).key_rate_bps, key.key_rate_bps, rtol=0.015)
    no_dead_time = QKDProfile(preset="idq_cerberis_class", detector_dead_time_s=0.0)
    assert link_key(no_dead_time, t_25km).key_rate_bps > 30 * key.key_rate_bps
    assert "Walenta" in QKD_DEVICE_PRESETS["idq_cerberis_class"]["source"]


def test_idq_class_reach_is_that_of_its_assumed_detectors():
    """With 10 % efficiency and 2e-6 dark counts (assumed), key to 129.6 km of 0.2 dB/km fibre (to 0.5 km):
    the long reach of COW-class systems, where the previous efficiency-only fit stopped at 58.6 km."""
    from qnetemu.network.fibre_qkd import profile_reach_km
    from qnetemu.scenario.schema import QKDProfile

    reach = profile_reach_km(QKDProfile(preset="idq_cerberis_class"), attenuation_db_per_km=0.2, extra_loss_db=0.0)
    assert reach == pytest.approx(129.6, abs=0.5)


def test_nested_preset_settings_merge_field_by_field():
    from qnetemu.scenario.schema import QKDProfile

    profile = QKDProfile(preset="toshiba_tokyo2015", finite_key={"block_detections": 1e9})
    assert profile.finite_key.block_detections == 1e9
    assert profile.finite_key.p_x == 0.9  # kept from the preset


@pytest.mark.parametrize("name", sorted(set(QKD_DEVICE_PRESETS) - set(BB84_PRESETS)))
def test_other_protocol_presets_are_profile_fields(name):
    from qnetemu.scenario.schema import QKDProfile

    p = qkd_device_preset(name)
    assert set(p) <= KEYS | OPTIONAL_KEYS | OTHER_KEYS
    assert QKDProfile(preset=name).protocol == p["protocol"]
    assert isinstance(p["source"], str) and len(p["source"]) > 20
