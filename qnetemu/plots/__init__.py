"""Figures drawn from stored result tables only (never recomputing the network).

:func:`draw_run` draws every figure a results directory has data for into
``RUN/figures/`` as PNG (and PDF for print when asked). Colours, markers and
names of architectures come from :mod:`qnetemu.plots.palette`, one place.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: files only

from qnetemu.plots.style import save  # noqa: E402


def repeater_channel_uses_hz(run_dir: Path) -> float | None:
    """Channel uses per second of the run's repeater hardware: attempt rate × memories per link.

    Read from the run's stored ``scenario.yaml`` (the schema fills the
    defaults), so the PLOB comparison uses the repeater's own rate.
    """
    import yaml

    from qnetemu.scenario.load import validate_scenario_dict

    path = run_dir / "scenario.yaml"
    if not path.is_file():
        return None
    try:
        scenario = validate_scenario_dict(yaml.safe_load(path.read_text()), str(path))
    except Exception:  # an old or hand-edited file: the bound is left out, the figure is not
        return None
    memory = scenario.repeater.memory
    return float(memory.attempt_rate_hz * memory.memories_per_node)


def draw_run(run_dir: str | Path, *, pdf: bool = False) -> list[Path]:
    """Draw all figures for a run or sweep directory; return the files written."""
    from qnetemu.plots import network_map, rates, space
    from qnetemu.results.store import read_manifest, read_table

    run_dir = Path(run_dir)
    if (run_dir / "sweep.json").is_file():
        return draw_sweep(run_dir, pdf=pdf)
    manifest = read_manifest(run_dir)
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    sites, links, demands = (read_table(run_dir, n) for n in ("sites", "links", "demands"))
    samples, tracks, sat_links = (read_table(run_dir, n) for n in ("pass_samples", "ground_tracks", "satellite_links"))
    title = manifest.get("scenario_name", run_dir.name)

    def put(fig, stem: str) -> None:
        written.extend(save(fig, fig_dir / stem, pdf=pdf))

    if sites is not None and links is not None:
        put(network_map.network_map(sites, links, title=title, satellite_links=sat_links), "network_map")
        put(rates.link_rate_vs_distance(links, title=title), "link_rate_vs_distance")
    if demands is not None and len(demands):
        put(rates.demand_rate_vs_distance(demands, links, title=title), "demand_rate_vs_distance")
        put(rates.trusted_nodes_per_demand(demands, title=title), "trusted_nodes_per_demand")
        if {"repeater", "trusted_node"} <= set(demands["architecture"]):
            put(rates.repeater_vs_trusted(demands, links, title=title,
                                          repeater_channel_uses_hz=repeater_channel_uses_hz(run_dir)),
                "repeater_vs_trusted_node")
    if samples is not None and len(samples):
        put(space.pass_timelines(samples, title=title), "pass_timelines")
    if tracks is not None and len(tracks) and sites is not None:
        put(space.ground_tracks(tracks, sites, title=title), "ground_tracks")
    if sat_links is not None and len(sat_links):
        put(space.station_pair_key(sat_links, title=title), "station_pair_key_per_day")
    from qnetemu.plots import resilience

    written += resilience.draw(run_dir, fig_dir, title=title, pdf=pdf)
    return written


def figure_stem(path: str) -> str:
    """A file-name-safe stem for a parameter path."""
    return "".join(c if c.isalnum() else "_" for c in path).strip("_")


def draw_sweep(sweep_dir: str | Path, *, pdf: bool = False) -> list[Path]:
    """Figures of a sweep directory: its baseline run's, and the comparisons across points."""
    from qnetemu.plots import sweep
    from qnetemu.results.store import read_sweep_manifest, read_table

    sweep_dir = Path(sweep_dir)
    manifest = read_sweep_manifest(sweep_dir)
    written: list[Path] = []
    if (sweep_dir / "baseline" / "manifest.json").is_file():
        written += draw_run(sweep_dir / "baseline", pdf=pdf)
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
                            fig_dir / f"rate_vs_{figure_stem(param)}", pdf=pdf)
    if {"repeater", "trusted_node"} <= archs and len(params) >= 2:
        for k in range(len(params) - 1):
            x, y = params[k], params[k + 1]
            written += save(sweep.crossover_map(demands, x, y, params, title=title),
                            fig_dir / f"crossover_{figure_stem(x.split('.')[-1])}_{figure_stem(y.split('.')[-1])}",
                            pdf=pdf)
    return written


__all__ = ["draw_run", "draw_sweep", "save"]
