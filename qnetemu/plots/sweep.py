"""Sweep figures: repeater key rate against a swept parameter, and crossover maps.

Both come from a sweep directory's ``demands`` table (one row per demand,
point and architecture) and never recompute anything. The trusted-node
baseline of a row is the trusted-node row of the same demand at the same
swept values and repetition.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.plots.style import figure

ID = ["a", "b", "rep"]


def swept_columns(sweep_manifest: dict, demands: pd.DataFrame) -> list[str]:
    """Numeric swept parameters present as columns of the table, in axis order."""
    paths = [p for axis in sweep_manifest.get("axes", []) for p in axis.get("paths", [])]
    return [p for p in dict.fromkeys(paths) if p in demands and pd.api.types.is_numeric_dtype(demands[p])]


def paired(demands: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """One row per demand and swept point with the key rate of each architecture as a column."""
    ok = demands.copy()
    ok["key_rate_bps"] = ok["key_rate_bps"].fillna(0.0)
    keys = [c for c in ID if c in ok] + params
    wide = ok.pivot_table(index=keys, columns="architecture", values="key_rate_bps", aggfunc="first")
    return wide.reset_index()


def _log_axis(values: np.ndarray) -> bool:
    values = values[np.isfinite(values)]
    return bool(values.size and values.min() > 0 and values.max() / values.min() >= 50)


def rate_vs_parameter(demands: pd.DataFrame, param: str, params: list[str], *, title: str = "",
                      max_lines: int = 8):
    """Repeater key rate against one swept parameter, trusted-node baseline dashed.

    Up to ``max_lines`` demands get their own line (median over the other
    swept parameters and repetitions); with more demands the median over
    demands is drawn with its interquartile band.
    """
    import matplotlib.pyplot as plt

    from qnetemu.plots.style import RC

    wide = paired(demands, params)
    rep = demands[demands.architecture == "repeater"]
    show_f = "fidelity" in rep and rep["fidelity"].notna().any()
    with plt.rc_context(RC):
        if show_f:
            fig, (ax, fax) = plt.subplots(2, 1, figsize=(6.5, 6.0), sharex=True, layout="constrained",
                                          height_ratios=(3, 2))
        else:
            fig, ax = plt.subplots(figsize=(6.5, 4.0), layout="constrained")
    pairs = wide[["a", "b"]].drop_duplicates()
    have_tn = "trusted_node" in wide
    if len(pairs) <= max_lines:
        for (a, b), rows in wide.groupby(["a", "b"]):
            by = rows.groupby(param)
            line = ax.plot(by["repeater"].median().index, by["repeater"].median().to_numpy(), marker="o", ms=3,
                           label=f"{a} – {b}: repeater")[0]
            if have_tn:
                ax.plot(by["trusted_node"].median().index, by["trusted_node"].median().to_numpy(), ls="--",
                        color=line.get_color(), lw=1, label=f"{a} – {b}: trusted nodes")
    else:
        for arch, style in (("repeater", "-"), ("trusted_node", "--")):
            if arch not in wide:
                continue
            per_demand = wide.groupby(["a", "b", param])[arch].median().reset_index()
            q = per_demand.groupby(param)[arch].quantile([0.25, 0.5, 0.75, 1.0]).unstack()
            line = ax.plot(q.index, q[0.5], ls=style, marker="o" if style == "-" else None, ms=3,
                           label=f"{arch.replace('_', ' ')}: median over {len(pairs)} demands (band: quartiles)")[0]
            ax.fill_between(q.index, q[0.25], q[0.75], color=line.get_color(), alpha=0.15)
            ax.plot(q.index, q[1.0], ls=":", color=line.get_color(), lw=1,
                    label=f"{arch.replace('_', ' ')}: best demand")
    if _log_axis(wide[param].to_numpy(dtype=float)):
        ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_ylim(bottom=0.0)  # rates are never negative: no mirrored half of the symlog axis
    ax.set_ylabel("Secret-key rate [bit/s] (0 at the bottom)")
    if show_f:
        from qnetemu.physics.entanglement import bbm92_fidelity_threshold

        per = rep.groupby(["a", "b", param])["fidelity"].median().reset_index()
        q = per.groupby(param)["fidelity"].quantile([0.25, 0.5, 0.75]).unstack()
        fax.plot(q.index, q[0.5], marker="o", ms=3, color="tab:orange", label="delivered fidelity, median over demands")
        fax.fill_between(q.index, q[0.25], q[0.75], color="tab:orange", alpha=0.15)
        fax.axhline(float(bbm92_fidelity_threshold()), color="black", ls=":", lw=1, label="BBM92 threshold")
        fax.set_ylabel("Fidelity")
        fax.legend(fontsize=7)
        fax.set_xlabel(param)
    else:
        ax.set_xlabel(param)
    ax.set_title((f"{title}: " if title else "") + f"repeater key rate vs {param.split('.')[-1]}")
    ax.legend(fontsize=7)
    return fig


def crossover_map(demands: pd.DataFrame, x: str, y: str, params: list[str], *, title: str = "",
                  floor: float = 1e-9):
    """How far repeaters are from trusted nodes over two swept parameters.

    Colour: log10(repeater key rate / trusted-node key rate) of the demand
    where repeaters do best (over demands and the other swept points),
    clipped at ``floor``; 0 is the crossover. Long demands often get no
    repeater key at all, so a median would sit at the floor and hide the
    trend. Each cell also states the share of demands where repeaters match
    or beat trusted nodes.
    """
    wide = paired(demands, params)
    if "repeater" not in wide or "trusted_node" not in wide:
        raise ValueError("a crossover map needs both repeater and trusted_node rows")
    wide = wide[wide["trusted_node"] > 0].copy()
    wide["log_ratio"] = np.log10(np.maximum(wide["repeater"] / wide["trusted_node"], floor))
    wide["wins"] = (wide["repeater"] >= wide["trusted_node"]) & (wide["repeater"] > 0)
    ratio = wide.groupby([y, x])["log_ratio"].max().unstack(x)
    share = wide.groupby([y, x])["wins"].mean().unstack(x)
    fig, ax = figure(6.5, 4.8)
    limit = max(1.0, float(np.nanmax(np.abs(ratio.to_numpy()))))
    image = ax.pcolormesh(np.arange(ratio.shape[1] + 1), np.arange(ratio.shape[0] + 1), ratio.to_numpy(),
                          cmap="RdBu", vmin=-limit, vmax=limit, shading="flat")
    ax.set_xticks(np.arange(ratio.shape[1]) + 0.5, [f"{v:.3g}" for v in ratio.columns], rotation=45)
    ax.set_yticks(np.arange(ratio.shape[0]) + 0.5, [f"{v:.3g}" for v in ratio.index])
    for (i, j), value in np.ndenumerate(ratio.to_numpy()):
        ax.text(j + 0.5, i + 0.5, f"{value:+.1f}\n{share.to_numpy()[i, j]:.0%}", ha="center", va="center",
                fontsize=6.5, color="white" if abs(value) > 0.6 * limit else "black")
    ax.grid(False)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    fig.colorbar(image, ax=ax, label="best demand: log10(repeater / trusted-node key rate)")
    ax.set_title((f"{title}: " if title else "")
                 + "repeaters vs trusted nodes\n(cell: best demand's log10 ratio; share of demands where repeaters win)")
    return fig
