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
    ("block-too-small", _with("qkd", {**FINITE, "finite_key": {"block_detections": 100.0}}),
     "qkd", "too small to give any key"),
    ("block-missing", _with("qkd", {**FINITE, "finite_key": {}}), "qkd", "exactly one of"),
    ("filter-zero", _with("links[0].coexistence", {**LIT, "filter_bandwidth_nm": 0.0}),
     "links[0].coexistence.filter_bandwidth_nm", "greater than 0"),
    ("direction", _with("fibre.coexistence", {"channels": [{"direction": "sideways"}]}),
     "fibre.coexistence.channels[0].direction", "co"),
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
