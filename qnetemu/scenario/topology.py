"""Import real network topologies as site and link records.

Two sources, both offline:

* ``topohub`` (PyPI package that ships its data): keys such as
  ``"topozoo/Roedunet"``, ``"topozoo/Geant2012"``, ``"backbone/europe"``,
  ``"sndlib/polska"``; see :func:`topohub_keys`.
* a GraphML file in the Internet Topology Zoo style, whose nodes carry
  ``Latitude``, ``Longitude`` and ``label``.

Both return ``(sites, links)`` ready for
:func:`qnetemu.network.graph.build_graph`: sites with ``name``, ``lat_deg``,
``lon_deg``, ``role = "endpoint"`` and ``source_id``; links with ``a``,
``b``, ``length_km = None`` (so that the length is derived from the
coordinates and the scenario's route factor) and a stable ``link_id``.

Real data has warts, handled deterministically and reported through a
:class:`TopologyImportWarning`: nodes without coordinates are dropped with
their links; repeated names get `` (2)``, `` (3)``... in file order; nodes
without a name are named ``"<type or node> <id>"``; self-loops are dropped;
of parallel links only the first is kept.

Not every node of a topology is a site where equipment can stand. Nodes the
source marks as points a cable passes (topohub's ``"Seacable Waypoint"``
nodes, Topology Zoo's ``hyperedge`` nodes; see :data:`NON_SITE_KINDS`) carry
``is_site = False`` (every other node ``True``). A chain of such nodes that
merely bends a cable (each joined to exactly two others) is merged into one
link between the chain's two ends, which keeps the bends as ``waypoints``
(``[[lat_deg, lon_deg], ...]`` from ``a`` to ``b``) so that its length is
measured along them: a submarine cable is one span between its landing
points. A non-site node where cables branch (a branching unit at sea) stays,
as a junction.

Import is linear in the number of nodes and links.
"""

from __future__ import annotations

import difflib
import importlib.resources
import json
import math
import warnings
from pathlib import Path

import networkx as nx

#: topohub node types that are not sites (a point on a cable's route at sea).
NON_SITE_KINDS = frozenset({"Seacable Waypoint"})


class TopologyImportWarning(UserWarning):
    """Something in an imported topology was dropped or renamed."""


def topohub_keys() -> list[str]:
    """Every topology key the installed ``topohub`` package ships, sorted."""
    import topohub

    root = importlib.resources.files(topohub) / "data"
    keys: list[str] = []

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif child.name.endswith(".json"):
                keys.append(prefix + child.name[: -len(".json")])

    walk(root, "")
    return sorted(keys)


