"""Analytic repeater-chain engine: waiting times against closed forms."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose
from repeater_chain_values import make_chain, make_hardware

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.engines.chain import (
    ProtocolNotSupported,
    RepeaterProtocol,
)
from qnetemu.engines.elementary_link import (
    attempt_period_s,
    nested_swap_partners,
    pumping_expected_attempts,
    pumping_schedule,
    two_photon_success_prob,
)
from qnetemu.engines.repeater_analytic import (
    PIPELINED_APPROXIMATION,
    AnalyticChainEngine,
    _extrapolate_increments,
    expected_max_geometric,
    expected_waiting_nested,
    expected_waiting_two_segments,
    nested_waiting_time_pmf,
    pumped_attempts_pmf,
    swap_asap_markov,
)


def _exact_max_geometric(n: int, p: Fraction) -> Fraction:
    """sum_k C(n,k)(-1)^{k+1} / (1 - (1-p)^k) in exact rational arithmetic."""
    return sum(
        Fraction(math.comb(n, k) * (-1) ** (k + 1)) / (1 - (1 - p) ** k) for k in range(1, n + 1)
    )


@pytest.mark.parametrize("n", [1, 2, 4, 8, 25, 40])
@pytest.mark.parametrize("p", [Fraction(1, 10), Fraction(1, 200)])
def test_max_of_geometrics_matches_exact_rational(n, p):
    """E[max of n geometric(p)] (e.g. Sangouard et al., RMP 83, 33 (2011);
    Brand et al., JSAC 38, 589 (2020), Eq. 9), evaluated exactly with
    fractions; n > 20 exercises the survival-sum branch."""
    assert_allclose(
        expected_max_geometric([float(p)] * n), float(_exact_max_geometric(n, p)), rtol=1e-11
    )


def test_max_of_four_hand_value():
    """n = 4, p = 0.1: 4/0.1 - 6/0.19 + 4/0.271 - 1/0.3439 = 20.273379."""
    assert_allclose(
        expected_max_geometric([0.1] * 4), 40 - 6 / 0.19 + 4 / 0.271 - 1 / 0.3439, rtol=1e-13
    )


def test_heterogeneous_max_matches_inclusion_exclusion():
    """E[max] = sum over non-empty subsets S of (-1)^{|S|+1} / (1 - prod_{i in S} q_i)."""
    ps = [0.05, 0.02, 0.1, 0.3]
    exact = 0.0
    for r in range(1, len(ps) + 1):
        for sub in itertools.combinations(ps, r):
            exact += (-1) ** (r + 1) / (1 - np.prod([1 - x for x in sub]))
    assert_allclose(expected_max_geometric(ps), exact, rtol=1e-12)


@pytest.mark.parametrize("p", [0.5, 0.05, 1e-3])
@pytest.mark.parametrize("a", [1.0, 0.7, 0.3])
def test_two_segments_shchukin(p, a):
    """Shchukin, Schmidt, van Loock, PRA 100, 032322 (2019), n = 2:
    E[T] = (3 - 2p) / (a p (2 - p)); the distribution recursion must agree."""
    closed = (3 - 2 * p) / (a * p * (2 - p))
    assert_allclose(expected_waiting_two_segments(p, a), closed, rtol=1e-14)
    assert_allclose(expected_waiting_nested([p, p], a), closed, rtol=1e-9)


@pytest.mark.parametrize("n", [4, 8])
@pytest.mark.parametrize("p", [0.3, 0.02])
def test_nested_with_deterministic_swaps_is_max_of_links(n, p):
    """With a = 1 every scheme waits for the last link: E[T] = E[max of n]."""
    assert_allclose(
        expected_waiting_nested([p] * n, 1.0),
        float(_exact_max_geometric(n, Fraction(p))),
        rtol=1e-9,
    )


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_four_segments_nested_small_cases_by_hand(p):
    """n = 4 doubling with a = 1/2 from its renewal structure (Shchukin et al. 2019):
    E[T4] = E[max(T2, T2')] / a with T2 = sum of Geom(a) copies of max(G, G').
    p = 1: links are instant, T2 ~ Geom(1/2) on {1, 2, ...}, E[max of two
    Geom(1/2)] = (3 - 1)/(0.5 * 1.5) = 8/3, so E[T4] = 16/3."""
    if p == 1.0:
        assert_allclose(expected_waiting_nested([1.0] * 4, 0.5), 16 / 3, rtol=1e-10)
    else:
        pmf = nested_waiting_time_pmf([p] * 4, 0.5)
        assert_allclose(pmf.sum(), 1.0, rtol=1e-10)
        # Wald: E[T4] = E[max(T2,T2')]/a, where E[T2] = (3-2p)/(a p(2-p)) < E[max] < 2 E[T2]
        e2 = expected_waiting_two_segments(p, 0.5)
        e4 = expected_waiting_nested([p] * 4, 0.5)
        assert e2 / 0.5 < e4 < 2 * e2 / 0.5


def test_nested_partners_follow_sequence_order():
    """SeQUeNCe's reduced-path rule: 4 segments -> doubling; 3 -> node 2 joins 0-2 and 2-3."""
    assert nested_swap_partners(4)[1:4] == [(0, 2), (0, 4), (2, 4)]
    assert nested_swap_partners(3)[1:3] == [(0, 2), (0, 3)]


def test_elementary_link_model_values():
    """50 km at 0.2 dB/km: p = 1/2 * 10**(-10/10) = 0.05; period = L / (c/1.468)."""
    assert_allclose(two_photon_success_prob(50.0, 0.2), 0.05, rtol=1e-14)
    assert_allclose(two_photon_success_prob(50.0, 0.2, 0.8, 0.9), 0.05 * 0.72**2, rtol=1e-14)
    d = 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    assert_allclose(attempt_period_s(50.0, 1e5, "continuous"), d, rtol=1e-14)
    # negotiated: REQUEST/RESPONSE, NEGOTIATE/ACK (3 d), photon L/2 and herald L/2 (d)
    assert_allclose(attempt_period_s(50.0, 1e5, "negotiated"), 4 * d, rtol=1e-14)
    assert attempt_period_s(0.1, 1e3, "continuous") == pytest.approx(1e-3)  # rate-limited


@pytest.mark.parametrize("n", [1, 2, 3])
def test_engine_rate_is_inverse_waiting_time(n):
    """Rate = 1 / (E[max of n geometric(0.05)] * L/c); fidelity = Werner product (T2 = inf).
    Up to three segments no swap-ASAP link restarts before the delivery, so this is the
    renewal cycle's rate; from four, links pipeline (test_analytic_pipelined.py)."""
    chain = make_chain((50.0,) * n, make_hardware(coherence_time_s=math.inf, link_fidelity=0.97))
    res = AnalyticChainEngine().simulate(chain, seed=0, max_pairs=1, max_time_s=1.0)
    tau = 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    assert_allclose(
        res.pair_rate_hz, 1 / (float(_exact_max_geometric(n, Fraction(1, 20))) * tau), rtol=1e-10
    )
    w0 = (4 * 0.97 - 1) / 3
    assert_allclose(res.mean_fidelity, (1 + 3 * w0**n) / 4, rtol=1e-12)
    assert res.extra["approximation"] == "none (exact)"


def test_engine_two_segment_fidelity_exact_storage():
    """n = 2, a = 1: F = (1 + 3 w0^2 e^{-4 tau/T2} E[exp(-2|G1-G2| tau/T2)])/4: each link
    is heralded tau = L/c after emission (factor e^{-2 tau/T2} each), the earlier pair waits
    |G1 - G2| periods; the expectation summed directly over P(|G1-G2| = 0) = p/(2-p),
    P(= k) = 2 p q^k/(2-p)."""
    t2 = 5e-3
    chain = make_chain((50.0, 50.0), make_hardware(coherence_time_s=t2, link_fidelity=0.99))
    res = AnalyticChainEngine().simulate(chain, seed=0, max_pairs=1, max_time_s=1.0)
    p, tau = 0.05, 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    k = np.arange(1, 5000)
    factor = p / (2 - p) + np.sum(2 * p * (1 - p) ** k / (2 - p) * np.exp(-2 * k * tau / t2))
    w0 = (4 * 0.99 - 1) / 3
    expected = (1 + 3 * w0**2 * math.exp(-4 * tau / t2) * factor) / 4
    assert_allclose(res.mean_fidelity, expected, rtol=1e-12)
    assert res.extra["approximation"] == "none (exact)"


def test_two_segment_storage_any_swap_probability_closed_form():
    """n = 2, a = 0.4: only the successful round's wait counts,
    E[exp(-k|G1-G2|)] = p/(2-p) (1 + 2x/(1-x)), x = q e^{-k}, k = 2 tau / T2."""
    t2 = 2e-2
    chain = make_chain((50.0, 50.0), make_hardware(coherence_time_s=t2, swap_success_prob=0.4,
                                                     link_fidelity=1.0, memory_efficiency=1.0,
                                                     detector_efficiency=1.0))
    res = AnalyticChainEngine().simulate(chain)
    p, tau = 0.05, 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    kk = 2 * tau / t2
    x = (1 - p) * math.exp(-kk)
    factor = p / (2 - p) * (1 + 2 * x / (1 - x))
    assert_allclose(res.mean_fidelity, (1 + 3 * math.exp(-2 * kk) * factor) / 4, rtol=1e-10)
    assert_allclose(res.pair_rate_hz, 1 / (expected_waiting_two_segments(p, 0.4) * tau), rtol=1e-10)


@pytest.mark.parametrize("n", [2, 3, 5, 12])
@pytest.mark.parametrize("p", [0.3, 0.05])
def test_markov_chain_reproduces_max_of_geometrics(n, p):
    """a = 1: the covered-links Markov chain's absorption time is E[max of n geometric(p)]."""
    attempts, _ = swap_asap_markov([p] * n, 1.0, 0.0, fidelity=False)
    assert_allclose(attempts, float(_exact_max_geometric(n, Fraction(p).limit_denominator(1000))),
                    rtol=1e-9)


@pytest.mark.parametrize(("p", "a"), [(0.3, 0.5), (0.05, 0.8), (0.9, 0.2)])
def test_markov_chain_two_segments_shchukin(p, a):
    """Two links, probabilistic swap: (3 - 2p) / (a p (2 - p)) (Shchukin et al. 2019)."""
    attempts, _ = swap_asap_markov([p, p], a, 0.0, fidelity=False)
    assert_allclose(attempts, (3 - 2 * p) / (a * p * (2 - p)), rtol=1e-10)


def test_markov_chain_three_links_by_hand():
    """Three links, p = 1 per attempt, a = 1/2: every attempt all free links succeed.
    From nothing: swaps at nodes 1 then 2 (left to right). Node 1 fails (1/2): links 0, 1
    lost, link 2 kept -> state {2}; from {2}, links 0, 1 return and the same two swaps
    run. Node 1 succeeds and node 2 fails (1/4): all lost -> state {}. Both succeed (1/4):
    done. E_0 = 1 + E_2/2 + E_0/4 and E_2 = E_0 (same swaps) => E_0 = 4 attempts."""
    attempts, _ = swap_asap_markov([1.0, 1.0, 1.0], 0.5, 0.0, fidelity=False)
    assert_allclose(attempts, 4.0, rtol=1e-12)


def test_markov_storage_matches_the_deterministic_chain():
    """a = 1: the marked chain's storage factor equals the Kronecker-chain one (both exact)."""
    from qnetemu.engines.repeater_analytic import _swap_asap_storage_deterministic

    p = np.array([0.3, 0.2, 0.25, 0.3])
    _, marked = swap_asap_markov(p, 1.0, 0.02)
    assert_allclose(marked, _swap_asap_storage_deterministic(p, 0.02), rtol=1e-10)


def test_pumped_link_generating_function():
    """Pumped link: the pmf from the generating function has mean E_2 with E_0 = 1/p,
    E_k = (E_{k-1} + 1/p)/P_k (every failed round restarts), and sums to 1."""
    _, probs = pumping_schedule(0.9, 2, "bbpssw")
    pmf = pumped_attempts_pmf(0.2, probs, 1 << 12)
    assert_allclose(pmf.sum(), 1.0, rtol=1e-12)
    assert_allclose(np.dot(np.arange(pmf.size), pmf), pumping_expected_attempts(0.2, probs), rtol=1e-10)


@pytest.mark.parametrize(
    ("hardware", "protocol", "field"),
    [
        (make_hardware(cutoff_time_s=1e-2), None, "repeater.cutoff_time_s"),
        (make_hardware(memories_per_node=2), RepeaterProtocol("nested", "negotiated", "classical", "shared_pool"),
         "repeater.protocol.multiplexing"),
        (make_hardware(), RepeaterProtocol("swap_asap", "continuous", "classical", "single"),
         "repeater.protocol.swap_messaging"),
        (make_hardware(decoherence="dephasing"), None, "repeater.memory.decoherence"),
        (make_hardware(swap_fidelity=0.99), None, "repeater.swap_fidelity"),
    ],
)
def test_refuses_what_it_cannot_compute_exactly(hardware, protocol, field):
    """Cutoffs, the shared pool and swap-ASAP beyond what the Markov chain solves are refused,
    naming the scenario field, never approximated silently."""
    kwargs = {} if protocol is None else {"protocol": protocol}
    with pytest.raises(ProtocolNotSupported, match=field.replace(".", r"\.")):
        AnalyticChainEngine().simulate(make_chain((50.0,) * 4, hardware, **kwargs))


def _asap_chain(n, swap, t2, length_km=10.0):
    """Swap-ASAP, continuous attempts, instant messages, one memory, lossless devices."""
    return make_chain((length_km,) * n,
                     make_hardware(coherence_time_s=t2, swap_success_prob=swap, memories_per_node=1,
                                      memory_efficiency=1.0, detector_efficiency=1.0, link_fidelity=0.99),
                     protocol=RepeaterProtocol("swap_asap", "continuous", "instant", "single"))


@pytest.mark.parametrize(("n", "swap", "t2"), [(10, 0.7, 0.02), (12, 0.8, math.inf)])
def test_renewal_markov_chain_agrees_with_renewal_monte_carlo(n, swap, t2):
    """The renewal chain (every link restarts after each delivery: the textbook cycle, which
    the engine keeps for three segments; from four, links pipeline) at 10 links (rate and
    fidelity) and 12 (rate) against the Monte Carlo engine's renewal model within 4 standard
    errors (10,000 deliveries: about 0.7 % in rate)."""
    from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine

    chain = _asap_chain(n, swap, t2)
    mc = MonteCarloChainEngine(pipelining=False).simulate(chain, seed=11, max_pairs=10_000, max_time_s=1e9)
    p, tau = mc.extra["link_success_prob"][0], mc.extra["attempt_period_s"]
    decay = 0.0 if math.isinf(t2) else 2 * tau / t2
    attempts, factor = swap_asap_markov([p] * n, swap, decay, fidelity=math.isfinite(t2))
    assert abs(1 / (attempts * tau) - mc.pair_rate_hz) < 4 * mc.pair_rate_stderr_hz
    w0 = (4 * 0.99 - 1) / 3
    if math.isfinite(t2):
        herald_s = 10e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S  # each pair stores its herald delay
        fidelity = (1 + 3 * w0**n * math.exp(-2 * n * herald_s / t2) * factor) / 4
        assert abs(fidelity - mc.mean_fidelity) < 4 * mc.fidelity_stderr
    else:
        assert_allclose((1 + 3 * w0**n) / 4, mc.mean_fidelity, rtol=1e-12)


def test_beyond_the_exact_pipelined_chain_the_approximation_is_named():
    """13 links with probabilistic swaps: computed, not refused, and the result says which
    approximation made it (with its measured error) and that it is not exact."""
    res = AnalyticChainEngine().simulate(_asap_chain(13, 0.6, 0.05))
    assert res.extra["exact"] is False and res.extra["pipelined"] is True
    assert res.extra["approximation"].startswith(PIPELINED_APPROXIMATION)
    assert "measured error" in res.extra["approximation"]


def test_extrapolation_predicts_the_exact_chain():
    """The approximation's model, checked on the exact chain (p = 0.05, a = 0.5): E[T] at 12
    links predicted from 8-11 links (one step) within 0.05 %, and from 5-8 (four steps)
    within 0.5 %; the storage factor at 10 links from 5-8 within 0.05 %."""
    p, a = 0.05, 0.5
    log_att = np.log([swap_asap_markov([p] * k, a, 0.0, fidelity=False)[0] for k in range(5, 13)])
    assert abs(math.exp(_extrapolate_increments(log_att[3:7], 8, 12) - log_att[7]) - 1) < 5e-4
    assert abs(math.exp(_extrapolate_increments(log_att[0:4], 5, 12) - log_att[7]) - 1) < 5e-3
    log_fac = -np.log([swap_asap_markov([p] * k, a, 0.01)[1] for k in range(5, 11)])
    assert abs(math.exp(log_fac[5] - _extrapolate_increments(log_fac[0:4], 5, 10)) - 1) < 5e-4


def test_marked_chain_at_ten_links_matches_the_deterministic_chain():
    """a = 1 at 10 links: the marked chain (8,100 states) and the Kronecker chain agree."""
    from qnetemu.engines.repeater_analytic import _swap_asap_storage_deterministic

    p = np.linspace(0.1, 0.3, 10)
    attempts, marked = swap_asap_markov(p, 1.0, 0.01)
    assert_allclose(marked, _swap_asap_storage_deterministic(p, 0.01), rtol=1e-9)
    assert_allclose(attempts, expected_max_geometric(p), rtol=1e-9)


def test_classical_nested_chain_of_1024_segments_closed_form():
    """2**10 equal segments, a = 1, negotiated attempts (tau = 4 d), classical messages: every
    level of the symmetric tree adds the same waits, so T = tau max_i G_i + D with
    D = sum over levels l = 1..10 of the pairing round trip 2**l d and the outcome's flight
    2**(l-1) d (the last one to the end nodes): D = 3 (2**10 - 1) d. Tests the laws'
    windows (the deterministic part only moves them)."""
    n = 1024
    chain = make_chain((50.0,) * n, make_hardware(coherence_time_s=math.inf, memories_per_node=1),
                      protocol=RepeaterProtocol("nested", "negotiated", "classical", "single"))
    res = AnalyticChainEngine().simulate(chain)
    d = 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    p = res.extra["link_success_prob"][0]
    expected = 4 * d * expected_max_geometric([p] * n) + 3 * (n - 1) * d
    assert_allclose(res.pair_rate_hz, 1 / expected, rtol=1e-10)
    assert res.extra["distinct_subtrees"] <= 2 * 11


def test_thousand_segment_nested_chain_shares_sub_trees():
    """1,000 equal segments: the nested tree has ~2 distinct sub-trees per level, and the
    rate with deterministic swaps equals E[max of 1,000 geometric] (nested = max for a = 1)."""
    chain = make_chain((50.0,) * 1000, make_hardware(coherence_time_s=math.inf),
                      protocol=RepeaterProtocol("nested", "continuous", "instant", "single"))
    res = AnalyticChainEngine().simulate(chain)
    assert res.extra["distinct_subtrees"] < 40
    tau = 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    p = 1 - (1 - two_photon_success_prob(50.0, 0.2, 1.0, 1.0)) ** 1
    assert_allclose(res.pair_rate_hz, 1 / (expected_max_geometric([p] * 1000) * tau), rtol=1e-9)


@pytest.mark.parametrize(
    ("hardware", "field"),
    [
        (make_hardware(memory_efficiency=1.2), "memory_efficiency"),
        (make_hardware(detector_efficiency=-0.1), "detector_efficiency"),
        (make_hardware(coherence_time_s=-1.0), "coherence_time_s"),
        (make_hardware(memories_per_node=0), "memories_per_node"),
        (make_hardware(swap_success_prob=1.5), "swap_success_prob"),
        (make_hardware(cutoff_time_s=0.0), "cutoff_time_s"),
        (make_hardware(purification="foo", purification_rounds=1), "purification"),
    ],
)
def test_invalid_hardware_names_the_field(hardware, field):
    with pytest.raises(ValueError, match=field):
        AnalyticChainEngine().simulate(
            make_chain((50.0, 50.0), hardware), seed=0, max_pairs=1, max_time_s=1.0
        )


def test_invalid_segment_length():
    with pytest.raises(ValueError, match=r"segment_lengths_km\[1\]"):
        AnalyticChainEngine().simulate(make_chain((50.0, -3.0)), seed=0, max_pairs=1, max_time_s=1.0)


def test_result_rows_name_the_approximation(cli, scenarios_dir, tmp_path):
    """`qnetemu run`: a repeater row of the analytic engine says how it was computed
    (the renewal recursion for the shipped chain; the pipelined swap-ASAP chain's extrapolation
    and its measured error for 14 links with probabilistic swaps)."""
    import pandas as pd
    import yaml

    rows = {}
    for name, changes in (("exact", {}), ("approx", {"swap_success_prob": 0.6, "placement": {"spacing_km": 15},
                                                      "protocol": {"swap_order": "swap_asap",
                                                                   "link_generation": "continuous",
                                                                   "swap_messaging": "instant",
                                                                   "multiplexing": "single"}})):
        data = yaml.safe_load((scenarios_dir / "repeater_chain.yaml").read_text())
        data["repeater"].update(changes)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data))
        code, _, _ = cli("run", path, "--out", tmp_path / name, "--engine", "analytic", "--no-plots", "--quiet")
        assert code == 0
        demands = pd.read_parquet(tmp_path / name / "demands.parquet")
        rows[name] = demands[demands.architecture == "repeater"].iloc[0]
    # The shipped chain runs classical swap messages: the renewal recursion, named as such.
    from qnetemu.engines.repeater_analytic import RENEWAL_APPROXIMATION
    assert rows["exact"].approximation == (RENEWAL_APPROXIMATION if rows["exact"].hops >= 3 else "none (exact)")
    assert rows["approx"].hops == 14
    assert PIPELINED_APPROXIMATION in rows["approx"].approximation
    assert "measured error" in rows["approx"].approximation


