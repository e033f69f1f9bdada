"""The pipelined swap-ASAP chain and the analytic engine's labels where pipelining matters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from repeater_chain_values import make_chain, make_hardware

from qnetemu.engines.chain import RepeaterProtocol
from qnetemu.engines.repeater_analytic import (
    CLOCK_PHASE_APPROXIMATION,
    CLOCK_RESTART_APPROXIMATION,
    INSTANT_RENEWAL_APPROXIMATION,
    PIPELINED_APPROXIMATION,
    RENEWAL_APPROXIMATION,
    AnalyticChainEngine,
    _extrapolate_increments,
    expected_max_geometric,
    pipelining_changes_results,
    swap_asap_markov,
)
from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine
from qnetemu.engines.swap_asap_pipelined import PIPELINED_EXACT_MAX, swap_asap_pipelined

ASAP_INSTANT = RepeaterProtocol("swap_asap", "negotiated", "instant", "single")
NESTED_INSTANT = RepeaterProtocol("nested", "negotiated", "instant", "single")
NESTED_CLASSICAL = RepeaterProtocol("nested", "negotiated", "classical", "single")


def _motzkin(m: int) -> int:
    """Motzkin number M_m: non-crossing partial matchings of m points in a row."""
    mz = [1, 1]
    for k in range(2, m + 1):
        mz.append(((2 * k + 1) * mz[k - 1] + (3 * k - 3) * mz[k - 2]) // (k + 2))
    return mz[m]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize(("p", "a"), [(0.3, 0.6), (0.05, 1.0), (0.02, 0.5)])
def test_up_to_three_links_it_is_the_renewal_chain(n, p, a):
    """No stored pair but the delivered one has two inner nodes below four links, so no link
    restarts before the delivery: the stationary rate is 1 / E[T] of the absorbing chain, the
    storage factor and the first delivery are the renewal chain's (to rounding)."""
    ps = np.linspace(p, 1.5 * p, n)
    res = swap_asap_pipelined(ps, a, 0.01)
    attempts, factor = swap_asap_markov(ps, a, 0.01)
    assert_allclose(res.deliveries_per_period * attempts, 1.0, rtol=1e-11)
    assert_allclose(res.storage_factor, factor, rtol=1e-11)
    assert_allclose(res.first_delivery_periods, attempts, rtol=1e-11)


@pytest.mark.parametrize("n", [4, 5, 6, 7])
def test_states_are_the_non_crossing_matchings_each_once(n):
    """Every non-crossing partial matching of the n + 1 nodes but those holding [0, n] (it is
    delivered at once) is reachable, and each is one state: M_{n+1} - M_{n-1}."""
    res = swap_asap_pipelined([0.1] * n, 0.7, 0.0, fidelity=False)
    assert res.states == _motzkin(n + 1) - _motzkin(n - 1)


def test_certain_links_deliver_every_period():
    """p = 1 and a = 1: every link heralds in the first period and the chain delivers at once,
    every period, with no storage."""
    res = swap_asap_pipelined([1.0] * 5, 1.0, 0.3)
    assert_allclose([res.deliveries_per_period, res.first_delivery_periods, res.storage_factor], 1.0,
                    rtol=1e-12)


def test_with_certain_swaps_the_first_pair_waits_for_the_slowest_link():
    """a = 1: links restarted early never hold up the pair being built, so the first delivery is
    E[max_i T_i]; the steady-state rate is higher (pairs built ahead)."""
    ps = np.linspace(0.05, 0.12, 7)
    res = swap_asap_pipelined(ps, 1.0, 0.0, fidelity=False)
    assert_allclose(res.first_delivery_periods, expected_max_geometric(ps), rtol=1e-10)
    assert res.deliveries_per_period > 1.02 / expected_max_geometric(ps)


