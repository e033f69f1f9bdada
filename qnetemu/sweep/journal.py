"""Crash-safe, streaming store of finished sweep points, and its consolidation into tables.

Each finished point is one JSON line of ``<out>/journal.jsonl``, written with
flush and ``os.fsync`` before the next: a killed sweep loses at most the
point being written, whose torn line is ignored on reading and cut off before
appending. At the end the journal is consolidated into ``points.parquet``
and one ``<table>.parquet`` per result table (with CSV twins), sorted by
point index so the files do not depend on the order in which points finished.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qnetemu.errors import UserError
from qnetemu.sweep.axes import Point

JOURNAL_NAME = "journal.jsonl"
POINTS_TABLE = "points"
STATUS_OK = "ok"
STATUS_FAILED = "failed"
# Columns that start with "_" carry provenance (which node, how long): they differ
# between runs of the same sweep, everything else does not.
PROVENANCE_COLUMNS = ("_node_id", "_hostname", "_pid", "_elapsed_s")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store a {type(obj).__name__} in a result row")


def encode_record(record: Mapping[str, Any]) -> str:
    """One journal line (without the newline); NaN and infinities are kept as JSON extensions."""
    return json.dumps(record, default=_json_default, separators=(",", ":"))


def read_journal(path: str | os.PathLike[str]) -> tuple[list[dict[str, Any]], int]:
    """Records of a journal and the byte length of its complete part.

    A last line without its newline, or that does not parse, is a write cut
    short by a crash: it is left out. A bad line before the last one means
    the file was damaged otherwise, and raises UserError.
    """
    p = Path(path)
    if not p.exists():
        return [], 0
    data = p.read_bytes()
    records: list[dict[str, Any]] = []
    good = 0
    lines = data.split(b"\n")
    # The element after the last newline is b"" for a clean file, else a torn tail.
    for n, line in enumerate(lines[:-1]):
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or "point_id" not in rec:
                raise ValueError("not a point record")
        except ValueError as exc:
            if n == len(lines) - 2 and not lines[-1]:
                break  # a complete-looking but unreadable last line: torn just before its newline
            raise UserError(
                f"line {n + 1} is damaged ({exc}); move the file away to start over", file=str(p)
            ) from None
        records.append(rec)
        good += len(line) + 1
    return records, good


def latest_by_point(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Last record per point id (a point re-run on resume supersedes its earlier record)."""
    return {r["point_id"]: dict(r) for r in records}


class Journal:
    """Append-only JSON-lines journal of finished points, safe against a kill at any moment.

    Opening truncates a torn last line, so that the next record starts on a
    line of its own.
    """

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.records, good = read_journal(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab")  # noqa: SIM115 - kept open for the whole sweep
        if self._fh.tell() != good:
            self._fh.truncate(good)
            self._fh.seek(good)
            os.fsync(self._fh.fileno())

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record durably: the line is on disk when this returns."""
        self.extend([record])

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Write records that arrived together (one Ray task's batch) with a single fsync."""
        recs = [dict(r) for r in records]
        if not recs:
            return
        self._fh.write(b"".join((encode_record(r) + "\n").encode() for r in recs))
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.records.extend(recs)

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- consolidation -----------------------------------------------------------------------------


def point_columns(point: Point) -> dict[str, Any]:
    """Columns that identify a point in every table: index, id, engine, architecture, rep, seed, overrides."""
    cols: dict[str, Any] = {
        "point_index": point.index,
        "point_id": point.point_id,
        "engine": point.engine,
        "architecture": point.architecture,
        "rep": point.rep,
        "seed": point.seed,
    }
    cols.update(point.overrides)
    return cols


def _override_value(v: Any) -> Any:
    # A swept list/dict value cannot be a Parquet scalar: store its JSON text.
    return encode_record(v) if isinstance(v, list | dict) else v


def build_tables(
    points: Sequence[Point], records: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Rows of the points table and of every result table, sorted by point index.

    Points that have no record (not run yet) are left out. A result row keeps
    its own value where it already has a column the point adds.
    """
    tables: dict[str, list[dict[str, Any]]] = {POINTS_TABLE: []}
    for point in sorted(points, key=lambda p: p.index):
        rec = records.get(point.point_id)
        if rec is None:
            continue
        ident = {k: _override_value(v) for k, v in point_columns(point).items()}
        prov = rec.get("provenance") or {}
        tables[POINTS_TABLE].append(
            {
                **ident,
                "status": rec["status"],
                "error": rec.get("error") or "",
                "_node_id": str(prov.get("node_id") or ""),
                "_hostname": str(prov.get("hostname") or ""),
                "_pid": int(prov.get("pid") or 0),
                "_elapsed_s": float(rec.get("elapsed_s") or 0.0),
            }
        )
        for name, rows in (rec.get("rows") or {}).items():
            if name == POINTS_TABLE:
                raise UserError(
                    f"a point function returned a table named {POINTS_TABLE!r}, which the sweep reserves"
                )
            out = tables.setdefault(name, [])
            for row in rows:
                out.append({**ident, **row})
    return tables


def write_tables(
    out_dir: str | os.PathLike[str], tables: Mapping[str, list[dict[str, Any]]]
) -> dict[str, Path]:
    """Write each table as ``<name>.parquet`` and ``<name>.csv`` (atomically); return the Parquet paths."""
    import pandas as pd

    out = Path(out_dir)
    written: dict[str, Path] = {}
    for name, rows in tables.items():
        if not rows:
            continue
        df = pd.DataFrame.from_records(rows)
        for col in df.columns:
            if df[col].dtype == object:
                kinds = {
                    type(v)
                    for v in df[col]
                    if not (isinstance(v, float) and math.isnan(v)) and v is not None
                }
                if len(kinds) > 1:
                    # Mixed types (e.g. a number in one row, text in another) have no Parquet type.
                    df[col] = df[col].map(lambda v: None if v is None else str(v))
        pq = out / f"{name}.parquet"
        csv = out / f"{name}.csv"
        df.to_parquet(pq.with_suffix(".parquet.tmp"), index=False, engine="pyarrow")
        os.replace(pq.with_suffix(".parquet.tmp"), pq)
        df.to_csv(csv.with_suffix(".csv.tmp"), index=False)
        os.replace(csv.with_suffix(".csv.tmp"), csv)
        written[name] = pq
    return written