def test_classical_messaging_on_three_or_more_segments_is_labelled_renewal():
    """The recursion restarts every link after each delivery; SeQUeNCe and the Monte Carlo
    engine pipeline links freed by swaps. So from three segments under classical messages
    the result names that approximation and is not marked exact; instant messages on four
    segments (no nested sub-pair has two inner nodes) and two segments stay exact."""
    from qnetemu.engines.repeater_analytic import RENEWAL_APPROXIMATION

    classical = RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes")
    instant = RepeaterProtocol("nested", "negotiated", "instant", "independent_lanes")
    for n, protocol, renewal in ((2, classical, False), (3, classical, True), (8, classical, True),
                                 (4, instant, False)):
        res = AnalyticChainEngine().simulate(make_chain((20.0,) * n, make_hardware(), protocol=protocol))
        assert (RENEWAL_APPROXIMATION in res.extra["approximation"]) is renewal
        assert res.extra["exact"] is (not renewal)


def test_renewal_approximation_error_at_four_segments_is_what_it_states():
    """At 4 x 20 km the label says 0.5-2 % low in rate: the pipelined Monte Carlo engine's
    rate lies that far above (within 4 standard errors of the stated band)."""
    from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine

    protocol = RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes")
    chain = make_chain((20.0,) * 4, make_hardware(coherence_time_s=1.0, link_fidelity=0.98), protocol=protocol)
    a = AnalyticChainEngine().simulate(chain)
    m = MonteCarloChainEngine().simulate(chain, seed=3, max_pairs=20_000, max_time_s=1e9)
    assert m.pair_rate_hz - 4 * m.pair_rate_stderr_hz <= a.pair_rate_hz / (1 - 0.02)
    assert m.pair_rate_hz + 4 * m.pair_rate_stderr_hz >= a.pair_rate_hz / (1 - 0.005)
