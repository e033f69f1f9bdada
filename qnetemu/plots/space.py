"""Space-segment figures: pass timelines, ground tracks, key per day per station pair."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.plots.style import figure


def pass_timelines(samples: pd.DataFrame, *, title: str = ""):
    """Elevation, channel loss and key rate against time for every pass of every station."""
    import matplotlib.pyplot as plt

    from qnetemu.plots.style import RC

    with plt.rc_context(RC):
        fig, axes = plt.subplots(3, 1, figsize=(7.0, 7.0), sharex=True, layout="constrained")
    stations = sorted(samples.station.unique())
    colours = dict(zip(stations, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 10, strict=False))
    for (sat, station, k), rows in samples.groupby(["satellite", "station", "pass"]):
        hours = rows.time_s / 3600.0
        label = f"{station} ({sat})" if k == rows["pass"].min() else None
        axes[0].plot(hours, rows.elevation_deg, color=colours[station], lw=1.2, label=label)
        axes[1].plot(hours, rows.loss_db, color=colours[station], lw=1.2)
        positive = rows.key_rate_bps > 0
        axes[2].plot(hours[positive], rows.key_rate_bps[positive], color=colours[station], lw=1.2)
    axes[0].set_ylabel("Elevation [deg]")
    axes[1].set_ylabel("Channel loss [dB]")
    axes[2].set_ylabel("Key rate [bit/s]")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("Time from window start [h]")
    handles, labels = axes[0].get_legend_handles_labels()
    by_label = dict(zip(labels, handles, strict=True))
    axes[0].legend(by_label.values(), by_label.keys(), fontsize=7, ncol=2)
    axes[0].set_title(f"{title}: satellite passes (night only where set)" if title else "Satellite passes")
    return fig


def ground_tracks(tracks: pd.DataFrame, sites: pd.DataFrame, *, title: str = ""):
    """Sub-satellite tracks over one day with the optical ground stations."""
    fig, ax = figure(7.5, 4.2)
    for sat, rows in tracks.groupby("satellite"):
        lon = rows.lon_deg.to_numpy()
        lat = rows.lat_deg.to_numpy()
        # Break the line where it wraps around the antimeridian.
        breaks = np.where(np.abs(np.diff(lon)) > 180)[0] + 1
        for i, (lo, la) in enumerate(zip(np.split(lon, breaks), np.split(lat, breaks), strict=True)):
            ax.plot(lo, la, lw=0.7, alpha=0.8, color="tab:blue", label=f"{sat} ground track" if i == 0 else None)
    ogs = sites[sites.role == "ground_station"]
    ax.scatter(ogs.lon_deg, ogs.lat_deg, marker="^", color="tab:orange", s=40, zorder=3, label="optical ground station")
    for r in ogs.itertuples():
        ax.annotate(r.name, (r.lon_deg, r.lat_deg), xytext=(3, 3), textcoords="offset points", fontsize=7)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xlabel("Longitude [deg]")
    ax.set_ylabel("Latitude [deg]")
    ax.set_title(f"{title}: ground tracks over one day" if title else "Ground tracks over one day")
    ax.legend(loc="lower left", fontsize=7)
    return fig


def station_pair_key(links: pd.DataFrame, *, title: str = ""):
    """Key per day for every pair of ground stations, per service.

    Trusted satellite: the pair shares min(key_A, key_B) per day (store and
    forward through the satellite), if it were the only pair served.
    Entanglement downlink: the BBM92 key of the pair directly.
    """
    trusted = links[links.service == "trusted_satellite"]
    stations = sorted(set(trusted.b) | set(links[links.service == "entanglement_downlink"][["a", "b"]].values.ravel()))
    n = len(stations)
    index = {s: i for i, s in enumerate(stations)}
    matrix = np.full((n, n), np.nan)
    for _sat, rows in trusted.groupby("satellite"):
        per = dict(zip(rows.b, rows.key_bits_per_day, strict=True))
        for a in per:
            for b in per:
                if a != b:
                    value = min(per[a], per[b])
                    i, j = index[a], index[b]
                    matrix[i, j] = np.nanmax([matrix[i, j], value])
    ent = links[links.service == "entanglement_downlink"]
    for r in ent.itertuples():
        i, j = index[r.a], index[r.b]
        matrix[j, i] = np.nanmax([matrix[j, i], r.key_bits_per_day])  # lower triangle: entanglement
    fig, ax = figure(max(4.5, 0.45 * n + 2.5), max(3.5, 0.4 * n + 1.5))
    with np.errstate(divide="ignore"):
        shown = np.where(matrix > 0, np.log10(matrix), np.nan)
    image = ax.imshow(shown, cmap="viridis")
    ax.set_xticks(range(n), stations, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), stations, fontsize=7)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="log10(key per day [bit])", shrink=0.8)
    note = "upper: trusted satellite" + (", lower: entanglement downlink" if len(ent) else "")
    ax.set_title((f"{title}: " if title else "") + f"key per day per station pair\n({note})")
    return fig
