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

from qnetemu.engine_names import DEFAULT_ENGINE, ENGINES
from qnetemu.errors import UserError
from qnetemu.formatting import count
from qnetemu.network.bypass import add_bypass_links
from qnetemu.network.fibre_qkd import (
    assign_profile_key_rates,
    insertion_reach_km,
    profiles_without_key,
)
from qnetemu.network.graph import build_graph
from qnetemu.network.splitting import inserted_node_count, split_long_spans
from qnetemu.network.trust import RelayRules, set_relay_permissions
from qnetemu.scenario.load import validate_scenario_dict
from qnetemu.scenario.resolve import ResolvedScenario, resolve
from qnetemu.scenario.schema import Scenario
from qnetemu.sweep.seeds import point_seeds  # one seed derivation for runs and sweeps

Progress = Callable[[str], None]


@dataclass
class RunOutput:
    tables: dict[str, list[dict]]
    graph: nx.Graph
    resolved: ResolvedScenario
    timings_s: dict[str, float] = field(default_factory=dict)


def relay_rules(scenario: Scenario) -> RelayRules:
    """The scenario's ``trust`` section as the network layer's :class:`RelayRules`."""
    from qnetemu.architectures.satellite import satellite_node
    from qnetemu.geodata import expand_countries

    trust = scenario.trust
    satellites = {sat.name for sat in scenario.satellites}

    def node(name: str) -> str:  # satellites are graph nodes "SAT <name>"
        return satellite_node(name) if name in satellites else name

    return RelayRules(
        allow_countries=None if trust.allow_countries is None else expand_countries(trust.allow_countries),
        forbid_countries=expand_countries(trust.forbid_countries),
        allow_nodes=frozenset(node(n) for n in trust.allow_nodes),
        forbid_nodes=frozenset(node(n) for n in trust.forbid_nodes),
        satellites=trust.satellites,
    )


def assign_countries(graph: nx.Graph) -> None:
    """Set ``country`` on every site without one (GeoNames, :func:`qnetemu.geodata.country_codes`), in place.

    Junctions (points on a cable at sea) and nodes without coordinates get None.
    """
    from qnetemu.geodata import country_codes

    todo = [n for n, d in graph.nodes(data=True) if d.get("country") is None and d.get("is_site", True)]
    codes = country_codes([graph.nodes[n]["lat_deg"] for n in todo], [graph.nodes[n]["lon_deg"] for n in todo],
                          [None if graph.nodes[n].get("inserted") else n for n in todo])
    for name, code in zip(todo, codes, strict=True):
        graph.nodes[name]["country"] = code
    for _, data in graph.nodes(data=True):
        data.setdefault("country", None)


def _count(n: float) -> str:
    return "an unbounded number of" if n == float("inf") else f"{n:,.0f}" if n < 1e9 else f"{n:.3g}"


def _physical_lengths_km(graph: nx.Graph) -> list[float]:
    """Lengths of the fibre links as the scenario gives them: split spans summed, bypass links left out."""
    whole, split = [], {}
    for _, _, d in graph.edges(data=True):
        if d.get("segment", "fibre") != "fibre" or "fibre_path" in d:
            continue
        if d.get("split_from"):
            split[d["split_from"]] = split.get(d["split_from"], 0.0) + d["length_km"]
        else:
            whole.append(d["length_km"])
    return whole + list(split.values())


