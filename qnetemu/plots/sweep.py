"""Sweep figures: repeater key rate against a swept parameter, and crossover maps.

Both come from a sweep directory's ``demands`` table (one row per demand,
point and architecture) and never recompute anything. The trusted-node
baseline of a row is the trusted-node row of the same demand at the same
swept values and repetition. A rate of zero has no place on a log axis, so
it is never drawn at an invented floor: the figures show the share of
demands with key next to the rates of those that have it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.plots import palette
from qnetemu.plots.style import figure, log_scale

ID = ["a", "b", "rep"]
DEMAND_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def swept_columns(sweep_manifest: dict, demands: pd.DataFrame) -> list[str]:
    """Numeric swept parameters present as columns of the table, in axis order."""
    paths = [p for axis in sweep_manifest.get("axes", []) for p in axis.get("paths", [])]
    return [p for p in dict.fromkeys(paths) if p in demands and pd.api.types.is_numeric_dtype(demands[p])]


def paired(demands: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """One row per demand and swept point with the key rate of each architecture as a column (0: no key)."""
    ok = demands.copy()
    ok["key_rate_bps"] = ok["key_rate_bps"].fillna(0.0)
    keys = [c for c in ID if c in ok] + params
    wide = ok.pivot_table(index=keys, columns="architecture", values="key_rate_bps", aggfunc="first")
    return wide.reset_index()


def _log_axis(values: np.ndarray) -> bool:
    values = values[np.isfinite(values)]
    return bool(values.size and values.min() > 0 and values.max() / values.min() >= 50)


def rate_summary(demands: pd.DataFrame, param: str, params: list[str], arch: str) -> pd.DataFrame:
    """Per value of ``param``: share of demands with key, and quartiles and best of the rates of those with key.

    Each demand counts once per value: its median over the other swept
    parameters and repetitions. Columns ``share``, ``q25``, ``median``,
    ``q75``, ``best`` [bit/s]; NaN where no demand has key (missing, not 0).
    """
    wide = paired(demands, params)
    per_demand = wide.groupby(["a", "b", param])[arch].median().reset_index()
    rows = []
    for value, group in per_demand.groupby(param):
        rates = group[arch].to_numpy(dtype=float)
        keyed = rates[rates > 0]
        q = np.quantile(keyed, [0.25, 0.5, 0.75]) if keyed.size else [np.nan] * 3
        rows.append({param: value, "share": keyed.size / len(rates), "q25": q[0], "median": q[1], "q75": q[2],
                     "best": keyed.max() if keyed.size else np.nan})
    return pd.DataFrame(rows)


def rate_vs_parameter(demands: pd.DataFrame, param: str, params: list[str], *, title: str = "",
                      max_lines: int = 8):
    """Repeater key rate against one swept parameter, with the trusted-node baseline.

    Up to ``max_lines`` demands get their own line (median over the other
    swept parameters); with more demands, the median and quartiles over the
    demands that get key are drawn, with the share of demands that get key
    below. Colours are the architectures' (:mod:`qnetemu.plots.palette`).
    """
    import matplotlib.pyplot as plt

    from qnetemu.plots.style import RC

    wide = paired(demands, params)
    rep = demands[demands.architecture == "repeater"]
    show_f = "fidelity" in rep and rep["fidelity"].notna().any()
    archs = [a for a in ("repeater", "trusted_node") if a in wide]
    pairs = wide[["a", "b"]].drop_duplicates()
    with plt.rc_context(RC):
        ratios = (3, 1.4) + ((1.8,) if show_f else ())
        fig, axs = plt.subplots(len(ratios), 1, figsize=(6.8, 1.5 * sum(ratios)), sharex=True, layout="constrained",
                                height_ratios=ratios)
    ax, share_ax = axs[0], axs[1]
    if len(pairs) <= max_lines:
        for k, ((a, b), rows) in enumerate(wide.groupby(["a", "b"])):
            by = rows.groupby(param)
            for arch in archs:
                med = by[arch].median()
                ax.plot(med.index, np.where(med > 0, med, np.nan), marker=DEMAND_MARKERS[k % len(DEMAND_MARKERS)],
                        ms=4, color=palette.architecture_colour(arch), ls="-" if arch == "repeater" else "--",
                        lw=1, label=f"{a} – {b}: {palette.architecture_label(arch)}", gid=f"line_{arch}")
    else:
        for arch in archs:
            s = rate_summary(demands, param, params, arch)
            colour = palette.architecture_colour(arch)
            ax.plot(s[param], s["median"], marker=palette.ARCHITECTURE_MARKERS[arch], ms=4, color=colour,
                    ls="-" if arch == "repeater" else "--", gid=f"median_{arch}",
                    label=f"{palette.architecture_label(arch)}: median of demands with key (band: quartiles)")
            ax.fill_between(s[param], s["q25"], s["q75"], color=colour, alpha=0.15)
            ax.plot(s[param], s["best"], ls=":", color=colour, lw=1, gid=f"best_{arch}",
                    label=f"{palette.architecture_label(arch)}: best demand")
    for arch in archs:
        s = rate_summary(demands, param, params, arch)
        share_ax.plot(s[param], 100.0 * s["share"], marker=palette.ARCHITECTURE_MARKERS[arch], ms=4,
                      color=palette.architecture_colour(arch), ls="-" if arch == "repeater" else "--",
                      gid=f"share_{arch}", label=palette.architecture_label(arch))
    share_ax.set_ylabel("Demands with\nkey [%]")
    share_ax.set_ylim(-3, 103)
    share_ax.legend(fontsize=7)
    if _log_axis(wide[param].to_numpy(dtype=float)):
        log_scale(ax, "x")
    log_scale(ax)
    ax.set_ylabel("Secret-key rate [bit/s]")
    if show_f:
        from qnetemu.physics.entanglement import bbm92_fidelity_threshold

        fax = axs[2]
        per = rep.groupby(["a", "b", param])["fidelity"].median().reset_index()
        q = per.groupby(param)["fidelity"].quantile([0.25, 0.5, 0.75]).unstack()
        colour = palette.architecture_colour("repeater")
        fax.plot(q.index, q[0.5], marker="o", ms=3, color=colour, label="delivered fidelity, median over demands",
                 gid="fidelity")
        fax.fill_between(q.index, q[0.25], q[0.75], color=colour, alpha=0.15)
        fax.axhline(float(bbm92_fidelity_threshold()), color="black", ls=":", lw=1, label="BBM92 threshold")
        fax.set_ylabel("Delivered fidelity")
        fax.legend(fontsize=7)
    axs[-1].set_xlabel(palette.parameter_label(param))
    words = palette.parameter_label(param).split(" [")[0]
    heading = (f"{title}: " if title else "") + f"key rate vs {words[:1].lower() + words[1:]}"
    # One line fits about 60 characters at this width: a longer one ran off the figure.
    ax.set_title(heading + ("\n" if len(heading) > 48 else " ") + f"({len(pairs)} demands)")
    ax.legend(fontsize=6.5 if len(pairs) <= max_lines else 7, ncol=2 if len(pairs) > 3 and len(pairs) <= max_lines else 1)
    return fig


def crossover_table(demands: pd.DataFrame, x: str, y: str, params: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per (y, x) cell: best demand's log10(repeater / trusted-node key rate), share served, share won.

    Over demands with trusted-node key and the other swept parameters. The
    ratio is NaN (missing) where no demand gets repeater key in the cell.
    """
    wide = paired(demands, params)
    if "repeater" not in wide or "trusted_node" not in wide:
        raise ValueError("a crossover map needs both repeater and trusted_node rows")
    wide = wide[wide["trusted_node"] > 0].copy()
    with np.errstate(divide="ignore"):
        wide["log_ratio"] = np.where(wide["repeater"] > 0, np.log10(wide["repeater"] / wide["trusted_node"]), np.nan)
    wide["served"] = wide["repeater"] > 0
    wide["wins"] = (wide["repeater"] >= wide["trusted_node"]) & wide["served"]
    groups = wide.groupby([y, x])
    return (groups["log_ratio"].max().unstack(x), groups["served"].mean().unstack(x),
            groups["wins"].mean().unstack(x))


