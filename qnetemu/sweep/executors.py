"""Where sweep points run: serially in this process, or as batches of tasks on Ray.

Both executors turn each point into the same record (see :func:`run_point`);
the numbers depend only on the point (its overrides and seed), never on the
executor. A point whose function raises is recorded with ``status="failed"``
and its error, and the sweep goes on.

Ray is imported only when the Ray executor is used (importing it costs
about 1.5 s).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from qnetemu.errors import UserError
from qnetemu.sweep.axes import Point, apply_overrides
from qnetemu.sweep.journal import STATUS_FAILED, STATUS_OK, encode_record

PointFn = Callable[..., Mapping[str, Sequence[Mapping[str, Any]]]]
Record = dict[str, Any]

#: What ``--ship-code`` leaves out of the working directory sent to a cluster.
SHIP_CODE_EXCLUDES = [
    "results/",
    ".git/",
    "**/__pycache__/",
    "*.parquet",
    "*.jsonl",
    ".venv/",
    "benchmarks/",
]


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, UserError):
        return exc.one_line()
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def base_record(point: Point) -> Record:
    """The fields that name a point in its journal record."""
    return {
        "point_id": point.point_id,
        "index": point.index,
        "seed": point.seed,
        "engine": point.engine,
        "architecture": point.architecture,
        "rep": point.rep,
        "overrides": point.overrides,
    }


def failed_record(point: Point, error: str, provenance: Mapping[str, Any] | None = None) -> Record:
    """The record of a point that did not produce rows."""
    return {
        **base_record(point),
        "status": STATUS_FAILED,
        "error": error,
        "rows": {},
        "elapsed_s": 0.0,
        "provenance": dict(provenance or {}),
    }


def _normalise_rows(result: Any) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(result, Mapping):
        raise TypeError(
            f"point function must return a mapping of table name to rows, got {type(result).__name__}"
        )
    for name, rows in result.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"table name {name!r} is not an identifier")
        if isinstance(rows, str | bytes) or not all(isinstance(r, Mapping) for r in rows):
            raise TypeError(f"table {name!r} must be a list of row mappings")
    # A JSON round trip here makes the rows exactly what the journal will hold, so a
    # resumed sweep and an uninterrupted one consolidate to the same numbers.
    return json.loads(encode_record({k: [dict(r) for r in v] for k, v in result.items()}))


def run_point(
    point_fn: PointFn,
    base_scenario: Mapping[str, Any],
    point: Point,
    *,
    source: str,
    provenance: Mapping[str, Any] | None = None,
) -> Record:
    """Run one point and return its journal record, catching the point's own errors."""
    t0 = time.perf_counter()
    try:
        scenario = apply_overrides(base_scenario, point.overrides)
        rows = _normalise_rows(
            point_fn(
                scenario,
                engine=point.engine,
                architecture=point.architecture,
                seed=point.seed,
                source=source,
            )
        )
    except Exception as exc:  # a failing point is data, not a crash of the sweep
        rec = failed_record(point, _error_text(exc), provenance)
        rec["traceback"] = traceback.format_exc(limit=8)
        rec["elapsed_s"] = time.perf_counter() - t0
        return rec
    return {
        **base_record(point),
        "status": STATUS_OK,
        "error": "",
        "rows": rows,
        "elapsed_s": time.perf_counter() - t0,
        "provenance": dict(provenance or {}),
    }


def run_batch(
    point_fn: PointFn,
    base_scenario: Mapping[str, Any],
    source: str,
    points: Sequence[Point],
    in_ray: bool = False,
) -> list[Record]:
    """Run a batch of points in one process (the body of the Ray task)."""
    prov: dict[str, Any] = {"hostname": socket.gethostname(), "pid": os.getpid(), "node_id": ""}
    if in_ray:
        import ray

        prov["node_id"] = ray.get_runtime_context().get_node_id()
    return [run_point(point_fn, base_scenario, p, source=source, provenance=prov) for p in points]


