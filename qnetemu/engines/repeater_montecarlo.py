"""Monte Carlo repeater-chain engine, vectorised over independent deliveries.

Where every link restarts at the delivery (no link's two memories are free
before the pair they served is delivered: with instant swap messages
swap-ASAP up to three segments and nested up to four, with classical
messages up to two segments) and, for continuous attempts, each delivery
falls at the same phase of the sources' clock, each *trial* is one delivery
cycle: all memories start empty at time 0 and the trial ends when an
end-to-end pair is delivered. Trials are independent (a renewal process), so
the pair rate is ``lanes / mean(T)`` with a delta-method standard error, and
the fidelity's mean and standard error come from the per-trial fidelities.
Otherwise the chain is *pipelined*: a link restarts as soon as its two
memories are free, which a swap at either of its end nodes or the delivery
makes them, so the next pair is being built while the previous one is still
being completed or its swap outcomes are still travelling (as in SeQUeNCe
and in a real repeater). Each trial is then one chain run of ``_WARMUP + k``
deliveries from empty memories; the first ``_WARMUP`` are not counted, and
the rate, the fidelity and their standard errors come from the per-run means
(runs are independent, deliveries within one are not). All trials of a
batch advance together through an event loop (numpy arrays of shape
``(trials, nodes)``); the events are link heralds, pair expiries, swaps and
(sequence mode) classical messages, so the loop runs a few times per
segment, not once per attempt. Where swaps always succeed and there is no
cutoff (the defaults), no pair is ever lost, each link is heralded once per
delivery and every swap time follows from the herald times, so the same
model is computed directly with array operations over trials x segments:
:func:`_run_batch_direct` (renewal trials, about 10,000 deliveries per wall
second at 1,000 segments), :func:`_nested_pipelined` (nested, where nodes
sit half way between their partners) and :func:`_asap_pipelined`
(swap-ASAP, instant messages), one swap round per delivery. Batches are
sized to a memory budget. Randomness comes only from
``np.random.default_rng(seed)``.

Physics per trial (the chain's :class:`~qnetemu.engines.chain.RepeaterProtocol`)
----------------------------------------------------------------------------------
* Elementary links (:mod:`qnetemu.engines.elementary_link`): a free link
  succeeds after a geometric number of attempts of one common period (the
  longest link's), ``max(1/rate, L/c)`` for ``continuous`` generation and
  ``3 d + q + d/2`` for ``negotiated``. A link is free when neither of its
  two memories holds a pair (renewal trials: when no stored pair spans it);
  after a failed swap or an expiry the links under the lost pairs are free
  again. A freed link starts (:func:`_heralds`): ``negotiated``, its first
  negotiation at once, each attempt heralding one period after the last;
  ``continuous``, at the next tick of the sources' clock (ticks every
  ``tau`` from the run's start), each attempt heralding its ``L/c`` after
  its emission: SeQUeNCe's clocked sources
  (:mod:`qnetemu.engines.sequence_generation`). A renewal trial starts at a
  delivery with every link's first herald one period later.
  ``MonteCarloChainEngine(pipelining=False)`` keeps the textbook cycle for
  every protocol: renewal trials, and links freed within a trial start at the
  next point of the global grid of period ``tau`` (a negotiated link freed by
  an expiry: at once). Storage counts from the photon's emission, ``L/c``
  before the herald.
* Multiplexing with ``m = memories_per_node``: ``single`` gives ``m``
  parallel attempts per period and keeps one pair (``p -> 1 - (1 - p)**m``);
  ``independent_lanes`` runs ``m`` chains side by side (rate ``m / mean(T)``,
  latency the mean first delivery among ``m`` lanes). ``shared_pool`` is
  refused (only SeQUeNCe runs it).
* Pumping (``purification`` with ``purification_rounds = r``): a link is
  ready once a pair has survived ``r`` rounds, each using a fresh pair and
  succeeding with the BBPSSW/DEJMPS probability; a failed round restarts the
  link. The pumped pair has the deterministic fidelity of
  :func:`~qnetemu.engines.elementary_link.pumping_schedule` (decoherence
  during pumping is neglected).
* Swaps: ``swap_asap`` (a node swaps as soon as it holds two pairs, left to
  right within an instant) or ``nested`` (:func:`nested_swap_partners`). A
  swap succeeds with ``swap_success_prob``; the (twirled) Werner parameters
  multiply, then the fidelity is multiplied by ``swap_fidelity``; a failure
  loses both pairs: the swapping node's memories are free at once, the two
  partners' once the failure reaches them at the fibre's speed (textbook
  cycle: at once).
* Messaging: ``instant``, or ``classical``: once node ``j`` knows both its
  pairs, its resource manager pairs the swapping protocol with the two
  partner nodes (REQUEST/RESPONSE, SeQUeNCe's ``resource_manager.py``), so
  the swap happens one round trip to the farther partner later, while the
  pairs keep decohering; the outcome then travels to each partner at the
  fibre's speed, which can use the new pair only once it has arrived; a pair
  is delivered when both end nodes know it, and both end memories are free
  from then on. The swapping node's memories are free at the swap, so the
  links next to it restart while the outcome travels (classical messages)
  or while the rest of the chain is still being built (pipelining, above).
  On 4 x 20 km chains (negotiated attempts, T2 = 50 ms, link fidelity 0.98)
  this gives about 2 % more pairs than restarting after each delivery with
  nested swaps and classical messages, and 3.3 % more at a fidelity 0.008
  lower with swap-ASAP and instant messages (266.8 +- 1.0 against 258.3 +-
  1.0 Hz, F 0.7997 against 0.8074); nested 8 x 20 km, instant: 5.8 % more
  pairs, F 0.030 lower.
* Storage: a pair's Werner parameter is multiplied by
  :func:`~qnetemu.physics.entanglement.memory_storage_factor` of the time
  since its emission or last swap (per-memory T2, depolarising or dephasing).
* Cutoff: a pair is discarded, at both ends at once, ``cutoff_time_s`` after
  the emission of the oldest photon it was built from: an elementary pair's
  clock starts at its photons' emission, a swapped pair keeps the older clock
  of the two pairs it joins. This is SeQUeNCe 1.3.1's rule (a memory expires
  ``cutoff`` after its emission, ``memory.py`` ``_schedule_expiration``; a swap
  sends ``min`` of its two memories' expiry times to both new ends,
  ``swapping_bds.py``) and the link-age convention of Iñesta et al., npj
  Quantum Inf. 9, 46 (2023). The links under a discarded pair restart as any
  freed link does (above: the reset memories negotiate a new attempt at
  once, or emit at their sources' next tick). A cutoff not longer than the
  herald delay is rejected.

Not modelled: dark counts, the RSVP reservation time before the first
attempt, the retries of a negotiation whose partner memory is still held
(a link starts the instant both its memories are free), an end node freeing
its memory before the other end knows the pair (both are freed at the
delivery), and the offsets of SeQUeNCe's continuous sources
within their 12.5 ns emission slots. With a cutoff, a swap's outcome that
reaches an end node after the new pair has expired resets that memory on
arrival in SeQUeNCe; here the links restart at the expiry.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.engines.chain import ChainResult, ChainSpec, ProtocolNotSupported
from qnetemu.engines.elementary_link import (
    elementary_links,
    nested_swap_partners,
    pumping_schedule,
)
from qnetemu.physics.entanglement import STORAGE_FLOOR

__all__ = ["MonteCarloChainEngine"]

_BATCH = 1 << 16
#: Working memory one batch may use; the batch shrinks for long chains. [bytes]
_BATCH_MEMORY_BYTES = 256 * 2**20
_M_PER_KM = 1e3
#: Pipelined chains: deliveries per run not counted (the run starts from empty memories),
_WARMUP = 2
#: most counted deliveries per run, and the fewest runs the deliveries are spread over.
_STREAM_DELIVERIES = 64
_STREAM_ROWS = 1024


@dataclass(frozen=True)
class _Params:
    n: int
    p: np.ndarray  # per-link success probability per attempt
    tau_s: float
    herald_s: np.ndarray  # (n,) storage before the herald, per link (sequence mode)
    w0: float  # Werner parameter of a ready link
    pump_probs: tuple[float, ...]
    a: float
    swap_fidelity: float
    rate: float  # decay rate of the decaying part of a pair's Werner parameter, 2/T2 [1/s]
    floor: float  # part of the Werner parameter storage never removes (0 or 1/3)
    cutoff_s: float
    restart_at_expiry: bool  # negotiated generation: links freed by an expiry start at once
    partners: list[tuple[int, int]] | None  # None: swap-ASAP
    pairing_s: np.ndarray | None  # (n+1,) wait from "both pairs known" to the swap at node j;
    # None: swap-ASAP with classical messaging, a round trip to the current pair ends
    delay_s: np.ndarray  # (n+1, n+1) classical delays between nodes
    pipelined: bool = False  # a stream of deliveries per row, not independent trials; links
    # restart when their two memories are free
    restart: str = "grid"  # when a freed link's attempts start (_heralds): "grid" (textbook),
    # "now" (negotiated: at once), "clock" (continuous: the source's next tick)
    tick_s: float = 0.0  # "clock": a tick of the sources' clock, from the row's start [s]


def _storage(prm: _Params, dt_s: np.ndarray) -> np.ndarray:
    """Werner-parameter factor after ``dt_s`` of storage since the last twirl
    (:func:`qnetemu.physics.entanglement.memory_storage_factor`)."""
    return prm.floor + (1.0 - prm.floor) * np.exp(-prm.rate * dt_s)


def _heralds(prm: _Params, start_s: np.ndarray, attempts: np.ndarray,
             herald_s: np.ndarray) -> np.ndarray:
    """Herald time [s] of the successful attempt of links free from ``start_s``.

    ``attempts`` is the number of attempts up to the success (a draw of
    :func:`_link_attempts`), ``herald_s`` the links' storage before the herald
    (all broadcast together). ``prm.restart``: ``"grid"`` (the textbook cycle:
    the first attempt heralds one period after the next point of the global
    grid of period ``tau``), ``"now"`` (negotiated attempts: the negotiation
    starts at once, one attempt per period) or ``"clock"`` (continuous
    attempts: the sources emit at the ticks ``tick_s + k tau`` of one clock,
    a free link at its next tick, and each attempt heralds ``herald_s`` after
    its emission, as SeQUeNCe's clocked sources do,
    :mod:`qnetemu.engines.sequence_generation`).
    """
    tau = prm.tau_s
    if prm.restart == "now":
        return start_s + attempts * tau
    if prm.restart == "grid":
        return np.ceil(start_s / tau - 1e-9) * tau + attempts * tau
    tick = prm.tick_s + np.ceil((start_s - prm.tick_s) / tau - 1e-9) * tau
    return tick + (attempts - 1.0) * tau + herald_s


def _geometric(rng: np.random.Generator, p: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Attempts until the first success, success probability ``p`` (broadcast to ``shape``).

    Inversion (Devroye 1986, *Non-Uniform Random Variate Generation*, X.2):
    ``1 + floor(ln(1 - U) / ln(1 - p))`` with ``U`` uniform on [0, 1) is
    geometric; one uniform and one logarithm per draw, about twice as fast as
    ``Generator.geometric`` with an array of probabilities. Floats, exact
    integers.
    """
    u = rng.random(shape)
    np.log1p(-u, out=u)
    with np.errstate(divide="ignore"):  # p = 1: ln(0) = -inf gives one attempt
        u /= np.log1p(-np.asarray(p, dtype=float))
    np.floor(u, out=u)
    u += 1.0
    return u


