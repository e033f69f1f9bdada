"""Figures of an emulation directory (``qnetemu emulate``), from its stored tables only."""

from __future__ import annotations

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


def store_levels(levels: pd.DataFrame, links: pd.DataFrame, events: pd.DataFrame, *, title: str):
    """Key in the busiest links' stores over time; their outages shaded."""
    fig, ax = figure(6.5, 3.8)
    busiest = links.sort_values("consumed_bits", ascending=False)
    busiest = busiest[busiest["consumed_bits"] > 0].head(MAX_LINES)
    if busiest.empty:
        busiest = links.head(MAX_LINES)
    chosen = list(busiest["link_id"])
    data = levels[levels["link_id"].isin(chosen)]
    xscale, unit = _time_scale(data["time_s"].to_numpy(dtype=float))
    scale, bits_unit = _bits_scale(data["level_bits"].to_numpy(dtype=float))
    colour = {}
    for link_id in chosen:
        rows = data[data["link_id"] == link_id].sort_values("time_s")
        (line,) = ax.step(rows["time_s"] / xscale, rows["level_bits"] / scale, where="post", lw=1.2, label=link_id)
        colour[link_id] = line.get_color()
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
    ax.set_title(f"{title}: key stores of the {len(chosen)} busiest links (shaded in its colour: link down)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
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
    h = 0.27
    for offset, col, label, colour in ((-h, "requested_rate_bps", "requested", "0.6"),
                                       (0.0, "static_key_rate_bps", "static max-min share", "tab:green"),
                                       (h, "served_rate_bps", "served (emulated)", "tab:blue")):
        ax2.barh(y + offset, avail[col].clip(lower=1e-3), height=h, color=colour, label=label)
    ax2.set_xscale("log")
    ax2.set_xlabel("key rate [bit/s]")
    fig.legend(*ax2.get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle(f"{title}: applications")
    return fig


def request_timeline(requests: pd.DataFrame, avail: pd.DataFrame, *, title: str):
    """When requests were missed (per application), and the latency distribution of served ones."""
    fig, _ = figure(7.0, max(2.8, 1.2 + 0.3 * len(avail)))
    fig.clf()
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(2.2, 1.0))
    names = list(avail["application"])
    xscale, unit = _time_scale(requests["arrival_s"].to_numpy(dtype=float))
    x = requests["arrival_s"].to_numpy(dtype=float) / xscale
    requests = requests.assign(_x=x)
    for i, name in enumerate(names):
        missed = requests[(requests["application"] == name) & (requests["outcome"] == "missed")]
        ax1.plot(missed["_x"], np.full(len(missed), i), "|", color="tab:red", ms=8)
    ax1.set_yticks(range(len(names)), names)
    ax1.set_ylim(len(names) - 0.5, -0.5)
    ax1.set_xlim(0, float(x.max()) if len(x) else 1.0)
    ax1.set_xlabel(f"request time [{unit}]")
    ax1.set_title("missed requests")
    served = requests[requests["outcome"] == "served"]
    for name in names[:MAX_LINES]:
        lat = np.sort(served.loc[served["application"] == name, "latency_s"].to_numpy(dtype=float))
        if len(lat):
            ax2.step(np.maximum(lat, 1e-6), np.arange(1, len(lat) + 1) / len(lat), where="post", label=name)
    ax2.set_xscale("log")
    ax2.set_xlabel("key-delivery latency [s]")
    ax2.set_ylabel("cumulative fraction")
    ax2.set_title("latency of served requests")
    if len(names) <= MAX_LINES:
        ax2.legend(loc="lower right", frameon=False, fontsize=7)
    fig.suptitle(title)
    return fig


def draw_emulation(run_dir: str | Path) -> list[Path]:
    """Draw the emulation figures into ``RUN/figures``; return the files written."""
    from qnetemu.results.store import read_manifest, read_table

    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    title = manifest.get("scenario_name") or run_dir.name
    tables = {n: read_table(run_dir, n) for n in ("store_levels", "links", "link_events", "availability", "requests")}
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    if tables["store_levels"] is not None and len(tables["store_levels"]):
        written += save(store_levels(tables["store_levels"], tables["links"], tables["link_events"], title=title),
                        fig_dir / "store_levels")
    if tables["availability"] is not None and len(tables["availability"]):
        written += save(availability(tables["availability"], title=title), fig_dir / "availability")
        if tables["requests"] is not None and len(tables["requests"]):
            written += save(request_timeline(tables["requests"], tables["availability"], title=title),
                            fig_dir / "requests")
    return written
