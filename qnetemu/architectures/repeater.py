"""Memory-based quantum repeaters on the same fibre routes as the trusted nodes.

For each demand the repeater chain follows the fibre route the trusted-node
architecture uses (the best all-fibre route when that one crosses a
satellite). Inserted trusted nodes are removed from the route: they were
only there because one QKD link cannot reach further. Each real fibre span
is cut into equal elementary links no longer than ``placement.spacing_km``,
with a repeater at every real intermediate site when ``placement.at_sites``
(otherwise the whole route is cut evenly). The chain engine (analytic,
montecarlo or sequence) gives the end-to-end pair rate and fidelity, and
BBM92 on the delivered pairs gives secret bits per second, the same unit as
the trusted-node rows, with zero trusted nodes.

Shared hardware. Demands whose routes cross the same fibre span share the
repeaters, memories and attempt slots along it, as trusted-node demands share
a link's key. The chain engine gives each demand's rate with the whole
hardware (``bottleneck_key_rate_bps``, what it would get alone); the demands
then share every span by time division: demand ``d`` holds the hardware of
each span it crosses for a fraction ``x_d`` of the time (with independent
lanes, ``x_d m`` of the ``m`` lanes), the fractions on a span summing to at
most 1, and its rates scale by ``x_d`` (its fidelity is unchanged: while it
holds the hardware its chain runs as if alone). The fractions are the
max-min fair allocation (:func:`qnetemu.network.allocation.allocate_max_min_fair`
with capacity 1 per span, capped at the share that meets the demand's
required key rate), so no demand can get more without taking from one that
has no more. ``hardware_share`` records ``x_d``; ``key_rate_bps`` is the
shared rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import networkx as nx
import numpy as np

from qnetemu.engines import run_chains
from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol
from qnetemu.errors import UserError
from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.physics.entanglement import bbm92_key_fraction
from qnetemu.scenario.schema import RepeaterProfile


def repeater_hardware(profile: RepeaterProfile) -> RepeaterHardware:
    """Scenario repeater profile -> the engines' hardware record."""
    return RepeaterHardware(
        memory_efficiency=profile.memory.efficiency,
        coherence_time_s=profile.memory.coherence_time_s,
        decoherence=profile.memory.decoherence,
        memories_per_node=profile.memory.memories_per_node,
        link_fidelity=profile.link_fidelity,
        attempt_rate_hz=profile.memory.attempt_rate_hz,
        detector_efficiency=profile.detector_efficiency,
        swap_success_prob=profile.swap_success_prob,
        swap_fidelity=profile.swap_fidelity,
        purification=profile.purification.protocol,
        purification_rounds=profile.purification.rounds,
        cutoff_time_s=profile.cutoff_time_s,
    )


def repeater_protocol(profile: RepeaterProfile) -> RepeaterProtocol:
    """Scenario ``repeater.protocol`` -> the engines' protocol record."""
    p = profile.protocol
    return RepeaterProtocol(p.swap_order, p.link_generation, p.swap_messaging, p.multiplexing)


def physical_path(graph: nx.Graph, path: list[str]) -> list[str]:
    """Expand optical-bypass links into the fibre hops they pass through."""
    out = path[:1]
    for u, v in zip(path[:-1], path[1:], strict=True):
        hops = graph.edges[u, v].get("fibre_path")
        if hops is None:
            out.append(v)
        else:
            out += list(hops[1:] if hops[0] == u else reversed(hops[:-1]))
    return out


def _physical_fibre(data: dict) -> bool:
    return data.get("segment", "fibre") == "fibre" and "fibre_path" not in data


def fibre_route(graph: nx.Graph, path: list[str], a: str, b: str) -> list[str]:
    """The demand's physical fibre path: its own if all fibre, else the shortest all-fibre one ([] if none)."""
    if path and all(graph.edges[u, v].get("segment", "fibre") == "fibre" for u, v in zip(path, path[1:], strict=False)):
        return physical_path(graph, path)
    # A filtered view, not a copy: this runs once per demand without a fibre path.
    fibre = nx.subgraph_view(graph, filter_edge=lambda u, v: _physical_fibre(graph.edges[u, v]))
    try:
        return nx.shortest_path(fibre, a, b, weight="length_km")
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return []


