"""The report of an emulation directory: its numbers are the tables' numbers, its causes the failures in force."""

from __future__ import annotations

import shutil
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from qnetemu.emulate.runner import run_emulation
from qnetemu.report_emulation import (
    CUT,
    DETOUR,
    SHORTAGE,
    START_UP,
    FailureSpan,
    _bits,
    _percent,
    _sig,
    drained_stores,
    explain_outage,
    failure_spans,
    outage_causes,
)
from qnetemu.results.store import read_table
from qnetemu.scenario.load import content_hash, load_scenario
from qnetemu.scenario.resolve import resolve

# A chain Alice - Relay - Bob whose fibre fails every 15 min on average (repaired in 5): in one hour the
# stores (20 kbit) run dry behind some of the cuts and the applications go without key.
SCENARIO = """\
name: emu-report-line
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
DURATION_S = 3600.0
MINUTE = 60.0  # a one-hour span is reported in minutes (the figures' time unit)
#: The links each application's route crosses on the chain.
ROUTE_LINKS = {"encryptor": {"Alice–Relay", "Relay–Bob"}, "bulk": {"Alice–Relay"}}


@pytest.fixture(scope="module")
def emulated(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("emu-report")
    path = base / "line.yaml"
    path.write_text(SCENARIO)
    sc, raw = load_scenario(path)
    resolved = resolve(sc, file=str(path), base_dir=path.parent)
    run_emulation(sc, resolved, scenario_file=str(path), scenario_hash=content_hash(raw), out_dir=base / "out",
                  duration_s=DURATION_S, seed=1)
    return base / "out"


def _copy(emulated: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "emu"
    shutil.copytree(emulated, copy)
    return copy


def _row(text: str, first_cell: str, header_starts: str) -> list[str]:
    """Cells of the row starting with ``first_cell`` in the table whose header starts with ``header_starts``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_starts))
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip()[1:-1].split(" | ")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r}")


def _runs_of_misses(requests: pd.DataFrame) -> pd.DataFrame:
    """Outages recomputed from the requests: first miss to the next served request (or the end)."""
    rows = []
    for app, group in requests.sort_values(["app_index", "request"]).groupby("application", sort=False):
        start = None
        for arrival, outcome in zip(group["arrival_s"], group["outcome"], strict=True):
            if outcome == "missed" and start is None:
                start = arrival
            elif outcome != "missed" and start is not None:
                rows.append((app, start, arrival if outcome == "served" else DURATION_S))
                start = None
        if start is not None:
            rows.append((app, start, DURATION_S))
    return pd.DataFrame(rows, columns=["application", "start_s", "end_s"])


def test_report_numbers_are_the_requests_tables(cli, emulated, tmp_path):
    copy = _copy(emulated, tmp_path)
    code, out, err = cli("report", copy)
    assert code == 0, err
    assert "report.md" in out and "report.html" in out
    text = (copy / "report.md").read_text()
    requests = pd.read_parquet(copy / "requests.parquet")
    for app, group in requests.groupby("application"):
        served, missed = int((group.outcome == "served").sum()), int((group.outcome == "missed").sum())
        cells = _row(text, app, "| application | ends |")
        assert cells[2] == f"{len(group):,}"
        assert cells[3] == _percent(served / (served + missed)) and cells[4] == f"{missed:,}"
    runs = _runs_of_misses(requests)
    assert len(runs) >= 3  # cuts the stores could not bridge: the report has something to explain
    total_s = float((runs.end_s - runs.start_s).sum())
    assert f"Outage time, summed over applications: {_sig(total_s / MINUTE)} min in {len(runs)} outages" in text
    links = pd.read_parquet(copy / "link_keys.parquet")
    assert f"2 QKD links generated {_bits(float(links.generated_bits.sum()))} of key" in text
    assert f"consumed {_bits(float(links.consumed_bits.sum()))}" in text
    html = (copy / "report.html").read_text()
    assert html.count("<figure>") == 3 and "<table>" in html


