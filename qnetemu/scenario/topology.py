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
"""

from __future__ import annotations

import difflib
import importlib.resources
import json
import math
import warnings
from pathlib import Path

import networkx as nx


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
) -> tuple[list[dict], list[dict]]:
    """Sites and links from ``(id, label, lat, lon)`` nodes and ``(id, id)`` edges."""
    notes: list[str] = []
    sites: list[dict] = []
    name_of: dict[object, str] = {}
    dropped: list[str] = []
    seen: dict[str, int] = {}
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
        while name in name_of.values():
            count += 1
            name = f"{base} ({count})"
        if count > 1:
            renamed.append(name)
        name_of[node_id] = name
        sites.append(
            {
                "name": name,
                "lat_deg": lat_deg,
                "lon_deg": lon_deg,
                "role": "endpoint",
                "source_id": str(node_id),
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
        topohub's sea cables, else ``"terrestrial"``). Sites carry ``kind``
        (topohub's node type, e.g. ``"City"``) when there is one.

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
    for node in topo["nodes"]:
        pos = node.get("pos") or (None, None)
        label = node.get("name")
        if not label and node.get("type"):
            label = f"{node['type']} {node['id']}"
        nodes.append((node["id"], label, pos[1], pos[0]))
        if node.get("type"):
            kinds[str(node["id"])] = node["type"]
    edges = [(e["source"], e["target"]) for e in topo["edges"]]
    sites, links = _records(nodes, edges, f"topohub {key}")
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
    return sites, links


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
    edges = [(u, v) for u, v, *_ in graph.edges]
    return _records(nodes, edges, str(path))
