"""Map of a network: coastlines and borders, sites at their coordinates, links coloured by key rate.

Satellite services are drawn as what they are: each satellite is a glyph
above the map with a line to every ground station it serves (a trusted node
in orbit), and entanglement downlinks that give key are arcs between the two
stations (no trusted node).
"""

from __future__ import annotations

import textwrap

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import ConnectionPatch

from qnetemu.plots import palette
from qnetemu.plots.coastlines import draw_basemap
from qnetemu.plots.style import decade_label, figure, sci_label


def map_box(sites: pd.DataFrame) -> tuple[float, float, float, float]:
    """The bulk of the network (2nd–98th percentile of coordinates, padded): far-away sites are listed, not squeezed in."""
    lon, lat = sites.lon_deg.to_numpy(dtype=float), sites.lat_deg.to_numpy(dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return (-10.0, 40.0, 35.0, 70.0)
    lo_lon, hi_lon = np.percentile(lon[ok], [2, 98])
    lo_lat, hi_lat = np.percentile(lat[ok], [2, 98])
    pad_lon, pad_lat = 0.08 * (hi_lon - lo_lon) + 0.5, 0.08 * (hi_lat - lo_lat) + 0.5
    return (lo_lon - pad_lon, hi_lon + pad_lon, lo_lat - pad_lat, hi_lat + pad_lat)


def rate_norm(rates: np.ndarray) -> mpl.colors.LogNorm | None:
    """Log colour scale over the positive rates; a single value sits mid-scale (one decade each side)."""
    positive = rates[np.isfinite(rates) & (rates > 0)]
    if not positive.size:
        return None
    lo, hi = float(positive.min()), float(positive.max())
    if hi / lo < 10.0:
        mid = np.sqrt(lo * hi)
        lo, hi = mid / 10.0, mid * 10.0
    return mpl.colors.LogNorm(vmin=lo, vmax=hi)


def _inside(box, frame) -> bool:
    return box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1


def _place_labels(ax, points: list[tuple[str, float, float]], fontsize: float) -> list:
    """Greedy label placement: the first of eight offsets whose box stays on the map and overlaps no label
    placed so far; where none does, the first that stays on the map (a label past the frame is cut off or
    runs into the colour bar), else the first."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    offsets = [(3, 3), (3, -9), (-3, 3), (-3, -9), (6, -3), (-6, -3), (0, 8), (0, -12)]
    placed, texts = [], []
    for name, x, y in points:
        best = None
        fallback = None
        for dx, dy in offsets:
            text = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                               ha="left" if dx >= 0 else "right", zorder=5, in_layout=False)
            tight = text.get_window_extent(renderer)
            box = tight.expanded(1.2, 1.3)  # margin: the layout rescales a little
            on_map = _inside(tight, frame)
            if on_map and not any(box.overlaps(other) for other in placed):
                best = (text, box)
                break
            if on_map and fallback is None:
                fallback = (dx, dy)
            text.remove()
        if best is None:  # crowded everywhere: the first position on the map, else the first
            dx, dy = fallback or offsets[0]
            text = ax.annotate(name, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                               ha="left" if dx >= 0 else "right", zorder=5, in_layout=False)
            best = (text, text.get_window_extent(renderer))
        placed.append(best[1])
        texts.append(best[0])
    return texts


def network_map(sites: pd.DataFrame, links: pd.DataFrame, *, title: str = "", satellite_links: pd.DataFrame | None = None):
    """Equirectangular map, x scaled by cos(mean latitude) so distances look right locally.

    The link collection (gid ``fibre_links``) holds one segment per drawn
    fibre QKD link, in the order of ``links``; links without key are dotted.
    """
    fig, ax = figure(8.0, 6.0)
    pos = {r.name: (r.lon_deg, r.lat_deg) for r in sites.itertuples() if pd.notna(r.lat_deg) and pd.notna(r.lon_deg)}
    box = map_box(sites)
    draw_basemap(ax, box, resolution="i" if (box[1] - box[0]) < 25 else "l")
    fibre = links[links["segment"] == "fibre"] if "segment" in links else links
    if "bypassed" in fibre:  # optical-bypass links overlay the physical spans they pass through
        fibre = fibre[fibre["bypassed"].fillna(0) == 0]
    fibre = fibre[fibre.a.isin(pos) & fibre.b.isin(pos)]
    # A cable with bends (merged sea-cable waypoints) is drawn along them, not straight across land.
    bends = fibre["waypoints"] if "waypoints" in fibre else pd.Series([None] * len(fibre), index=fibre.index)
    segs = [[pos[a], *((float(p[1]), float(p[0])) for p in (w if w is not None else ())), pos[b]]
            for a, b, w in zip(fibre.a, fibre.b, bends, strict=True)]
    rates = fibre["key_rate_bps"].to_numpy(dtype=float)
    norm = rate_norm(rates)
    cmap = mpl.colormaps["viridis"]
    keyed = np.isfinite(rates) & (rates > 0)
    if segs:
        colours = np.tile(mpl.colors.to_rgba(palette.NO_KEY_COLOUR), (len(segs), 1))
        if norm is not None:
            colours[keyed] = cmap(norm(rates[keyed]))
        ax.add_collection(LineCollection(segs, colors=colours, linewidths=1.6,
                                         linestyles=["solid" if k else "dotted" for k in keyed], zorder=1,
                                         gid="fibre_links"))
    if norm is not None:
        bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="Link secret-key rate [bit/s]",
                           shrink=0.8)
        bar.minorticks_off()
        if np.log10(norm.vmax / norm.vmin) < 2.5:  # a decade or two: one labelled tick would not tell a rate
            bar.ax.yaxis.set_major_locator(mpl.ticker.LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
            bar.ax.yaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda value, _pos: sci_label(value)))
        else:
            bar.ax.yaxis.set_major_formatter(mpl.ticker.FuncFormatter(decade_label))
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])

    dense = len(sites) > 150  # continental networks: smaller markers, fewer labels
    inserted = sites["inserted"].astype(bool) if "inserted" in sites else pd.Series(False, index=sites.index)
    sizes = {"endpoint": 30, "trusted_node": 5 if dense else 18, "ground_station": 44}
    markers = {"endpoint": "o", "trusted_node": "s", "ground_station": "^"}
    barred = ~sites["can_relay"].fillna(True).astype(bool) if "can_relay" in sites else pd.Series(False, index=sites.index)
    barred_sites = sites[(sites["role"] == "trusted_node") & ~inserted & barred]
    for role in ("trusted_node", "endpoint", "ground_station"):
        sel = sites[(sites["role"] == role) & ~inserted & ~(barred & (sites["role"] == "trusted_node"))]
        ax.scatter(sel.lon_deg, sel.lat_deg, marker=markers[role], c=palette.ROLE_COLOURS[role], s=sizes[role],
                   zorder=3, edgecolors="white", linewidths=0.5, gid=f"sites_{role}")
    # Points of presence the trust policy bars from relaying key (e.g. outside the EU).
    ax.scatter(barred_sites.lon_deg, barred_sites.lat_deg, marker="s", c="0.55", s=sizes["trusted_node"],
               zorder=3, edgecolors="white", linewidths=0.5, gid="sites_barred")
    ins = sites[inserted]
    if not dense:  # on a continental map they would hide the links they sit on
        ax.scatter(ins.lon_deg, ins.lat_deg, marker="s", facecolors="none", edgecolors=palette.ROLE_COLOURS["trusted_node"],
                   s=14, linewidths=0.5, zorder=3, gid="sites_inserted")

    sat_sites = sites[sites["role"] == "satellite"]
    sat_colours = palette.satellite_colours(sat_sites.name)
    in_box = {n for n, (x, y) in pos.items() if box[0] <= x <= box[1] and box[2] <= y <= box[3]}
    served = 0
    sat = links[links["segment"] == "satellite"] if "segment" in links else links.iloc[:0]
    for k, sat_name in enumerate(sorted(sat_colours)):
        # The satellite sits above the map (it has no fixed position); a line to each station it serves.
        anchor = ((k + 1) / (len(sat_colours) + 1), 1.0)
        ax.plot(*anchor, marker=(4, 1, 45), ms=12, color=sat_colours[sat_name], transform=ax.transAxes,
                clip_on=False, zorder=6, gid=f"satellite_{sat_name}")
        ax.annotate(sat_name.removeprefix("SAT "), anchor, xycoords="axes fraction", xytext=(0, 8),
                    textcoords="offset points", ha="center", fontsize=7, color="0.2")
        rows = sat[((sat.a == sat_name) | (sat.b == sat_name))]
        for r in rows.itertuples():
            station = r.b if r.a == sat_name else r.a
            if station not in in_box:
                continue
            ax.add_artist(ConnectionPatch(anchor, pos[station], coordsA=ax.transAxes, coordsB=ax.transData,
                                          color=sat_colours[sat_name], lw=0.6, ls=(0, (1, 2)), alpha=0.8,
                                          zorder=2, gid="satellite_uplink"))
            served += 1
    arcs = 0
    if satellite_links is not None and len(satellite_links):
        ent = satellite_links[(satellite_links.service == "entanglement_downlink")
                              & (satellite_links.key_bits_per_day > 0)]
        for r in ent.itertuples() if not dense else ():  # a continental map would drown in arcs
            if r.a in in_box and r.b in in_box:
                ax.add_artist(ConnectionPatch(pos[r.a], pos[r.b], coordsA=ax.transData, coordsB=ax.transData,
                                              connectionstyle="arc3,rad=0.25", color=palette.ARCHITECTURE_COLOURS["satellite"],
                                              lw=0.9, ls="--", zorder=2, gid="entanglement_arc"))
                arcs += 1

    labelled = sites[sites["role"].isin(["endpoint", "ground_station"] if not dense else ["endpoint"]) & ~inserted]
    labelled = labelled[labelled.name.isin(in_box)]
    outside = sites[sites.name.isin(set(pos) - in_box) & sites["role"].isin(["endpoint", "ground_station"])]
    if len(outside):
        note = textwrap.fill("Outside the map: " + ", ".join(outside.name), 100)
        ax.text(0.01, 0.01, note, transform=ax.transAxes, fontsize=6, va="bottom", zorder=7,
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    lat0 = 0.5 * (box[2] + box[3])
    stretch = 1.0 / max(np.cos(np.radians(lat0)), 0.2)
    ax.set_aspect(stretch)
    ratio = (box[1] - box[0]) / ((box[3] - box[2]) * stretch)
    fig.set_size_inches(8.0, float(np.clip(8.0 / ratio * 0.85, 3.5, 9.0)))
    ax.set_xlabel("Longitude [deg]")
    ax.set_ylabel("Latitude [deg]")
    ax.grid(False)
    ax.set_title((f"{title}: " if title else "") + "network and link key rates", pad=22 if sat_colours else 6)
    handles = [
        Line2D([], [], marker="o", ls="", color=palette.ROLE_COLOURS["endpoint"], label="endpoint"),
        Line2D([], [], marker="s", ls="", color=palette.ROLE_COLOURS["trusted_node"], label="trusted node (site)"),
    ]
    if len(barred_sites):
        handles.append(Line2D([], [], marker="s", ls="", color="0.55", label="site barred from relaying (trust policy)"))
    if len(ins):
        handles.append(Line2D([], [], marker="s", ls="", mfc="none", mec=palette.ROLE_COLOURS["trusted_node"],
                              label="trusted node (inserted)" if not dense else f"{len(ins)} trusted nodes inserted on long spans (not drawn)"))
    if (~keyed).any():
        handles.append(Line2D([], [], ls=":", color=palette.NO_KEY_COLOUR, label="fibre link without key"))
    if (sites["role"] == "ground_station").any():
        handles.append(Line2D([], [], marker="^", ls="", color=palette.ROLE_COLOURS["ground_station"],
                              label="optical ground station"))
    if served:
        handles.append(Line2D([], [], ls=(0, (1, 2)), color="0.4", label="station served by a satellite (trusted, in orbit)"))
    if arcs:
        handles.append(Line2D([], [], ls="--", color=palette.ARCHITECTURE_COLOURS["satellite"],
                              label="entanglement downlink with key"))
    # Two columns when entries are long or many: three overflowed the figure at continental scale.
    ncol = 3 if len(handles) <= 3 or max(len(h.get_label()) for h in handles) < 28 else 2
    fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False, fontsize=7)
    ax.apply_aspect()  # labels are placed on the map's final shape (constrained layout only rescales it)
    _place_labels(ax, [(r.name, r.lon_deg, r.lat_deg) for r in labelled.itertuples()], 6 if dense else 7)
    return fig