def test_each_outage_is_put_down_to_the_failures_in_force(emulated):
    """Against a state machine over link_events written here: a cut's elements are the route's links down while
    the first miss waited; the stores bridged from the last of them going down to that miss."""
    outages, avail = read_table(emulated, "outages"), read_table(emulated, "availability")
    events, links = read_table(emulated, "link_events"), read_table(emulated, "link_keys")
    down: dict[str, list[tuple[float, float]]] = {}
    since: dict[str, float] = {}
    for t, name, event in zip(events.time_s, events.name, events.event, strict=True):
        if event == "down":
            since[name] = t
        else:
            down.setdefault(name, []).append((since.pop(name), t))
    for name, t in since.items():
        down.setdefault(name, []).append((t, DURATION_S))
    causes = outage_causes(outages, avail, links, failure_spans(events))
    wait_s = avail.set_index("application")["max_wait_s"]
    kinds = set()
    for row in causes.itertuples():
        window = (row.start_s, row.start_s + wait_s[row.application])
        in_force = {name for name in ROUTE_LINKS[row.application]
                    for lo, hi in down.get(name, ()) if lo <= window[1] and hi > window[0]}
        kinds.add(row.cause)
        if in_force:  # on a chain every failure on the route cuts it
            assert row.cause == CUT
            assert {s.name for s in row.failures} == in_force
            last_down = max(lo for name in in_force for lo, hi in down[name] if lo <= window[1] and hi > window[0])
            assert row.bridged_s == pytest.approx(max(row.start_s - last_down, 0.0))
        else:
            assert row.cause in (START_UP, SHORTAGE) and row.failures == ()
    assert CUT in kinds


def test_report_from_csv_copies_alone_is_the_same(cli, emulated, tmp_path):
    """Without Parquet files, the requests table and the figures: the same report, the figures redrawn."""
    copy = _copy(emulated, tmp_path)
    assert cli("report", copy)[0] == 0
    first = (copy / "report.md").read_text().splitlines()
    for path in copy.glob("*.parquet"):
        path.unlink()
    (copy / "requests.csv").unlink()
    shutil.rmtree(copy / "figures")
    code, _, err = cli("report", copy)
    assert code == 0, err
    again = (copy / "report.md").read_text().splitlines()
    assert again[3:] == first[3:] and len(again) == len(first)  # all but the "Generated ... at" line
    assert {p.name for p in (copy / "figures").glob("*.png")} == {"store_levels.png", "requests.png",
                                                                  "availability.png"}


def test_an_emulation_without_its_availability_table_is_one_line(cli, emulated, tmp_path):
    copy = _copy(emulated, tmp_path)
    (copy / "availability.parquet").unlink()
    (copy / "availability.csv").unlink()
    code, _, err = cli("report", copy)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "availability table" in err


# ------------------------------------------------------------------ causes on a hand-made network


def _diamond() -> nx.Graph:
    """A to B over X (1 kbit/s links, the widest route) or over Y (10 bit/s)."""
    graph = nx.Graph()
    for link_id, a, b, rate in (("AX", "A", "X", 1000.0), ("XB", "X", "B", 1000.0), ("AY", "A", "Y", 10.0),
                                ("YB", "Y", "B", 10.0)):
        graph.add_edge(a, b, link_id=link_id, key_rate_bps=rate)
    return graph


def _link(name: str, down_s: float = 50.0, up_s: float | None = None, element: str = "link") -> FailureSpan:
    return FailureSpan(element, name, "random", down_s, up_s)


def _explain(spans, start_s=100.0):
    return explain_outage(_diamond(), "A", "B", start_s=start_s, decided_s=start_s + 10.0, spans=spans,
                          route=["A", "X", "B"], start_up_until_s=5.0)


def test_causes_on_a_diamond():
    assert _explain([], start_s=0.0).kind == START_UP
    assert _explain([]).kind == SHORTAGE
    detour = _explain([_link("XB")])  # Y still joins A and B: the route taken instead lacked key
    assert detour.kind == DETOUR and [s.name for s in detour.failures] == ["XB"] and detour.bridged_s == 50.0
    assert _explain([_link("AY")]).kind == SHORTAGE  # off the widest route, and A-X-B works
    cut = _explain([_link("XB"), _link("AY", down_s=70.0), _link("YB")])  # over X one repair joins them, over Y two
    assert cut.kind == CUT and [s.name for s in cut.failures] == ["XB"] and cut.bridged_s == 50.0
    ends = _explain([_link("A", element="node", down_s=80.0), _link("XB")])  # A's own node: nothing else helps
    assert ends.kind == CUT and [s.name for s in ends.failures] == ["A"] and ends.bridged_s == 20.0
    assert _explain([_link("XB", down_s=0.0, up_s=60.0), _link("YB", down_s=0.0, up_s=60.0)]).kind == SHORTAGE
    late = _explain([_link("B", down_s=105.0, element="node")])  # fails while the first miss waits
    assert late.kind == CUT and late.bridged_s == 0.0