class Executor(Protocol):
    """Runs points and yields their records as they finish (in any order)."""

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...

    def run(
        self,
        point_fn: PointFn,
        base_scenario: Mapping[str, Any],
        points: Sequence[Point],
        *,
        source: str,
        points_per_task: int,
        num_cpus: float,
        memory_bytes: int | None,
    ) -> Iterator[list[Record]]: ...


class LocalExecutor:
    """Serial, in-process execution: no start-up cost, easiest to debug."""

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(
        self,
        point_fn: PointFn,
        base_scenario: Mapping[str, Any],
        points: Sequence[Point],
        *,
        source: str,
        points_per_task: int = 1,
        num_cpus: float = 1.0,
        memory_bytes: int | None = None,
    ) -> Iterator[list[Record]]:
        for p in points:
            yield run_batch(point_fn, base_scenario, source, [p])


_REMOTE_BATCH: Any = None


def _remote_batch() -> Any:
    """The one Ray remote function of this module (created once, on first use)."""
    global _REMOTE_BATCH
    if _REMOTE_BATCH is None:
        import ray

        _REMOTE_BATCH = ray.remote(run_batch)
    return _REMOTE_BATCH


def project_root() -> Path:
    """The directory that holds the ``qnetemu`` package (what ``--ship-code`` sends)."""
    return Path(__file__).resolve().parents[2]


def check_reachable(address: str, timeout_s: float) -> None:
    """Raise UserError quickly when nothing listens at ``host:port``."""
    if address == "auto":
        return
    if address.startswith("ray://"):
        raise UserError(
            "Ray Client addresses (ray://) are not supported; give the head's GCS address HOST:PORT "
            "(port 6379 by default)",
            field="--address",
        )
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(f"Ray address {address!r} is not HOST:PORT", field="--address")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise UserError(
            f"cannot reach a Ray cluster at {address} ({exc}); is `ray start --head` running there?",
            field="--address",
        ) from None


#: Environment of the private local Ray (and of the processes it starts).
#: RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 is Ray's single-machine switch: without it Ray turns
#: ``_node_ip_address="127.0.0.1"`` into the host's address (services.resolve_ip_for_localhost)
#: and the GCS, raylet, object manager and workers listen on every interface.
_PRIVATE_RAY_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    "RAY_AUTH_MODE": "token",
    "RAY_USAGE_STATS_ENABLED": "0",
}
_AUTH_VARS = ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


class PrivateRayEnv:
    """Set up, and afterwards undo, what makes the private local Ray private.

    * loopback only (see ``_PRIVATE_RAY_ENV``), also when Ray was imported before;
    * token authentication with a fresh random token, given to the processes
      it starts through ``RAY_AUTH_TOKEN`` (no ``~/.ray/auth_token`` is written);
    * a temp dir of its own (short: Unix socket paths are limited to 107 bytes),
      removed at the end.
    """

    def __init__(self, temp_dir: str | None = None):
        self._given_temp_dir = temp_dir
        self.temp_dir = ""
        self._saved: dict[str, str | None] = {}
        self._saved_cluster_flag: bool | None = None
        self._remove_temp_dir = False

    def enter(self) -> None:
        import secrets
        import tempfile

        names = (*_PRIVATE_RAY_ENV, *_AUTH_VARS)
        self._saved = {k: os.environ.get(k) for k in names}
        os.environ.update(_PRIVATE_RAY_ENV)
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
        if self._given_temp_dir:
            self.temp_dir = self._given_temp_dir
            self._remove_temp_dir = not os.path.exists(self.temp_dir)
        else:
            self.temp_dir = tempfile.mkdtemp(prefix="qr-", dir="/tmp")  # private (0700), unguessable
            self._remove_temp_dir = True
        self._saved_cluster_flag = _set_ray_cluster_flag(False)
        refresh_ray_config()

    def exit(self) -> None:
        import shutil

        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if self._saved_cluster_flag is not None:
            _set_ray_cluster_flag(self._saved_cluster_flag)
        refresh_ray_config()
        if self._remove_temp_dir and self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


