"""Cross-check: the analytic, Monte Carlo and SeQUeNCe engines on one protocol.

All three run the scenario's protocol (``repeater.protocol``); here the
default one, negotiated attempts, nested swaps with classical messages,
independent memory lanes (:data:`LANES`). Pair rates and mean delivered
fidelities must agree within four combined standard errors,
``|a - b| < 4 sqrt(se_a**2 + se_b**2)``; the analytic engine has no error
(it is exact for this protocol), so the bound is the simulators'. A
disagreement beyond that is a modelling difference, not noise.

From three segments on, SeQUeNCe and the Monte Carlo engine pipeline (a link
restarts once its two memories are free, before the previous pair is
delivered: about 2 % more pairs on 4 x 20 km); the analytic engine restarts
every link after each delivery. There it is compared with SeQUeNCe and with
the Monte Carlo engine's renewal model (``pipelining=False``), not with the
pipelined Monte Carlo result.

SeQUeNCe runs are short (a few hundred pairs); those over a few seconds are
in the slow set. Coherence times are per-memory T2 in every engine (SeQUeNCe
gets ``4 T2 / 3``), photons fly at the fibre's speed everywhere, and storage
counts from emission.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from repeater_chain_values import make_chain, make_hardware

from qnetemu.engines.chain import ChainSpec, RepeaterProtocol
from qnetemu.engines.repeater_analytic import RENEWAL_APPROXIMATION, AnalyticChainEngine
from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine
from qnetemu.engines.sequence_adapter import SequenceChainEngine
from qnetemu.scenario.load import read_yaml

LANES = RepeaterProtocol("nested", "negotiated", "classical", "independent_lanes")
#: Monte Carlo deliveries per comparison: its errors end up several times
#: smaller than SeQUeNCe's, so the combined error is mostly SeQUeNCe's.
MC_PAIRS = 20_000
#: Relative floor on the tolerance for quantities the engines get exactly (the
#: one-segment fidelity is deterministic; SeQUeNCe's ps clock moves it by ~1e-9).
FLOAT_FLOOR = 1e-8


def _agree(a: float, se_a: float, b: float, se_b: float) -> tuple[bool, float]:
    bound = 4.0 * math.hypot(se_a, se_b) + FLOAT_FLOOR * max(abs(a), abs(b))
    return abs(a - b) < bound, bound


def _compare(chain: ChainSpec, seq_pairs: int, seed: int, seq_time_s: float = 60.0, analytic=True):
    seq = SequenceChainEngine().simulate(chain, seed=seed, max_pairs=seq_pairs, max_time_s=seq_time_s)
    mc = MonteCarloChainEngine().simulate(chain, seed=seed, max_pairs=MC_PAIRS, max_time_s=1e9)
    results = {"sequence": seq, "montecarlo": mc}
    skip = set()
    if analytic:
        results["analytic"] = AnalyticChainEngine().simulate(chain)
        # Where the Monte Carlo engine pipelines, the analytic engine says it does not.
        assert results["analytic"].extra["approximation"] == (
            RENEWAL_APPROXIMATION if mc.extra["pipelined"] else "none (exact)")
        if mc.extra["pipelined"]:  # the analytic engine's model is the renewal one
            results["montecarlo renewal"] = MonteCarloChainEngine(pipelining=False).simulate(
                chain, seed=seed, max_pairs=MC_PAIRS, max_time_s=1e9)
            skip = {("montecarlo", "analytic"), ("sequence", "montecarlo renewal"),
                    ("montecarlo", "montecarlo renewal")}
    assert seq.status == "ok" and mc.status == "ok", (seq.error, mc.error)
    assert seq.pairs >= 30, seq.pairs
    names = list(results)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            if (x, y) in skip:
                continue
            a, b = results[x], results[y]
            for what, va, sa, vb, sb in (
                ("rate", a.pair_rate_hz, a.pair_rate_stderr_hz, b.pair_rate_hz, b.pair_rate_stderr_hz),
                ("fidelity", a.mean_fidelity, a.fidelity_stderr, b.mean_fidelity, b.fidelity_stderr),
            ):
                ok, bound = _agree(va, sa, vb, sb)
                assert ok, (f"{what}: {x} {va:.6g} +- {sa:.2g}, {y} {vb:.6g} +- {sb:.2g}, "
                            f"|diff| {abs(va - vb):.3g} >= {bound:.3g}")
    for r in (seq, mc):  # the error bars must be real, or the comparison above is empty
        assert r.pair_rate_stderr_hz > 0 and math.isfinite(r.fidelity_stderr)
    return results


@pytest.mark.parametrize(
    ("length_km", "coherence_time_s", "memory_efficiency"),
    [(20.0, 0.05, 1.0), (50.0, 0.02, 0.8)],
)
def test_two_routers_agree(length_km, coherence_time_s, memory_efficiency):
    """One segment: rate within 4 sigma; the fidelity is deterministic and equal in all three.

    p = 1/2 (eta 10**(-aL/20))**2 per attempt of 4 L/c; fidelity decohered from emission to
    herald (L/c) on two memories of per-memory T2.
    """
    chain = make_chain(
        (length_km,),
        hardware=make_hardware(coherence_time_s=coherence_time_s, link_fidelity=0.98,
                                  memory_efficiency=memory_efficiency),
        protocol=LANES,
    )
    res = _compare(chain, seq_pairs=200, seed=3)
    assert res["sequence"].fidelity_stderr < 1e-12


@pytest.mark.parametrize(
    ("n_segments", "seq_pairs", "hardware"),
    [
        (2, 300, {}),
        (4, 200, {}),
    ],
    ids=["3-routers", "5-routers"],
)
def test_multi_hop_rate_and_fidelity_agree(n_segments, seq_pairs, hardware):
    """Three and five routers, 20 km segments, T2 = 50 ms: storage over a few ms costs a
    few per cent of fidelity, so the fidelity tests when storage starts and ends (emission,
    pairing round trips, outcome messages) in all three engines."""
    chain = make_chain(
        (20.0,) * n_segments,
        hardware=make_hardware(coherence_time_s=0.05, link_fidelity=0.98, **hardware),
        protocol=LANES,
    )
    _compare(chain, seq_pairs=seq_pairs, seed=3)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("hardware", "seq_pairs", "analytic"),
    [
        pytest.param({"memories_per_node": 4}, 400, True, id="4-lanes"),
        pytest.param({"coherence_time_s": 5e-3}, 200, True, id="short-T2"),
        pytest.param({"coherence_time_s": 10.0}, 200, True, id="long-T2"),
        pytest.param({"swap_success_prob": 0.5}, 150, True, id="swap-0.5"),
        pytest.param({"decoherence": "dephasing", "coherence_time_s": 5e-3}, 200, True, id="dephasing"),
    ],
)
def test_variants_agree(hardware, seq_pairs, analytic):
    """Five routers, 4 x 20 km: variants of memories, T2, swap probability, noise."""
    hw = {"coherence_time_s": 0.05, "link_fidelity": 0.98} | hardware
    chain = make_chain((20.0,) * 4, hardware=make_hardware(**hw), protocol=LANES)
    _compare(chain, seq_pairs=seq_pairs, seed=5, analytic=analytic)


@pytest.mark.slow
def test_tight_cutoff_agrees():
    """4 x 20 km with a 2 ms cutoff, about one mean link time: most pairs expire, the rate
    falls about eightfold and the fidelity rises; SeQUeNCe and Monte Carlo agree (the analytic
    engine refuses cutoffs).

    This tests what a cutoff means: a pair is discarded 2 ms after its oldest photon's
    emission, a swapped pair keeping the older clock of the two it joins (SeQUeNCe's
    ``swapping_bds.py``). Clocking a swapped pair from its two end memories' own emissions
    instead gives about 35 Hz against 25 Hz, some six combined sigma here.
    """
    hw = make_hardware(coherence_time_s=0.05, link_fidelity=0.98, cutoff_time_s=2e-3)
    chain = make_chain((20.0,) * 4, hardware=hw, protocol=LANES)
    res = _compare(chain, seq_pairs=200, seed=5, analytic=False)
    free = AnalyticChainEngine().simulate(
        make_chain(chain.segment_lengths_km, hardware=replace(hw, cutoff_time_s=None), protocol=LANES))
    for r in res.values():
        assert r.pair_rate_hz < 0.3 * free.pair_rate_hz, (r.engine, r.pair_rate_hz, free.pair_rate_hz)
        assert r.mean_fidelity > free.mean_fidelity + 0.05, (r.engine, r.mean_fidelity)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "segments", "seq_pairs"),
    [("repeater_chain.yaml", (50.0,) * 4, 150),
     # EuroQCI's routes are 8-80 links long, beyond SeQUeNCe's reach in a test: its repeater
     # hardware and protocol (10 lanes, 1 MHz, T2 = 1 s) on three of its 50 km links
     ("euroqci.yaml", (50.0,) * 3, 300)],
)
def test_shipped_repeater_scenarios_agree_in_all_engines(scenario, segments, seq_pairs):
    """A shipped scenario's repeater profile and protocol on its chain: all three engines agree."""
    from qnetemu.architectures.repeater import repeater_hardware, repeater_protocol
    from qnetemu.scenario.schema import RepeaterProfile

    data = read_yaml(Path(__file__).parents[2] / "scenarios" / scenario)  # YAML 1.2 floats, as the CLI reads
    profile = RepeaterProfile.model_validate(data["repeater"])
    chain = make_chain(segments, hardware=repeater_hardware(profile), protocol=repeater_protocol(profile))
    _compare(chain, seq_pairs=seq_pairs, seed=7)