def route_spans(graph: nx.Graph, path: list[str]) -> list[tuple[float, float]]:
    """(length_km, attenuation_db_per_km) of each real span: inserted trusted nodes merged away."""
    spans: list[tuple[float, float]] = []
    length = loss = 0.0
    for u, v in zip(path, path[1:], strict=False):
        d = graph.edges[u, v]
        length += d["length_km"]
        loss += d["length_km"] * d["attenuation_db_per_km"]
        if not graph.nodes[v].get("inserted"):
            spans.append((length, loss / length))
            length = loss = 0.0
    return spans


def elementary_link_count(length_km: float, spacing_km: float) -> float:
    """Equal elementary links no longer than ``spacing_km`` that cover ``length_km`` (infinity on overflow)."""
    ratio = length_km / spacing_km
    return max(1, math.ceil(ratio - 1e-9)) if math.isfinite(ratio) else math.inf


def segment_lengths_km(spans: list[tuple[float, float]], spacing_km: float, at_sites: bool) -> tuple[float, ...]:
    """Cut spans into elementary links of at most ``spacing_km`` (equal within a span)."""
    if not at_sites:
        total = sum(s for s, _ in spans)
        n = elementary_link_count(total, spacing_km)
        return (total / n,) * n
    out: list[float] = []
    for length, _ in spans:
        n = elementary_link_count(length, spacing_km)
        out += [length / n] * n
    return tuple(out)


def chain_for_route(graph: nx.Graph, path: list[str], profile: RepeaterProfile) -> ChainSpec:
    spans = route_spans(graph, path)
    total = sum(s for s, _ in spans)
    attenuation = sum(s * a for s, a in spans) / total  # length-weighted mean
    return ChainSpec(
        segment_lengths_km=segment_lengths_km(spans, profile.placement.spacing_km, profile.placement.at_sites),
        hardware=repeater_hardware(profile),
        attenuation_db_per_km=attenuation,
        protocol=repeater_protocol(profile),
    )


def _tenths(say: Callable[[str], None], label: str) -> Callable[[float], None]:
    """Report an event simulation's progress every tenth of its simulated time."""
    shown = [-1]

    def report(fraction: float) -> None:
        step = int(fraction * 10)
        if step > shown[0]:
            shown[0] = step
            say(f"{label}: {min(step * 10, 100)} % of simulated time")

    return report


