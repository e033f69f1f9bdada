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
    if (run_dir / "sweep.json").is_file():
        return draw_sweep(run_dir)
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
        if {"repeater", "trusted_node"} <= set(demands["architecture"]):
            written += save(rates.repeater_vs_trusted(demands, links, title=title), fig_dir / "repeater_vs_trusted_node")
    samples, tracks, sat_links = (read_table(run_dir, n) for n in ("pass_samples", "ground_tracks", "satellite_links"))
    if samples is not None and len(samples):
        written += save(space.pass_timelines(samples, title=title), fig_dir / "pass_timelines")
    if tracks is not None and len(tracks) and sites is not None:
        written += save(space.ground_tracks(tracks, sites, title=title), fig_dir / "ground_tracks")
    if sat_links is not None and len(sat_links):
        written += save(space.station_pair_key(sat_links, title=title), fig_dir / "station_pair_key_per_day")
    from qnetemu.plots import resilience

    written += resilience.draw(run_dir, fig_dir, title=title)
    return written


def draw_sweep(sweep_dir: str | Path) -> list[Path]:
    """Figures of a sweep directory: its baseline run's, and the comparisons across points."""
    import json

    from qnetemu.errors import UserError
    from qnetemu.plots import sweep
    from qnetemu.results.store import read_table

    sweep_dir = Path(sweep_dir)
    try:
        manifest = json.loads((sweep_dir / "sweep.json").read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read sweep.json ({exc})", file=str(sweep_dir)) from None
    written: list[Path] = []
    if (sweep_dir / "baseline" / "manifest.json").is_file():
        written += draw_run(sweep_dir / "baseline")
    demands = read_table(sweep_dir, "demands")
    if demands is None or not len(demands):
        return written
    fig_dir = sweep_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    title = Path(str(manifest.get("scenario_path", sweep_dir.name))).stem
    params = sweep.swept_columns(manifest, demands)
    archs = set(demands["architecture"])
    if "repeater" in archs:
        for param in params:
            written += save(sweep.rate_vs_parameter(demands, param, params, title=title),
                            fig_dir / f"rate_vs_{param.replace('.', '_').replace('[', '_').replace(']', '_')}")
    if {"repeater", "trusted_node"} <= archs and len(params) >= 2:
        for k in range(len(params) - 1):
            x, y = params[k], params[k + 1]
            written += save(sweep.crossover_map(demands, x, y, params, title=title),
                            fig_dir / f"crossover_{x.split('.')[-1]}_{y.split('.')[-1]}")
    return written


__all__ = ["draw_run", "draw_sweep", "save"]
