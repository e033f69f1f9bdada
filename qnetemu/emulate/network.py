"""The static network the emulator runs in time: links, failable nodes, applications.

Built once from the scenario through the same pipeline as ``qnetemu run``
(:func:`qnetemu.pipeline.evaluate`), so the emulator reads every link's key
rate from the built graph's ``key_rate_bps`` and never re-derives physics.
Satellite trusted-relay links keep their passes: key arrives pass by pass
(``key_bits`` of each pass, at its end), repeated with the period of the
scenario's space window when the emulation is longer than the window.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx

from qnetemu.errors import UserError
from qnetemu.scenario.emulation import Emulation
from qnetemu.scenario.resolve import ResolvedScenario
from qnetemu.scenario.schema import Scenario

#: Roles of the sites that fail under ``applies_to: trusted_nodes``.
TRUSTED_ROLES = ("trusted_node",)


@dataclass(frozen=True)
class Pass:
    """Key a satellite link gets from one pass [bit], at ``time_s`` after the window's start."""

    time_s: float
    key_bits: float


@dataclass(frozen=True)
class EmuLink:
    """One QKD link as the emulator sees it."""

    index: int
    link_id: str
    a: str
    b: str
    segment: str
    cable: str
    key_rate_bps: float
    block_bits: float
    capacity_bits: float
    latency_s: float
    split_from: str | None
    #: Passes over one space window (satellite trusted relay); None: steady blocks.
    passes: tuple[Pass, ...] | None = None
    #: The ground station whose weather decides each night (pass links only).
    station: str | None = None
    #: Fraction of clear nights at that station.
    clear_fraction: float = 1.0
    #: Longitude of that station [deg] (nights run from local noon to local noon).
    station_lon_deg: float = 0.0


@dataclass(frozen=True)
class EmuApplication:
    """An application drawing ``bits`` of key every ``period_s`` between two sites."""

    index: int
    name: str
    a: str
    b: str
    bits: float
    period_s: float
    max_wait_s: float
    start_s: float

    @property
    def rate_bps(self) -> float:
        return self.bits / self.period_s


@dataclass(frozen=True)
class Reliability:
    """Mean time between failures and to repair of one element [s]."""

    mtbf_s: float
    mttr_s: float


@dataclass(frozen=True)
class Outage:
    """A scheduled outage of a link (``link`` index) or a node (``node`` name)."""

    start_s: float
    end_s: float
    link: int | None = None
    node: str | None = None


@dataclass
class EmuNetwork:
    """Everything static about one emulation."""

    graph: nx.Graph
    links: list[EmuLink]
    link_index: dict[frozenset, int]
    applications: list[EmuApplication]
    link_reliability: dict[int, Reliability]
    node_reliability: dict[str, Reliability]
    outages: list[Outage]
    spec: Emulation
    route_rate_tolerance: float
    window_s: float | None = None
    name: str = "emulation"
    start_utc: datetime | None = None
    tables: dict[str, list[dict]] = field(default_factory=dict)


def _links_named(graph: nx.Graph, link_index: dict, a: str, b: str) -> list[int]:
    """Graph links that are the scenario link a–b, or pieces of it after trusted-node insertion."""
    names = {f"{a}–{b}", f"{b}–{a}"}
    found = []
    for u, v, d in graph.edges(data=True):
        if frozenset((u, v)) == frozenset((a, b)) or d.get("split_from") in names or d.get("link_id") in names:
            found.append(link_index[frozenset((u, v))])
    return sorted(set(found))


def _block_bits(edge: dict, rate_bps: float, default_bits: float) -> float:
    """Key per delivered block [bit]: a finite-key link's own block (its key rate x the time its
    key model needs to fill one block, ``block_time_s``), otherwise the emulation's block size."""
    block_time_s = edge.get("block_time_s")
    if block_time_s is not None and math.isfinite(block_time_s) and block_time_s > 0 and rate_bps > 0:
        return float(rate_bps * block_time_s)
    return float(default_bits)


