"""Space-segment figures: pass timelines, ground tracks, key per day per station pair."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.plots import palette
from qnetemu.plots.style import figure, log_scale

SAT_STYLES = ("-", "--", ":", "-.")


def pass_timelines(samples: pd.DataFrame, *, title: str = ""):
    """Every pass of every station, zoomed to the passes.

    Top: when the passes happen over the window (one row per station, a bar
    per pass). Below: elevation, channel loss and key rate against minutes
    since the pass began, all passes overlaid, colour per station and line
    style per satellite; key rates of zero are left out of the log axis.
    """
    import matplotlib.pyplot as plt

    from qnetemu.plots.style import RC

    stations = sorted(samples.station.unique())
    sats = sorted(samples.satellite.unique())
    cmap = plt.get_cmap("tab20" if len(stations) > 10 else "tab10")
    colours = {s: cmap(i % cmap.N) for i, s in enumerate(stations)}
    styles = {s: SAT_STYLES[i % len(SAT_STYLES)] for i, s in enumerate(sats)}
    with plt.rc_context(RC):
        fig = plt.figure(figsize=(8.0, 8.0 + 0.12 * len(stations)), layout="constrained")
        grid = fig.add_gridspec(4, 1, height_ratios=(0.6 + 0.08 * len(stations), 1, 1, 1))
        when = fig.add_subplot(grid[0])
        axes = [fig.add_subplot(grid[1])]
        axes += [fig.add_subplot(grid[k], sharex=axes[0]) for k in (2, 3)]
    for (sat, station, _k), rows in samples.groupby(["satellite", "station", "pass"]):
        t = rows.time_s.to_numpy(dtype=float)
        minutes = (t - t.min()) / 60.0
        c, ls = colours[station], styles[sat]
        when.broken_barh([(t.min() / 3600.0, max((t.max() - t.min()) / 3600.0, 0.05))],
                         (stations.index(station) - 0.35, 0.7), color=c, gid="pass_bar")
        axes[0].plot(minutes, rows.elevation_deg, color=c, ls=ls, lw=1.1)
        axes[1].plot(minutes, rows.loss_db, color=c, ls=ls, lw=1.1)
        key = rows.key_rate_bps.to_numpy(dtype=float)
        axes[2].plot(minutes, np.where(key > 0, key, np.nan), color=c, ls=ls, lw=1.1)
    when.set_yticks(range(len(stations)), stations, fontsize=6 if len(stations) > 8 else 7)
    when.set_ylim(len(stations) - 0.5, -0.5)
    when.set_xlabel("Time from window start [h]")
    end_h = float(samples.time_s.max()) / 3600.0
    when.set_xlim(0, max(24.0, np.ceil(end_h)) if end_h > 12 else np.ceil(end_h + 0.5))
    when.set_title((f"{title}: " if title else "") + "satellite passes (bars: when; below: each pass from its start)")
    axes[0].set_ylabel("Elevation [deg]")
    axes[1].set_ylabel("Channel loss [dB]")
    axes[2].set_ylabel("Key rate [bit/s]")
    log_scale(axes[2])
    axes[2].set_xlabel("Minutes since the pass began")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colours[s], lw=2, label=s) for s in stations]
    if len(sats) > 1:
        handles += [Line2D([], [], color="0.3", ls=styles[s], label=f"satellite {s}") for s in sats]
    fig.legend(handles=handles, loc="outside right center", fontsize=7, frameon=False)
    return fig


def ground_tracks(tracks: pd.DataFrame, sites: pd.DataFrame, *, title: str = ""):
    """Sub-satellite tracks over one day with the optical ground stations, over coastlines."""
    from qnetemu.plots.coastlines import draw_basemap

    fig, ax = figure(8.0, 4.6)
    draw_basemap(ax, (-180.0, 180.0, -90.0, 90.0), resolution="c")
    colours = palette.satellite_colours(tracks.satellite)
    for sat, rows in tracks.groupby("satellite"):
        lon = rows.lon_deg.to_numpy()
        lat = rows.lat_deg.to_numpy()
        # Break the line where it wraps around the antimeridian.
        breaks = np.where(np.abs(np.diff(lon)) > 180)[0] + 1
        for i, (lo, la) in enumerate(zip(np.split(lon, breaks), np.split(lat, breaks), strict=True)):
            ax.plot(lo, la, lw=0.8, alpha=0.9, color=colours[sat], gid=f"track_{sat}",
                    label=f"{sat} ground track" if i == 0 else None)
    ogs = sites[sites.role == "ground_station"]
    ax.scatter(ogs.lon_deg, ogs.lat_deg, marker="^", color=palette.ROLE_COLOURS["ground_station"], s=36, zorder=3,
               edgecolors="black", linewidths=0.4, label="optical ground station", gid="stations")
    if len(ogs) <= 8:
        for r in ogs.itertuples():
            ax.annotate(r.name, (r.lon_deg, r.lat_deg), xytext=(3, 3), textcoords="offset points", fontsize=7)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-90, 91, 30))
    ax.set_aspect("equal")
    ax.grid(alpha=0.2)
    ax.set_xlabel("Longitude [deg]")
    ax.set_ylabel("Latitude [deg]")
    ax.set_title(f"{title}: ground tracks over one day" if title else "Ground tracks over one day")
    fig.legend(loc="outside lower center", ncol=4, fontsize=7, frameon=False)
    return fig


def station_pair_matrices(links: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Key per day per station pair: (stations, trusted-satellite matrix, entanglement-downlink matrix) [bit].

    Trusted satellite: the pair shares min(key_A, key_B) per day through one
    satellite (store and forward), if it were the only pair served; the
    best satellite counts. Entanglement downlink: the BBM92 key of the pair
    directly (0 where the two never see the satellite at the same time).
    Both matrices are symmetric; NaN where the service does not exist.
    """
    trusted = links[links.service == "trusted_satellite"]
    ent = links[links.service == "entanglement_downlink"]
    stations = sorted(set(trusted.b) | set(ent.a) | set(ent.b))
    index = {s: i for i, s in enumerate(stations)}
    n = len(stations)
    relay = np.full((n, n), np.nan)
    for _sat, rows in trusted.groupby("satellite"):
        per = dict(zip(rows.b, rows.key_bits_per_day, strict=True))
        for a in per:
            for b in per:
                if a != b:
                    i, j = index[a], index[b]
                    relay[i, j] = np.fmax(relay[i, j], min(per[a], per[b]))
    direct = np.full((n, n), np.nan)
    for r in ent.itertuples():
        i, j = index[r.a], index[r.b]
        direct[i, j] = direct[j, i] = np.fmax(direct[i, j], r.key_bits_per_day)
    return stations, relay, direct


