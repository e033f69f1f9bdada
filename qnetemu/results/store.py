"""The results store: one directory per run, tidy tables plus a manifest.

Layout of a run directory::

    manifest.json        provenance (see qnetemu.results.manifest) and table list
    scenario.yaml        the scenario exactly as read (what the hash covers)
    resolved.json        sites, links and demands after topology import and defaults
    <table>.parquet      one tidy table per kind of row (links, demands, sites, ...)
    <table>.csv          the same table for people without pandas/pyarrow
    figures/             plots drawn from the tables (qnetemu plot)

A run is written into a temporary sibling directory and renamed into place at
the end, so an interrupted run leaves nothing half-written, and an existing
directory is never overwritten unless asked.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from qnetemu.errors import UserError

MANIFEST = "manifest.json"


def write_table(directory: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_parquet(directory / f"{name}.parquet", index=False)
    frame.to_csv(directory / f"{name}.csv", index=False)


def write_run(out_dir: str | Path, *, tables: dict[str, pd.DataFrame], manifest: dict,
              scenario_text: str | None = None, resolved: dict | None = None,
              overwrite: bool = False) -> Path:
    """Write a complete run directory atomically; refuse to replace an existing one."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError("results directory exists and is not empty (use --overwrite or another --out)",
                        file=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, frame in tables.items():
            write_table(tmp, name, frame)
        manifest = {**manifest, "tables": {n: int(len(f)) for n, f in tables.items()}}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        if scenario_text is not None:
            (tmp / "scenario.yaml").write_text(scenario_text)
        if resolved is not None:
            (tmp / "resolved.json").write_text(json.dumps(resolved, indent=1, default=str) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_json_object(path: str | Path) -> dict:
    """A JSON object qnetemu wrote (manifest, sweep.json); a damaged or foreign file is a UserError."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError("file not found", file=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read file ({exc.strerror or exc})", file=str(path)) from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, absurd nesting
        raise UserError(f"is damaged: not valid JSON ({exc.__class__.__name__})", file=str(path)) from None
    if not isinstance(data, dict):
        raise UserError("is damaged: expected a JSON object", file=str(path))
    return data


def read_manifest(run_dir: str | Path) -> dict:
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        raise UserError("not a qnetemu results directory (no manifest.json)", file=str(run_dir))
    return read_json_object(path)


def read_table(run_dir: str | Path, name: str) -> pd.DataFrame | None:
    """A stored table, or None when the run has none of that name; a damaged file is a UserError."""
    path = Path(run_dir) / f"{name}.parquet"
    if not path.is_file():
        return None
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ValueError, ... for damage
        reason = " ".join(str(exc).split())[:120]
        raise UserError(f"is damaged: cannot read it as Parquet ({reason})", file=str(path)) from None
