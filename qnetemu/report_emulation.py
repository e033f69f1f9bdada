"""The report of an emulation directory (``qnetemu emulate``): availability, outages and why, key per link.

Written from the stored tables only: ``availability``, ``outages``,
``link_keys``, ``link_events`` and, where kept, ``store_levels`` (Parquet,
else their CSV copies, all a trimmed example keeps). The ``requests`` table
(hundreds of megabytes for a long emulation) is never read.

An outage is put down to the failures in force while its first missed
request waited (:func:`explain_outage`):

* ``cut``: working links no longer join the application's ends. The cause
  is the fewest failed elements whose repair would join them again; their
  stores carried the traffic (a down link's stored key stays usable) until
  they ran dry, and ``bridged_s`` says for how long.
* ``detour``: working links still join the ends, but a failure lies on the
  widest route of the intact network, and the route taken instead lacked key.
* ``start-up``: no failure; the stores had not yet received the key blocks
  the first request needs.
* ``shortage``: none of these; the application asks for more than its
  route makes.

Values are computed first (frozen dataclasses, numbers in SI units) and
turned into text only when the tables are written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from qnetemu.errors import UserError
from qnetemu.plots.emulation import _bits_scale, _time_scale
from qnetemu.results.store import read_manifest, read_table

CUT, DETOUR, START_UP, SHORTAGE = "cut", "detour", "start-up", "shortage"
#: Tables the report cannot do without, and those it uses where present.
REQUIRED = ("availability", "outages", "link_keys")
OPTIONAL = ("link_events", "store_levels")
#: The availability columns the report reads (an emulation without applications stores none).
AVAILABILITY_COLUMNS = ["application", "a", "b", "request_bits", "max_wait_s", "requests", "served", "missed",
                        "availability", "requested_rate_bps", "served_rate_bps", "static_key_rate_bps",
                        "mean_latency_s", "p99_latency_s", "outages", "longest_outage_s", "total_outage_s"]
#: Most rows in the outage, failure and link tables (the rest are counted in the text).
MAX_ROWS = 30
FIGURES = (
    ("store_levels", "Key in the stores that drained most, then the busiest, over time (shaded: that link down)"),
    ("requests", "When each application went without key (its runs of missed requests), and the latency of the "
                 "served requests"),
    ("availability", "Per application: requests served in time, and the served rate against the requested rate "
                     "and the static max-min share"),
)


@dataclass(frozen=True)
class FailureSpan:
    """One failure of a link or trusted node: its ``down`` event to its ``up`` event [s].

    ``up_s`` is None when the element was still down at the end. A random
    failure and a scheduled outage of one element are separate spans.
    """

    element: str
    name: str
    cause: str
    down_s: float
    up_s: float | None

    def overlaps(self, start_s: float, end_s: float) -> bool:
        """Down at some time in ``[start_s, end_s]``."""
        return self.down_s <= end_s and (self.up_s is None or self.up_s > start_s)

    def length_s(self, duration_s: float) -> float:
        """How long it was down within the emulated span [s]."""
        return (self.up_s if self.up_s is not None else duration_s) - self.down_s


@dataclass(frozen=True)
class OutageCause:
    """Why an outage began: its kind, the failures behind it, how long the stores bridged them [s]."""

    kind: str
    failures: tuple[FailureSpan, ...]
    bridged_s: float  # first missed request minus the last of ``failures`` going down; NaN without failures


def failure_spans(events: pd.DataFrame | None) -> list[FailureSpan]:
    """Pair each element's ``down`` and ``up`` events (per cause) into spans, in order of failure."""
    if events is None or events.empty:
        return []
    spans: list[FailureSpan] = []
    open_since: dict[tuple[str, str, str], float] = {}
    ordered = events.sort_values("time_s", kind="stable")
    for time_s, element, name, event, cause in zip(ordered["time_s"], ordered["element"], ordered["name"],
                                                   ordered["event"], ordered["cause"], strict=True):
        key = (str(element), str(name), str(cause))
        if event == "down":
            open_since.setdefault(key, float(time_s))
        elif key in open_since:
            spans.append(FailureSpan(*key, down_s=open_since.pop(key), up_s=float(time_s)))
    spans += [FailureSpan(*key, down_s=down_s, up_s=None) for key, down_s in open_since.items()]
    return sorted(spans, key=lambda s: (s.down_s, s.element, s.name, s.cause))


