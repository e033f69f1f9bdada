"""Analytic repeater-chain engine: exact where it says so, refusing the rest.

Model: the one of the Monte Carlo engine (:mod:`qnetemu.engines.repeater_montecarlo`)
for the chain's :class:`~qnetemu.engines.chain.RepeaterProtocol`. Attempts run
on one period ``tau`` (the longest link's); a link succeeds per attempt with
``p_i`` (``1 - (1 - p_i)**m`` for ``single`` multiplexing); pairs are made at
emission, heralded ``L/c`` later; storage multiplies a pair's Werner
parameter by ``g(t) = alpha + (1 - alpha) exp(-2 t / T2)``
(:func:`~qnetemu.physics.entanglement.memory_storage_factor`); swaps twirl.

What is computed, and how exactly
---------------------------------
* **Nested order** (any swap probability ``a``, instant or classical
  messaging, pumping): the joint law of (delivery time, Werner parameter) by
  the recursion of Brand, Coopmans, Elkouss, IEEE JSAC 38, 589 (2020),
  doi:10.1109/JSAC.2020.2969005, Sec. IV: for a pair spanning ``[L, R]``
  swapped at ``j``, ``T = max(T_L, T_R) (+ pairing wait)``, repeated a
  geometric(``a``) number of times, and ``W = W_L W_R g(|T_L - T_R|)`` of
  the successful round. Each sub-chain is a pmf ``P[t]`` and the moments
  ``E[W 1{T=t}]`` on a time grid of ``tau / K``, kept on a window that spans
  the random part of its delivery time: classical delays and pairing waits
  move the window (nothing is recomputed). Exact (up to a tail below 1e-13 of
  the probability) when every delay is a whole number of grid steps, which the
  engine checks for ``K`` up to 64 (equal segments always pass); otherwise
  delays are split between the two nearest attempt-grid points (``K = 1``)
  and ``extra["approximation"]`` says so, with its measured error (1.5e-4
  relative in rate, 1.2e-5 in fidelity, on 78 unequal segments). Identical
  sub-trees are computed once (a 1,000-segment chain has 15 distinct
  sub-trees; about 15-20 ms with the default protocol, see
  ``benchmarks/bench_analytic_nested.py``). No scipy on this path.
* **Pumping**: the pumped link's attempt count from its exact generating
  function ``G_k = P_k G_{k-1} G_0 / (1 - (1 - P_k) G_{k-1} G_0)``,
  ``G_0 = p x / (1 - (1 - p) x)`` (a failed round restarts the link),
  evaluated on the FFT grid.
* **Swap-ASAP, instant messaging, up to three segments**: no link can
  restart before the delivery (:func:`pipelining_changes_results`), so the
  renewal cycle is exact: with deterministic swaps the rate from
  ``E[max_i T_i]`` and the fidelity from the absorbing Markov chain over
  which links are covered, discounting each step by ``exp(-2 tau runs /
  T2)``; with probabilistic swaps the absorbing chain over the covered links
  (:func:`swap_asap_markov`, exact to :data:`MARKOV_EXACT_MAX` links for the
  rate and :data:`MARKOV_FIDELITY_EXACT_MAX` for the fidelity, its stored
  pairs marked "survives" or "is lost").
* **Swap-ASAP, instant messaging, four or more segments**: links restart as
  soon as their two memories are free (pipelining), as SeQUeNCe and the
  Monte Carlo engine run them, so the renewal cycle no longer applies (it is
  3-5 % low in rate at 4-6 segments and 22-27 % at 12-16 with certain swaps).
  The exact pipelined chain (:mod:`qnetemu.engines.swap_asap_pipelined`): a
  Markov reward process over the stored pairs (non-crossing matchings of
  the nodes), the rate from its stationary delivery probability, the
  latency from the first-passage time, the fidelity from a chain that tags
  one delivery's ancestors; exact up to :data:`PIPELINED_EXACT_MAX`
  segments (depolarising memories). Beyond, the named approximation
  :data:`PIPELINED_APPROXIMATION` (:func:`swap_asap_pipelined_extrapolated`)
  with its measured error (:data:`PIPELINED_APPROXIMATION_ERROR`).
  ``extra["pipelined"]`` says which model a row comes from.
* **Where pipelining is not computed**: the nested recursion is a renewal
  process (every link restarts after each delivery), while SeQUeNCe and the
  Monte Carlo engine restart a link whose two memories are free. That
  changes results under classical messaging from three segments (labelled
  :data:`RENEWAL_APPROXIMATION`) and under instant messaging from five
  (:data:`INSTANT_RENEWAL_APPROXIMATION`), each with its error measured
  against the pipelined Monte Carlo engine (``benchmarks/
  bench_analytic_renewal.py``); ``extra["exact"]`` is then False.
* **Continuous attempts under classical messages** with ``1/attempt_rate_hz
  > L/c``: links freed between the sources' clock ticks restart at the next
  tick in SeQUeNCe and the Monte Carlo engine
  (:data:`CLOCK_RESTART_APPROXIMATION`, rate 5-9 % low, measured).
* **Continuous attempts on unequal links**: the sources' one clock makes
  pairs herald at different phases of the attempt period. The swap-ASAP
  chain (instant messages, from two segments) follows them exactly: within a
  period links herald in time order, and a tagged pair swapped at a phase is
  charged its storage since the tick. The nested recursion has them herald
  together at the period's end (:data:`CLOCK_PHASE_APPROXIMATION`, fidelity
  0.001-0.0025 high, measured).

Refused (``ProtocolNotSupported``, naming the field): cutoffs; the shared
memory pool; swap-ASAP with classical messaging beyond two segments, or with
dephasing memories, ``swap_fidelity < 1`` or pumping beyond two segments.
Nothing is labelled a bound.

For two segments both orders coincide; ``E[T_2] = (3 - 2p) / (a p (2 - p))``
(Shchukin, Schmidt, van Loock, PRA 100, 032322 (2019),
doi:10.1103/PhysRevA.100.032322).
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import numpy as np

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.engines.chain import ChainBeyondEngine, ChainResult, ChainSpec, ProtocolNotSupported
from qnetemu.engines.elementary_link import (
    attempt_period_s,
    nested_swap_partners,
    pumping_schedule,
    two_photon_success_prob,
    validate_chain,
)
from qnetemu.engines.swap_asap_pipelined import PIPELINED_EXACT_MAX, swap_asap_pipelined
from qnetemu.physics.entanglement import STORAGE_FLOOR

__all__ = [
    "MARKOV_EXACT_MAX",
    "MARKOV_FIDELITY_EXACT_MAX",
    "PIPELINED_EXACT_MAX",
    "pipelining_changes_results",
    "AnalyticChainEngine",
    "expected_max_geometric",
    "expected_waiting_two_segments",
    "nested_waiting_time_pmf",
    "expected_waiting_nested",
    "pumped_attempts_pmf",
    "swap_asap_markov",
    "swap_asap_pipelined_extrapolated",
]

#: Largest swap-ASAP chain whose rate (any swap probability) and fidelity (deterministic
#: swaps) are solved exactly: 4,096 states, 1.4 million transitions, about 1 s.
MARKOV_EXACT_MAX = 12
#: Largest swap-ASAP chain whose fidelity with probabilistic swaps is solved exactly (the
#: marked chain: 8,100 states and 0.8 million transitions at 10 links, about 1 s; 11 links
#: take 3 million transitions and 10-30 s).
MARKOV_FIDELITY_EXACT_MAX = 10
#: What the nested recursion leaves out under classical swap messaging on 3+ segments: it
#: restarts every link after each delivery (a renewal process), while links whose memories a
#: swap has freed restart at once in SeQUeNCe and the Monte Carlo engine (pipelining). Measured
#: with ``python benchmarks/bench_analytic_renewal.py`` (20 and 50 km links, T2 = 1 s, F0 0.98).
RENEWAL_APPROXIMATION = (
    "renewal: every link restarts after each delivery, so the pipelining of links freed by "
    "swaps is left out (measured against the pipelined Monte Carlo engine: rate 0.5-2 % low "
    "at 3-4 segments, 3 % with swap probability 0.5, 8-12 % low at 8, 17-21 % low at 16; "
    "fidelity up to 0.05 high at 16)")
#: The same for instant swap messages (pipelining under instant messages: swap-ASAP from 4
#: segments beyond :data:`PIPELINED_EXACT_MAX`, nested from 5), measured with ``python
#: benchmarks/bench_analytic_renewal.py --instant``.
INSTANT_RENEWAL_APPROXIMATION = (
    "renewal: every link restarts after each delivery, so the links between two inner nodes of a "
    "stored pair, which SeQUeNCe and the Monte Carlo engine restart at once, are left out "
    "(measured against the pipelined Monte Carlo engine, nested, 20 km links, T2 = 50 ms: rate "
    "2 % low at 5 segments, 6 % at 8, 12 % at 16; fidelity 0.005, 0.029, 0.043 high)")
#: Continuous sources emit on one clock, so on unequal links pairs herald at different phases
#: of the attempt period (SeQUeNCe's clocked sources, and the Monte Carlo engine's); the swap-ASAP
#: chain follows those phases exactly, the nested recursion and the pipelined extrapolation have
#: the pairs herald together at the period's end, each having stored its own ``L/c``, so a pair
#: heralded early is not charged its wait for the later herald within the period. Measured with
#: ``python benchmarks/bench_analytic_renewal.py --phases`` (10-25 km links, T2 = 20 ms).
CLOCK_PHASE_APPROXIMATION = (
    "clock phases: pairs of unequal links taken as heralding together at the end of each attempt "
    "period, so a pair heralded earlier in the period is not charged its wait for the later "
    "herald (measured against the Monte Carlo engine's clocked sources on nested chains of "
    "10 and 20 km links, T2 = 20 ms: rate within 0.1 %, fidelity 0.001-0.0025 high)")
#: Continuous sources under classical messages when ``1/attempt_rate_hz > L/c``: a link freed
#: between two ticks of the sources' clock (by a delivery or a swap, whose messages take their
#: time) restarts at the next tick in SeQUeNCe and the Monte Carlo engine; the recursion restarts
#: it on its own grid. Measured with ``python benchmarks/bench_analytic_renewal.py --phases``.
CLOCK_RESTART_APPROXIMATION = (
    "clocked restarts: links freed between two ticks of the sources' clock restart at the next "
    "tick in SeQUeNCe and the Monte Carlo engine, here on the recursion's grid (measured against "
    "the Monte Carlo engine, nested, classical messages, 5 kHz attempts: rate 5 % low on 2 x 20 km, "
    "6 % on 4 x 20 km, 9 % on 2 x 5 km, more the shorter L/c is against the clock period; fidelity "
    "within 0.0013)")
#: Name of the approximation beyond :data:`PIPELINED_EXACT_MAX` (swap-ASAP, instant messages,
#: :func:`swap_asap_pipelined_extrapolated`), and its error measured against the pipelined
#: Monte Carlo event loop with ``python benchmarks/bench_asap_approximation.py``.
PIPELINED_APPROXIMATION = "asymptotic extrapolation of the exact pipelined swap-ASAP chain"
PIPELINED_APPROXIMATION_ERROR = (
    "12-16 equal 20 km segments, swap probability 0.5 and 1, T2 = 50 ms: rate within 0.3 %, "
    "fidelity within 1.1e-3 (at most 4.1 standard errors of 20,000 Monte Carlo pairs)")
_TAIL = 1e-13
_MAX_GRID = 1 << 23
#: Most memory the laws of one chain's sub-trees may take [bytes] (see :func:`_grid_bytes`).
_MAX_GRID_BYTES = 2 << 30


def pipelining_changes_results(protocol, n_segments: int) -> bool:
    """Whether restarting links as soon as their two memories are free (pipelining, what
    SeQUeNCe and the Monte Carlo engine do) can change a chain's results from the renewal
    cycle (every link restarts after each delivery).

    The two differ only when a link has both memories free while a pair spanning it is
    still stored: renewal waits for the delivery, pipelining attempts at once. Under
    classical messages a swapping node's memories are free while its outcome travels, so
    from three segments on. Under instant messages a node's memories are freed by its swap
    and the pair it made is stored until the delivery, so a link's two end nodes must both
    lie strictly inside a stored pair that is not the delivered one: a stored non-final
    pair spanning three or more links. Swap-ASAP: ``[0, n - 1]`` waits for the last link
    when ``n - 1 >= 3``, so from four segments (on three the only pair spanning three links
    is ``[0, 3]``, delivered at once). Nested: the fixed tree's non-final pairs; on four
    segments they span at most two links, on five node 2's ``[0, 4]`` waits for link
    ``[4, 5]``, so from five segments (not eight: the Monte Carlo event loop with pipelining
    gives 2.4 % more pairs and a fidelity 0.004 lower on 5 x 20 km nested, T2 = 50 ms).
    """
    n = int(n_segments)
    if protocol.swap_messaging == "classical":
        return n >= 3
    if protocol.swap_order == "swap_asap":
        return n >= 4
    return any(hi - lo >= 3 for lo, hi in nested_swap_partners(n) if lo >= 0 and (lo, hi) != (0, n))


def _distinct_subchains(link_keys: list) -> int:
    """Distinct sub-chains of the nested swap tree, by the links they hold (identical ones share a law)."""
    n = len(link_keys)
    inner = {tuple(link_keys[lo:hi]) for lo, hi in nested_swap_partners(n) if lo >= 0}
    return len(inner) + len(set(link_keys))


def _grid_bytes(size: int, distinct_subtrees: int) -> int:
    """Memory of ``distinct_subtrees`` laws on a grid of ``size`` points: three float64 arrays each,
    twice over (a law and its moved copy) [bytes]."""
    return 2 * 3 * 8 * size * distinct_subtrees
_M_PER_KM = 1e3


def _check_probs(p) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(p, dtype=float))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("success probabilities must be a non-empty 1-d sequence")
    if np.any(np.isnan(arr)) or np.any(arr <= 0) or np.any(arr > 1):
        raise ValueError(f"success probabilities must lie in (0, 1], got {arr.tolist()}")
    return arr


def expected_max_geometric(p) -> float:
    """Mean of the maximum of independent geometric variables on {1, 2, ...}.

    Parameters
    ----------
    p : float or sequence of float
        Per-attempt success probabilities, one per elementary link, in (0, 1].

    Returns
    -------
    attempts : float
        ``E[max_i T_i]``, in attempts. [-]

    Notes
    -----
    Homogeneous, ``n <= 20``: ``sum_{k=1..n} C(n,k)(-1)^{k+1} / (1-(1-p)^k)``
    (e.g. Sangouard et al., RMP 83, 33 (2011); Brand et al. 2020, Eq. 9).
    Otherwise the survival sum ``sum_{t>=0} [1 - prod_i (1 - q_i^t)]``,
    truncated where the remaining tail is below 1e-15 of the result.
    """
    ps = _check_probs(p)
    n = ps.size
    if np.all(ps == ps[0]) and n <= 20:
        k = np.arange(1, n + 1)
        denom = -np.expm1(k * np.log1p(-ps[0])) if ps[0] < 1 else np.ones(n)
        binom = np.array([math.comb(n, int(j)) for j in k], dtype=float)
        return float(np.sum(binom * (-1.0) ** (k + 1) / denom))
    if np.all(ps == 1.0):
        return 1.0
    log_q = np.log1p(-np.minimum(ps, 1.0 - 1e-300))
    t_max = int(math.ceil(math.log(1e-17 / n) / np.max(log_q))) + 1
    total = 0.0
    chunk = 1 << 20
    for start in range(0, t_max, chunk):
        t = np.arange(start, min(start + chunk, t_max), dtype=float)
        with np.errstate(divide="ignore"):
            log_cdf = np.sum(np.log1p(-np.exp(np.outer(t, log_q))), axis=1)
        total += float(np.sum(-np.expm1(log_cdf)))
    return total


def expected_waiting_two_segments(p: float, swap_success_prob: float = 1.0) -> float:
    """Mean attempts for a two-segment chain, Shchukin, Schmidt, van Loock (2019).

    Parameters
    ----------
    p : float
        Per-attempt success probability of each link, in (0, 1]. [-]
    swap_success_prob : float
        Swap success probability ``a``, in (0, 1]. [-]

    Returns
    -------
    attempts : float
        ``(3 - 2p) / (a p (2 - p))``. [-]

    Notes
    -----
    PRA 100, 032322 (2019), doi:10.1103/PhysRevA.100.032322, the ``n = 2``
    rate formula: the mean of the maximum of two geometric variables,
    ``(3 - 2p) / (p (2 - p))``, repeated a geometric(``a``) number of times.
    """
    (pp,) = _check_probs(p)
    if not (0.0 < swap_success_prob <= 1.0):
        raise ValueError(f"swap_success_prob must lie in (0, 1], got {swap_success_prob!r}")
    return (3.0 - 2.0 * pp) / (swap_success_prob * pp * (2.0 - pp))


# --------------------------------------------------------------------------- grids


def _geometric_pmf(p: float, size: int, step: int = 1) -> np.ndarray:
    """Geometric pmf on {1, 2, ...} attempts, placed every ``step`` grid points."""
    out = np.zeros(size)
    k = np.arange(1, (size - 1) // step + 1, dtype=float)
    out[(k * step).astype(int)] = p * np.exp((k - 1.0) * np.log1p(-p)) if p < 1 else (k == 1)
    return out


def pumped_attempts_pmf(p: float, success_probs, size: int) -> np.ndarray:
    """Distribution of the attempts to a pumped link pair, from its generating function.

    Parameters
    ----------
    p : float
        Per-attempt heralding probability of a fresh pair, in (0, 1]. [-]
    success_probs : sequence of float
        ``P_k``: probability that pumping round ``k`` keeps the pair
        (:func:`~qnetemu.engines.elementary_link.pumping_schedule`). [-]
    size : int
        Grid length (attempts 0 .. size-1).

    Returns
    -------
    pmf : ndarray
        ``P(N = t)``; its generating function is ``G_r`` with
        ``G_0(x) = p x / (1 - (1 - p) x)`` and
        ``G_k = P_k H / (1 - (1 - P_k) H)``, ``H = G_{k-1} G_0`` (a level-k
        pair needs a level-(k-1) pair and a fresh pair, and a failed round
        restarts from scratch; Dür et al., PRA 59, 169 (1999) pumping). Evaluated
        at the roots of unity (an FFT); the caller checks the aliased tail.
    """
    g0 = np.fft.rfft(_geometric_pmf(p, size))
    g = g0
    for pk in success_probs:
        h = g * g0
        g = pk * h / (1.0 - (1.0 - pk) * h)
    return np.clip(np.fft.irfft(g, n=size), 0.0, None)


def _decayed_cumsum(b: np.ndarray, decay_per_step: float) -> np.ndarray:
    """``D[m] = sum_{t <= m} b[t] exp(-decay (m - t))``, vectorised and overflow-safe."""
    if decay_per_step == 0.0:
        return np.cumsum(b)
    if decay_per_step > 600.0:
        return b.copy()
    block = int(600.0 / decay_per_step)
    if block < 256:
        kernel = np.exp(-decay_per_step * np.arange(int(40.0 / decay_per_step) + 2))
        return np.convolve(b, kernel)[: b.size]
    out = np.empty_like(b)
    carry = 0.0
    up_all, down_all = _exp_ramps(decay_per_step, min(block, b.size))
    for s in range(0, b.size, block):
        seg = b[s : s + block]
        up, down = up_all[: seg.size], down_all[: seg.size]
        out[s : s + seg.size] = down * (carry * math.exp(-decay_per_step) + np.cumsum(seg * up))
        carry = out[s + seg.size - 1]
    return out


@functools.lru_cache(maxsize=16)
def _exp_ramps(decay_per_step: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``exp(+-decay i)`` for ``i < size``, read-only: every swap of a chain uses the same."""
    i = np.arange(size)
    up, down = np.exp(decay_per_step * i), np.exp(-decay_per_step * i)
    up.flags.writeable = down.flags.writeable = False
    return up, down