def raylet_fatal_error(temp_dir: str) -> str:
    """The raylet's fatal log line of the latest session (what Ray's own start-up error leaves out)."""
    for log in sorted(Path(temp_dir).glob("session_*/logs/raylet.out"), key=lambda p: p.stat().st_mtime)[-1:]:
        with contextlib.suppress(OSError):
            for line in log.read_text(errors="replace").splitlines():
                if "Check failed" in line:
                    return "raylet: " + line.split("Check failed:", 1)[1].strip()[:200]
    return ""


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, from /proc (from ``ps`` elsewhere)."""
    table: dict[int, tuple[int, str, str]] = {}
    if not os.path.isdir("/proc/self"):
        import subprocess

        with contextlib.suppress(OSError, subprocess.SubprocessError):
            ps = subprocess.run(["ps", "-axo", "pid=,ppid=,stat=,command="], capture_output=True,
                                text=True, timeout=30).stdout
            for line in ps.splitlines():
                pid, ppid, stat, *cmd = line.split(None, 3)
                table[int(pid)] = (int(ppid), stat[:1], " ".join(cmd))
        return table
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read().decode(errors="replace")
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
        table[int(entry)] = (int(fields[1]), fields[0], cmdline)
    return table


def ray_processes(temp_dir: str) -> list[int]:
    """The processes of the private Ray: those that name its (unique) temp dir, and their descendants."""
    import re

    names_it = re.compile(re.escape(temp_dir.rstrip("/")) + r"(?=/|\s|$)")  # not /tmp/qr-12 for /tmp/qr-1
    table = _proc_table()
    found = [pid for pid, (_, _, cmd) in table.items() if pid != os.getpid() and names_it.search(cmd)]
    i = 0
    while i < len(found):
        found += [pid for pid, (ppid, _, _) in table.items() if ppid == found[i] and pid not in found]
        i += 1
    return found


def stop_processes(pids: list[int], grace_s: float = 10.0) -> None:
    """Stop processes by pid: SIGTERM, and SIGKILL those still running after ``grace_s``."""
    import signal

    def running() -> list[int]:
        table = _proc_table()
        return [p for p in pids if p in table and table[p][1] not in ("Z", "X")]

    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        for pid in running():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait_s
        while running() and time.monotonic() < deadline:
            time.sleep(0.1)


def _set_ray_cluster_flag(value: bool) -> bool:
    """Set Ray's multi-node switch (read from the environment only when Ray is imported); return the old one."""
    from ray._private import ray_constants

    old = bool(ray_constants.ENABLE_RAY_CLUSTER)
    ray_constants.ENABLE_RAY_CLUSTER = value
    return old


