"""``qnetemu emulate``: tables on disk, same seed same output, resume after a kill, user errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from qnetemu.emulate.runner import run_emulation
from qnetemu.scenario.load import content_hash, load_scenario
from qnetemu.scenario.resolve import resolve

SCENARIO = """\
name: emu-line
sites:
  - {name: Alice, lat_deg: 46.20, lon_deg: 6.14}
  - {name: Relay, lat_deg: 46.40, lon_deg: 6.40, role: trusted_node}
  - {name: Bob,   lat_deg: 46.52, lon_deg: 6.63}
links:
  - {a: Alice, b: Relay, length_km: 50.0}
  - {a: Relay, b: Bob, length_km: 60.0}
qkd: {preset: gys2005}
emulation:
  store_capacity_bits: 2.0e4
  key_block_bits: 1000
  sample_period_s: 60
  checkpoint_period_s: 600
  failures:
    - {applies_to: fibre, mtbf_s: 900, mttr_s: 300}
  applications:
    - {name: encryptor, a: Alice, b: Bob, request_bits: 256, period_s: 10}
    - {name: bulk, a: Alice, b: Relay, rate_bps: 100}
"""
TABLES = ("requests", "store_levels", "link_events", "availability", "outages", "link_keys")


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "line.yaml"
    path.write_text(SCENARIO)
    return path


def emulate(path: Path, out: Path, *, seed=1, resume=False, stop_after_chunks=None, duration_s=3600.0):
    sc, raw = load_scenario(path)
    resolved = resolve(sc, file=str(path), base_dir=path.parent)
    return run_emulation(sc, resolved, scenario_file=str(path), scenario_hash=content_hash(raw), out_dir=out,
                         duration_s=duration_s, seed=seed, resume=resume, stop_after_chunks=stop_after_chunks)


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}


def test_outputs_parquet_and_csv_with_consistent_numbers(scenario_file, tmp_path):
    summary = emulate(scenario_file, tmp_path / "run")
    out = summary.out_dir
    for name in (*TABLES, "nights"):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    t = tables(out)
    assert summary.chunks == 6
    reqs = t["requests"]
    assert len(reqs) == 360 + 3600  # every request decided by the end
    avail = t["availability"].set_index("application")
    for name, group in reqs.groupby("application"):
        assert avail.loc[name, "served"] == (group["outcome"] == "served").sum()
        assert avail.loc[name, "availability"] == pytest.approx(avail.loc[name, "served"] / len(group))
    # Store levels sampled every minute and at the end, for both links.
    assert len(t["store_levels"]) == 2 * (3600 // 60 + 1)
    links = t["link_keys"]
    balance = links["initial_bits"] + links["generated_bits"] - links["consumed_bits"] - links["discarded_bits"]
    pd.testing.assert_series_equal(balance, links["final_level_bits"], check_names=False, atol=1e-6)


def test_same_seed_same_tables(scenario_file, tmp_path):
    emulate(scenario_file, tmp_path / "a", seed=7)
    emulate(scenario_file, tmp_path / "b", seed=7)
    emulate(scenario_file, tmp_path / "c", seed=8)
    a, b, c = tables(tmp_path / "a"), tables(tmp_path / "b"), tables(tmp_path / "c")
    for name in TABLES:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["link_events"].equals(c["link_events"])


def test_resumed_run_equals_an_uninterrupted_one(scenario_file, tmp_path):
    emulate(scenario_file, tmp_path / "whole", seed=3)
    part = emulate(scenario_file, tmp_path / "cut", seed=3, stop_after_chunks=2)
    assert not (tmp_path / "cut" / "manifest.json").exists()
    assert (tmp_path / "cut" / "checkpoint.pkl").is_file()
    assert part.chunks == 2
    done = emulate(scenario_file, tmp_path / "cut", seed=3, resume=True)
    assert done.resumed_from_chunk == 2
    whole, cut = tables(tmp_path / "whole"), tables(tmp_path / "cut")
    for name in TABLES:
        pd.testing.assert_frame_equal(whole[name], cut[name])


def test_resume_refuses_another_seed_and_a_finished_run(scenario_file, tmp_path):
    from qnetemu.errors import UserError

    emulate(scenario_file, tmp_path / "cut", seed=3, stop_after_chunks=1)
    with pytest.raises(UserError, match="another seed"):
        emulate(scenario_file, tmp_path / "cut", seed=4, resume=True)
    with pytest.raises(UserError, match="--resume"):
        emulate(scenario_file, tmp_path / "cut", seed=3)
    emulate(scenario_file, tmp_path / "cut", seed=3, resume=True)
    with pytest.raises(UserError, match="finished"):
        emulate(scenario_file, tmp_path / "cut", seed=3, resume=True)


def test_cli_emulate_writes_figures(cli, scenario_file, tmp_path):
    code, out, err = cli("emulate", scenario_file, "--duration", "20m", "--out", tmp_path / "o")
    assert code == 0, err
    assert "emulated 1,200 s" in out
    assert "100 %" in err  # progress
    for fig in ("store_levels", "availability", "requests"):
        assert (tmp_path / "o" / "figures" / f"{fig}.png").is_file()


@pytest.mark.parametrize(("edit", "message"), [
    ("    - {name: bulk, a: Alice, b: Relay, rate_bps: 100}", "emulation.applications[1].b: unknown site 'Nowhere'"),
    ("    - {applies_to: fibre, mtbf_s: 900, mttr_s: 300}", "emulation.failures[0].a: no link between 'Alice' and 'Bob'"),
])
def test_cli_bad_emulation_input_is_one_line(cli, scenario_file, tmp_path, edit, message):
    text = scenario_file.read_text()
    replacement = {"    - {name: bulk, a: Alice, b: Relay, rate_bps: 100}":
                   "    - {name: bulk, a: Alice, b: Nowhere, rate_bps: 100}",
                   "    - {applies_to: fibre, mtbf_s: 900, mttr_s: 300}":
                   "    - {a: Alice, b: Bob, mtbf_s: 900, mttr_s: 300}"}[edit]
    scenario_file.write_text(text.replace(edit, replacement))
    code, _, err = cli("emulate", scenario_file, "--duration", "1h", "--out", tmp_path / "o")
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_cli_bad_duration(cli, scenario_file, tmp_path):
    code, _, err = cli("emulate", scenario_file, "--duration", "soon", "--out", tmp_path / "o")
    assert code == 2 and "--duration" in err


class _Planted:
    """A pickle that would create a file when loaded by plain ``pickle.loads``."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.target),))


