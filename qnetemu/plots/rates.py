"""Key rate against distance, with the PLOB repeaterless bound; trusted-node counts.

Zero is not a point on a log axis: demands and links without key are not
drawn at an invented floor but as ticks on the distance axis (a rug, gid
``no_key_<architecture>``) and counted in the legend.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.physics.bounds import plob_bound
from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.plots import palette
from qnetemu.plots.style import figure, log_scale, sci_label

#: Above this many demands a bar per demand does not fit: a histogram and the top demands instead.
MAX_BARS = 40
TOP_N = 15
NO_KEY_NOTE = "  (ticks on the axis: demands without key)"


def fibre_attenuation_db_per_km(links: pd.DataFrame | None) -> float | None:
    if links is None or not len(links):
        return None
    fibre = links[links["segment"] == "fibre"] if "segment" in links else links
    if "attenuation_db_per_km" in fibre and fibre["attenuation_db_per_km"].notna().any():
        return float(fibre["attenuation_db_per_km"].median())
    if len(fibre):
        return float((fibre["loss_db"] / fibre["length_km"]).median())
    return None


def plob_curve(ax, *, channel_uses_hz: float, attenuation_db_per_km: float, max_km: float, what: str,
               color: str = "black") -> tuple[np.ndarray, np.ndarray]:
    """PLOB bound × channel uses per second for pure-loss fibre (Pirandola et al., Nat. Commun. 8, 15043 (2017)).

    Returns the plotted (length_km, rate_bps) so a caller or a test can check them.
    """
    length = np.linspace(1.0, max(max_km, 10.0) * 1.05, 300)
    rate = plob_bound(fibre_transmittance(length, attenuation_db_per_km)) * channel_uses_hz
    ax.plot(length, rate, color=color, lw=1.1, ls="--", gid="plob",
            label=f"PLOB bound at {sci_label(channel_uses_hz)} {what}/s, {attenuation_db_per_km:.3g} dB/km")
    return length, rate


def _keep_data_in_view(ax, values: np.ndarray) -> None:
    """The bound falls by orders of magnitude per 100 km: frame the data, not the bound."""
    values = values[np.isfinite(values) & (values > 0)]
    if values.size:
        ax.set_ylim(values.min() / 30.0, values.max() * 30.0)


def _rug(ax, x: np.ndarray, colour: str, gid: str) -> bool:
    """Ticks on the x axis for items without a value on the (log) y axis; True if any was drawn."""
    x = x[np.isfinite(x)]
    if x.size:
        ax.plot(x, np.full(x.size, 0.015), ls="", marker="|", ms=8, mew=1.0, color=colour,
                transform=ax.get_xaxis_transform(), clip_on=False, gid=gid)
    return bool(x.size)


def link_rate_vs_distance(links: pd.DataFrame, *, title: str = ""):
    fig, ax = figure()
    log_scale(ax)
    fibre = links[links["segment"] == "fibre"]
    ok = fibre[fibre["key_rate_bps"] > 0]
    colour = palette.architecture_colour("trusted_node")
    ax.scatter(ok.length_km, ok.key_rate_bps, s=12, color=colour, label=f"fibre QKD links with key ({len(ok)})",
               zorder=3, gid="links_with_key")
    dead = fibre[~(fibre["key_rate_bps"] > 0)]
    _rug(ax, dead.length_km.to_numpy(dtype=float), palette.NO_KEY_COLOUR, "no_key_links")
    if len(dead):
        ax.plot([], [], ls="", marker="|", color=palette.NO_KEY_COLOUR,
                label=f"links without key ({len(dead)}; ticks at their length)")
    att = fibre_attenuation_db_per_km(links)
    bound = np.array([])
    if att is not None and "repetition_rate_hz" in fibre and fibre["repetition_rate_hz"].notna().any():
        length, rate = plob_curve(ax, channel_uses_hz=float(fibre["repetition_rate_hz"].median()),
                                  attenuation_db_per_km=att, max_km=float(fibre.length_km.max()), what="pulses")
        # One link's length range spans a few decades of the bound: keep it in view above the data.
        bound = rate[length >= float(ok.length_km.min())] if len(ok) else rate
    _keep_data_in_view(ax, np.concatenate([ok.key_rate_bps.to_numpy(dtype=float), bound[:1]]))
    ax.set_xlabel("Fibre length [km]")
    ax.set_ylabel("Secret-key rate [bit/s]")
    ax.set_title(f"{title}: link key rate vs length" if title else "Link key rate vs length")
    ax.legend(fontsize=7)
    return fig


def demand_rate_vs_distance(demands: pd.DataFrame, links: pd.DataFrame | None, *, title: str = ""):
    """End-to-end key rate of each demand against its route length, one colour per architecture."""
    fig, ax = figure()
    log_scale(ax)
    order = [a for a in palette.ARCHITECTURE_COLOURS if a in set(demands.architecture)]
    rug = False
    for arch in order:
        rows = demands[demands.architecture == arch]
        ok = rows[rows["key_rate_bps"] > 0]
        label = palette.architecture_label(arch) + (" (x: fibre part of the route)" if arch == "satellite" else "")
        ax.scatter(ok.distance_km, ok.key_rate_bps, s=14, color=palette.architecture_colour(arch),
                   marker=palette.ARCHITECTURE_MARKERS[arch], alpha=0.8, zorder=3, gid=f"key_{arch}",
                   label=f"{label}: {len(ok)} of {len(rows)} with key")
        rug |= _rug(ax, rows.loc[~(rows["key_rate_bps"] > 0), "distance_km"].to_numpy(dtype=float),
                    palette.architecture_colour(arch), f"no_key_{arch}")
    att = fibre_attenuation_db_per_km(links)
    dist = demands["distance_km"].dropna()
    if att is not None and links is not None and links["repetition_rate_hz"].notna().any():
        fibre = links[links["segment"] == "fibre"]
        plob_curve(ax, channel_uses_hz=float(fibre["repetition_rate_hz"].median()), attenuation_db_per_km=att,
                   max_km=float(dist.max()) if len(dist) else 100.0, what="QKD pulses")
    _keep_data_in_view(ax, demands["key_rate_bps"].to_numpy(dtype=float))
    ax.set_xlabel("Route distance [km]" + (NO_KEY_NOTE if rug else ""))
    ax.set_ylabel("End-to-end secret-key rate [bit/s]")
    ax.set_title(f"{title}: demand key rate vs distance" if title else "Demand key rate vs distance")
    ax.legend(fontsize=7)
    return fig


def trusted_nodes_per_demand(demands: pd.DataFrame, *, title: str = ""):
    """Trusted nodes each demand's key crosses: a bar per demand when they fit, else a histogram and the top demands."""
    rows = demands[(demands["architecture"] == "trusted_node") & (demands["status"] == "ok")]
    no_route = int(((demands["architecture"] == "trusted_node") & (demands["status"] != "ok")).sum())
    rows = rows.sort_values(["trusted_nodes", "distance_km"])
    colour = palette.architecture_colour("trusted_node")
    suffix = f" ({no_route} demands without a fibre route not shown)" if no_route else ""
    if len(rows) <= MAX_BARS:
        fig, ax = figure(6.5, max(2.5, 0.2 * len(rows) + 1.2))
        ax.barh(range(len(rows)), rows.trusted_nodes, color=colour, gid="bars")
        ax.set_yticks(range(len(rows)), [f"{a} – {b}" for a, b in zip(rows.a, rows.b, strict=True)], fontsize=7)
        ax.set_xlabel("Trusted nodes the key crosses" + suffix)
        ax.grid(axis="y", visible=False)
    else:
        import matplotlib.pyplot as plt

        from qnetemu.plots.style import RC

        with plt.rc_context(RC):
            fig, (hist, top) = plt.subplots(1, 2, figsize=(9.0, 4.2), layout="constrained", width_ratios=(3, 2))
        counts = rows.trusted_nodes.to_numpy(dtype=float)
        bins = np.arange(0, counts.max() + 2) - 0.5 if counts.max() <= 40 else 30
        hist.hist(counts, bins=bins, color=colour, gid="histogram")
        median = float(np.median(counts))
        hist.axvline(median, color="black", lw=1, ls="--", label=f"median {median:g}")
        hist.set_xlabel("Trusted nodes the key crosses")
        hist.set_ylabel(f"Demands (of {len(rows)} with a fibre route)")
        hist.legend(fontsize=7)
        worst = rows.tail(TOP_N)
        top.barh(range(len(worst)), worst.trusted_nodes, color=colour, gid="top_bars")
        top.set_yticks(range(len(worst)), [f"{a} – {b}" for a, b in zip(worst.a, worst.b, strict=True)], fontsize=7)
        top.set_xlabel("Trusted nodes")
        top.set_title(f"the {len(worst)} demands crossing most", fontsize=8)
        top.grid(axis="y", visible=False)
        if no_route:
            hist.set_title(suffix.strip(" ()"), fontsize=7)
        ax = hist
    fig.suptitle(f"{title}: trusted nodes per demand" if title else "Trusted nodes per demand")
    return fig