def station_pair_key(links: pd.DataFrame, *, title: str = ""):
    """Key per day for every pair of ground stations: trusted satellite and entanglement downlink side by side.

    Zero (no common window, or no key) is drawn in its own colour, not as a
    low value; pairs without the service are left blank.
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    from qnetemu.plots.style import RC

    stations, relay, direct = station_pair_matrices(links)
    panels = [("trusted satellite (relay)", relay)]
    if np.isfinite(direct).any():
        panels.append(("entanglement downlink (BBM92)", direct))
    n = len(stations)
    side = max(3.0, 0.26 * n + 1.6)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, len(panels), figsize=((side + 2.4) * len(panels), side + 1.4), layout="constrained",
                                 squeeze=False)
    cmap = mpl.colormaps["viridis"].with_extremes(bad=palette.MISSING_COLOUR)
    for ax, (label, matrix) in zip(axes[0], panels, strict=True):
        positive = matrix[np.isfinite(matrix) & (matrix > 0)]
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.where(matrix > 0, np.log10(matrix), np.nan)
        if positive.size:
            lo, hi = np.log10(positive.min()), np.log10(positive.max())
            if hi - lo < 1:
                lo, hi = lo - 0.5, hi + 0.5
            image = ax.imshow(shown, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest", gid="key")
            fig.colorbar(image, ax=ax, label="log10(key per day [bit])", shrink=0.7)
        else:
            ax.imshow(np.zeros_like(shown), cmap=mpl.colors.ListedColormap([palette.MISSING_COLOUR]), interpolation="nearest", gid="key")
        zero = np.argwhere(matrix == 0)
        ax.imshow(np.where(matrix == 0, 1.0, np.nan), cmap=mpl.colors.ListedColormap([palette.NO_KEY_COLOUR]),
                  vmin=0, vmax=1, interpolation="nearest", gid="zero")
        ax.set_xticks(range(n), stations, rotation=60, ha="right", fontsize=7 if n <= 12 else 6)
        ax.set_yticks(range(n), stations, fontsize=7 if n <= 12 else 6)
        ax.grid(False)
        ax.set_title(f"{label}\n{int(np.isfinite(positive).sum() // 2)} pairs with key, "
                     f"{len(zero) // 2} with none", fontsize=8)
    from matplotlib.lines import Line2D

    fig.legend(handles=[Line2D([], [], marker="s", ls="", color=palette.NO_KEY_COLOUR, label="0 bit/day (no common window or no key)"),
                        Line2D([], [], marker="s", ls="", color=palette.MISSING_COLOUR, label="no such service (diagonal: same station)")],
               loc="outside lower center", ncol=2, fontsize=7, frameon=False)
    fig.suptitle((f"{title}: " if title else "") + "key per day per ground-station pair")
    return fig