def test_resume_never_runs_code_a_crafted_checkpoint_names(scenario_file, tmp_path):
    """A directory handed to --resume may come from anyone: only the emulation's classes load."""
    import pickle

    from qnetemu.errors import UserError

    emulate(scenario_file, tmp_path / "cut", seed=3, stop_after_chunks=1)
    planted = tmp_path / "planted"
    (tmp_path / "cut" / "checkpoint.pkl").write_bytes(pickle.dumps({"chunk": 1, "state": _Planted(planted)}))
    with pytest.raises(UserError, match="checkpoint.*refused"):
        emulate(scenario_file, tmp_path / "cut", seed=3, resume=True)
    assert not planted.exists()
    (tmp_path / "cut" / "checkpoint.pkl").write_bytes(b"\x80\x05garbage")
    with pytest.raises(UserError, match="damaged or foreign checkpoint"):
        emulate(scenario_file, tmp_path / "cut", seed=3, resume=True)


def test_cli_plot_redraws_an_emulation_directory(cli, scenario_file, tmp_path):
    """``qnetemu plot`` on an emulation's output draws the three emulation figures again, from its tables."""
    out = tmp_path / "o"
    code, _, err = cli("emulate", scenario_file, "--duration", "20m", "--out", out, "--no-plots")
    assert code == 0, err
    assert not (out / "figures").exists()
    code, printed, err = cli("plot", out)
    assert code == 0, err
    drawn = sorted(Path(line).name for line in printed.split())
    assert drawn == ["availability.png", "requests.png", "store_levels.png"]