@pytest.mark.parametrize(("n", "a", "t2"), [(4, 1.0, 0.05), (5, 0.6, 0.02), (6, 0.5, 0.05)])
def test_exact_pipelined_chain_agrees_with_monte_carlo(n, a, t2):
    """Swap-ASAP, instant messages, 4-6 x 20 km: the analytic engine's exact pipelined chain
    and the Monte Carlo engine (which pipelines) agree within 4 standard errors (40,000
    pairs); the renewal chain would be 3-5 % low in rate (bench_analytic_renewal.py)."""
    chain = make_chain((20.0,) * n, make_hardware(coherence_time_s=t2, swap_success_prob=a,
                                                  link_fidelity=0.98), protocol=ASAP_INSTANT)
    an = AnalyticChainEngine().simulate(chain)
    assert an.extra["exact"] and an.extra["pipelined"]
    mc = MonteCarloChainEngine().simulate(chain, seed=21, max_pairs=40_000, max_time_s=1e9)
    assert mc.extra["pipelined"]
    assert abs(an.pair_rate_hz - mc.pair_rate_hz) < 4 * mc.pair_rate_stderr_hz
    assert abs(an.mean_fidelity - mc.mean_fidelity) < 4 * mc.fidelity_stderr


@pytest.mark.parametrize(("protocol", "first"), [(ASAP_INSTANT, 4), (NESTED_INSTANT, 5), (NESTED_CLASSICAL, 3)])
def test_pipelining_matters_from_the_reasoned_lengths(protocol, first):
    """A link restarts early only with both memories free under a stored, undelivered pair:
    swap-ASAP from 4 segments, nested from 5 ([0, 4] waits for link [4, 5]), and under
    classical messages from 3 (a swapping node is free while its outcome travels)."""
    assert [pipelining_changes_results(protocol, n) for n in range(1, 13)] == [n >= first for n in range(1, 13)]


@pytest.mark.parametrize(("protocol", "n", "label"), [
    *[(ASAP_INSTANT, n, None) for n in (1, 2, 3, 4, 6, PIPELINED_EXACT_MAX)],
    (ASAP_INSTANT, PIPELINED_EXACT_MAX + 1, PIPELINED_APPROXIMATION),
    *[(NESTED_INSTANT, n, None) for n in (1, 2, 3, 4)],
    *[(NESTED_INSTANT, n, INSTANT_RENEWAL_APPROXIMATION) for n in (5, 8)],
    (NESTED_CLASSICAL, 2, None),
    (NESTED_CLASSICAL, 3, RENEWAL_APPROXIMATION),
])
def test_labels_appear_exactly_where_pipelining_is_not_computed(protocol, n, label):
    """Exact rows say "none (exact)"; the renewal recursion (nested, instant messages, 5+
    segments; classical, 3+) and the pipelined chain's extrapolation name themselves, with
    their measured error, and are not marked exact."""
    chain = make_chain((20.0,) * n, make_hardware(coherence_time_s=0.05, swap_success_prob=0.8),
                       protocol=protocol)
    res = AnalyticChainEngine().simulate(chain)
    if label is None:
        assert res.extra["approximation"] == "none (exact)" and res.extra["exact"] is True
    else:
        assert res.extra["approximation"].startswith(label) and res.extra["exact"] is False
        assert "measured" in res.extra["approximation"]
    assert res.extra["pipelined"] is (protocol.swap_order == "swap_asap" and n >= 4)


def test_unequal_continuous_links_name_the_clock_phases_where_not_followed():
    """Continuous sources on unequal links herald at different phases of the period: the
    swap-ASAP chain follows them (exact), the nested recursion names the approximation; equal
    links and negotiated attempts (one phase) need nothing."""
    for order, generation, lengths, named in (("swap_asap", "continuous", (10.0, 20.0, 10.0), False),
                                              ("nested", "continuous", (10.0, 20.0, 10.0), True),
                                              ("nested", "continuous", (20.0, 20.0, 20.0), False),
                                              ("nested", "negotiated", (10.0, 20.0, 10.0), False)):
        chain = make_chain(lengths, make_hardware(coherence_time_s=0.02, swap_success_prob=0.5),
                           protocol=RepeaterProtocol(order, generation, "instant", "single"))
        res = AnalyticChainEngine().simulate(chain)
        assert (CLOCK_PHASE_APPROXIMATION in res.extra["approximation"]) is named
        assert res.extra["exact"] is (not named)


