"""Benchmark: satellite passes over many optical ground stations, old path vs new.

The old path is what ``find_passes`` did before the multi-station geometry:
for each station a fresh skyfield Time grid, ``(satellite - topos).at(t).altaz()``
and the topocentric apparent Sun at the samples near the elevation mask, so
IAU 2000A nutation and SGP4 were recomputed for every station. The new path
is :func:`qnetemu.orbits.visibility.station_geometry` (satellite, Sun and
nutation once per grid, stations by matrix products) followed by the passes
over every station and the common windows of every pair.

Run::

    python benchmarks/bench_passes.py --stations 20 --days 1 --step-s 10

The ephemeris is loaded before timing; new-path times are the best of
``--repeat`` runs because the machine may be shared, the old path runs once.
The old path's time covers geometry only: its common windows for every pair
would cost two more station computations per pair on top.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
from skyfield.api import wgs84

from qnetemu.orbits.passes import Site
from qnetemu.orbits.satellites import (
    ephemeris,
    satellite_from_elements,
    sun_synchronous_inclination_deg,
    timescale,
)
from qnetemu.orbits.visibility import (
    common_windows_by_pair,
    passes_by_station,
    station_geometry,
)

#: Optical-ground-station-like sites for a EuroQCI space segment (approximate
#: observatory coordinates: deg N, deg E, m), mainland first, then overseas.
SITES = [
    Site(40.6486, 16.7046, 536.0, "Matera"),
    Site(47.0671, 15.4934, 493.0, "Graz"),
    Site(49.9093, 14.7813, 528.0, "Ondrejov"),
    Site(60.2172, 24.3946, 60.0, "Metsahovi"),
    Site(49.1444, 12.8780, 665.0, "Wettzell"),
    Site(48.0837, 11.2773, 600.0, "Oberpfaffenhofen"),
    Site(43.7546, 6.9216, 1323.0, "Calern"),
    Site(37.9714, 22.6153, 930.0, "Kryoneri"),
    Site(40.5241, -3.0864, 980.0, "Yebes"),
    Site(38.7223, -9.1393, 100.0, "Lisbon"),
    Site(52.2770, 17.0746, 123.0, "Borowiec"),
    Site(56.9496, 24.1052, 10.0, "Riga"),
    Site(44.4268, 26.1025, 80.0, "Bucharest"),
    Site(41.6932, 24.7383, 1750.0, "Rozhen"),
    Site(46.0569, 14.5058, 295.0, "Ljubljana"),
    Site(53.3498, -6.2603, 20.0, "Dublin"),
    Site(28.2997, -16.5097, 2390.0, "Tenerife"),
    Site(32.6500, -16.9100, 580.0, "Madeira"),
    Site(37.7412, -25.6756, 50.0, "Azores"),
    Site(-21.2081, 55.5706, 2200.0, "Reunion"),
    Site(16.2500, -61.5833, 50.0, "Guadeloupe"),
    Site(5.1597, -52.6503, 10.0, "Kourou"),
    Site(35.1856, 33.3823, 150.0, "Nicosia"),
    Site(59.3293, 18.0686, 30.0, "Stockholm"),
]
EPOCH = datetime(2026, 3, 20, tzinfo=UTC)


def old_per_station(satellite, sites, duration_s, step_s, min_elevation_deg):
    """Elevation, range and Sun per station, one skyfield pipeline each (the old way)."""
    eph = ephemeris()
    offsets_s = np.arange(int(duration_s / step_s) + 1) * step_s
    results = []
    for site in sites:
        times = timescale().utc(2026, 3, 20, 0, 0, offsets_s)
        topos = wgs84.latlon(site.latitude_deg, site.longitude_deg, elevation_m=site.elevation_m)
        alt, _, distance = (satellite - topos).at(times).altaz()
        near = alt.degrees >= min_elevation_deg
        near[1:] |= near[:-1].copy()
        near[:-1] |= near[1:].copy()
        sun = np.full(offsets_s.shape, np.nan)
        index = np.flatnonzero(near)
        if index.size:
            observer = eph["earth"] + topos
            sun[index] = observer.at(times[index]).observe(eph["sun"]).apparent().altaz()[0].degrees
        results.append((alt.degrees, distance.m, sun))
    return results


def new_vectorised(satellite, sites, duration_s, step_s, min_elevation_deg):
    """Geometry once, then passes per station and windows per pair."""
    geom = station_geometry(satellite, sites, start_utc=EPOCH, duration_s=duration_s, step_s=step_s)
    passes = passes_by_station(geom, min_elevation_deg=min_elevation_deg, night_only=True)
    windows = common_windows_by_pair(geom, min_elevation_deg=min_elevation_deg, night_only=True)
    return geom, passes, windows


def _best(function, repeat):
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=20, help="number of stations (<= 24)")
    parser.add_argument("--satellites", type=int, default=1, help="satellites in one SSO plane")
    parser.add_argument("--days", type=float, default=1.0, help="window length [days]")
    parser.add_argument("--step-s", type=float, default=10.0, help="sampling step [s]")
    parser.add_argument("--min-elevation-deg", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many new-path runs")
    args = parser.parse_args()
    if not 1 <= args.stations <= len(SITES):
        parser.error(f"--stations must be in [1, {len(SITES)}]")

    sites = SITES[: args.stations]
    duration_s = args.days * 86_400.0
    satellites = [
        satellite_from_elements(
            f"sso500-{k}",
            altitude_km=500.0,
            inclination_deg=sun_synchronous_inclination_deg(500.0),
            raan_deg=157.5,
            mean_anomaly_deg=360.0 * k / args.satellites,
            epoch_utc=EPOCH,
        )
        for k in range(args.satellites)
    ]
    ephemeris()  # load DE421 once, outside the timings
    mask = args.min_elevation_deg
    print(
        f"{len(sites)} stations x {len(satellites)} satellite(s) x {args.days:g} day(s) "
        f"at {args.step_s:g} s steps ({int(duration_s / args.step_s) + 1} samples)"
    )

    # The old path takes tens of seconds: one run is enough to show the gap.
    old_s, _ = _best(
        lambda: [old_per_station(s, sites, duration_s, args.step_s, mask) for s in satellites], 1
    )
    new_s, results = _best(
        lambda: [new_vectorised(s, sites, duration_s, args.step_s, mask) for s in satellites],
        args.repeat,
    )
    geometry_s, _ = _best(
        lambda: [
            station_geometry(s, sites, start_utc=EPOCH, duration_s=duration_s, step_s=args.step_s)
            for s in satellites
        ],
        args.repeat,
    )
    n_passes = sum(len(p) for _, passes, _ in results for p in passes)
    n_windows = sum(len(w) for _, _, windows in results for w in windows.values())
    n_pairs = sum(len(windows) for _, _, windows in results)
    print(f"old per-station skyfield geometry   : {old_s:8.3f} s")
    print(
        f"new geometry + passes + pair windows: {new_s:8.3f} s "
        f"(geometry alone {geometry_s:.3f} s; {n_passes} night passes, "
        f"{n_windows} night common windows over {n_pairs} pairs)"
    )
    print(f"speed-up                            : {old_s / new_s:8.1f} x")


if __name__ == "__main__":
    main()
