"""What a new user meets in a first session: messages that read as sentences, and an
unwritable output place refused in one line before any work (not a traceback after it)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qnetemu.formatting import count


def _one_line(code, stdout, stderr, *words):
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stdout + stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_count_reads_as_a_sentence():
    assert count(1, "link") == "1 link"
    assert count(0, "satellite") == "0 satellites"
    assert count(2_500, "trusted node") == "2,500 trusted nodes"
    assert count(2, "entry", "entries") == "2 entries"


def test_validate_line_is_grammatical(cli, scenarios_dir):
    code, out, err = cli("validate", scenarios_dir / "two_sites.yaml")
    assert code == 0, err
    assert "2 sites, 1 link, 1 demand, 0 satellites" in out


def test_missing_command_lists_every_command(cli):
    code, out, err = cli()
    _one_line(code, out, err, "a command is missing")
    for name in ("validate", "run", "sweep", "emulate", "serve", "plot", "report", "schema", "info", "topology"):
        assert name in err, err


def test_report_help_names_all_three_files(cli):
    code, out, _ = cli("report", "--help")
    assert code == 0
    assert "report-interactive.html" in " ".join(out.split())


@pytest.mark.skipif(not sys.platform.startswith("linux") or not Path("/proc/self").is_dir(),
                    reason="needs Linux /proc: a directory even root cannot create files in")
@pytest.mark.parametrize("out", ["/proc/qnetemu-no-such-out", "/proc/qnetemu-no-such-out/below"])
def test_unwritable_out_is_one_line_before_work(cli, scenarios_dir, out):
    scenario = scenarios_dir / "two_sites.yaml"
    for args in (("run", scenario, "--out", out, "--no-plots"),
                 ("sweep", scenarios_dir / "euroqci-study-quick.yaml", "--out", out),
                 ("emulate", scenario, "--duration", "1h", "--out", out),
                 ("serve", scenario, "--certs", out)):
        field = "--certs" if args[0] == "serve" else "--out"
        _one_line(*cli(*args), out, field, "cannot create files in /proc")


@pytest.mark.parametrize("command", ["plot", "report"])
def test_plot_and_report_say_what_a_wrong_path_is(cli, tmp_path, command):
    _one_line(*cli(command, tmp_path / "typo"), "typo", "no such directory")
    (tmp_path / "manifest.json").write_text("{}")
    _one_line(*cli(command, tmp_path / "manifest.json"), "is a file, not a results directory")


def test_plot_names_the_map_it_cannot_redraw(cli, tmp_path):
    """The trimmed RoNaQCI example keeps no sites table: its map stays as shipped, and plot says so."""
    import shutil

    example = Path(__file__).resolve().parents[2] / "results" / "examples" / "ronaqci"
    run_dir = tmp_path / "ronaqci"
    shutil.copytree(example, run_dir)
    code, out, err = cli("plot", run_dir)
    assert code == 0, err
    assert "note: network_map not drawn" in err and "sites table" in err
    assert "demand_rate_vs_distance.png" in out


def test_unknown_preset_names_the_field_and_the_closest_preset(cli, tmp_path, scenarios_dir):
    text = (scenarios_dir / "two_sites.yaml").read_text().replace("preset: gys2005", "preset: gys2006")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    _one_line(*cli("validate", path), f"{path}: qkd.preset: unknown QKD preset 'gys2006'", "did you mean gys2005?",
              "idq_cerberis_class")
    assert "QKD_DEVICE_PRESETS" not in cli("validate", path)[2]  # a name from the code, not from the docs


def test_topology_list_counts_in_words(cli):
    code, out, err = cli("topology", "list", "Roedunet")
    assert code == 0
    assert out.split() == ["topozoo/Roedunet"] and err.strip() == "1 topology"


def test_schema_describes_every_field_with_a_unit(cli):
    """`qnetemu schema` is the reference: a field whose name carries a unit says what it is."""
    import json
    import re

    code, out, _ = cli("schema")
    assert code == 0
    schema = json.loads(out)
    unit = re.compile(r"_(s|km|deg|db|hz|m|mw|nm|rad|bps|bits|db_per_km|per_km_nm|utc)$")
    bare = [f"{model}.{name}" for model, spec in [*schema["$defs"].items(), ("Scenario", schema)]
            for name, field in spec.get("properties", {}).items()
            if unit.search(name) and not field.get("description")]
    assert not bare, bare


def test_scenarios_readme_lists_every_top_level_field():
    """The field reference a user reads first names every section the schema accepts."""
    from qnetemu.scenario.schema import Scenario

    text = (Path(__file__).resolve().parents[2] / "scenarios" / "README.md").read_text()
    top = text.split("## Top level", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in Scenario.model_fields if f"| `{name}` |" not in top]
    assert not missing, missing


def test_scenarios_readme_lists_every_shipped_scenario():
    root = Path(__file__).resolve().parents[2] / "scenarios"
    table = (root / "README.md").read_text().split("## Top level", 1)[0]
    missing = [p.name for p in sorted(root.glob("*.yaml")) if f"`{p.name}`" not in table]
    assert not missing, missing
