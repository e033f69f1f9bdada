"""The ``qnetemu`` command line: thin commands over the library.

A user's mistake is one line on stderr and exit status 2 (see
:class:`qnetemu.errors.UserError`); nothing is written in that case.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from qnetemu.errors import EXIT_USER_ERROR, UserError
from qnetemu.formatting import format_latency, format_rate

app = typer.Typer(
    name="qnetemu",
    help="Quantum-network emulator: trusted-node QKD, repeaters, satellites, sweeps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Tables are read in logs and CI output too: never squeeze them to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML file.", show_default=False)]


def scenario_yaml(raw: dict, path: Path) -> str:
    """The scenario mapping the run used (``extends`` resolved): what its hash covers."""
    import yaml

    return f"# qnetemu: scenario as evaluated, from {path}\n" + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def _load(path: Path):
    from qnetemu.scenario.load import content_hash, load_scenario
    from qnetemu.scenario.resolve import resolve

    scenario, raw = load_scenario(path)
    resolved = resolve(scenario, file=str(path), base_dir=path.parent)
    return scenario, raw, resolved, content_hash(raw)


@app.command()
def validate(scenario: ScenarioArg) -> None:
    """Check a scenario file (schema, references, topology) without running it."""
    sc, raw, resolved, digest = _load(scenario)
    sweep_note = ""
    if sc.sweep is not None:
        from qnetemu.sweep.runner import check_sweep

        sweep_note = f", sweep of {len(check_sweep(scenario, raw))} points"
    out.print(f"[green]ok[/green] {scenario}: {sc.name!r}, {len(resolved.sites)} sites, "
              f"{len(resolved.links)} links, {len(resolved.demands)} demands, "
              f"{len(sc.satellites)} satellites{sweep_note} (sha256 {digest[:12]})")


def _demand_table(rows: list[dict], title: str) -> Table:
    """Demands with their route through real sites; inserted trusted nodes are counted, not named."""
    archs = {r.get("architecture") for r in rows}
    table = Table(title=title, title_justify="left")
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
        table.add_row(*cells)
    return table


#: Above this many demand rows the terminal gets a summary per architecture and the path to the table.
MAX_TABLE_ROWS = 40


def _summary_table(rows: list[dict], title: str) -> Table:
    """Per architecture: demands with key, median and weakest key rate, median trusted nodes and distance."""
    import numpy as np

    from qnetemu.plots.palette import architecture_label

    table = Table(title=title, title_justify="left")
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
    engine: Annotated[str, typer.Option(help="Repeater-chain engine: analytic, montecarlo or sequence.")] = "analytic",
    seed: Annotated[int, typer.Option(help="Master seed for the simulating engines.")] = 0,
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

    sc, raw, resolved, digest = _load(scenario)
    # The scenario's name is data, not a path: results stay under results/ whatever it says.
    stamp = datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')
    target = out_dir or Path("results") / f"{safe_component(sc.name)}-{stamp}"
    check_run_target(target, overwrite=overwrite)  # before the work: refusing later would waste it
    say = (lambda _m: None) if quiet else (lambda m: err.print(f"[dim]{m}[/dim]"))
    result = evaluate(sc, resolved, engine=engine, seed=seed, progress=say, file=str(scenario))
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
        out.print(str(written))
        return
    rows = result.tables["demands"]
    title = f"{sc.name}: {len(resolved.demands)} demands"
    if len(rows) > MAX_TABLE_ROWS:
        out.print(_summary_table(rows, title))
        out.print(f"every demand and route: {Path(written) / 'demands.csv'} ({len(rows)} rows)")
    else:
        out.print(_demand_table(rows, title))
    out.print(f"results: {written}")


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
    workers: Annotated[int | None, typer.Option(help="CPUs of the local Ray (default all).")] = None,
    ship_code: Annotated[bool, typer.Option(help="Send this project to the cluster's workers.")] = False,
    progress: Annotated[bool | None, typer.Option(help="Progress bar (default: when stderr is a terminal).")] = None,
    plots: Annotated[bool, typer.Option(help="Draw the comparison figures into OUT/figures.")] = True,
) -> None:
    """Run the scenario's sweep: every point, streamed to OUT, resumable, on Ray or serially."""
    from qnetemu.scenario.load import read_scenario_mapping, validate_scenario_dict
    from qnetemu.sweep.runner import run_sweep

    raw = read_scenario_mapping(scenario)
    sc = validate_scenario_dict(raw, str(scenario))
    if sc.sweep is None:
        raise UserError("has no sweep: section (see scenarios/README.md)", file=str(scenario), field="sweep")
    if executor not in ("auto", "ray", "local"):
        raise UserError(f"unknown executor {executor!r}; choose auto, ray or local", field="--executor")
    summary = run_sweep(scenario, raw, out_dir=out_dir, executor=executor, address=address, resume=resume,
                        workers=workers, ship_code=ship_code, progress=progress)
    out.print(f"sweep: {summary.total} points, {summary.ok} ok, {summary.failed} failed "
              f"({summary.skipped} already done), {summary.elapsed_s:.1f} s")
    baseline = Path(out_dir) / "baseline"
    if not (baseline / "manifest.json").is_file():
        _write_baseline(scenario, raw, baseline)
    if plots:
        from qnetemu.plots import draw_run

        draw_run(out_dir)
    out.print(f"results: {out_dir}")
    if summary.failed:  # a sweep with holes is not a success; the errors are in points.csv
        err.print(f"{summary.failed} of {summary.total} points failed (see the error column of "
                  f"{Path(out_dir) / 'points.csv'})", highlight=False, markup=False, soft_wrap=True)
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
    result = evaluate(sc, resolved, engine="analytic", file=str(scenario))
    manifest = provenance(scenario_file=str(scenario), scenario_hash=content_hash(raw), seed=0, engine="analytic")
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
    seed: Annotated[int, typer.Option(help="Master seed (failures, weather).")] = 0,
    resume: Annotated[bool, typer.Option(help="Finish an interrupted emulation in --out from its checkpoint.")] = False,
    plots: Annotated[bool, typer.Option(help="Draw the figures into OUT/figures.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Run the network in time: key stores, applications drawing key, failures, satellite passes."""
    from qnetemu.emulate.runner import run_emulation

    duration_s = parse_duration_s(duration)
    sc, _, resolved, digest = _load(scenario)
    say = (lambda _m: None) if quiet else (lambda m: err.print(f"[dim]{m}[/dim]"))
    summary = run_emulation(sc, resolved, scenario_file=str(scenario), scenario_hash=digest, out_dir=out_dir,
                            duration_s=duration_s, seed=seed, resume=resume, progress=say)
    if plots:
        from qnetemu.plots.emulation import draw_emulation

        draw_emulation(summary.out_dir)
    out.print(f"emulated {summary.duration_s:,.0f} s in {summary.elapsed_s:.1f} s: {summary.requests} requests, "
              f"{summary.served} served, {summary.missed} missed")
    out.print(f"results: {summary.out_dir}")


@app.command()
def serve(
    scenario: ScenarioArg,
    certs: Annotated[Path, typer.Option("--certs", help="Directory for the test CA, certificates and kmes.json.")],
    speed: Annotated[float, typer.Option(help="Emulated seconds per wall-clock second.")] = 1.0,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless you name another).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="First KME's port, the others follow (0: free ports).")] = 0,
    seed: Annotated[int, typer.Option(help="Master seed (failures, weather).")] = 0,
) -> None:
    """One ETSI GS QKD 014 KME per site over HTTPS with client certificates, keys at the emulated rates."""
    from qnetemu.serve import prepare

    sc, _, resolved, _ = _load(scenario)
    if host not in ("127.0.0.1", "::1", "localhost"):
        err.print(f"[yellow]warning:[/yellow] listening on {host}, not only on this machine")
    manager, server, kmes_json = prepare(sc, resolved, scenario_file=str(scenario), certs_dir=certs, speed=speed,
                                         seed=seed, host=host, port=port)
    table = Table(title=f"{sc.name}: {len(manager.saes)} KMEs (ETSI GS QKD 014), x{speed:g} time", title_justify="left")
    for col in ("Site", "KME", "SAE", "URL"):
        table.add_column(col)
    for sae in manager.saes:
        table.add_row(sae.site, sae.kme_id, sae.sae_id, server.urls[sae.kme_id])
    out.print(table)
    out.print(f"certificates and {kmes_json.name}: {certs}  (Ctrl-C stops)")
    sys.stdout.flush()
    server.run()
    out.print("stopped")


