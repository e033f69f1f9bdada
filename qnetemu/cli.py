"""The ``qnetemu`` command line: thin commands over the library.

A user's mistake is one line on stderr and exit status 2 (see
:class:`qnetemu.errors.UserError`); nothing is written in that case. Usage
errors (unknown option, missing argument, ``--seed abc``) are the same one
line. Text from the user (names, paths) is printed as plain text: never read
as rich markup, and control characters shown as escapes
(:func:`qnetemu.formatting.printable`).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from qnetemu.engine_names import DEFAULT_ENGINE, ENGINES
from qnetemu.errors import EXIT_USER_ERROR, UserError
from qnetemu.formatting import count, format_latency, format_rate, printable

app = typer.Typer(
    name="qnetemu",
    help="Quantum-network emulator: trusted-node QKD, repeaters, satellites, sweeps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Tables are read in logs and CI output too: never squeeze them to 80 columns.
# No markup, emoji codes or highlighting: a site called "x[/bold]" or ":cat:" is printed as it is.
out = Console(width=None if sys.stdout.isatty() else 160, markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def plain(text: object, style: str = "") -> Text:
    """User text as a rich Text: no markup, control characters escaped."""
    return Text(printable(text), style=style)


def say_error(message: str) -> None:
    """The one line of a refused command."""
    err.print(Text.assemble(("error:", "red"), " ", printable(message)), soft_wrap=True)


def _check_out_dir(target: Path, field: str = "--out") -> None:
    """Refuse, before any work, an output path that cannot become a directory or cannot be written.

    The results are written into a hidden sibling of ``target`` (and a lock
    file sits beside it), so the directory that will hold ``target`` must take
    new files, and so must ``target`` itself when it exists (emulations and
    sweeps write into it). A probe file is the only test that also holds for
    root on read-only or virtual file systems (``os.access`` says yes there).
    """
    existing = []
    for place in (target, *target.parents):
        if place.exists() or place.is_symlink():
            if not place.is_dir():
                what = "is" if place == target else f"is inside {place}, which is"
                raise UserError(f"{what} not a directory; give a directory for the results", file=str(target),
                                field=field)
            existing.append(place)
            if place != target:
                break
    for place in existing:
        problem = _cannot_write(place)
        if problem:
            raise UserError(f"cannot create files in {place} ({problem}); give a writable directory",
                            file=str(target), field=field)


def _cannot_write(directory: Path) -> str | None:
    """Why no file can be created in ``directory``, or None when one can (it is removed at once)."""
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".qnetemu-probe-", dir=directory)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    os.close(fd)
    os.unlink(probe)
    return None

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]
#: SeedSequence takes any non-negative integer; 64 bits is what sweeps record and Parquet stores.
MAX_SEED = 2**64 - 1


def scenario_yaml(raw: dict, path: Path) -> str:
    """The scenario mapping the run used (``extends`` resolved): what its hash covers."""
    import yaml

    return f"# qnetemu: scenario as evaluated, from {path}\n" + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def _load(path: Path, *, sweep: bool | None = False):
    from qnetemu.preflight import preflight

    checked = preflight(path, sweep=sweep)
    return checked.scenario, checked.raw, checked.resolved, checked.digest


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file without running it: every check run and sweep make before their work."""
    from qnetemu.preflight import preflight

    checked = preflight(scenario)
    sc, resolved = checked.scenario, checked.resolved
    points = f", sweep of {len(checked.sweep_plan.points):,} points" if checked.sweep_plan else ""
    out.print(Text.assemble(("ok", "green"), " ", printable(
        f"{scenario}: {sc.name!r}, {count(len(resolved.sites), 'site')}, {count(len(resolved.links), 'link')}, "
        f"{count(len(resolved.demands), 'demand')}, {count(len(sc.satellites), 'satellite')}{points} "
        f"(sha256 {checked.digest[:12]})")))


