"""Expanding a sweep's axes into points, and reading/writing scenario parameters by path.

A path names a parameter of a scenario held as a plain dict (as loaded from
YAML): dotted keys, ``[i]`` for one list element and ``[*]`` for all of them,
e.g. ``repeater.memory.coherence_time_s``, ``links[3].length_km``,
``links[*].attenuation_db_per_km``. Setting never mutates its input: it
returns a changed deep copy, so one base scenario serves every point.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qnetemu.scenario.sweep_spec import AxisSpec, LatinHypercube, SweepSpec
from qnetemu.sweep.seeds import axis_generator, lhs_generator, point_seed

WILDCARD = "*"
_KEY = r"[A-Za-z_][A-Za-z0-9_\-]*"
_PATH_RE = re.compile(rf"^{_KEY}(\[(\d+|\*)\])*(\.{_KEY}(\[(\d+|\*)\])*)*$")
_TOKEN_RE = re.compile(rf"({_KEY})|\[(\d+|\*)\]")

Token = str | int  # a dict key, a list index, or WILDCARD ("*" is never a valid key)


class PathError(ValueError):
    """A path that is malformed or names no parameter of the scenario."""


def parse_path(path: str) -> tuple[Token, ...]:
    """Split ``"links[*].length_km"`` into ``("links", "*", "length_km")``.

    Raises
    ------
    PathError
        If the path is not dotted keys with optional ``[int]`` or ``[*]``.
    """
    if not isinstance(path, str) or not _PATH_RE.match(path):
        raise PathError(
            f"malformed parameter path {path!r}: expected dotted names with optional "
            "[index] or [*], e.g. links[*].length_km"
        )
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(path):
        key, idx = m.group(1), m.group(2)
        if key is not None:
            tokens.append(key)
        else:
            tokens.append(WILDCARD if idx == WILDCARD else int(idx))
    return tuple(tokens)


def _format(tokens: Sequence[Token]) -> str:
    out = ""
    for t in tokens:
        if isinstance(t, int) or t == WILDCARD:
            out += f"[{t}]"
        else:
            out += ("." if out else "") + t
    return out


def _step(node: Any, token: Token, done: Sequence[Token]) -> list[tuple[Token, Any]]:
    """Children of ``node`` selected by ``token``, as (concrete token, child)."""
    here = _format(done) or "the scenario"
    if isinstance(token, str) and token != WILDCARD:
        if not isinstance(node, Mapping):
            raise PathError(f"{here} is a {type(node).__name__}, not a mapping with key {token!r}")
        if token not in node:
            known = ", ".join(sorted(map(str, node))) or "none"
            raise PathError(f"{here} has no key {token!r} (keys: {known})")
        return [(token, node[token])]
    if not isinstance(node, list):
        raise PathError(f"{here} is a {type(node).__name__}, not a list to index with [{token}]")
    if token == WILDCARD:
        if not node:
            raise PathError(f"{here} is an empty list: [*] selects nothing")
        return list(enumerate(node))
    if token >= len(node):
        raise PathError(f"{here} has {len(node)} elements, index [{token}] is out of range")
    return [(token, node[token])]


def resolve_path(data: Any, path: str) -> list[tuple[str, Any]]:
    """Every concrete parameter a path names, with its current value.

    Returns
    -------
    list of (str, object)
        ``[("links[0].length_km", 80.0), ("links[1].length_km", 50.0)]``
        for ``links[*].length_km``; one pair when the path has no ``[*]``.

    Raises
    ------
    PathError
        If the path is malformed or any step does not exist in ``data``.
    """
    frontier: list[tuple[tuple[Token, ...], Any]] = [((), data)]
    for token in parse_path(path):
        frontier = [
            ((*done, concrete), child)
            for done, node in frontier
            for concrete, child in _step(node, token, done)
        ]
    return [(_format(done), value) for done, value in frontier]


def get_path(data: Any, path: str) -> Any:
    """The value a path names; a list of values when the path contains ``[*]``."""
    found = resolve_path(data, path)
    if WILDCARD in parse_path(path):
        return [v for _, v in found]
    return found[0][1]


def set_path(data: Any, path: str, value: Any) -> Any:
    """A deep copy of ``data`` with the parameter(s) at ``path`` set to ``value``.

    Every parameter the path names must already exist: a sweep may change a
    scenario, not invent keys (a typo would otherwise pass silently).
    """
    out = copy.deepcopy(data)
    _set_inplace(out, path, value)
    return out


def _set_inplace(data: Any, path: str, value: Any) -> None:
    tokens = parse_path(path)
    frontier: list[tuple[tuple[Token, ...], Any]] = [((), data)]
    for token in tokens[:-1]:
        frontier = [
            ((*done, c), child) for done, node in frontier for c, child in _step(node, token, done)
        ]
    for done, node in frontier:
        for concrete, _ in _step(node, tokens[-1], done):
            node[concrete] = copy.deepcopy(value)


def apply_overrides(data: Any, overrides: Mapping[str, Any]) -> Any:
    """A deep copy of ``data`` with every ``path: value`` of ``overrides`` set, in order."""
    out = copy.deepcopy(data)
    for path, value in overrides.items():
        _set_inplace(out, path, value)
    return out


# --- axis values -------------------------------------------------------------------------------


def _to_python(values: Any) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def axis_values(axis: AxisSpec, master_seed: int, axis_index: int) -> list[Any]:
    """The values an axis takes, as Python scalars, in order.

    ``log_range`` uses ``numpy.geomspace`` and ``linear_range``
    ``numpy.linspace``, so both end points are exact; ``random`` draws
    ``count`` uniform samples (uniform in log scale if ``log``) from a stream
    derived from the master seed and the axis index.
    """
    if axis.values is not None:
        return list(axis.values)
    if axis.log_range is not None:
        r = axis.log_range
        return _to_python(np.geomspace(r.start, r.stop, r.num))
    if axis.linear_range is not None:
        r = axis.linear_range
        return _to_python(np.linspace(r.start, r.stop, r.num))
    r = axis.random
    assert r is not None  # the model guarantees exactly one kind
    rng = axis_generator(master_seed, axis_index)
    if r.log:
        return _to_python(np.exp(rng.uniform(math.log(r.low), math.log(r.high), r.count)))
    return _to_python(rng.uniform(r.low, r.high, r.count))


def latin_hypercube_samples(lhs: LatinHypercube, master_seed: int) -> np.ndarray:
    """Latin-hypercube samples, shape ``(count, n_axes)``, in the parameters' units.

    Each column has exactly one sample in each of ``count`` equal strata of
    [low, high) (of [log low, log high) if ``log``): sample ``j`` of a column
    is ``(perm[j] + u_j) / count`` mapped to the range, with ``perm`` a
    random permutation and ``u_j`` uniform on [0, 1) (McKay, Beckman,
    Conover 1979, doi:10.1080/00401706.1979.10489755).
    """
    rng = lhs_generator(master_seed)
    n = lhs.count
    out = np.empty((n, len(lhs.axes)))
    for k, ax in enumerate(lhs.axes):
        u = (rng.permutation(n) + rng.uniform(0.0, 1.0, n)) / n
        if ax.log:
            lo, hi = math.log(ax.low), math.log(ax.high)
            out[:, k] = np.exp(lo + u * (hi - lo))
        else:
            out[:, k] = ax.low + u * (ax.high - ax.low)
    return out


# --- points ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One run of a sweep: overrides of the base scenario, engine, architecture, repetition."""

    index: int
    point_id: str
    overrides: dict[str, Any] = field(hash=False)
    rep: int
    engine: str
    architecture: str
    seed: int


