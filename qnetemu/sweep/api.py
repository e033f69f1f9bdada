"""``qnetemu.sweep(...)``: a sweep from a script, its tables as pandas DataFrames."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class SweepResult:
    """Tables of a finished sweep: ``points`` (one row per point) and ``demands`` (per point, demand, architecture).

    Every swept parameter is a column named by its path. ``out_dir`` holds
    the journal and the tables (a temporary directory, removed, when the
    call was not given one: then ``out_dir`` is None).
    """

    points: pd.DataFrame
    demands: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    out_dir: Path | None
    elapsed_s: float

    def __repr__(self) -> str:
        return f"<qnetemu.SweepResult {len(self.points)} points, {len(self.demands)} demand rows>"


def sweep_section(axes: Mapping[str, Sequence[Any]] | None, *, seed: int, architectures, engines,
                  repetitions: int, mode: str) -> dict[str, Any]:
    """A ``sweep:`` section from ``{"path": [values]}``."""
    section: dict[str, Any] = {"seed": seed, "repetitions": repetitions, "mode": mode,
                               "axes": [{"path": p, "values": list(v)} for p, v in (axes or {}).items()]}
    if architectures is not None:
        section["architectures"] = list(architectures)
    if engines is not None:
        section["engines"] = list(engines)
    return section


def sweep(scenario, *, axes: Mapping[str, Sequence[Any]] | None = None, overrides: Mapping[str, Any] | None = None,
          architectures: Sequence[str] | None = None, engines: Sequence[str] | None = None, seed: int = 0,
          repetitions: int = 1, mode: str = "grid", out_dir: str | Path | None = None, executor: str = "auto",
          workers: int | None = None, address: str | None = None, resume: bool = False,
          progress: bool = False) -> SweepResult:
    """Run a sweep and return its tables; the same machinery as ``qnetemu sweep``.

    Parameters
    ----------
    scenario
        A scenario file, a mapping or a :class:`~qnetemu.scenario.schema.Scenario`.
    axes
        ``{"parameter.path": [values, ...]}``; replaces the scenario's own
        ``sweep:`` section. None: use that section.
    overrides
        ``{"parameter.path": value}`` applied to the base scenario first.
    architectures, engines, seed, repetitions, mode
        As in the ``sweep:`` section (with ``axes`` only).
    out_dir
        Where the journal and tables go (then ``resume`` works); default a
        temporary directory.
    executor, workers, address
        ``auto`` (serial for small sweeps, Ray for large ones or a cluster),
        ``local`` or ``ray``; Ray's CPUs and cluster address.

    Examples
    --------
    >>> import qnetemu
    >>> res = qnetemu.sweep("scenarios/repeater_chain.yaml",                                  # doctest: +SKIP
    ...                     axes={"repeater.memory.coherence_time_s": [0.1, 1.0, 10.0]},
    ...                     architectures=["trusted_node", "repeater"])
    >>> res.demands.groupby(["architecture", "repeater.memory.coherence_time_s"]).key_rate_bps.median()  # doctest: +SKIP
    """
    import time

    from qnetemu.pipeline import scenario_mapping
    from qnetemu.results.store import read_table
    from qnetemu.sweep.runner import run_sweep

    t0 = time.perf_counter()
    data, source, _base_dir = scenario_mapping(scenario, overrides)
    if axes is not None:
        data["sweep"] = sweep_section(axes, seed=seed, architectures=architectures, engines=engines,
                                      repetitions=repetitions, mode=mode)
    path = source if Path(source).is_file() else None

    def collect(directory: Path) -> tuple[dict[str, pd.DataFrame], Path]:
        run_sweep(path, data, out_dir=directory, executor=executor, workers=workers, address=address,
                  resume=resume, progress=progress)
        tables = {p.stem: read_table(directory, p.stem) for p in sorted(directory.glob("*.parquet"))}
        return tables, directory

    if out_dir is not None:
        tables, where = collect(Path(out_dir))
        kept: Path | None = where
    else:
        with tempfile.TemporaryDirectory(prefix="qnetemu-sweep-") as tmp:
            tables, _ = collect(Path(tmp))
        kept = None
    empty = pd.DataFrame()
    return SweepResult(points=tables.get("points", empty), demands=tables.get("demands", empty), tables=tables,
                       out_dir=kept, elapsed_s=time.perf_counter() - t0)