def _demand_table(rows: list[dict], title: str) -> Table:
    """Demands with their route through real sites; inserted trusted nodes are counted, not named."""
    archs = {r.get("architecture") for r in rows}
    table = Table(title=plain(title), title_justify="left")
    table.add_column("Demand")
    if len(archs) > 1:
        table.add_column("Architecture")
    table.add_column("Route (sites)", overflow="fold")
    for col in ("Trusted nodes", "Distance", "Key rate", "Bottleneck link", "Latency"):
        table.add_column(col, justify="right")
    for r in rows:
        route = r.get("route_sites") if r.get("status") == "ok" else r.get("status", "-")
        dist = r.get("distance_km")
        cells = [f"{r['a']} ↔ {r['b']}"]
        if len(archs) > 1:
            cells.append(str(r.get("architecture", "")).replace("_", " "))
        cells += [
            route,
            str(r.get("trusted_nodes", "")),
            "-" if dist is None or dist != dist else f"{dist:,.0f} km",
            format_rate(r.get("key_rate_bps")),
            format_rate(r.get("bottleneck_key_rate_bps")),
            format_latency(r.get("latency_s")),
        ]
        table.add_row(*(plain(c) for c in cells))
    return table


#: Above this many demand rows the terminal gets a summary per architecture and the path to the table.
MAX_TABLE_ROWS = 40


def _summary_table(rows: list[dict], title: str) -> Table:
    """Per architecture: demands with key, median and weakest key rate, median trusted nodes and distance."""
    import numpy as np

    from qnetemu.plots.palette import architecture_label

    table = Table(title=plain(title), title_justify="left")
    for col, justify in (("Architecture", "left"), ("Demands with key", "right"), ("Median key rate", "right"),
                         ("Weakest with key", "right"), ("Median trusted nodes", "right"),
                         ("Median distance", "right")):
        table.add_column(col, justify=justify)
    for arch in dict.fromkeys(r.get("architecture") for r in rows):
        sel = [r for r in rows if r.get("architecture") == arch]
        keyed = [r for r in sel if (r.get("key_rate_bps") or 0) > 0]
        rates = np.array([r["key_rate_bps"] for r in keyed], dtype=float)
        nodes = np.array([r.get("trusted_nodes") for r in keyed if r.get("trusted_nodes") is not None], dtype=float)
        dist = np.array([r.get("distance_km") for r in keyed if r.get("distance_km") is not None], dtype=float)
        table.add_row(
            architecture_label(str(arch)), f"{len(keyed)} of {len(sel)}",
            format_rate(float(np.median(rates))) if rates.size else "-",
            format_rate(float(rates.min())) if rates.size else "-",
            f"{np.median(nodes):g}" if nodes.size else "-",
            f"{np.nanmedian(dist):,.0f} km" if dist.size else "-",
        )
    return table