def point_id_of(overrides: Mapping[str, Any], rep: int, engine: str, architecture: str) -> str:
    """Stable id of a point: SHA-256 of its canonical JSON, first 16 hex digits."""
    blob = json.dumps(
        {
            "overrides": sorted(overrides.items()),
            "rep": rep,
            "engine": engine,
            "architecture": architecture,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExpandedAxis:
    """An axis after expansion: the paths it sets together and one tuple of values per step."""

    where: str  # e.g. "sweep.axes[2]" or "sweep.latin_hypercube"
    paths: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]


def expand_axes(spec: SweepSpec) -> list[ExpandedAxis]:
    """Values of every axis; the Latin-hypercube block is one axis setting several paths."""
    out = [
        ExpandedAxis(
            f"sweep.axes[{i}]", (ax.path,), tuple((v,) for v in axis_values(ax, spec.seed, i))
        )
        for i, ax in enumerate(spec.axes)
    ]
    if spec.latin_hypercube is not None:
        samples = latin_hypercube_samples(spec.latin_hypercube, spec.seed)
        out.append(
            ExpandedAxis(
                "sweep.latin_hypercube",
                tuple(a.path for a in spec.latin_hypercube.axes),
                tuple(tuple(_to_python(row)) for row in samples),
            )
        )
    return out


def parameter_combinations(spec: SweepSpec) -> list[dict[str, Any]]:
    """Override dicts, one per parameter point, before engines, architectures and repetitions.

    ``grid``: cartesian product, last axis fastest. ``zip``: element-wise,
    every axis must have the same length. No axes: one empty override.

    Raises
    ------
    ValueError
        For ``zip`` with axes of different lengths, or when two combinations
        are equal (a value listed twice), naming the axis.
    """
    axes = expand_axes(spec)
    for ax in axes:
        if len(set(map(_hashable, ax.values))) != len(ax.values):
            raise PathError(f"{ax.where}: an axis lists the same value twice")
    if not axes:
        return [{}]
    if spec.mode == "zip":
        lengths = {ax.where: len(ax.values) for ax in axes}
        if len(set(lengths.values())) != 1:
            desc = ", ".join(f"{w} has {n}" for w, n in lengths.items())
            raise PathError(f"sweep.mode: zip needs axes of one length ({desc})")
        steps = zip(*(ax.values for ax in axes), strict=True)
    else:
        steps = itertools.product(*(ax.values for ax in axes))
    combos = []
    for step in steps:
        combo: dict[str, Any] = {}
        for ax, vals in zip(axes, step, strict=True):
            combo.update(zip(ax.paths, vals, strict=True))
        combos.append(combo)
    return combos


def _hashable(values: tuple[Any, ...]) -> str:
    return json.dumps(values, sort_keys=True)


def expand_points(spec: SweepSpec) -> list[Point]:
    """All points of a sweep, in a fixed order, each with its id and seed.

    Order: parameter combination (see :func:`parameter_combinations`), then
    engine, then architecture, then repetition. The seed of point ``i`` is
    :func:`qnetemu.sweep.seeds.point_seed` ``(spec.seed, i)``.
    """
    points: list[Point] = []
    for combo in parameter_combinations(spec):
        for engine in spec.engines:
            for arch in spec.architectures:
                for rep in range(spec.repetitions):
                    i = len(points)
                    points.append(
                        Point(
                            index=i,
                            point_id=point_id_of(combo, rep, engine, arch),
                            overrides=dict(combo),
                            rep=rep,
                            engine=engine,
                            architecture=arch,
                            seed=point_seed(spec.seed, i),
                        )
                    )
    return points


def check_axis_paths(spec: SweepSpec, scenario: Any) -> None:
    """Raise PathError naming the axis (``sweep.axes[2].path``) whose path is not in the scenario."""
    for i, ax in enumerate(spec.axes):
        _check_one(scenario, ax.path, f"sweep.axes[{i}].path")
    if spec.latin_hypercube is not None:
        for i, ax in enumerate(spec.latin_hypercube.axes):
            _check_one(scenario, ax.path, f"sweep.latin_hypercube.axes[{i}].path")


def _check_one(scenario: Any, path: str, where: str) -> None:
    try:
        resolve_path(scenario, path)
    except PathError as exc:
        raise PathError(f"{where}: {path!r} names no parameter of the scenario: {exc}") from None


def fill_from_defaults(data: Any, full: Any, path: str) -> Any:
    """``data`` with the keys ``path`` needs copied from ``full`` where ``data`` lacks them.

    ``full`` is the validated scenario dumped with every default filled in
    (``Scenario.model_dump(mode="json")``), ``data`` the scenario as written.
    Only missing keys on the way are added (the smallest subtree from
    ``full``), so a parameter left at its default can be swept and nothing
    the user wrote changes. Parts of the path that ``full`` lacks too are
    left for :func:`check_axis_paths` to report.
    """
    try:
        tokens = parse_path(path)
    except PathError:
        return data
    out = copy.deepcopy(data)
    frontier: list[tuple[Any, Any]] = [(out, full)]
    for token in tokens:
        nxt: list[tuple[Any, Any]] = []
        for node, ref in frontier:
            if isinstance(token, str) and token != WILDCARD:
                if not isinstance(node, dict):
                    continue
                if token not in node and isinstance(ref, Mapping) and token in ref:
                    node[token] = copy.deepcopy(ref[token])
                if token in node:
                    nxt.append((node[token], ref.get(token) if isinstance(ref, Mapping) else None))
            elif isinstance(node, list):
                idx = range(len(node)) if token == WILDCARD else ([token] if token < len(node) else [])
                for i in idx:
                    sub = ref[i] if isinstance(ref, list) and i < len(ref) else None
                    nxt.append((node[i], sub))
        frontier = nxt
    return out
