"""Satellites inside the same network as the fibre, as time-averaged links.

A satellite with a decoy-BB84 transmitter becomes a **trusted node in orbit**:
one graph node joined to every optical ground station by an edge whose key
rate is the key that station collects per day (averaged over the window and
scaled by the station's weather availability), and whose latency is the mean
wait for the next pass. Routing and the max-min fair allocation then treat it
like any trusted node: two stations relay through it (store and forward, key
limited by the smaller of the two, Liao et al., PRL 120, 030501 (2018)), and
several station pairs share its key fairly.

A satellite with an entangled-pair source adds a direct edge between each
pair of stations that see it at the same time (BBM92; Yin et al., Science
356, 1140 (2017)): no trusted node.

All key rates are asymptotic (no finite-size effects) and daylight operation
uses night-time background; both are stated in the result tables' notes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

import networkx as nx
import numpy as np

from qnetemu.constants import SECONDS_PER_DAY
from qnetemu.errors import UserError
from qnetemu.scenario.resolve import ResolvedScenario
from qnetemu.scenario.schema import Satellite, Scenario, SpaceWindow


def satellite_node(name: str) -> str:
    return f"SAT {name}"


def build_satellite(sat: Satellite, *, file: str, where: str):
    """The skyfield satellite for a scenario entry; bad elements or TLEs are user errors."""
    from qnetemu.orbits.satellites import (
        satellite_from_elements,
        satellite_from_tle,
        sun_synchronous_inclination_deg,
    )

    try:
        if sat.tle is not None:
            return satellite_from_tle(sat.name, sat.tle[0], sat.tle[1])
        orbit = sat.orbit
        inclination = orbit.inclination_deg
        if inclination is None:
            inclination = float(sun_synchronous_inclination_deg(orbit.altitude_km))
        return satellite_from_elements(
            sat.name, altitude_km=orbit.altitude_km, inclination_deg=inclination, raan_deg=orbit.raan_deg,
            epoch_utc=orbit.epoch_utc, mean_anomaly_deg=orbit.mean_anomaly_deg,
        )
    except ValueError as exc:
        field = f"{where}.tle" if sat.tle is not None else f"{where}.orbit"
        raise UserError(str(exc), file=file, field=field) from None


def ground_stations(resolved: ResolvedScenario) -> dict[str, object]:
    """GroundStation objects for every site with role ground_station."""
    from qnetemu.orbits.passes import Site
    from qnetemu.space.services import GroundStation

    out = {}
    for site in resolved.sites:
        if site["role"] != "ground_station":
            continue
        optics = site["ground_station"] or {}
        out[site["name"]] = (
            GroundStation(
                site=Site(site["lat_deg"], site["lon_deg"], optics.get("altitude_m", 0.0), site["name"]),
                rx_aperture_m=optics["rx_aperture_m"],
                optics_efficiency=optics["optics_efficiency"],
                detector_efficiency=optics["detector_efficiency"],
                noise_rate_hz=optics["noise_rate_hz"],
                detection_window_s=optics["detection_window_s"],
                zenith_transmittance=optics["zenith_transmittance"],
                detector_dead_time_s=optics["detector_dead_time_s"],
            ),
            optics,
        )
    return out


def mean_wait_s(pass_end_s: list[float], window_s: float) -> float:
    """Mean wait from a uniformly random moment to the end of the next keyed pass [s].

    Treats the window as periodic (the next day's first pass follows the last):
    with gaps g_k between consecutive pass ends, E[wait] = sum(g_k^2) / (2 W).
    """
    if not pass_end_s:
        return math.inf
    ends = np.sort(np.asarray(pass_end_s, dtype=float))
    gaps = np.diff(np.append(ends, ends[0] + window_s))
    return float(np.sum(gaps**2) / (2.0 * window_s))


def _bb84_payload(sat: Satellite):
    from qnetemu.space.services import BB84Payload

    t = sat.telescope
    return BB84Payload(
        wavelength_m=sat.bb84.wavelength_m, repetition_rate_hz=sat.bb84.repetition_rate_hz, mu=sat.bb84.mu,
        nu=sat.bb84.nu, misalignment_error=sat.bb84.misalignment_error, pointing_jitter_rad=t.pointing_jitter_rad,
        divergence_rad=t.divergence_rad, tx_aperture_m=None if t.divergence_rad else t.tx_aperture_m,
    )


def _finite_protocol(sat: Satellite):
    """The payload's finite-key protocol, or None for asymptotic keys."""
    from qnetemu.physics.finite_key import FiniteKeyProtocol

    if sat.bb84.key_model != "finite":
        return None
    fk = sat.bb84.finite_key
    return FiniteKeyProtocol(eps_sec=fk.eps_sec, eps_cor=fk.eps_cor, p_x=fk.p_x, p_mu=fk.p_mu, p_nu=fk.p_nu,
                             omega=fk.omega)


def _pair_source(sat: Satellite):
    from qnetemu.space.services import EntangledPairSource

    t, p = sat.telescope, sat.pair_source
    return EntangledPairSource(
        pair_rate_hz=p.pair_rate_hz, wavelength_m=p.wavelength_m, intrinsic_qber=p.intrinsic_qber,
        coincidence_window_s=p.coincidence_window_s, pointing_jitter_rad=t.pointing_jitter_rad,
        divergence_rad=t.divergence_rad, tx_aperture_m=None if t.divergence_rad else t.tx_aperture_m,
    )


def _geometry(skysat, stations: dict, window: SpaceWindow):
    """Elevation, range and Sun altitude of every station, one satellite propagation."""
    from qnetemu.orbits.visibility import station_geometry

    return station_geometry(skysat, [station.site for station, _ in stations.values()],
                            start_utc=window.start_utc, duration_s=window.duration_s, step_s=window.step_s)


def ground_track(skysat, window: SpaceWindow, step_s: float = 60.0) -> list[dict]:
    """Sub-satellite points over (at most) the first day of the window."""
    from skyfield.api import wgs84

    from qnetemu.orbits.satellites import timescale

    span = min(window.duration_s, SECONDS_PER_DAY)
    offsets = np.arange(0.0, span + step_s / 2, step_s)
    ts = timescale()
    times = ts.from_datetimes([window.start_utc + timedelta(seconds=float(s)) for s in offsets])
    point = wgs84.subpoint_of(skysat.at(times))
    return [{"satellite": skysat.name, "time_s": float(s), "lat_deg": float(la), "lon_deg": float(lo)}
            for s, la, lo in zip(offsets, point.latitude.degrees, point.longitude.degrees, strict=True)]


def build_satellites(scenario: Scenario, *, file: str = "<scenario>") -> list:
    """Every scenario satellite as a skyfield object (fails fast on a bad orbit or TLE)."""
    return [build_satellite(sat, file=file, where=f"satellites[{i}]") for i, sat in enumerate(scenario.satellites)]


def _stations_or_error(resolved: ResolvedScenario, file: str) -> dict:
    stations = ground_stations(resolved)
    if not stations:
        raise UserError("satellites need at least one site with role ground_station", file=file, field="satellites")
    return stations


def _refuse_blind(seen_by_any: dict[str, bool], scenario: Scenario, resolved: ResolvedScenario, file: str) -> None:
    """A ground station no trusted-relay satellite passes over would silently get no key."""
    blind = [n for n, seen in seen_by_any.items() if not seen]
    if not blind or not any(s.bb84 is not None for s in scenario.satellites):
        return
    window = scenario.space
    index = next(i for i, s in enumerate(resolved.sites) if s["name"] == blind[0])
    raise UserError(
        f"ground station {blind[0]!r} has no pass of any satellite in the space window "
        f"({window.duration_s:g} s from {window.start_utc:%Y-%m-%d %H:%M} UTC, min elevation, night only="
        f"{window.night_only}); widen the window or lower min_elevation_deg",
        file=file, field=f"sites[{index}]" if index < len(resolved.sites) else "sites",
    )


def check_satellites(scenario: Scenario, resolved: ResolvedScenario, *, file: str = "<scenario>") -> list:
    """Everything about the space segment that can fail, checked before any key is computed.

    Builds every orbit or TLE and finds the passes of each trusted-relay
    (bb84) satellite over each ground station, refusing a station none of
    them sees, exactly as :func:`add_satellite_links` would. Returns the
    skyfield satellites.
    """
    from qnetemu.orbits.visibility import passes_by_station

    skysats = build_satellites(scenario, file=file)
    if not scenario.satellites:
        return skysats
    stations = _stations_or_error(resolved, file)
    window = scenario.space
    masks = [optics["min_elevation_deg"] for _, optics in stations.values()]
    seen_by_any = dict.fromkeys(stations, False)
    for sat, skysat in zip(scenario.satellites, skysats, strict=True):
        if sat.bb84 is None:
            continue
        all_passes = passes_by_station(_geometry(skysat, stations, window), min_elevation_deg=masks,
                                       night_only=window.night_only, max_sun_altitude_deg=window.max_sun_altitude_deg)
        for name, passes in zip(stations, all_passes, strict=True):
            seen_by_any[name] |= bool(passes)
    _refuse_blind(seen_by_any, scenario, resolved, file)
    return skysats


def add_satellite_links(graph: nx.Graph, scenario: Scenario, resolved: ResolvedScenario, *, file: str = "<scenario>",
                        progress: Callable[[str], None] | None = None,
                        skysats: list | None = None) -> dict[str, list[dict]]:
    """Add satellite nodes and edges to ``graph`` in place; return the space result tables."""
    from qnetemu.orbits.visibility import common_windows_by_pair, passes_by_station
    from qnetemu.space.services import entanglement_key_over_windows, key_over_passes

    say = progress or (lambda _m: None)
    window = scenario.space
    tables: dict[str, list[dict]] = {"satellite_links": [], "passes": [], "pass_samples": [], "ground_tracks": []}
    if not scenario.satellites:
        return tables
    stations = _stations_or_error(resolved, file)
    seen_by_any = dict.fromkeys(stations, False)
    skysats = skysats if skysats is not None else build_satellites(scenario, file=file)
    masks = [optics["min_elevation_deg"] for _, optics in stations.values()]
    for sat, skysat in zip(scenario.satellites, skysats, strict=True):
        tables["ground_tracks"] += ground_track(skysat, window)
        geometry = _geometry(skysat, stations, window)
        if sat.bb84 is not None:
            payload = _bb84_payload(sat)
            node = satellite_node(sat.name)
            graph.add_node(node, role="satellite", inserted=False, lat_deg=float("nan"), lon_deg=float("nan"))
            all_passes = passes_by_station(geometry, min_elevation_deg=masks, night_only=window.night_only,
                                           max_sun_altitude_deg=window.max_sun_altitude_deg)
            for (name, (station, optics)), passes in zip(stations.items(), all_passes, strict=True):
                seen_by_any[name] |= bool(passes)
                keys = key_over_passes(passes, payload=payload, station=station,
                                       ec_efficiency=sat.bb84.ec_efficiency, finite_key=_finite_protocol(sat),
                                       passes_per_block=sat.bb84.finite_key.passes_per_block)
                key_bits = sum(k["key_bits"] for k in keys)
                ends = [(p.set_utc - window.start_utc).total_seconds()
                        for p, k in zip(passes, keys, strict=True) if k["key_bits"] > 0]
                for n, (p, k) in enumerate(zip(passes, keys, strict=True)):
                    tables["passes"].append({
                        "satellite": sat.name, "station": name, "pass": n, "rise_utc": p.rise_utc,
                        "culminate_utc": p.culminate_utc, "set_utc": p.set_utc, "duration_s": p.duration_s,
                        "max_elevation_deg": p.max_elevation_deg, "mean_loss_db": k["mean_loss_db"],
                        "min_loss_db": k["min_loss_db"], "key_bits": k["key_bits"],
                    })
                    tables["pass_samples"] += [
                        {"satellite": sat.name, "station": name, "pass": n, "time_s": float(t),
                         "elevation_deg": float(e), "slant_range_m": float(r), "loss_db": float(lo),
                         "key_rate_bps": float(kr)}
                        for t, e, r, lo, kr in zip(p.time_s, p.elevation_deg, p.slant_range_m, k["loss_db"],
                                                   k["key_rate_hz"], strict=True)
                    ]
                per_day = key_bits * optics["weather_availability"] * SECONDS_PER_DAY / window.duration_s
                row = {"satellite": sat.name, "service": "trusted_satellite", "a": node, "b": name,
                       "passes": len(passes), "keyed_passes": len(ends), "key_bits_per_day": per_day,
                       "key_rate_bps": per_day / SECONDS_PER_DAY, "latency_s": mean_wait_s(ends, window.duration_s),
                       "mean_loss_db": float(np.mean([k["mean_loss_db"] for k in keys])) if keys else float("nan"),
                       "weather_availability": optics["weather_availability"], "key_model": sat.bb84.key_model}
                tables["satellite_links"].append(row)
                if per_day > 0:
                    graph.add_edge(node, name, segment="satellite", key_rate_bps=row["key_rate_bps"],
                                   latency_s=row["latency_s"], loss_db=row["mean_loss_db"], length_km=0.0,
                                   link_id=f"{node}–{name}", ends=(node, name), key_model=sat.bb84.key_model,
                                   protocol="decoy_bb84")
            say(f"satellite {sat.name}: trusted relay to {sum(r['keyed_passes'] > 0 for r in tables['satellite_links'] if r['satellite'] == sat.name)} "
                f"of {len(stations)} ground stations")
        if sat.pair_source is not None:
            source = _pair_source(sat)
            names = list(stations)
            windows = common_windows_by_pair(geometry, min_elevation_deg=masks, night_only=window.night_only,
                                             max_sun_altitude_deg=window.max_sun_altitude_deg)
            for (i, j), pair_windows in windows.items():
                a, b = names[i], names[j]
                (sa, oa), (sb, ob) = stations[a], stations[b]
                res = entanglement_key_over_windows(pair_windows, station_a=sa, station_b=sb, source=source,
                                                    duration_s=window.duration_s,
                                                    ec_efficiency=sat.pair_source.ec_efficiency)
                per_day = res["key_bits_per_day"] * oa["weather_availability"] * ob["weather_availability"]
                row = {"satellite": sat.name, "service": "entanglement_downlink", "a": a, "b": b,
                       "passes": res.get("windows", 0), "keyed_passes": res.get("windows", 0),
                       "key_bits_per_day": per_day, "key_rate_bps": per_day / SECONDS_PER_DAY,
                       "latency_s": mean_wait_s([(w.end_utc - w.window_start_utc).total_seconds() for w in pair_windows], window.duration_s),
                       "min_loss_db": res.get("min_loss_db", float("nan")), "mean_qber": res.get("mean_qber"),
                       "weather_availability": oa["weather_availability"] * ob["weather_availability"],
                       "key_model": "asymptotic"}
                tables["satellite_links"].append(row)
                if per_day > 0 and not graph.has_edge(a, b):
                    graph.add_edge(a, b, segment="satellite", key_rate_bps=row["key_rate_bps"],
                                   latency_s=row["latency_s"], loss_db=row["min_loss_db"], length_km=0.0,
                                   link_id=f"{sat.name} entanglement {a}–{b}", ends=(a, b), key_model="asymptotic",
                                   protocol="bbm92")
            say(f"satellite {sat.name}: entanglement downlinks between {len(names)} ground stations")
    _refuse_blind(seen_by_any, scenario, resolved, file)
    return tables