def check_work_limits(scenario: Scenario, graph: nx.Graph, architectures, *, file: str = "<scenario>") -> None:
    """Refuse, before anything is built, QKD hardware without reach and a network beyond ``scenario.limits``.

    ``graph`` is the physical fibre graph (:func:`build_graph`, before
    trusted-node insertion), where trusted nodes are counted as
    :func:`split_long_spans` would insert them (evenly; land-aware insertion
    may move them); or a built network, where only elementary links are
    counted. Elementary links are the sum over physical fibre links of
    ``ceil(length_km / spacing_km)``, which bounds every repeater chain, for
    the repeater architecture only.
    """
    for where, reason in profiles_without_key(scenario.qkd, scenario.qkd_profiles)[:1]:
        raise UserError(reason, file=file, field=where)
    reach_km = insertion_reach_km(scenario)
    if not reach_km > 0:
        raise UserError("the default qkd profile gives no key even on a 0 km link, so it has no reach",
                        file=file, field="trusted_nodes.reach_km")
    limits, policy = scenario.limits, scenario.trusted_nodes
    lengths = _physical_lengths_km(graph)
    longest = max(lengths, default=0.0)
    if policy.insert and not any(d.get("split_from") for _, _, d in graph.edges(data=True)):
        n = inserted_node_count(graph, reach_km, split_submarine=policy.split_submarine)
        if n > limits.max_inserted_trusted_nodes:
            raise UserError(
                f"{_count(n)} trusted nodes would be inserted (reach {reach_km:g} km, longest link "
                f"{longest:g} km), above the limit of {limits.max_inserted_trusted_nodes:,}; raise "
                "limits.max_inserted_trusted_nodes to allow it", file=file, field="trusted_nodes.reach_km")
    if "repeater" in architectures:
        from qnetemu.network.repeater_routes import elementary_link_count

        spacing = scenario.repeater.placement.spacing_km
        n = sum(elementary_link_count(length, spacing) for length in lengths)
        if n > limits.max_elementary_links:
            raise UserError(
                f"{_count(n)} elementary links (spacing {spacing:g} km, longest link {longest:g} km), above the "
                f"limit of {limits.max_elementary_links:,}; raise limits.max_elementary_links to allow it",
                file=file, field="repeater.placement.spacing_km")


def physical_network(resolved: ResolvedScenario, *, file: str = "<scenario>") -> nx.Graph:
    """The fibre graph as the scenario gives it (lengths derived, nothing inserted)."""
    try:
        return build_graph(resolved.sites, resolved.links)
    except ValueError as exc:
        raise UserError(str(exc), file=file) from None


def build_network(scenario: Scenario, resolved: ResolvedScenario, *, architectures=None,
                  file: str = "<scenario>") -> tuple[nx.Graph, list[dict]]:
    """The fibre graph with trusted nodes inserted, per-link key rates, and every node's
    ``country`` and ``can_relay`` (:mod:`qnetemu.network.trust`); work limits are checked first."""
    graph = physical_network(resolved, file=file)
    check_work_limits(scenario, graph, scenario.architectures if architectures is None else architectures,
                      file=file)
    inserted: list[dict] = []
    reach_km = insertion_reach_km(scenario)
    if scenario.trusted_nodes.insert:
        on_land = None
        if scenario.trusted_nodes.insert_on_land:
            from qnetemu.geodata import is_land as on_land
        graph, inserted = split_long_spans(graph, reach_km, split_submarine=scenario.trusted_nodes.split_submarine,
                                           on_land=on_land)
    if scenario.trusted_nodes.optical_bypass:
        add_bypass_links(graph, reach_km, bypass_loss_db=scenario.trusted_nodes.bypass_loss_db,
                         max_bypassed_nodes=scenario.trusted_nodes.bypass_max_nodes)
    assign_profile_key_rates(graph, scenario.qkd, scenario.qkd_profiles)
    assign_countries(graph)
    set_relay_permissions(graph, relay_rules(scenario))
    by_name = {r["name"]: r for r in inserted}
    for name, data in graph.nodes(data=True):
        if name in by_name:
            by_name[name]["country"] = data["country"]
    return graph, inserted


def twin_field_variant(scenario: Scenario) -> Scenario:
    """The scenario as architecture twin_field sees it: its hardware on every link, trusted nodes at its reach."""
    tf = scenario.twin_field
    return scenario.model_copy(update={
        "qkd": tf,
        "qkd_profiles": dict.fromkeys(scenario.qkd_profiles, tf),
        "trusted_nodes": scenario.trusted_nodes.model_copy(update={"reach_km": "protocol"}),
    })