def _fold(name: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return "".join(c for c in text.casefold() if c.isalnum())


def closest_names(name: str, names, n: int = 3) -> list[str]:
    """Known names a mistyped one most likely meant: accents, case and punctuation ignored, prefixes count.

    >>> closest_names("Cluj-Napoca", ["Cluj", "Iasi", "Bucaresti"])
    ['Cluj']
    """
    names = list(dict.fromkeys(names))
    folded = {}
    for candidate in names:
        folded.setdefault(_fold(candidate), candidate)
    key = _fold(name)
    hits = [folded[f] for f in difflib.get_close_matches(key, list(folded), n=n, cutoff=0.6)]
    if len(hits) < n and len(key) >= 3:  # "Cluj-Napoca" for "Cluj", "Bucuresti Nord" for "Bucuresti"
        hits += [c for f, c in folded.items() if f and (key.startswith(f) or f.startswith(key)) and c not in hits]
    return hits[:n]


def did_you_mean(name: str, names, topology: str | None = None) -> str:
    """`` (did you mean A, B?)`` for a message, pointing to ``qnetemu topology show`` when nothing is close."""
    hits = closest_names(name, names)
    if hits:
        return f" (did you mean {', '.join(hits)}?)"
    return f" (list them with `qnetemu topology show {topology}`)" if topology else ""


def _coordinate(value, low: float, high: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or not low <= number <= high:
        return None
    return number


def _records(
    nodes: list[tuple[object, object, object, object]],
    edges: list[tuple[object, object]],
    source: str,
    non_sites: set | frozenset = frozenset(),
) -> tuple[list[dict], list[dict]]:
    """Sites and links from ``(id, label, lat, lon)`` nodes and ``(id, id)`` edges.

    Nodes whose id is in ``non_sites`` get ``is_site = False``, the others ``True``.
    """
    notes: list[str] = []
    sites: list[dict] = []
    name_of: dict[object, str] = {}
    dropped: list[str] = []
    seen: dict[str, int] = {}
    taken: set[str] = set()  # names given so far: a set, so import stays linear in the node count
    unnamed = 0
    renamed: list[str] = []
    for node_id, label, lat, lon in nodes:
        label = str(label).strip() if label is not None else ""
        if not label:
            unnamed += 1
        base = label or f"node {node_id}"
        lat_deg = _coordinate(lat, -90.0, 90.0)
        lon_deg = _coordinate(lon, -180.0, 180.0)
        if lat_deg is None or lon_deg is None:
            dropped.append(base)
            continue
        count = seen.get(base, 0) + 1
        seen[base] = count
        name = base if count == 1 else f"{base} ({count})"
        # A generated name could collide with a real label further on.
        while name in taken:
            count += 1
            name = f"{base} ({count})"
        if count > 1:
            renamed.append(name)
        name_of[node_id] = name
        taken.add(name)
        sites.append(
            {
                "name": name,
                "lat_deg": lat_deg,
                "lon_deg": lon_deg,
                "role": "endpoint",
                "source_id": str(node_id),
                "is_site": node_id not in non_sites,
            }
        )
    if dropped:
        notes.append(f"dropped {len(dropped)} node(s) without coordinates: {', '.join(dropped)}")
    if unnamed:
        notes.append(f"named {unnamed} unnamed node(s) after their id")
    if renamed:
        notes.append(f"renamed {len(renamed)} repeated name(s): {', '.join(renamed)}")

    links: list[dict] = []
    pairs: set[frozenset] = set()
    self_loops = parallel = orphaned = 0
    for u, v in edges:
        if u not in name_of or v not in name_of:
            orphaned += 1
            continue
        a, b = name_of[u], name_of[v]
        if a == b:
            self_loops += 1
            continue
        pair = frozenset((a, b))
        if pair in pairs:
            parallel += 1
            continue
        pairs.add(pair)
        links.append({"a": a, "b": b, "length_km": None, "link_id": f"{a}–{b}"})
    if orphaned:
        notes.append(f"dropped {orphaned} link(s) to dropped nodes")
    if self_loops:
        notes.append(f"dropped {self_loops} self-loop(s)")
    if parallel:
        notes.append(f"kept one of each parallel link, dropped {parallel}")
    for note in notes:
        warnings.warn(f"{source}: {note}", TopologyImportWarning, stacklevel=3)
    return sites, links


def _merge_waypoint_chains(sites: list[dict], links: list[dict], source: str) -> tuple[list[dict], list[dict]]:
    """Merge chains of non-site nodes of degree two into single links (see the module docstring).

    A merged link takes the first chain link's place in the link order; it is
    ``"submarine"`` when any piece is, and its ``dataset_length_km`` is the sum
    of the pieces' when all have one. A chain that closes on itself is
    dropped, and of two links between the same ends the shorter is kept.
    """
    from qnetemu.geo import polyline_length_km

    by_name = {s["name"]: s for s in sites}
    incident: dict[str, list[int]] = {s["name"]: [] for s in sites}
    for index, link in enumerate(links):
        incident[link["a"]].append(index)
        incident[link["b"]].append(index)
    bend = {n for n, s in by_name.items() if not s["is_site"] and len(incident[n]) == 2}
    if not bend:
        return sites, links

    def other(index: int, name: str) -> str:
        link = links[index]
        return link["b"] if link["a"] == name else link["a"]

    used: set[int] = set()
    merged: dict[int, dict] = {}  # first chain link's index -> the merged link
    for index, link in enumerate(links):
        if index in used or (link["a"] not in bend and link["b"] not in bend):
            continue
        start = link["a"] if link["a"] not in bend else link["b"]
        if start in bend:  # both ends bend: reached from an anchor later, or a closed loop
            continue
        chain, pieces, node, step = [], [index], other(index, start), index
        while node in bend:
            chain.append(node)
            step = next(i for i in incident[node] if i != step)
            pieces.append(step)
            node = other(step, node)
        used.update(pieces)
        parts = [links[i] for i in pieces]
        lengths = [p.get("dataset_length_km") for p in parts]
        record = {
            "a": start,
            "b": node,
            "length_km": None,
            "link_id": f"{start}–{node}",
            "cable": "submarine" if any(p.get("cable") == "submarine" for p in parts) else "terrestrial",
            "waypoints": [[by_name[n]["lat_deg"], by_name[n]["lon_deg"]] for n in chain],
        }
        if all(x is not None for x in lengths):
            record["dataset_length_km"] = float(sum(lengths))
        merged[index] = record
    loops = sum(1 for i in range(len(links)) if i not in used and (links[i]["a"] in bend or links[i]["b"] in bend))

    def route_km(link: dict) -> float:
        points = [by_name[link["a"]], *({"lat_deg": y, "lon_deg": x} for y, x in link.get("waypoints", [])),
                  by_name[link["b"]]]
        return polyline_length_km([p["lat_deg"] for p in points], [p["lon_deg"] for p in points])

    out: list[dict] = []
    where: dict[frozenset, int] = {}
    self_loops = parallel = 0
    for index, link in enumerate(links):
        if index in used and index not in merged:
            continue
        if index not in used and (link["a"] in bend or link["b"] in bend):
            continue  # part of a closed loop of waypoints
        link = merged.get(index, link)
        if link["a"] == link["b"]:
            self_loops += 1
            continue
        pair = frozenset((link["a"], link["b"]))
        if pair in where:
            parallel += 1
            kept = out[where[pair]]
            if route_km(link) < route_km(kept):
                out[where[pair]] = link
            continue
        where[pair] = len(out)
        out.append(link)
    notes = [f"merged {len(bend)} sea-cable waypoint(s) into {len(merged)} link(s) between landing points"]
    if loops:
        notes.append(f"dropped {loops} link(s) of closed waypoint loops")
    if self_loops:
        notes.append(f"dropped {self_loops} cable(s) that return to their landing point")
    if parallel:
        notes.append(f"kept the shorter of {parallel} pair(s) of parallel cables")
    for note in notes:
        warnings.warn(f"{source}: {note}", TopologyImportWarning, stacklevel=3)
    return [s for s in sites if s["name"] not in bend], out


def load_topohub(key: str) -> tuple[list[dict], list[dict]]:
    """Sites and links of a topology shipped with ``topohub``.

    Parameters
    ----------
    key : str
        Repository key, e.g. ``"topozoo/Roedunet"``, ``"topozoo/Geant2012"``,
        ``"backbone/europe"`` (see :func:`topohub_keys`).

    Returns
    -------
    sites, links : list of dict
        As described in the module docstring. ``topohub`` stores positions as
        (longitude, latitude). Links also carry ``dataset_length_km``, the
        length topohub lists [km], and ``cable`` (``"submarine"`` for
        topohub's sea cables, else ``"terrestrial"``); merged cables carry
        ``waypoints``. Sites carry ``kind`` (topohub's node type, e.g.
        ``"City"``) when there is one, and ``is_site``.

    Raises
    ------
    KeyError
        For an unknown key; the message lists the closest known keys.
    """
    import topohub

    known = topohub_keys()
    if key not in known:
        close = difflib.get_close_matches(key, known, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown topohub topology {key!r}{hint}")
    # Same file topohub.get() reads, opened here with a context manager
    # because topohub.get() leaves it open (ResourceWarning under pytest).
    with (importlib.resources.files(topohub) / "data" / f"{key}.json").open() as stream:
        topo = json.load(stream)
    nodes = []
    kinds = {}
    non_sites = set()
    for node in topo["nodes"]:
        pos = node.get("pos") or (None, None)
        label = node.get("name")
        if not label and node.get("type"):
            label = f"{node['type']} {node['id']}"
        nodes.append((node["id"], label, pos[1], pos[0]))
        if node.get("type"):
            kinds[str(node["id"])] = node["type"]
        if node.get("type") in NON_SITE_KINDS:
            non_sites.add(node["id"])
    edges = [(e["source"], e["target"]) for e in topo["edges"]]
    sites, links = _records(nodes, edges, f"topohub {key}", non_sites)
    for site in sites:
        if site["source_id"] in kinds:
            site["kind"] = kinds[site["source_id"]]
    # Carry dataset lengths and cable types through, looked up by the endpoints' ids.
    by_pair = {}
    for e in topo["edges"]:
        by_pair.setdefault(frozenset((str(e["source"]), str(e["target"]))), e)
    id_of = {s["name"]: s["source_id"] for s in sites}
    for link in links:
        edge = by_pair[frozenset((id_of[link["a"]], id_of[link["b"]]))]
        if edge.get("dist") is not None:
            link["dataset_length_km"] = float(edge["dist"])
        link["cable"] = "submarine" if edge.get("type") == "seacable" else "terrestrial"
    return _merge_waypoint_chains(sites, links, f"topohub {key}")


def load_graphml(path) -> tuple[list[dict], list[dict]]:
    """Sites and links from a Topology-Zoo-style GraphML file.

    Parameters
    ----------
    path : str or os.PathLike
        GraphML file whose nodes have ``Latitude`` and ``Longitude`` [deg]
        and ``label`` attributes (Internet Topology Zoo convention, Knight et
        al., IEEE JSAC 29, 1765 (2011), doi:10.1109/JSAC.2011.111002).

    Returns
    -------
    sites, links : list of dict
        As described in the module docstring.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not valid GraphML.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no GraphML file at {path}")
    try:
        graph = nx.read_graphml(path)
    except Exception as error:  # networkx raises several types for bad XML
        raise ValueError(f"{path}: not a readable GraphML file ({error})") from error
    nodes = [
        (node, data.get("label"), data.get("Latitude"), data.get("Longitude"))
        for node, data in graph.nodes(data=True)
    ]
    # Topology Zoo marks shared media drawn as a node with hyperedge = 1: not a site.
    non_sites = {node for node, data in graph.nodes(data=True) if str(data.get("hyperedge", "0")) not in ("0", "")}
    edges = [(u, v) for u, v, *_ in graph.edges]
    sites, links = _records(nodes, edges, str(path), non_sites)
    return _merge_waypoint_chains(sites, links, str(path))