def _link_attempts(
    rng: np.random.Generator, p: np.ndarray, pump: tuple[float, ...], shape: tuple[int, ...]
) -> np.ndarray:
    """Attempts until each requested link holds a (pumped) pair; ``p`` broadcast to ``shape``."""
    total = _geometric(rng, p, shape)
    if not pump:
        return total
    p = np.broadcast_to(p, shape).ravel()
    total = total.ravel()
    level = np.zeros(p.shape, dtype=int)
    todo = np.flatnonzero(level < len(pump))
    while todo.size:
        total[todo] += _geometric(rng, p[todo], todo.shape)
        lv = level[todo]
        fresh = lv < 0
        ok = rng.random(todo.size) < np.asarray(pump)[np.maximum(lv, 0)]
        # a failed round throws both pairs away: the next draw is a fresh first pair
        level[todo] = np.where(fresh, 0, np.where(ok, lv + 1, -1))
        todo = todo[level[todo] != len(pump)]
    return total.reshape(shape)


def _run_batch_events(
    rng: np.random.Generator, prm: _Params, size: int, deliveries: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Delivery times [s] and fidelities of ``size`` trials, by the event loop.

    The general path: failed swaps, cutoffs and swap-ASAP with classical
    messages restart links and change partners, so the trials advance event
    by event (a few loop passes per segment, each over all nodes).

    Renewal (``prm.pipelined`` false): each row is one delivery cycle from
    empty memories; returns arrays of shape ``(size,)``. Pipelined: each row
    is one chain run from empty memories until it has made ``deliveries``
    pairs; a link restarts as soon as its two memories are free (freed by a
    swap at either end node or by the delivery), so the next pair is being
    built while the previous one's swap outcomes travel; returns the delivery
    times (since the row's start) and fidelities, shape ``(size, deliveries)``.
    """
    n, tau = prm.n, prm.tau_s
    eps = 1e-9 * tau
    stream = prm.pipelined
    out_t = np.empty((size, deliveries))
    out_f = np.empty((size, deliveries))
    made = np.zeros(size, dtype=int)  # deliveries of each active row so far
    idx = np.arange(size)  # trial index of each active row
    shape = (size, n + 1)
    r_of = np.full(shape, -1)  # right end of the pair whose left end is j
    l_of = np.full(shape, -1)  # left end of the pair whose right end is j
    w = np.zeros(shape)  # Werner parameter of pair starting at j, at time tw
    tw = np.zeros(shape)
    born = np.zeros(shape)  # cutoff clock start of pair j: its oldest photon's emission
    use_l = np.zeros(shape)  # time the left end knows the pair
    use_r = np.zeros(shape)  # time the right end knows the pair
    swap_at = np.full(shape, np.inf)  # time node j's pending swap happens
    # a failed swap's far ends hold their memories until its outcome arrives (not textbook)
    held_l = np.zeros(shape)  # node j's left memory is held until then
    held_r = np.zeros(shape)  # node j's right memory is held until then
    hold = prm.restart != "grid" and bool(prm.delay_s.any()) and prm.a < 1.0
    now = np.zeros(size)
    ready = _heralds(prm, np.zeros((size, n)), _link_attempts(rng, prm.p, prm.pump_probs, (size, n)),
                     prm.herald_s)
    covered = np.zeros((size, n), dtype=bool)
    order = range(1, n)
    if prm.partners is not None:
        order = sorted(range(1, n), key=lambda j: prm.partners[j][1] - prm.partners[j][0])
    cutoff = prm.cutoff_s
    while idx.size:
        rows = np.arange(idx.size)
        has = r_of >= 0
        t_gen = np.where(~covered, ready, np.inf).min(axis=1)
        t_next = t_gen
        if math.isfinite(cutoff):
            expiry = born + cutoff
            t_next = np.minimum(t_next, np.where(has, expiry, np.inf).min(axis=1))
        pend = np.where(has, np.maximum(use_l, use_r), -np.inf)
        pend = np.where(pend > now[:, None] + eps, pend, np.inf).min(axis=1)
        t_next = np.minimum(t_next, pend)
        t_next = np.minimum(
            t_next, np.where(swap_at > now[:, None] + eps, swap_at, np.inf).min(axis=1)
        )
        if hold:
            for held in (held_l, held_r):
                t_next = np.minimum(t_next, np.where(held > now[:, None] + eps, held, np.inf).min(axis=1))
        now = np.maximum(t_next, now)  # never step back in time
        nowc = now[:, None]
        # 1. expiry
        expired = None  # links under pairs discarded by the cutoff at this instant
        if math.isfinite(cutoff):
            dead = has & (born + cutoff <= nowc + eps)
            if dead.any():
                rr, jj = np.nonzero(dead)
                if prm.restart_at_expiry and prm.restart == "grid":
                    span = np.zeros(shape, dtype=np.int8)
                    np.add.at(span, (rr, jj), 1)
                    np.add.at(span, (rr, r_of[rr, jj]), -1)
                    expired = np.cumsum(span, axis=1)[:, :n] > 0
                l_of[rr, r_of[rr, jj]] = -1
                r_of[rr, jj] = -1
        # 2. heralds on free links
        new = ~covered & (ready <= nowc + eps)
        if new.any():
            rr, ii = np.nonzero(new)
            r_of[rr, ii] = ii + 1
            l_of[rr, ii + 1] = ii
            w[rr, ii] = prm.w0  # made at emission, herald_s ago; decays from then
            tw[rr, ii] = now[rr] - prm.herald_s[ii]
            born[rr, ii] = now[rr] - prm.herald_s[ii]
            use_l[rr, ii] = now[rr]
            use_r[rr, ii] = now[rr]
        # 3. swaps
        for j in order:
            lo = l_of[:, j]
            hi = r_of[:, j]
            can = (lo >= 0) & (hi >= 0)
            if prm.partners is not None:
                pl, pr = prm.partners[j]
                can &= (lo == pl) & (hi == pr)
            if not can.any():
                swap_at[:, j] = np.inf
                continue
            rr = np.flatnonzero(can)
            lo, hi = lo[rr], hi[rr]
            t = now[rr]
            known = (use_r[rr, lo] <= t + eps) & (use_l[rr, j] <= t + eps)
            rr, lo, hi, t = rr[known], lo[known], hi[known], t[known]
            waiting = np.zeros(idx.size, dtype=bool)
            waiting[rr] = True
            swap_at[~waiting, j] = np.inf  # pairs gone: a pending swap is dropped
            # both pairs known at j: the swap happens after the pairing round trip
            if prm.pairing_s is None:  # swap-ASAP: round trip to the current partners
                wait = 2.0 * np.maximum(prm.delay_s[j, lo], prm.delay_s[j, hi])
            else:
                wait = prm.pairing_s[j]
            swap_at[rr, j] = np.where(np.isinf(swap_at[rr, j]), t + wait, swap_at[rr, j])
            go = swap_at[rr, j] <= t + eps
            rr, lo, hi, t = rr[go], lo[go], hi[go], t[go]
            if rr.size == 0:
                continue
            swap_at[rr, j] = np.inf
            wl = w[rr, lo] * _storage(prm, t - tw[rr, lo])
            wr = w[rr, j] * _storage(prm, t - tw[rr, j])
            f = prm.swap_fidelity * (1.0 + 3.0 * wl * wr) / 4.0
            ok = rng.random(rr.size) < prm.a
            # success: the pair lo-hi replaces lo-j and j-hi
            s, ls, hs, ts = rr[ok], lo[ok], hi[ok], t[ok]
            r_of[s, ls] = hs
            l_of[s, hs] = ls
            w[s, ls] = (4.0 * f[ok] - 1.0) / 3.0
            tw[s, ls] = ts
            # the new pair keeps the older clock of the two it joins (SeQUeNCe's rule)
            born[s, ls] = np.minimum(born[s, ls], born[s, j])
            use_l[s, ls] = ts + prm.delay_s[j, ls]
            use_r[s, ls] = ts + prm.delay_s[j, hs]
            # failure: both pairs are lost
            fl, lf, hf = rr[~ok], lo[~ok], hi[~ok]
            r_of[fl, lf] = -1
            l_of[fl, hf] = -1
            r_of[s, j] = -1
            l_of[s, j] = -1
            r_of[fl, j] = -1
            l_of[fl, j] = -1
            if hold:  # the partners reset their memories when the failure reaches them
                tf = t[~ok]
                held_r[fl, lf] = tf + prm.delay_s[j, lf]
                held_l[fl, hf] = tf + prm.delay_s[j, hf]
        if stream:  # deliver before restarting, so the end links restart at the delivery
            done = (r_of[:, 0] == n) & (np.maximum(use_l[:, 0], use_r[:, 0]) <= now + eps)
            if done.any():
                d = rows[done]
                wd = w[d, 0] * _storage(prm, now[d] - tw[d, 0])
                out_t[idx[d], made[d]] = now[d]
                out_f[idx[d], made[d]] = (1.0 + 3.0 * wd) / 4.0
                made[d] += 1
                r_of[d, 0] = -1  # the end memories hand the pair over and are free
                l_of[d, n] = -1
        # links that became free restart now
        if stream:  # a link is free when neither of its two memories holds a pair
            cov_new = (r_of[:, :n] >= 0) | (l_of[:, 1:] >= 0)
        else:  # a link is free when no stored pair spans it
            diff = (r_of >= 0).astype(np.int8) - (l_of >= 0).astype(np.int8)
            cov_new = np.cumsum(diff, axis=1)[:, :n] > 0
        if hold:
            cov_new |= (held_r[:, :n] > nowc + eps) | (held_l[:, 1:] > nowc + eps)
        # free links whose scheduled herald is not in the future (freed now, or
        # heralded and lost in the same instant) start a fresh attempt sequence
        freed = ~cov_new & (ready <= nowc + eps)
        if freed.any():
            rr, ii = np.nonzero(freed)
            attempts = _link_attempts(rng, prm.p[ii], prm.pump_probs, ii.shape)
            # textbook: attempts run on the global period grid, so a link freed
            # between slots starts at the next slot, except that a negotiated
            # link freed by an expiry starts negotiating at once (SeQUeNCe: the
            # reset memory's generation rule fires, resource_manager.memory_expire);
            # otherwise (_heralds) negotiated links start at once, clocked ones
            # at their sources' next tick, whatever freed them
            start = now[rr]
            if expired is not None:
                start = np.where(expired[rr, ii], start, np.ceil(start / tau - 1e-9) * tau)
                ready[rr, ii] = start + attempts * tau
            else:
                ready[rr, ii] = _heralds(prm, start, attempts, prm.herald_s[ii])
        covered = cov_new
        # 4. delivery (renewal: the trial ends)
        if stream:
            done = made >= deliveries
        else:
            done = (r_of[:, 0] == n) & (np.maximum(use_l[:, 0], use_r[:, 0]) <= now + eps)
        if done.any():
            d = rows[done]
            if not stream:
                wd = w[d, 0] * _storage(prm, now[d] - tw[d, 0])
                out_t[idx[d], 0] = now[d]
                out_f[idx[d], 0] = (1.0 + 3.0 * wd) / 4.0
            keep = ~done
            made = made[keep]
            idx = idx[keep]
            now = now[keep]
            r_of, l_of, w, tw = r_of[keep], l_of[keep], w[keep], tw[keep]
            born = born[keep]
            use_l, use_r, ready, covered = use_l[keep], use_r[keep], ready[keep], covered[keep]
            swap_at = swap_at[keep]
            held_l, held_r = held_l[keep], held_r[keep]
    if stream:
        return out_t, out_f
    return out_t[:, 0], out_f[:, 0]


def _fast_path(prm: _Params) -> bool:
    """True when no link ever restarts and partners follow from herald times alone.

    With certain swaps and no cutoff a stored pair is never lost, so each link
    is heralded exactly once and every swap time is a function of the herald
    times. Left to the event loop: swap-ASAP with classical messages (its
    partners change while a pairing round trip is under way), and nested
    classical chains where a swapping node is not half way between its
    partners (the event loop then notices a pair's arrival only at its next
    event, which the direct path would not reproduce).
    """
    if prm.a < 1.0 or math.isfinite(prm.cutoff_s):
        return False
    if not prm.delay_s.any():
        return True
    if prm.partners is None:
        return False
    root = prm.partners.index((0, prm.n)) if (0, prm.n) in prm.partners else -1
    tol_s = 1e-9 * prm.tau_s
    return all(
        abs(prm.delay_s[j, lo] - prm.delay_s[j, hi]) <= tol_s
        for j, (lo, hi) in enumerate(prm.partners)
        if lo >= 0 and j != root
    )


def _frees_before_delivery(n: int, partners: list[tuple[int, int]] | None, classical: bool) -> bool:
    """Whether a link's two memories can both be free before the pair that used them is delivered.

    Then a chain that restarts freed links at once (pipelining) differs from
    the renewal cycle. Classical messages: from three segments on (an inner
    link's end nodes swap before the outcome reaches the end nodes).
    Instant messages: swap-ASAP from four segments on (on 1 x 2 x 1 links the
    middle link is freed once both its nodes have swapped, which can happen
    before the outer links herald; up to three segments the last swap is the
    delivery and every inner link has an end node that swaps last); nested
    when some link has two inner end nodes neither of which is the root
    swap: from five segments on (:func:`nested_swap_partners`: the root of
    four segments is node 2, of five to eight node 4).
    """
    if classical:
        return n >= 3
    if partners is None:
        return n >= 4
    root = partners.index((0, n)) if (0, n) in partners else -1
    return any(root not in (i, i + 1) for i in range(1, n - 1))


def _run_batch_direct(
    rng: np.random.Generator, prm: _Params, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Delivery times [s] and fidelities of ``size`` trials, from the herald times.

    The same model as :func:`_run_batch_events` where :func:`_fast_path`
    holds, computed with array operations over trials x segments: link ``i``
    is heralded once, at ``t_i`` (its pair emitted ``herald_s`` earlier);
    swap-ASAP node ``j`` swaps at ``max(t_{j-1}, t_j)``; a nested node swaps
    once its two partner pairs are known to it, plus its pairing round trip.
    The draws are the event loop's first draws, so one batch of either path
    from one generator state gives the same delivery times and fidelities.
    """
    n = prm.n
    herald = _link_attempts(rng, prm.p, prm.pump_probs, (size, n))  # (trials, segments)
    herald *= prm.tau_s
    if prm.partners is not None:
        # one contiguous row per link keeps the per-node steps of the fixed tree cheap
        herald = np.ascontiguousarray(herald.T)
        return _nested_direct(prm, herald, herald - prm.herald_s[:, None])[:2]
    t_deliver = herald.max(axis=1)
    swap_t = np.maximum(herald[:, :-1], herald[:, 1:])  # (trials, n-1): node j = column j-1
    return t_deliver, _asap_fidelity(prm, herald, swap_t, t_deliver)


def _asap_fidelity(
    prm: _Params, herald: np.ndarray, swap_t: np.ndarray, t_deliver: np.ndarray
) -> np.ndarray:
    """Delivered fidelity of swap-ASAP rows from their herald, swap and delivery times [s].

    ``herald`` is (rows, segments), ``swap_t`` (rows, segments - 1) with node
    ``j`` in column ``j - 1``; every time is measured from one origin.
    """
    n = prm.n
    if n == 1:
        w_end = prm.w0 * _storage(prm, np.full(t_deliver.shape, prm.herald_s[0]))
        return (1.0 + 3.0 * w_end) / 4.0
    if prm.floor == 0.0 and prm.swap_fidelity == 1.0:
        # Werner parameters multiply and storage is exp(-rate dt), so the final
        # parameter is w0**n exp(-rate * integral of the number of stored pairs):
        # each herald adds a pair from its emission on, each swap removes one, so
        # the integral is sum(T - emitted) - sum(T - swap) = T + sum(swap) - sum(emitted).
        stored_s = t_deliver + swap_t.sum(axis=1) - herald.sum(axis=1) + prm.herald_s.sum()
        w = np.exp(n * math.log(prm.w0) - prm.rate * stored_s)
        return (1.0 + 3.0 * w) / 4.0
    return _asap_ranked(prm, herald - prm.herald_s, swap_t, t_deliver)


def _asap_ranked(
    prm: _Params, emitted: np.ndarray, swap_t: np.ndarray, t_deliver: np.ndarray
) -> np.ndarray:
    """Swap-ASAP fidelities for gate noise or dephasing: the k-th swap of every trial at once.

    Swaps run in time order, ties left to right (as in the event loop), since
    the affine swap map of a noisy gate does not commute.
    """
    n = prm.n
    size = t_deliver.size
    rows = np.arange(size)
    order = np.argsort(swap_t, axis=1, kind="stable") + 1  # (trials, n-1) nodes
    s_sorted = np.take_along_axis(swap_t, order - 1, axis=1)
    l_of = np.broadcast_to(np.arange(-1, n), (size, n + 1)).copy()
    r_of = np.broadcast_to(np.arange(1, n + 2), (size, n + 1)).copy()
    w = np.full((size, n + 1), prm.w0)
    tw = np.zeros((size, n + 1))
    tw[:, :n] = emitted
    for k in range(n - 1):
        j = order[:, k]
        t = s_sorted[:, k]
        lo = l_of[rows, j]
        hi = r_of[rows, j]
        wl = w[rows, lo] * _storage(prm, t - tw[rows, lo])
        wr = w[rows, j] * _storage(prm, t - tw[rows, j])
        f = prm.swap_fidelity * (1.0 + 3.0 * wl * wr) / 4.0
        w[rows, lo] = (4.0 * f - 1.0) / 3.0
        tw[rows, lo] = t
        r_of[rows, lo] = hi
        l_of[rows, hi] = lo
    return (1.0 + 3.0 * w[:, 0] * _storage(prm, t_deliver - tw[:, 0])) / 4.0


def _nested_direct(
    prm: _Params, herald: np.ndarray, emitted: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nested order: the swap tree is fixed, so one vectorised step per node, inner spans first.

    Returns the delivery times, the fidelities and (rows ``n + j``) node
    ``j``'s swap time, for each trial (columns).
    """
    n = prm.n
    partners = prm.partners
    # pair sources: link i is row i, the pair made by node j's swap is row n + j
    source = {(i, i + 1): i for i in range(n)}
    source.update({span: n + j for j, span in enumerate(partners) if span[0] >= 0})
    size = herald.shape[1]
    known = np.empty((2 * n + 1, size))  # when the pair's creator knows it [s] (herald or swap)
    w = np.empty((2 * n + 1, size))
    tw = np.empty((2 * n + 1, size))
    known[:n] = herald
    w[:n] = prm.w0
    tw[:n] = emitted
    creator = np.arange(2 * n + 1) - n  # node that made each pair row (links: none)
    order = sorted(range(1, n), key=lambda j: partners[j][1] - partners[j][0])
    for j in order:
        lo, hi = partners[j]
        a, b = source[(lo, j)], source[(j, hi)]
        # a swapped pair reaches node j one classical delay after its creator's swap
        ta = known[a] + (prm.delay_s[creator[a], j] if a >= n else 0.0)
        tb = known[b] + (prm.delay_s[creator[b], j] if b >= n else 0.0)
        t = np.maximum(ta, tb) + prm.pairing_s[j]
        wl = w[a] * _storage(prm, t - tw[a])
        wr = w[b] * _storage(prm, t - tw[b])
        f = prm.swap_fidelity * (1.0 + 3.0 * wl * wr) / 4.0
        w[n + j] = (4.0 * f - 1.0) / 3.0
        tw[n + j] = known[n + j] = t
    root = source[(0, n)]
    t_deliver = known[root]
    if root >= n:  # delivered once both end nodes know the outcome
        t_deliver = t_deliver + max(prm.delay_s[root - n, 0], prm.delay_s[root - n, n])
    w_end = w[root] * _storage(prm, t_deliver - tw[root])
    return t_deliver, (1.0 + 3.0 * w_end) / 4.0, known


def _nested_pipelined(
    rng: np.random.Generator, prm: _Params, size: int, deliveries: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pipelined nested chains where :func:`_fast_path` holds, one swap tree per delivery.

    Each memory holds one pair at a time, and a node's two memories are freed
    together by its swap (end nodes: by the delivery), so the chain's ``k``-th
    pair uses the ``k``-th pair of every link, and link ``i`` starts its
    ``k``-th attempts at ``max(S_i, S_{i+1})``, the later of its end nodes'
    ``(k-1)``-th swaps (``S_0 = S_n``: the ``(k-1)``-th delivery). Each
    delivery is then :func:`_nested_direct` with those herald times; the same
    model as :func:`_run_batch_events` with ``prm.pipelined`` (tested in
    distribution). Returns arrays of shape ``(size, deliveries)``.
    """
    n = prm.n
    out_t = np.empty((size, deliveries))
    out_f = np.empty((size, deliveries))
    free = np.zeros((n + 1, size))  # when each node's memories are next free [s]
    herald_s = prm.herald_s[:, None]
    for k in range(deliveries):
        attempts = _link_attempts(rng, prm.p, prm.pump_probs, (size, n))
        herald = _heralds(prm, np.maximum(free[:-1], free[1:]), attempts.T, herald_s)
        t_deliver, fid, known = _nested_direct(prm, herald, herald - herald_s)
        out_t[:, k] = t_deliver
        out_f[:, k] = fid
        free[1:n] = known[n + 1 : 2 * n]
        free[0] = free[n] = t_deliver
    return out_t, out_f


def _asap_pipelined(
    rng: np.random.Generator, prm: _Params, size: int, deliveries: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pipelined swap-ASAP chains with instant messages where :func:`_fast_path` holds.

    As in :func:`_nested_pipelined` the chain's ``k``-th pair uses the
    ``k``-th pair of every link: node ``j`` swaps the instant it holds two
    pairs, ``S_j = max(H_{j-1}, H_j)`` with ``H_i`` link ``i``'s ``k``-th
    herald, which frees both its memories; the pair is delivered at
    ``max_i H_i``, which frees the end memories; and link ``i`` starts its
    ``(k+1)``-th attempts once both its memories are free,
    ``max(S_i, S_{i+1})`` (``S_0 = S_n``: the delivery). The same model as
    :func:`_run_batch_events` with ``prm.pipelined`` (tested in distribution).
    Returns arrays of shape ``(size, deliveries)``.
    """
    n = prm.n
    out_t = np.empty((size, deliveries))
    out_f = np.empty((size, deliveries))
    free = np.zeros((size, n + 1))  # when each node's memories are next free [s]
    for k in range(deliveries):
        attempts = _link_attempts(rng, prm.p, prm.pump_probs, (size, n))
        herald = _heralds(prm, np.maximum(free[:, :-1], free[:, 1:]), attempts, prm.herald_s)
        t_deliver = herald.max(axis=1)
        swap_t = np.maximum(herald[:, :-1], herald[:, 1:])
        out_t[:, k] = t_deliver
        out_f[:, k] = _asap_fidelity(prm, herald, swap_t, t_deliver)
        free[:, 1:n] = swap_t
        free[:, 0] = free[:, n] = t_deliver
    return out_t, out_f


def _run_batch(rng: np.random.Generator, prm: _Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Delivery times [s] and fidelities of ``size`` independent trials."""
    if _fast_path(prm):
        return _run_batch_direct(rng, prm, size)
    return _run_batch_events(rng, prm, size)


def batch_rows(n_segments: int, direct: bool, memory_bytes: int) -> int:
    """Trials per batch so that one batch's arrays stay within ``memory_bytes``.

    The event loop holds about 14 float arrays of (trials, segments + 1) plus
    temporaries; the direct path about 8.
    """
    per_trial = (8 if direct else 24) * 8 * (n_segments + 1)
    return max(2, memory_bytes // per_trial)


def _first_among_lanes(times_s: np.ndarray, lanes: int) -> float:
    """Mean time to the first of ``lanes`` independent deliveries: the minimum over
    consecutive groups of ``lanes`` draws (the last incomplete group dropped)."""
    whole = times_s.size - times_s.size % lanes
    return float(times_s[:whole].reshape(-1, lanes).min(axis=1).mean())


class MonteCarloChainEngine:
    """Vectorised Monte Carlo engine (see the module docstring).

    Parameters
    ----------
    batch_size : int
        Most trials advanced together; larger is faster until memory runs short.
    memory_bytes : int
        Working memory of one batch [bytes]; long chains get fewer trials per
        batch (:func:`batch_rows`) so that a 1,000-segment chain stays well
        under 1 GB.
    pipelining : bool
        True (what scenarios run): a link restarts as soon as its two
        memories are free, negotiated links at once and continuous ones at
        their sources' next clock tick. False: every link restarts after
        each delivery (the textbook cycle, first heralds one period later),
        the renewal model of the analytic engine and of the literature's
        closed forms, kept to check those and to measure what pipelining
        changes.
    """

    name = "montecarlo"

    def __init__(
        self, batch_size: int = _BATCH, memory_bytes: int = _BATCH_MEMORY_BYTES,
        pipelining: bool = True,
    ):
        if batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {batch_size}")
        if memory_bytes <= 0:
            raise ValueError(f"memory_bytes must be > 0, got {memory_bytes}")
        self.batch_size = int(batch_size)
        self.memory_bytes = int(memory_bytes)
        self.pipelining = bool(pipelining)

    def check_protocol(self, chain: ChainSpec) -> None:
        """Refuse the shared memory pool (swaps across lanes are not modelled)."""
        if chain.protocol.multiplexing == "shared_pool" and chain.hardware.memories_per_node > 1:
            raise ProtocolNotSupported(
                self.name, "repeater.protocol.multiplexing", "shared_pool",
                "it models single-pair or independent-lane multiplexing only",
            )

    def _params(self, chain: ChainSpec) -> tuple[_Params, int, dict]:
        self.check_protocol(chain)
        links = elementary_links(chain)
        hw = chain.hardware
        proto = chain.protocol
        n = len(links)
        herald_s = np.array([lk.herald_delay_s for lk in links])
        if hw.cutoff_time_s is not None and hw.cutoff_time_s <= max(
            lk.herald_delay_s for lk in links
        ):
            raise ValueError(
                f"hardware.cutoff_time_s ({hw.cutoff_time_s} s) is not longer than the herald "
                "delay: no pair would survive to be heralded"
            )
        fids, probs = pumping_schedule(hw.link_fidelity, hw.purification_rounds, hw.purification)
        p_raw = np.array([lk.success_prob for lk in links])
        m = hw.memories_per_node
        lanes = m if proto.multiplexing != "single" else 1
        p = -np.expm1(m * np.log1p(-p_raw)) if proto.multiplexing == "single" else p_raw
        pos_m = np.concatenate([[0.0], np.cumsum(chain.segment_lengths_km)]) * _M_PER_KM
        delay = np.abs(pos_m[:, None] - pos_m[None, :]) / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
        t2 = hw.coherence_time_s
        partners = nested_swap_partners(n) if proto.swap_order == "nested" else None
        classical = proto.swap_messaging == "classical"
        pairing = np.zeros(n + 1)
        if classical and partners is not None:
            for j in range(1, n):
                lo, hi = partners[j]
                pairing[j] = 2.0 * max(delay[j, lo], delay[j, hi])
        elif classical:
            # swap-ASAP partners change with the stored pairs; the pairing wait is
            # then taken to the current pair ends at swap time (see _run_batch)
            pairing = None
        tau_s = max(lk.attempt_period_s for lk in links)
        early = _frees_before_delivery(n, partners, classical)
        restart, tick_s, stream = "grid", 0.0, False
        if self.pipelining:
            continuous = proto.link_generation == "continuous"
            restart = "clock" if continuous else "now"
            tol_s = 1e-9 * tau_s
            on_herald_grid = bool(np.all(np.abs(herald_s - tau_s) <= tol_s))
            same_herald = bool(np.ptp(herald_s) <= tol_s)
            # Independent delivery cycles (renewal trials) need every link to restart at
            # the delivery and, for clocked sources, the delivery at the same phase of the
            # clock every time: a herald instant (instant messages, one segment) of links
            # that all herald at one phase, or a clock whose ticks are the heralds.
            renewal = not early and (not continuous or on_herald_grid
                                     or (same_herald and (not classical or n == 1)))
            stream = not renewal
            if not stream and continuous and not on_herald_grid:
                tick_s = tau_s - float(herald_s[0])  # a trial starts at a herald (the delivery)
        prm = _Params(
            n=n,
            p=p,
            tau_s=tau_s,
            herald_s=herald_s,
            w0=(4.0 * fids[-1] - 1.0) / 3.0,
            pump_probs=tuple(probs),
            a=hw.swap_success_prob,
            swap_fidelity=hw.swap_fidelity,
            rate=0.0 if math.isinf(t2) else 2.0 / t2,
            floor=STORAGE_FLOOR[hw.decoherence],
            cutoff_s=math.inf if hw.cutoff_time_s is None else float(hw.cutoff_time_s),
            restart_at_expiry=proto.link_generation == "negotiated",
            partners=partners,
            pairing_s=pairing,
            delay_s=delay if classical else np.zeros_like(delay),
            pipelined=stream,
            restart=restart,
            tick_s=tick_s,
        )
        extra = {
            "protocol": proto.label(),
            "attempt_period_s": prm.tau_s,
            "link_success_prob": p.tolist(),
            "lanes": lanes,
            "pumped_link_fidelity": fids[-1],
            # links restart before the delivery (pipelining), so deliveries come as a stream
            "pipelined": self.pipelining and early,
            "restart": restart,
        }
        return prm, lanes, extra

    def simulate(
        self, chain: ChainSpec, *, seed: int, max_pairs: int, max_time_s: float
    ) -> ChainResult:
        """Sample up to ``max_pairs`` deliveries or ``max_time_s`` of simulated time.

        Parameters
        ----------
        chain : ChainSpec
            The chain; invalid hardware raises ValueError naming the field.
        seed : int
            Seed of ``np.random.default_rng``; equal seeds give equal results.
        max_pairs : int
            Number of deliveries to sample (>= 2 for standard errors).
        max_time_s : float
            Stop once the simulated time (summed over deliveries, divided by
            the lanes) reaches this. [s]

        Returns
        -------
        ChainResult
            ``pair_rate_hz = lanes / mean(T)`` (renewal), its delta-method
            standard error, mean fidelity and its standard error from the
            per-delivery samples, ``latency_s`` the mean time to the first
            pair.
        """
        if not (isinstance(max_pairs, int | np.integer) and max_pairs >= 2):
            raise ValueError(f"max_pairs must be an integer >= 2, got {max_pairs!r}")
        if not (max_time_s > 0):
            raise ValueError(f"max_time_s must be > 0, got {max_time_s!r}")
        t0 = time.perf_counter()
        prm, lanes, extra = self._params(chain)
        rng = np.random.default_rng(seed)
        if prm.pipelined:
            return self._simulate_stream(prm, lanes, extra, rng, max_pairs, max_time_s, t0)
        times, fids = [], []
        done, sim_s = 0, 0.0
        rows = min(self.batch_size, batch_rows(prm.n, _fast_path(prm), self.memory_bytes))
        while done < max_pairs and sim_s < max_time_s:
            size = min(rows, max_pairs - done)
            t, f = _run_batch(rng, prm, size)
            times.append(t)
            fids.append(f)
            done += size
            sim_s += float(t.sum()) / lanes
        t_all = np.concatenate(times)
        f_all = np.concatenate(fids)
        # Keep deliveries that fit in max_time_s (at least two, for the errors).
        k = max(2, int(np.searchsorted(np.cumsum(t_all) / lanes, max_time_s, side="right")))
        t_all, f_all = t_all[:k], f_all[:k]
        mean_t = float(t_all.mean())
        se_t = float(t_all.std(ddof=1) / math.sqrt(k))
        latency = _first_among_lanes(t_all, lanes) if lanes > 1 and k >= lanes else mean_t
        extra["mean_delivery_time_s"] = mean_t
        extra["delivery_time_stderr_s"] = se_t
        return ChainResult(
            engine=self.name,
            pairs=k,
            simulated_time_s=float(t_all.sum()) / lanes,
            pair_rate_hz=lanes / mean_t,
            pair_rate_stderr_hz=lanes * se_t / mean_t**2,
            mean_fidelity=float(f_all.mean()),
            fidelity_stderr=float(f_all.std(ddof=1) / math.sqrt(k)),
            latency_s=latency,
            wall_s=time.perf_counter() - t0,
            extra=extra,
        )

    def _simulate_stream(
        self, prm: _Params, lanes: int, extra: dict, rng: np.random.Generator,
        max_pairs: int, max_time_s: float, t0: float,
    ) -> ChainResult:
        """Pipelined chains (and clocked sources whose deliveries fall at varying
        phases of their clock): independent runs of ``_WARMUP + k`` deliveries each.

        Deliveries of one run are correlated (pairs built ahead carry over), so
        the statistics are over runs: the rate is ``lanes k / mean(D)`` with
        ``D`` a run's time from its ``_WARMUP``-th to its last delivery, the
        fidelity the mean over the ``k`` counted deliveries, and both standard
        errors from the spread of the per-run means (delta method for the
        rate). The first ``_WARMUP`` deliveries of a run (from empty memories)
        are not counted, except for the latency (mean first delivery).
        """
        k = int(np.clip(max_pairs // _STREAM_ROWS, 4, _STREAM_DELIVERIES))
        runs_wanted = max(2, -(-max_pairs // k))
        direct = _fast_path(prm)
        rows = min(self.batch_size, batch_rows(prm.n, direct, self.memory_bytes), runs_wanted)
        dur, fmean, first, end = [], [], [], []
        runs, sim_s = 0, 0.0
        while runs < runs_wanted and sim_s < max_time_s:
            size = min(rows, runs_wanted - runs)
            if direct:
                run = _nested_pipelined if prm.partners is not None else _asap_pipelined
                t, f = run(rng, prm, size, _WARMUP + k)
            else:
                t, f = _run_batch_events(rng, prm, size, _WARMUP + k)
            dur.append(t[:, -1] - t[:, _WARMUP - 1])
            fmean.append(f[:, _WARMUP:].mean(axis=1))
            first.append(t[:, 0])
            end.append(t[:, -1])
            runs += size
            sim_s += float(t[:, -1].sum()) / lanes
        dur_a, f_a = np.concatenate(dur), np.concatenate(fmean)
        first_a, end_a = np.concatenate(first), np.concatenate(end)
        # keep the runs that fit in max_time_s (at least two, for the errors)
        r = max(2, int(np.searchsorted(np.cumsum(end_a) / lanes, max_time_s, side="right")))
        dur_a, f_a, first_a, end_a = dur_a[:r], f_a[:r], first_a[:r], end_a[:r]
        mean_t = float(dur_a.mean()) / k
        se_t = float(dur_a.std(ddof=1)) / k / math.sqrt(r)
        latency = _first_among_lanes(first_a, lanes) if lanes > 1 and r >= lanes else float(first_a.mean())
        extra["mean_delivery_time_s"] = mean_t
        extra["delivery_time_stderr_s"] = se_t
        extra["stream_runs"] = r
        extra["stream_warmup_deliveries"] = _WARMUP
        return ChainResult(
            engine=self.name,
            pairs=r * k,
            simulated_time_s=float(end_a.sum()) / lanes,
            pair_rate_hz=lanes / mean_t,
            pair_rate_stderr_hz=lanes * se_t / mean_t**2,
            mean_fidelity=float(f_a.mean()),
            fidelity_stderr=float(f_a.std(ddof=1) / math.sqrt(r)),
            latency_s=latency,
            wall_s=time.perf_counter() - t0,
            extra=extra,
        )
