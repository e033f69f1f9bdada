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
left end of a pair: the Motzkin-path code, which fixes the matching): at most
the Motzkin number ``M_{n+1}`` of states (835 at 8 links, 5,798 at 10, 41,835
at 12). States are found by a breadth-first search from the empty chain and
each is enumerated once; identical intermediate configurations of the sweep
below are merged as it goes.

One attempt period
------------------
As the Monte Carlo event loop does at one instant (``_run_batch_events`` with
``pipelined``): every link free at the start of the period succeeds
independently with ``p_i``; then the nodes holding two pairs swap, left to
right, each swap succeeding with ``a`` (the pairs join) or failing with
``1 - a`` (both pairs are lost, their memories freed); a pair ``[0, n]`` is
delivered and frees the end memories. Memories freed in a period are used
from the next period on. The transition matrix is built by a vectorised
left-to-right sweep over all source states at once (herald of link ``j``,
then the swap at node ``j``), merging identical partial states after each
step.

What is computed
----------------
Rate: the stationary law ``pi`` of the chain (``pi P = pi``, solved with the
empty chain's weight fixed to 1 and then normalised; Kemeny & Snell, *Finite
Markov Chains*, 1960, Ch. IV) gives the delivery probability per period
``D = sum_s pi_s d_s`` (a Markov reward process), and the rate is
``D / tau``. Fidelity (depolarising memories, perfect swap gates): a
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
PRA 100, 032322 (2019), doi:10.1103/PhysRevA.100.032322, and of Kuzmin,
Vasilyev, Shchukin, van Loock, *Diagrammatic technique for simulation of
large-scale quantum repeater networks with dissipating quantum memories*,
PRA 103, 052608 (2021), doi:10.1103/PhysRevA.103.052608 (which also tracks
the dissipation), both for the mean time to the *first* end-to-end pair.
Beyond them: the chain here is not absorbed at the delivery but keeps the
pairs built ahead (states are matchings, not covered-link sets), its rate is
the stationary delivery probability of a Markov reward process rather than a
mean absorption time, and its fidelity averages over deliveries of the
stationary stream by tagging one delivery's ancestry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["PIPELINED_EXACT_MAX", "PipelinedChain", "swap_asap_pipelined"]

#: Longest chain solved exactly (rate and fidelity): see
#: ``benchmarks/bench_asap_pipelined.py`` for the state counts and times.
PIPELINED_EXACT_MAX = 10
_BASE = 6
#: Most source states swept together (bounds the sweep's working arrays).
_CHUNK = 256


@dataclass(frozen=True)
class PipelinedChain:
    """Result of :func:`swap_asap_pipelined`.

    ``deliveries_per_period``: stationary probability of a delivery per attempt
    period [-]; ``storage_factor``: mean ``exp(-r tau S)`` over delivered pairs
    (NaN when not asked) [-]; ``states``, ``marked_states``: states of the two
    chains; ``transitions``, ``marked_transitions``: their nonzero transitions;
    ``wall_s``: time taken [s].
    """

    deliveries_per_period: float
    storage_factor: float
    states: int
    transitions: int
    marked_states: int
    marked_transitions: int
    wall_s: float


