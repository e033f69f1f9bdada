"""Trust figures from stored tables: what each failure costs, how exposed each key is.

Drawn from the ``n_minus_one_elements``, ``key_holders`` and ``multipath``
tables of a run (:mod:`qnetemu.architectures.trust`); nothing is recomputed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.plots import palette
from qnetemu.plots.style import figure

#: Elements shown in the N-1 figure, worst first.
TOP_ELEMENTS = 20


def n_minus_one_impact(elements: pd.DataFrame, *, title: str = ""):
    """Worst single failures: key lost by all demands together, and demands cut off or below requirement."""
    rows = elements.sort_values(["demands_cut", "key_lost_bps"], ascending=False).head(TOP_ELEMENTS)[::-1]
    fig, ax = figure(6.5, max(2.5, 0.28 * len(rows) + 1.2))
    labels = [f"{'node' if k == 'node' else 'link'}: {e}" for k, e in zip(rows.element_kind, rows.element,
                                                                          strict=True)]
    colours = ["tab:red" if k == "node" else "tab:blue" for k in rows.element_kind]
    y = np.arange(len(rows))
    top = float(rows.key_lost_bps.max()) if len(rows) else 0.0
    scale, unit = next(((f, u) for f, u in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")) if top >= f),
                       (1.0, "bit/s"))  # a unit in the label, not an offset factor on the axis
    lost_scaled = rows.key_lost_bps.to_numpy(dtype=float) / scale
    ax.barh(y, lost_scaled, color=colours, gid="key_lost")
    ax.set_yticks(y, labels, fontsize=7)
    for yi, (lost, cut, below) in enumerate(zip(lost_scaled, rows.demands_cut,
                                                 rows.demands_below_requirement, strict=True)):
        ax.annotate(f" {cut} cut, {below} below req.", (lost, yi), va="center", fontsize=6)
    ax.set_xlim(0.0, top / scale * 1.45 if len(rows) else None)  # room for the notes
    ax.set_xlabel(f"Key rate lost, summed over demands [{unit}]")
    ax.grid(axis="y", visible=False)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color="tab:blue", label="fibre link lost"), Patch(color="tab:red", label="node lost")],
              loc="best")
    ax.set_title((f"{title}: " if title else "") + f"N-1, the {len(rows)} most damaging single failures")
    return fig


def exposure(key_holders: pd.DataFrame, multipath: pd.DataFrame | None, *, title: str = ""):
    """Probability that each demand's key is exposed, against the relay nodes that see it, single vs multipath."""
    fig, ax = figure()
    single = key_holders[key_holders.exposure_probability.notna()]
    # Trusted-node relay in the trusted-node colour; the XOR split hollow in neutral grey, not orange,
    # which every other figure gives the satellites.
    ax.scatter(single.relay_nodes_in_clear, single.exposure_probability, s=16, marker="s",
               color=palette.architecture_colour("trusted_node"), label="single path: every relay holds the key",
               gid="exposure_single")
    if multipath is not None and "exposure_probability" in multipath:
        multi = multipath[multipath.exposure_probability.notna() & (multipath.status == "ok")]
        k = int(multipath.paths_wanted.iloc[0]) if len(multipath) else 2
        ax.scatter(multi.relay_nodes, multi.exposure_probability, s=18, marker="o", facecolors="none",
                   edgecolors="#222222", linewidths=1.0, label=f"XOR over {k} node-disjoint paths: all must fall",
                   gid="exposure_multipath")
    p = float(key_holders.compromise_probability.dropna().iloc[0])
    n = np.arange(1, max(int(single.relay_nodes_in_clear.max()) if len(single) else 1, 2) + 1)
    ax.plot(n, -np.expm1(n * np.log1p(-p)), color="black", lw=1, ls="--", label=f"1 − (1 − p)ⁿ, p = {p:g}")
    ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Relay nodes on the demand's path(s)")
    ax.set_ylabel("Probability the key is exposed")
    ax.set_title((f"{title}: " if title else "") + "key exposure to compromised relays")
    shown = np.concatenate([np.asarray(c.get_offsets())[:, 1] for c in ax.collections if len(c.get_offsets())]
                           or [np.array([p])])
    shown = shown[np.isfinite(shown) & (shown > 0)]
    # From the decade below the lowest point, so the axis has a labelled decade at each end.
    ax.set_ylim(10.0 ** np.floor(np.log10(shown.min())) if shown.size else None, 1.0)
    # Outside the axes: the XOR points sit low and right, under any corner legend (RoNaQCI's did).
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False, fontsize=7)
    return fig