def _check_site(graph: nx.Graph, name: str, file: str, where: str) -> None:
    if name not in graph:
        raise UserError(f"unknown site {name!r}", file=file, field=where)


def _applications(spec: Emulation, demands: list[dict], graph: nx.Graph, file: str) -> list[EmuApplication]:
    apps: list[EmuApplication] = []
    if spec.applications:
        for i, app in enumerate(spec.applications):
            for end in ("a", "b"):
                _check_site(graph, getattr(app, end), file, f"emulation.applications[{i}].{end}")
            apps.append(EmuApplication(index=i, name=app.name or f"{app.a} ↔ {app.b}", a=app.a, b=app.b,
                                       bits=app.bits_per_request, period_s=app.period_s,
                                       max_wait_s=app.wait_s, start_s=app.start_s))
    else:
        # The schema's Application defaults (period, wait, start) are the only ones.
        from qnetemu.scenario.emulation import Application

        for d in demands:
            if d.get("required_key_rate_bps"):
                app = Application(a=d["a"], b=d["b"], rate_bps=d["required_key_rate_bps"])
                apps.append(EmuApplication(index=len(apps), name=f"{app.a} ↔ {app.b}", a=app.a, b=app.b,
                                           bits=app.bits_per_request, period_s=app.period_s,
                                           max_wait_s=app.wait_s, start_s=app.start_s))
    names = [a.name for a in apps]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UserError(f"two applications are called {dup!r}; give them distinct names", file=file,
                        field="emulation.applications")
    return apps


def _passes_by_link(tables: dict, graph: nx.Graph, start_utc: datetime | None) -> dict[frozenset, list[Pass]]:
    from qnetemu.architectures.satellite import satellite_node

    out: dict[frozenset, list[Pass]] = {}
    for row in tables.get("passes", []):
        key = frozenset((satellite_node(row["satellite"]), row["station"]))
        if not graph.has_edge(*key) or row["key_bits"] <= 0:
            continue
        time_s = (row["set_utc"] - start_utc).total_seconds()
        out.setdefault(key, []).append(Pass(time_s=float(time_s), key_bits=float(row["key_bits"])))
    return {k: sorted(v, key=lambda p: p.time_s) for k, v in out.items()}


def build_emulated_network(scenario: Scenario, resolved: ResolvedScenario, *, file: str = "<scenario>",
                           progress=None) -> EmuNetwork:
    """The network of ``qnetemu run`` (fibre, and satellites when the scenario has them), ready to emulate."""
    from qnetemu.pipeline import evaluate

    arch = "satellite" if scenario.satellites else "trusted_node"
    run = evaluate(scenario, resolved, architectures=[arch], progress=progress, file=file)
    start_utc = scenario.space.start_utc if scenario.space is not None else None
    return emulated_network(
        run.graph, scenario.emulation or Emulation(), demands=resolved.demands, tables=run.tables,
        start_utc=start_utc, window_s=scenario.space.duration_s if scenario.space is not None else None,
        route_rate_tolerance=scenario.trusted_nodes.route_rate_tolerance, file=file, name=scenario.name,
    )


