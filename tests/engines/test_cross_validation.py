"""Cross-check: Monte Carlo engine (sequence_compatible) against SeQUeNCe.

Both engines simulate the same chain; their pair rates and mean delivered
fidelities must agree within four combined standard errors,
``|a - b| < 4 sqrt(se_a**2 + se_b**2)``, where each engine reports its own
standard error (SeQUeNCe: renewal estimate from the inter-arrival times and
sample std / sqrt(n); Monte Carlo: its delta-method and per-trial values).
A disagreement beyond that is a modelling difference, not noise.

Chains are kept where the two models are meant to coincide (see the module
docstrings of ``sequence_adapter`` and ``repeater_montecarlo``): equal
segment lengths (the Monte Carlo engine runs all links on the longest link's
attempt period), one memory per link (SeQUeNCe swaps across memory lanes:
with 5 memories, 3 routers, 2 x 50 km, it delivers 203 +- 13 Hz at
F = 0.9783 +- 0.0001 against the Monte Carlo lanes' 167 +- 1 Hz and 0.9761),
no purification.

A SeQUeNCe behaviour the Monte Carlo engine must reproduce for 3+ routers:
an ``EntanglementSwappingA`` protocol starts only after the resource manager
has paired it with the protocols at both remote ends (REQUEST/RESPONSE,
``resource_manager.py``), i.e. one classical round trip to the farther
partner after the second pair is known, while all four memories keep
decohering. Without it the Monte Carlo fidelity is too high by about
``(1 - exp(-16 * 2 d / (3 T2)))`` of the Werner parameter (d: one-way delay to
the partner). The same waits lower SeQUeNCe's five-router rate by about
12 % (211 +- 7 Hz against 239 +- 1 Hz for 4 x 20 km without the wait,
210 +- 1 Hz with it). The multi-hop tests below fail on either quantity if
the wait is left out.
"""

from __future__ import annotations

import math

import pytest

from qnetemu.engines.chain import ChainSpec, RepeaterHardware
from qnetemu.engines.sequence_adapter import SequenceChainEngine

montecarlo = pytest.importorskip(
    "qnetemu.engines.repeater_montecarlo",
    reason="qnetemu.engines.repeater_montecarlo (MonteCarloChainEngine) is not there yet",
)

#: Monte Carlo deliveries per comparison: its standard errors end up ~10x
#: smaller than SeQUeNCe's, so the combined error is SeQUeNCe's.
MC_PAIRS = 20_000
#: Relative floor on the tolerance, for quantities both engines get exactly:
#: the two-router fidelity is deterministic (both standard errors are zero),
#: and SeQUeNCe's ps clock and its 10 ps scheduling gap move it by ~1e-9.
FLOAT_FLOOR = 1e-8


def _agree(a: float, se_a: float, b: float, se_b: float) -> tuple[bool, float]:
    """Whether a and b agree within 4 combined standard errors; and the bound."""
    bound = 4.0 * math.hypot(se_a, se_b) + FLOAT_FLOOR * max(abs(a), abs(b))
    return abs(a - b) < bound, bound


def _compare(chain: ChainSpec, seq_pairs: int, seed: int):
    seq = SequenceChainEngine().simulate(chain, seed=seed, max_pairs=seq_pairs, max_time_s=60.0)
    mc = montecarlo.MonteCarloChainEngine(mode="sequence_compatible").simulate(
        chain, seed=seed, max_pairs=MC_PAIRS, max_time_s=1e9
    )
    assert seq.status == "ok" and mc.status == "ok", (seq.error, mc.error)
    assert seq.pairs == seq_pairs and mc.pairs >= MC_PAIRS
    for name, a, se_a, b, se_b in (
        (
            "rate",
            seq.pair_rate_hz,
            seq.pair_rate_stderr_hz,
            mc.pair_rate_hz,
            mc.pair_rate_stderr_hz,
        ),
        ("fidelity", seq.mean_fidelity, seq.fidelity_stderr, mc.mean_fidelity, mc.fidelity_stderr),
    ):
        ok, bound = _agree(a, se_a, b, se_b)
        assert ok, (
            f"{name}: sequence {a:.6g} +- {se_a:.2g}, montecarlo {b:.6g} +- {se_b:.2g}, "
            f"|diff| {abs(a - b):.3g} >= {bound:.3g}"
        )
        # the error bars must be real, or the comparison above is empty
        assert se_a >= 0 and se_b >= 0 and math.isfinite(se_a) and math.isfinite(se_b)
    return seq, mc