def test_clocked_restarts_under_classical_messages_are_named():
    """Continuous attempts with 1/attempt_rate_hz > L/c under classical messages: links freed
    between clock ticks restart at the next tick in SeQUeNCe and the Monte Carlo engine, which
    the recursion does not follow: named; at 100 kHz (ticks are the heralds) and under instant
    messages (freed at herald instants) not."""
    for messaging, rate_hz, named in (("classical", 5e3, True), ("classical", 1e5, False),
                                      ("instant", 5e3, False)):
        chain = make_chain((20.0, 20.0), make_hardware(coherence_time_s=0.05, attempt_rate_hz=rate_hz),
                           protocol=RepeaterProtocol("nested", "continuous", messaging, "single"))
        res = AnalyticChainEngine().simulate(chain)
        assert (CLOCK_RESTART_APPROXIMATION in res.extra["approximation"]) is named
        assert res.extra["exact"] is (not named)


@pytest.mark.parametrize(("lengths", "a"), [((10.0, 20.0), 1.0), ((10.0, 20.0, 10.0), 0.5),
                                            ((15.0, 25.0, 15.0, 25.0), 0.6)])
def test_clock_phases_of_unequal_links_agree_with_monte_carlo(lengths, a):
    """Continuous attempts on unequal links: the chain that follows the heralds' clock phases
    agrees with the Monte Carlo engine's clocked sources within 4 standard errors (40,000
    pairs; at one phase per period the fidelity was 0.0012-0.0034 high, 10-12 sigma)."""
    chain = make_chain(lengths, make_hardware(coherence_time_s=0.02, swap_success_prob=a, link_fidelity=0.98),
                       protocol=RepeaterProtocol("swap_asap", "continuous", "instant", "single"))
    an = AnalyticChainEngine().simulate(chain)
    assert an.extra["exact"]
    mc = MonteCarloChainEngine().simulate(chain, seed=4, max_pairs=40_000, max_time_s=1e9)
    assert abs(an.pair_rate_hz - mc.pair_rate_hz) < 4 * mc.pair_rate_stderr_hz
    assert abs(an.mean_fidelity - mc.mean_fidelity) < 4 * mc.fidelity_stderr


def test_equal_phases_are_the_herald_decays():
    """One phase f for every link: the chain charges each delivered pair n f periods of storage
    beyond the per-period count, which is the herald decays exp(-decay f n) exactly."""
    p, d = [0.1, 0.15, 0.12, 0.2, 0.1], 0.02
    plain = swap_asap_pipelined(p, 0.6, d)
    phased = swap_asap_pipelined(p, 0.6, d, phases=[0.4] * 5)
    assert_allclose(phased.storage_factor, plain.storage_factor * math.exp(-d * 0.4 * 5), rtol=1e-12)
    assert_allclose(phased.deliveries_per_period, plain.deliveries_per_period, rtol=1e-13)


def test_extrapolation_continues_the_exact_chain():
    """The extrapolation's model on the exact chain (p = 0.1, a = 0.7): periods per pair and
    the storage factor at 9 links predicted from 5-8 within 0.1 %."""
    chains = [swap_asap_pipelined([0.1] * k, 0.7, 0.01) for k in range(5, 10)]
    for values in ([1 / c.deliveries_per_period for c in chains], [1 / c.storage_factor for c in chains]):
        logs = np.log(values)
        assert abs(math.exp(_extrapolate_increments(logs[:4], 5, 9) - logs[4]) - 1) < 1e-3