def emulated_network(graph: nx.Graph, spec: Emulation, *, demands: list[dict] | None = None,
                     tables: dict | None = None, start_utc: datetime | None = None, window_s: float | None = None,
                     route_rate_tolerance: float = 0.0, file: str = "<scenario>",
                     name: str = "emulation") -> EmuNetwork:
    """An emulation of a built network graph (edges with ``key_rate_bps``), as the pipeline builds it.

    ``tables`` are the run's tables (``passes`` gives satellite links their
    passes); ``demands`` the resolved demands (applications when the spec
    has none).
    """
    tables = tables or {}
    passes = _passes_by_link(tables, graph, start_utc) if start_utc is not None else {}
    weather = {n: (d.get("ground_station") or {}).get("weather_availability", 1.0)
               for n, d in graph.nodes(data=True) if d.get("role") == "ground_station"}

    links: list[EmuLink] = []
    link_index: dict[frozenset, int] = {}
    for u, v, d in sorted(graph.edges(data=True), key=lambda e: str(e[2].get("link_id", f"{e[0]}–{e[1]}"))):
        rate = float(d.get("key_rate_bps", 0.0))
        a, b = d.get("ends", (u, v))
        key = frozenset((u, v))
        link_passes = passes.get(key)
        station = None
        if link_passes is not None:
            station = b if graph.nodes[a].get("role") == "satellite" else a
        links.append(EmuLink(
            index=len(links), link_id=str(d.get("link_id", f"{a}–{b}")), a=a, b=b,
            segment=str(d.get("segment", "fibre")), cable=str(d.get("cable", "terrestrial")), key_rate_bps=rate,
            block_bits=_block_bits(d, rate, spec.key_block_bits),
            capacity_bits=float(spec.store_capacity_bits), latency_s=float(d.get("latency_s") or 0.0)
            if d.get("segment", "fibre") == "fibre" else 0.0,
            split_from=d.get("split_from"),
            passes=tuple(link_passes) if link_passes is not None else None, station=station,
            clear_fraction=float(weather.get(station, 1.0)) if station else 1.0,
            station_lon_deg=float(graph.nodes[station].get("lon_deg", 0.0)) if station else 0.0,
        ))
        link_index[key] = links[-1].index

    for i, store in enumerate(spec.link_stores):
        found = _links_named(graph, link_index, store.a, store.b)
        if not found:
            raise UserError(f"no link between {store.a!r} and {store.b!r}", file=file,
                            field=f"emulation.link_stores[{i}].a")
        for k in found:
            links[k] = dataclasses.replace(links[k], capacity_bits=float(store.capacity_bits))
    apps = _applications(spec, demands or [], graph, file)
    link_rel: dict[int, Reliability] = {}
    node_rel: dict[str, Reliability] = {}
    for i, f in enumerate(spec.failures):
        rel = Reliability(f.mtbf_s, f.mttr_s)
        where = f"emulation.failures[{i}]"
        if f.applies_to == "trusted_nodes":
            for n, nd in graph.nodes(data=True):
                if nd.get("role") in TRUSTED_ROLES:
                    node_rel[n] = rel
        elif f.applies_to is not None:
            for link in links:
                hit = {"fibre": link.segment == "fibre",
                       "terrestrial": link.segment == "fibre" and link.cable == "terrestrial",
                       "submarine": link.segment == "fibre" and link.cable == "submarine",
                       "satellite": link.segment == "satellite"}[f.applies_to]
                if hit:
                    link_rel[link.index] = rel
        elif f.node is not None:
            _check_site(graph, f.node, file, f"{where}.node")
            node_rel[f.node] = rel
        else:
            found = _links_named(graph, link_index, f.a, f.b)
            if not found:
                raise UserError(f"no link between {f.a!r} and {f.b!r}", file=file, field=f"{where}.a")
            for k in found:
                link_rel[k] = rel
    outages: list[Outage] = []
    for i, o in enumerate(spec.outages):
        where = f"emulation.outages[{i}]"
        if o.node is not None:
            _check_site(graph, o.node, file, f"{where}.node")
            outages.append(Outage(o.start_s, o.start_s + o.duration_s, node=o.node))
        else:
            found = _links_named(graph, link_index, o.a, o.b)
            if not found:
                raise UserError(f"no link between {o.a!r} and {o.b!r}", file=file, field=f"{where}.a")
            outages += [Outage(o.start_s, o.start_s + o.duration_s, link=k) for k in found]
    return EmuNetwork(graph=graph, links=links, link_index=link_index, applications=apps,
                      link_reliability=link_rel, node_reliability=node_rel, outages=outages, spec=spec,
                      route_rate_tolerance=route_rate_tolerance, window_s=window_s,
                      start_utc=start_utc, tables=tables, name=name)