@dataclass(frozen=True)
class _Law:
    """A pair's time law on a window of the grid and its Werner moments at that time.

    ``p[i]``: probability the pair is known (at the node that uses it) at grid
    point ``start + i`` (zero before ``start``, below the tail after the window);
    ``a[i] = E[alpha W 1{T=t}]`` is the part of the Werner parameter that storage
    never removes, ``b[i]`` the part that decays as ``exp(-r s)`` from then on.
    A classical message's flight only moves ``start``: the arrays span the
    random part of the delivery time, not the chain's deterministic delays.
    """

    p: np.ndarray
    a: np.ndarray
    b: np.ndarray
    start: int = 0

    @property
    def end(self) -> int:
        return self.start + self.p.size


def _window(x: np.ndarray, offset: int, size: int) -> np.ndarray:
    """``x`` placed at ``offset`` in a zero array of ``size`` (no copy when it already fits)."""
    if offset == 0 and x.size == size:
        return x
    out = np.zeros(size)
    out[offset : offset + x.size] = x
    return out


def _split_shift(x: np.ndarray, frac: float) -> np.ndarray:
    """``x`` delayed by ``frac`` of a grid step, mass split between the two neighbours."""
    out = np.zeros(x.size + 1)
    out[:-1] += (1.0 - frac) * x
    out[1:] += frac * x
    return out