def _key_models(graph: nx.Graph) -> str:
    """The key model(s) behind a graph's link rates: one name, or several joined by '+'."""
    return "+".join(sorted({d.get("key_model") or "asymptotic" for _, _, d in graph.edges(data=True)})) or "asymptotic"


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
            "protocol": d.get("protocol"),
            "key_model": d.get("key_model"),
            "block_detections": d.get("block_detections"),
            "block_time_s": d.get("block_time_s"),
            "raman_noise_prob": d.get("raman_noise_prob"),
            "raman_coefficient_source": d.get("raman_coefficient_source"),
            "untrusted_station": d.get("untrusted_station"),
            "split_from": d.get("split_from"),
            "bypassed": len(d["fibre_path"]) - 2 if "fibre_path" in d else 0,
            "cable": d.get("cable", "terrestrial"),
            # A cable's bends from a to b ([lat_deg, lon_deg] pairs), so maps draw it where it runs.
            "waypoints": [[float(p[0]), float(p[1])] for p in d["waypoints"]] if d.get("waypoints") else None,
            "unsplit": d.get("unsplit"),
        })
    return rows


def site_rows(graph: nx.Graph) -> list[dict]:
    return [
        {"name": n, "lat_deg": d.get("lat_deg"), "lon_deg": d.get("lon_deg"), "role": d.get("role"),
         "inserted": bool(d.get("inserted", False)), "degree": graph.degree(n), "country": d.get("country"),
         "can_relay": bool(d.get("can_relay", True))}
        for n, d in graph.nodes(data=True)
    ]


