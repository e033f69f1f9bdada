"""Monte Carlo repeater-chain engine, vectorised over independent deliveries.

Each *trial* is one delivery cycle: all memories start empty at time 0 and
the trial ends when an end-to-end pair is delivered. Trials are independent
(a renewal process), so the pair rate is ``lanes / mean(T)`` with a
delta-method standard error, and the fidelity's mean and standard error come
from the per-trial fidelities. All trials of a batch advance together through
an event loop (numpy arrays of shape ``(trials, nodes)``); the events are
link heralds, pair expiries, swaps and (sequence mode) classical messages,
so the loop runs a few times per segment, not once per attempt. Randomness
comes only from ``np.random.default_rng(seed)``.

Physics per trial (the chain's :class:`~qnetemu.engines.chain.RepeaterProtocol`)
----------------------------------------------------------------------------------
* Elementary links (:mod:`qnetemu.engines.elementary_link`): a free link
  succeeds after a geometric number of attempts of one common period (the
  longest link's), ``max(1/rate, L/c)`` for ``continuous`` generation and
  ``3 d + q + d/2`` for ``negotiated``; heterogeneous links stay
  synchronous. A link is free when no stored pair spans it; after a failed
  swap or an expiry the links under the lost pairs start again. Storage
  counts from the photon's emission, ``L/c`` before the herald.
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
  loses both pairs.
* Messaging: ``instant``, or ``classical``: once node ``j`` knows both its
  pairs, its resource manager pairs the swapping protocol with the two
  partner nodes (REQUEST/RESPONSE, SeQUeNCe's ``resource_manager.py``), so
  the swap happens one round trip to the farther partner later, while the
  pairs keep decohering; the outcome then travels to each partner at the
  fibre's speed, which can use the new pair only once it has arrived; a pair
  is delivered when both end nodes know it.
* Storage: a pair's Werner parameter is multiplied by
  :func:`~qnetemu.physics.entanglement.memory_storage_factor` of the time
  since its emission or last swap (per-memory T2, depolarising or dephasing).
* Cutoff: a pair is discarded once its older end memory has stored it (from
  emission) for ``cutoff_time_s``; the links under it restart at the next
  attempt slot (attempts run on one global grid of period ``tau``). A cutoff
  not longer than the herald delay is rejected.

Not modelled: dark counts, the RSVP reservation time before the first
attempt, a failed swap's outcome message delay (links restart at once), and
links that restart under a longer stored pair and are then used by the next
delivery (pipelining across deliveries).
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
_M_PER_KM = 1e3


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
    partners: list[tuple[int, int]] | None  # None: swap-ASAP
    pairing_s: np.ndarray | None  # (n+1,) wait from "both pairs known" to the swap at node j;
    # None: swap-ASAP with classical messaging, a round trip to the current pair ends
    delay_s: np.ndarray  # (n+1, n+1) classical delays between nodes


def _storage(prm: _Params, dt_s: np.ndarray) -> np.ndarray:
    """Werner-parameter factor after ``dt_s`` of storage since the last twirl
    (:func:`qnetemu.physics.entanglement.memory_storage_factor`)."""
    return prm.floor + (1.0 - prm.floor) * np.exp(-prm.rate * dt_s)


def _link_attempts(rng: np.random.Generator, p: np.ndarray, pump: tuple[float, ...]) -> np.ndarray:
    """Attempts until each requested link holds a (pumped) pair; ``p`` per request."""
    total = rng.geometric(p).astype(float)
    if not pump:
        return total
    shape = total.shape
    p, total = p.ravel(), total.ravel()
    level = np.zeros(p.shape, dtype=int)
    todo = np.flatnonzero(level < len(pump))
    while todo.size:
        total[todo] += rng.geometric(p[todo])
        lv = level[todo]
        fresh = lv < 0
        ok = rng.random(todo.size) < np.asarray(pump)[np.maximum(lv, 0)]
        # a failed round throws both pairs away: the next draw is a fresh first pair
        level[todo] = np.where(fresh, 0, np.where(ok, lv + 1, -1))
        todo = todo[level[todo] != len(pump)]
    return total.reshape(shape)


def _run_batch(rng: np.random.Generator, prm: _Params, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Delivery times [s] and fidelities of ``size`` independent trials."""
    n, tau = prm.n, prm.tau_s
    eps = 1e-9 * tau
    out_t = np.empty(size)
    out_f = np.empty(size)
    idx = np.arange(size)  # trial index of each active row
    shape = (size, n + 1)
    r_of = np.full(shape, -1)  # right end of the pair whose left end is j
    l_of = np.full(shape, -1)  # left end of the pair whose right end is j
    w = np.zeros(shape)  # Werner parameter of pair starting at j, at time tw
    tw = np.zeros(shape)
    born_l = np.zeros(shape)  # storage start of the pair's left end memory
    born_r = np.zeros(shape)  # ... and of its right end memory
    use_l = np.zeros(shape)  # time the left end knows the pair
    use_r = np.zeros(shape)  # time the right end knows the pair
    swap_at = np.full(shape, np.inf)  # time node j's pending swap happens
    now = np.zeros(size)
    p_rows = np.broadcast_to(prm.p, (size, n))
    ready = _link_attempts(rng, p_rows.copy(), prm.pump_probs) * tau
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
            expiry = np.minimum(born_l, born_r) + cutoff
            t_next = np.minimum(t_next, np.where(has, expiry, np.inf).min(axis=1))
        pend = np.where(has, np.maximum(use_l, use_r), -np.inf)
        pend = np.where(pend > now[:, None] + eps, pend, np.inf).min(axis=1)
        t_next = np.minimum(t_next, pend)
        t_next = np.minimum(
            t_next, np.where(swap_at > now[:, None] + eps, swap_at, np.inf).min(axis=1)
        )
        now = np.maximum(t_next, now)  # never step back in time
        nowc = now[:, None]
        # 1. expiry
        if math.isfinite(cutoff):
            dead = has & (np.minimum(born_l, born_r) + cutoff <= nowc + eps)
            if dead.any():
                rr, jj = np.nonzero(dead)
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
            born_l[rr, ii] = now[rr] - prm.herald_s[ii]
            born_r[rr, ii] = now[rr] - prm.herald_s[ii]
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
            born_r[s, ls] = born_r[s, j]  # the left end keeps its own start
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
        # links that became free restart now
        diff = (r_of >= 0).astype(np.int8) - (l_of >= 0).astype(np.int8)
        cov_new = np.cumsum(diff, axis=1)[:, :n] > 0
        # free links whose scheduled herald is not in the future (freed now, or
        # heralded and lost in the same instant) start a fresh attempt sequence
        freed = ~cov_new & (ready <= nowc + eps)
        if freed.any():
            rr, ii = np.nonzero(freed)
            # attempts run on the global period grid, so a link freed between
            # slots (by an expiry) starts at the next slot and links stay in step
            start = np.ceil(now[rr] / tau - 1e-9) * tau
            ready[rr, ii] = start + _link_attempts(rng, prm.p[ii], prm.pump_probs) * tau
        covered = cov_new
        # 4. delivery
        done = (r_of[:, 0] == n) & (np.maximum(use_l[:, 0], use_r[:, 0]) <= now + eps)
        if done.any():
            d = rows[done]
            wd = w[d, 0] * _storage(prm, now[d] - tw[d, 0])
            out_t[idx[d]] = now[d]
            out_f[idx[d]] = (1.0 + 3.0 * wd) / 4.0
            keep = ~done
            idx = idx[keep]
            now = now[keep]
            r_of, l_of, w, tw = r_of[keep], l_of[keep], w[keep], tw[keep]
            born_l, born_r = born_l[keep], born_r[keep]
            use_l, use_r, ready, covered = use_l[keep], use_r[keep], ready[keep], covered[keep]
            swap_at = swap_at[keep]
    return out_t, out_f