def test_failure_spans_pair_down_and_up_per_cause():
    events = pd.DataFrame({
        "time_s": [10.0, 20.0, 30.0, 40.0, 50.0],
        "element": ["link", "link", "link", "node", "link"],
        "name": ["L", "L", "L", "N", "L"],
        "event": ["down", "down", "up", "down", "up"],
        "cause": ["random", "scheduled", "random", "random", "scheduled"],
    })
    spans = failure_spans(events)
    assert spans == [FailureSpan("link", "L", "random", 10.0, 30.0), FailureSpan("link", "L", "scheduled", 20.0, 50.0),
                     FailureSpan("node", "N", "random", 40.0, None)]
    assert spans[2].length_s(100.0) == 60.0 and spans[2].overlaps(90.0, 95.0) and not spans[0].overlaps(31.0, 40.0)


def test_drained_stores_counts_only_stores_that_had_held_a_request():
    levels = pd.DataFrame({
        "time_s": [0.0, 60.0, 120.0, 180.0, 240.0] * 2,
        "link_id": ["filling"] * 5 + ["drained"] * 5,
        "level_bits": [0, 50, 200, 400, 800, 0, 500, 40, 10, 300],
    })
    out = drained_stores(levels, threshold_bits=100.0).set_index("link_id")
    assert list(out.index) == ["drained"]  # "filling" starts below 100 bit but never falls back
    assert out.loc["drained", "first_empty_s"] == 120.0 and out.loc["drained", "lowest_bits"] == 10.0
    assert out.loc["drained", "empty_s"] == 120.0  # the samples at 120 s and 180 s, each held 60 s


def test_names_from_the_scenario_stay_inert(cli, emulated, tmp_path):
    """An application named with HTML and a pipe: escaped in both reports, its table row not split."""
    copy = _copy(emulated, tmp_path)
    for path in copy.glob("*.parquet"):
        path.unlink()
    for name in ("availability", "outages"):
        path = copy / f"{name}.csv"
        path.write_text(path.read_text().replace("encryptor", "enc<script>x</script>|1"))
    assert cli("report", copy)[0] == 0
    md, html = (copy / "report.md").read_text(), (copy / "report.html").read_text()
    assert "<script>" not in md and "<script>" not in html
    assert "enc&lt;script&gt;x&lt;/script&gt;\\|1" in md
    header = next(line for line in md.splitlines() if line.startswith("| application | ends |"))
    row = next(line for line in md.splitlines() if line.startswith("| enc&lt;script"))
    assert row.replace("\\|", "").count("|") == header.count("|")


def test_an_unfinished_emulation_is_one_line(cli, emulated, tmp_path):
    copy = _copy(emulated, tmp_path)
    (copy / "manifest.json").unlink()  # what a killed emulation leaves: emulation.json, no manifest yet
    code, _, err = cli("report", copy)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "not finished yet" in err and "--resume" in err


def test_an_emulation_without_applications_still_reports_its_links(cli, tmp_path):
    path = tmp_path / "links-only.yaml"
    path.write_text(SCENARIO[:SCENARIO.index("  applications:")])
    sc, raw = load_scenario(path)
    out = tmp_path / "out"
    run_emulation(sc, resolve(sc, file=str(path), base_dir=tmp_path), scenario_file=str(path),
                  scenario_hash=content_hash(raw), out_dir=out, duration_s=600.0, seed=1)
    code, _, err = cli("report", out)
    assert code == 0, err
    text = (out / "report.md").read_text()
    links = pd.read_parquet(out / "link_keys.parquet")
    assert "No application drew key" in text
    assert f"2 QKD links generated {_bits(float(links.generated_bits.sum()))} of key" in text
    assert "relaying consumed 0 bit" in text