def link_graph(link_keys: pd.DataFrame) -> nx.Graph:
    """The QKD links of the ``link_keys`` table as a graph: edges carry ``link_id`` and ``key_rate_bps``."""
    graph = nx.Graph()
    for link_id, a, b, rate in zip(link_keys["link_id"], link_keys["a"], link_keys["b"], link_keys["key_rate_bps"],
                                   strict=True):
        graph.add_edge(str(a), str(b), link_id=str(link_id), key_rate_bps=float(rate))
    return graph


def widest_route(graph: nx.Graph, a: str, b: str, tree: nx.Graph | None = None) -> list[str]:
    """Nodes of a widest (largest bottleneck key rate) path from a to b on the intact network; [] if none.

    The path through a maximum spanning tree is a widest path (Hu, Operations
    Research 9, 898 (1961)). The emulator's routing breaks near-ties by hops,
    so where two routes are almost as wide this may be the other one.
    """
    if a not in graph or b not in graph:
        return []
    tree = tree if tree is not None else nx.maximum_spanning_tree(graph, weight="key_rate_bps")
    try:
        return nx.shortest_path(tree, a, b)
    except nx.NetworkXNoPath:
        return []


def start_up_s(link_keys: pd.DataFrame, graph: nx.Graph, route: list[str], request_bits: float) -> float:
    """When every steady link of the route first holds ``request_bits`` [s]: whole key blocks from its initial fill."""
    ids = {graph.edges[u, v]["link_id"] for u, v in zip(route[:-1], route[1:], strict=False)}
    rows = link_keys[link_keys["link_id"].isin(ids) & ~link_keys["pass_link"].astype(bool)]
    need = np.maximum(request_bits - rows["initial_bits"].to_numpy(dtype=float), 0.0)
    rate = rows["key_rate_bps"].to_numpy(dtype=float)
    block = rows["block_bits"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        times = np.where(need > 0, np.ceil(need / block) * block / rate, 0.0)
    return float(np.nanmax(times)) if times.size else 0.0


def explain_outage(graph: nx.Graph, a: str, b: str, *, start_s: float, decided_s: float,
                   spans: list[FailureSpan], route: list[str], start_up_until_s: float) -> OutageCause:
    """Why an outage from a to b began (module docstring): the failures in force while its first miss waited.

    ``start_s`` is the first missed request's arrival and ``decided_s`` its
    deadline [s]; ``route`` the widest route of the intact network and
    ``start_up_until_s`` when its stores first hold one request [s].

    Examples
    --------
    A chain A - R - B whose second link went down at 100 s; the first miss
    came at 400 s, when that link's stored key ran out:

    >>> import networkx as nx
    >>> g = nx.Graph()
    >>> g.add_edge("A", "R", link_id="A-R", key_rate_bps=500.0)
    >>> g.add_edge("R", "B", link_id="R-B", key_rate_bps=300.0)
    >>> cut = FailureSpan("link", "R-B", "random", down_s=100.0, up_s=900.0)
    >>> why = explain_outage(g, "A", "B", start_s=400.0, decided_s=410.0, spans=[cut],
    ...                      route=["A", "R", "B"], start_up_until_s=5.0)
    >>> why.kind, [s.name for s in why.failures], why.bridged_s
    ('cut', ['R-B'], 300.0)
    """
    active = [s for s in spans if s.overlaps(start_s, decided_s)]
    if active and a in graph and b in graph:
        down_links = {s.name: s for s in active if s.element == "link"}
        down_nodes = {s.name: s for s in active if s.element == "node"}

        def failed_on_entry(_u, v, data) -> int:  # each failed element on the path costs one
            return int(data["link_id"] in down_links) + int(v in down_nodes)

        try:
            cost, path = nx.single_source_dijkstra(graph, a, b, weight=failed_on_entry)
        except nx.NetworkXNoPath:
            path = None
        if path is not None and cost + (a in down_nodes) > 0:
            hit = [down_nodes[a]] if a in down_nodes else []
            for u, v in zip(path[:-1], path[1:], strict=False):
                link_id = graph.edges[u, v]["link_id"]
                hit += [down_links[link_id]] if link_id in down_links else []
                hit += [down_nodes[v]] if v in down_nodes else []
            return OutageCause(CUT, tuple(hit), max(start_s - max(s.down_s for s in hit), 0.0))
        on_route = set(route) | {graph.edges[u, v]["link_id"] for u, v in zip(route[:-1], route[1:], strict=False)}
        hit = [s for s in active if s.name in on_route]
        if hit:
            return OutageCause(DETOUR, tuple(hit), max(start_s - max(s.down_s for s in hit), 0.0))
    if start_s < start_up_until_s:
        return OutageCause(START_UP, (), math.nan)
    return OutageCause(SHORTAGE, (), math.nan)


def outage_causes(outages: pd.DataFrame, availability: pd.DataFrame, link_keys: pd.DataFrame,
                  spans: list[FailureSpan]) -> pd.DataFrame:
    """The ``outages`` table with ``a``, ``b``, ``cause`` (kind), ``failures`` (FailureSpan tuples), ``bridged_s``."""
    graph = link_graph(link_keys)
    tree = nx.maximum_spanning_tree(graph, weight="key_rate_bps")
    apps = availability.set_index("application")
    per_app = {}
    for name, app in apps.iterrows():
        route = widest_route(graph, str(app["a"]), str(app["b"]), tree)
        per_app[name] = (route, start_up_s(link_keys, graph, route, float(app["request_bits"])))
    kinds, failures, bridged, ends_a, ends_b = [], [], [], [], []
    for name, start_s in zip(outages["application"], outages["start_s"], strict=True):
        app = apps.loc[name]
        route, until_s = per_app[name]
        cause = explain_outage(graph, str(app["a"]), str(app["b"]), start_s=float(start_s),
                               decided_s=float(start_s) + float(app["max_wait_s"]), spans=spans, route=route,
                               start_up_until_s=until_s)
        kinds.append(cause.kind)
        failures.append(cause.failures)
        bridged.append(cause.bridged_s)
        ends_a.append(str(app["a"]))
        ends_b.append(str(app["b"]))
    return outages.assign(a=ends_a, b=ends_b, cause=kinds, failures=failures,
                          bridged_s=np.asarray(bridged, dtype=float))


def drained_stores(levels: pd.DataFrame, threshold_bits: float) -> pd.DataFrame:
    """Per link whose store, once it held ``threshold_bits``, fell below them again at a sample.

    Columns ``link_id``, ``lowest_bits`` (after first holding the threshold),
    ``first_empty_s`` and ``empty_s`` (sample intervals spent below it) [s];
    a store emptied and refilled between two samples is not seen.
    """
    rows = []
    for link_id, group in levels.groupby("link_id", sort=True):
        ordered = group.sort_values("time_s")
        t = ordered["time_s"].to_numpy(dtype=float)
        level = ordered["level_bits"].to_numpy(dtype=float)
        filled = np.maximum.accumulate(level) >= threshold_bits
        empty = filled & (level < threshold_bits)
        if not empty.any():
            continue
        hold_s = np.diff(t, append=t[-1])  # a sample holds until the next one
        rows.append({"link_id": link_id, "lowest_bits": float(level[filled].min()),
                     "first_empty_s": float(t[empty][0]), "empty_s": float(hold_s[empty].sum())})
    return pd.DataFrame(rows, columns=["link_id", "lowest_bits", "first_empty_s", "empty_s"])


# ------------------------------------------------------------------ text, at the end only


def _sig(value) -> str:
    """Three significant digits, no exponent; thousands separated."""
    if value is None or value != value:
        return "-"
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return np.format_float_positional(float(value), precision=3, unique=False, fractional=False, trim="-")


def _percent(share) -> str:
    """A share in per cent with enough decimals that a shortfall never rounds to 100."""
    if share is None or share != share:
        return "-"
    if share >= 1.0:
        return "100"
    if share < 1e-3:  # below 0.1 %: significant digits, not zeros
        return _sig(100 * share)
    digits = 3
    while round(100 * share, digits) >= 100 and digits < 9:
        digits += 1
    return f"{100 * share:.{digits}f}".rstrip("0").rstrip(".")


def _bits(value: float) -> str:
    scale, unit = _bits_scale(np.array([value]))
    return f"{_sig(value / scale)} {unit}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _names(names, most: int = 8) -> str:
    from qnetemu.report import md_text

    names = [str(n) for n in names]
    text = ", ".join(f"`{md_text(n)}`" for n in names[:most])
    return text + (f" and {len(names) - most} more" if len(names) > most else "")


def _elements(failures: tuple[FailureSpan, ...]) -> str:
    if not failures:
        return "-"
    causes = {s.cause for s in failures}
    names = ", ".join(f"{s.element} {s.name}" + ("" if len(causes) == 1 else f" ({s.cause})") for s in failures)
    return names + (f" ({causes.pop()})" if len(causes) == 1 else "")


@dataclass(frozen=True)
class _Clock:
    """The report's time unit (the figures'), chosen from the emulated span."""

    duration_s: float
    scale_s: float
    unit: str

    def __call__(self, seconds) -> str:
        return _sig(seconds / self.scale_s)


def write_emulation_report(directory: str | Path) -> list[Path]:
    """Write ``report.md`` and ``report.html`` for an emulation directory; return their paths.

    Draws the figures that are missing where their tables are present.
    """
    from qnetemu.plots.emulation import FIGURE_TABLES, draw_emulation
    from qnetemu.report import write_documents

    directory = Path(directory)
    manifest = read_manifest(directory)
    tables = {name: read_table(directory, name) for name in (*REQUIRED, *OPTIONAL)}
    for name in REQUIRED:
        if tables[name] is None:
            raise UserError(f"an emulation directory without its {name} table (.parquet or .csv); "
                            "emulate again to rewrite it", file=str(directory))
    if "application" not in tables["availability"]:  # no applications: the runner writes a table without columns
        tables["availability"] = pd.DataFrame(columns=AVAILABILITY_COLUMNS)
    fig_dir = directory / "figures"
    if any(not (fig_dir / f"{stem}.png").is_file() and all(tables[n] is not None for n in needs)
           for stem, needs in FIGURE_TABLES.items()):
        draw_emulation(directory)  # only what `emulate --no-plots` or a trimmed copy left undrawn

    duration_s = float(manifest.get("duration_s") or 0.0)
    scale_s, unit = _time_scale(np.array([duration_s]))
    clock = _Clock(duration_s, scale_s, unit)
    avail, outages, links = tables["availability"], tables["outages"], tables["link_keys"]
    spans = failure_spans(tables["link_events"])
    causes = outage_causes(outages, avail, links, spans)
    sections = [*_header(directory, manifest, clock), *_applications(avail, causes, clock),
                *_outages(causes, clock), *_failures(spans, causes, tables["link_events"] is not None, clock),
                *_links(links, tables["store_levels"], float(avail["request_bits"].min()) if len(avail) else 0.0,
                        clock)]
    figures = [(caption, fig_dir / f"{stem}.png") for stem, caption in FIGURES]
    return list(write_documents(directory, sections, figures))


def _header(directory: Path, manifest: dict, clock: _Clock) -> list[str]:
    from qnetemu.report import md_text

    versions = manifest.get("versions", {})
    resumed = int(manifest.get("resumed_from_chunk") or 0)
    n_requests = (manifest.get("tables") or {}).get("requests")
    days = clock.duration_s / 86400.0
    return [
        f"# qnetemu report: {md_text(manifest.get('scenario_name', directory.name))} (emulation)\n",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from `{md_text(directory)}`; scenario "
        f"`{md_text(manifest.get('scenario_file'))}` (SHA-256 `{str(manifest.get('scenario_sha256'))[:16]}…`), "
        f"seed {manifest.get('seed')}, qnetemu {versions.get('qnetemu')}, git {manifest.get('git_commit') or '-'}. "
        f"Emulated {clock(clock.duration_s)} {clock.unit} ({clock.duration_s:,.0f} s"
        + (f", {days:.3g} d" if days >= 1 else "") + f") in {manifest.get('chunks')} checkpointed chunks"
        + (f" (resumed after chunk {resumed})" if resumed else "")
        + f", scheduling `{md_text(manifest.get('scheduling'))}`"
        + (f", {int(n_requests):,} requests" if n_requests is not None else "")
        + (f"; {float(manifest['elapsed_s']):,.0f} s of wall time" if manifest.get("elapsed_s") is not None else "")
        + ". Times below are from the start of the emulation.",
    ]


def _applications(avail: pd.DataFrame, causes: pd.DataFrame, clock: _Clock) -> list[str]:
    from qnetemu.report import _markdown_table, md_text

    if not len(avail):
        return ["\n## Applications: requests served in time\n",
                "No application drew key: the scenario has no `emulation.applications` and no demand with a "
                "`required_key_rate_bps`."]
    unit = clock.unit
    missing = int((avail["missed"] > 0).sum())
    delivered_bits = float((avail["served_rate_bps"] * clock.duration_s).sum())
    text = (f"{_count(len(avail), 'application')}, " + (f"{missing} of which missed requests" if missing else
                                                         "none of which missed a request")
            + f". They received {_bits(delivered_bits)} of key in all.")
    worst = avail.sort_values("availability", kind="stable").iloc[0] if len(avail) else None
    if worst is not None and worst["missed"] > 0:
        text += (f" The least available, `{md_text(worst['application'])}`, was served "
                 f"{_percent(worst['availability'])} % of its requests in time ({int(worst['missed']):,} missed).")
    by_kind = causes.groupby("cause")["duration_s"].sum()
    # Fibre relays take milliseconds, a wait for the next satellite pass hours: one unit for the column.
    latencies = avail[["mean_latency_s", "p99_latency_s"]].to_numpy(dtype=float)
    slowest_s = float(np.nanmax(latencies)) if np.isfinite(latencies).any() else 0.0
    lat_scale, lat_unit = (1e-3, "ms") if slowest_s < 1.0 else _time_scale(np.array([slowest_s]))
    parts = [f"{clock(by_kind[k])} {unit} {k}" for k in (CUT, DETOUR, START_UP, SHORTAGE) if k in by_kind]
    if len(causes):
        text += (f" Outage time, summed over applications: {clock(float(causes['duration_s'].sum()))} {unit} in "
                 f"{_count(len(causes), 'outage')}" + (f" ({', '.join(parts)})" if parts else "") + ".")
    table = pd.DataFrame({
        "application": avail["application"],
        "ends": [f"{a} – {b}" for a, b in zip(avail["a"], avail["b"], strict=True)],
        "requests": avail["requests"], "served [%]": avail["availability"], "missed [requests]": avail["missed"],
        "outages": avail["outages"], f"total outage [{unit}]": avail["total_outage_s"] / clock.scale_s,
        f"longest outage [{unit}]": avail["longest_outage_s"] / clock.scale_s,
        "requested [bit/s]": avail["requested_rate_bps"], "served [bit/s]": avail["served_rate_bps"],
        "static share [bit/s]": avail["static_key_rate_bps"],
        f"mean latency [{lat_unit}]": avail["mean_latency_s"] / lat_scale,
        f"p99 latency [{lat_unit}]": avail["p99_latency_s"] / lat_scale,
    })
    count = lambda v: f"{int(v):,}"  # noqa: E731
    formats = {c: _sig for c in table.columns[6:]}
    formats.update({"requests": count, "missed [requests]": count, "outages": count, "served [%]": _percent})
    return ["\n## Applications: requests served in time\n", text + "\n", _markdown_table(table, formats),
            "\n`served [%]`: share of decided requests served within their wait limit; `static share`: the "
            "max-min fair rate of the intact network (what `qnetemu run` gives); latency: wait for key plus relay "
            "along the route."]


def _outages(causes: pd.DataFrame, clock: _Clock) -> list[str]:
    from qnetemu.report import _markdown_table

    unit = clock.unit
    out = ["\n## Outages and their causes\n",
           "Each outage is a run of missed requests, from the first miss to the next served request. Its cause is "
           "read from the failures in force while that first miss waited: `cut` (working links no longer join the "
           "ends; the listed elements are the fewest whose repair would join them, and their stored key carried "
           "the traffic for `stores bridged`), `detour` (a failure on the intact network's widest route; the route "
           "taken instead lacked key), `start-up` (no failure: the stores had not yet received their first key "
           "blocks), `shortage` (none of these: the application asks for more than its route makes).\n"]
    start_up = causes[causes["cause"] == START_UP]
    rest = causes[causes["cause"] != START_UP]
    if len(start_up):
        lo, hi = float(start_up["duration_s"].min()), float(start_up["duration_s"].max())
        apps = list(dict.fromkeys(start_up["application"]))
        out.append(f"{_count(len(apps), 'application')} ({_names(apps)}) missed "
                   + ("its" if len(apps) == 1 else "their") + f" first requests at start-up (outages of {_sig(lo)}"
                   + (f"–{_sig(hi)}" if hi > lo else "") + " s, "
                   + f"{_count(int(start_up['requests_missed'].sum()), 'request')} in all), before the links' first "
                   "key blocks.\n")
    if not len(rest):
        return out + ([] if len(start_up) else ["No application missed a request."])
    shown = rest if len(rest) <= MAX_ROWS else rest.nlargest(MAX_ROWS, "duration_s").sort_values("start_s")
    if len(shown) < len(rest):
        out.append(f"The {MAX_ROWS} longest of {len(rest)} outages:\n")
    table = pd.DataFrame({
        "application": shown["application"], f"start [{unit}]": shown["start_s"] / clock.scale_s,
        f"end [{unit}]": shown["end_s"] / clock.scale_s, f"duration [{unit}]": shown["duration_s"] / clock.scale_s,
        "missed [requests]": shown["requests_missed"], "cause": shown["cause"], "failed elements": shown["failures"],
        f"down since [{unit}]": [min((s.down_s for s in f), default=math.nan) / clock.scale_s
                                 for f in shown["failures"]],
        f"stores bridged [{unit}]": shown["bridged_s"] / clock.scale_s,
    })
    end_of_run = clock.duration_s / clock.scale_s
    formats = {c: _sig for c in table.columns if c.endswith(f"[{unit}]")}
    formats.update({
        f"end [{unit}]": lambda v: _sig(v) + (" (still out at the end)" if v >= end_of_run else ""),
        "missed [requests]": lambda v: f"{int(v):,}", "failed elements": _elements})
    return [*out, _markdown_table(table, formats)]


def _failures(spans: list[FailureSpan], causes: pd.DataFrame, have_events: bool, clock: _Clock) -> list[str]:
    from qnetemu.report import _markdown_table

    out = ["\n## Failures applied\n"]
    if not spans:
        return out + ["No link or node failed in the emulated span." if have_events else
                      "No `link_events` table in this directory: failures unknown."]
    unit, duration_s = clock.unit, clock.duration_s
    hit_by: dict[FailureSpan, set[str]] = {}
    for app, failures in zip(causes["application"], causes["failures"], strict=True):
        for span in failures:
            hit_by.setdefault(span, set()).add(app)
    kinds = pd.Series([f"{s.cause} {s.element}" for s in spans]).value_counts()  # "3 scheduled links"
    out.append(f"{_count(len(spans), 'failure')} ({', '.join(_count(int(n), k) for k, n in kinds.items())}), down "
               f"{clock(sum(s.length_s(duration_s) for s in spans))} {unit} in all; "
               + (f"{len(hit_by)} of them caused an outage, the others" if hit_by else "none caused an outage: all")
               + " were ridden out on stored key or other routes.\n")
    ranked = sorted(spans, key=lambda s: (s not in hit_by, -s.length_s(duration_s)))[:MAX_ROWS]
    ranked.sort(key=lambda s: (s.down_s, s.element, s.name))
    if len(ranked) < len(spans):
        out.append(f"Those that caused outages first, then the longest; {len(ranked)} of {len(spans)}:\n")
    table = pd.DataFrame({
        "element": [s.element for s in ranked], "name": [s.name for s in ranked], "cause": [s.cause for s in ranked],
        f"down at [{unit}]": [s.down_s / clock.scale_s for s in ranked],
        f"up at [{unit}]": [math.nan if s.up_s is None else s.up_s / clock.scale_s for s in ranked],
        f"down for [{unit}]": [s.length_s(duration_s) / clock.scale_s for s in ranked],
        "outages of": [sorted(hit_by.get(s, ())) for s in ranked],
    })
    return [*out, _markdown_table(table, {
        f"down at [{unit}]": _sig, f"down for [{unit}]": _sig,
        f"up at [{unit}]": lambda v: "still down at the end" if v != v else _sig(v),
        "outages of": lambda names: ", ".join(names) or "-"})]


def _links(links: pd.DataFrame, levels: pd.DataFrame | None, smallest_request_bits: float,
           clock: _Clock) -> list[str]:
    from qnetemu.report import _markdown_table, md_text

    unit = clock.unit
    balance = (links["initial_bits"] + links["generated_bits"] - links["consumed_bits"] - links["discarded_bits"]
               - links["final_level_bits"]).abs()
    generated, consumed = float(links["generated_bits"].sum()), float(links["consumed_bits"].sum())
    out = ["\n## Key per link\n",
           f"{_count(len(links), 'QKD link')} generated {_bits(generated)} of key; relaying consumed "
           f"{_bits(consumed)} (summed over hops, {_percent(consumed / generated if generated else math.nan)} % of "
           f"it), {_bits(float(links['discarded_bits'].sum()))} were made into full stores and discarded, and the "
           f"stores held {_bits(float(links['final_level_bits'].sum()))} at the end. Initial + generated − "
           f"consumed − discarded − final is within {_sig(float(balance.max()))} bit on every link.\n"]
    threshold = f"the smallest request of {_sig(smallest_request_bits)} bit"
    if levels is not None:
        drained = drained_stores(levels, smallest_request_bits)
        drained_ids = set(drained["link_id"])
        if len(drained):
            first = drained.sort_values("first_empty_s").iloc[0]
            period_s = float(np.median(np.diff(np.unique(levels["time_s"].to_numpy(dtype=float)))))
            out.append(f"Drained stores, below {threshold} after having held it (sampled every {_sig(period_s)} s): "
                       f"{_count(len(drained), 'link')} ({_names(drained['link_id'])}), the first "
                       f"`{md_text(first['link_id'])}` at {clock(first['first_empty_s'])} {unit}.\n")
        else:
            out.append(f"No store fell below {threshold} once it had held it.\n")
    else:
        drained = None
        final_empty = links[(links["final_level_bits"] < smallest_request_bits)
                            & ((links["consumed_bits"] > 0) | (links["availability"] < 1))]
        drained_ids = set(final_empty["link_id"])
        out.append(f"No `store_levels` table kept here: stores are judged at the end only. "
                   f"{_count(len(final_empty), 'link')} in use ended below {threshold}"
                   + (f": {_names(final_empty['link_id'])}" if len(final_empty) else "") + ".\n")
    shown = links[(links["consumed_bits"] > 0) | (links["availability"] < 1) | links["link_id"].isin(drained_ids)]
    shown = (shown.assign(drained=shown["link_id"].isin(drained_ids))
             .sort_values(["drained", "consumed_bits", "link_id"], ascending=[False, False, True], kind="stable"))
    which = "links that relayed key, failed or drained (drained first, then those that relayed most)"
    out.append(f"{MAX_ROWS} of the {len(shown)} {which}:\n" if len(shown) > MAX_ROWS else f"The {which}:\n")
    shown = shown.head(MAX_ROWS)
    table = pd.DataFrame({
        "link": shown["link_id"], "ends": [f"{a} – {b}" for a, b in zip(shown["a"], shown["b"], strict=True)],
        "key rate [bit/s]": shown["key_rate_bps"]})

    def add_bits(header: str, values) -> None:  # each column in its own unit: Gbit made, bits left
        values = np.asarray(values, dtype=float)
        bscale, bunit = _bits_scale(values) if np.isfinite(values).any() else (1.0, "bit")
        table[f"{header} [{bunit}]"] = values / bscale

    for header, column in (("generated", "generated_bits"), ("consumed", "consumed_bits"),
                           ("discarded at full store", "discarded_bits"), ("stored at end", "final_level_bits")):
        add_bits(header, shown[column])
    table["up [%]"] = shown["availability"].to_numpy(dtype=float)
    if drained is not None:
        per = drained.set_index("link_id")
        add_bits("lowest after filling", shown["link_id"].map(per["lowest_bits"]))
        table[f"empty from [{unit}]"] = shown["link_id"].map(per["first_empty_s"]).to_numpy(dtype=float) / clock.scale_s
        table[f"empty for [{unit}]"] = shown["link_id"].map(per["empty_s"]).to_numpy(dtype=float) / clock.scale_s
    return [*out, _markdown_table(table, {**{c: _sig for c in table.columns[2:]}, "up [%]": _percent})]
