"""Tests of the SeQUeNCe adapter and of the isolated child-process runner.

Reference values are closed forms derived from SeQUeNCe 1.3.1's source
(``sequence/entanglement_management/generation/single_heralded.py``,
``components/bsm.py::SingleHeraldedBSM``, ``components/memory.py``) and
from the unit definitions (``sequence.constants``: 1 s = 1e12 ps; the adapter
sets the quantum channels to the fibre's speed), not numbers copied from a run.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose
from repeater_chain_values import make_chain, make_hardware

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.engines.chain import (
    SEQUENCE_NATIVE_PROTOCOL,
    ChainResult,
    ChainSpec,
    ProtocolNotSupported,
    RepeaterProtocol,
)
from qnetemu.engines.isolated import run_isolated
from qnetemu.engines.sequence_adapter import (
    SequenceChainEngine,
    build_router_net_config,
    request_start_s,
)

#: Quantum-channel light speed the adapter sets (SeQUeNCe's default would be 2e8 m/s).
V_QUANTUM_M_PER_S = SPEED_OF_LIGHT_IN_FIBRE_M_PER_S


def _chain(lengths_km, **hardware) -> ChainSpec:
    return make_chain(tuple(lengths_km), hardware=make_hardware(**hardware),
                     protocol=SEQUENCE_NATIVE_PROTOCOL)


# --------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("lengths_km", "attenuation_db_per_km"),
    [((50.0,), 0.2), ((50.0, 50.0), 0.2), ((12.5, 40.0, 7.25, 100.0), 0.17)],
)
def test_config_units_and_structure(lengths_km, attenuation_db_per_km):
    """Lengths in m, attenuation in dB/m, delays in ps (SeQUeNCe's units).

    Classical delay between routers i < j is the fibre distance between them
    divided by c / 1.468 (qnetemu.constants), e.g. 100 km -> 489.67 us.
    """
    chain = make_chain(lengths_km, attenuation_db_per_km=attenuation_db_per_km)
    config = build_router_net_config(chain, seed=3, stop_time_s=2.5, formalism="bell_diagonal")
    n_routers = len(lengths_km) + 1
    assert config["stop_time"] == 2_500_000_000_000
    assert [n["name"] for n in config["nodes"]] == [f"r{i}" for i in range(n_routers)]
    # End routers hold one bank of memories, inner routers one per neighbour.
    assert [n["memo_size"] for n in config["nodes"]] == [1] + [2] * (n_routers - 2) + [1]
    q = config["qconnections"]
    assert [(c["node1"], c["node2"]) for c in q] == [
        (f"r{i}", f"r{i + 1}") for i in range(len(lengths_km))
    ]
    assert_allclose([c["distance"] for c in q], np.array(lengths_km) * 1e3, rtol=1e-12)
    assert_allclose([c["attenuation"] for c in q], attenuation_db_per_km / 1e3, rtol=1e-12)
    assert all(c["type"] == "meet_in_the_middle" for c in q)
    pairs = {(c["node1"], c["node2"]): c for c in config["cconnections"]}
    assert len(pairs) == n_routers * (n_routers - 1) // 2
    position_m = np.concatenate(([0.0], np.cumsum(lengths_km) * 1e3))
    for i in range(n_routers):
        for j in range(i + 1, n_routers):
            expected_ps = (position_m[j] - position_m[i]) * 1.468 / 299_792_458.0 * 1e12
            assert abs(pairs[(f"r{i}", f"r{j}")]["delay"] - expected_ps) <= 0.5


def test_config_100_km_delay_value():
    """100 km of SMF-28 (group index 1.468): 489,672,... ps one way."""
    config = build_router_net_config(
        _chain((100.0,)), seed=0, stop_time_s=1.0, formalism="bell_diagonal"
    )
    assert config["cconnections"][0]["delay"] == round(1e5 * 1.468 / 299_792_458.0 * 1e12)
    assert 489_600_000 < config["cconnections"][0]["delay"] < 489_700_000


@pytest.mark.parametrize("formalism", ["bell_diagonal", "density_matrix", "ket_vector"])
def test_config_hardware_mapping(formalism):
    """RepeaterHardware lands in SeQUeNCe's templates; pitfall 2 for swapping."""
    hw = dict(
        memory_efficiency=0.7,
        coherence_time_s=0.25,
        memories_per_node=3,
        link_fidelity=0.95,
        attempt_rate_hz=2e6,
        detector_efficiency=0.8,
        swap_success_prob=0.6,
        # bell_diagonal has no swap degradation, so it only takes 1
        swap_fidelity=1.0 if formalism == "bell_diagonal" else 0.97,
        cutoff_time_s=0.05,
    )
    config = build_router_net_config(
        _chain((10.0, 10.0), **hw), seed=1, stop_time_s=1.0, formalism=formalism
    )
    assert config["formalism"] == formalism
    router = config["templates"][config["nodes"][0]["template"]]
    memory = router["MemoryArray"]
    assert memory["fidelity"] == 0.95
    assert memory["efficiency"] == 0.7
    assert memory["frequency"] == 2e6
    # per-memory T2 = 0.25 s, depolarising: SeQUeNCe's total Pauli rate 1/T with T = 4 T2 / 3
    assert_allclose(memory["coherence_time"], 0.25 * 4 / 3, rtol=1e-12)
    assert "decoherence_errors" not in memory  # SeQUeNCe's default: X, Y, Z equally
    assert memory["cutoff_flag"] is True
    assert_allclose(memory["cutoff_ratio"], 0.05 / (0.25 * 4 / 3), rtol=1e-12)
    assert router["EntanglementSwapping"]["swapping_success_prob"] == 0.6
    if formalism == "bell_diagonal":
        assert "swapping_degradation" not in router["EntanglementSwapping"]
    else:
        assert router["EntanglementSwapping"]["swapping_degradation"] == 0.97
    bsm = config["templates"][config["qconnections"][0]["template"]]
    encoding = "single_heralded" if formalism == "bell_diagonal" else "single_atom"
    assert bsm["encoding_type"] == encoding
    bsm_class = "SingleHeraldedBSM" if formalism == "bell_diagonal" else "SingleAtomBSM"
    assert [d["efficiency"] for d in bsm[bsm_class]["detectors"]] == [0.8, 0.8]
    assert [n["memo_size"] for n in config["nodes"]] == [3, 6, 3]


def test_config_dephasing_memories():
    """Dephasing: Z errors only at total rate 1/T, coherence exp(-2t/T), so T = 2 T2."""
    config = build_router_net_config(
        _chain((10.0,), coherence_time_s=0.1, decoherence="dephasing"), seed=1, stop_time_s=1.0,
        formalism="bell_diagonal",
    )
    memory = config["templates"][config["nodes"][0]["template"]]["MemoryArray"]
    assert memory["decoherence_errors"] == [0.0, 0.0, 1.0]
    assert_allclose(memory["coherence_time"], 0.2, rtol=1e-12)


@pytest.mark.parametrize(
    ("protocol", "memories", "formalism", "field"),
    [
        (RepeaterProtocol("nested", "continuous", "classical", "shared_pool"), 1, "density_matrix",
         "link_generation"),
        (RepeaterProtocol("nested", "negotiated", "classical", "single"), 2, "bell_diagonal",
         "multiplexing"),
    ],
)
def test_refuses_protocols_sequence_does_not_run(protocol, memories, formalism, field):
    """Continuous attempts run SeQUeNCe's single-heralded protocol, so they are refused
    under Barrett-Kok formalisms (a user error naming repeater.protocol.<field>), as is
    'single' with several memories; never run as something else."""
    chain = make_chain((10.0,) * 3, make_hardware(memories_per_node=memories), protocol=protocol)
    with pytest.raises(ProtocolNotSupported, match=rf"repeater\.protocol\.{field}"):
        SequenceChainEngine(formalism).check_protocol(chain)


def test_accepts_swap_asap_and_instant_messages_on_long_chains():
    """Swap-ASAP, instant swap messages and continuous attempts run on any number of
    segments (qnetemu.engines.sequence_rules, qnetemu.engines.sequence_generation)."""
    for mux in ("shared_pool", "independent_lanes"):
        for order in ("swap_asap", "nested"):
            for messaging in ("classical", "instant"):
                for generation in ("negotiated", "continuous"):
                    proto = RepeaterProtocol(order, generation, messaging, mux)
                    chain = make_chain((10.0,) * 5, make_hardware(), protocol=proto)
                    SequenceChainEngine().check_protocol(chain)


def test_config_no_cutoff_and_infinite_coherence():
    """cutoff None keeps pairs (no expiry); infinite T2 is SeQUeNCe's -1."""
    config = build_router_net_config(
        _chain((10.0,), coherence_time_s=math.inf), seed=1, stop_time_s=1.0, formalism="ket_vector"
    )
    memory = config["templates"][config["nodes"][0]["template"]]["MemoryArray"]
    assert memory["cutoff_flag"] is False
    assert memory["coherence_time"] == -1.0


def test_config_is_pure_and_seeded():
    """Same inputs give the same dict; another seed changes only the seeds."""
    chain = _chain((20.0, 30.0, 40.0))
    a = build_router_net_config(chain, seed=11, stop_time_s=1.0, formalism="bell_diagonal")
    b = build_router_net_config(chain, seed=11, stop_time_s=1.0, formalism="bell_diagonal")
    c = build_router_net_config(chain, seed=12, stop_time_s=1.0, formalism="bell_diagonal")
    assert a == b
    seeds_a = [n["seed"] for n in a["nodes"]] + [q["seed"] for q in a["qconnections"]]
    seeds_c = [n["seed"] for n in c["nodes"]] + [q["seed"] for q in c["qconnections"]]
    assert len(set(seeds_a)) == len(seeds_a)
    assert seeds_a != seeds_c
    for key in ("templates", "cconnections", "stop_time"):
        assert a[key] == c[key]


@pytest.mark.parametrize(
    ("chain", "kwargs", "message"),
    [
        (_chain((10.0,)), {"formalism": "stabilizer"}, "formalism"),
        (make_chain(()), {}, "at least one segment"),
        (_chain((10.0, -1.0)), {}, "segment_lengths_km"),
        (_chain((10.0,), purification="bbpssw", purification_rounds=1), {}, "purification"),
        (_chain((10.0,), link_fidelity=0.4), {}, "link_fidelity"),
        (_chain((10.0,), memory_efficiency=0.0), {}, "memory_efficiency"),
        (_chain((10.0,), memories_per_node=0), {}, "memories_per_node"),
        (_chain((10.0,), swap_fidelity=0.97), {}, "swap_fidelity"),
        (_chain((10.0,)), {"stop_time_s": float("nan")}, "stop_time_s"),
        (_chain((10.0,)), {"seed": -1}, "seed"),
    ],
)
def test_config_rejects_invalid(chain, kwargs, message):
    """A spec the adapter cannot translate raises ValueError naming the field."""
    args = {"seed": 0, "stop_time_s": 1.0, "formalism": "bell_diagonal"} | kwargs
    with pytest.raises(ValueError, match=message):
        build_router_net_config(chain, **args)


# ----------------------------------------------------------- two-router chain


def _attempt_period_s(length_km: float) -> float:
    """SeQUeNCe's single-heralded attempt period for one segment [s].

    Resource-manager request and reply plus the protocol's negotiation (three
    classical crossings of the segment), the photon's flight to the middle
    at the fibre's speed, the heralding message back and SeQUeNCe's 10 ps scheduling
    gap (single_heralded.py, generation_base.py, action_condition_set.py).
    """
    length_m = length_km * 1e3
    v_f = SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    return 3 * length_m / v_f + length_m / 2 / V_QUANTUM_M_PER_S + length_m / 2 / v_f + 10e-12


@pytest.mark.parametrize(
    ("length_km", "coherence_time_s", "link_fidelity"),
    [(50.0, 10.0, 0.99), (50.0, 0.05, 0.99), (20.0, 0.01, 0.9)],
)
def test_two_node_fidelity_closed_form(length_km, coherence_time_s, link_fidelity):
    """Delivered fidelity = link fidelity decohered from emission to herald.

    Per-memory T2 (depolarising): each qubit keeps exp(-t/T2) of its Bloch
    vector, so after t on both memories F = 1/4 + (F0 - 1/4) exp(-2 t / T2),
    with t the photon flight plus the heralding message (+10 ps of
    SeQUeNCe's scheduling gap). SeQUeNCe gets T = 4 T2/3 and applies its
    Pauli channel (Memory.bds_decohere, rates 1/(3T) each).
    """
    chain = _chain((length_km,), coherence_time_s=coherence_time_s, link_fidelity=link_fidelity)
    result = SequenceChainEngine().simulate(chain, seed=5, max_pairs=20, max_time_s=0.5)
    assert result.status == "ok" and result.pairs >= 5
    half_m = length_km * 1e3 / 2
    t_s = half_m / V_QUANTUM_M_PER_S + half_m / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S + 10e-12
    expected = 0.25 + (link_fidelity - 0.25) * math.exp(-2 * t_s / coherence_time_s)
    assert_allclose(result.extra["pair_fidelities"], expected, rtol=1e-7)
    assert_allclose(result.mean_fidelity, expected, rtol=1e-7)
    # storage only ever lowers the fidelity
    assert 0.25 < result.mean_fidelity < link_fidelity


@pytest.mark.parametrize(
    ("length_km", "memory_efficiency", "detector_efficiency"),
    [(50.0, 1.0, 1.0), (20.0, 0.9, 0.8)],
)
def test_two_node_rate_closed_form(length_km, memory_efficiency, detector_efficiency):
    """Pairs arrive every tau / p on average, always after a whole number of tau.

    p = 1/2 (eta_mem eta_det 10**(-0.2 L / 20))**2: both photons must cross
    half the segment and be detected, and linear optics succeeds half the
    time (SingleHeraldedBSM). tau is :func:`_attempt_period_s`. The rate is
    compared within 4 standard errors (renewal estimate from the gaps).
    """
    chain = _chain(
        (length_km,),
        coherence_time_s=10.0,
        memory_efficiency=memory_efficiency,
        detector_efficiency=detector_efficiency,
    )
    result = SequenceChainEngine().simulate(chain, seed=2, max_pairs=150, max_time_s=5.0)
    tau_s = _attempt_period_s(length_km)
    eta = memory_efficiency * detector_efficiency * 10 ** (-0.2 * length_km / 2 / 10)
    p = 0.5 * eta**2
    times_s = np.asarray(result.extra["pair_times_s"])
    assert result.pairs == 150 == times_s.size
    # Every delivery lands on the attempt grid: after n attempts, n tau plus
    # at most two 12.5 ns slots per attempt (QuantumChannel sends on an 80 MHz
    # clock, and both routers' emission times are aligned to it).
    n = np.round(times_s / tau_s)
    lag_s = times_s - n * tau_s
    assert np.all(n >= 1)
    assert np.all(lag_s >= -1e-9) and np.all(lag_s <= n * 25e-9 + 1e-9)
    assert abs(result.pair_rate_hz - p / tau_s) < 4 * result.pair_rate_stderr_hz
    # and the error bar is the size a geometric waiting time implies
    expected_se = math.sqrt((1 - p) / tau_s * p / result.simulated_time_s)
    assert_allclose(result.pair_rate_stderr_hz, expected_se, rtol=0.35)
    assert_allclose(result.latency_s, times_s[0], rtol=1e-12)


def test_no_pair_in_a_short_window():
    """A window shorter than one attempt delivers nothing: NaN, said so."""
    chain = _chain((300.0,))
    result = SequenceChainEngine().simulate(chain, seed=1, max_pairs=5, max_time_s=1e-3)
    assert _attempt_period_s(300.0) > 1e-3
    assert result.pairs == 0 and result.pair_rate_hz == 0.0
    assert math.isnan(result.mean_fidelity) and math.isnan(result.latency_s)
    assert "no end-to-end pair" in result.extra["note"]
    assert_allclose(result.simulated_time_s, 1e-3, rtol=1e-9)


@pytest.mark.parametrize(("cutoff_factor", "delivers"), [(0.5, False), (1.5, True)])
def test_cutoff_counts_from_emission(cutoff_factor, delivers):
    """A memory is discarded cutoff_time_s after its photon is emitted.

    SeQUeNCe schedules the expiry when the memory is prepared for emission
    (Memory.update_state), so a cutoff shorter than the photon flight plus
    the herald (L/2 + L/2 at c/1.468) loses every pair, and a
    longer one loses none on a single segment (delivered at the herald).
    """
    half_m = 10e3
    herald_s = half_m / V_QUANTUM_M_PER_S + half_m / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    chain = _chain((20.0,), coherence_time_s=0.05, cutoff_time_s=cutoff_factor * herald_s)
    result = SequenceChainEngine().simulate(chain, seed=3, max_pairs=30, max_time_s=0.1)
    assert result.pairs == (30 if delivers else 0)


def test_progress_reports_fractions():
    """The callback sees increasing fractions of simulated time, ending at 1."""
    seen: list[float] = []
    engine = SequenceChainEngine(progress=seen.append)
    result = engine.simulate(_chain((10.0,)), seed=1, max_pairs=10**6, max_time_s=0.02)
    assert len(seen) == 20
    assert_allclose(seen, np.arange(1, 21) / 20, atol=1e-9)
    # the reporter's own events are not counted as SeQUeNCe's
    quiet = SequenceChainEngine().simulate(
        _chain((10.0,)), seed=1, max_pairs=10**6, max_time_s=0.02
    )
    assert result.extra["events"] == quiet.extra["events"]
    assert result.extra["pair_times_s"] == quiet.extra["pair_times_s"]


# ------------------------------------------------------ reproducibility, isolation


def test_reproducible_with_same_seed():
    """Same seed: identical pair times and fidelities, here and in a child.

    The child also checks that progress reported there reaches this process.
    """
    chain = _chain((20.0, 20.0), coherence_time_s=0.5)
    kwargs = {"max_pairs": 15, "max_time_s": 1.0}
    here = SequenceChainEngine().simulate(chain, seed=42, **kwargs)
    seen: list[float] = []
    child = run_isolated(
        SequenceChainEngine(), chain, seed=42, timeout_s=300, progress=seen.append, **kwargs
    )
    other = SequenceChainEngine().simulate(chain, seed=43, **kwargs)
    assert here.status == child.status == other.status == "ok", child.error
    assert here.pairs == child.pairs == 15
    assert here.extra["pair_times_s"] == child.extra["pair_times_s"]
    assert here.extra["pair_fidelities"] == child.extra["pair_fidelities"]
    assert here.extra["events"] == child.extra["events"]
    assert other.extra["pair_times_s"] != here.extra["pair_times_s"]
    # stopped at the 15th pair, so not every step of the window was reached
    assert seen and seen == sorted(seen) and seen[-1] == 1.0


class _CrashingEngine:
    """An engine whose child dies without a word (like a segfault)."""

    name = "crashing"

    def simulate(self, chain, *, seed, max_pairs, max_time_s):
        os._exit(3)


class _SleepingEngine:
    name = "sleeping"

    def simulate(self, chain, *, seed, max_pairs, max_time_s):
        time.sleep(600)


def _assert_failed(result: ChainResult, engine: str, text: str) -> None:
    assert isinstance(result, ChainResult)
    assert result.status == "failed" and result.engine == engine
    assert text in result.error
    assert result.pairs == 0 and math.isnan(result.pair_rate_hz)


def test_isolated_exception_becomes_failed_result():
    """An exception in the child (a purification spec) is a failed result."""
    chain = _chain((10.0,), purification="dejmps", purification_rounds=1)
    result = run_isolated(
        SequenceChainEngine(), chain, seed=0, max_pairs=1, max_time_s=0.1, timeout_s=120
    )
    _assert_failed(result, "sequence", "ValueError")
    assert "purification" in result.error


def test_isolated_crash_and_timeout_become_failed_results():
    """A child that dies or hangs gives status='failed', not a crash or a hang."""
    chain = _chain((10.0,))
    crashed = run_isolated(_CrashingEngine(), chain, seed=0, max_pairs=1, max_time_s=1.0)
    _assert_failed(crashed, "crashing", "exit code 3")
    hung = run_isolated(
        _SleepingEngine(), chain, seed=0, max_pairs=1, max_time_s=1.0, timeout_s=1.0
    )
    _assert_failed(hung, "sleeping", "timed out")


def test_request_starts_after_reservation_crosses_chain():
    """Pitfall 5: the request starts after a round trip along the chain."""
    chain = _chain((100.0, 100.0, 100.0))
    round_trip_s = 2 * 300e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    assert request_start_s(chain) > round_trip_s