@app.command()
def run(
    scenario: ScenarioArg,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Results directory (default results/NAME-TIME).")] = None,
    engine: Annotated[str, typer.Option(help=f"Repeater-chain engine: {', '.join(ENGINES)}.")] = DEFAULT_ENGINE,
    seed: Annotated[int, typer.Option(help="Master seed for the simulating engines (0 to 2^64-1).",
                                      min=0, max=MAX_SEED)] = 0,
    workers: Annotated[int | None, typer.Option(
        min=1, help="SeQUeNCe chains simulated at once (default: this machine's cores; with "
                    "--address local the private Ray's CPUs; ignored on a cluster).")] = None,
    address: Annotated[str | None, typer.Option(
        help="Run the SeQUeNCe chains as Ray tasks: a cluster's HOST:PORT, auto, or local (a private "
             "Ray on this machine with --workers CPUs). Default: local warm workers, no Ray.")] = None,
    ship_code: Annotated[bool, typer.Option(
        help="With --address HOST:PORT: send this project to the cluster's workers (as qnetemu sweep "
             "--ship-code does), for nodes without this qnetemu installed.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing results directory.")] = False,
    plots: Annotated[bool, typer.Option(help="Draw the figures into OUT/figures.")] = True,
    pdf: Annotated[bool, typer.Option(help="Also write each figure as PDF (for print).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the results path.")] = False,
) -> None:
    """Evaluate every demand of a scenario and write a results directory."""
    from qnetemu.pipeline import evaluate
    from qnetemu.results.manifest import provenance
    from qnetemu.results.outdir import check_run_target, safe_component
    from qnetemu.results.store import write_run
    from qnetemu.results.tables import to_frames

    if address is not None:
        _check_chain_address(address, engine)
    if ship_code and address in (None, "local"):
        raise UserError("sends this project to a Ray cluster's workers, so it needs --address HOST:PORT or auto",
                        field="--ship-code")
    if out_dir is not None:
        _check_out_dir(out_dir)
    sc, raw, resolved, digest = _load(scenario, sweep=False)
    # The scenario's name is data, not a path: results stay under results/ whatever it says.
    stamp = datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')
    target = out_dir or Path("results") / f"{safe_component(sc.name)}-{stamp}"
    if out_dir is None:
        _check_out_dir(target)
    check_run_target(target, overwrite=overwrite)  # before the work: refusing later would waste it
    say = (lambda _m: None) if quiet else (lambda m: err.print(plain(m, "dim"), soft_wrap=True))
    result = evaluate(sc, resolved, engine=engine, seed=seed, progress=say, file=str(scenario),
                      chain_workers=workers or os.cpu_count() or 1, chain_address=address,
                      chain_ship_code=ship_code)
    manifest = provenance(scenario_file=str(scenario), scenario_hash=digest, seed=seed, engine=engine)
    manifest.update(scenario_name=sc.name, timings_s=result.timings_s)
    written = write_run(
        target, tables=to_frames(result.tables), manifest=manifest,
        scenario_text=scenario_yaml(raw, scenario),
        resolved={"sites": resolved.sites, "links": resolved.links, "demands": resolved.demands,
                  "topology_report": resolved.topology_report},
        overwrite=overwrite, finish=(lambda directory: _draw(directory, pdf=pdf)) if plots else None,
    )
    if quiet:
        out.print(plain(written), soft_wrap=True)
        return
    rows = result.tables["demands"]
    title = f"{sc.name}: {count(len(resolved.demands), 'demand')}"
    if len(rows) > MAX_TABLE_ROWS:
        out.print(_summary_table(rows, title))
        out.print(plain(f"every demand and route: {Path(written) / 'demands.csv'} ({len(rows)} rows)"), soft_wrap=True)
    else:
        out.print(_demand_table(rows, title))
    out.print(plain(f"results: {written}"), soft_wrap=True)


def _check_chain_address(address: str, engine: str) -> None:
    """Refuse ``run --address`` before any work: another engine, a malformed or unreachable address."""
    from qnetemu.engines import check_address
    from qnetemu.sweep.executors import check_reachable

    check_address(engine, address)
    if address != "local":
        check_reachable(address, timeout_s=10.0)


def _draw(directory: Path, *, pdf: bool = False) -> None:
    from qnetemu.plots import draw_run

    draw_run(directory, pdf=pdf)


@app.command()
def sweep(
    scenario: ScenarioArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Sweep directory (journal, tables, figures).")],
    address: Annotated[str | None, typer.Option(help="Ray cluster HOST:PORT (default RAY_ADDRESS, else local).")] = None,
    executor: Annotated[str, typer.Option(
        help="auto (default: Ray for a cluster or more than 32 points to compute, else serial), ray or local.")] = "auto",
    resume: Annotated[bool, typer.Option(help="Finish an interrupted sweep in --out without redoing points.")] = False,
    workers: Annotated[int | None, typer.Option(help="CPUs of the local Ray (default all).", min=1)] = None,
    ship_code: Annotated[bool, typer.Option(help="Send this project to the cluster's workers.")] = False,
    progress: Annotated[bool | None, typer.Option(
        help="Progress bar (default: when stderr is a terminal; otherwise a line per 5 % of the points).")] = None,
    plots: Annotated[bool, typer.Option(help="Draw the comparison figures into OUT/figures.")] = True,
) -> None:
    """Run the scenario's sweep: every point, streamed to OUT, resumable, on Ray or serially."""
    from qnetemu.preflight import preflight
    from qnetemu.sweep.runner import run_sweep

    if executor not in ("auto", "ray", "local"):
        raise UserError(f"unknown executor {executor!r}; choose auto, ray or local", field="--executor")
    _check_out_dir(out_dir)
    checked = preflight(scenario, sweep=True)
    raw = checked.raw
    summary = run_sweep(scenario, raw, out_dir=out_dir, executor=executor, address=address, resume=resume,
                        workers=workers, ship_code=ship_code, progress=progress, plan=checked.sweep_plan)
    out.print(f"sweep: {summary.total} points, {summary.ok} ok, {summary.failed} failed "
              f"({summary.skipped} already done), {summary.elapsed_s:.1f} s")
    baseline = Path(out_dir) / "baseline"
    if not (baseline / "manifest.json").is_file():
        _write_baseline(scenario, raw, baseline)
    if plots:
        from qnetemu.plots import draw_run

        draw_run(out_dir)
    out.print(plain(f"results: {out_dir}"), soft_wrap=True)
    if summary.failed:  # a sweep with holes is not a success; the errors are in points.csv
        err.print(plain(f"{summary.failed} of {summary.total} points failed (see the error column of "
                        f"{Path(out_dir) / 'points.csv'})"), soft_wrap=True)
        raise typer.Exit(1)


