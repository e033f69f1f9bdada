"""From a validated scenario to plain, fully specified sites, links and demands.

This is the boundary between the user's model and the network layer: the
topology is imported, scenario sites are bound to topology nodes, defaults
are filled in, and every cross-reference is checked, with the YAML path in
the error. Nothing here computes physics.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qnetemu.errors import UserError
from qnetemu.geo import great_circle_distance_km
from qnetemu.scenario.schema import Scenario


@dataclass
class ResolvedScenario:
    """Plain data the network layer consumes (see :func:`qnetemu.network.graph.build_graph`)."""

    sites: list[dict]
    links: list[dict]
    demands: list[dict]
    topology_report: dict = field(default_factory=dict)


def _close(name: str, names) -> str:
    match = difflib.get_close_matches(name, list(names), n=3)
    return f" (did you mean {', '.join(match)}?)" if match else ""


def _import_topology(scenario: Scenario, file: str, base_dir: Path) -> tuple[list[dict], list[dict], dict]:
    topo = scenario.topology
    if topo is None:
        return [], [], {}
    from qnetemu.scenario import topology as topology_io

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", topology_io.TopologyImportWarning)
            if topo.source == "topohub":
                sites, links = topology_io.load_topohub(topo.key)
            else:
                path = Path(topo.path)
                if not path.is_absolute():
                    path = base_dir / path
                sites, links = topology_io.load_graphml(path)
        report = {"source": topo.source, "nodes": len(sites), "links": len(links),
                  "notes": [str(w.message) for w in caught]}
    except (KeyError, ValueError, FileNotFoundError, OSError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        field_name = "topology.key" if topo.source == "topohub" else "topology.path"
        raise UserError(str(message), file=file, field=field_name) from None
    for site in sites:
        # A point a cable passes at sea is a junction, never a trusted node.
        site["role"] = topo.role if site.get("is_site", True) else "junction"
    return sites, links, report


#: A site attached to its nearest topology node closer than this becomes that node.
ATTACH_BIND_KM = 10.0


def _check_attach_has_topology(scenario: Scenario, file: str, topo_sites: list[dict]) -> None:
    if any(s.attach for s in scenario.sites) and not topo_sites:
        i = next(i for i, s in enumerate(scenario.sites) if s.attach)
        raise UserError("attach needs an imported topology", file=file, field=f"sites[{i}].attach")


def _nearest_free(site, topo_sites: list[dict], taken: dict[str, str]) -> tuple[dict | None, float]:
    """The nearest topology node not yet bound to a scenario site, and its distance [km]."""
    free = [n for n in topo_sites if n["name"] not in taken and n.get("is_site", True)]
    if not free:
        return None, float("inf")
    lat = np.array([n["lat_deg"] for n in free])
    lon = np.array([n["lon_deg"] for n in free])
    dist = great_circle_distance_km(site.lat_deg, site.lon_deg, lat, lon)
    k = int(np.argmin(dist))
    return free[k], float(dist[k])


def resolve(scenario: Scenario, *, file: str = "<scenario>", base_dir: Path | None = None) -> ResolvedScenario:
    """Import the topology, merge the scenario's sites and links, expand demands, check references."""
    base_dir = base_dir or Path(".")
    topo_sites, topo_links, report = _import_topology(scenario, file, base_dir)
    by_topo_name = {s["name"]: s for s in topo_sites}

    # Scenario sites override or rename topology nodes; a duplicate name is an error.
    sites: dict[str, dict] = {}
    renamed: dict[str, str] = {}
    attach_links: list[tuple[str, str, str]] = []  # (site, topology node, where)
    _check_attach_has_topology(scenario, file, topo_sites)
    for i, site in enumerate(scenario.sites):
        where = f"sites[{i}]"
        if site.name in sites:
            raise UserError(f"duplicate site name {site.name!r}", file=file, field=f"{where}.name")
        entry = {"name": site.name, "role": site.role, "lat_deg": site.lat_deg, "lon_deg": site.lon_deg,
                 "country": site.country}
        if site.topology_node is not None:
            node = by_topo_name.get(site.topology_node)
            if node is None:
                from qnetemu.scenario.topology import did_you_mean

                key = getattr(scenario.topology, "key", None)
                hint = (did_you_mean(site.topology_node, by_topo_name, key) if by_topo_name
                        else " (no topology is imported)")
                raise UserError(
                    f"no topology node {site.topology_node!r}{hint}", file=file, field=f"{where}.topology_node"
                )
            if site.topology_node in renamed:
                raise UserError(
                    f"topology node {site.topology_node!r} is already bound to site {renamed[site.topology_node]!r}",
                    file=file, field=f"{where}.topology_node",
                )
            if not node.get("is_site", True):
                raise UserError(
                    f"topology node {site.topology_node!r} is a point on a cable at sea, not a site",
                    file=file, field=f"{where}.topology_node",
                )
            renamed[site.topology_node] = site.name
            if entry["lat_deg"] is None:
                entry["lat_deg"], entry["lon_deg"] = node["lat_deg"], node["lon_deg"]
        elif site.attach is not None:
            node, dist_km = _nearest_free(site, topo_sites, renamed)
            if node is None:
                raise UserError("attach needs an imported topology with a free node", file=file,
                                field=f"{where}.attach")
            if dist_km <= ATTACH_BIND_KM:
                renamed[node["name"]] = site.name
            else:
                attach_links.append((site.name, node["name"], where))
        elif site.name in by_topo_name:
            renamed[site.name] = site.name
        entry["ground_station"] = site.ground_station.model_dump() if site.ground_station else None
        entry["source"] = "scenario"
        sites[site.name] = entry
    for node in topo_sites:
        name = renamed.get(node["name"], node["name"])
        if name in sites:
            continue
        if node["name"] in renamed:  # bound to a scenario site of another name
            continue
        sites[name] = {**node, "ground_station": None, "source": "topology"}

    fibre = scenario.fibre
    links: list[dict] = []

    def _dump(model):
        return None if model is None else model.model_dump()
    seen_pairs: set[frozenset] = set()

    def add_link(a, b, spec, where, origin):
        for end, key in ((a, "a"), (b, "b")):
            if end not in sites:
                raise UserError(f"unknown site {end!r}{_close(end, sites)}", file=file, field=f"{where}.{key}")
        if a == b:
            raise UserError(f"link from {a!r} to itself", file=file, field=where)
        pair = frozenset((a, b))
        if pair in seen_pairs:
            if origin == "topology":
                return  # parallel topology edges: keep the first
            raise UserError(f"duplicate link between {a!r} and {b!r}", file=file, field=where)
        seen_pairs.add(pair)
        profile = spec.get("qkd_profile")
        if profile is not None and profile not in scenario.qkd_profiles:
            raise UserError(
                f"unknown QKD profile {profile!r}{_close(profile, scenario.qkd_profiles)}",
                file=file, field=f"{where}.qkd_profile",
            )
        links.append(
            {
                "link_id": f"{a}–{b}",
                "a": a,
                "b": b,
                "length_km": spec.get("length_km"),
                "route_factor": spec.get("route_factor") or fibre.route_factor,
                "attenuation_db_per_km": spec.get("attenuation_db_per_km") or fibre.attenuation_db_per_km,
                "extra_loss_db": fibre.extra_loss_db if spec.get("extra_loss_db") is None else spec["extra_loss_db"],
                "qkd_profile": profile,
                "cable": spec.get("cable") or "terrestrial",
                "waypoints": spec.get("waypoints"),
                # Classical WDM traffic (Raman noise): the link's own, else the fibre default, unless dark.
                "coexistence": None if spec.get("dark_fibre") else _dump(spec.get("coexistence") or fibre.coexistence),
                "source": origin,
            }
        )

    for i, link in enumerate(scenario.links):
        add_link(link.a, link.b, {**link.model_dump(), "coexistence": link.coexistence}, f"links[{i}]", "scenario")
    for site_name, node_name, where in attach_links:
        add_link(site_name, node_name, {}, f"{where}.attach", "attach")
    for link in topo_links:
        a, b = renamed.get(link["a"], link["a"]), renamed.get(link["b"], link["b"])
        # Topology lengths are great-circle estimates: let the route factor apply.
        add_link(a, b, {"cable": link.get("cable"), "waypoints": link.get("waypoints")}, "topology", "topology")

    demands: list[dict] = []
    seen_demands: set[frozenset] = set()
    for i, demand in enumerate(scenario.demands):
        where = f"demands[{i}]"
        if demand.all_pairs is not None:
            for j, name in enumerate(demand.all_pairs):
                if name not in sites:
                    raise UserError(f"unknown site {name!r}{_close(name, sites)}", file=file, field=f"{where}.all_pairs[{j}]")
            names = list(dict.fromkeys(demand.all_pairs))
            pairs = [(x, y) for k, x in enumerate(names) for y in names[k + 1 :]]
        else:
            for end, key in ((demand.a, "a"), (demand.b, "b")):
                if end not in sites:
                    raise UserError(f"unknown site {end!r}{_close(end, sites)}", file=file, field=f"{where}.{key}")
            pairs = [(demand.a, demand.b)]
        for a, b in pairs:
            if frozenset((a, b)) in seen_demands:
                continue
            seen_demands.add(frozenset((a, b)))
            demands.append({"a": a, "b": b, "required_key_rate_bps": demand.required_key_rate_bps})

    for sat_i, sat in enumerate(scenario.satellites):
        if sat.name in sites:
            raise UserError(f"satellite name {sat.name!r} is also a site name", file=file, field=f"satellites[{sat_i}].name")
    satellite_names = {sat.name for sat in scenario.satellites}
    for key in ("allow_nodes", "forbid_nodes"):
        for j, name in enumerate(getattr(scenario.trust, key)):
            if name not in sites and name not in satellite_names:
                raise UserError(f"unknown site or satellite {name!r}{_close(name, [*sites, *satellite_names])}",
                                file=file, field=f"trust.{key}[{j}]")
    if scenario.satellites and scenario.space is None:
        raise UserError("satellites need a space: section (time window)", file=file, field="space")

    return ResolvedScenario(sites=list(sites.values()), links=links, demands=demands, topology_report=report)
