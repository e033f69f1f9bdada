"""Trust analyses of the trusted-node network, as result tables.

* ``key_holders``: per demand, every node that holds its key in the clear,
  and (with ``trusted_nodes.compromise_probability``) the probability that
  the key is exposed (:mod:`qnetemu.network.exposure`).
* ``trusted_node_load``: per relay node, the demands it relays and the key
  rate it handles in the clear (and shares, on multipath).
* ``multipath`` (``trusted_nodes.relay: multipath``): each demand XOR-split
  over ``multipath_paths`` node-disjoint paths, rates by linear program
  (:mod:`qnetemu.network.multipath`).
* ``n_minus_one`` and ``n_minus_one_elements`` (``trusted_nodes.n_minus_one``):
  what each lost link or node costs (:mod:`qnetemu.network.resilience`).
* ``planning`` (``planning:``): the least-cost build
  (:mod:`qnetemu.network.planning`).

The single-path ``demands`` rows are not changed by any of these.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from qnetemu.network.exposure import exposure_probability, key_holders, trusted_node_load
from qnetemu.network.graph import link_capacities_bps


def _paths(rows: list[dict]) -> list[list[str]]:
    return [r["path"].split(" > ") if r.get("path") else [] for r in rows]


def exposure_tables(rows: list[dict], p: float | None) -> dict[str, list[dict]]:
    """``key_holders`` and ``trusted_node_load`` from the trusted-node demand rows."""
    paths = _paths(rows)
    holders_rows = []
    for row, path in zip(rows, paths, strict=True):
        holders, _ = key_holders([path]) if path else ((), ())
        entry = {"a": row["a"], "b": row["b"], "relay": "single_path", "status": row["status"],
                 "key_holders": " > ".join(holders), "relay_nodes_in_clear": max(len(holders) - 2, 0),
                 "key_rate_bps": row["key_rate_bps"]}
        if p is not None:
            entry["compromise_probability"] = p
            entry["exposure_probability"] = exposure_probability([path], p) if path else float("nan")
        holders_rows.append(entry)
    load = trusted_node_load([(r["a"], r["b"]) for r in rows], [[p] for p in paths],
                             [r["key_rate_bps"] for r in rows])
    load_rows = [{"node": node, "demands": len(v["demands"]),
                  "demand_names": "; ".join(f"{a}–{b}" for a, b in v["demands"]),
                  "key_in_clear_bps": v["key_in_clear_bps"]}
                 for node, v in sorted(load.items(), key=lambda kv: (-kv[1]["key_in_clear_bps"], str(kv[0])))]
    return {"key_holders": holders_rows, "trusted_node_load": load_rows}


def multipath_table(graph: nx.Graph, demands: list[dict], rows: list[dict], k: int, p: float | None,
                    rate_tolerance: float) -> dict[str, list[dict]]:
    """``multipath`` (per demand) and ``multipath_node_load`` tables."""
    from qnetemu.network.multipath import allocate_multipath, disjoint_routes

    routes = disjoint_routes(graph, [(d["a"], d["b"]) for d in demands], k, rate_tolerance=rate_tolerance)
    caps = [d.get("required_key_rate_bps") for d in demands]
    rates = allocate_multipath(routes, link_capacities_bps(graph), caps)
    out = []
    for demand, route, rate, single in zip(demands, routes, rates, rows, strict=True):
        req = demand.get("required_key_rate_bps")
        entry = {"a": demand["a"], "b": demand["b"], "relay": "multipath", "paths_wanted": k,
                 "paths_found": len(route.paths), "status": route.status,
                 "paths": " | ".join(" > ".join(map(str, p)) for p in route.paths),
                 "relay_nodes": sum(len(p) - 2 for p in route.paths),
                 "key_rate_bps": float(rate), "single_path_key_rate_bps": single["key_rate_bps"],
                 "required_key_rate_bps": req,
                 "requirement_met": None if req is None else bool(rate >= req * (1 - 1e-9))}
        if p is not None:
            entry["compromise_probability"] = p
            entry["exposure_probability"] = exposure_probability(route.paths, p) if route.served else float("nan")
            single_path = _paths([single])[0]
            entry["single_path_exposure_probability"] = (exposure_probability([single_path], p) if single_path
                                                         else float("nan"))
        out.append(entry)
    load = trusted_node_load([(d["a"], d["b"]) for d in demands],
                             [list(r.paths) if r.served else [] for r in routes], rates)
    load_rows = [{"node": node, "demands": len(v["demands"]), "shares_bps": v["shares_bps"]}
                 for node, v in sorted(load.items(), key=lambda kv: (-kv[1]["shares_bps"], str(kv[0])))]
    return {"multipath": out, "multipath_node_load": load_rows}


def resilience_tables(graph: nx.Graph, demands: list[dict], elements: str, rate_tolerance: float,
                      progress: Callable[[str], None] | None = None) -> dict[str, list[dict]]:
    """``n_minus_one`` (per element and affected demand) and ``n_minus_one_elements`` (per element)."""
    from qnetemu.network.resilience import element_summary_rows, failure_rows, n_minus_one

    failures = n_minus_one(graph, demands, rate_tolerance=rate_tolerance, elements=elements, progress=progress)
    return {"n_minus_one": failure_rows(failures), "n_minus_one_elements": element_summary_rows(failures)}


def planning_table(graph: nx.Graph, demands: list[dict], spec, file: str = "<scenario>") -> dict[str, list[dict]]:
    """``planning``: one row per candidate (cost, built, key relayed) and the plan's status."""
    from qnetemu.errors import UserError
    from qnetemu.network.planning import plan_trusted_nodes

    for name in list(spec.candidates) + list(spec.existing):
        if name not in graph:
            raise UserError(f"unknown site {name!r}", file=file, field="planning")
    existing = set(spec.existing)
    if spec.inserted_nodes == "existing":
        existing |= {n for n, d in graph.nodes(data=True) if d.get("inserted")}
    wanted = [(d["a"], d["b"], float(d["required_key_rate_bps"])) for d in demands
              if d.get("required_key_rate_bps")]
    plan = plan_trusted_nodes(graph, wanted, dict(spec.candidates), existing=existing,
                              time_limit_s=spec.time_limit_s)
    return {"planning": [
        {"node": name, "role": graph.nodes[name].get("role"), "cost": float(cost), "built": name in plan.built,
         "relayed_bps": plan.relayed_bps.get(name, 0.0), "plan_status": plan.status, "plan_cost": plan.cost,
         "demands_planned": len(wanted)}
        for name, cost in sorted(spec.candidates.items())
    ]}