def _write_baseline(scenario: Path, raw: dict, target: Path) -> None:
    """The unswept scenario, evaluated once: the network, links and sites the sweep's figures need."""
    from qnetemu.pipeline import evaluate
    from qnetemu.results.manifest import provenance
    from qnetemu.results.store import write_run
    from qnetemu.results.tables import to_frames
    from qnetemu.scenario.load import content_hash, validate_scenario_dict
    from qnetemu.scenario.resolve import resolve

    sc = validate_scenario_dict(raw, str(scenario))
    resolved = resolve(sc, file=str(scenario), base_dir=scenario.parent)
    # Not the sweep's engine: the network, links and sites do not depend on one, and the
    # fastest engine fills the baseline's demand rows (its manifest says which).
    engine = "analytic"
    result = evaluate(sc, resolved, engine=engine, file=str(scenario))
    manifest = provenance(scenario_file=str(scenario), scenario_hash=content_hash(raw), seed=0, engine=engine)
    manifest.update(scenario_name=sc.name, timings_s=result.timings_s, role="sweep baseline")
    write_run(target, tables=to_frames(result.tables), manifest=manifest, scenario_text=scenario_yaml(raw, scenario),
              overwrite=True)


def parse_duration_s(text: str) -> float:
    """Seconds from "3600", "90s", "30m", "6h" or "2d"."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    raw = text.strip().lower()
    scale = units.get(raw[-1:], None)
    number = raw[:-1] if scale is not None else raw
    try:
        value = float(number) * (scale or 1.0)
    except ValueError:
        raise UserError(f"cannot read {text!r} as a duration (e.g. 3600, 90m, 6h, 2d)", field="--duration") from None
    if not value > 0 or value != value or value == float("inf"):
        raise UserError(f"duration must be positive and finite, got {text!r}", field="--duration")
    return value


@app.command()
def emulate(
    scenario: ScenarioArg,
    duration: Annotated[str, typer.Option(help="Emulated time: seconds, or with s/m/h/d (e.g. 6h, 2d).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Results directory (tables, figures, journal).")],
    seed: Annotated[int, typer.Option(help="Master seed (failures, weather; 0 to 2^64-1).", min=0, max=MAX_SEED)] = 0,
    resume: Annotated[bool, typer.Option(help="Finish an interrupted emulation in --out from its checkpoint.")] = False,
    plots: Annotated[bool, typer.Option(help="Draw the figures into OUT/figures.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Run the network in time: key stores, applications drawing key, failures, satellite passes."""
    from qnetemu.emulate.runner import run_emulation

    duration_s = parse_duration_s(duration)
    _check_out_dir(out_dir)
    sc, _, resolved, digest = _load(scenario)
    say = (lambda _m: None) if quiet else (lambda m: err.print(plain(m, "dim"), soft_wrap=True))
    summary = run_emulation(sc, resolved, scenario_file=str(scenario), scenario_hash=digest, out_dir=out_dir,
                            duration_s=duration_s, seed=seed, resume=resume, progress=say)
    if plots:
        from qnetemu.plots import draw_run

        draw_run(summary.out_dir)
    out.print(f"emulated {summary.duration_s:,.0f} s in {summary.elapsed_s:.1f} s: {summary.requests:,} requests, "
              f"{summary.served:,} served, {summary.missed:,} missed")
    out.print(plain(f"results: {summary.out_dir}"), soft_wrap=True)


