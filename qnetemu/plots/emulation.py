"""Figures of an emulation directory (``qnetemu emulate``), from its stored tables only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from qnetemu.plots.style import figure, save  # noqa: E402

#: Most links drawn in the store-level figure (the busiest ones); more is unreadable.
MAX_LINES = 8


def _time_scale(seconds: np.ndarray) -> tuple[float, str]:
    span = float(np.nanmax(seconds)) if len(seconds) else 0.0
    for scale, unit in ((86400.0, "d"), (3600.0, "h"), (60.0, "min")):
        if span >= 3 * scale:
            return scale, unit
    return 1.0, "s"


def _bits_scale(values: np.ndarray) -> tuple[float, str]:
    top = float(np.nanmax(values)) if len(values) else 0.0
    for scale, unit in ((1e9, "Gbit"), (1e6, "Mbit"), (1e3, "kbit")):
        if top >= scale:
            return scale, unit
    return 1.0, "bit"


def _max_drawdown_bits(levels: pd.DataFrame) -> pd.Series:
    """Per link, the deepest fall of its store below an earlier level [bit] (0 while it only fills)."""
    ordered = levels.sort_values("time_s")
    peak = ordered.groupby("link_id")["level_bits"].cummax()
    return (peak - ordered["level_bits"]).groupby(ordered["link_id"]).max()


#: Lines closer than this share of the fullest store everywhere would hide each other: the later one is dashed.
NEAR_FRACTION = 0.02
#: Line styles of a line and of those drawn after it that lie on it, in turn (drawn on top, so both show).
OVERLAP_STYLES = ("-", (0, (4, 2)), (0, (1, 1.5)), (0, (5, 2, 1, 2)))


def _overlap_styles(levels: pd.DataFrame, link_ids: list[str], *, near_bits: float) -> dict[str, object]:
    """A line style per link: solid, unless it lies within ``near_bits`` of a line drawn before it.

    The levels are step functions sampled at each link's own times; they are
    compared at every sample time of either (the value held since the last sample).
    """
    grid = np.unique(levels["time_s"].to_numpy(dtype=float))
    curves = {}
    for link_id in link_ids:
        rows = levels[levels["link_id"] == link_id].sort_values("time_s")
        t, v = rows["time_s"].to_numpy(dtype=float), rows["level_bits"].to_numpy(dtype=float)
        at = np.searchsorted(t, grid, side="right") - 1
        curves[link_id] = np.where(at >= 0, v[np.clip(at, 0, None)], np.nan) if len(t) else np.full(len(grid), np.nan)
    styles: dict[str, object] = {}
    for k, link_id in enumerate(link_ids):
        close = sum(bool(np.nanmax(np.abs(curves[link_id] - curves[other])) <= near_bits)
                    for other in link_ids[:k] if np.isfinite(curves[link_id] - curves[other]).any())
        styles[link_id] = OVERLAP_STYLES[close % len(OVERLAP_STYLES)]
    return styles


def store_levels(levels: pd.DataFrame, links: pd.DataFrame, events: pd.DataFrame, *, title: str):
    """Key in the stores that drained most (then the busiest) over time; their outages shaded."""
    fig, ax = figure(6.5, 4.4)
    ranked = links.assign(drawdown=links["link_id"].map(_max_drawdown_bits(levels)).fillna(0.0))
    ranked = ranked.sort_values(["drawdown", "consumed_bits"], ascending=False, kind="stable")
    used = ranked[ranked["consumed_bits"] > 0]
    # Pieces of one span (and links on the same routes) often hold the same key: one line for them.
    # Alike to the figure's resolution (0.5 % of the fullest store): lines that would hide each other.
    step_bits = max(float(levels["level_bits"].max()) / 200.0, 1.0) if len(levels) else 1.0
    series = {name: tuple(np.round(g.sort_values("time_s")["level_bits"].to_numpy(dtype=float) / step_bits))
              for name, g in levels.groupby("link_id")}
    groups: dict[tuple, list[str]] = {}
    for link_id in (used if len(used) else ranked)["link_id"]:
        key = series.get(link_id, ())
        if key in groups:
            groups[key].append(link_id)
        elif len(groups) < MAX_LINES:
            groups[key] = [link_id]
    chosen = [names[0] for names in groups.values()]
    data = levels[levels["link_id"].isin(chosen)]
    xscale, unit = _time_scale(data["time_s"].to_numpy(dtype=float))
    scale, bits_unit = _bits_scale(data["level_bits"].to_numpy(dtype=float))
    colour = {}
    styles = _overlap_styles(data, chosen, near_bits=NEAR_FRACTION * float(levels["level_bits"].max()))
    for names in groups.values():
        rows = data[data["link_id"] == names[0]].sort_values("time_s")
        label = names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1} alike)"
        (line,) = ax.step(rows["time_s"] / xscale, rows["level_bits"] / scale, where="post", lw=1.2, label=label,
                          ls=styles[names[0]])
        colour[names[0]] = line.get_color()
    downs = events[(events["element"] == "link") & events["name"].isin(chosen)].sort_values("time_s")
    end_s = float(levels["time_s"].max()) if len(levels) else 0.0
    open_since: dict[str, float] = {}
    for t, name, event in zip(downs["time_s"], downs["name"], downs["event"], strict=True):
        if event == "down":
            open_since.setdefault(name, float(t))
        elif name in open_since:
            ax.axvspan(open_since.pop(name) / xscale, float(t) / xscale, color=colour[name], alpha=0.12, lw=0)
    for name, start in open_since.items():
        ax.axvspan(start / xscale, end_s / xscale, color=colour[name], alpha=0.12, lw=0)
    ax.set_xlabel(f"time [{unit}]")
    ax.set_ylabel(f"key in store [{bits_unit}]")
    ax.set_ylim(bottom=0)
    # Two lines: the scenario name can be long, and the shading and dashes need their key.
    keys = ["shaded: that link down"] + (["dashed: on a line drawn before"] if set(styles.values()) != {"-"} else [])
    ax.set_title(f"{title}: the {len(chosen)} stores that drained most, then the busiest\n({'; '.join(keys)})")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
    return fig


def availability(avail: pd.DataFrame, *, title: str):
    """Per application: share of requests served in time, and served against requested and static rates."""
    fig, _ = figure(7.0, max(2.8, 1.2 + 0.3 * len(avail)))
    fig.clf()
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(avail))
    ax1.barh(y, 100 * avail["availability"].fillna(0), color="tab:blue")
    ax1.set_yticks(y, avail["application"])
    ax1.invert_yaxis()
    ax1.set_xlim(0, 100)
    ax1.set_xlabel("requests served in time [%]")
    # Markers, not bars: a bar's length means nothing on a log axis.
    for col, marker, label, colour, size in (("requested_rate_bps", "|", "requested", "0.3", 14),
                                             ("static_key_rate_bps", "o", "static max-min share", "tab:green", 7),
                                             ("served_rate_bps", "x", "served (emulated)", "tab:blue", 7)):
        ax2.plot(avail[col].clip(lower=1e-3), y, marker, ls="none", color=colour, label=label, ms=size, mew=1.6)
    ax2.set_xscale("log")
    ax2.set_xlabel("key rate [bit/s]")
    fig.legend(*ax2.get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle(f"{title}: applications")
    return fig


def request_timeline(outages: pd.DataFrame, avail: pd.DataFrame, *, duration_s: float, title: str):
    """When each application went without key (its runs of missed requests), and the latency of the served ones.

    Drawn from the outage table (one row per run of misses), not the request
    table: a run of misses is what the figure shows, and the request table of
    a long emulation is hundreds of megabytes.
    """
    fig, _ = figure(7.0, max(2.8, 1.2 + 0.3 * len(avail)))
    fig.clf()
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(2.2, 1.0), sharey=True)
    names = list(avail["application"])
    xscale, unit = _time_scale(np.array([duration_s]))
    for i, name in enumerate(names):
        runs = outages[outages["application"] == name]
        start, length = runs["start_s"].to_numpy(dtype=float) / xscale, runs["duration_s"].to_numpy(dtype=float) / xscale
        ax1.broken_barh(list(zip(start, length, strict=True)), (i - 0.3, 0.6), color="tab:red", lw=0)
        # A tick at each start too: a single missed request lasts seconds, a bar of no width.
        ax1.plot(start, np.full(len(start), i), "|", color="tab:red", ms=8, clip_on=False, zorder=3)  # at 0: over the spine
    ax1.set_yticks(range(len(names)), names)
    ax1.set_ylim(len(names) - 0.5, -0.5)
    ax1.set_xlim(0, duration_s / xscale)
    ax1.set_xlabel(f"request time [{unit}]")
    ax1.set_title("requests missed")
    y = np.arange(len(names))
    for col, marker, label in (("mean_latency_s", "o", "mean"), ("p99_latency_s", "x", "99th percentile"),
                               ("max_latency_s", "|", "maximum")):
        ax2.plot(avail[col].clip(lower=1e-6), y, marker, ls="none", label=label, ms=6)
    ax2.set_xscale("log")
    ax2.set_xlabel("latency [s]")
    ax2.set_title("latency\n(wait + relay)")
    fig.legend(*ax2.get_legend_handles_labels(), loc="outside lower right", ncols=3, frameon=False)
    fig.suptitle(title)
    return fig


#: Figure stem -> the tables it is drawn from (``link_events`` may be absent: no failures to shade).
FIGURE_TABLES = {
    "store_levels": ("store_levels", "link_keys"),
    "availability": ("availability",),
    "requests": ("availability", "outages"),
}
# The first table of each must have rows (links, applications); the others may be empty.


def draw_emulation(run_dir: str | Path, *, pdf: bool = False,
                   note: Callable[[str], None] | None = None) -> list[Path]:
    """Draw the emulation figures into ``RUN/figures``; return the files written.

    A figure whose tables the directory lacks is left out, and ``note`` told
    which table is missing.
    """
    from qnetemu.emulate.runner import COLUMNS
    from qnetemu.results.store import read_manifest

    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    title = manifest.get("scenario_name") or run_dir.name
    names = {n for needs in FIGURE_TABLES.values() for n in needs} | {"link_events"}
    from qnetemu.results.store import read_table  # Parquet, else its CSV copy (trimmed examples)

    tables = {n: read_table(run_dir, n) for n in sorted(names)}
    if tables["link_events"] is None:
        tables["link_events"] = pd.DataFrame(columns=COLUMNS["link_events"])
    duration_s = float(manifest.get("duration_s") or 0.0)
    draw = {
        "store_levels": lambda: store_levels(tables["store_levels"], tables["link_keys"], tables["link_events"],
                                             title=title),
        "availability": lambda: availability(tables["availability"], title=title),
        "requests": lambda: request_timeline(tables["outages"], tables["availability"], duration_s=duration_s,
                                             title=title),
    }
    fig_dir = run_dir / "figures"
    written: list[Path] = []
    for stem, needs in FIGURE_TABLES.items():
        missing = [n for n in needs if tables[n] is None]
        if missing:
            if note is not None:
                note(f"{stem}.png not drawn: no {missing[0]} table (.parquet or .csv) in {run_dir}")
            continue
        if not len(tables[needs[0]]):
            continue
        fig_dir.mkdir(exist_ok=True)
        written += save(draw[stem](), fig_dir / stem, pdf=pdf)
    return written
