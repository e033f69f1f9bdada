"""Sharing link key among demands: max-min fair allocation.

Model. Trusted-node relay is hop by hop with a one-time pad: to deliver a
key bit from source to target, every link on the path spends one bit of its
own secret key (the relay node XORs the incoming and outgoing link keys).
A demand served at rate ``x`` therefore consumes ``x`` on *every* link of
its path, and a link's consumption, summed over the demands that cross it,
cannot exceed the link's key rate. This is a classic fixed-route flow
control problem.

Choice. Among the feasible allocations we return the max-min fair one:
no demand can get more without taking from a demand that has no more. It
is unique, needs no weights or utility to be tuned, does not starve long
paths (unlike throughput maximisation, which would give nothing to demands
crossing many busy links), and is what a planner usually means by "a fair
share". It is computed by progressive filling (Bertsekas & Gallager, *Data
Networks*, 2nd ed., Prentice Hall, 1992, Sec. 6.5.2): all unfrozen demands
grow at the same pace; when a link saturates, the demands crossing it
freeze; a demand also freezes when it reaches its required rate (cap).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping

import numpy as np
from scipy import sparse

#: Relative slack under which a link counts as saturated, to absorb rounding
#: in the repeated increments.
_SATURATION_RTOL = 1e-12


def _norm(key) -> frozenset:
    if isinstance(key, frozenset):
        return key
    if isinstance(key, tuple | list) and len(key) == 2:
        return frozenset(key)
    raise ValueError(f"link key {key!r} must be a frozenset or a pair (u, v)")


def _incidence(
    paths: list[list[Hashable]], link_capacity_bps: Mapping
) -> tuple[list, np.ndarray, sparse.csr_array]:
    """Links used by the paths, their capacities, and the links × demands count matrix."""
    capacity_by_link: dict[frozenset, float] = {}
    for key, value in link_capacity_bps.items():
        link = _norm(key)
        value = float(value)
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"capacity of link {sorted(map(str, link))} must be >= 0 and finite")
        capacity_by_link[link] = value
    index: dict[frozenset, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for d, path in enumerate(paths):
        for u, v in zip(path[:-1], path[1:], strict=False):
            link = frozenset((u, v))
            if link not in capacity_by_link:
                raise ValueError(f"demand {d}: link {u!r}–{v!r} has no capacity given")
            rows.append(index.setdefault(link, len(index)))
            cols.append(d)
    links = list(index)
    capacity = np.array([capacity_by_link[link] for link in links], dtype=float)
    # Duplicates are summed: a path crossing a link twice consumes twice.
    matrix = sparse.coo_array(
        (np.ones(len(rows)), (np.array(rows, dtype=int), np.array(cols, dtype=int))),
        shape=(len(links), len(paths)),
    ).tocsr()
    return links, capacity, matrix


def allocate_max_min_fair(
    paths: list[list[Hashable]],
    link_capacity_bps: Mapping,
    demand_caps_bps: list[float | None] | None = None,
) -> np.ndarray:
    """Max-min fair key rates for demands on fixed relay paths.

    Parameters
    ----------
    paths : list of list
        Node sequence of each demand (``[]`` or a single node: unroutable,
        gets 0).
    link_capacity_bps : mapping
        Secret-key rate of each link [bit/s], keyed by ``frozenset({u, v})``
        or a pair ``(u, v)`` in either order.
    demand_caps_bps : list of (float or None), optional
        Required rate of each demand [bit/s]; a demand never gets more.
        ``None`` means no cap.

    Returns
    -------
    numpy.ndarray
        Rate of each demand [bit/s]. For every link, the sum of the rates of
        the demands crossing it is at most its capacity; every demand either
        reaches its cap or crosses a saturated link on which no demand gets
        more than it does.

    Raises
    ------
    ValueError
        For a link of a path without a capacity, a negative or non-finite
        capacity, a negative or NaN cap, or a caps list of the wrong length.

    Notes
    -----
    Progressive filling (Bertsekas & Gallager, Data Networks, 1992,
    Sec. 6.5.2). Each round raises all unfrozen demands by
    ``min(min_l r_l / n_l, min_d (c_d - x_d))``, where ``r_l`` is the
    residual capacity of link ``l`` and ``n_l`` the number of unfrozen
    demands crossing it; at least one link saturates or one demand reaches
    its cap, so there are at most (links + demands) rounds.
    """
    n_demands = len(paths)
    if demand_caps_bps is None:
        caps = np.full(n_demands, np.inf)
    else:
        if len(demand_caps_bps) != n_demands:
            raise ValueError(
                f"demand_caps_bps has {len(demand_caps_bps)} entries for {n_demands} demands"
            )
        caps = np.array([np.inf if c is None else float(c) for c in demand_caps_bps])
        if np.any(np.isnan(caps)) or np.any(caps < 0.0):
            raise ValueError("demand caps must be >= 0 (or None for no cap)")
    _, capacity, matrix = _incidence(paths, link_capacity_bps)
    rates = np.zeros(n_demands)
    routable = np.array([len(p) >= 2 for p in paths], dtype=bool)
    active = routable & (caps > 0.0)
    tolerance = _SATURATION_RTOL * np.maximum(capacity, 1.0)
    saturated = capacity <= tolerance
    if saturated.any():
        active &= ~((matrix.T @ saturated.astype(float)) > 0)
    while active.any():
        used = matrix @ rates
        residual = np.maximum(capacity - used, 0.0)
        crossing = matrix @ active.astype(float)
        loaded = crossing > 0
        step = np.inf
        if loaded.any():
            step = float(np.min(residual[loaded] / crossing[loaded]))
        step = min(step, float(np.min(caps[active] - rates[active])))
        if not math.isfinite(step):
            # Only possible for an uncapped demand whose path has no links.
            raise ValueError("an uncapped demand crosses no link; its rate is unbounded")
        rates[active] += step
        reached_cap = active & (rates >= caps * (1.0 - _SATURATION_RTOL))
        rates[reached_cap] = caps[reached_cap]
        residual = capacity - matrix @ rates
        saturated = loaded & (residual <= tolerance)
        frozen = reached_cap.copy()
        if saturated.any():
            frozen |= (matrix.T @ saturated.astype(float)) > 0
        active &= ~frozen
    return rates


def link_utilisation(paths: list[list[Hashable]], rates, link_capacity_bps: Mapping) -> dict:
    """Key consumption on each link.

    Parameters
    ----------
    paths : list of list
        Node sequence of each demand.
    rates : array_like
        Rate of each demand [bit/s], e.g. from :func:`allocate_max_min_fair`.
    link_capacity_bps : mapping
        Capacity of each link [bit/s], keyed as in
        :func:`allocate_max_min_fair`.

    Returns
    -------
    dict
        For every key of ``link_capacity_bps`` (same keys): a dict with
        ``used_bps`` [bit/s], ``capacity_bps`` [bit/s], ``utilisation``
        (used over capacity; 0 for an unused link of zero capacity) and
        ``demands`` (indices of the demands crossing it).

    Raises
    ------
    ValueError
        If ``rates`` does not match ``paths``, or a link of zero capacity
        carries traffic.
    """
    rates = np.asarray(rates, dtype=float)
    if rates.shape != (len(paths),):
        raise ValueError(f"rates has shape {rates.shape}, expected ({len(paths)},)")
    used: dict[frozenset, float] = {}
    crossing: dict[frozenset, list[int]] = {}
    for d, path in enumerate(paths):
        for u, v in zip(path[:-1], path[1:], strict=False):
            link = frozenset((u, v))
            used[link] = used.get(link, 0.0) + float(rates[d])
            crossing.setdefault(link, []).append(d)
    result = {}
    for key, capacity in link_capacity_bps.items():
        link = _norm(key)
        capacity = float(capacity)
        load = used.get(link, 0.0)
        if capacity > 0.0:
            share = load / capacity
        elif load == 0.0:
            share = 0.0
        else:
            raise ValueError(f"link {sorted(map(str, link))} has zero capacity but carries {load}")
        result[key] = {
            "used_bps": load,
            "capacity_bps": capacity,
            "utilisation": share,
            "demands": crossing.get(link, []),
        }
    return result
