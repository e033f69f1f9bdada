"""Work a sweep's points share: computed once, copied to every point that would repeat it.

An architecture's rows depend only on the scenario sections it reads. The
trusted-node and satellite architectures never read ``repeater`` or
``engine`` settings and are analytic (no seed), so when a sweep varies only
repeater hardware all its trusted-node points are one computation. Sharing changes no number: a copy holds the rows its point
would have computed, with its own identity and seed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

from qnetemu.sweep.axes import Point
from qnetemu.sweep.executors import base_record

#: Path prefixes (top-level sections) each architecture's rows do not depend on.
IGNORES = {
    "trusted_node": ("repeater", "engine"),
    "satellite": ("repeater", "engine"),
    "repeater": (),
    "twin_field": ("repeater", "engine"),
}


def _section(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def work_key(point: Point) -> str:
    """Points with equal keys compute equal rows."""
    ignored = IGNORES.get(point.architecture, ())
    overrides = sorted((k, v) for k, v in point.overrides.items() if _section(k) not in ignored)
    if point.architecture == "repeater":  # its rows carry per-demand seeds derived from the point's: never copied
        return json.dumps([point.point_id])
    if point.architecture in IGNORES:
        # analytic whatever the point's engine, and seed-free: engine and repetition do not matter
        return json.dumps([point.architecture, overrides], sort_keys=True, default=str)
    return json.dumps([point.point_id])  # an architecture this module does not know: share nothing


def plan(points: Iterable[Point]) -> dict[str, list[Point]]:
    """Representative point id -> the other points that share its work (first point in order represents)."""
    first: dict[str, Point] = {}
    groups: dict[str, list[Point]] = {}
    for p in sorted(points, key=lambda q: q.index):
        key = work_key(p)
        if key in first:
            groups[first[key].point_id].append(p)
        else:
            first[key] = p
            groups[p.point_id] = []
    return {k: v for k, v in groups.items() if v}


def copy_record(record: Mapping[str, Any], point: Point) -> dict[str, Any]:
    """The journal record ``point`` would have produced, from its representative's record."""
    rows = copy.deepcopy(record.get("rows") or {})
    for table in rows.values():
        for row in table:
            if "seed" in row:
                row["seed"] = point.seed
    return {
        **record,
        **base_record(point),
        "rows": rows,
        "elapsed_s": 0.0,
        "shared_from": record["point_id"],
    }
