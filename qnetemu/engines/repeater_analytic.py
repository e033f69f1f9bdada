"""Analytic repeater-chain engine: exact mean waiting times, approximate fidelity.

Model (time in attempts of one common period ``tau``, the largest attempt
period of the chain's links; the waiting time in seconds is attempts * tau):

* each elementary link succeeds per attempt with probability ``p_i``; with
  ``m = memories_per_node`` parallel attempts per link the link succeeds
  with ``1 - (1 - p_i)**m`` (multiplexing for one pair, surplus discarded);
* swaps take no time; classical communication of swap outcomes is ignored;
* a failed swap (probability ``1 - a``) destroys both pairs it acted on.

Waiting times (first end-to-end pair, from all memories empty):

* swap-ASAP, deterministic swaps: ``T = max_i T_i`` of independent
  geometric variables. Homogeneous chains use
  ``E[T_n] = sum_{k=1..n} C(n,k) (-1)^{k+1} / (1 - (1-p)^k)`` (exact; for
  ``n > 20`` the equivalent survival sum ``sum_t 1 - (1 - q^t)^n`` avoids the
  cancellation of the alternating sum); heterogeneous chains use the survival
  sum ``sum_t 1 - prod_i (1 - q_i^t)`` (exact up to a 1e-15 tail).
* nested (SeQUeNCe's order, the doubling scheme for ``2**k`` segments), any
  ``a``: the waiting time of a pair spanning ``[L, R]`` swapped at node ``j``
  is a geometric(``a``) sum of ``max(T[L, j], T[j, R])``; its distribution
  is computed exactly (up to a truncation of the tail below 1e-13) through
  probability generating functions on an FFT grid, as in Brand, Coopmans,
  Elkouss, IEEE JSAC 38, 589 (2020), doi:10.1109/JSAC.2020.2969005. For two
  segments this is Shchukin, Schmidt, van Loock, PRA 100, 032322 (2019),
  doi:10.1103/PhysRevA.100.032322: ``E[T_2] = (3 - 2p) / (a p (2 - p))``.
* swap-ASAP with probabilistic swaps and more than two segments has no
  exact result here; the engine uses the upper-bound approximation
  ``E[max_n] / a**(n-1)`` (every failure restarts the whole chain) and says
  so in ``extra["approximation"]``.

Fidelity: Werner pairs of fidelity ``F0`` (after link pumping); ``n - 1``
swaps multiply the Werner parameters (times ``swap_fidelity`` on the fidelity
per swap); storage multiplies the end-to-end Werner parameter by
:func:`nested_storage_factor`, the product over swap nodes of
``E[exp(-|X_j - Y_j| tau / T2)]`` (the earlier of the two sub-pairs waits for
the later one). Exact for two segments (any ``a``); for more segments an
approximation, reported in ``extra["approximation"]``. Swap-ASAP chains of
more than two segments use ``exp(-E[S] tau / T2)`` with the mean total
storage ``E[S]`` of :func:`swap_asap_mean_storage` (a Jensen lower bound).

Link purification (pumping) enters as a link of fidelity ``F_r`` whose
attempts succeed with ``1 / E[attempts]`` (a geometric approximation of the
pumping time; see :func:`~qnetemu.engines.elementary_link.pumping_expected_attempts`).
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.special import comb

from qnetemu.engines.chain import ChainResult, ChainSpec
from qnetemu.engines.elementary_link import (
    elementary_links,
    nested_swap_partners,
    pumping_expected_attempts,
    pumping_schedule,
)

__all__ = [
    "AnalyticChainEngine",
    "expected_max_geometric",
    "expected_waiting_two_segments",
    "nested_waiting_time_pmf",
    "expected_waiting_nested",
    "nested_storage_factor",
    "swap_asap_mean_storage",
]

_TAIL = 1e-13
_MAX_GRID = 1 << 23


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
        # 1 - (1-p)^k = -expm1(k log1p(-p)), accurate for small p
        denom = -np.expm1(k * np.log1p(-ps[0])) if ps[0] < 1 else np.ones(n)
        return float(np.sum(comb(n, k) * (-1.0) ** (k + 1) / denom))
    if np.all(ps == 1.0):
        return 1.0
    log_q = np.log1p(-np.minimum(ps, 1.0 - 1e-300))
    t_max = int(math.ceil(math.log(1e-17 / n) / np.max(log_q))) + 1
    total = 0.0
    chunk = 1 << 20
    for start in range(0, t_max, chunk):
        t = np.arange(start, min(start + chunk, t_max), dtype=float)
        # log prod_i (1 - q_i^t), with q^0 = 1 giving -inf (survival 1 at t=0)
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


def _geometric_pmf(p: float, size: int) -> np.ndarray:
    t = np.arange(size, dtype=float)
    pmf = p * np.exp((t - 1.0) * np.log1p(-p)) if p < 1 else (t == 1).astype(float)
    pmf[0] = 0.0
    return pmf


def _tree_pmf(lo: int, hi: int, ps, a: float, split: dict, size: int, memo: dict) -> np.ndarray:
    """Pmf (on 0..size-1 attempts) of the time to a pair spanning nodes lo..hi."""
    # Identical sub-chains (same link probabilities and swap tree) share one result.
    key = (
        tuple(ps[lo:hi]),
        tuple(
            sorted((x - lo, y - lo, j - lo) for (x, y), j in split.items() if lo <= x and y <= hi)
        ),
    )
    if key in memo:
        return memo[key]
    if hi - lo == 1:
        memo[key] = _geometric_pmf(float(ps[lo]), size)
        return memo[key]
    j = split[(lo, hi)]
    cdf = np.cumsum(_tree_pmf(lo, j, ps, a, split, size, memo)) * np.cumsum(
        _tree_pmf(j, hi, ps, a, split, size, memo)
    )
    pmf_max = np.diff(cdf, prepend=0.0)
    if a >= 1.0:
        memo[key] = pmf_max
        return pmf_max
    # Compound geometric(a) sum: PGF  a Z(x) / (1 - (1 - a) Z(x)).
    z = np.fft.rfft(pmf_max)
    out = np.fft.irfft(a * z / (1.0 - (1.0 - a) * z), n=size)
    memo[key] = np.clip(out, 0.0, None)
    return memo[key]


def nested_waiting_time_pmf(p, swap_success_prob: float = 1.0) -> np.ndarray:
    """Distribution of the attempts to the first end-to-end pair, nested order.

    Parameters
    ----------
    p : float or sequence of float
        Per-attempt success probability of each link (one entry per segment, or
        a scalar for a single segment). [-]
    swap_success_prob : float
        Swap success probability ``a``, in (0, 1]. [-]

    Returns
    -------
    pmf : ndarray
        ``pmf[t] = P(T = t)`` for ``t = 0 .. len - 1`` attempts; the truncated
        last quarter of the grid holds less than 1e-13 of the probability (a bound on the aliased tail).

    Notes
    -----
    Swap order of :func:`~qnetemu.engines.elementary_link.nested_swap_partners`;
    recursion of Brand, Coopmans, Elkouss (2020), Sec. IV: ``T[L,R] =
    sum_{k=1..N} max(T[L,j], T[j,R])_k`` with ``N ~ geometric(a)``.
    """
    return _converged_tree(p, swap_success_prob)[0]


def _converged_tree(p, swap_success_prob: float):
    """(end-to-end pmf, grid size, split map, memo of sub-chain pmfs) on a grid
    large enough that the aliased tail is below 1e-13."""
    ps = _check_probs(p)
    if not (0.0 < swap_success_prob <= 1.0):
        raise ValueError(f"swap_success_prob must lie in (0, 1], got {swap_success_prob!r}")
    n = ps.size
    split = {}
    for j, (lo, hi) in enumerate(nested_swap_partners(n)):
        if lo >= 0:
            split[(lo, hi)] = j
    # First guess of the grid: a few times the crude mean (1.5^depth / (p a^depth)).
    depth = max(1, math.ceil(math.log2(n))) if n > 1 else 0
    guess = (1.5**depth) / (float(np.min(ps)) * swap_success_prob**depth)
    size = 1 << max(10, math.ceil(math.log2(40.0 * guess + 16)))
    while True:
        memo: dict = {}
        pmf = _tree_pmf(0, n, ps, swap_success_prob, split, size, memo)
        # Mass in the last quarter of the grid bounds what wrapped around.
        tail_mass = float(np.sum(pmf[size * 3 // 4 :]))
        if tail_mass < _TAIL:
            return pmf, size, split, memo
        if size >= _MAX_GRID:
            raise ValueError(
                f"waiting-time distribution needs more than {_MAX_GRID} attempts of grid "
                "(success probabilities too small); use the Monte Carlo engine"
            )
        size *= 2


def nested_storage_factor(p, swap_success_prob: float, decay_per_attempt: float) -> float:
    """Product over swap nodes of ``E[exp(-kappa |X_j - Y_j|)]``, nested order.

    Parameters
    ----------
    p : sequence of float
        Per-attempt link success probabilities. [-]
    swap_success_prob : float
        Swap success probability ``a``. [-]
    decay_per_attempt : float
        ``kappa = tau / T2``: Werner-parameter decay rate per attempt period. [-]

    Returns
    -------
    factor : float
        Mean factor on the end-to-end Werner parameter from storage. [-]

    Notes
    -----
    At node ``j`` the sub-pairs ``[L, j]`` and ``[j, R]`` of the successful
    round are ready after ``X_j`` and ``Y_j`` attempts (independent, with the
    sub-chain distributions of :func:`nested_waiting_time_pmf`); the earlier
    one depolarises for ``|X_j - Y_j|`` (Werner storage, Brand et al. 2020,
    Eq. 4). Exact for two segments; for more it neglects the correlation
    between a sub-chain's internal waits and its completion time.
    """
    from scipy.signal import fftconvolve

    ps = _check_probs(p)
    n = ps.size
    if n == 1 or decay_per_attempt == 0.0:
        return 1.0
    _, size, split, memo = _converged_tree(ps, swap_success_prob)
    lag = np.abs(np.arange(-(size - 1), size, dtype=float))
    weight = np.exp(-decay_per_attempt * lag)
    factor = 1.0
    for (lo, hi), j in split.items():
        pl = _tree_pmf(lo, j, ps, swap_success_prob, split, size, memo)
        pr = _tree_pmf(j, hi, ps, swap_success_prob, split, size, memo)
        diff = np.clip(fftconvolve(pl, pr[::-1]), 0.0, None)  # pmf of X - Y
        factor *= float(np.dot(diff, weight))
    return factor


def expected_waiting_nested(p, swap_success_prob: float = 1.0) -> float:
    """Mean attempts to the first end-to-end pair under the nested order."""
    pmf = nested_waiting_time_pmf(p, swap_success_prob)
    return float(np.dot(np.arange(pmf.size, dtype=float), pmf))


def swap_asap_mean_storage(p) -> float:
    """Mean total pair-storage time of a swap-ASAP chain with deterministic swaps.

    Parameters
    ----------
    p : sequence of float
        Per-attempt link success probabilities. [-]

    Returns
    -------
    storage : float
        ``E[S] = sum_{t>=1} (E[runs(t)] - P(all links ready at t))``, in attempt
        periods: after attempt ``t`` each link is ready with ``F_i = 1 - q_i^t``
        independently, the stored pairs are the maximal runs of ready links
        (swap-ASAP joins neighbours at once), ``E[runs] = F_1 + sum_i F_i (1 -
        F_{i-1})``, and storage stops when all are ready. [-]

    Notes
    -----
    Werner storage (Brand et al. 2020, Eq. 4): every stored pair depolarises at
    the same rate, so the end-to-end Werner parameter is multiplied by
    ``exp(-S tau / T2)``; the engine uses ``exp(-E[S] tau / T2)``, a lower
    bound on the mean factor by Jensen's inequality.
    """
    ps = _check_probs(p)
    log_q = np.log1p(-np.minimum(ps, 1.0 - 1e-300))
    t_max = int(math.ceil(math.log(1e-18) / np.max(log_q))) + 2
    total = 0.0
    chunk = 1 << 16
    for start in range(1, t_max, chunk):
        t = np.arange(start, min(start + chunk, t_max), dtype=float)[:, None]
        f = -np.expm1(t * log_q[None, :])
        runs = f[:, 0] + np.sum(f[:, 1:] * (1.0 - f[:, :-1]), axis=1)
        total += float(np.sum(runs - np.prod(f, axis=1)))
    return total


class AnalyticChainEngine:
    """Closed-form / exact-distribution engine (see the module docstring)."""

    name = "analytic"

    def simulate(
        self, chain: ChainSpec, *, seed: int = 0, max_pairs: int = 0, max_time_s: float = 0.0
    ) -> ChainResult:
        """Expected rate and approximate fidelity of ``chain``.

        ``seed``, ``max_pairs`` and ``max_time_s`` are accepted for the engine
        protocol and unused: nothing is sampled, so ``pairs = 0`` and the
        standard errors are 0.
        """
        t0 = time.perf_counter()
        links = elementary_links(chain, "textbook")
        hw = chain.hardware
        n = len(links)
        m = hw.memories_per_node
        fids, probs = pumping_schedule(hw.link_fidelity, hw.purification_rounds, hw.purification)
        f0 = fids[-1]
        p_raw = np.array([lk.success_prob for lk in links])
        p_mux = -np.expm1(m * np.log1p(-p_raw))
        if probs:
            p_link = np.array([1.0 / pumping_expected_attempts(p, probs) for p in p_mux])
        else:
            p_link = p_mux
        tau = max(lk.attempt_period_s for lk in links)
        a = hw.swap_success_prob
        notes = []
        if probs:
            notes.append("pumped link treated as geometric with the mean pumping time")
        if len({lk.attempt_period_s for lk in links}) > 1:
            notes.append("all links attempt on the longest link's period")
        if n == 1:
            attempts = 1.0 / float(p_link[0])
        elif a >= 1.0 and chain.scheme == "swap_asap":
            attempts = expected_max_geometric(p_link)
        elif chain.scheme == "nested" or n == 2:
            attempts = expected_waiting_nested(p_link, a)
        else:
            all_swaps = a ** (n - 1)  # underflows to 0 for a swap probability like 1e-300: no pair, ever
            attempts = expected_max_geometric(p_link) / all_swaps if all_swaps > 0.0 else math.inf
            notes.append(
                "swap-ASAP with probabilistic swaps: every failure restarts the chain (upper bound)"
            )
        wait_s = attempts * tau

        # Fidelity: Werner parameters multiply along the chain.
        f = f0
        for _ in range(n - 1):
            f = hw.swap_fidelity * ((1.0 + 3.0 * ((4 * f - 1) / 3) * ((4 * f0 - 1) / 3)) / 4.0)
        w = (4.0 * f - 1.0) / 3.0
        t2 = hw.coherence_time_s
        if math.isinf(t2):
            storage = 1.0
        elif chain.scheme == "swap_asap" and n > 2:
            storage = math.exp(-swap_asap_mean_storage(p_link) * tau / t2)
            notes.append("fidelity: Werner, exp(-mean storage / T2) (Jensen lower bound)")
            if a < 1.0:
                notes.append("storage of the successful round only")
        else:
            storage = nested_storage_factor(p_link, a, tau / t2)
            if n > 2 or probs:
                notes.append("fidelity: Werner, independent waits at each swap of the nested tree")
        if hw.cutoff_time_s is not None:
            notes.append("cutoff_time_s ignored by the analytic engine")
        mean_f = (1.0 + 3.0 * w * storage) / 4.0
        extra = {
            "attempt_period_s": tau,
            "link_success_prob": p_link.tolist(),
            "expected_attempts": attempts,
            "approximation": "; ".join(notes) if notes else "none (exact)",
        }
        return ChainResult(
            engine=self.name,
            pairs=0,
            simulated_time_s=0.0,
            pair_rate_hz=1.0 / wait_s,
            pair_rate_stderr_hz=0.0,
            mean_fidelity=float(mean_f),
            fidelity_stderr=0.0,
            latency_s=wait_s,
            wall_s=time.perf_counter() - t0,
            extra=extra,
        )
