"""Figures drawn from stored result tables only (never recomputing the network).

:func:`draw_run` draws every figure a results directory has data for into
``RUN/figures/`` as PNG (screen) and PDF (print).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: files only

from qnetemu.plots.style import save  # noqa: E402


def draw_run(run_dir: str | Path) -> list[Path]:
    """Draw all figures for a run or sweep directory; return the files written."""
    from qnetemu.plots import network_map, rates, space
    from qnetemu.results.store import read_manifest, read_table

    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    sites, links, demands = (read_table(run_dir, n) for n in ("sites", "links", "demands"))
    title = manifest.get("scenario_name", run_dir.name)
    if sites is not None and links is not None:
        written += save(network_map.network_map(sites, links, title=title), fig_dir / "network_map")
        written += save(rates.link_rate_vs_distance(links, title=title), fig_dir / "link_rate_vs_distance")
    if demands is not None and len(demands):
        written += save(rates.demand_rate_vs_distance(demands, links, title=title),
                        fig_dir / "demand_rate_vs_distance")
        written += save(rates.trusted_nodes_per_demand(demands, title=title), fig_dir / "trusted_nodes_per_demand")
    samples, tracks, sat_links = (read_table(run_dir, n) for n in ("pass_samples", "ground_tracks", "satellite_links"))
    if samples is not None and len(samples):
        written += save(space.pass_timelines(samples, title=title), fig_dir / "pass_timelines")
    if tracks is not None and len(tracks) and sites is not None:
        written += save(space.ground_tracks(tracks, sites, title=title), fig_dir / "ground_tracks")
    if sat_links is not None and len(sat_links):
        written += save(space.station_pair_key(sat_links, title=title), fig_dir / "station_pair_key_per_day")
    return written


__all__ = ["draw_run", "save"]
