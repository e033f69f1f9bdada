"""Analytic repeater-chain engine: waiting times against closed forms."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.engines.chain import ChainSpec, RepeaterHardware
from qnetemu.engines.elementary_link import (
    attempt_period_s,
    nested_swap_partners,
    two_photon_success_prob,
)
from qnetemu.engines.repeater_analytic import (
    AnalyticChainEngine,
    expected_max_geometric,
    expected_waiting_nested,
    expected_waiting_two_segments,
    nested_storage_factor,
    nested_waiting_time_pmf,
    swap_asap_mean_storage,
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
    assert_allclose(attempt_period_s(50.0, 1e5), 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S, rtol=1e-14)
    assert attempt_period_s(0.1, 1e3) == pytest.approx(1e-3)  # rate-limited


@pytest.mark.parametrize("n", [1, 2, 4, 8])
def test_engine_rate_is_inverse_waiting_time(n):
    """Rate = 1 / (E[max of n geometric(0.05)] * L/c); fidelity = Werner product (T2 = inf)."""
    chain = ChainSpec((50.0,) * n, RepeaterHardware(coherence_time_s=math.inf, link_fidelity=0.97))
    res = AnalyticChainEngine().simulate(chain, seed=0, max_pairs=1, max_time_s=1.0)
    tau = 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    assert_allclose(
        res.pair_rate_hz, 1 / (float(_exact_max_geometric(n, Fraction(1, 20))) * tau), rtol=1e-10
    )
    w0 = (4 * 0.97 - 1) / 3
    assert_allclose(res.mean_fidelity, (1 + 3 * w0**n) / 4, rtol=1e-12)
    assert res.extra["approximation"] == "none (exact)"


def test_engine_two_segment_fidelity_exact_storage():
    """n = 2, a = 1: F = (1 + 3 w0^2 E[exp(-|G1-G2| tau/T2)])/4, the expectation summed
    directly over P(|G1-G2| = 0) = p/(2-p), P(= k) = 2 p q^k/(2-p)."""
    t2 = 5e-3
    chain = ChainSpec((50.0, 50.0), RepeaterHardware(coherence_time_s=t2, link_fidelity=0.99))
    res = AnalyticChainEngine().simulate(chain, seed=0, max_pairs=1, max_time_s=1.0)
    p, tau = 0.05, 50e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    k = np.arange(1, 5000)
    factor = p / (2 - p) + np.sum(2 * p * (1 - p) ** k / (2 - p) * np.exp(-k * tau / t2))
    w0 = (4 * 0.99 - 1) / 3
    assert_allclose(res.mean_fidelity, (1 + 3 * w0**2 * factor) / 4, rtol=1e-12)


def test_engine_flags_approximations():
    chain = ChainSpec((50.0,) * 4, RepeaterHardware(swap_success_prob=0.5, coherence_time_s=0.1))
    res = AnalyticChainEngine().simulate(chain, seed=0, max_pairs=1, max_time_s=1.0)
    assert "restarts the chain" in res.extra["approximation"]
    assert "Jensen" in res.extra["approximation"]


@pytest.mark.parametrize("p", [0.5, 0.05, 0.002])
def test_swap_asap_mean_storage_two_links(p):
    """Two links: the stored pair waits |G1 - G2|, E = 2(1-p)/(p(2-p))
    (= 2 E[max] - 2/p with Shchukin et al.'s E[max])."""
    assert_allclose(swap_asap_mean_storage([p, p]), 2 * (1 - p) / (p * (2 - p)), rtol=1e-10)


def test_nested_storage_factor_two_links_closed_form():
    """n = 2, any a: E[exp(-k|G1-G2|)] = p/(2-p) (1 + 2x/(1-x)), x = q e^{-k}."""
    p, k = 0.1, 0.05
    x = (1 - p) * math.exp(-k)
    assert_allclose(
        nested_storage_factor([p, p], 0.4, k), p / (2 - p) * (1 + 2 * x / (1 - x)), rtol=1e-10
    )


@pytest.mark.parametrize(
    ("hardware", "field"),
    [
        (RepeaterHardware(memory_efficiency=1.2), "memory_efficiency"),
        (RepeaterHardware(detector_efficiency=-0.1), "detector_efficiency"),
        (RepeaterHardware(coherence_time_s=-1.0), "coherence_time_s"),
        (RepeaterHardware(memories_per_node=0), "memories_per_node"),
        (RepeaterHardware(swap_success_prob=1.5), "swap_success_prob"),
        (RepeaterHardware(cutoff_time_s=0.0), "cutoff_time_s"),
        (RepeaterHardware(purification="foo", purification_rounds=1), "purification"),
    ],
)
def test_invalid_hardware_names_the_field(hardware, field):
    with pytest.raises(ValueError, match=field):
        AnalyticChainEngine().simulate(
            ChainSpec((50.0, 50.0), hardware), seed=0, max_pairs=1, max_time_s=1.0
        )


def test_invalid_segment_length():
    with pytest.raises(ValueError, match=r"segment_lengths_km\[1\]"):
        AnalyticChainEngine().simulate(ChainSpec((50.0, -3.0)), seed=0, max_pairs=1, max_time_s=1.0)