def _keys(left: np.ndarray, right: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """Base-6 code per row: per node ``(has a left pair) + 2 (right pair: 0 none, 1 unmarked,
    2 marked)``; with non-crossing pairs it fixes the configuration."""
    digit = (left >= 0).astype(np.int64) + 2 * np.where(right >= 0, 1 + mark, 0)
    return digit @ (_BASE ** np.arange(left.shape[1], dtype=np.int64))


class _Rows:
    """Partial configurations of the sweep: source index, pairs (partner per memory), marks, weight."""

    def __init__(self, src, left, right, mark, prob):
        self.src, self.left, self.right, self.mark, self.prob = src, left, right, mark, prob

    def take(self, sel) -> _Rows:
        return _Rows(self.src[sel], self.left[sel], self.right[sel], self.mark[sel], self.prob[sel])

    @staticmethod
    def join(parts: list[_Rows]) -> _Rows:
        return _Rows(*(np.concatenate([getattr(q, f) for q in parts])
                       for f in ("src", "left", "right", "mark", "prob")))

    def merged(self) -> _Rows:
        """Identical (source, configuration) rows summed into one."""
        key = self.src * (_BASE ** self.left.shape[1]) + _keys(self.left, self.right, self.mark)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        out = self.take(first)
        out.prob = np.bincount(inverse.ravel(), weights=self.prob)
        return out


def _sweep(left, right, mark, p: np.ndarray, a: float, marked: bool):
    """One attempt period from each source configuration (rows of ``left``, ``right``, ``mark``).

    Returns ``(src, left, right, mark, prob)`` of the outcomes that go on (marked: those
    still holding a marked pair), the delivery probability per source (marked: the tagged
    delivery's) and nothing else; contradicted markings are dropped.
    """
    n = p.size
    count = left.shape[0]
    free0 = (right[:, :n] < 0) & (left[:, 1:] < 0)  # links free at the period's start
    rows = _Rows(np.arange(count), left.copy(), right.copy(), mark.copy(), np.ones(count))
    delivered = np.zeros(count)
    for j in range(n + 1):
        if j < n:  # herald of link j
            f = free0[rows.src, j]
            idle = rows.take(~f)
            tried = rows.take(f)
            parts = [idle]
            miss = tried.take(slice(None))
            miss.prob = miss.prob * (1.0 - p[j])
            parts.append(miss)
            for m in ((0, 1) if marked else (0,)):
                hit = tried.take(slice(None))
                hit.right = hit.right.copy()
                hit.left = hit.left.copy()
                hit.mark = hit.mark.copy()
                hit.right[:, j] = j + 1
                hit.left[:, j + 1] = j
                hit.mark[:, j] = m
                hit.prob = hit.prob * p[j]
                parts.append(hit)
            rows = _Rows.join([q for q in parts if q.prob.size])
        if 1 <= j < n:  # swap at node j
            both = (rows.left[:, j] >= 0) & (rows.right[:, j] >= 0)
            if both.any():
                rest = rows.take(~both)
                sw = rows.take(both)
                k = np.arange(sw.prob.size)
                lo = sw.left[:, j].astype(np.int64)
                m_l, m_r = sw.mark[k, lo], sw.mark[:, j]
                parts = [rest]
                ok = sw.take(m_l == m_r)  # joining a marked with an unmarked pair: contradiction
                if ok.prob.size and a > 0.0:
                    kk = np.arange(ok.prob.size)
                    lo_k, hi_k = ok.left[:, j].astype(np.int64), ok.right[:, j].astype(np.int64)
                    ok.right[kk, lo_k] = hi_k
                    ok.left[kk, hi_k] = lo_k
                    ok.left[:, j] = ok.right[:, j] = -1
                    ok.mark[:, j] = 0
                    ok.prob = ok.prob * a
                    parts.append(ok)
                bad = sw.take((m_l == 0) & (m_r == 0))  # a failure may not lose a marked pair
                if bad.prob.size and a < 1.0:
                    kb = np.arange(bad.prob.size)
                    lo_b, hi_b = bad.left[:, j].astype(np.int64), bad.right[:, j].astype(np.int64)
                    bad.right[kb, lo_b] = -1
                    bad.left[kb, hi_b] = -1
                    bad.left[:, j] = bad.right[:, j] = -1
                    bad.prob = bad.prob * (1.0 - a)
                    parts.append(bad)
                rows = _Rows.join([q for q in parts if q.prob.size])
        rows = rows.merged()
    # delivery of [0, n]: frees the end memories
    done = rows.right[:, 0] == n
    if done.any():
        tagged = done & (rows.mark[:, 0] == 1)
        rows.right[done, 0] = -1
        rows.left[done, n] = -1
        rows.mark[done, 0] = 0
        still = np.any((rows.right >= 0) & (rows.mark == 1), axis=1)
        if marked:  # the tagged delivery counts when it leaves no marked pair behind
            win = tagged & ~still
            delivered += np.bincount(rows.src[win], weights=rows.prob[win], minlength=count)
            rows = rows.take(~tagged)
        else:
            delivered += np.bincount(rows.src[done], weights=rows.prob[done], minlength=count)
    if marked:
        rows = rows.take(_consistent_marks(rows))
    return rows, delivered


def _consistent_marks(rows: _Rows) -> np.ndarray:
    """Rows whose marked pairs can still join into one delivery: at least one, none nested
    in another (an inner pair cannot cross its outer pair's ends)."""
    t_open = (rows.right >= 0) & (rows.mark == 1)
    partner = np.where(rows.left >= 0, rows.left, 0).astype(np.int64)
    t_close = (rows.left >= 0) & (np.take_along_axis(rows.mark, partner, axis=1) == 1)
    depth_before = np.cumsum(t_open.astype(np.int8) - t_close, axis=1) - t_open
    return t_open.any(axis=1) & ~np.any(t_open & (depth_before >= 1), axis=1)


def _explore(start_left, start_right, start_mark, p, a, marked: bool):
    """Breadth-first search of the states reachable from the given rows.

    Returns the states (keys sorted, their configurations), and the transitions
    ``(src, dst, prob)`` as indices into them, and the delivery probability per state.
    """
    keys0 = _keys(start_left, start_right, start_mark)
    known = {int(k): i for i, k in enumerate(keys0)}
    todo = np.arange(keys0.size)
    all_l, all_r, all_m = start_left, start_right, start_mark
    src_l, dst_l, prob_l = [], [], []
    reward = [np.zeros(keys0.size)]
    while todo.size:
        new_confs = []
        for c in range(0, todo.size, _CHUNK):
            ids = todo[c:c + _CHUNK]
            rows, delivered = _sweep(all_l[ids], all_r[ids], all_m[ids], p, a, marked)
            reward.append((ids, delivered))
            keys = _keys(rows.left, rows.right, rows.mark)
            dst = np.empty(keys.size, np.int64)
            for i, k in enumerate(keys.tolist()):
                idx = known.get(k)
                if idx is None:
                    idx = known[k] = len(known)
                    new_confs.append((rows.left[i], rows.right[i], rows.mark[i]))
                dst[i] = idx
            src_l.append(ids[rows.src])
            dst_l.append(dst)
            prob_l.append(rows.prob)
        start = all_l.shape[0]
        if new_confs:
            all_l = np.vstack([all_l, np.stack([q[0] for q in new_confs])])
            all_r = np.vstack([all_r, np.stack([q[1] for q in new_confs])])
            all_m = np.vstack([all_m, np.stack([q[2] for q in new_confs])])
        todo = np.arange(start, all_l.shape[0])
    size = all_l.shape[0]
    d = np.zeros(size)
    for item in reward[1:]:
        ids, delivered = item
        d[ids] += delivered
    return (all_l, all_r, all_m), np.concatenate(src_l), np.concatenate(dst_l), np.concatenate(prob_l), d


def _sparse_solve(mat, rhs: np.ndarray) -> np.ndarray:
    """``mat x = rhs``: GMRES with the diagonal as preconditioner to 1e-13, else a direct solve."""
    from scipy.sparse import linalg

    diag = mat.diagonal()
    precond = linalg.LinearOperator(mat.shape, matvec=lambda v: v / diag, dtype=float)
    x, info = linalg.gmres(mat, rhs, M=precond, rtol=1e-13, atol=0.0, restart=100, maxiter=4)
    if info == 0 and np.linalg.norm(mat @ x - rhs) <= 1e-11 * np.linalg.norm(rhs):
        return x
    return linalg.spsolve(mat.tocsc(), rhs)


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
                        fidelity: bool = True) -> PipelinedChain:
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

    Returns
    -------
    PipelinedChain
        ``deliveries_per_period`` (the pair rate is this over ``tau``) and
        ``storage_factor`` (the mean delivered Werner parameter is ``w0**n``
        times the herald decays times this).

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
    empty = np.full((1, n + 1), -1, np.int8), np.full((1, n + 1), -1, np.int8), np.zeros((1, n + 1), np.int8)
    (left, right, mark), src, dst, prob, d = _explore(*empty, ps, a, marked=False)
    size = left.shape[0]
    pi = _stationary(src, dst, prob, size)
    per_period = float(pi @ d)
    factor, m_size, m_trans = float("nan"), 0, 0
    if fidelity:
        factor, m_size, m_trans = _storage_factor(left, right, mark, pi, ps, a, decay_per_attempt, per_period)
    return PipelinedChain(per_period, factor, size, int(src.size), m_size, m_trans,
                          time.perf_counter() - t0)


def _storage_factor(left, right, mark, pi, ps, a, decay, per_period):
    """Mean storage factor of delivered pairs, from the tagged-delivery chain (module docstring)."""
    from scipy import sparse

    # the periods in which a tagged ancestry starts: from every stationary state
    start_rows, start_r = _sweep(left, right, mark, ps, a, marked=True)
    if start_rows.prob.size == 0:  # every tagged delivery completes within its first period
        return float(pi @ start_r) / per_period, 0, 0
    s_keys = _keys(start_rows.left, start_rows.right, start_rows.mark)
    uniq, first, inverse = np.unique(s_keys, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    seeds = start_rows.take(first)
    (ml, mr, mm), src, dst, prob, r = _explore(seeds.left, seeds.right, seeds.mark, ps, a, marked=True)
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

