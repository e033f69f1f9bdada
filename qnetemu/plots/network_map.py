"""Map of a network: sites at their coordinates, links coloured by key rate."""

from __future__ import annotations

import textwrap

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
    if "bypassed" in fibre:  # optical-bypass links overlay the physical spans they pass through
        fibre = fibre[fibre["bypassed"].fillna(0) == 0]
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
    dense = len(sites) > 150  # continental networks: smaller markers, fewer labels
    marker = {"endpoint": ("o", "black", 36), "trusted_node": ("s", "tab:red", 5 if dense else 18),
              "ground_station": ("^", "tab:orange", 40)}
    inserted = sites["inserted"].astype(bool) if "inserted" in sites else pd.Series(False, index=sites.index)
    for role, (m, c, s) in marker.items():
        sel = sites[(sites["role"] == role) & ~inserted]
        ax.scatter(sel.lon_deg, sel.lat_deg, marker=m, c=c, s=s, zorder=3, edgecolors="white", linewidths=0.5)
    ins = sites[inserted]
    if not dense:  # on a continental map they would hide the links they sit on
        ax.scatter(ins.lon_deg, ins.lat_deg, marker="s", facecolors="none", edgecolors="tab:red", s=14,
                   linewidths=0.5, zorder=3)
    labelled = sites[(sites["role"] == "endpoint") & ~inserted] if dense else sites[(sites["role"] != "trusted_node") & ~inserted]
    for r in labelled.itertuples():
        ax.annotate(r.name, (r.lon_deg, r.lat_deg), xytext=(3, 3), textcoords="offset points", fontsize=6 if dense else 7)
    # Frame the bulk of the network; far-away sites (overseas territories) are listed, not squeezed in.
    lon, lat = sites.lon_deg.to_numpy(dtype=float), sites.lat_deg.to_numpy(dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    lo_lon, hi_lon = np.percentile(lon[ok], [2, 98]) if ok.any() else (-10, 40)
    lo_lat, hi_lat = np.percentile(lat[ok], [2, 98]) if ok.any() else (35, 70)
    pad_lon, pad_lat = 0.08 * (hi_lon - lo_lon) + 0.5, 0.08 * (hi_lat - lo_lat) + 0.5
    box = (lo_lon - pad_lon, hi_lon + pad_lon, lo_lat - pad_lat, hi_lat + pad_lat)
    outside = sites[ok & ((lon < box[0]) | (lon > box[1]) | (lat < box[2]) | (lat > box[3]))
                    & (sites["role"] != "trusted_node")]
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    if len(outside):
        note = textwrap.fill("Outside the map: " + ", ".join(outside.name), 90)
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=6, va="bottom",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    lat0 = float(np.nanmean(lat[ok])) if ok.any() else 0.0
    stretch = 1.0 / max(np.cos(np.radians(lat0)), 0.2)
    ax.set_aspect(stretch)
    # Size the figure to the map so the axes, not white space, fill it.
    ratio = (box[1] - box[0]) / ((box[3] - box[2]) * stretch)
    fig.set_size_inches(8.0, float(np.clip(8.0 / ratio * 0.85, 3.5, 9.0)))
    ax.set_xlabel("Longitude [deg]")
    ax.set_ylabel("Latitude [deg]")
    ax.set_title(f"{title}: network and link key rates" if title else "Network and link key rates")
    handles = [
        Line2D([], [], marker="o", ls="", color="black", label="endpoint"),
        Line2D([], [], marker="s", ls="", color="tab:red", label="trusted node (site)"),
        Line2D([], [], marker="s", ls="", mfc="none", mec="tab:red",
               label="trusted node (inserted)" if not dense else "trusted nodes inserted on long spans: not drawn"),
        Line2D([], [], ls=":", color=(0.75, 0.1, 0.1), label="link without key"),
    ]
    if (sites["role"] == "ground_station").any():
        handles.append(Line2D([], [], marker="^", ls="", color="tab:orange", label="optical ground station"))
    if len(sat):
        handles.append(Line2D([], [], ls="--", color="tab:orange", label="satellite link"))
    ax.legend(handles=handles, loc="upper left", framealpha=0.9, fontsize=7)
    return fig