def evaluate_repeater(
    graph: nx.Graph,
    demands: list[dict],
    trusted_rows: list[dict],
    profile: RepeaterProfile,
    *,
    engine: str,
    seeds: list[int],
    max_pairs: int,
    max_time_s: float,
    progress: Callable[[str], None] | None = None,
    file: str | None = None,
    workers: int = 1,
    address: str | None = None,
) -> list[dict]:
    """One row per demand for the repeater architecture.

    ``workers``: SeQUeNCe chains run at once on this many warm local worker
    processes (:func:`qnetemu.engines.run_chains`); ``address``: as Ray tasks
    on the cluster there instead (``local``: a private Ray of ``workers`` CPUs).
    The numbers depend on neither.

    ``trusted_rows`` (the trusted-node rows of the same demands, as
    :func:`qnetemu.architectures.trusted_node.evaluate_trusted_node` gives
    them whether or not the trusted-node architecture is asked for) supply
    the routes, so both architectures are compared on the same fibre and a
    sweep point routes every demand as ``qnetemu run`` does.

    Raises
    ------
    UserError
        When the engine cannot run ``repeater.protocol`` (or the hardware) as
        the scenario asks: one line naming ``file`` and the field.
    """
    paths = [r["path"].split(" > ") if r.get("path") else [] for r in trusted_rows]
    protocol_label = repeater_protocol(profile).label()
    rows = []
    planned = []  # (row, route, chain) of each demand with a route, in demand order
    for i, (demand, path, seed) in enumerate(zip(demands, paths, seeds, strict=True)):
        row = {"a": demand["a"], "b": demand["b"], "architecture": "repeater", "engine": engine,
               "required_key_rate_bps": demand.get("required_key_rate_bps"), "trusted_nodes": 0,
               "trusted_node_names": "", "seed": seed, "protocol": protocol_label,
               "decoherence": profile.memory.decoherence}
        rows.append(row)
        route = fibre_route(graph, path, demand["a"], demand["b"])
        if not route:
            row.update(status="no_path", key_rate_bps=0.0, path="", route_sites="")
            continue
        chain = chain_for_route(graph, route, profile)
        if progress:
            progress(f"repeater [{i + 1}/{len(demands)}] {demand['a']} ↔ {demand['b']}: "
                     f"{chain.n_segments} links, {chain.total_length_km:,.0f} km ({engine})")
        planned.append((row, route, chain))
    callbacks = None
    if progress and engine == "sequence":
        callbacks = [_tenths(progress, f"  SeQUeNCe {row['a']} ↔ {row['b']}") for row, _, _ in planned]
    if progress and address and planned:
        where = "a private Ray on this machine" if address == "local" else f"the Ray cluster at {address}"
        progress(f"repeater: {len(planned)} SeQUeNCe chain(s) as Ray tasks on {where}")
    try:  # SeQUeNCe chains run at once on warm workers (or Ray), the others one by one
        results = run_chains(engine, [(chain, row["seed"]) for row, _, chain in planned],
                             max_pairs=max_pairs, max_time_s=max_time_s, progress=callbacks,
                             workers=workers, address=address)
    except UserError as exc:  # the engine refuses the protocol: say where in the scenario
        if (exc.field or "").startswith("--"):  # a command-line option (Ray's --address): not the file
            raise
        raise UserError(exc.message, file=file, field=exc.field) from None
    for (row, route, chain), result in zip(planned, results, strict=True):
        fraction = float(bbm92_key_fraction(result.mean_fidelity, ec_efficiency=profile.ec_efficiency)) \
            if result.pair_rate_hz > 0 and np.isfinite(result.mean_fidelity) else 0.0
        if result.status == "ok" and not result.latency_s <= max_time_s:
            # The chain cannot deliver within the engine's time limit: record it, deliver no key.
            result.status = "beyond_time_limit"
            result.error = (f"first end-to-end pair expected after {result.latency_s:.3g} s, beyond "
                            f"engine.max_time_s = {max_time_s:g} s")
            fraction = 0.0
        row.update(
            status=result.status,
            error=result.error,
            path=" > ".join(route),
            route_sites=" > ".join(n for n in route if not graph.nodes[n].get("inserted")),
            hops=chain.n_segments,
            repeaters=chain.n_segments - 1,
            segment_length_km=float(np.mean(chain.segment_lengths_km)),
            distance_km=chain.total_length_km,
            pairs=result.pairs,
            pair_rate_hz=result.pair_rate_hz,
            pair_rate_stderr_hz=result.pair_rate_stderr_hz,
            fidelity=result.mean_fidelity,
            fidelity_stderr=result.fidelity_stderr,
            key_fraction=fraction,
            key_rate_bps=result.pair_rate_hz * fraction if result.status == "ok" else 0.0,
            bottleneck_key_rate_bps=result.pair_rate_hz * fraction if result.status == "ok" else 0.0,
            latency_s=result.latency_s,
            simulated_time_s=result.simulated_time_s,
            approximation=result.extra.get("approximation", ""),
            wall_s=result.wall_s,
            segments="fibre",
        )
    share_hardware(rows)
    return rows


def share_hardware(rows: list[dict]) -> None:
    """Share each fibre span's repeater hardware max-min fairly among the demands crossing it.

    ``rows`` are repeater rows with ``path`` (physical fibre route, " > "
    joined), ``status`` and ``bottleneck_key_rate_bps`` (rate alone); each
    gets ``hardware_share`` and its shared ``key_rate_bps`` and
    ``requirement_met``, in place (see the module docstring).
    """
    paths, caps = [], []
    for row in rows:
        alone = row.get("bottleneck_key_rate_bps", 0.0)
        usable = row.get("status") == "ok" and row.get("path") and alone > 0
        paths.append(row["path"].split(" > ") if usable else [])
        req = row.get("required_key_rate_bps")
        caps.append(None if not usable or req is None else min(1.0, req / alone))
    spans = {frozenset(e) for p in paths for e in zip(p, p[1:], strict=False)}
    shares = allocate_max_min_fair(paths, dict.fromkeys(spans, 1.0), caps) if spans else [0.0] * len(rows)
    for row, share in zip(rows, shares, strict=True):
        row["hardware_share"] = float(share)
        if "bottleneck_key_rate_bps" in row:
            row["key_rate_bps"] = float(share) * row["bottleneck_key_rate_bps"]
        req = row.get("required_key_rate_bps")
        row["requirement_met"] = None if req is None else bool(row["key_rate_bps"] >= req * (1 - 1e-12))