@pytest.mark.parametrize(
    ("length_km", "coherence_time_s", "memory_efficiency"),
    [(20.0, 0.05, 1.0), (50.0, 0.02, 0.8)],
)
def test_two_routers_agree(length_km, coherence_time_s, memory_efficiency):
    """One segment: rate within 4 sigma; the fidelity is deterministic and equal.

    Both follow SeQUeNCe's single-heralded link: p = 1/2 (eta 10**(-aL/20))**2
    per attempt of 3 d + q + d/2, fidelity decohered from emission to herald.
    """
    chain = ChainSpec(
        (length_km,),
        hardware=RepeaterHardware(
            coherence_time_s=coherence_time_s,
            link_fidelity=0.98,
            memory_efficiency=memory_efficiency,
        ),
    )
    seq, mc = _compare(chain, seq_pairs=200, seed=3)
    assert seq.fidelity_stderr < 1e-12  # deterministic, so the floor is the tolerance


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n_segments", "seq_pairs"),
    [
        pytest.param(2, 300, id="3-routers"),
        # fails (SeQUeNCe 211 +- 7 Hz, Monte Carlo 239 +- 1 Hz) without the
        # swap-pairing round trip in the Monte Carlo model
        pytest.param(4, 200, id="5-routers"),
    ],
)
def test_multi_hop_rate_agrees(n_segments, seq_pairs):
    """Three and five routers (2 and 4 x 20 km, T2 = 1 s): pair rates agree.

    Slow (the fast rate-and-fidelity test below covers the same chains at a
    shorter T2). With T2 long next to the delivery time, fidelity hardly
    matters; the rate tests the attempt period, SeQUeNCe's nested swap order and the classical
    delays of swap outcomes.
    """
    chain = ChainSpec(
        (20.0,) * n_segments,
        hardware=RepeaterHardware(coherence_time_s=1.0, link_fidelity=0.98),
    )
    seq = SequenceChainEngine().simulate(chain, seed=3, max_pairs=seq_pairs, max_time_s=60.0)
    mc = montecarlo.MonteCarloChainEngine(mode="sequence_compatible").simulate(
        chain, seed=3, max_pairs=MC_PAIRS, max_time_s=1e9
    )
    ok, bound = _agree(
        seq.pair_rate_hz, seq.pair_rate_stderr_hz, mc.pair_rate_hz, mc.pair_rate_stderr_hz
    )
    assert ok, (seq.pair_rate_hz, seq.pair_rate_stderr_hz, mc.pair_rate_hz, bound)


@pytest.mark.parametrize(
    ("n_segments", "seq_pairs", "cutoff_time_s"),
    [(2, 300, None), (4, 200, None), (2, 300, 5e-3)],
    ids=["3-routers", "5-routers", "3-routers-cutoff-5ms"],
)
def test_multi_hop_rate_and_fidelity_agree(n_segments, seq_pairs, cutoff_time_s):
    """Three and five routers, 20 km segments, T2 = 50 ms: rate and fidelity.

    Storage over a few ms costs a few per cent of fidelity here, so the
    fidelity tests when storage starts and ends in both models. The cutoff
    case (5 ms, counted from emission in both) discards pairs that wait for a
    slow neighbour, raising the fidelity and changing the rate.
    """
    chain = ChainSpec(
        (20.0,) * n_segments,
        hardware=RepeaterHardware(
            coherence_time_s=0.05, link_fidelity=0.98, cutoff_time_s=cutoff_time_s
        ),
    )
    _compare(chain, seq_pairs=seq_pairs, seed=3)
