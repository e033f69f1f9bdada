"""Bad values in the QKD link models (finite key, coexistence): one line naming the field, exit 2."""

from __future__ import annotations

import pytest
from test_bad_input import _with  # tests/scenario is on sys.path (pytest prepend import mode)

FINITE = {"preset": "gys2005", "key_model": "finite", "finite_key": {"block_detections": 1e8}}
LIT = {"channels": [{"count": 2, "launch_power_mw": 1.0, "direction": "counter"}]}

CASES = [
    ("negative-power", _with("fibre.coexistence", {"channels": [{"launch_power_mw": -1.0}]}),
     "fibre.coexistence.channels[0].launch_power_mw", "greater than 0"),
    ("eps-sec-one", _with("qkd", {**FINITE, "finite_key": {"block_detections": 1e8, "eps_sec": 1.0}}),
     "qkd.finite_key.eps_sec", "less than 1"),
    ("eps-cor-zero", _with("qkd", {**FINITE, "finite_key": {"block_detections": 1e8, "eps_cor": 0.0}}),
     "qkd.finite_key.eps_cor", "greater than 0"),
    ("block-missing", _with("qkd", {**FINITE, "finite_key": {}}), "qkd", "exactly one of"),
    ("filter-zero", _with("links[0].coexistence", {**LIT, "filter_bandwidth_nm": 0.0}),
     "links[0].coexistence.filter_bandwidth_nm", "greater than 0"),
    ("direction", _with("fibre.coexistence", {"channels": [{"direction": "sideways"}]}),
     "fibre.coexistence.channels[0].direction", "co"),
    ("negative-raman", _with("fibre.coexistence", {"channels": [{"raman_coefficient_per_km_nm": -1e-9}]}),
     "fibre.coexistence.channels[0].raman_coefficient_per_km_nm", "greater than or equal to 0"),
    ("channel-wavelength-nm", _with("fibre.coexistence", {"channels": [{"wavelength_m": 1310.0}]}),
     "fibre.coexistence.channels[0].wavelength_m", "less than or equal to 0.0000017"),
    ("no-channels", _with("fibre.coexistence", {"channels": []}), "fibre.coexistence.channels", "at least 1"),
    ("zero-count", _with("fibre.coexistence", {"channels": [{"count": 0}]}),
     "fibre.coexistence.channels[0].count", "greater than or equal to 1"),
    ("quantum-wavelength", _with("fibre.coexistence", {**LIT, "quantum_wavelength_m": 1.0e-6}),
     "fibre.coexistence.quantum_wavelength_m", "greater than or equal to 0.0000012"),
    ("channel-in-quantum-band", _with("fibre.coexistence", {"filter_bandwidth_nm": 0.8,
                                                            "channels": [{"wavelength_m": 1550.3e-9}]}),
     "fibre.coexistence", "lies inside the quantum channel's 0.8 nm filter"),
    ("link-channel-in-quantum-band", _with("links[0].coexistence", {"quantum_wavelength_m": 1310e-9,
                                                                    "channels": [{"wavelength_m": 1310e-9}]}),
     "links[0].coexistence", "in-band classical light is not Raman noise"),
    ("negative-dead-time", _with("qkd", {"preset": "idq_cerberis_class", "detector_dead_time_s": -1e-6}),
     "qkd.detector_dead_time_s", "greater than or equal to 0"),
    ("dead-time-twin-field", _with("qkd", {"preset": "tf_lucamarini2018", "detector_dead_time_s": 1e-6}),
     "qkd", "detector_dead_time_s is modelled for the prepare-and-measure BB84 protocols only"),
]


@pytest.mark.parametrize(("text", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_link_model_one_line_exit_2(tmp_path, cli, text, field, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, stdout, stderr = cli("validate", path)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert str(path) in lines[0] and field in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in stderr + stdout


def test_protocol_reach_of_a_profile_without_key(tmp_path, cli):
    """trusted_nodes.reach_km: protocol with hardware whose reach is 0 (key only at a loss below its terminals')."""
    text = _with("qkd", {"protocol": "cv_gg02", "excess_noise": 0.05, "modulation_variance": 40.0})
    text += "fibre: {extra_loss_db: 10.0}\ntrusted_nodes: {reach_km: protocol}\n"
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    code, _, stderr = cli("run", path, "--out", out, "--no-plots")
    assert code == 2
    assert len(stderr.strip().splitlines()) == 1
    assert "trusted_nodes.reach_km" in stderr and "no key" in stderr and str(path) in stderr
    assert not out.exists()


@pytest.mark.parametrize(("qkd", "field"), [
    ({**FINITE, "finite_key": {"block_detections": 100.0}}, "qkd.finite_key.block_detections"),
    ({**FINITE, "finite_key": {"block_time_s": 1e-6}}, "qkd.finite_key.block_time_s"),
])
def test_block_too_small_to_give_key(tmp_path, cli, qkd, field):
    path = tmp_path / "bad.yaml"
    path.write_text(_with("qkd", qkd))
    out = tmp_path / "out"
    code, _, stderr = cli("run", path, "--out", out, "--no-plots")
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and field in lines[0] and "too small" in lines[0], stderr
    assert not out.exists()


def test_hardware_without_key(tmp_path, cli):
    path = tmp_path / "bad.yaml"
    path.write_text(_with("qkd", {"protocol": "cv_gg02", "excess_noise": 5.0}))
    code, _, stderr = cli("run", path, "--out", tmp_path / "out", "--no-plots")
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert str(path) in stderr and "qkd:" in stderr and "no key even on a lossless link" in stderr
