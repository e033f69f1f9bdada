"""Every kind of bad scenario gets one line naming the file and field, exit 2, nothing written."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

BASE = {
    "name": "t",
    "sites": [
        {"name": "A", "lat_deg": 46.2, "lon_deg": 6.14},
        {"name": "B", "lat_deg": 46.52, "lon_deg": 6.63},
    ],
    "links": [{"a": "A", "b": "B", "length_km": 50.0}],
    "qkd": {"preset": "gys2005"},
    "demands": [{"a": "A", "b": "B"}],
}


def _with(path, value):
    """BASE with ``value`` set at a dotted path with [i] indices (None deletes)."""
    data = copy.deepcopy(BASE)
    *parents, last = path.replace("]", "").replace("[", ".").split(".")
    node = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    key = int(last) if last.isdigit() else last
    if value is None:
        del node[key]
    else:
        node[key] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


CASES = [
    # (id, scenario text, field path expected in the message, words expected)
    ("syntax", "name: t\nsites: [\n  - {name: A\n", "line", "YAML syntax error"),
    ("unknown-field", _with("links[0].lenght_km", 3.0), "links[0].lenght_km", "unknown field"),
    ("missing-field", _with("links[0].b", None), "links[0].b", "required field is missing"),
    ("missing-name", _with("name", None), "name", "required field is missing"),
    ("unknown-site", _with("links[0].b", "Bern"), "links[0].b", "unknown site 'Bern'"),
    ("negative-length", _with("links[0].length_km", -5.0), "links[0].length_km", "greater than 0"),
    ("nan-length", _with("links[0].length_km", float("nan")), "links[0].length_km", "finite"),
    ("probability", _with("qkd.detector_efficiency", 1.5), "qkd.detector_efficiency", "less than or equal to 1"),
    ("dark-count", _with("qkd.dark_count_prob", -0.1), "qkd.dark_count_prob", "greater than or equal to 0"),
    ("sns-sending-prob", _with("qkd.sending_prob", 1.0), "qkd.sending_prob", "less than 1"),
    ("sns-aopp-protocol", _with("qkd.aopp", True), "qkd", "aopp (odd-parity pairing) applies to protocol tf_sns only"),
    ("sns-aopp-type", _with("qkd.aopp", "sometimes"), "qkd.aopp", "boolean"),
    ("duplicate-site", _with("sites[1].name", "A"), "sites[1].name", "duplicate site name 'A'"),
    ("demand-site", _with("demands[0].b", "Nowhere"), "demands[0].b", "unknown site 'Nowhere'"),
    ("topology-key", _with("topology", {"source": "topohub", "key": "topozoo/Roedunett"}), "topology.key",
     "topozoo/Roedunet"),
    ("python-tag", "name: !!python/object/apply:os.system ['true']\n", "line 1", "not allowed"),
    ("duplicate-key", "name: a\nname: b\n", "line 2", "duplicate key 'name'"),
    ("preset", _with("qkd.preset", "nope"), "qkd", "nope"),
    ("decoy-order", _with("qkd.nu", 0.9), "qkd", "nu (0.9) must be below mu"),
    ("not-mapping", "- just\n- a list\n", None, "top level must be a mapping"),
    # hostile YAML: each a YAML error with its line, never a bare ValueError or RecursionError
    ("bad-timestamp", "name: t\nspace:\n  start_utc: 2026-13-45T00:00:00Z\n", "line 3", "invalid timestamp"),
    ("huge-int", _with("links[0].length_km", 1.5).replace("1.5", "9" * 5000), "line", "4300 digits"),
    ("unhashable-key", "name: t\n? [a, b]\n: 1\n", "line 2", "mapping key must be a plain value"),
    ("deep-nesting", "name: t\ndescription: " + "[" * 1500 + "]" * 1500 + "\n", "line 2", "nested deeper than 64"),
    ("self-alias", "name: t\ndescription: &a [*a]\n", None, "alias contains itself"),
    ("control-char", "name: t\x04x\n", "line 1, column 8", "'\\x04' is not allowed"),
    # numbers mean what they say
    ("bool-as-number", _with("links[0].length_km", True), "links[0].length_km", "valid number (got True)"),
    ("string-as-number", _with("links[0].length_km", "50"), "links[0].length_km", "valid number (got '50')"),
    ("number-as-string", _with("sites[0].name", 7), "sites[0].name", "valid string (got 7)"),
    ("length-1e308", _with("links[0].length_km", 1e308), "links[0].length_km", "longer than the Earth"),
    ("yaml12-float", _with("links[0].length_km", 1.5).replace("1.5", "1e9"), "links[0].length_km",
     "longer than the Earth"),
    ("spacing-null", _with("repeater", {"placement": {"spacing_km": None}}), "repeater.placement.spacing_km",
     "valid number (got None)"),
    ("all-pairs-twice", _with("demands[0]", {"all_pairs": ["A", "A"]}), "demands[0]", "'A' more than once"),
    ("demand-twice", _with("demands", [{"a": "A", "b": "B"}, {"a": "B", "b": "A"}]), "demands[1]", "asked for twice (also in demands[0])"),
    ("naive-start", _with("space", {"start_utc": "2026-03-20T00:00:00"}), "space.start_utc", "has no time zone"),
    ("number-as-date", _with("space", {"start_utc": 0}), "space.start_utc", "must be a date and time"),
    ("year-9999", _with("space", {"start_utc": "9999-03-20T00:00:00Z"}), "space", "ephemeris (JPL DE421"),
    ("sweep-architecture", _with("sweep", {"seed": 1, "architectures": ["trusted_node", "tusted_node"]}),
     "sweep.architectures[1]", "Input should be 'trusted_node', 'repeater', 'satellite' or 'twin_field'"),
    ("satellite-architecture", _with("architectures", ["satellite"]), "architectures",
     "architecture satellite needs satellites"),
    ("preset-not-string", _with("qkd.preset", []), "qkd.preset", "valid string"),
    # work bounded before it starts, each error naming the limit to raise
    ("reach-1e-6", _with("trusted_nodes", {"reach_km": 1e-6}), "trusted_nodes.reach_km",
     "raise limits.max_inserted_trusted_nodes"),
    ("spacing-1e-6", _with("architectures", ["trusted_node", "repeater"]).replace(
        "demands:", "repeater: {placement: {spacing_km: 1.0e-06}}\ndemands:"), "repeater.placement.spacing_km",
     "raise limits.max_elementary_links"),
    ("max-pairs", _with("engine", {"max_pairs": 10**18}), "engine.max_pairs", "raise limits.max_simulated_pairs"),
    ("sweep-grid", _with("sweep", {"seed": 1, "axes": [
        {"path": "links[0].length_km", "linear_range": {"start": 1, "stop": 100, "num": 1_000_000}},
        {"path": "fibre.attenuation_db_per_km", "linear_range": {"start": 0.1, "stop": 0.3, "num": 1_000_000}}]}),
     "sweep", "1,000,000,000,000 points is above the limit of 100,000; raise limits.max_sweep_points"),
    ("trust-country", _with("trust.allow_countries", ["EU", "XX"]), "trust.allow_countries",
     "unknown country or region 'XX'"),
    ("trust-forbid-country", _with("trust.forbid_countries", ["Narnia"]), "trust.forbid_countries",
     "unknown country or region 'Narnia'"),
    ("trust-node", _with("trust.forbid_nodes", ["Bern"]), "trust.forbid_nodes[0]", "unknown site or satellite 'Bern'"),
    ("site-country", _with("sites[0].country", "ZZ"), "sites[0].country", "unknown ISO 3166-1 alpha-2"),
]


@pytest.mark.parametrize(("text", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_scenario_one_line_exit_2_nothing_written(tmp_path, cli, command, text, field, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out_dir = tmp_path / "out"
    args = [command, path] + (["--out", out_dir] if command == "run" else [])
    code, stdout, stderr = cli(*args)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert str(path) in lines[0]
    if field:
        assert field in lines[0]
    assert words in lines[0]
    assert "Traceback" not in stderr + stdout
    assert not out_dir.exists()


def test_missing_file(tmp_path, cli):
    code, _, stderr = cli("run", tmp_path / "absent.yaml")
    assert code == 2
    assert "file not found" in stderr and "absent.yaml" in stderr


def test_existing_results_are_not_overwritten(tmp_path, cli, scenarios_dir):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "precious.txt").write_text("keep me")
    code, _, stderr = cli("run", scenarios_dir / "two_sites.yaml", "--out", out_dir, "--no-plots")
    assert code == 2 and "exists and is not empty" in stderr
    assert (out_dir / "precious.txt").read_text() == "keep me"


def test_subprocess_exit_status_and_no_traceback(tmp_path):
    """The installed entry point behaves the same as the in-process call."""
    path = tmp_path / "bad.yaml"
    path.write_text(_with("links[0].length_km", -1.0))
    proc = subprocess.run([sys.executable, "-m", "qnetemu", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "links[0].length_km" in proc.stderr
    assert "Traceback" not in proc.stderr
