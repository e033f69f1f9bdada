"""Summaries of an emulation: per-application availability and outages, per-link key accounting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qnetemu.emulate.kernel import EmulationState
from qnetemu.emulate.network import EmuNetwork
from qnetemu.network.allocation import allocate_max_min_fair
from qnetemu.network.graph import link_capacities_bps
from qnetemu.network.routing import route_all


def static_allocation_bps(net: EmuNetwork) -> np.ndarray:
    """Max-min fair rate of each application on the intact network, capped at the rate it asks [bit/s]."""
    apps = net.applications
    if not apps:
        return np.zeros(0)
    paths = route_all(net.graph, [(a.a, a.b) for a in apps], rate_tolerance=net.route_rate_tolerance)
    return allocate_max_min_fair(paths, link_capacities_bps(net.graph), [a.rate_bps for a in apps])


def outage_rows(requests: pd.DataFrame, net: EmuNetwork, duration_s: float) -> list[dict]:
    """Maximal runs of missed requests per application: from the first miss to the next served request."""
    rows = []
    if requests.empty:
        return rows
    for app in net.applications:
        reqs = requests[requests["app_index"] == app.index].sort_values("request")
        start, missed = None, 0
        for arrival, outcome in zip(reqs["arrival_s"], reqs["outcome"], strict=True):
            if outcome == "missed":
                if start is None:
                    start, missed = float(arrival), 0
                missed += 1
            elif start is not None:
                end = float(arrival) if outcome == "served" else duration_s
                rows.append({"application": app.name, "start_s": start, "end_s": end, "duration_s": end - start,
                             "requests_missed": missed})
                start = None
        if start is not None:
            rows.append({"application": app.name, "start_s": start, "end_s": duration_s,
                         "duration_s": duration_s - start, "requests_missed": missed})
    return rows


def availability_rows(requests: pd.DataFrame, outages: pd.DataFrame, net: EmuNetwork, duration_s: float) -> list[dict]:
    """One row per application: what it asked, what it got, how often and how long it went without."""
    static = static_allocation_bps(net)
    rows = []
    for app, static_bps in zip(net.applications, static, strict=True):
        reqs = requests[requests["app_index"] == app.index] if not requests.empty else requests
        outcome = reqs["outcome"] if not reqs.empty else pd.Series(dtype=str)
        served = int((outcome == "served").sum())
        missed = int((outcome == "missed").sum())
        lat = reqs.loc[outcome == "served", "latency_s"].to_numpy(dtype=float) if served else np.zeros(0)
        app_out = outages[outages["application"] == app.name] if not outages.empty else outages
        rows.append({
            "application": app.name, "a": app.a, "b": app.b, "request_bits": app.bits, "period_s": app.period_s,
            "max_wait_s": app.max_wait_s, "requests": int(len(reqs)), "served": served, "missed": missed,
            "unfinished": int((outcome == "unfinished").sum()),
            "availability": served / (served + missed) if served + missed else float("nan"),
            "requested_rate_bps": app.rate_bps, "served_rate_bps": served * app.bits / duration_s,
            "static_key_rate_bps": float(static_bps),
            "mean_latency_s": float(lat.mean()) if lat.size else float("nan"),
            "p99_latency_s": float(np.quantile(lat, 0.99)) if lat.size else float("nan"),
            "max_latency_s": float(lat.max()) if lat.size else float("nan"),
            "outages": int(len(app_out)),
            "longest_outage_s": float(app_out["duration_s"].max()) if len(app_out) else 0.0,
            "total_outage_s": float(app_out["duration_s"].sum()) if len(app_out) else 0.0,
        })
    return rows


def link_rows(net: EmuNetwork, state: EmulationState, duration_s: float) -> list[dict]:
    """Key accounting per link: generated = consumed + discarded + (final - initial) level."""
    rows = []
    for link in net.links:
        k = link.index
        down = state.link_down_s[k] + (state.now_s - state.link_down_since[k] if state.link_down_since[k] is not None
                                       else 0.0)
        rows.append({
            "link_id": link.link_id, "a": link.a, "b": link.b, "segment": link.segment,
            "key_rate_bps": link.key_rate_bps, "block_bits": link.block_bits, "capacity_bits": link.capacity_bits,
            "pass_link": link.passes is not None, "initial_bits": state.initial_bits[k],
            "generated_bits": state.generated_bits[k], "consumed_bits": state.consumed_bits[k],
            "discarded_bits": state.discarded_bits[k], "final_level_bits": state.level_bits[k],
            "consumed_rate_bps": state.consumed_bits[k] / duration_s,
            "availability": 1.0 - down / duration_s if duration_s > 0 else float("nan"),
        })
    return rows


def night_rows(state: EmulationState) -> list[dict]:
    return [{"station": station, "night": night, "clear": clear}
            for (station, night), clear in sorted(state.nights.items())]