@app.command()
def serve(
    scenario: ScenarioArg,
    certs: Annotated[Path, typer.Option("--certs", help="Directory for the test CA, certificates and kmes.json.")],
    speed: Annotated[float, typer.Option(help="Emulated seconds per wall-clock second.")] = 1.0,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless you name another).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="First KME's port, the others follow (0: free ports).",
                                      min=0, max=65535)] = 0,
    seed: Annotated[int, typer.Option(help="Master seed (failures, weather; 0 to 2^64-1).", min=0, max=MAX_SEED)] = 0,
) -> None:
    """One ETSI GS QKD 014 KME per site over HTTPS with client certificates, keys at the emulated rates."""
    from qnetemu.serve import prepare

    _check_out_dir(certs, field="--certs")
    sc, _, resolved, _ = _load(scenario)
    if host not in ("127.0.0.1", "::1", "localhost"):
        err.print(Text.assemble(("warning:", "yellow"), " ", printable(f"listening on {host}, not only on this machine")))
    manager, server, kmes_json = prepare(sc, resolved, scenario_file=str(scenario), certs_dir=certs, speed=speed,
                                         seed=seed, host=host, port=port)
    table = Table(title=plain(f"{sc.name}: {len(manager.saes)} KMEs (ETSI GS QKD 014), x{speed:g} time"),
                  title_justify="left")
    for col in ("Site", "KME", "SAE", "URL"):
        table.add_column(col)
    for sae in manager.saes:
        table.add_row(*(plain(c) for c in (sae.site, sae.kme_id, sae.sae_id, server.urls[sae.kme_id])))
    out.print(table)
    out.print(plain(f"certificates and {kmes_json.name}: {certs}  (Ctrl-C stops)"), soft_wrap=True)
    sys.stdout.flush()
    server.run()
    out.print("stopped")


def _check_results_dir(directory: Path) -> None:
    """A mistyped or wrong path says what it is, before the manifest is looked for."""
    if not directory.exists():
        raise UserError("no such directory; give a results directory that qnetemu run, sweep or emulate wrote",
                        file=str(directory))
    if not directory.is_dir():
        raise UserError("is a file, not a results directory (give the directory that holds manifest.json)",
                        file=str(directory))


@app.command()
def plot(run_dir: Annotated[Path, typer.Argument(help="A results directory from qnetemu run, sweep or emulate.")],
         pdf: Annotated[bool, typer.Option(help="Also write each figure as PDF (for print).")] = False) -> None:
    """Redraw the figures of a results directory from its stored tables."""
    from qnetemu.plots import draw_run

    _check_results_dir(run_dir)
    notes: list[str] = []
    written = draw_run(run_dir, pdf=pdf, note=notes.append)
    if not written:
        raise UserError("no figures: it holds none of the tables they are drawn from", file=str(run_dir))
    for message in notes:
        err.print(plain(f"note: {message}"), soft_wrap=True)
    for path in written:
        out.print(plain(path), soft_wrap=True)


@app.command()
def report(directory: Annotated[Path, typer.Argument(help="A results directory from qnetemu run, sweep or emulate.")]) -> None:
    """Write report.md, report.html (figures embedded) and, for a run or sweep, report-interactive.html (zoomable map, sortable tables)."""
    from qnetemu.report import write_report

    _check_results_dir(directory)
    for path in write_report(directory):
        out.print(plain(path), soft_wrap=True)


topology_app = typer.Typer(help="Topologies you can import: list the shipped ones, show one's nodes.",
                           no_args_is_help=True)
app.add_typer(topology_app, name="topology")


@topology_app.command("list")
def topology_list(
    contains: Annotated[str | None, typer.Argument(help="Only keys containing this text (case-insensitive).")] = None,
) -> None:
    """List the topohub topology keys a scenario's `topology: {source: topohub, key: ...}` accepts."""
    from qnetemu.scenario.topology import topohub_keys

    keys = [k for k in topohub_keys() if contains is None or contains.casefold() in k.casefold()]
    for key in keys:
        out.print(plain(key))
    err.print(plain(count(len(keys), "topology", "topologies"), "dim"))