@functools.lru_cache(maxsize=64)
def _nested_structure(n: int) -> tuple[np.ndarray, ...]:
    """The nested order's swaps, children before parents (the tree depends on ``n`` only).

    Returns ``lo, node, hi, left, right``: swap ``i`` at ``node[i]`` joins pairs
    ``lo..node`` and ``node..hi``; ``left[i]``/``right[i]`` is the index of the swap
    that makes each of them, -1 for an elementary link. The last swap makes ``0..n``.
    """
    partners = nested_swap_partners(n)
    split = {(lo, hi): j for j, (lo, hi) in enumerate(partners) if lo >= 0}
    order = sorted(split, key=lambda span: span[1] - span[0])
    index = {span: i for i, span in enumerate(order)}
    node = [split[span] for span in order]
    left = [index.get((lo, j), -1) for (lo, _), j in zip(order, node, strict=True)]
    right = [index.get((j, hi), -1) for (_, hi), j in zip(order, node, strict=True)]
    out = tuple(np.array(v, dtype=np.int64) for v in ([s[0] for s in order], node,
                                                      [s[1] for s in order], left, right))
    for arr in out:
        arr.flags.writeable = False
    return out


class _NestedTree:
    """Brand-Coopmans-Elkouss recursion over a nested swap tree on one grid.

    ``structure``: :func:`_nested_structure`. Per swap ``i``: ``to_left[i]``,
    ``to_right[i]`` the grid steps for the news of each input pair (from the node
    that made it) to reach the swapping node, ``pairing[i]`` the pairing wait
    there. Whole numbers of steps move a law's window (nothing recomputed);
    fractions (the inexact grid) split mass. Swaps are computed children first,
    each distinct sub-tree once (:meth:`_keys`).
    """

    def __init__(self, leaves: list[_Law], leaf_id: list[int], structure, to_left: list[float],
                 to_right: list[float], pairing: list[float], a: float, swap_fidelity: float,
                 floor: float, decay_per_step: float, restart_steps: int, window: int,
                 whole_steps: bool):
        self.leaves = leaves
        self.whole_steps = whole_steps  # every delay a whole number of grid steps
        self.leaf_id = leaf_id
        self.lo, self.node, self.hi, self.left, self.right = (v.tolist() for v in structure)
        self.a = a
        self.sf = swap_fidelity
        self.floor = floor
        self.k = decay_per_step
        self.to_left, self.to_right, self.pairing = to_left, to_right, pairing
        self.restart = restart_steps
        self.window = window  # most grid points a law keeps after its start
        self.memo: dict = {}
        self.dropped = 0.0  # probability cut off at the windows' ends

    def _keys(self) -> list:
        """A key per swap naming its law: identical sub-trees (same children, delays equal
        to 1e-6 steps) share one."""
        def rounded(v: list[float]) -> list[float]:
            return v if self.whole_steps else [round(x, 6) for x in v]

        to_left, to_right, pairing = rounded(self.to_left), rounded(self.to_right), rounded(self.pairing)
        ids: dict = {}
        keys: list = []
        for i in range(len(self.node)):
            lk = keys[self.left[i]] if self.left[i] >= 0 else ids.setdefault(
                ("leaf", self.leaf_id[self.lo[i]]), len(ids))
            rk = keys[self.right[i]] if self.right[i] >= 0 else ids.setdefault(
                ("leaf", self.leaf_id[self.node[i]]), len(ids))
            keys.append(ids.setdefault((lk, rk, to_left[i], to_right[i], pairing[i]), len(ids)))
        return keys

    def root(self) -> _Law:
        """Law of the end-to-end pair at the time the last swap (or the herald) makes it."""
        if not self.node:
            return self.leaves[0]
        keys = self._keys()
        laws: list = [None] * len(keys)
        for i, key in enumerate(keys):
            if key not in self.memo:
                x = laws[self.left[i]] if self.left[i] >= 0 else self.leaves[self.lo[i]]
                y = laws[self.right[i]] if self.right[i] >= 0 else self.leaves[self.node[i]]
                self.memo[key] = self._swap(self.moved(x, self.to_left[i]),
                                            self.moved(y, self.to_right[i]), self.pairing[i])
            laws[i] = self.memo[key]
        return laws[-1]

    def moved(self, law: _Law, steps: float) -> _Law:
        """The law as seen ``steps`` later (a classical message's flight): ``b`` decays."""
        if steps == 0:
            return law
        q = int(math.floor(steps))
        f = steps - q
        e = math.exp(-self.k * steps)
        if f == 0:
            return _Law(law.p, law.a, law.b * e, law.start + q)
        return _Law(_split_shift(law.p, f), _split_shift(law.a, f), _split_shift(law.b, f) * e,
                    law.start + q)

    def _swap(self, x: _Law, y: _Law, pairing: float) -> _Law:
        lo, hi = min(x.start, y.start), max(x.end, y.end)
        size = hi - lo
        xp, xa, xb = (_window(v, x.start - lo, size) for v in (x.p, x.a, x.b))
        yp, ya, yb = (_window(v, y.start - lo, size) for v in (y.p, y.a, y.b))
        cpx, cpy = np.cumsum(xp), np.cumsum(yp)
        p_max = xp * cpy + cpx * yp - xp * yp
        cax, cay = np.cumsum(xa), np.cumsum(ya)
        dbx, dby = _decayed_cumsum(xb, self.k), _decayed_cumsum(yb, self.k)
        # E[W_x W_y 1{max = m}], each factor decayed to m; split by decaying parts
        q_aa = xa * cay + cax * ya - xa * ya
        q_ab = xa * dby + cax * yb - xa * yb
        q_ba = xb * cay + dbx * ya - xb * ya
        q_bb = xb * dby + dbx * yb - xb * yb
        e = math.exp(-self.k * pairing)  # all four memories wait for the pairing round trip
        ww = q_aa + (q_ab + q_ba) * e + q_bb * e * e
        w_round = self.sf * ww + (self.sf - 1.0) / 3.0 * p_max
        # the maximum is never earlier than the later start: drop the leading zeros
        first = max(x.start, y.start) - lo
        p_round, w_round = p_max[first:], w_round[first:]
        start = lo + first
        q = int(math.floor(pairing))
        if pairing - q > 0:
            p_round, w_round = _split_shift(p_round, pairing - q), _split_shift(w_round, pairing - q)
        start += q
        p_round, w_round = self._trim(p_round, w_round)
        if self.a < 1.0:
            p_round, w_round = self._trim(*self._repeat(p_round, w_round, start))
        return _Law(p_round, self.floor * w_round, (1.0 - self.floor) * w_round, start)

    def _trim(self, p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cut the tail beyond the window, and the tail holding less than 1e-16 of the
        probability (both counted in ``dropped``, which the caller bounds)."""
        suffix = np.cumsum(p[::-1])[::-1]
        cut = min(int(np.searchsorted(-suffix, -1e-16)), self.window)  # suffix < 1e-16 from cut
        if cut < p.size:
            self.dropped += float(suffix[cut])
            p, w = p[:cut], w[:cut]
        return p, w

    def _repeat(self, p_round: np.ndarray, w_round: np.ndarray, start: int):
        """Failed rounds (probability ``1 - a`` each) restart on the attempt grid.

        The delivery is the successful round after a geometric number of failed
        ones, whose durations are rounded up to the attempt grid: on the window
        that starts at ``start``, ``a R / (1 - (1 - a) F)`` by FFT, ``F`` the rounded
        round durations from time 0. The window doubles until its last quarter
        holds less than 1e-13 (the aliased tail).
        """
        idx = start + np.flatnonzero(p_round > 0)
        up = (np.ceil(idx / self.restart - 1e-9) * self.restart).astype(np.int64)
        # the tail: about log(1e-14) / log(1 - a) rounds of the mean round's duration
        mass = float(np.sum(p_round))
        mean_round = float(np.dot(up, p_round[idx - start])) / mass if mass > 0 else 1.0
        rounds = math.log(1e-14) / math.log1p(-self.a) + 1.0
        need = max(2.0 * (int(up.max(initial=start)) + 1), rounds * mean_round)
        size = 1 << max(10, min(math.ceil(math.log2(need)), int(math.log2(_MAX_GRID))))
        while True:
            keep = up < size
            fail = np.bincount(up[keep], weights=p_round[idx[keep] - start], minlength=size)
            denom = 1.0 - (1.0 - self.a) * np.fft.rfft(fail)
            p_out = np.fft.irfft(self.a * np.fft.rfft(p_round, n=size) / denom, n=size)
            if float(np.sum(np.abs(p_out[size * 3 // 4:]))) < _TAIL or size >= _MAX_GRID:
                break
            size *= 2
        w_out = np.fft.irfft(self.a * np.fft.rfft(w_round, n=size) / denom, n=size)
        return np.clip(p_out, 0.0, None), w_out


def _grid_step(tau_s: float, constants_s: np.ndarray) -> tuple[int, bool]:
    """Grid points per attempt period ``K``, and whether every constant falls on the grid."""
    for k in range(1, 65):
        step = tau_s / k
        c = np.asarray(constants_s, dtype=float) / step
        if np.all(np.abs(c - np.round(c)) < 1e-6):
            return k, True
    # Unequal segments: delays split between attempt-grid points. Measured on 78 segments of
    # 35-50 km (nested, negotiated, classical, 10 lanes): rate 1.5e-4 and fidelity 1.2e-5
    # (relative) from a grid 16 times finer, for a 40th of the time.
    return 1, False


def _nested_law(chain: ChainSpec, p_link: np.ndarray, pump: list[float], w0: float,
                tau_s: float, herald_s: np.ndarray):
    """End-to-end delivery law on the grid, grid step [s], exactness flag, distinct sub-trees."""
    hw = chain.hardware
    n = chain.n_segments
    classical = chain.protocol.swap_messaging == "classical"
    structure = _nested_structure(n)
    lo, node, hi, left, right = structure
    pos_s = np.concatenate([[0.0], np.cumsum(chain.segment_lengths_km)]) * (
        _M_PER_KM / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S)
    zero = np.zeros(node.size)
    if classical and n > 1:
        here = pos_s[node]
        # the swap waits a round trip to its farther partner; each input pair's news flies
        # from the node that made it (an elementary link's herald reaches both ends at once)
        pairing_s = 2.0 * np.maximum(here - pos_s[lo], pos_s[hi] - here)
        to_left_s = np.where(left >= 0, here - pos_s[node[left]], 0.0)
        to_right_s = np.where(right >= 0, pos_s[node[right]] - here, 0.0)
        final_s = float(max(here[-1] - pos_s[0], pos_s[n] - here[-1]))
    else:
        pairing_s, to_left_s, to_right_s, final_s = zero, zero, zero, 0.0
    used = np.concatenate([pairing_s, to_left_s, to_right_s, [final_s]])
    used = np.unique(np.round(used[used > 0], 15))
    k, exact = _grid_step(tau_s, used) if classical else (1, True)
    step_s = tau_s / k

    def steps(value_s: np.ndarray) -> list[float]:
        """Grid steps of delays: whole when the grid is exact, else split between two."""
        s = np.asarray(value_s, dtype=float) / step_s
        return (np.round(s) if exact else s).tolist()

    to_left, to_right, pairing = steps(to_left_s), steps(to_right_s), steps(pairing_s)
    t2 = hw.coherence_time_s
    rate = 0.0 if math.isinf(t2) else 2.0 / t2
    floor = STORAGE_FLOOR[hw.decoherence]
    a = hw.swap_success_prob
    depth = max(1, math.ceil(math.log2(n))) if n > 1 else 0
    # first window: a few times a rough spread of the random part (max of n geometrics,
    # swap failures, pumping, and with failing swaps the classical waits each failed round
    # repeats); the tail check below doubles it until the lost mass is < 1e-13. Deterministic
    # delays otherwise only move the windows.
    chance = float(np.min(p_link)) * a ** depth  # underflows to 0 for a swap probability like 1e-300
    guess = (math.log(n) + 1.0) * (1.0 + 2 * len(pump)) / chance if chance > 0.0 else math.inf
    waits = (float(np.sum(pairing_s)) / max(1, n - 1) * depth + final_s * depth) / step_s
    need = 8.0 * (k * guess + (waits if a < 1.0 else 0.0)) + 64
    if not need <= _MAX_GRID:  # refuse before allocating a grid that cannot fit
        raise ChainBeyondEngine(
            "analytic", "repeater.memory", "this chain",
            f"its waiting-time distribution needs more than {_MAX_GRID} grid points "
            "(success probabilities too small); use the montecarlo engine")
    size = 1 << max(10, math.ceil(math.log2(need)))
    # Each distinct sub-tree keeps its law on the grid: count them before allocating any, so that
    # a chain of unequal links with one slow one (a long sea crossing) is refused, not swapped out.
    n_subchains = _distinct_subchains([(float(p_link[i]), round(float(herald_s[i]), 15)) for i in range(n)])
    while True:
        if not _grid_bytes(size, n_subchains) <= _MAX_GRID_BYTES:
            raise ChainBeyondEngine(
                "analytic", "repeater.memory", "this chain",
                f"its waiting-time distributions ({n_subchains} distinct sub-chains on {size:,} grid points) "
                f"need about {_grid_bytes(size, n_subchains) / 2**30:.3g} GiB, above "
                f"{_MAX_GRID_BYTES / 2**30:g} GiB (a slow link among faster ones); use the montecarlo engine")
        # one law per distinct link (success probability, herald delay)
        kinds, first, leaf_id = np.unique(np.stack([p_link, np.round(herald_s, 15)]), axis=1,
                                          return_index=True, return_inverse=True)
        distinct = []
        for i in first.tolist():
            if pump:
                att = pumped_attempts_pmf(float(p_link[i]), pump, size // k + 1)
                pl = np.zeros(size)
                idx = np.arange(att.size) * k
                pl[idx[idx < size]] = att[idx < size]
            else:
                pl = _geometric_pmf(float(p_link[i]), size, k)
            # at the herald the pair has stored h since emission: w0 g(h)
            w_h = w0 * (floor + (1.0 - floor) * math.exp(-rate * herald_s[i]))
            distinct.append(_Law(pl, pl * w0 * floor, pl * (w_h - w0 * floor)))
        leaf_id = leaf_id.ravel().tolist()
        leaves = [distinct[i] for i in leaf_id]
        tree = _NestedTree(leaves, leaf_id, structure, to_left, to_right, pairing, a,
                           hw.swap_fidelity, floor, rate * step_s, k, size, exact)
        law = tree.moved(tree.root(), steps(final_s))  # both ends know the pair
        # the tail: what the links' windows cut off (each at most its window's last quarter;
        # union bound over the links) and what the swaps trimmed (the repeated rounds' FFT
        # checks its own alias)
        tail = n * max(float(np.sum(lk.p[size * 3 // 4:])) for lk in distinct) + tree.dropped
        if tail < _TAIL:
            return law, step_s, exact, len(tree.memo) + len(distinct)
        if size >= _MAX_GRID:
            raise ChainBeyondEngine(
                "analytic", "repeater.memory", "this chain",
                f"its waiting-time distribution needs more than {_MAX_GRID} grid points "
                "(success probabilities too small); use the montecarlo engine")
        size *= 2


def nested_waiting_time_pmf(p, swap_success_prob: float = 1.0) -> np.ndarray:
    """Distribution of the attempts to the first end-to-end pair, nested order, instant messaging.

    Parameters
    ----------
    p : float or sequence of float
        Per-attempt success probability of each link. [-]
    swap_success_prob : float
        Swap success probability ``a``, in (0, 1]. [-]

    Returns
    -------
    pmf : ndarray
        ``pmf[t] = P(T = t)``, ``t`` in attempts; the grid's last quarter holds
        less than 1e-13 (a bound on the aliased tail).

    Notes
    -----
    Brand, Coopmans, Elkouss (2020), Sec. IV: ``T[L,R] = sum_{k=1..N}
    max(T[L,j], T[j,R])_k`` with ``N ~ geometric(a)``.
    """
    from qnetemu.engines.chain import RepeaterHardware, RepeaterProtocol

    ps = _check_probs(p)
    if not (0.0 < swap_success_prob <= 1.0):
        raise ValueError(f"swap_success_prob must lie in (0, 1], got {swap_success_prob!r}")
    # Only the swap order, ``swap_success_prob`` and perfect memories matter to the waiting
    # time in attempts (``ps`` are given); the other values are placeholders the law ignores.
    chain = ChainSpec(
        (1.0,) * ps.size,
        RepeaterHardware(memory_efficiency=1.0, coherence_time_s=math.inf, decoherence="depolarising",
                         memories_per_node=1, link_fidelity=1.0, attempt_rate_hz=1.0, detector_efficiency=1.0,
                         swap_success_prob=swap_success_prob, swap_fidelity=1.0, purification="none",
                         purification_rounds=0, cutoff_time_s=None),
        attenuation_db_per_km=0.0,
        protocol=RepeaterProtocol("nested", "continuous", "instant", "single"),
    )
    law, _, _, _ = _nested_law(chain, ps, [], 1.0, 1.0, np.zeros(ps.size))
    return _window(law.p, law.start, law.end)


def expected_waiting_nested(p, swap_success_prob: float = 1.0) -> float:
    """Mean attempts to the first end-to-end pair under the nested order."""
    pmf = nested_waiting_time_pmf(p, swap_success_prob)
    return float(np.dot(np.arange(pmf.size, dtype=float), pmf))


# --------------------------------------------------------------------------- swap-ASAP

# Bond states of the left-to-right sweep that builds one attempt's transition (see
# _asap_transitions): no open piece, an open piece guessed kept (its mark 0 or 1 in the
# marked chain), an open piece guessed lost in this attempt.
_OPEN_NONE, _OPEN_KEPT0, _OPEN_KEPT1, _OPEN_LOST = 0, 1, 2, 3


def _sweep_rules(c: int, same_run: bool, p_i: float, a: float, marked: bool):
    """Local rules of link ``i`` in the swap-ASAP sweep: ``[(bond_in, out, bond_out, weight)]``.

    ``c``: the link's state at the start of the attempt (0 free; 1 stored, in the marked
    chain 1 stored and marked "is lost", 2 stored and marked "survives"); ``same_run``:
    link ``i - 1`` is stored in the same run (no node between them swaps). ``out`` is the
    link's state after the attempt (in the marked chain the kept piece's mark + 1).
    """
    rules = []
    kept = (_OPEN_KEPT0, _OPEN_KEPT1) if marked else (_OPEN_KEPT0,)
    if same_run:  # the open piece goes on: same fate, same mark
        mark = c - 1 if marked else 0
        rules.append((kept[mark], (1 + mark) if marked else 1, kept[mark], 1.0))
        if mark == 0:  # a run marked "is lost" may only be part of a lost piece
            rules.append((_OPEN_LOST, 0, _OPEN_LOST, 1.0))
            rules.append((_OPEN_NONE, 0, _OPEN_NONE, 1.0))  # its piece was lost at a swap
        return rules
    if c == 0:  # a free link that fails closes the open piece, which must be kept
        for b in (_OPEN_NONE, *kept):
            rules.append((b, 0, _OPEN_NONE, 1.0 - p_i))
        present, marks, may_lose = p_i, range(len(kept)), True
    else:  # a stored run starts here
        present, marks, may_lose = 1.0, [c - 1 if marked else 0], (c == 1 or not marked)
    for mark in marks:
        out = (1 + mark) if marked else 1
        rules.append((_OPEN_NONE, out, kept[mark], present))  # a new piece, guessed kept
        rules.append((kept[mark], out, kept[mark], present * a))  # swapped onto the open piece
    if may_lose:
        rules.append((_OPEN_NONE, 0, _OPEN_LOST, present))  # a new piece, guessed lost
        rules.append((_OPEN_LOST, 0, _OPEN_LOST, present * a))  # swap succeeds, piece still lost
        rules.append((_OPEN_LOST, 0, _OPEN_NONE, present * (1.0 - a)))  # swap fails: both lost
    return [r for r in rules if r[3] > 0.0]


def _asap_transitions(p: np.ndarray, a: float, marked: bool):
    """One attempt of swap-ASAP as a sparse matrix over the chain's states.

    A state gives each link one digit (base ``3`` marked, ``2`` unmarked): free, or
    stored (and, marked, its run's mark). The matrix is built by a left-to-right sweep
    over the links, a finite-state transducer whose bond says whether a piece ends open
    at the current node and the fate guessed for it (kept, with its mark, or lost in
    this attempt); a guess contradicted later gets weight 0, so every history is counted
    once. Partial transitions of the prefix are aggregated after each link, so the
    work is about (transitions) x (bonds) x n, all in numpy.

    Returns ``(src, dst, prob)``: arrays of the nonzero entries, states as integer codes.
    """
    n = p.size
    base = 3 if marked else 2
    symbols = range(base)
    src = np.zeros(1, np.int64)
    dst = np.zeros(1, np.int64)
    bond = np.zeros(1, np.int64)
    prob = np.ones(1)
    for i in range(n):
        scale = base ** i
        prev = (src // (scale // base)) % base if i else np.zeros_like(src)
        parts = []
        for c in symbols:
            for prev_c in symbols:
                if marked and c and prev_c and c != prev_c:
                    continue  # adjacent stored links with different marks: one run, one mark
                rows = np.flatnonzero(prev == prev_c)
                if rows.size == 0:
                    continue
                for b_in, out, b_out, weight in _sweep_rules(c, bool(c and prev_c),
                                                             float(p[i]), a, marked):
                    sel = rows[bond[rows] == b_in]
                    if sel.size:
                        parts.append((src[sel] + c * scale, dst[sel] + out * scale,
                                      np.full(sel.size, b_out), prob[sel] * weight))
        src = np.concatenate([q[0] for q in parts])
        dst = np.concatenate([q[1] for q in parts])
        bond = np.concatenate([q[2] for q in parts])
        prob = np.concatenate([q[3] for q in parts])
        width = base ** (i + 1)
        key, inverse = np.unique((src * width + dst) * 4 + bond, return_inverse=True)
        prob = np.bincount(inverse, weights=prob)
        bond = key % 4
        src, dst = np.divmod(key // 4, width)
    keep = bond != _OPEN_LOST  # the last open piece ends the chain: it was kept
    return src[keep], dst[keep], prob[keep]


def _solve_absorbing(src, dst, prob, size: int, absorbing, rhs: np.ndarray) -> np.ndarray:
    """Solve ``x = M x + rhs`` with ``M`` the transitions out of the transient states.

    ``M`` is sparse and substochastic; rows of ``absorbing`` states are dropped (their
    ``x`` is their ``rhs``). GMRES with the diagonal (the self-loops, which dominate
    when links rarely succeed) as preconditioner, to 1e-13 relative residual; a direct
    solve if 400 iterations do not get there.
    """
    from scipy import sparse
    from scipy.sparse import linalg

    keep = ~np.isin(src, absorbing)
    m = sparse.csr_matrix((prob[keep], (src[keep], dst[keep])), shape=(size, size))
    mat = (sparse.identity(size, format="csr") - m).tocsr()
    diag = mat.diagonal()
    precond = linalg.LinearOperator(mat.shape, matvec=lambda v: v / diag, dtype=float)
    x, info = linalg.gmres(mat, rhs, M=precond, rtol=1e-13, atol=0.0, restart=100, maxiter=4)
    if info == 0 and np.linalg.norm(mat @ x - rhs) <= 1e-11 * np.linalg.norm(rhs):
        return x
    # slow mixing (links that rarely succeed, many failed swaps): solve directly; the
    # 4,096-state rate chain is 8 % full, where dense LU beats sparse LU's fill-in
    if size <= 4096:
        return np.linalg.solve(mat.toarray(), rhs)
    return linalg.spsolve(mat.tocsc(), rhs)


def _marked_runs(codes: np.ndarray, n: int) -> np.ndarray:
    """Number of runs marked "survives" (digit 2) in each base-3 state code."""
    digits = (codes[:, None] // 3 ** np.arange(n)) % 3
    starts = np.concatenate([digits[:, :1] != 0, (digits[:, 1:] != 0) & (digits[:, :-1] == 0)], axis=1)
    return np.sum(starts & (digits == 2), axis=1)


def swap_asap_markov(p, swap_success_prob: float, decay_per_attempt: float,
                     fidelity: bool = True) -> tuple[float, float]:
    """Swap-ASAP chain with instant swaps as an absorbing Markov chain, exact.

    Parameters
    ----------
    p : sequence of float
        Per-attempt success probability of each link; ``n <= MARKOV_EXACT_MAX`` links,
        and ``n <= MARKOV_FIDELITY_EXACT_MAX`` when ``fidelity`` is asked. [-]
    swap_success_prob : float
        Swap success probability ``a``. [-]
    decay_per_attempt : float
        ``2 tau / T2``: decay exponent of a stored pair's Werner parameter per
        attempt period (depolarising memories). [-]
    fidelity : bool
        Also compute the storage factor (costlier: each stored run carries a mark).

    Returns
    -------
    attempts : float
        Mean attempts to the first end-to-end pair. [-]
    storage_factor : float
        ``E[exp(-decay S)]``, ``S`` the total storage (pair-attempts) of the
        pairs that end up in the delivered pair; NaN when not asked. [-]

    Notes
    -----
    State: the set of covered links after swap-ASAP's instant swaps (a run of
    covered links is one stored pair), absorbing when all are covered. Per
    attempt each free link succeeds independently; the newly ready links and
    the stored runs are swapped left to right, as the Monte Carlo engine does,
    each swap failing with ``1 - a`` and losing both pairs it acted on. The
    transition matrix is built by a sweep over the links
    (:func:`_asap_transitions`, ``2**n`` states); the mean absorption time
    solves ``(I - Q) t = 1`` (Kemeny & Snell, *Finite Markov Chains*, 1960,
    Thm 3.3.5) by preconditioned GMRES. For the storage factor each stored run
    is marked "survives" or "is lost" (a guess that the future contradicts gets
    weight 0, so exactly one marking counts per history and only the
    survivors' storage is discounted): ``V = D Q V`` on the marked states
    (strings over free / lost / survives, about ``2.4**n``), ``V(all covered,
    survives) = 1``. For two links the mean is ``(3 - 2p) / (a p (2 - p))``.

    Cost, measured on the shared 2-core machine (p = 0.05, a = 0.5, one call):
    rate 0.04 s at 8 links, 0.18 s at 10, 1.3 s at 12 (4,096 states, 1.4
    million transitions); rate and fidelity 0.21 s at 8, 1.0 s at 10 (8,100
    marked states, 0.8 million transitions); 11 links would take 3 million
    transitions and 10-30 s, 12 links 11 million, 1.8 GB and about a minute,
    hence :data:`MARKOV_FIDELITY_EXACT_MAX`.
    """
    ps = _check_probs(p)
    n = ps.size
    limit = MARKOV_FIDELITY_EXACT_MAX if fidelity else MARKOV_EXACT_MAX
    if n > limit:
        raise ValueError(f"the exact Markov chain is limited to {limit} links"
                         f"{' with fidelity' if fidelity else ''}, got {n}")
    a = float(swap_success_prob)
    if not (0.0 < a <= 1.0):
        raise ValueError(f"swap_success_prob must lie in (0, 1], got {swap_success_prob!r}")
    size = 1 << n
    src, dst, prob = _asap_transitions(ps, a, marked=False)
    rhs = np.ones(size)
    rhs[size - 1] = 0.0
    attempts = float(_solve_absorbing(src, dst, prob, size, [size - 1], rhs)[0])
    if not fidelity:
        return attempts, float("nan")
    src, dst, prob = _asap_transitions(ps, a, marked=True)
    codes, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
    si, di = inverse[: src.size], inverse[src.size:]
    ones = int(sum(3 ** i for i in range(n)))
    lost, survives = np.searchsorted(codes, [ones, 2 * ones])
    disc = np.exp(-decay_per_attempt * _marked_runs(codes, n))
    rhs = np.zeros(codes.size)
    rhs[survives] = 1.0
    v = _solve_absorbing(si, di, prob * disc[si], codes.size, [lost, survives], rhs)
    return attempts, float(v[np.searchsorted(codes, 0)])


def _extrapolate_increments(values: np.ndarray, first_n: int, target_n: int) -> float:
    """Continue ``values[i]`` (chain of ``first_n + i`` links) to ``target_n`` links.

    The increments ``d_k = values[k] - values[k-1]`` are taken as ``alpha + beta / k +
    gamma / k**2`` (the expansion of ``log E[T_k]`` for ``E[T_k] ~ C r**k k**beta``, and
    of a storage exponent growing about linearly in ``k``), fitted exactly on the last
    three increments, and summed from the last value to ``target_n``.
    """
    ks = first_n + np.arange(values.size, dtype=float)
    basis = np.stack([np.ones(3), 1.0 / ks[-3:], 1.0 / ks[-3:] ** 2], axis=1)
    alpha, beta, gamma = np.linalg.solve(basis, np.diff(values)[-3:])
    k = np.arange(ks[-1] + 1.0, target_n + 1.0)
    return float(values[-1] + np.sum(alpha + beta / k + gamma / k**2))


@functools.lru_cache(maxsize=64)
def _homogeneous_pipelined(p: float, a: float, decay: float, n: int, fidelity: bool):
    """The exact pipelined chain of ``n`` equal links, remembered."""
    return swap_asap_pipelined([p] * n, a, decay, fidelity=fidelity)


def swap_asap_pipelined_extrapolated(p, swap_success_prob: float, decay_per_attempt: float,
                                     fidelity: bool = True) -> tuple[float, float, float]:
    """Pipelined swap-ASAP beyond the exact chain: its trend continued (approximate).

    Parameters
    ----------
    p : sequence of float
        Per-attempt success probability of each link. [-]
    swap_success_prob : float
        Swap success probability ``a``. [-]
    decay_per_attempt : float
        ``2 tau / T2`` (depolarising memories). [-]
    fidelity : bool
        Also estimate the storage factor.

    Returns
    -------
    periods, first_periods, storage_factor : float
        Mean attempt periods per delivered pair in the steady state, mean periods to the
        first pair, and the mean storage factor of delivered pairs (NaN when not asked),
        as :func:`~qnetemu.engines.swap_asap_pipelined.swap_asap_pipelined` gives them;
        approximate. [-]

    Notes
    -----
    Named approximation (:data:`PIPELINED_APPROXIMATION`), the device of
    :func:`swap_asap_extrapolated` applied to the exact pipelined chain: it is solved for
    equal links of the harmonic-mean success probability at the five largest sizes it
    solves (``PIPELINED_EXACT_MAX - 4`` to ``PIPELINED_EXACT_MAX``), and ``log`` of the
    periods per pair, of the periods to the first pair and ``-log`` of the storage factor
    are continued to ``n`` links by :func:`_extrapolate_increments` on the last four.
    With certain swaps the first pair's wait stays exact (``E[max_i T_i]``: links
    restarted early never hold up the pair being built), and the storage factor's
    increments, which alternate with the chain's parity, are fitted as ``alpha + beta
    log k`` by least squares over the last four (the storage of the last links grows as
    ``E[max]``, about ``log k``). Measured error: :data:`PIPELINED_APPROXIMATION_ERROR`.
    Not a bound.
    """
    ps = _check_probs(p)
    n = ps.size
    a = float(swap_success_prob)
    p_eff = float(n / np.sum(1.0 / ps))
    sizes = range(PIPELINED_EXACT_MAX - 4, PIPELINED_EXACT_MAX + 1)
    chains = [_homogeneous_pipelined(p_eff, a, float(decay_per_attempt), k, fidelity) for k in sizes]

    def continued(values: list[float]) -> float:
        return math.exp(_extrapolate_increments(np.log(values[1:]), sizes[1], n))

    periods = continued([1.0 / c.deliveries_per_period for c in chains])
    first = expected_max_geometric(ps) if a >= 1.0 else continued([c.first_delivery_periods for c in chains])
    if not fidelity:
        return periods, first, float("nan")
    log_factor = -np.log([c.storage_factor for c in chains])
    if a < 1.0:
        return periods, first, math.exp(-_extrapolate_increments(log_factor[1:], sizes[1], n))
    # Certain swaps: the increments alternate with the parity of the chain (by 2e-3 of
    # 0.033 at 8-9 links), which an exact three-point fit amplifies; the storage of the
    # last links grows as E[max] does, about log k, so fit alpha + beta log k to the last
    # four increments by least squares.
    ks = np.asarray(sizes[1:], dtype=float)
    coef, *_ = np.linalg.lstsq(np.stack([np.ones(4), np.log(ks)], axis=1), np.diff(log_factor), rcond=None)
    k = np.arange(ks[-1] + 1.0, n + 1.0)
    return periods, first, math.exp(-(log_factor[-1] + np.sum(coef[0] + coef[1] * np.log(k))))


# --------------------------------------------------------------------------- engine


class AnalyticChainEngine:
    """Exact-distribution engine (see the module docstring)."""

    name = "analytic"

    def check_protocol(self, chain: ChainSpec) -> None:
        """Refuse what is neither computed exactly nor by a named approximation, naming the field."""
        hw, proto, n = chain.hardware, chain.protocol, chain.n_segments

        def refuse(field, value, why):
            raise ProtocolNotSupported(self.name, field, value, why)

        if hw.cutoff_time_s is not None:
            refuse("repeater.cutoff_time_s", hw.cutoff_time_s,
                   "cutoffs make waiting times history-dependent; use montecarlo")
        if proto.multiplexing == "shared_pool" and hw.memories_per_node > 1:
            refuse("repeater.protocol.multiplexing", "shared_pool",
                   "swaps across memory lanes have no closed form here; use sequence")
        if proto.swap_order == "swap_asap" and n > 2:
            if proto.swap_messaging == "classical":
                refuse("repeater.protocol.swap_messaging", "classical",
                       "swap-ASAP with classical messaging beyond two segments is not solved "
                       "analytically; use montecarlo or swap_order nested")
            if hw.decoherence == "dephasing" and math.isfinite(hw.coherence_time_s):
                refuse("repeater.memory.decoherence", "dephasing",
                       "swap-ASAP fidelity under dephasing depends on each pair's age; use montecarlo")
            if hw.swap_fidelity < 1:
                refuse("repeater.swap_fidelity", hw.swap_fidelity,
                       "swap-ASAP fidelity with noisy swaps is not solved; use montecarlo")
            if hw.purification != "none" and hw.purification_rounds > 0:
                refuse("repeater.purification", hw.purification,
                       "pumped links are not memoryless, so the swap-ASAP Markov chain does not "
                       "apply; use montecarlo or swap_order nested")

    def simulate(
        self, chain: ChainSpec, *, seed: int = 0, max_pairs: int = 0, max_time_s: float = 0.0
    ) -> ChainResult:
        """Expected rate and mean fidelity of ``chain`` (nothing sampled: errors are 0).

        ``seed``, ``max_pairs`` and ``max_time_s`` are accepted for the engine
        protocol and unused.
        """
        t0 = time.perf_counter()
        validate_chain(chain)  # first: bad values are ValueErrors
        self.check_protocol(chain)
        hw, proto = chain.hardware, chain.protocol
        n = chain.n_segments
        m = hw.memories_per_node
        fids, pump = pumping_schedule(hw.link_fidelity, hw.purification_rounds, hw.purification)
        w0 = (4.0 * fids[-1] - 1.0) / 3.0
        # the arrays of elementary_link.elementary_links, without a dataclass per link
        lengths = np.asarray(chain.segment_lengths_km, dtype=float)
        p_raw = np.broadcast_to(two_photon_success_prob(
            lengths, chain.attenuation_db_per_km, hw.memory_efficiency, hw.detector_efficiency),
            lengths.shape)
        p_link = -np.expm1(m * np.log1p(-p_raw)) if proto.multiplexing == "single" else p_raw
        lanes = 1 if proto.multiplexing == "single" else m
        tau = float(np.max(attempt_period_s(lengths, hw.attempt_rate_hz, proto.link_generation)))
        herald = lengths * _M_PER_KM / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S  # emission to herald
        t2 = hw.coherence_time_s
        rate = 0.0 if math.isinf(t2) else 2.0 / t2
        notes = []
        extra = {"attempt_period_s": tau, "link_success_prob": p_link.tolist(),
                 "protocol": proto.label(), "lanes": lanes}
        phased = proto.link_generation == "continuous" and np.ptp(herald) > 1e-9 * tau
        # Swap-ASAP, instant messages, depolarising memories and perfect gates, no pumping: the
        # pipelined chain, which also follows the clock phases of unequal continuous links
        # (from two segments; it is the renewal cycle up to three, where nothing pipelines).
        asap_chain = (proto.swap_order == "swap_asap" and proto.swap_messaging == "instant"
                      and (pipelining_changes_results(proto, n) or (phased and n >= 2))
                      and (hw.decoherence == "depolarising" or rate == 0) and hw.swap_fidelity == 1
                      and not pump)
        if phased and rate > 0 and not (asap_chain and n <= PIPELINED_EXACT_MAX):
            notes.append(CLOCK_PHASE_APPROXIMATION)
        if (proto.link_generation == "continuous" and proto.swap_messaging == "classical" and n >= 2
                and np.any(np.abs(herald - tau) > 1e-9 * tau)):
            notes.append(CLOCK_RESTART_APPROXIMATION)
        if (proto.swap_order == "nested" or n <= 2) and not asap_chain:
            law, step_s, exact, distinct = _nested_law(chain, p_link, pump, w0, tau, herald)
            t_grid = (law.start + np.arange(law.p.size)) * step_s
            mass = float(law.p.sum())
            mean_t = float(np.dot(t_grid, law.p)) / mass
            mean_w = float(np.sum(law.a + law.b)) / mass
            # first delivery among the lanes: E[min] = sum of the survival^lanes (1 before
            # the window)
            if lanes > 1:
                surv = np.clip(1.0 - np.cumsum(law.p) / mass, 0.0, 1.0)
                latency = float((law.start + np.sum(surv ** lanes)) * step_s)
            else:
                latency = mean_t
            extra.update(grid_step_s=step_s, distinct_subtrees=distinct)
            if not exact:
                notes.append("classical delays split between attempt-grid points (measured: "
                             "1.5e-4 relative in rate against a 16x finer grid)")
            if pipelining_changes_results(proto, n):
                notes.append(RENEWAL_APPROXIMATION if proto.swap_messaging == "classical"
                             else INSTANT_RENEWAL_APPROXIMATION)
            extra["pipelined"] = False
        elif asap_chain:
            # swap-ASAP, instant messages: links restart once their memories are free
            want_fidelity = rate > 0
            a = hw.swap_success_prob
            herald_factor = float(np.prod(np.exp(-rate * herald)))
            if n <= PIPELINED_EXACT_MAX:
                # continuous attempts: each link heralds its L/c after its source's clock tick,
                # and the chain charges every ancestor's storage from emission itself
                phases = tuple((herald / tau).tolist()) if proto.link_generation == "continuous" else None
                res = _pipelined(tuple(p_link.tolist()), a, rate * tau, want_fidelity, phases)
                periods, first, factor = 1.0 / res.deliveries_per_period, res.first_delivery_periods, \
                    res.storage_factor
                if phases is not None:
                    herald_factor = 1.0
                extra.update(pipelined_states=res.states, pipelined_marked_states=res.marked_states)
            else:
                periods, first, factor = swap_asap_pipelined_extrapolated(p_link, a, rate * tau,
                                                                          fidelity=want_fidelity)
                unequal = ("; unequal links taken as equal ones of the harmonic-mean success probability "
                           "(12 links alternating 15 and 25 km, swap probability 0.7: rate +1.7 %, "
                           "fidelity +8.5e-3, 26 standard errors)" if np.ptp(p_link) > 0 else "")
                notes.append(f"{PIPELINED_APPROXIMATION} ({n} segments beyond the exact pipelined chain's "
                             f"limit of {PIPELINED_EXACT_MAX}; measured error: "
                             f"{PIPELINED_APPROXIMATION_ERROR}{unequal})")
            mean_t = periods * tau
            latency = first * tau
            if lanes > 1:
                notes.append("latency: mean of one lane (the minimum over lanes is not computed)")
            factor = factor if want_fidelity else 1.0
            mean_w = w0 ** n * herald_factor * factor
            extra["pipelined"] = pipelining_changes_results(proto, n)
        else:  # swap-ASAP on three segments, instant messages: nothing to pipeline, the renewal chain
            a = hw.swap_success_prob
            want_fidelity = rate > 0
            extra["pipelined"] = False
            if a >= 1.0:
                attempts = expected_max_geometric(p_link)
                factor = _swap_asap_storage_deterministic(p_link, rate * tau) if want_fidelity else 1.0
            else:
                attempts, factor = swap_asap_markov(p_link, a, rate * tau, fidelity=want_fidelity)
                factor = factor if want_fidelity else 1.0
            mean_t = attempts * tau
            latency = mean_t
            if lanes > 1:
                notes.append("latency: mean of one lane (the minimum over lanes is not computed)")
            mean_w = w0 ** n * float(np.prod(np.exp(-rate * herald))) * factor
        mean_f = (1.0 + 3.0 * mean_w) / 4.0
        extra["expected_time_s"] = mean_t
        extra["approximation"] = "; ".join(notes) if notes else "none (exact)"
        extra["exact"] = not notes
        return ChainResult(
            engine=self.name,
            pairs=0,
            simulated_time_s=0.0,
            pair_rate_hz=lanes / mean_t,
            pair_rate_stderr_hz=0.0,
            mean_fidelity=float(mean_f),
            fidelity_stderr=0.0,
            latency_s=latency,
            wall_s=time.perf_counter() - t0,
            extra=extra,
        )


@functools.lru_cache(maxsize=64)
def _pipelined(p: tuple[float, ...], a: float, decay: float, fidelity: bool, phases):
    """The exact pipelined chain, remembered: sweeps and demand tables ask for the same few."""
    return swap_asap_pipelined(np.asarray(p), a, decay, fidelity=fidelity, phases=phases)


def _swap_asap_storage_deterministic(p: np.ndarray, decay_per_attempt: float) -> float:
    """``E[exp(-decay S)]`` for swap-ASAP with deterministic swaps, exact.

    Absorbing Markov chain over covered links (``n <= 12``): links succeed
    independently, so the transition matrix is the Kronecker product of
    ``[[1 - p_i, p_i], [0, 1]]``; each step from state ``s`` is discounted
    by ``exp(-decay runs(s))`` (every stored pair depolarises; with
    deterministic swaps every stored pair ends in the delivered one). The
    system is triangular (covered sets only grow).
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve_triangular

    n = p.size
    mat = sparse.csr_matrix(np.ones((1, 1)))
    for i in reversed(range(n)):  # bit i of the state = link i
        mat = sparse.kron(mat, sparse.csr_matrix([[1.0 - p[i], p[i]], [0.0, 1.0]]), format="csr")
    size = 1 << n
    bits = (np.arange(size)[:, None] >> np.arange(n)) & 1
    runs = np.sum(bits[:, :1], axis=1) + np.sum((bits[:, 1:] == 1) & (bits[:, :-1] == 0), axis=1)
    disc = np.exp(-decay_per_attempt * runs)
    full = size - 1
    # V = D M V on transient states, V(full) = 1; states ordered so that M is upper triangular
    a_mat = sparse.identity(size - 1, format="csr") - sparse.diags(disc[:-1]) @ mat[:-1, :-1]
    rhs = disc[:-1] * mat[:-1, full].toarray().ravel()
    v = spsolve_triangular(a_mat.tocsr(), rhs, lower=False)
    return float(v[0])
