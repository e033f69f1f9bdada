"""Running a sweep: expand → validate every point → dispatch → stream to the journal → consolidate.

Nothing runs until every point has been expanded and validated, so a typo in
an axis or an impossible value stops the sweep before it costs anything.
Results stream into ``<out>/journal.jsonl`` as points finish; ``resume``
picks up after a crash or Ctrl-C; the consolidated tables are sorted by
point index, so they do not depend on the executor or the order of
completion.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qnetemu.errors import UserError
from qnetemu.results.manifest import git_commit, package_versions
from qnetemu.results.outdir import SWEEP_MANIFEST, DirLock, check_sweep_target
from qnetemu.results.store import read_sweep_manifest
from qnetemu.scenario.load import content_hash
from qnetemu.scenario.sweep_spec import SweepSpec
from qnetemu.sweep import sharing
from qnetemu.sweep.axes import (
    PathError,
    Point,
    apply_overrides,
    check_axis_paths,
    expand_axes,
    expand_points,
    fill_from_defaults,
    resolve_path,
)
from qnetemu.sweep.executors import PointFn, make_executor
from qnetemu.sweep.journal import (
    JOURNAL_NAME,
    STATUS_OK,
    Journal,
    build_tables,
    latest_by_point,
    read_journal,
    write_tables,
)

MANIFEST_FORMAT = 1
ValidateFn = Callable[[dict[str, Any], str], Any]


@dataclass
class SweepSummary:
    """What a sweep did."""

    out_dir: Path
    total: int  # points in the expansion
    skipped: int  # already done in the journal (resume)
    ran: int  # run by this call
    ok: int  # finished with rows, over the whole journal
    failed: int  # failed, over the whole journal
    elapsed_s: float
    tables: dict[str, Path] = field(default_factory=dict)


# One definition of provenance for runs and sweeps.
scenario_hash = content_hash


def _write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _remove_torn_files(out: Path) -> None:
    """Delete the ``*.tmp`` files of an atomic write a killed sweep left (the real file is intact)."""
    for tmp in out.glob("*.tmp"):
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink()


def _spec_of(
    scenario_dict: Mapping[str, Any], sweep_spec: SweepSpec | Mapping[str, Any] | None, where: str
) -> SweepSpec:
    if isinstance(sweep_spec, SweepSpec):
        return sweep_spec
    data = sweep_spec if sweep_spec is not None else scenario_dict.get("sweep")
    if data is None:
        raise UserError("the scenario has no sweep: section", file=where, field="sweep")
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(
            ".[", "["
        )
        raise UserError(err["msg"], file=where, field=f"sweep.{loc}" if loc else "sweep") from None


def _default_point_fn() -> PointFn:
    from qnetemu.pipeline import evaluate_point  # the lead's pipeline; imported when first needed

    return evaluate_point


def _default_validate_fn() -> ValidateFn:
    from qnetemu.scenario.load import validate_scenario_dict

    def validate(data: dict[str, Any], where: str) -> Any:
        return validate_scenario_dict(data, file=where)

    return validate


#: Above this many points to compute, ``executor="auto"`` starts Ray (it costs 7-20 s to start).
SERIAL_MAX_POINTS = 32


def choose_executor(executor: str, points_to_run: int, address: str | None) -> str:
    """``"auto"`` -> ``"ray"`` for a cluster or a large sweep, else ``"local"``; other values unchanged."""
    if executor != "auto":
        return executor
    if address or os.environ.get("RAY_ADDRESS") or points_to_run > SERIAL_MAX_POINTS:
        return "ray"
    return "local"


def materialise_defaults(spec: SweepSpec, base: Mapping[str, Any], validate_fn: ValidateFn, where: str) -> dict[str, Any]:
    """The base scenario with every swept parameter that was left at its default written out.

    Axis paths are checked against the validated model (defaults filled in),
    so a parameter the YAML does not mention can be swept.
    """
    paths = [ax.path for ax in spec.axes]
    if spec.latin_hypercube is not None:
        paths += [ax.path for ax in spec.latin_hypercube.axes]
    missing = []
    for path in paths:
        try:
            resolve_path(base, path)
        except PathError:
            missing.append(path)
    if not missing:
        return dict(base)
    model = validate_fn(dict(base), where)
    if not hasattr(model, "model_dump"):
        return dict(base)
    full = model.model_dump(mode="json")
    out = dict(base)
    for path in missing:
        out = fill_from_defaults(out, full, path)
    return out


def _describe(point: Point) -> str:
    over = ", ".join(f"{k}={v!r}" for k, v in point.overrides.items())
    return f"sweep point {point.index} ({over or 'no overrides'}; {point.engine}, {point.architecture})"


def validate_points(
    base: Mapping[str, Any], points: list[Point], validate_fn: ValidateFn, scenario_name: str
) -> None:
    """Validate the scenario of every distinct parameter combination; raise the first UserError.

    Engines, architectures and repetitions share a combination's scenario, so
    each combination is validated once.
    """
    seen: set[str] = set()
    for p in points:
        key = json.dumps(sorted(p.overrides.items()), default=str)
        if key in seen:
            continue
        seen.add(key)
        validate_fn(apply_overrides(base, p.overrides), f"{scenario_name} [{_describe(p)}]")


@dataclass(frozen=True)
class SweepPlan:
    """A sweep expanded and checked, nothing run yet: what :func:`run_sweep` dispatches."""

    spec: SweepSpec
    points: list[Point]
    base: dict[str, Any]  # the scenario with the swept parameters' defaults written in


def plan_sweep(
    scenario_dict: Mapping[str, Any],
    sweep_spec: SweepSpec | Mapping[str, Any] | None = None,
    *,
    where: str = "<scenario>",
    validate_fn: ValidateFn | None = None,
) -> SweepPlan:
    """Count, expand and validate every point of a sweep; raise UserError on the first problem.

    The size is checked against ``limits.max_sweep_points`` from the
    point count alone, before any point is built.
    """
    from qnetemu.scenario.schema import Limits

    spec = _spec_of(scenario_dict, sweep_spec, where)
    try:
        limits = Limits.model_validate(scenario_dict.get("limits") or {})
    except ValidationError as exc:
        raise UserError(exc.errors()[0]["msg"], file=where, field="limits") from None
    if (n := spec.point_count()) > limits.max_sweep_points:
        raise UserError(f"{n:,} points is above the limit of {limits.max_sweep_points:,}; raise "
                        "limits.max_sweep_points to allow it", file=where, field="sweep")
    validate_fn = validate_fn or _default_validate_fn()
    try:
        base = materialise_defaults(spec, dict(scenario_dict), validate_fn, where)
        check_axis_paths(spec, base)
        points = expand_points(spec)
    except PathError as exc:
        raise UserError(str(exc), file=where) from None
    validate_points(base, points, validate_fn, where)
    return SweepPlan(spec=spec, points=points, base=base)


class _Progress:
    """A rich progress bar on stderr (done, failed, ETA); plain lines for a log; or nothing.

    ``enabled`` None means a log (stderr is not a terminal): a line at every
    twentieth of the points, so a sweep of minutes never looks hung and one
    of 100,000 points writes 20 lines, not 100,000.
    """

    def __init__(self, enabled: bool | None, total: int, done: int):
        self._bar = None
        self.failed = 0
        self._lines = enabled is None
        self._total, self._done, self._step = total, done, 0
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("failed {task.fields[failed]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task("sweep", total=total, completed=done, failed=0)
        self._bar.start()

    def advance(self, n: int, failed: int) -> None:
        self.failed += failed
        self._done += n
        if self._bar is not None:
            self._bar.update(self._task, advance=n, failed=self.failed)
        elif self._lines and n and self._total:
            step = 20 * self._done // self._total
            if step > self._step:
                self._step = step
                print(f"sweep: {self._done:,}/{self._total:,} points done, {self.failed:,} failed",
                      file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def run_sweep(
    scenario_path: str | os.PathLike[str] | None,
    scenario_dict: Mapping[str, Any],
    sweep_spec: SweepSpec | Mapping[str, Any] | None = None,
    *,
    out_dir: str | os.PathLike[str],
    executor: str = "auto",
    address: str | None = None,
    resume: bool = False,
    workers: int | None = None,
    ship_code: bool = False,
    point_fn: PointFn | None = None,
    validate_fn: ValidateFn | None = None,
    progress: bool | None = None,
    ray_options: Mapping[str, Any] | None = None,
    share_work: bool | None = None,
    plan: SweepPlan | None = None,
) -> SweepSummary:
    """Run every point of a sweep and consolidate the results into tables.

    Parameters
    ----------
    scenario_path
        The scenario file (for messages and the manifest); None for an in-memory scenario.
    scenario_dict
        The scenario as loaded from YAML (plain dicts and lists). Never modified.
    sweep_spec
        The sweep; default: the scenario's ``sweep:`` section.
    out_dir
        Output directory: ``sweep.json``, ``journal.jsonl``, ``points.parquet``
        and one ``<table>.parquet`` per result table (each with a ``.csv``).
    executor
        ``"ray"``, ``"local"`` (serial, in this process) or ``"auto"``: Ray
        when a cluster address is given or the sweep has more than
        :data:`SERIAL_MAX_POINTS` points to compute, else serial (starting
        Ray costs more than a small sweep).
    address
        Ray cluster head ``HOST:PORT``; default ``RAY_ADDRESS``, else a private local Ray.
    resume
        Continue a sweep in ``out_dir``: points already finished are skipped,
        failed ones run again. Refused if the scenario changed.
    workers
        CPUs of the private local Ray.
    ship_code
        Send this project to the cluster's workers as the job's working_dir.
    point_fn
        ``point_fn(scenario_dict, *, engine, architecture, seed, source) -> {table: rows}``;
        default ``qnetemu.pipeline.evaluate_point``.
    validate_fn
        ``validate_fn(scenario_dict, where)`` raising UserError; default the
        scenario loader's validation. Called on every point before anything runs.
    progress
        Show a progress bar on stderr; None: when stderr is a terminal, else a line per twentieth of the
        points (a log).
    ray_options
        Extra keyword arguments of :class:`qnetemu.sweep.executors.RayExecutor`.
    plan
        The result of :func:`plan_sweep` when the caller has checked the sweep
        already; planned here otherwise.
    share_work
        Compute once what several points would compute alike (see
        :mod:`qnetemu.sweep.sharing`) and copy it to each; False runs every
        point. Default: share when ``point_fn`` is qnetemu's own (whose
        dependencies sharing knows), not for a caller's function.

    Raises
    ------
    UserError
        Bad sweep section, axis path not in the scenario, invalid point,
        unreachable cluster, output directory that holds another sweep.
    """
    t0 = time.perf_counter()
    name = str(scenario_path) if scenario_path is not None else "<scenario>"
    plan = plan or plan_sweep(scenario_dict, sweep_spec, where=name, validate_fn=validate_fn)
    spec, points, base = plan.spec, plan.points, plan.base
    if share_work is None:
        share_work = point_fn is None
    point_fn = point_fn or _default_point_fn()

    out = check_sweep_target(out_dir)  # never write into a directory that is not this sweep's
    with DirLock(out):  # a second writer of the same directory is refused, not interleaved
        _remove_torn_files(out)
        out.mkdir(parents=True, exist_ok=True)
        manifest_path = out / SWEEP_MANIFEST
        journal_path = out / JOURNAL_NAME
        digest = scenario_hash(scenario_dict)
        if resume:
            if manifest_path.exists():
                old = read_sweep_manifest(out)
                if old.get("scenario_hash") != digest:
                    raise UserError(
                        "cannot resume: the scenario changed since this sweep started "
                        f"(hash {str(old.get('scenario_hash'))[:12]}… there, {digest[:12]}… now); use another --out",
                        file=str(manifest_path),
                    )
        elif journal_path.exists() and read_journal(journal_path)[0]:
            raise UserError(
                "holds results of a sweep already; pass --resume to continue it or choose another --out",
                file=str(out),
            )

        manifest: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "scenario_path": name,
            "scenario_hash": digest,
            "master_seed": spec.seed,
            "mode": spec.mode,
            "axes": [
                {"where": a.where, "paths": list(a.paths), "values": [list(v) for v in a.values]}
                for a in expand_axes(spec)
            ],
            "counts": {
                "combinations": len(points)
                // (len(spec.engines) * len(spec.architectures) * spec.repetitions),
                "engines": len(spec.engines),
                "architectures": len(spec.architectures),
                "repetitions": spec.repetitions,
                "points": len(points),
            },
            "executor": executor,
            "address": address or os.environ.get("RAY_ADDRESS") or "",
            "versions": package_versions(),
            "git_sha": git_commit() or "",
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if resume and manifest_path.exists():
            manifest["resumed_utc"] = manifest["started_utc"]
            manifest["started_utc"] = read_sweep_manifest(out).get(
                "started_utc", manifest["started_utc"]
            )
        _write_json_atomic(manifest_path, manifest)

        with Journal(journal_path) as journal:
            done = {
                pid
                for pid, r in latest_by_point(journal.records).items()
                if r.get("status") == STATUS_OK
            }
            todo = [p for p in points if p.point_id not in done]
            skipped = len(points) - len(todo)
            groups = sharing.plan(points) if share_work else {}
            followers = {f.point_id for fs in groups.values() for f in fs}
            pending_ids = {p.point_id for p in todo}

            def copies(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
                return [sharing.copy_record(r, f) for r in records for f in groups.get(r["point_id"], [])
                        if f.point_id in pending_ids]

            # Followers whose representative finished in an earlier (resumed) run: copy now.
            early = copies([r for pid, r in latest_by_point(journal.records).items() if pid in done])
            if early:
                journal.extend(early)
            pending_ids -= {r["point_id"] for r in early}
            run_now = [p for p in todo if p.point_id not in followers]
            executor = choose_executor(executor, len(run_now), address)
            manifest["executor"] = executor
            bar = _Progress((sys.stderr.isatty() or None) if progress is None else progress, len(points), skipped)
            ran = len(early)
            bar.advance(len(early), sum(r["status"] != STATUS_OK for r in early))
            try:
                if run_now:
                    with make_executor(
                        executor,
                        address=address,
                        workers=workers,
                        ship_code=ship_code,
                        **dict(ray_options or {}),
                    ) as ex:
                        for records in ex.run(
                            point_fn,
                            base,
                            run_now,
                            source=name,
                            points_per_task=spec.points_per_task,
                            num_cpus=spec.task_num_cpus,
                            memory_bytes=spec.memory_bytes_per_task(),
                        ):
                            records = list(records) + copies(list(records))
                            journal.extend(records)
                            ran += len(records)
                            bar.advance(len(records), sum(r["status"] != STATUS_OK for r in records))
            finally:
                bar.close()
            final = latest_by_point(journal.records)

        tables = write_tables(out, build_tables(points, final))
        ok = sum(final.get(p.point_id, {}).get("status") == STATUS_OK for p in points)
        failed = sum(p.point_id in final and final[p.point_id]["status"] != STATUS_OK for p in points)
        summary = SweepSummary(
            out_dir=out,
            total=len(points),
            skipped=skipped,
            ran=ran,
            ok=ok,
            failed=failed,
            elapsed_s=time.perf_counter() - t0,
            tables=tables,
        )
        manifest.update(
            finished_utc=datetime.now(UTC).isoformat(timespec="seconds"),
            results={"ok": ok, "failed": failed, "tables": sorted(tables)},
        )
        _write_json_atomic(manifest_path, manifest)
        return summary


def check_sweep(scenario_path: str | os.PathLike[str] | None, scenario_dict: Mapping[str, Any],
                validate_fn: ValidateFn | None = None) -> list[Point]:
    """Everything ``run_sweep`` checks before it runs (the section, axis paths, every point), nothing run.

    Returns the expanded points. Raises UserError naming the file and field.
    """
    name = str(scenario_path) if scenario_path is not None else "<scenario>"
    return plan_sweep(scenario_dict, where=name, validate_fn=validate_fn).points