@topology_app.command("show")
def topology_show(
    key: Annotated[str, typer.Argument(help="A topohub key (see `qnetemu topology list`) or a GraphML file.")],
) -> None:
    """The nodes of a topology with their coordinates: the names `topology_node` refers to."""
    import warnings

    from qnetemu.scenario.topology import TopologyImportWarning, load_graphml, load_topohub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TopologyImportWarning)
        try:
            sites, links = load_graphml(key) if Path(key).is_file() else load_topohub(key)
        except KeyError as exc:
            raise UserError(str(exc.args[0]), field="KEY") from None
    table = Table(title=plain(f"{key}: {len(sites)} nodes, {len(links)} links"), title_justify="left")
    for col, justify in (("topology_node", "left"), ("lat_deg", "right"), ("lon_deg", "right"),
                         ("kind", "left"), ("links", "right")):
        table.add_column(col, justify=justify)
    degree: dict[str, int] = {}
    for link in links:
        for end in (link["a"], link["b"]):
            degree[end] = degree.get(end, 0) + 1
    for site in sorted(sites, key=lambda s: s["name"]):
        table.add_row(*(plain(c) for c in (site["name"], f"{site['lat_deg']:.4f}", f"{site['lon_deg']:.4f}",
                                           str(site.get("kind", "")), str(degree.get(site["name"], 0)))))
    out.print(table)


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from qnetemu.scenario.schema import Scenario

    out.print_json(json.dumps(Scenario.model_json_schema()))


@app.command()
def info() -> None:
    """Print the versions of qnetemu and the packages that shape its numbers."""
    from qnetemu.results.manifest import git_commit, package_versions

    for name, version in package_versions().items():
        out.print(f"{name:14s} {version or 'not installed'}")
    out.print(f"{'git commit':14s} {git_commit() or '-'}")


def _usage_line(exc: typer.TyperException, argv: list[str] | None) -> str:
    """One line for a usage error: what is wrong and where to look."""
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    if isinstance(exc, NoArgsIsHelpError):  # the help itself went to stdout
        command = exc.ctx.command_path
        names = ", ".join(exc.ctx.command.list_commands(exc.ctx))  # every command, never a stale list
        return f"{command}: a command is missing ({names}); see {command} --help"
    message = exc.format_message()
    if isinstance(exc, UsageError) and exc.ctx is not None:
        return f"{exc.ctx.command_path}: {message} (see {exc.ctx.command_path} --help)"
    return message


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread: stops a command as Ctrl-C does."""


#: Set when SIGTERM arrived: Typer reports any KeyboardInterrupt as exit status 130.
_SIGTERM_SEEN: list[bool] = []


def _terminate_like_ctrl_c():
    """Make SIGTERM unwind the command as Ctrl-C does; returns what undoes it (or None).

    Batch schedulers (Slurm, Kubernetes) end a job with SIGTERM. Python's
    default for it ends the process at once, so the ``with`` blocks that stop
    a private Ray or the SeQUeNCe workers by their process ids never run and
    those processes outlive the command. Raised as an exception instead, the
    same clean-up runs as for Ctrl-C: finished sweep points and emulation
    state are already on disk, and the command resumes from them. A forked
    child that inherits the handler dies of the signal as before.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None  # someone (an embedding program, a test harness) has its own plan
    owner = os.getpid()

    def handler(signum, frame):
        if os.getpid() != owner:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        _SIGTERM_SEEN.append(True)
        raise Terminated()

    signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning user errors into one line and exit status 2.

    Ctrl-C ends with ``interrupted`` and status 130, SIGTERM with
    ``terminated`` and 143 (128 + 15), after the same clean-up.
    """
    undo = _terminate_like_ctrl_c()
    _SIGTERM_SEEN.clear()
    try:
        status = _main(argv)
    except Terminated:  # arrived after the command's own handling ended
        status = 143
    finally:
        if undo is not None:
            undo()
    if _SIGTERM_SEEN:
        err.print("terminated")
        return 143
    return status


def _main(argv: list[str] | None) -> int:
    try:
        status = app(args=argv, standalone_mode=False)  # click returns typer.Exit's code here
    except UserError as exc:
        say_error(exc.one_line())
        return EXIT_USER_ERROR
    except (typer.Abort, KeyboardInterrupt):
        if not _SIGTERM_SEEN:
            err.print("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:
        # Typer bundles its own click (typer._click); its ClickException,
        # UsageError, BadParameter, ... all derive from TyperException.
        say_error(" ".join(_usage_line(exc, argv).split()))
        return EXIT_USER_ERROR
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
