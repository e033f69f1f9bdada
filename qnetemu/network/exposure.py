"""Who sees the key: the nodes that hold a demand's key, the load on each trusted node, exposure odds.

Hop-by-hop one-time-pad relay decrypts the key at every trusted node of the
route: each interior node of a path holds the demand's key in the clear, as
do the two endpoints. With multipath relay (:mod:`qnetemu.network.multipath`)
the key is the XOR of k shares sent over k node-disjoint paths, so an
interior node holds one share, which alone is uniformly random and says
nothing about the key; only the endpoints hold the key itself, and an
adversary learns it only by holding a node on every one of the k paths.

Exposure model. Every relay node is compromised independently with
probability ``p`` (per node, over the period the key is used; a
``{node: p}`` mapping gives trust levels). A path is compromised when at
least one of its interior nodes is:
``q = 1 - prod_i (1 - p_i)``, i.e. ``1 - (1 - p)^n`` for n interior nodes
with equal ``p``. A single-path key is exposed with probability ``q``. A key
XOR-split over k node-disjoint paths is exposed only when all k paths are
compromised; disjoint paths share no relay node, so the events are
independent and the probability is ``prod_j q_j``. With a t-of-k threshold
scheme (Shamir, Commun. ACM 22, 612 (1979), doi:10.1145/359168.359176) any
t shares reveal the key: the probability is that of at least t of the k
independent path compromises (a Poisson-binomial tail), computed by dynamic
programming; t = k is XOR. Endpoints are the users and are not counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def _node_p(node, compromise_probability: float | Mapping) -> float:
    if isinstance(compromise_probability, Mapping):
        p = float(compromise_probability.get(node, 0.0))
    else:
        p = float(compromise_probability)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"compromise probability of {node!r} must lie in [0, 1], got {p}")
    return p


def path_compromise_probability(path: Sequence, compromise_probability: float | Mapping) -> float:
    """Probability that at least one interior (relay) node of ``path`` is compromised.

    Parameters
    ----------
    path : sequence
        Nodes from source to target; only ``path[1:-1]`` relay.
    compromise_probability : float or mapping
        Independent compromise probability of every relay node, or per node
        (missing nodes: 0).

    Returns
    -------
    float
        ``1 - prod(1 - p_i)`` over the interior nodes, as ``-expm1(sum(log1p(-p_i)))``
        so that small ``p`` keeps its digits; 0 for a direct link.
    """
    p = np.array([_node_p(node, compromise_probability) for node in list(path)[1:-1]], dtype=float)
    with np.errstate(divide="ignore"):  # p = 1 gives log 0 = -inf, and q = 1
        return float(-np.expm1(np.sum(np.log1p(-p))))  # accurate for small p


def exposure_probability(paths: Sequence[Sequence], compromise_probability: float | Mapping,
                         threshold: int | None = None) -> float:
    """Probability that a demand's key is exposed to compromised relay nodes.

    Parameters
    ----------
    paths : sequence of sequences
        The demand's path (one) or its node-disjoint multipath paths.
    compromise_probability : float or mapping
        As in :func:`path_compromise_probability`.
    threshold : int, optional
        Shares that reveal the key (t of a t-of-k scheme); default
        ``len(paths)`` (XOR of all shares; for one path, the path itself).

    Returns
    -------
    float
        Probability that at least ``threshold`` of the paths are compromised,
        path compromises being independent (paths share no relay node).

    Raises
    ------
    ValueError
        If two paths share a relay node, or the threshold is out of range.

    Examples
    --------
    Three relays at p = 0.1: 1 - 0.9**3 = 0.271.

    >>> round(exposure_probability([["A", "x", "y", "z", "B"]], 0.1), 6)
    0.271
    >>> round(exposure_probability([["A", "x", "B"], ["A", "y", "z", "B"]], 0.1), 6)
    0.019
    """
    paths = [list(p) for p in paths]
    if not paths:
        raise ValueError("no paths")
    threshold = len(paths) if threshold is None else int(threshold)
    if not 1 <= threshold <= len(paths):
        raise ValueError(f"threshold must be in [1, {len(paths)}], got {threshold}")
    seen: set = set()
    for path in paths:
        interior = set(path[1:-1])
        if interior & seen:
            raise ValueError(f"paths share relay nodes {sorted(map(str, interior & seen))}: not node-disjoint")
        seen |= interior
    q = [path_compromise_probability(p, compromise_probability) for p in paths]
    # ways[j] = probability that exactly j of the paths seen so far are compromised
    ways = np.zeros(len(q) + 1)
    ways[0] = 1.0
    for qi in q:
        ways[1:] = ways[1:] * (1.0 - qi) + ways[:-1] * qi
        ways[0] *= 1.0 - qi
    return float(min(ways[threshold:].sum(), 1.0))


def key_holders(paths: Sequence[Sequence]) -> tuple[tuple, tuple]:
    """Nodes that hold a demand's key in the clear, and nodes that hold only a share.

    One path: the endpoints and every interior node hold the key. Several
    (XOR-split) paths: the endpoints hold the key; each interior node holds
    one share.

    Returns
    -------
    (holders, share_holders) : tuple, tuple
        Node names in path order, without repeats.
    """
    paths = [list(p) for p in paths if len(p) >= 2]
    if not paths:
        return (), ()
    ends = (paths[0][0], paths[0][-1])
    interior = tuple(dict.fromkeys(n for p in paths for n in p[1:-1]))
    if len(paths) == 1:
        return (ends[0], *interior, ends[1]), ()
    return ends, interior


def trusted_node_load(demands: Sequence[tuple], paths: Sequence[Sequence[Sequence]],
                      rates_bps: Sequence[float]) -> dict:
    """Per relay node: the demands it relays and the key (or share) rate it handles.

    Parameters
    ----------
    demands : sequence of (a, b)
        The demands' endpoints.
    paths : sequence of (sequence of paths)
        Each demand's paths (one for single-path relay).
    rates_bps : sequence of float
        Each demand's key rate [bit/s]; on multipath every path carries
        shares at this rate.

    Returns
    -------
    dict
        ``{node: {"demands": [(a, b), ...], "key_in_clear_bps": float,
        "shares_bps": float}}`` for every node that relays something: key it
        decrypts (single-path demands) and shares it forwards (multipath).
    """
    load: dict = {}
    for (a, b), demand_paths, rate in zip(demands, paths, rates_bps, strict=True):
        demand_paths = [p for p in demand_paths if len(p) >= 2]
        field = "key_in_clear_bps" if len(demand_paths) == 1 else "shares_bps"
        for path in demand_paths:
            for node in path[1:-1]:
                entry = load.setdefault(node, {"demands": [], "key_in_clear_bps": 0.0, "shares_bps": 0.0})
                entry["demands"].append((a, b))
                entry[field] += float(rate)
    return load
