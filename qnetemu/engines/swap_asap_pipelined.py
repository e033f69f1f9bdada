"""Swap-ASAP with instant swaps and pipelined links, as an exact Markov reward process.

The chain of SeQUeNCe and of a real repeater under instant swap messages: a
link attempts whenever its two memories (the right one of its left node, the
left one of its right node) are free, not only after a delivery. A node that
has swapped has both memories free even while the pair it made is still
stored, so the links between two inner nodes of a stored pair build the next
pair early (pipelining). Heralds and swaps then still happen on the attempt
grid of period ``tau``, so the chain is a discrete-time Markov chain whose
state after each attempt period is the set of stored pairs.

State
-----
Each node has one memory per side, and after the swaps of a period no inner
node holds pairs on both sides (it would have swapped), so every node is the
end of at most one stored pair. Pairs never cross (to pass the right end
``b`` of a stored pair ``[a, b]`` a pair must be swapped at ``b``, whose left
memory ``[a, b]`` holds), so a state is a non-crossing partial matching of
the nodes ``0 .. n``, written as one base-6 digit per node (free, right end,
left end of a pair: the Motzkin-path code, which fixes the matching). Every
such matching but those holding ``[0, n]`` (delivered at once) is reachable:
``M_{n+1} - M_{n-1}`` states, ``M`` the Motzkin numbers (17 at 4 links, 708
at 8, 1,865 at 9, 4,963 at 10). States are found by a breadth-first search
from the empty chain and each is enumerated once; identical intermediate
configurations of the sweep below are merged as it goes. In the fidelity
chain what lies strictly inside a tagged pair is left out (it can never
touch the pair's end memories), which lumps it (7,366 states at 9 links).

One attempt period
------------------
As the Monte Carlo event loop does at one instant (``_run_batch_events`` with
``pipelined``): every link free at the start of the period succeeds
independently with ``p_i``; then the nodes holding two pairs swap, left to
right, each swap succeeding with ``a`` (the pairs join) or failing with
``1 - a`` (both pairs are lost, their memories freed); a pair ``[0, n]`` is
delivered and frees the end memories. Memories freed in a period are used
from the next period on. With continuous attempts on unequal links the
sources' clock makes each link herald its ``L/c`` after the period's tick:
the links then herald in time order within the period, each instant followed
by its swaps and delivery (as in the event loop), and a tagged pair swapped
at a phase ``f`` of the period is charged ``exp(-r tau f)`` (with the
per-period discounts this is every ancestor's storage since emission: each
swap consumes two pairs and makes one). The transition matrix is built by a
vectorised left-to-right sweep over all source states at once (herald of
link ``j``, then the swap at node ``j``, per herald instant), merging
identical partial states after each step.

What is computed
----------------
Rate: the stationary law ``pi`` of the chain (``pi P = pi``, solved with the
empty chain's weight fixed to 1 and then normalised; Kemeny & Snell, *Finite
Markov Chains*, 1960, Ch. IV) gives the delivery probability per period
``D = sum_s pi_s d_s`` (a Markov reward process), and the rate is
``D / tau``. Latency: the mean first-passage time from the empty chain to
the first delivery (with certain swaps it is the renewal chain's
``E[max_i T_i]``: links restarted early never hold up the pair being built;
with failing swaps pairs built ahead shorten the rebuild). Fidelity
(depolarising memories, perfect swap gates): a
delivered pair's Werner parameter is ``w0**n`` times the herald decays times
``exp(-r tau S)``, ``S`` the number of (pair, period) storages of its
ancestors. To average it over deliveries, one delivery is tagged by marking
its ancestors: in a period that starts from the unmarked stationary chain,
any non-empty set of newly heralded links may be marked as its first
ancestors, and later new links may be marked too; a marking that the future
contradicts (a marked pair lost at a failed swap, joined with an unmarked one,
or a delivery that leaves marked pairs behind) gets weight 0, so exactly one
marking of each delivery's ancestry counts (the guess-and-verify device of
:func:`~qnetemu.engines.repeater_analytic.swap_asap_markov`). The marked
chain's value ``V = D_r (Q V + r)``, ``D_r = exp(-r tau (marked pairs))``,
``r`` the tagged delivery's probability, gives the storage factor
``sum_s pi_s (Q_start V + r_start)(s) / D``.

Literature: the renewal version of this chain (every link restarts after a
delivery) is the swap-ASAP Markov chain of Shchukin, Schmidt, van Loock,
PRA 100, 032322 (2019), doi:10.1103/PhysRevA.100.032322, for the mean time
to the *first* end-to-end pair; Goodenough, Coopmans, Towsley, Quantum 9,
1744 (2025), doi:10.22331/q-2025-05-15-1744, give that first pair's
fidelity moments exactly for equal links and deterministic swaps. Zang et
al., arXiv:2407.11376 (2024), model the long-run throughput of continuous
entanglement distribution as Markov chains over one and two links. Beyond
them: the chain here keeps the pairs built ahead across deliveries on any
number of links (states are matchings, not covered-link sets), with
probabilistic swaps and unequal links; its rate is the stationary delivery
probability of a Markov reward process rather than a mean absorption time;
its fidelity averages over the deliveries of the stationary stream by
tagging one delivery's ancestry; and it follows the clock phases of
continuous sources on unequal links.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["PIPELINED_EXACT_MAX", "PipelinedChain", "swap_asap_pipelined"]

#: Longest chain solved exactly (rate, latency and fidelity): 1,865 states and 7,366 in the
#: fidelity chain, about 1 s on an idle core; 10 links take about 5 times longer
#: (``python benchmarks/bench_asap_pipelined.py --links 4 5 6 7 8 9 10``).
PIPELINED_EXACT_MAX = 9
_BASE = 6
#: Most source states swept together (bounds the sweep's working arrays).
_CHUNK = 256


@dataclass(frozen=True)
class PipelinedChain:
    """Result of :func:`swap_asap_pipelined`.

    ``deliveries_per_period``: stationary probability of a delivery per attempt
    period [-]; ``first_delivery_periods``: mean attempt periods from empty memories to
    the first delivery [-]; ``storage_factor``: mean ``exp(-r tau S)`` over delivered pairs
    (NaN when not asked) [-]; ``states``, ``marked_states``: states of the two
    chains; ``transitions``, ``marked_transitions``: their nonzero transitions;
    ``wall_s``: time taken [s].
    """

    deliveries_per_period: float
    first_delivery_periods: float
    storage_factor: float
    states: int
    transitions: int
    marked_states: int
    marked_transitions: int
    wall_s: float


def _keys(left: np.ndarray, right: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """Base-6 code per row: per node ``(has a left pair) + 2 (right pair: 0 none, 1 unmarked,
    2 marked)``; with non-crossing pairs it fixes the configuration."""
    digit = (left >= 0).view(np.int8) + (right >= 0).view(np.int8) * (2 + 2 * mark)
    # a float dot (BLAS) is exact while the codes stay below 2**53: up to 16 links with
    # the source index of a chunk in front (merged)
    return (digit @ _BASE ** np.arange(left.shape[1], dtype=float)).astype(np.int64)


class _Rows:
    """Partial configurations of the sweep: source index, ``cfg`` (rows, 3, nodes) holding per
    node the partner of its left memory, of its right memory (-1: free) and the mark of the
    pair starting there, the weight, and whether the row delivered a pair this period."""

    def __init__(self, src, cfg, prob, delivering=None):
        self.src, self.cfg, self.prob = src, cfg, prob
        self.delivering = np.zeros(src.size, dtype=bool) if delivering is None else delivering

    left = property(lambda self: self.cfg[:, 0])
    right = property(lambda self: self.cfg[:, 1])
    mark = property(lambda self: self.cfg[:, 2])

    def take(self, sel) -> _Rows:
        return _Rows(self.src[sel], self.cfg[sel], self.prob[sel], self.delivering[sel])

    @staticmethod
    def join(parts: list[_Rows]) -> _Rows:
        return _Rows(*(np.concatenate([getattr(q, f) for q in parts])
                       for f in ("src", "cfg", "prob", "delivering")))

    def merged(self) -> _Rows:
        """Identical (source, configuration, delivered) rows summed into one; zero weights dropped."""
        live = self if np.all(self.prob > 0) else self.take(self.prob > 0)
        key = (2 * live.src + live.delivering) * (_BASE ** live.cfg.shape[2]) + _keys(
            live.left, live.right, live.mark)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        out = live.take(first)
        out.prob = np.bincount(inverse.ravel(), weights=live.prob)
        return out


def _groups(n: int, phases, decay: float) -> list[tuple[np.ndarray, float]]:
    """The instants of one period at which links herald: ``(links, discount)`` in time order.

    ``phases`` None: every link heralds at the period's end (negotiated attempts, or one
    herald delay), no discount (the caller applies the herald decays). Otherwise each
    link's herald time after its source's clock tick, as a fraction of the period: a
    tagged pair swapped (or delivered) at phase ``f`` is charged ``exp(-decay f)`` for the
    time since the tick, which with the per-period discounts is every ancestor's storage
    since its photons' emission (each swap consumes two pairs and makes one).
    """
    if phases is None:
        return [(np.ones(n, dtype=bool), 1.0)]
    ph = np.asarray(phases, dtype=float)
    return [(ph == f, float(np.exp(-decay * f))) for f in np.unique(ph)]


def _sweep(left, right, mark, p: np.ndarray, a: float, marked: bool, groups):
    """One attempt period from each source configuration (rows of ``left``, ``right``, ``mark``).

    ``groups`` (:func:`_groups`): the herald instants of the period, in time order; at each,
    its links herald, then the nodes holding two pairs swap left to right and a pair
    ``[0, n]`` is delivered, as the Monte Carlo event loop does at one instant. Returns the
    outcomes that go on (a :class:`_Rows`; marked: those still holding a marked pair) and
    the delivery probability per source (marked: the tagged delivery's, discounted);
    contradicted markings are dropped.
    """
    n = p.size
    count = left.shape[0]
    free0 = (right[:, :n] < 0) & (left[:, 1:] < 0)  # links free at the period's start
    if marked:
        # What lies strictly inside a marked pair can never touch it (its end memories are
        # taken), so it does not change the tagged delivery: those links are left out
        # (their outcomes sum to 1), which lumps the marked chain.
        inside = _inside_marked(left, right, mark)
        free0 &= ~(inside[:, :n] & inside[:, 1:])
    rows = _Rows(np.arange(count), np.stack([left, right, mark], axis=1), np.ones(count))
    delivered = np.zeros(count)
    for in_group, disc in groups:
        for j in range(n + 1):
            if j < n and in_group[j] and free0[:, j].any():  # herald: misses in place, hits appended
                f = free0[rows.src, j]
                parts = [rows]
                for m in ((0, 1) if marked else (0,)):
                    hit = rows.take(f)
                    hit.cfg[:, 1, j] = j + 1
                    hit.cfg[:, 0, j + 1] = j
                    hit.cfg[:, 2, j] = m
                    hit.prob *= p[j]
                    parts.append(hit)
                rows.prob[f] *= 1.0 - p[j]
                rows = _Rows.join(parts)
            if 1 <= j < n:  # swap at node j: successes in place, failures appended
                both = np.flatnonzero((rows.cfg[:, 0, j] >= 0) & (rows.cfg[:, 1, j] >= 0))
                if both.size:
                    lo = rows.cfg[both, 0, j].astype(np.int64)
                    hi = rows.cfg[both, 1, j].astype(np.int64)
                    m_l, m_r = rows.cfg[both, 2, lo], rows.cfg[both, 2, j]
                    fail = rows.take(both[(m_l == 0) & (m_r == 0)])  # a failure may not lose a marked pair
                    # joining a marked with an unmarked pair: contradiction, weight 0
                    rows.prob[both] *= np.where(m_l == m_r, np.where(m_l == 1, a * disc, a), 0.0)
                    rows.cfg[both, 1, lo] = hi
                    rows.cfg[both, 0, hi] = lo
                    rows.cfg[both, 0, j] = rows.cfg[both, 1, j] = -1
                    rows.cfg[both, 2, j] = 0
                    if a < 1.0 and fail.prob.size:
                        k = np.arange(fail.prob.size)
                        lo_f, hi_f = fail.cfg[:, 0, j].astype(np.int64), fail.cfg[:, 1, j].astype(np.int64)
                        fail.cfg[k, 1, lo_f] = -1
                        fail.cfg[k, 0, hi_f] = -1
                        fail.cfg[:, 0, j] = fail.cfg[:, 1, j] = -1
                        fail.prob *= 1.0 - a
                        rows = _Rows.join([rows, fail])
            rows = rows.merged()
        # delivery of [0, n]: frees the end memories (links restart from the next period)
        done = rows.right[:, 0] == n
        if done.any():
            tagged = done & (rows.mark[:, 0] == 1)
            rows.cfg[done, 1, 0] = -1
            rows.cfg[done, 0, n] = -1
            rows.cfg[done, 2, 0] = 0
            if marked:  # the tagged delivery counts when it leaves no marked pair behind
                still = np.any((rows.right >= 0) & (rows.mark == 1), axis=1)
                win = tagged & ~still
                delivered += disc * np.bincount(rows.src[win], weights=rows.prob[win], minlength=count)
                rows = rows.take(~tagged)
            else:
                rows.delivering = rows.delivering | done
                delivered += np.bincount(rows.src[done], weights=rows.prob[done], minlength=count)
    if marked:
        rows = rows.take(_consistent_marks(rows))
    return rows, delivered


def _marked_depth(left, right, mark) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node: opens a marked pair, closes one, and the marked pairs open before it
    (not counting a pair it closes)."""
    t_open = (right >= 0) & (mark == 1)
    partner = np.where(left >= 0, left, 0).astype(np.int64)
    t_close = (left >= 0) & (np.take_along_axis(mark, partner, axis=1) == 1)
    depth_before = np.cumsum(t_open.astype(np.int8) - t_close, axis=1) - t_open
    return t_open, t_close, depth_before


def _inside_marked(left, right, mark) -> np.ndarray:
    """Nodes strictly inside a marked pair (not its ends)."""
    t_open, t_close, depth_before = _marked_depth(left, right, mark)
    return (depth_before >= 1) & ~t_open & ~t_close


def _consistent_marks(rows: _Rows) -> np.ndarray:
    """Rows whose marked pairs can still join into one delivery: at least one, none nested
    in another (an inner pair cannot cross its outer pair's ends)."""
    t_open, _, depth_before = _marked_depth(rows.left, rows.right, rows.mark)
    return t_open.any(axis=1) & ~np.any(t_open & (depth_before >= 1), axis=1)


def _explore(start_left, start_right, start_mark, p, a, marked: bool, groups):
    """Breadth-first search of the states reachable from the given rows.

    Returns the states (keys sorted, their configurations), and the transitions
    ``(src, dst, prob)`` as indices into them, and the delivery probability per state.
    """
    cfgs = [np.stack([start_left, start_right, start_mark], axis=1)]
    keys0 = _keys(start_left, start_right, start_mark)
    order = np.argsort(keys0)
    known, known_idx = keys0[order], order  # sorted keys and their state indices
    count = keys0.size
    todo = np.arange(count)
    all_cfg = cfgs[0]
    src_l, dst_l, prob_l, via_l = [], [], [], []
    d_parts = []
    while todo.size:
        for c in range(0, todo.size, _CHUNK):
            ids = todo[c:c + _CHUNK]
            rows, delivered = _sweep(all_cfg[ids, 0], all_cfg[ids, 1], all_cfg[ids, 2], p, a, marked, groups)
            d_parts.append((ids, delivered))
            keys = _keys(rows.left, rows.right, rows.mark)
            pos = np.minimum(np.searchsorted(known, keys), known.size - 1)
            found = known[pos] == keys
            dst = np.where(found, known_idx[pos], -1)
            if not found.all():
                new_keys, first, inverse = np.unique(keys[~found], return_index=True, return_inverse=True)
                dst[~found] = count + inverse.ravel()
                cfgs.append(rows.cfg[np.flatnonzero(~found)[first]])
                merged = np.concatenate([known, new_keys])
                idx = np.concatenate([known_idx, count + np.arange(new_keys.size)])
                order = np.argsort(merged, kind="stable")
                known, known_idx = merged[order], idx[order]
                count += new_keys.size
            src_l.append(ids[rows.src])
            dst_l.append(dst)
            prob_l.append(rows.prob)
            via_l.append(rows.delivering)
        start = all_cfg.shape[0]
        all_cfg = np.concatenate(cfgs)
        cfgs = [all_cfg]
        todo = np.arange(start, count)
    d = np.zeros(count)
    for ids, delivered in d_parts:
        d[ids] += delivered
    return ((all_cfg[:, 0], all_cfg[:, 1], all_cfg[:, 2]), np.concatenate(src_l), np.concatenate(dst_l),
            np.concatenate(prob_l), d, np.concatenate(via_l))


def _sparse_solve(mat, rhs: np.ndarray) -> np.ndarray:
    """``mat x = rhs`` to 1e-11 relative residual: BiCGSTAB, then GMRES, with the diagonal
    (the self-loops, which dominate when links rarely succeed) as preconditioner; a direct
    solve if neither gets there (on these chains BiCGSTAB took 0.1 s where GMRES(100)
    took 3 s and a sparse LU over a minute, 23,000 states)."""
    from scipy.sparse import linalg

    diag = mat.diagonal()
    precond = linalg.LinearOperator(mat.shape, matvec=lambda v: v / diag, dtype=float)
    target = 1e-11 * np.linalg.norm(rhs)
    for solver, kwargs in ((linalg.bicgstab, {"maxiter": 5000}), (linalg.gmres, {"restart": 100, "maxiter": 4})):
        x, info = solver(mat, rhs, M=precond, rtol=1e-13, atol=0.0, **kwargs)
        if info == 0 and np.linalg.norm(mat @ x - rhs) <= target:
            return x
    return linalg.spsolve(mat.tocsc(), rhs)


def _first_delivery(src, dst, prob, size: int) -> float:
    """Mean periods from the empty chain (state 0) to the first delivery: ``t = 1 + P' t``,
    ``P'`` the transitions that do not deliver (Kemeny & Snell 1960, Thm 3.3.5)."""
    from scipy import sparse

    mat = (sparse.identity(size, format="csr") - sparse.csr_matrix((prob, (src, dst)), shape=(size, size))).tocsr()
    return float(_sparse_solve(mat, np.ones(size))[0])


def _stationary(src, dst, prob, size: int, anchor: int = 0) -> np.ndarray:
    """Stationary law of the chain ``P[src, dst] = prob``: ``pi P = pi``, ``sum pi = 1``.

    ``pi_anchor`` is fixed to 1 (the empty chain, reachable from every state), the other
    components solve ``pi_rest (I - P_rest) = P[anchor, rest]``, then all are normalised.
    """
    from scipy import sparse

    pt = sparse.csr_matrix((prob, (dst, src)), shape=(size, size))  # P transposed
    rest = np.flatnonzero(np.arange(size) != anchor)
    mat = (sparse.identity(size - 1, format="csr") - pt[rest][:, rest]).tocsr()
    rhs = pt[rest][:, [anchor]].toarray().ravel()
    pi = np.ones(size)
    pi[rest] = _sparse_solve(mat, rhs) if size > 1 else pi[rest]
    return pi / pi.sum()


def swap_asap_pipelined(p, swap_success_prob: float, decay_per_attempt: float,
                        fidelity: bool = True, phases=None) -> PipelinedChain:
    """Pipelined swap-ASAP chain with instant swaps: stationary rate and storage, exact.

    Parameters
    ----------
    p : sequence of float
        Per-attempt success probability of each link, in (0, 1]; at most
        :data:`PIPELINED_EXACT_MAX` links. [-]
    swap_success_prob : float
        Swap success probability ``a``, in (0, 1]. [-]
    decay_per_attempt : float
        ``2 tau / T2``: decay exponent of a stored pair's Werner parameter per
        attempt period (depolarising memories). [-]
    fidelity : bool
        Also compute the storage factor (the marked chain).
    phases : sequence of float, optional
        Continuous attempts: each link's herald time after its source's clock
        tick, as a fraction of the period, in (0, 1] (``L_i / c / tau``). Links
        then herald at those instants within a period, in time order, and the
        storage factor counts every ancestor's storage from its photons'
        emission. None: all links herald together at the period's end
        (negotiated attempts, or one herald delay), and the storage factor
        leaves out the herald decays.

    Returns
    -------
    PipelinedChain
        ``deliveries_per_period`` (the pair rate is this over ``tau``) and
        ``storage_factor`` (the mean delivered Werner parameter is ``w0**n``
        times this, and times the herald decays when ``phases`` is None).

    Notes
    -----
    See the module docstring. For up to three links no stored pair but the
    delivered one has two inner nodes, so no link restarts before the
    delivery and this is the renewal chain of
    :func:`~qnetemu.engines.repeater_analytic.swap_asap_markov`:
    ``deliveries_per_period = 1 / E[T]`` and the same storage factor.
    """
    t0 = time.perf_counter()
    ps = np.atleast_1d(np.asarray(p, dtype=float))
    n = ps.size
    if ps.ndim != 1 or n == 0 or np.any(np.isnan(ps)) or np.any(ps <= 0) or np.any(ps > 1):
        raise ValueError(f"success probabilities must lie in (0, 1], got {ps.tolist()}")
    if n > PIPELINED_EXACT_MAX:
        raise ValueError(f"the exact pipelined chain is limited to {PIPELINED_EXACT_MAX} links, got {n}")
    a = float(swap_success_prob)
    if not (0.0 < a <= 1.0):
        raise ValueError(f"swap_success_prob must lie in (0, 1], got {swap_success_prob!r}")
    if phases is not None and not np.all((np.asarray(phases) > 0) & (np.asarray(phases) <= 1)):
        raise ValueError(f"phases must lie in (0, 1], got {list(phases)}")
    groups = _groups(n, phases, float(decay_per_attempt))
    empty = np.full((1, n + 1), -1, np.int8), np.full((1, n + 1), -1, np.int8), np.zeros((1, n + 1), np.int8)
    (left, right, mark), src, dst, prob, d, via = _explore(*empty, ps, a, False, groups)
    size = left.shape[0]
    pi = _stationary(src, dst, prob, size)
    per_period = float(pi @ d)
    first = _first_delivery(src[~via], dst[~via], prob[~via], size)
    factor, m_size, m_trans = float("nan"), 0, 0
    if fidelity:
        factor, m_size, m_trans = _storage_factor(left, right, mark, pi, ps, a, decay_per_attempt, per_period,
                                                  groups)
    return PipelinedChain(per_period, first, factor, size, int(src.size), m_size, m_trans,
                          time.perf_counter() - t0)


def _storage_factor(left, right, mark, pi, ps, a, decay, per_period, groups):
    """Mean storage factor of delivered pairs, from the tagged-delivery chain (module docstring)."""
    from scipy import sparse

    # the periods in which a tagged ancestry starts: from every stationary state
    start_rows, start_r = _sweep(left, right, mark, ps, a, True, groups)
    if start_rows.prob.size == 0:  # every tagged delivery completes within its first period
        return float(pi @ start_r) / per_period, 0, 0
    s_keys = _keys(start_rows.left, start_rows.right, start_rows.mark)
    uniq, first, inverse = np.unique(s_keys, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    seeds = start_rows.take(first)
    (ml, mr, mm), src, dst, prob, r, _ = _explore(seeds.left, seeds.right, seeds.mark, ps, a, True, groups)
    size = ml.shape[0]
    t_pairs = np.sum((mr >= 0) & (mm == 1), axis=1)
    disc = np.exp(-decay * t_pairs)
    mat = (sparse.identity(size, format="csr")
           - sparse.csr_matrix((prob * disc[src], (src, dst)), shape=(size, size))).tocsr()
    value = _sparse_solve(mat, disc * r)
    # seeds are the first states _explore numbered, in the order of ``uniq``
    start_value = np.bincount(start_rows.src, weights=start_rows.prob * value[inverse],
                              minlength=pi.size)
    total = float(pi @ (start_value + start_r))
    return total / per_period, size, int(src.size)