def crossover_map(demands: pd.DataFrame, x: str, y: str, params: list[str], *, title: str = ""):
    """How far repeaters are from trusted nodes over two swept parameters.

    Colour: log10(repeater / trusted-node key rate) of the demand where
    repeaters do best in the cell (over demands and the other swept
    parameters); 0 (white) is the crossover, blue is repeaters behind, red
    ahead. Grey: no demand gets repeater key. Text: the best ratio, the share
    of demands that get any repeater key, and (when any) the share where
    repeaters match or beat trusted nodes.
    """
    import matplotlib as mpl

    ratio, served, wins = crossover_table(demands, x, y, params)
    fig, ax = figure(6.8, 5.0)
    values = ratio.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    limit = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad=palette.MISSING_COLOUR)
    image = ax.pcolormesh(np.arange(ratio.shape[1] + 1), np.arange(ratio.shape[0] + 1),
                          np.ma.masked_invalid(values), cmap=cmap, vmin=-limit, vmax=limit, shading="flat",
                          gid="ratio")
    xlabels = [f"{v:.3g}" for v in ratio.columns]
    ax.set_xticks(np.arange(ratio.shape[1]) + 0.5, xlabels, rotation=45 if max(map(len, xlabels)) > 4 else 0)
    ax.set_yticks(np.arange(ratio.shape[0]) + 0.5, [f"{v:.3g}" for v in ratio.index])
    for (i, j), value in np.ndenumerate(values):
        won = wins.to_numpy()[i, j]
        text = ("no key" if not np.isfinite(value) else f"{value:+.1f}") + f"\n{served.to_numpy()[i, j]:.0%} served"
        if won > 0:
            text += f"\n{won:.0%} won"
        ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8 if values.size <= 16 else 6.5,
                color="white" if np.isfinite(value) and abs(value) > 0.6 * limit else "black")
    ax.grid(False)
    ax.set_xlabel(palette.parameter_label(x))
    ax.set_ylabel(palette.parameter_label(y))
    fig.colorbar(image, ax=ax, label="best demand: log10(repeater / trusted-node key rate)")
    ax.set_title((f"{title}: " if title else "")
                 + "repeaters vs trusted nodes, best demand per cell\n(served: share of demands with repeater key; "
                   "grey: none)")
    return fig
