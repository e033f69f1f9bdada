"""The run, end to end: scenario -> network -> architectures -> tidy tables.

Data flows one way. :func:`evaluate` is what ``qnetemu run`` and every sweep
point call; it returns plain tables (lists of row dicts per table name) and
never writes files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from qnetemu.errors import UserError
from qnetemu.network.bypass import add_bypass_links
from qnetemu.network.fibre_qkd import assign_profile_key_rates
from qnetemu.network.graph import build_graph
from qnetemu.network.splitting import split_long_spans
from qnetemu.scenario.load import validate_scenario_dict
from qnetemu.scenario.resolve import ResolvedScenario, resolve
from qnetemu.scenario.schema import Scenario
from qnetemu.sweep.seeds import point_seeds  # one seed derivation for runs and sweeps

ENGINES = ("analytic", "montecarlo", "sequence")

Progress = Callable[[str], None]


@dataclass
class RunOutput:
    tables: dict[str, list[dict]]
    graph: nx.Graph
    resolved: ResolvedScenario
    timings_s: dict[str, float] = field(default_factory=dict)


def build_network(scenario: Scenario, resolved: ResolvedScenario) -> tuple[nx.Graph, list[dict]]:
    """The fibre graph with trusted nodes inserted and per-link key rates."""
    try:
        graph = build_graph(resolved.sites, resolved.links)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    inserted: list[dict] = []
    if scenario.trusted_nodes.insert:
        graph, inserted = split_long_spans(graph, scenario.trusted_nodes.reach_km,
                                           split_submarine=scenario.trusted_nodes.split_submarine)
    if scenario.trusted_nodes.optical_bypass:
        add_bypass_links(graph, scenario.trusted_nodes.reach_km, bypass_loss_db=scenario.trusted_nodes.bypass_loss_db)
    assign_profile_key_rates(graph, scenario.qkd, scenario.qkd_profiles)
    return graph, inserted


def link_rows(graph: nx.Graph) -> list[dict]:
    rows = []
    for a, b, d in graph.edges(data=True):
        ends = d.get("ends", (a, b))
        rows.append({
            "link_id": d.get("link_id", f"{a}–{b}"),
            "a": ends[0],
            "b": ends[1],
            "segment": d.get("segment", "fibre"),
            "length_km": d.get("length_km"),
            "attenuation_db_per_km": d.get("attenuation_db_per_km"),
            "loss_db": d.get("loss_db"),
            "transmittance": d.get("transmittance"),
            "qber": d.get("qber"),
            "key_rate_bps": d.get("key_rate_bps", 0.0),
            "latency_s": d.get("latency_s"),
            "repetition_rate_hz": d.get("repetition_rate_hz"),
            "split_from": d.get("split_from"),
            "bypassed": len(d["fibre_path"]) - 2 if "fibre_path" in d else 0,
            "cable": d.get("cable", "terrestrial"),
        })
    return rows


def site_rows(graph: nx.Graph) -> list[dict]:
    return [
        {"name": n, "lat_deg": d.get("lat_deg"), "lon_deg": d.get("lon_deg"), "role": d.get("role"),
         "inserted": bool(d.get("inserted", False)), "degree": graph.degree(n)}
        for n, d in graph.nodes(data=True)
    ]


def evaluate(scenario: Scenario, resolved: ResolvedScenario, *, engine: str = "analytic", seed: int = 0,
             architectures: list[str] | None = None, progress: Progress | None = None,
             file: str = "<scenario>") -> RunOutput:
    """Evaluate every demand under every requested architecture."""
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}", field="--engine")
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    skysats = None
    if scenario.satellites:
        from qnetemu.architectures.satellite import build_satellites

        skysats = build_satellites(scenario, file=file)  # a bad orbit or TLE fails before any work
    t0 = time.perf_counter()
    graph, inserted = build_network(scenario, resolved)
    timings["network_s"] = time.perf_counter() - t0
    say(f"network: {graph.number_of_nodes()} sites ({len(inserted)} trusted nodes inserted), "
        f"{graph.number_of_edges()} links")

    tables: dict[str, list[dict]] = {"demands": []}
    archs = architectures or list(scenario.architectures)
    # Satellite links matter only to the satellite architecture (a sweep point
    # of repeaters alone skips the pass search).
    if scenario.satellites and "satellite" in archs:
        from qnetemu.architectures.satellite import add_satellite_links

        t0 = time.perf_counter()
        tables.update(add_satellite_links(graph, scenario, resolved, file=file, progress=say, skysats=skysats))
        timings["satellites_s"] = time.perf_counter() - t0
    from qnetemu.architectures.trusted_node import evaluate_trusted_node, fibre_only

    for arch, subgraph in (("trusted_node", fibre_only(graph)), ("satellite", graph)):
        if arch not in archs:
            continue
        if arch == "satellite" and not scenario.satellites:
            raise UserError("architecture satellite needs satellites", file=file, field="architectures")
        t0 = time.perf_counter()
        rows = evaluate_trusted_node(subgraph, resolved.demands, architecture=arch,
                                     rate_tolerance=scenario.trusted_nodes.route_rate_tolerance)
        for row in rows:
            row["engine"] = "analytic"
        tables["demands"] += rows
        timings[f"{arch}_s"] = time.perf_counter() - t0
    if "repeater" in archs:
        from qnetemu.architectures.repeater import evaluate_repeater

        t0 = time.perf_counter()
        trusted = [r for r in tables["demands"] if r["architecture"] == "trusted_node"]
        if not trusted:
            # A repeater-only point (a sweep) routes exactly as `qnetemu run` does: on the
            # trusted-node routes, with the scenario's tolerance (issue 12, item 5).
            trusted = evaluate_trusted_node(fibre_only(graph), resolved.demands, architecture="trusted_node",
                                            rate_tolerance=scenario.trusted_nodes.route_rate_tolerance)
        tables["demands"] += evaluate_repeater(
            graph, resolved.demands, trusted, scenario.repeater, engine=engine,
            seeds=point_seeds(seed, len(resolved.demands)), max_pairs=scenario.engine.max_pairs,
            max_time_s=scenario.engine.max_time_s, progress=say, file=file,
        )
        timings["repeater_s"] = time.perf_counter() - t0
    tables["links"] = link_rows(graph)
    tables["sites"] = site_rows(graph)
    tables["inserted_trusted_nodes"] = inserted
    for table in tables.values():
        for row in table:
            row.setdefault("seed", seed)
    return RunOutput(tables=tables, graph=graph, resolved=resolved, timings_s=timings)


def evaluate_point(scenario_dict: dict, *, engine: str, architecture: str, seed: int,
                   source: str = "<sweep point>", base_dir: str | Path | None = None) -> dict[str, list[dict]]:
    """One sweep point: validate the (overridden) scenario mapping and evaluate one architecture.

    Returns the demand rows only: link tables of every point would dwarf the
    results, and the sweep's baseline run keeps the network's.
    """
    if base_dir is None:
        base_dir = Path(source).parent if Path(source).is_file() else Path(".")
    scenario = validate_scenario_dict(scenario_dict, source)
    resolved = resolve(scenario, file=source, base_dir=Path(base_dir))
    out = evaluate(scenario, resolved, engine=engine, seed=seed, architectures=[architecture], file=source)
    return {"demands": out.tables["demands"]}