def refresh_ray_config() -> None:
    """Make this process see the RAY_AUTH_* variables just set (Ray caches them; it does this itself too)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


class RayExecutor:
    """Batches of points as Ray tasks, on a private local Ray or on a cluster.

    Parameters
    ----------
    address
        ``HOST:PORT`` of a running cluster's head (or ``auto``). None: read
        ``RAY_ADDRESS``; when that is unset too, or for ``"local"`` (Ray's own
        word for it, whatever ``RAY_ADDRESS`` says), start a private local Ray
        that listens on 127.0.0.1 only, requires a fresh random token, starts
        no dashboard, and is stopped (its temp dir removed) at the end.
    workers
        CPUs of the private local Ray (default: all cores). Ignored on a cluster.
    ship_code
        On a cluster, send this project as the job's ``working_dir`` (for
        nodes that do not have qnetemu installed).
    temp_dir
        Temp dir of the private local Ray; must be short (Unix socket paths).
        Default: a fresh ``/tmp/qr-*``. Removed at the end if this executor created it.
    connect_timeout_s
        How long to try reaching ``address`` before giving up. [s]
    max_in_flight
        Tasks submitted and not yet collected (default: twice the tasks that
        fit on the cluster's CPUs at once).
    max_retries
        Re-runs of a task whose worker process or node died (Python
        exceptions are never retried: they are recorded).
    task_options
        Extra ``.options(...)`` for every task (e.g. custom ``resources``).
    ray_option, serial_hint
        The caller's option that asked for Ray (the field of a failed local
        start's message) and what that message suggests instead.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        ship_code: bool = False,
        temp_dir: str | None = None,
        connect_timeout_s: float = 10.0,
        max_in_flight: int | None = None,
        max_retries: int = 3,
        task_options: Mapping[str, Any] | None = None,
        ray_option: str = "--executor",
        serial_hint: str = "use --executor local",
    ):
        if workers is not None and workers < 1:
            raise UserError(f"workers must be >= 1, got {workers}", field="--workers")
        self.address = None if address == "local" else address or os.environ.get("RAY_ADDRESS") or None
        self.ray_option, self.serial_hint = ray_option, serial_hint
        self.workers = workers
        self.ship_code = ship_code
        self.temp_dir = temp_dir
        self.connect_timeout_s = connect_timeout_s
        self.max_in_flight = max_in_flight
        self.max_retries = max_retries
        self.task_options = dict(task_options or {})
        self._started = False
        self._private: PrivateRayEnv | None = None

    def __enter__(self) -> RayExecutor:
        if self.address:
            check_reachable(self.address, self.connect_timeout_s)
        import ray

        if ray.is_initialized():
            return self  # someone else's Ray (a test fixture, a notebook): use it, leave it running
        if self.address:
            kwargs: dict[str, Any] = {}
            if self.ship_code:
                kwargs["runtime_env"] = {
                    "working_dir": str(project_root()),
                    "excludes": SHIP_CODE_EXCLUDES,
                }
            try:
                ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING,
                         **kwargs)
            except Exception as exc:
                raise UserError(
                    f"could not join the Ray cluster at {self.address}: {_error_text(exc)}",
                    field="--address",
                ) from None
        else:
            # Private Ray: loopback only, token-authenticated, no dashboard, no usage report,
            # its temp dir removed at the end. Its workers get the driver's sys.path, so they
            # import qnetemu from this tree.
            self._private = PrivateRayEnv(self.temp_dir)
            self._private.enter()
            try:
                self._start_local(ray, self._private.temp_dir)
            except BaseException:
                # Ctrl-C or SIGTERM while `ray start` runs: what it started already is stopped too
                if ray.is_initialized():
                    ray.shutdown()
                stop_processes(ray_processes(self._private.temp_dir), grace_s=5.0)
                self._private.exit()
                raise
        self._started = True
        return self

    def _start_local(self, ray: Any, temp_dir: str, attempts: int = 3) -> None:
        """Start a one-node Ray with ``ray start --head`` and connect this driver to it.

        ``ray start`` (unlike ``ray.init``) can leave out the autoscaler monitor and the
        log monitor: two fewer Python processes importing Ray while the raylet waits a
        fixed 15 s for its agents (ray-project/ray#65983), which is what fails on a
        loaded machine; another try usually succeeds.
        """
        import subprocess
        import sys

        cause = ""
        for _attempt in range(attempts):
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            cmd = [sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
                   "--node-ip-address=127.0.0.1", f"--port={port}",
                   f"--num-cpus={self.workers or os.cpu_count() or 1}",
                   "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}",
                   "--no-monitor", "--include-log-monitor=false"]
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                failed = out.returncode != 0
                cause = out.stderr.strip().splitlines()[-1] if failed and out.stderr.strip() else ""
            except subprocess.TimeoutExpired:
                failed, cause = True, "ray start did not answer in 300 s"
            if not failed:
                try:
                    ray.init(address=f"127.0.0.1:{port}", log_to_driver=False,
                             logging_level=logging.WARNING)  # no INFO lines amid the progress
                    return
                except Exception as exc:
                    failed, cause = True, _error_text(exc)
                    ray.shutdown()
            cause = raylet_fatal_error(temp_dir) or cause
            stop_processes(ray_processes(temp_dir), grace_s=5.0)
        raise UserError(
            f"could not start a local Ray in {attempts} tries ({cause}); the machine may be "
            f"overloaded: try again, or {self.serial_hint}",
            field=self.ray_option,
        )

    def __exit__(self, *exc: object) -> None:
        if self._started:
            import ray

            started = ray_processes(self._private.temp_dir) if self._private is not None else []
            ray.shutdown()  # disconnects this driver
            self._started = False
            if self._private is not None:
                stop_processes(started)  # the node it started, by pid: never a bare `ray stop`
                self._private.exit()
                self._private = None

    def stream(
        self,
        remote: Any,
        calls: Sequence[tuple[Any, ...]],
        options: Mapping[str, Any],
    ) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Run ``remote.remote(*call)`` for every call; yield ``(index, result, None)`` as each
        finishes, or ``(index, None, exc)`` when its task died (worker or node lost).

        A bounded number of tasks is in flight (``max_in_flight``, default twice
        the tasks that fit on the cluster's CPUs); tasks never retry a Python
        exception, and re-run up to ``max_retries`` times when their worker dies.
        Closing the iterator early (Ctrl-C, an error in the caller) cancels the
        tasks still running: no work is left on a shared cluster.
        """
        import ray

        opts: dict[str, Any] = {"max_retries": self.max_retries, "retry_exceptions": False,
                                **options, **self.task_options}
        in_flight = self.max_in_flight
        if in_flight is None:
            cpus = float(ray.cluster_resources().get("CPU", 1.0))
            in_flight = max(2, 2 * math.floor(cpus / float(opts.get("num_cpus", 1.0))))
        todo = iter(enumerate(calls))
        pending: dict[Any, int] = {}
        try:
            exhausted = False
            while pending or not exhausted:
                while not exhausted and len(pending) < in_flight:
                    item = next(todo, None)
                    if item is None:
                        exhausted = True
                        break
                    pending[remote.options(**opts).remote(*item[1])] = item[0]
                if not pending:
                    break
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    index = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except Exception as exc:  # the task itself died (worker or node lost)
                        yield index, None, exc
                    else:
                        yield index, result, None
        finally:
            for ref in pending:  # interrupted: do not leave work running on a shared cluster
                ray.cancel(ref, force=True)

    def run(
        self,
        point_fn: PointFn,
        base_scenario: Mapping[str, Any],
        points: Sequence[Point],
        *,
        source: str,
        points_per_task: int = 8,
        num_cpus: float = 1.0,
        memory_bytes: int | None = None,
    ) -> Iterator[list[Record]]:
        import ray

        options: dict[str, Any] = {"num_cpus": num_cpus}
        if memory_bytes:
            options["memory"] = memory_bytes
        fn_ref = ray.put(point_fn)
        base_ref = ray.put(dict(base_scenario))
        batches = [list(points[i : i + points_per_task]) for i in range(0, len(points), points_per_task)]
        calls = [(fn_ref, base_ref, source, batch, True) for batch in batches]
        for index, records, exc in self.stream(_remote_batch(), calls, options):
            yield records if exc is None else [failed_record(p, _error_text(exc)) for p in batches[index]]


def make_executor(
    kind: str,
    *,
    address: str | None = None,
    workers: int | None = None,
    ship_code: bool = False,
    **ray_options: Any,
) -> LocalExecutor | RayExecutor:
    """``"local"`` or ``"ray"`` executor from CLI-style options."""
    if kind == "local":
        if address:
            raise UserError("--address needs --executor ray", field="--address")
        return LocalExecutor()
    if kind == "ray":
        return RayExecutor(address=address, workers=workers, ship_code=ship_code, **ray_options)
    raise UserError(f"unknown executor {kind!r} (expected 'ray' or 'local')", field="--executor")
