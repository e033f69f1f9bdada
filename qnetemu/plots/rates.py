"""Key rate against distance, with the PLOB repeaterless bound; trusted-node counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.physics.bounds import plob_bound
from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.plots.style import figure


def _plob_curve(ax, links: pd.DataFrame | None, max_km: float) -> None:
    """PLOB bound x repetition rate for the run's fibre (Pirandola et al. 2017)."""
    if links is None or "repetition_rate_hz" not in links or links["repetition_rate_hz"].isna().all():
        return
    fibre = links[links["segment"] == "fibre"]
    rep = float(fibre["repetition_rate_hz"].median())
    if "attenuation_db_per_km" in fibre and fibre["attenuation_db_per_km"].notna().any():
        att = float(fibre["attenuation_db_per_km"].median())
    else:
        att = float((fibre["loss_db"] / fibre["length_km"]).median()) if len(fibre) else 0.2
    bottom, top = ax.get_ylim() if ax.has_data() else (None, None)
    length = np.linspace(1.0, max(max_km, 10.0) * 1.05, 300)
    ax.plot(length, plob_bound(fibre_transmittance(length, att)) * rep, color="black", lw=1.2, ls="--",
            label=f"PLOB bound, pure-loss fibre ({rep:.3g} channel uses/s, {att:.3g} dB/km)")
    if bottom is not None:
        # The bound falls by orders of magnitude per 100 km: keep the data, not the bound, in view.
        ax.set_ylim(bottom / 100.0, top * 100.0)


def link_rate_vs_distance(links: pd.DataFrame, *, title: str = ""):
    fig, ax = figure()
    ax.set_yscale("log")
    fibre = links[links["segment"] == "fibre"]
    ok = fibre[fibre["key_rate_bps"] > 0]
    ax.scatter(ok.length_km, ok.key_rate_bps, s=14, label="fibre QKD links", zorder=3)
    dead = fibre[fibre["key_rate_bps"] <= 0]
    if len(dead):
        ax.scatter(dead.length_km, np.full(len(dead), ok.key_rate_bps.min() if len(ok) else 1.0) * 0.5,
                   marker="v", color="tab:red", s=14, label="links without key (at floor)")
    _plob_curve(ax, links, float(fibre.length_km.max()) if len(fibre) else 100.0)
    ax.set_xlabel("Fibre length [km]")
    ax.set_ylabel("Secret-key rate [bit/s]")
    ax.set_title(f"{title}: link key rate vs length" if title else "Link key rate vs length")
    ax.legend()
    return fig


def demand_rate_vs_distance(demands: pd.DataFrame, links: pd.DataFrame | None, *, title: str = ""):
    fig, ax = figure()
    ax.set_yscale("log")
    for arch, rows in demands.groupby("architecture"):
        ok = rows[rows["key_rate_bps"] > 0]
        label = "fibre + satellites (x: fibre part of the route)" if arch == "satellite" else arch.replace("_", " ")
        ax.scatter(ok.distance_km, ok.key_rate_bps, s=16, label=label, zorder=3)
    dist = demands["distance_km"].dropna()
    _plob_curve(ax, links, float(dist.max()) if len(dist) else 100.0)
    ax.set_xlabel("Route distance [km]")
    ax.set_ylabel("End-to-end secret-key rate [bit/s]")
    ax.set_title(f"{title}: demand key rate vs distance" if title else "Demand key rate vs distance")
    ax.legend()
    return fig


def trusted_nodes_per_demand(demands: pd.DataFrame, *, title: str = ""):
    rows = demands[demands["architecture"] == "trusted_node"].sort_values(["trusted_nodes", "distance_km"])
    height = max(3.0, 0.16 * len(rows) + 1.0)
    fig, ax = figure(6.5, min(height, 24.0))
    labels = [f"{a} – {b}" for a, b in zip(rows.a, rows.b, strict=True)]
    ax.barh(range(len(rows)), rows.trusted_nodes, color="tab:red")
    ax.set_yticks(range(len(rows)), labels, fontsize=6 if len(rows) > 40 else 8)
    ax.set_xlabel("Trusted nodes the key crosses")
    ax.set_title(f"{title}: trusted nodes per demand" if title else "Trusted nodes per demand")
    ax.grid(axis="y", visible=False)
    return fig


def repeater_vs_trusted(demands: pd.DataFrame, links: pd.DataFrame | None, *, title: str = ""):
    """Repeater against trusted node on the same routes: key rate and delivered fidelity vs distance.

    Top: end-to-end key rate of both architectures with the PLOB bound (the
    repeaterless limit a repeater must beat to be useful). Bottom: mean
    fidelity of the delivered pairs, with the BBM92 threshold below which no
    key is left (F = 0.835 for perfect error correction).
    """
    import matplotlib.pyplot as plt

    from qnetemu.physics.entanglement import bbm92_fidelity_threshold
    from qnetemu.plots.style import RC

    with plt.rc_context(RC):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.5, 6.0), sharex=True, layout="constrained",
                                          height_ratios=(3, 2))
    top.set_yscale("log")
    rep = demands[demands.architecture == "repeater"]
    tn = demands[demands.architecture == "trusted_node"]
    for rows, label, marker in ((tn, "trusted nodes", "s"), (rep, "repeaters", "o")):
        ok = rows[rows.key_rate_bps > 0]
        top.scatter(ok.distance_km, ok.key_rate_bps, s=16, marker=marker, label=label, zorder=3)
    dist = demands["distance_km"].dropna()
    _plob_curve(top, links, float(dist.max()) if len(dist) else 100.0)
    top.set_ylabel("Secret-key rate [bit/s]")
    top.legend(fontsize=7)
    top.set_title((f"{title}: " if title else "") + "repeaters vs trusted nodes on the same routes")
    with_f = rep[rep["fidelity"].notna()] if "fidelity" in rep else rep.iloc[:0]
    if "fidelity_stderr" in with_f:
        bottom.errorbar(with_f.distance_km, with_f.fidelity, yerr=with_f.fidelity_stderr.fillna(0.0), fmt="o",
                        ms=3, lw=0.8, color="tab:orange", label="delivered pairs (mean, ±1 s.e.)")
    bottom.axhline(float(bbm92_fidelity_threshold()), color="black", ls=":", lw=1,
                   label="BBM92 threshold (no key below)")
    bottom.set_ylabel("Fidelity")
    bottom.set_xlabel("Route distance [km]")
    bottom.legend(fontsize=7)
    return fig