def evaluate(scenario: Scenario, resolved: ResolvedScenario, *, engine: str = DEFAULT_ENGINE, seed: int = 0,
             architectures: list[str] | None = None, progress: Progress | None = None,
             file: str = "<scenario>", network: tuple[nx.Graph, list[dict]] | None = None,
             analyses: bool = True, chain_workers: int = 1,
             chain_address: str | None = None, chain_ship_code: bool = False) -> RunOutput:
    """Evaluate every demand under every requested architecture.

    ``chain_workers``: SeQUeNCe chains run at once on this many local worker
    processes (``qnetemu run`` uses the machine's cores; a sweep point, one).
    ``chain_address``: SeQUeNCe chains run as Ray tasks there instead
    (``qnetemu run --address``; see :func:`qnetemu.engines.run_chains`).

    ``network`` is a ``(graph, inserted)`` pair from :func:`build_network`
    for this scenario, when the caller already has one (sweep points that
    change only repeater hardware); it is copied, never modified.
    ``analyses``: also the trust analyses the scenario asks for (exposure,
    multipath, N-1, planning; :mod:`qnetemu.architectures.trust`); sweep
    points skip them.
    """
    if engine not in ENGINES:
        raise UserError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}", field="--engine")
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    skysats = None
    if scenario.satellites:
        from qnetemu.architectures.satellite import build_satellites

        skysats = build_satellites(scenario, file=file)  # a bad orbit or TLE fails before any work
    t0 = time.perf_counter()
    archs = architectures or list(scenario.architectures)
    if network is None:
        graph, inserted = build_network(scenario, resolved, architectures=archs, file=file)
    else:  # built for another point: this one's repeater placement is checked here
        check_work_limits(scenario, network[0], archs, file=file)
        graph, inserted = network[0].copy(), [dict(r) for r in network[1]]
    timings["network_s"] = time.perf_counter() - t0
    say(f"network: {count(graph.number_of_nodes(), 'site')} ({count(len(inserted), 'trusted node')} inserted), "
        f"{count(graph.number_of_edges(), 'link')}")
    barred = sum(not d["can_relay"] for _, d in graph.nodes(data=True))
    unsplit = sum(d.get("unsplit") is not None for _, _, d in graph.edges(data=True))
    if barred or unsplit:
        say(f"trust: {barred} node(s) may not relay key (trust policy, or not a site)"
            + (f"; {unsplit} link(s) beyond reach cross open water and stay whole" if unsplit else ""))

    tables: dict[str, list[dict]] = {"demands": []}
    # Satellite links matter only to the satellite architecture (a sweep point
    # of repeaters alone skips the pass search).
    if scenario.satellites and "satellite" in archs:
        from qnetemu.architectures.satellite import add_satellite_links

        t0 = time.perf_counter()
        tables.update(add_satellite_links(graph, scenario, resolved, file=file, progress=say, skysats=skysats))
        set_relay_permissions(graph, relay_rules(scenario))  # the satellites are new nodes
        timings["satellites_s"] = time.perf_counter() - t0
    from qnetemu.architectures.trusted_node import evaluate_trusted_node, fibre_only

    for arch, subgraph in (("trusted_node", fibre_only(graph)), ("satellite", graph)):
        if arch not in archs:
            continue
        if arch == "satellite" and not scenario.satellites:  # the schema refuses it; a sweep point may ask
            raise UserError("architecture satellite needs satellites", file=file, field="architectures")
        t0 = time.perf_counter()
        rows = evaluate_trusted_node(subgraph, resolved.demands, architecture=arch,
                                     rate_tolerance=scenario.trusted_nodes.route_rate_tolerance)
        key_models = _key_models(subgraph)
        for row in rows:
            row["engine"] = "analytic"
            row["key_model"] = key_models
        tables["demands"] += rows
        timings[f"{arch}_s"] = time.perf_counter() - t0
    if "twin_field" in archs:
        t0 = time.perf_counter()
        tf_graph, _ = build_network(twin_field_variant(scenario), resolved, file=file)
        rows = evaluate_trusted_node(fibre_only(tf_graph), resolved.demands, architecture="twin_field",
                                     rate_tolerance=scenario.trusted_nodes.route_rate_tolerance)
        for row in rows:
            row["engine"] = "analytic"
            row["key_model"] = scenario.twin_field.key_model
        tables["demands"] += rows
        timings["twin_field_s"] = time.perf_counter() - t0
    if analyses and "trusted_node" in archs:
        t0 = time.perf_counter()
        tables.update(_trust_tables(scenario, resolved, graph, tables["demands"], say, file))
        timings["trust_analyses_s"] = time.perf_counter() - t0
    if "repeater" in archs:
        from qnetemu.architectures.repeater import evaluate_repeater

        t0 = time.perf_counter()
        # Routes come from the physical fibre of `graph` alone (no trust policy: a repeater
        # holds no key), so a repeater-only sweep point routes exactly as `qnetemu run` does.
        tables["demands"] += evaluate_repeater(
            graph, resolved.demands, scenario.repeater, engine=engine,
            seeds=point_seeds(seed, len(resolved.demands)), max_pairs=scenario.engine.max_pairs,
            max_time_s=scenario.engine.max_time_s, progress=say, file=file, workers=chain_workers,
            address=chain_address, ship_code=chain_ship_code,
        )
        timings["repeater_s"] = time.perf_counter() - t0
    for row in tables["demands"]:
        row.setdefault("key_model", "asymptotic")  # repeater rows: BBM92 on delivered pairs, asymptotic
    tables["links"] = link_rows(graph)
    tables["sites"] = site_rows(graph)
    tables["inserted_trusted_nodes"] = inserted
    for table in tables.values():
        for row in table:
            row.setdefault("seed", seed)
    return RunOutput(tables=tables, graph=graph, resolved=resolved, timings_s=timings)


#: Top-level scenario sections that do not change the resolved network or its fibre key rates.
NETWORK_INDEPENDENT = frozenset({"repeater", "engine", "sweep", "architectures", "name", "description"})
_NETWORK_CACHE: dict[str, tuple[ResolvedScenario, tuple[nx.Graph, list[dict]]]] = {}
_NETWORK_CACHE_SIZE = 4