class MonteCarloChainEngine:
    """Vectorised Monte Carlo engine (see the module docstring).

    Parameters
    ----------
    batch_size : int
        Trials advanced together; larger is faster until memory runs short.
    """

    name = "montecarlo"

    def __init__(self, batch_size: int = _BATCH):
        if batch_size < 2:
            raise ValueError(f"batch_size must be >= 2, got {batch_size}")
        self.batch_size = int(batch_size)

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
        prm = _Params(
            n=n,
            p=p,
            tau_s=max(lk.attempt_period_s for lk in links),
            herald_s=herald_s,
            w0=(4.0 * fids[-1] - 1.0) / 3.0,
            pump_probs=tuple(probs),
            a=hw.swap_success_prob,
            swap_fidelity=hw.swap_fidelity,
            rate=0.0 if math.isinf(t2) else 2.0 / t2,
            floor=STORAGE_FLOOR[hw.decoherence],
            cutoff_s=math.inf if hw.cutoff_time_s is None else float(hw.cutoff_time_s),
            partners=partners,
            pairing_s=pairing,
            delay_s=delay if classical else np.zeros_like(delay),
        )
        extra = {
            "protocol": proto.label(),
            "attempt_period_s": prm.tau_s,
            "link_success_prob": p.tolist(),
            "lanes": lanes,
            "pumped_link_fidelity": fids[-1],
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
        times, fids = [], []
        done, sim_s = 0, 0.0
        while done < max_pairs and sim_s < max_time_s:
            size = min(self.batch_size, max_pairs - done)
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
        if lanes > 1 and k >= lanes:
            latency = float(t_all[: k - k % lanes].reshape(-1, lanes).min(axis=1).mean())
        else:
            latency = mean_t
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
