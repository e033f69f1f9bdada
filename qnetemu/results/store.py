"""The results store: one directory per run, tidy tables plus a manifest.

Layout of a run directory::

    manifest.json        provenance (see qnetemu.results.manifest) and table list
    scenario.yaml        the scenario exactly as read (what the hash covers)
    resolved.json        sites, links and demands after topology import and defaults
    <table>.parquet      one tidy table per kind of row (links, demands, sites, ...)
    <table>.csv          the same table for people without pandas/pyarrow
    figures/             plots drawn from the tables (qnetemu plot)

A run is written into a temporary sibling directory and swapped in for the
old one only when complete, under a lock, so an interrupted run leaves the
old result or the new one, never half of either; an existing directory is
replaced only with ``overwrite`` and only if qnetemu wrote it (see
:mod:`qnetemu.results.outdir`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from qnetemu.errors import UserError
from qnetemu.results import outdir
from qnetemu.results.outdir import MANIFEST, SWEEP_MANIFEST, WRITTEN_BY


def _is_list(value) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as its CSV copy holds it: list cells (route nodes, segment lengths) as JSON arrays,
    which any CSV reader can decode and :func:`read_table` turns back into lists."""
    out = frame
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object and values.map(_is_list).any():
            if out is frame:
                out = frame.copy()
            out[column] = values.map(lambda v: json.dumps(np.asarray(v).tolist()) if _is_list(v) else v)
    return out


def write_table(directory: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_parquet(directory / f"{name}.parquet", index=False)
    csv_frame(frame).to_csv(directory / f"{name}.csv", index=False)


def _read_csv(path: Path) -> pd.DataFrame:
    """A table's CSV copy, with its JSON-array cells decoded back into lists."""
    if path.stat().st_size <= 2 and not path.read_bytes().strip():  # a table without columns (an emulation without applications)
        return pd.DataFrame()
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise UserError(f"cannot be read as a table ({reason}); run again to rewrite it", file=str(path)) from None
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        cells = values.dropna()
        if cells.empty or not cells.map(lambda v: isinstance(v, str) and v.startswith("[")).all():
            continue
        try:
            frame[column] = values.astype(object).map(lambda v: json.loads(v) if isinstance(v, str) else v)
        except ValueError:  # text that only starts like an array: keep it as text
            continue
    return frame


def write_run(out_dir: str | Path, *, tables: dict[str, pd.DataFrame], manifest: dict,
              scenario_text: str | None = None, resolved: dict | None = None,
              overwrite: bool = False, finish: Callable[[Path], object] | None = None) -> Path:
    """Write a complete run directory atomically; return its path.

    Refuses (UserError) a target that exists and is not empty unless
    ``overwrite``, and with ``overwrite`` anything but a run directory qnetemu
    wrote. ``finish(tmp_dir)`` (e.g. drawing the figures) runs on the new
    directory before it is swapped in, so the figures are part of the swap.
    """
    with outdir.DirLock(out_dir) as lock:
        outdir.recover(lock.target, lock)
        out = outdir.check_run_target(lock.target, overwrite=overwrite)
        tmp = outdir.make_temp_dir(out)
        try:
            for name, frame in tables.items():
                write_table(tmp, name, frame)
            manifest = {**manifest, "written_by": WRITTEN_BY, "tables": {n: int(len(f)) for n, f in tables.items()}}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
            if scenario_text is not None:
                (tmp / "scenario.yaml").write_text(scenario_text)
            if resolved is not None:
                (tmp / "resolved.json").write_text(json.dumps(resolved, indent=1, default=str) + "\n")
            if finish is not None:
                finish(tmp)
            outdir.fsync_tree(tmp)
            outdir.checkpoint("written")
            outdir.replace_dir(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return out


def read_manifest(run_dir: str | Path) -> dict:
    """The manifest of a run directory; a missing or damaged one is a one-line UserError."""
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise UserError("not a qnetemu results directory (no manifest.json)", file=str(run_dir))
    return outdir.read_json(path, MANIFEST)


def read_sweep_manifest(sweep_dir: str | Path) -> dict:
    """The ``sweep.json`` of a sweep directory; a missing or damaged one is a one-line UserError."""
    return outdir.read_json(Path(sweep_dir) / SWEEP_MANIFEST, SWEEP_MANIFEST)


def read_table(run_dir: str | Path, name: str) -> pd.DataFrame | None:
    """A stored table, or None if the directory has none; a damaged file is a one-line UserError.

    The Parquet file is the table; without one, its CSV copy (what a trimmed
    example directory keeps) is read instead.
    """
    import pyarrow as pa

    path = Path(run_dir) / f"{name}.parquet"
    if not path.is_file():
        csv = path.with_suffix(".csv")
        return _read_csv(csv) if csv.is_file() else None
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        reason = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise UserError(f"is damaged or not a Parquet file ({reason}); run again to rewrite it",
                        file=str(path)) from None