def network_key(scenario_dict: dict, base_dir: str | Path) -> str:
    """Hash of what the resolved network depends on: the scenario without repeater, engine and sweep sections."""
    import hashlib
    import json

    kept = {k: v for k, v in scenario_dict.items() if k not in NETWORK_INDEPENDENT}
    blob = json.dumps([kept, str(Path(base_dir).resolve())], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _trust_tables(scenario: Scenario, resolved: ResolvedScenario, graph: nx.Graph, demand_rows: list[dict],
                  say: Progress, file: str) -> dict[str, list[dict]]:
    """Exposure, multipath, N-1 and planning tables on the fibre network (see architectures.trust)."""
    from qnetemu.architectures import trust
    from qnetemu.architectures.trusted_node import fibre_only

    policy = scenario.trusted_nodes
    fibre = fibre_only(graph)
    rows = [r for r in demand_rows if r["architecture"] == "trusted_node"]
    out = trust.exposure_tables(rows, policy.compromise_probability)
    if policy.relay == "multipath":
        say(f"multipath: {policy.multipath_paths} node-disjoint paths per demand")
        out.update(trust.multipath_table(fibre, resolved.demands, rows, policy.multipath_paths,
                                         policy.compromise_probability, policy.route_rate_tolerance))
    if policy.n_minus_one != "off":
        out.update(trust.resilience_tables(fibre, resolved.demands, policy.n_minus_one, policy.route_rate_tolerance,
                                           progress=say))
    if scenario.planning is not None:
        say(f"planning: {len(scenario.planning.candidates)} candidate sites")
        out.update(trust.planning_table(fibre, resolved.demands, scenario.planning, file=file))
    return out


def evaluate_point(scenario_dict: dict, *, engine: str, architecture: str, seed: int,
                   source: str = "<sweep point>", base_dir: str | Path | None = None,
                   reuse_network: bool = True) -> dict[str, list[dict]]:
    """One sweep point: validate the (overridden) scenario mapping and evaluate one architecture.

    Returns the demand rows only: link tables of every point would dwarf the
    results, and the sweep's baseline run keeps the network's. Points that
    differ only in repeater or engine settings share one resolved network
    per process (``reuse_network``): topology import, trusted-node insertion
    and fibre key rates are computed once.
    """
    if base_dir is None:
        base_dir = Path(source).parent if Path(source).is_file() else Path(".")
    scenario = validate_scenario_dict(scenario_dict, source)
    key = network_key(scenario_dict, base_dir) if reuse_network else None
    cached = _NETWORK_CACHE.get(key) if key is not None else None
    if cached is None:
        resolved = resolve(scenario, file=source, base_dir=Path(base_dir))
        network = build_network(scenario, resolved, architectures=[architecture], file=source)
        if key is not None:
            while len(_NETWORK_CACHE) >= _NETWORK_CACHE_SIZE:
                _NETWORK_CACHE.pop(next(iter(_NETWORK_CACHE)))
            _NETWORK_CACHE[key] = (resolved, network)
    else:
        resolved, network = cached
    out = evaluate(scenario, resolved, engine=engine, seed=seed, architectures=[architecture], file=source,
                   network=network, analyses=False)
    return {"demands": out.tables["demands"]}


# --- the public entry for scripts: qnetemu.run ------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What :func:`run` returns: the scenario as evaluated and its tables as pandas DataFrames.

    ``demands`` has one row per demand and architecture, ``links`` one per
    link after trusted-node insertion, ``sites`` one per site; ``tables``
    holds every table (satellite ones too) by name. Columns are those of the
    results directory (README, "Results").
    """

    scenario: Scenario
    tables: dict
    graph: nx.Graph
    resolved: ResolvedScenario
    timings_s: dict[str, float]

    @property
    def demands(self):
        return self.tables["demands"]

    @property
    def links(self):
        return self.tables["links"]

    @property
    def sites(self):
        return self.tables["sites"]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in self.tables.items())
        return f"<qnetemu.Result {self.scenario.name!r} ({sizes})>"


def scenario_mapping(scenario, overrides=None) -> tuple[dict, str, Path]:
    """A scenario as a plain mapping (``extends`` resolved, overrides applied), its name for messages and base dir.

    ``scenario`` is a path to a YAML file, a mapping as such a file would
    hold, or a :class:`Scenario`. ``overrides`` maps parameter paths
    (``"repeater.memory.coherence_time_s"``, ``"links[*].attenuation_db_per_km"``)
    to values, as a sweep axis would; a parameter left at its default may be
    overridden.
    """
    import copy

    from qnetemu.scenario.load import read_scenario_mapping
    from qnetemu.sweep.axes import PathError, apply_overrides, fill_from_defaults, resolve_path

    if isinstance(scenario, Scenario):
        data, source, base_dir = scenario.model_dump(mode="json", exclude_none=True), f"<{scenario.name}>", Path(".")
    elif isinstance(scenario, str | Path):
        path = Path(scenario)
        data, source, base_dir = read_scenario_mapping(path), str(path), path.parent
    elif hasattr(scenario, "keys"):
        data, source, base_dir = copy.deepcopy(dict(scenario)), "<mapping>", Path(".")
    else:
        raise TypeError(f"scenario must be a path, a mapping or a Scenario, not {type(scenario).__name__}")
    if overrides:
        full = None
        for key in overrides:
            try:
                resolve_path(data, key)
            except PathError:
                if full is None:
                    full = validate_scenario_dict(data, source).model_dump(mode="json")
                data = fill_from_defaults(data, full, key)
        for key, value in overrides.items():
            try:
                data = apply_overrides(data, {key: value})
            except PathError as exc:
                raise UserError(f"names no parameter of the scenario: {exc}", file=source,
                                field=f"overrides[{key!r}]") from None
    return data, source, base_dir


def run(scenario, *, overrides: dict | None = None, engine: str = DEFAULT_ENGINE, architectures: list[str] | None = None,
        seed: int = 0, base_dir: str | Path | None = None, progress: Progress | None = None) -> Result:
    """Evaluate a scenario in memory (no files written) and return its tables as DataFrames.

    Parameters
    ----------
    scenario
        Path to a scenario YAML file, a mapping with the same content, or a
        :class:`~qnetemu.scenario.schema.Scenario`.
    overrides
        ``{"dotted.path": value}`` applied before validation, e.g.
        ``{"repeater.memory.coherence_time_s": 10.0}``.
    engine
        Repeater-chain engine, one of :data:`~qnetemu.engine_names.ENGINES`
        (default :data:`~qnetemu.engine_names.DEFAULT_ENGINE`).
    architectures
        Subset of the scenario's architectures to evaluate (default: all).
    seed
        Master seed of the simulating engines.
    base_dir
        Directory relative file references (GraphML topologies) are read
        from; default the scenario file's directory, else the working directory.
    progress
        ``progress(message)`` for long steps; default silent.

    Raises
    ------
    UserError
        A mistake in the scenario or an override, naming the field.

    Examples
    --------
    >>> import qnetemu
    >>> res = qnetemu.run("scenarios/two_sites.yaml", overrides={"links[0].length_km": 80.0})  # doctest: +SKIP
    >>> res.demands[["a", "b", "key_rate_bps"]]                                               # doctest: +SKIP
    """
    from qnetemu.results.tables import to_frames

    data, source, default_dir = scenario_mapping(scenario, overrides)
    model = validate_scenario_dict(data, source)
    if architectures is not None:
        unknown = sorted(set(architectures) - {"trusted_node", "repeater", "satellite", "twin_field"})
        if unknown:
            raise UserError(f"unknown architecture {unknown[0]!r}; choose trusted_node, repeater, satellite or "
                            "twin_field", field="architectures")
    where = Path(base_dir) if base_dir is not None else default_dir
    resolved = resolve(model, file=source, base_dir=where)
    out = evaluate(model, resolved, engine=engine, seed=seed, architectures=list(architectures) if architectures else None,
                   progress=progress, file=source)
    return Result(scenario=model, tables=to_frames(out.tables), graph=out.graph, resolved=resolved,
                  timings_s=dict(out.timings_s))