def test_cli_plot_needs_no_request_table_and_names_what_it_cannot_draw(cli, scenario_file, tmp_path):
    """The request figure reads the small outage table; a directory without store levels says so, on one line."""
    out = tmp_path / "o"
    assert cli("emulate", scenario_file, "--duration", "20m", "--out", out, "--no-plots")[0] == 0
    for name in ("requests", "store_levels"):
        (out / f"{name}.parquet").unlink()
        (out / f"{name}.csv").unlink()
    code, printed, err = cli("plot", out)
    assert code == 0, err
    assert sorted(Path(line).name for line in printed.split()) == ["availability.png", "requests.png"]
    assert err.strip().splitlines() == [f"note: store_levels.png not drawn: no store_levels table (.parquet or .csv) "
                                        f"in {out}"]


def test_cli_plot_reads_the_csv_copies_when_the_parquet_files_are_gone(cli, scenario_file, tmp_path):
    """A trimmed copy (results/examples keeps CSV) draws the same figures from the CSV tables."""
    out = tmp_path / "o"
    assert cli("emulate", scenario_file, "--duration", "20m", "--out", out, "--no-plots")[0] == 0
    for path in out.glob("*.parquet"):
        path.unlink()
    (out / "requests.csv").unlink()
    code, printed, err = cli("plot", out)
    assert code == 0 and not err, err
    assert sorted(Path(line).name for line in printed.split()) == ["availability.png", "requests.png",
                                                                   "store_levels.png"]


def test_cli_plot_of_a_directory_with_no_tables_is_an_error(cli, scenario_file, tmp_path):
    out = tmp_path / "o"
    assert cli("emulate", scenario_file, "--duration", "20m", "--out", out, "--no-plots")[0] == 0
    for path in [*out.glob("*.parquet"), *out.glob("*.csv")]:
        path.unlink()
    code, _, err = cli("plot", out)
    assert code == 2 and "no figures" in err and len(err.strip().splitlines()) == 1


def test_a_second_emulation_into_a_locked_directory_is_refused_and_changes_nothing(cli, scenario_file, tmp_path):
    """Another writer holds OUT's lock (as a running emulation does): one line, exit 2, OUT as it was; then resumable."""
    from qnetemu.results.outdir import DirLock

    out = tmp_path / "o"
    emulate(scenario_file, out, stop_after_chunks=2)  # an interrupted emulation, checkpoint and parts on disk
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with DirLock(out):
        for extra in ((), ("--resume",)):
            code, _, err = cli("emulate", scenario_file, "--duration", "1h", "--seed", "1", "--out", out, *extra)
            assert code == 2
            assert len(err.strip().splitlines()) == 1 and "being written by another qnetemu process" in err
            assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    code, _, err = cli("emulate", scenario_file, "--duration", "1h", "--seed", "1", "--out", out, "--resume",
                       "--no-plots", "-q")
    assert code == 0, err
    assert (out / "manifest.json").is_file()


def test_an_emulation_holds_its_directory_lock_while_it_writes(scenario_file, tmp_path, monkeypatch):
    """While the emulation runs (here: when it builds its network), nobody else can take OUT's lock."""
    import qnetemu.emulate.runner as runner
    from qnetemu.results.outdir import DirLock

    out = tmp_path / "o"
    seen = []
    build = runner.build_emulated_network

    def build_and_probe(*args, **kwargs):
        seen.append(DirLock(out).acquire(refuse=False))
        return build(*args, **kwargs)

    monkeypatch.setattr(runner, "build_emulated_network", build_and_probe)
    emulate(scenario_file, out, duration_s=600.0)
    assert seen == [False]
    probe = DirLock(out)
    assert probe.acquire(refuse=False)  # released at the end
    probe.release()


def test_cli_out_that_cannot_be_a_directory_is_one_line(cli, scenario_file, tmp_path):
    (tmp_path / "file").write_text("mine")
    for out in (tmp_path / "file", tmp_path / "file" / "o"):
        code, _, err = cli("emulate", scenario_file, "--duration", "1h", "--out", out)
        assert code == 2 and "not a directory" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "file").read_text() == "mine"
