"""Benchmark: trusted-node QKD relay over topohub's European backbone.

Stages, each timed: load ``backbone/europe`` (852 sites, 1,287 links, shipped
with topohub), derive fibre lengths from the coordinates (great circle x
route factor), insert trusted nodes at the QKD reach, assign decoy-BB84 key
rates (Ma et al. 2005, one vectorised call), route every pair of the sites
nearest to European capitals (widest path), and share the link keys max-min
fairly.

Run::

    python benchmarks/bench_europe_backbone.py --reach-km 100 --route-factor 1.3

Caveat: the dataset's submarine cables are split like land fibre, which puts
inserted trusted nodes at sea; this measures the algorithms, not a design.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np

from qnetemu.network.allocation import allocate_max_min_fair, link_utilisation
from qnetemu.network.graph import (
    assign_fibre_key_rates,
    build_graph,
    link_capacities_bps,
    nearest_nodes,
)
from qnetemu.network.routing import path_summary, route_all
from qnetemu.network.splitting import split_long_spans
from qnetemu.physics.presets import qkd_device_preset
from qnetemu.physics.qkd import bb84_decoy_ma2005, bb84_gain_and_qber
from qnetemu.scenario.topology import TopologyImportWarning, load_topohub

#: Capitals of European states (city-centre coordinates, deg N / deg E, rounded
#: to 0.01 deg; public gazetteer values).
CAPITALS: dict[str, tuple[float, float]] = {
    "Amsterdam": (52.37, 4.90),
    "Athens": (37.98, 23.73),
    "Belgrade": (44.79, 20.45),
    "Berlin": (52.52, 13.40),
    "Bern": (46.95, 7.45),
    "Bratislava": (48.15, 17.11),
    "Brussels": (50.85, 4.35),
    "Bucharest": (44.43, 26.10),
    "Budapest": (47.50, 19.04),
    "Chișinău": (47.01, 28.86),
    "Copenhagen": (55.68, 12.57),
    "Dublin": (53.35, -6.26),
    "Helsinki": (60.17, 24.94),
    "Kyiv": (50.45, 30.52),
    "Lisbon": (38.72, -9.14),
    "Ljubljana": (46.06, 14.51),
    "London": (51.51, -0.13),
    "Luxembourg": (49.61, 6.13),
    "Madrid": (40.42, -3.70),
    "Minsk": (53.90, 27.57),
    "Nicosia": (35.17, 33.36),
    "Oslo": (59.91, 10.75),
    "Paris": (48.86, 2.35),
    "Podgorica": (42.44, 19.26),
    "Prague": (50.08, 14.44),
    "Reykjavík": (64.15, -21.94),
    "Riga": (56.95, 24.11),
    "Rome": (41.90, 12.50),
    "Sarajevo": (43.86, 18.41),
    "Skopje": (42.00, 21.43),
    "Sofia": (42.70, 23.32),
    "Stockholm": (59.33, 18.07),
    "Tallinn": (59.44, 24.75),
    "Tirana": (41.33, 19.82),
    "Valletta": (35.90, 14.51),
    "Vienna": (48.21, 16.37),
    "Vilnius": (54.69, 25.28),
    "Warsaw": (52.23, 21.01),
    "Zagreb": (45.81, 15.98),
}


def decoy_bb84_key_rate_fn(preset_name: str):
    """Vectorised ``transmittance -> (key_rate_bps, qber)`` for a device preset."""
    device = qkd_device_preset(preset_name)
    common = {
        "mu": device["mu"],
        "detector_efficiency": device["detector_efficiency"],
        "dark_count_prob": device["dark_count_prob"],
        "misalignment_error": device["misalignment_error"],
    }

    def key_rate(transmittance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bits_per_pulse = bb84_decoy_ma2005(
            transmittance, nu=device["nu"], ec_efficiency=device["ec_efficiency"], **common
        )
        _, qber = bb84_gain_and_qber(transmittance, **common)
        rate_bps = np.asarray(bits_per_pulse) * device["repetition_rate_hz"]
        return rate_bps, np.asarray(qber)

    return key_rate, device["attenuation_db_per_km"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", default="backbone/europe", help="topohub key")
    parser.add_argument("--reach-km", type=float, default=100.0, help="QKD reach [km]")
    parser.add_argument("--route-factor", type=float, default=1.3, help="fibre / great circle")
    parser.add_argument("--preset", default="commercial_decoy_bb84", help="QKD device preset")
    parser.add_argument("--repeat", type=int, default=1, help="repeat and keep the best time")
    args = parser.parse_args(argv)

    best: dict[str, float] = {}
    for _ in range(args.repeat):
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TopologyImportWarning)
            sites, links = load_topohub(args.topology)
        times["load"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        key_rate_fn, attenuation_db_per_km = decoy_bb84_key_rate_fn(args.preset)
        for link in links:
            link["route_factor"] = args.route_factor
            link["attenuation_db_per_km"] = attenuation_db_per_km
        graph = build_graph(sites, links)
        times["build (derive lengths)"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        # Capitals snap to cities and landing points, not to mid-sea cable waypoints.
        land = graph.subgraph(
            n for n, d in graph.nodes(data=True) if d.get("kind") != "Seacable Waypoint"
        )
        lats, lons = zip(*CAPITALS.values(), strict=True)
        anchors = list(dict.fromkeys(nearest_nodes(land, lats, lons)))
        times["pick capitals"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        split, inserted = split_long_spans(graph, args.reach_km)
        times["split"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        assign_fibre_key_rates(split, key_rate_fn)
        times["key rates"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        demands = list(itertools.combinations(anchors, 2))
        paths = route_all(split, demands)
        times["route all pairs"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        capacity = link_capacities_bps(split)
        rates = allocate_max_min_fair(paths, capacity)
        use = link_utilisation(paths, rates, capacity)
        times["allocate"] = time.perf_counter() - t0
        times["total"] = sum(times.values())
        best = {k: min(v, best.get(k, np.inf)) for k, v in times.items()}

    summaries = [path_summary(split, p) for p in paths if p]
    routed = len(summaries)
    saturated = sum(1 for u in use.values() if u["demands"] and u["utilisation"] > 1 - 1e-9)
    print(f"topology {args.topology}: {len(sites)} sites, {len(links)} links")
    print(
        f"after splitting at {args.reach_km:g} km: {split.number_of_nodes()} nodes "
        f"({len(inserted)} inserted trusted nodes), {split.number_of_edges()} links"
    )
    print(f"capitals: {len(anchors)} sites, {len(demands)} demands, {routed} routed")
    if summaries:
        bottleneck = np.array([s["bottleneck_key_rate_bps"] for s in summaries])
        hops = np.array([s["trusted_nodes"] for s in summaries])
        print(
            f"bottleneck key rate [bit/s]: median {np.median(bottleneck):.3g}, "
            f"min {bottleneck.min():.3g}; trusted nodes per path: median "
            f"{np.median(hops):.0f}, max {hops.max()}"
        )
        positive = rates[rates > 0]
        if positive.size:
            print(
                f"max-min fair rate [bit/s]: median {np.median(positive):.3g}, "
                f"min {positive.min():.3g}; {saturated} saturated links"
            )
    print(f"timings [s] (best of {args.repeat}):")
    for stage, seconds in best.items():
        print(f"  {stage:<24} {seconds:8.3f}")


if __name__ == "__main__":
    main()