@app.command()
def plot(run_dir: Annotated[Path, typer.Argument(help="A results directory from qnetemu run or sweep.")],
         pdf: Annotated[bool, typer.Option(help="Also write each figure as PDF (for print).")] = False) -> None:
    """Redraw the figures of a results directory from its stored tables."""
    from qnetemu.plots import draw_run

    for path in draw_run(run_dir, pdf=pdf):
        out.print(str(path))


@app.command()
def report(directory: Annotated[Path, typer.Argument(help="A results directory from qnetemu run or sweep.")]) -> None:
    """Write report.md and a self-contained report.html with the figures and tables."""
    from qnetemu.report import write_report

    for path in write_report(directory):
        out.print(str(path))


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
        out.print(key, highlight=False)
    err.print(f"[dim]{len(keys)} topologies[/dim]")


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
    table = Table(title=f"{key}: {len(sites)} nodes, {len(links)} links", title_justify="left")
    for col, justify in (("topology_node", "left"), ("lat_deg", "right"), ("lon_deg", "right"),
                         ("kind", "left"), ("links", "right")):
        table.add_column(col, justify=justify)
    degree: dict[str, int] = {}
    for link in links:
        for end in (link["a"], link["b"]):
            degree[end] = degree.get(end, 0) + 1
    for site in sorted(sites, key=lambda s: s["name"]):
        table.add_row(site["name"], f"{site['lat_deg']:.4f}", f"{site['lon_deg']:.4f}", str(site.get("kind", "")),
                      str(degree.get(site["name"], 0)))
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


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning user errors into one line and exit status 2."""
    try:
        status = app(args=argv, standalone_mode=False)  # click returns typer.Exit's code here
    except UserError as exc:
        err.print(f"[red]error:[/red] {exc.one_line()}", highlight=False, soft_wrap=True)
        return EXIT_USER_ERROR
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # click usage errors come here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
