"""Memory-based quantum repeaters on the physical fibre, one chain per demand.

Routes. A repeater holds no key: it stores and swaps entangled pairs, and
key is distilled only at the two ends, so no station of a chain sees key in
the clear and the trust policy (``trust``: which nodes may relay key, see
:mod:`qnetemu.network.trust`) does not bar any node from a chain. Each
demand's chain runs on the route over the physical fibre graph (every real
span; optical-bypass and satellite links are not fibre a chain can use)
with the fewest expected attempts to herald each of its elementary links
once, through any country and any landing point
(:mod:`qnetemu.network.repeater_routes`). A demand the trust policy leaves
without a trusted-node route may thus still get a repeater row, and the
two rows of one demand may take different routes; each row records its own
(``route_nodes``).

Stations. Repeaters stand only where equipment can: at sites on land
(inserted trusted nodes and sea-cable junctions are not stations). Each land
stretch of fibre is cut into equal elementary links no longer than
``placement.spacing_km``, with a repeater at every real intermediate site
when ``placement.at_sites`` (otherwise consecutive land spans are cut evenly
as one stretch); a section at sea is one elementary link between its
landing points, however long. With ``placement.on_land`` a station that
would stand in the water a land stretch crosses (a bay, a strait, a lake)
moves to land (:mod:`qnetemu.network.station_land`). ``repeater_sites`` lists the sites that hold a
repeater, ``segment_lengths_km`` every elementary link. The chain engine
(analytic, montecarlo or sequence) gives the end-to-end pair rate and
fidelity, and BBM92 on the delivered pairs gives secret bits per second, the
same unit as the trusted-node rows, with zero trusted nodes.

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
from qnetemu.engines.chain import (
    ChainBeyondEngine,
    ChainResult,
    ChainSpec,
    RepeaterHardware,
    RepeaterProtocol,
)
from qnetemu.engines.elementary_link import elementary_links as link_physics
from qnetemu.errors import UserError
from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.network.repeater_routes import (
    RepeaterRoute,
    elementary_links,
    land_stretches,
    repeater_routes,
    route_columns,
)
from qnetemu.network.station_land import LandStations
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


def chain_for_route(route: RepeaterRoute, profile: RepeaterProfile,
                    land: LandStations | None = None) -> tuple[ChainSpec, tuple[str, ...]]:
    """The chain a route carries under ``profile.placement``, and the named sites that hold its repeaters.

    ``land``: stations of land stretches stand on land (``placement.on_land``).
    """
    lengths, stations = elementary_links(route, profile.placement.spacing_km, profile.placement.at_sites, land)
    chain = ChainSpec(
        segment_lengths_km=lengths,
        hardware=repeater_hardware(profile),
        attenuation_db_per_km=route.attenuation_db_per_km,  # length-weighted mean
        protocol=repeater_protocol(profile),
    )
    return chain, stations


def first_herald_bound_s(chain: ChainSpec) -> float:
    """A lower bound on the time to a chain's first end-to-end pair [s].

    Every elementary link must herald once, and a link with ``m`` memories
    a side makes at most ``m`` attempts per attempt period ``tau``, each
    succeeding with probability ``p``: its first herald takes
    ``tau / (1 - (1 - p)**m)`` on average (the mean of a geometric number of
    periods), so the slowest link bounds the chain's mean latency from below.
    """
    links = link_physics(chain)
    m = chain.hardware.memories_per_node
    return max(link.attempt_period_s / -math.expm1(m * math.log1p(-link.success_prob))
               if link.success_prob > 0 else math.inf for link in links)


def _bound_or_zero(chain: ChainSpec) -> float:
    """:func:`first_herald_bound_s`, or 0 for a chain the engines will refuse with their own message."""
    try:
        return first_herald_bound_s(chain)
    except ValueError:
        return 0.0


def _beyond_time(engine: str, bound_s: float, max_time_s: float) -> ChainResult:
    """The result of a chain not simulated: its slowest elementary link alone outlasts ``engine.max_time_s``."""
    return ChainResult(engine=engine, pairs=0, simulated_time_s=0.0, pair_rate_hz=0.0, pair_rate_stderr_hz=0.0,
                       mean_fidelity=float("nan"), fidelity_stderr=float("nan"), latency_s=bound_s, wall_s=0.0,
                       status="beyond_time_limit",
                       error=f"its slowest elementary link heralds its first pair after {bound_s:.3g} s on average, "
                             f"beyond engine.max_time_s = {max_time_s:g} s")


def _beyond_engine(engine: str, message: str) -> ChainResult:
    """The result of a chain the engine cannot compute (its grid or memory would not fit)."""
    return ChainResult(engine=engine, pairs=0, simulated_time_s=0.0, pair_rate_hz=0.0, pair_rate_stderr_hz=0.0,
                       mean_fidelity=float("nan"), fidelity_stderr=float("nan"), latency_s=float("nan"), wall_s=0.0,
                       status="beyond_engine", error=message)


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
    ship_code: bool = False,
) -> list[dict]:
    """One row per demand for the repeater architecture.

    Each demand's chain runs on its route over the physical fibre of ``graph`` (:func:`qnetemu.network.repeater_routes.repeater_routes`),
    whatever the trust policy says: a repeater holds no key. The route
    depends on ``graph`` alone, so ``qnetemu run`` and every sweep point
    evaluate the same routes.

    ``workers``: SeQUeNCe chains run at once on this many warm local worker
    processes (:func:`qnetemu.engines.run_chains`); ``address``: as Ray tasks
    on the cluster there instead (``local``: a private Ray of ``workers`` CPUs).
    The numbers depend on neither.

    A chain whose slowest link alone outlasts ``max_time_s`` is recorded
    ``beyond_time_limit`` without simulating it; one the engine runs but
    cannot compute (:class:`qnetemu.engines.chain.ChainBeyondEngine`),
    ``beyond_engine`` with the engine's message.

    Raises
    ------
    UserError
        When the engine cannot run ``repeater.protocol`` (or the hardware) as
        the scenario asks: one line naming ``file`` and the field.
    """
    placement = profile.placement
    routes = repeater_routes(graph, [(d["a"], d["b"]) for d in demands], placement.spacing_km)
    land = None
    if placement.on_land:
        from qnetemu.geodata import is_land  # the shoreline data loads only when a chain needs it

        land = LandStations(graph, is_land, placement.spacing_km)
        land.prepare(s for r in routes if r is not None
                     for s in land_stretches(r, placement.spacing_km, placement.at_sites))
    protocol_label = repeater_protocol(profile).label()
    rows = []
    planned = []  # (row, route, chain) of each demand with a route, in demand order
    for i, (demand, route, seed) in enumerate(zip(demands, routes, seeds, strict=True)):
        row = {"a": demand["a"], "b": demand["b"], "architecture": "repeater", "engine": engine,
               "required_key_rate_bps": demand.get("required_key_rate_bps"), "trusted_nodes": 0,
               "trusted_node_names": "", "seed": seed, "protocol": protocol_label,
               "decoherence": profile.memory.decoherence}
        rows.append(row)
        if route is None:
            row.update(status="no_path", key_rate_bps=0.0, path="", route_sites="", **route_columns(None))
            continue
        chain, stations = chain_for_route(route, profile, land)
        row.update(route_columns(route, stations, chain.segment_lengths_km))
        if progress:
            progress(f"repeater [{i + 1}/{len(demands)}] {demand['a']} ↔ {demand['b']}: "
                     f"{chain.n_segments} links, {chain.total_length_km:,.0f} km ({engine})")
        planned.append((row, route, chain))
    callbacks = None
    if progress and engine == "sequence":
        callbacks = [_tenths(progress, f"  SeQUeNCe {row['a']} ↔ {row['b']}") for row, _, _ in planned]
    screened = [_bound_or_zero(chain) for _, _, chain in planned]
    runnable = [k for k, bound in enumerate(screened) if not bound > max_time_s]
    results = [_beyond_time(engine, bound, max_time_s) for bound in screened]
    if progress and address and runnable and engine == "sequence":
        where = "a private Ray on this machine" if address == "local" else f"the Ray cluster at {address}"
        progress(f"repeater: {len(runnable)} SeQUeNCe chain(s) as Ray tasks on {where}")
    try:  # SeQUeNCe chains run at once on warm workers (or Ray), the others one by one
        if engine == "sequence":
            ran = run_chains(engine, [(planned[k][2], planned[k][0]["seed"]) for k in runnable],
                             max_pairs=max_pairs, max_time_s=max_time_s,
                             progress=None if callbacks is None else [callbacks[k] for k in runnable],
                             workers=workers, address=address, ship_code=ship_code)
            for k, result in zip(runnable, ran, strict=True):
                results[k] = result
        for k in runnable if engine != "sequence" else ():
            try:
                [results[k]] = run_chains(engine, [(planned[k][2], planned[k][0]["seed"])],
                                          max_pairs=max_pairs, max_time_s=max_time_s)
            except ChainBeyondEngine as exc:  # this chain only: record it, run the others
                results[k] = _beyond_engine(engine, exc.message)
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
            path=" > ".join(map(str, route.nodes)),
            route_sites=" > ".join(str(n) for n in route.nodes if not graph.nodes[n].get("inserted")),
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

    ``rows`` are repeater rows with ``route_nodes`` (the physical fibre
    route, a list of node names), ``status`` and ``bottleneck_key_rate_bps``
    (rate alone); each gets ``hardware_share`` and its shared
    ``key_rate_bps`` and ``requirement_met``, in place (see the module
    docstring).
    """
    paths, caps = [], []
    for row in rows:
        alone = row.get("bottleneck_key_rate_bps", 0.0)
        route = list(row.get("route_nodes") or [])
        usable = row.get("status") == "ok" and len(route) >= 2 and alone > 0
        paths.append(route if usable else [])
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
