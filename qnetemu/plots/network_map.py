"""Map of a network: sites at their coordinates, links coloured by key rate."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from qnetemu.plots.style import figure


def network_map(sites: pd.DataFrame, links: pd.DataFrame, *, title: str = ""):
    """Equirectangular map, x scaled by cos(mean latitude) so distances look right locally."""
    fig, ax = figure(7.0, 5.5)
    pos = {r.name: (r.lon_deg, r.lat_deg) for r in sites.itertuples() if pd.notna(r.lat_deg)}
    fibre = links[links["segment"] == "fibre"] if "segment" in links else links
    segs, rates = [], []
    for r in fibre.itertuples():
        if r.a in pos and r.b in pos:
            segs.append([pos[r.a], pos[r.b]])
            rates.append(r.key_rate_bps)
    rates = np.asarray(rates, dtype=float)
    positive = rates[rates > 0]
    norm = mpl.colors.LogNorm(vmin=max(positive.min(), 1e-3), vmax=positive.max()) if positive.size else None
    cmap = mpl.colormaps["viridis"]
    if segs:
        colours = [cmap(norm(r)) if (norm is not None and r > 0) else (0.75, 0.1, 0.1, 1.0) for r in rates]
        styles = ["solid" if r > 0 else "dotted" for r in rates]
        ax.add_collection(LineCollection(segs, colors=colours, linewidths=1.8, linestyles=styles, zorder=1))
    if norm is not None:
        fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="Link secret-key rate [bit/s]",
                     shrink=0.8)
    sat = links[links["segment"] == "satellite"] if "segment" in links else links.iloc[:0]
    for r in sat.itertuples():
        if r.a in pos and r.b in pos:
            (x1, y1), (x2, y2) = pos[r.a], pos[r.b]
            ax.plot([x1, x2], [y1, y2], ls=(0, (2, 2)), color="tab:orange", lw=1.0, zorder=1)
    marker = {"endpoint": ("o", "black", 36), "trusted_node": ("s", "tab:red", 18),
              "ground_station": ("^", "tab:orange", 40)}
    inserted = sites["inserted"].astype(bool) if "inserted" in sites else pd.Series(False, index=sites.index)
    for role, (m, c, s) in marker.items():
        sel = sites[(sites["role"] == role) & ~inserted]
        ax.scatter(sel.lon_deg, sel.lat_deg, marker=m, c=c, s=s, zorder=3, edgecolors="white", linewidths=0.5)
    ins = sites[inserted]
    ax.scatter(ins.lon_deg, ins.lat_deg, marker="s", facecolors="none", edgecolors="tab:red", s=14, zorder=3)
    for r in sites[(sites["role"] != "trusted_node") & ~inserted].itertuples():
        ax.annotate(r.name, (r.lon_deg, r.lat_deg), xytext=(3, 3), textcoords="offset points", fontsize=7)
    lat0 = float(np.nanmean(sites.lat_deg)) if len(sites) else 0.0
    ax.set_aspect(1.0 / max(np.cos(np.radians(lat0)), 0.2))
    ax.autoscale_view()
    ax.set_xlabel("Longitude [deg]")
    ax.set_ylabel("Latitude [deg]")
    ax.set_title(f"{title}: network and link key rates" if title else "Network and link key rates")
    handles = [
        Line2D([], [], marker="o", ls="", color="black", label="endpoint"),
        Line2D([], [], marker="s", ls="", color="tab:red", label="trusted node (site)"),
        Line2D([], [], marker="s", ls="", mfc="none", mec="tab:red", label="trusted node (inserted)"),
        Line2D([], [], ls=":", color=(0.75, 0.1, 0.1), label="link without key"),
    ]
    if (sites["role"] == "ground_station").any():
        handles.append(Line2D([], [], marker="^", ls="", color="tab:orange", label="optical ground station"))
    if len(sat):
        handles.append(Line2D([], [], ls="--", color="tab:orange", label="satellite link"))
    ax.legend(handles=handles, loc="best", framealpha=0.9)
    return fig