def repeater_vs_trusted(demands: pd.DataFrame, links: pd.DataFrame | None, *, title: str = "",
                        repeater_channel_uses_hz: float | None = None):
    """Repeater against trusted node, each on its own route: key rate and delivered fidelity vs route distance.

    A repeater chain runs on the physical fibre whatever the trust policy
    (it holds no key), so its route may differ from the trusted-node one.

    Top: end-to-end key rate of both architectures with the PLOB bound at the
    repeater's channel uses per second (attempt rate × memories per link):
    the repeaterless limit the same hardware would face over the whole route,
    which a repeater must beat to be worth it. Bottom: mean fidelity of the
    delivered pairs, with the BBM92 threshold below which no key is left
    (F = 0.835 for perfect error correction).
    """
    import matplotlib.pyplot as plt

    from qnetemu.physics.entanglement import bbm92_fidelity_threshold
    from qnetemu.plots.style import RC

    with plt.rc_context(RC):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6.0), sharex=True, layout="constrained",
                                          height_ratios=(3, 2))
    log_scale(top)
    rug = False
    for arch in ("trusted_node", "repeater"):
        rows = demands[demands.architecture == arch]
        ok = rows[rows.key_rate_bps > 0]
        top.scatter(ok.distance_km, ok.key_rate_bps, s=14, marker=palette.ARCHITECTURE_MARKERS[arch],
                    color=palette.architecture_colour(arch), zorder=3, gid=f"key_{arch}",
                    label=f"{palette.architecture_label(arch)}: {len(ok)} of {len(rows)} with key")
        rug |= _rug(top, rows.loc[~(rows.key_rate_bps > 0), "distance_km"].to_numpy(dtype=float),
                    palette.architecture_colour(arch), f"no_key_{arch}")
    dist = demands["distance_km"].dropna()
    att = fibre_attenuation_db_per_km(links)
    if repeater_channel_uses_hz is not None and att is not None:
        plob_curve(top, channel_uses_hz=repeater_channel_uses_hz, attenuation_db_per_km=att,
                   max_km=float(dist.max()) if len(dist) else 100.0, what="repeater attempts")
    _keep_data_in_view(top, demands["key_rate_bps"].to_numpy(dtype=float))
    top.set_ylabel("Secret-key rate [bit/s]")
    top.legend(fontsize=7)
    top.set_title((f"{title}: " if title else "") + "repeaters vs trusted nodes, each on its own route")
    rep = demands[demands.architecture == "repeater"]
    with_f = rep[rep["fidelity"].notna()] if "fidelity" in rep else rep.iloc[:0]
    colour = palette.architecture_colour("repeater")
    if len(with_f):
        yerr = with_f.fidelity_stderr.fillna(0.0) if "fidelity_stderr" in with_f else None
        bottom.errorbar(with_f.distance_km, with_f.fidelity, yerr=yerr, fmt="o", ms=3, lw=0.8, color=colour,
                        label="delivered pairs (mean, ±1 s.e.)", gid="fidelity")
    bottom.axhline(float(bbm92_fidelity_threshold()), color="black", ls=":", lw=1,
                   label="BBM92 threshold (no key below)")
    bottom.set_ylabel("Delivered fidelity")
    bottom.set_xlabel("Route distance [km]" + (NO_KEY_NOTE if rug else ""))
    bottom.legend(fontsize=7)
    return fig
