"""Figures drawn from stored result tables only (never recomputing the network).

:func:`draw_run` draws every figure a results directory has data for into
``RUN/figures/`` as PNG (and PDF for print when asked). Colours, markers and
names of architectures come from :mod:`qnetemu.plots.palette`, one place.
"""

from __future__ import annotations

from collections.abc import Callable
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


class _Tables:
    """A run directory's tables, each read on first use."""

    def __init__(self, run_dir: Path, title: str, kind: str = "run"):
        self.run_dir = run_dir
        self.title = title
        self.kind = kind  # "emulation" for a qnetemu emulate directory
        self._cache: dict = {}

    def __getitem__(self, name: str):
        from qnetemu.results.store import read_table

        if name not in self._cache:
            self._cache[name] = read_table(self.run_dir, name)
        return self._cache[name]

    def has(self, name: str) -> bool:
        frame = self[name]
        return frame is not None and len(frame) > 0


def _figures(t: _Tables) -> dict:
    """Figure stem -> function drawing it, for every figure the run has data for (slowest first)."""
    from qnetemu.plots import network_map, rates, resilience, space

    title = t.title
    jobs = {}
    if t.has("sites") and t["links"] is not None:
        jobs["network_map"] = lambda: network_map.network_map(t["sites"], t["links"], title=title,
                                                              satellite_links=t["satellite_links"])
    if t.has("satellite_links"):
        jobs["station_pair_key_per_day"] = lambda: space.station_pair_key(t["satellite_links"], title=title)
    if t.has("pass_samples"):
        jobs["pass_timelines"] = lambda: space.pass_timelines(t["pass_samples"], title=title)
    if t.has("demands"):
        if {"repeater", "trusted_node"} <= set(t["demands"]["architecture"]):
            jobs["repeater_vs_trusted_node"] = lambda: rates.repeater_vs_trusted(
                t["demands"], t["links"], title=title, repeater_channel_uses_hz=repeater_channel_uses_hz(t.run_dir))
        jobs["demand_rate_vs_distance"] = lambda: rates.demand_rate_vs_distance(t["demands"], t["links"], title=title)
        jobs["trusted_nodes_per_demand"] = lambda: rates.trusted_nodes_per_demand(t["demands"], title=title)
    if t["links"] is not None and len(t["links"]):
        jobs["link_rate_vs_distance"] = lambda: rates.link_rate_vs_distance(t["links"], title=title)
    if t.has("ground_tracks") and t["sites"] is not None:
        jobs["ground_tracks"] = lambda: space.ground_tracks(t["ground_tracks"], t["sites"], title=title)
    if t.has("n_minus_one_elements"):
        jobs["n_minus_one"] = lambda: resilience.n_minus_one_impact(t["n_minus_one_elements"], title=title)
    holders = t["key_holders"]
    if holders is not None and "exposure_probability" in holders and holders.exposure_probability.notna().any():
        jobs["key_exposure"] = lambda: resilience.exposure(holders, t["multipath"], title=title)
    return jobs


def _open(run_dir: Path) -> _Tables:
    from qnetemu.results.store import read_manifest

    manifest = read_manifest(run_dir)
    return _Tables(run_dir, manifest.get("scenario_name", run_dir.name), kind=manifest.get("kind", "run"))


def _draw_some(run_dir: str, stems: list[str], pdf: bool) -> list[str]:
    """Draw the named figures of a run (the body of a worker process)."""
    run_dir_p = Path(run_dir)
    jobs = _figures(_open(run_dir_p))
    written = []
    for stem in stems:
        written += [str(p) for p in save(jobs[stem](), run_dir_p / "figures" / stem, pdf=pdf)]
    return written


def draw_run(run_dir: str | Path, *, pdf: bool = False, note: Callable[[str], None] | None = None) -> list[Path]:
    """Draw all figures for a run, sweep or emulation directory; return the files written.

    ``note(message)`` hears of figures left out for a missing table (an emulation's, a run's map).
    """
    run_dir = Path(run_dir)
    if (run_dir / "sweep.json").is_file():
        return draw_sweep(run_dir, pdf=pdf)
    tables = _open(run_dir)
    if tables.kind == "emulation":
        from qnetemu.plots.emulation import draw_emulation

        return draw_emulation(run_dir, pdf=pdf, note=note)
    if note is not None and tables["links"] is not None and not tables.has("sites"):
        note("network_map not drawn: the directory keeps no sites table (sites.parquet or sites.csv)")
    (run_dir / "figures").mkdir(exist_ok=True)
    return [Path(p) for p in _draw_some(str(run_dir), list(_figures(tables)), pdf)]


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
    # An axis of one value has no trend to draw: its figures would be a dot and a 1-row map.
    params = [p for p in sweep.swept_columns(manifest, demands) if demands[p].nunique() > 1]
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
