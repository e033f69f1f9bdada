"""The three repeater engines on the same chains, in one run: the README's agreement table.

For the chain of ``scenarios/repeater_chain.yaml`` (its own protocol and
hardware) and for variants of a five-router chain (4 x 20 km, default
protocol: negotiated attempts, nested swaps, classical messages, independent
lanes), runs the analytic engine, the Monte Carlo engine and SeQUeNCe 1.3.1
(in a child process) and prints a Markdown table of pair rate and mean
fidelity with standard errors, and the largest pairwise difference in units
of the combined standard error (``z``; agreement means ``z < 4``). The
analytic engine refuses cutoffs and swap-ASAP with classical messages beyond
two segments, so those rows have no analytic value. The continuous-attempt
rows run SeQUeNCe with ``qnetemu.engines.sequence_generation``. Where a
link's two memories can be free before the delivery (classical messages
from three segments, instant messages with swap-ASAP from four and nested
from five) the Monte Carlo engine pipelines (as SeQUeNCe does). The analytic
engine computes that exactly for swap-ASAP under instant messages (to nine
segments); elsewhere (nested chains, classical messages, continuous sources
restarting at their clock's next tick between deliveries) it names its
approximation (``extra["exact"]`` False), and there its difference from Monte
Carlo is printed apart (``analytic z``) and left out of ``max z``.
Swap-ASAP with instant messages on four equal segments is a row since the
swap-ASAP rules stopped starving a freed memory
(``qnetemu.engines.sequence_rules``: before, SeQUeNCe made no pair there). Rows of one SeQUeNCe seed and chain shape share SeQUeNCe's random draws
(the 4 x 20 km rows that differ only in T2 deliver at the same instants), so
their differences from the other engines are not independent.

Usage::

    python benchmarks/repeater_agreement.py            # about 15 minutes on 2 loaded cores
    python benchmarks/repeater_agreement.py --quick    # shipped chain only
    python benchmarks/repeater_agreement.py --protocols  # swap-ASAP / instant / continuous rows (~7 min)
    python benchmarks/repeater_agreement.py --continuous  # continuous-attempt rows only (~2 min)
    python benchmarks/repeater_agreement.py --spread "continuous, 1 x 20 km" --seeds 1 2 3 4 5 6 8 9

``--spread LABEL ...`` runs, for each row of one of those labels,
SeQUeNCe once per seed of ``--seeds`` and prints the mean of its rates and
fidelities over the seeds (standard error from their spread), the mean rate
without each run's first interval (from the request to the first pair), and
their differences from the Monte Carlo engine (seed ``--seed``): whether
SeQUeNCe sits above the other engines beyond its scatter.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qnetemu.architectures.repeater import repeater_hardware, repeater_protocol  # noqa: E402
from qnetemu.engines.chain import (  # noqa: E402
    ChainSpec,
    ProtocolNotSupported,
    RepeaterHardware,
    RepeaterProtocol,
)
from qnetemu.engines.isolated import run_isolated  # noqa: E402
from qnetemu.engines.repeater_analytic import AnalyticChainEngine  # noqa: E402
from qnetemu.engines.repeater_montecarlo import MonteCarloChainEngine  # noqa: E402
from qnetemu.engines.sequence_adapter import SequenceChainEngine  # noqa: E402
from qnetemu.scenario.load import read_yaml  # noqa: E402
from qnetemu.scenario.schema import RepeaterProfile  # noqa: E402

#: Hardware of the 20 km variant rows (every value named: the engine layer has no defaults).
VARIANT_BASE = {"memory_efficiency": 1.0, "coherence_time_s": 0.05, "decoherence": "depolarising",
                "memories_per_node": 1, "link_fidelity": 0.98, "attempt_rate_hz": 1e5, "detector_efficiency": 1.0,
                "swap_success_prob": 1.0, "swap_fidelity": 1.0, "purification": "none", "purification_rounds": 0,
                "cutoff_time_s": None}


def _cases(quick: bool, protocols_only: bool = False, continuous_only: bool = False):
    if continuous_only:
        yield from _continuous_cases()
        return
    if protocols_only:
        yield from _protocol_cases()
        return
    data = read_yaml(ROOT / "scenarios" / "repeater_chain.yaml")  # YAML 1.2 floats, as the CLI reads
    profile = RepeaterProfile.model_validate(data["repeater"])
    yield ("repeater_chain.yaml (4 x 50 km, 4 lanes, T2 = 10 s)",
           ChainSpec((50.0,) * 4, repeater_hardware(profile), attenuation_db_per_km=0.2,
                     protocol=repeater_protocol(profile)), 150)
    if quick:
        return
    protocol = repeater_protocol(RepeaterProfile())
    base = VARIANT_BASE
    for label, change, pairs in (
        ("4 x 20 km, 1 memory, T2 = 50 ms", {}, 200),
        ("4 x 20 km, 4 lanes", {"memories_per_node": 4}, 400),
        ("4 x 20 km, T2 = 5 ms", {"coherence_time_s": 5e-3}, 200),
        ("4 x 20 km, T2 = 10 s", {"coherence_time_s": 10.0}, 200),
        ("4 x 20 km, swap probability 0.5", {"swap_success_prob": 0.5}, 150),
        ("4 x 20 km, dephasing, T2 = 5 ms", {"decoherence": "dephasing", "coherence_time_s": 5e-3}, 200),
        ("4 x 20 km, cutoff 2 ms", {"cutoff_time_s": 2e-3}, 200),
    ):
        yield label, ChainSpec((20.0,) * 4, RepeaterHardware(**(base | change)), attenuation_db_per_km=0.2,
                                   protocol=protocol), pairs
    yield from _protocol_cases()


def _continuous_cases():
    """Continuous attempts (SeQUeNCe through qnetemu.engines.sequence_generation)."""
    base = VARIANT_BASE
    nested = RepeaterProtocol("nested", "continuous", "classical", "independent_lanes")
    asap = RepeaterProtocol("swap_asap", "continuous", "classical", "independent_lanes")
    asap_instant = RepeaterProtocol("swap_asap", "continuous", "instant", "independent_lanes")
    for label, n, protocol, change, pairs in (
        ("continuous, 1 x 20 km", 1, nested, {}, 300),
        ("continuous, 1 x 20 km, 5 kHz attempts (1/rate > L/c)", 1, nested, {"attempt_rate_hz": 5e3}, 300),
        ("continuous, nested, 2 x 20 km", 2, nested, {}, 200),
        ("continuous, nested, 2 x 20 km, 4 lanes", 2, nested, {"memories_per_node": 4}, 400),
        ("continuous, swap-ASAP, instant messages, 2 x 20 km, 5 kHz attempts", 2, asap_instant,
         {"attempt_rate_hz": 5e3}, 200),
        ("continuous, swap-ASAP, instant messages, 3 x 20 km", 3, asap_instant, {}, 200),
        ("continuous, swap-ASAP, instant messages, 3 x 20 km, 4 lanes", 3, asap_instant,
         {"memories_per_node": 4}, 400),
        ("continuous, swap-ASAP, 3 x 20 km (pipelining)", 3, asap, {}, 200),
        ("continuous, nested, 2 x 20 km, 5 kHz attempts", 2, nested, {"attempt_rate_hz": 5e3}, 300),
    ):
        yield label, ChainSpec((20.0,) * n, RepeaterHardware(**(base | change)), attenuation_db_per_km=0.2,
                               protocol=protocol), pairs
    yield ("continuous, nested, 2 x 5 km, 5 kHz attempts",
           ChainSpec((5.0, 5.0), RepeaterHardware(**(base | {"attempt_rate_hz": 5e3})),
                     attenuation_db_per_km=0.2, protocol=nested), 1000)
    yield ("continuous, swap-ASAP, instant messages, 30 + 10 + 10 + 30 km, T2 = 20 ms (pipelining)",
           ChainSpec((30.0, 10.0, 10.0, 30.0), RepeaterHardware(**(base | {"coherence_time_s": 0.02})),
                     attenuation_db_per_km=0.2, protocol=asap_instant), 200)


def _protocol_cases():
    """Swap-ASAP and instant swap messages (SeQUeNCe through qnetemu.engines.sequence_rules)."""
    base = VARIANT_BASE
    asap = RepeaterProtocol("swap_asap", "negotiated", "classical", "independent_lanes")
    asap_instant = RepeaterProtocol("swap_asap", "negotiated", "instant", "independent_lanes")
    nested_instant = RepeaterProtocol("nested", "negotiated", "instant", "independent_lanes")
    for label, n, protocol, change, pairs in (
        ("swap-ASAP, 3 x 20 km, 1 memory", 3, asap, {}, 200),
        ("swap-ASAP, 3 x 20 km, 4 lanes", 3, asap, {"memories_per_node": 4}, 400),
        ("swap-ASAP, 3 x 20 km, swap probability 0.5", 3, asap, {"swap_success_prob": 0.5}, 250),
        ("swap-ASAP, 4 x 20 km, 1 memory", 4, asap, {}, 1000),
        ("swap-ASAP, instant messages, 3 x 20 km", 3, asap_instant, {}, 200),
        ("swap-ASAP, instant messages, 3 x 20 km, swap probability 0.5", 3, asap_instant,
         {"swap_success_prob": 0.5}, 200),
        ("swap-ASAP, instant messages, 4 x 20 km (pipelining)", 4, asap_instant, {}, 400),
        ("nested, instant messages, 4 x 20 km", 4, nested_instant, {}, 200),
    ):
        yield label, ChainSpec((20.0,) * n, RepeaterHardware(**(base | change)), attenuation_db_per_km=0.2,
                                   protocol=protocol), pairs
    yield ("nested, instant messages, 8 x 5 km, T2 = 10 ms (pipelining)",
           ChainSpec((5.0,) * 8, RepeaterHardware(**(base | {"coherence_time_s": 0.01})),
                     attenuation_db_per_km=0.2, protocol=nested_instant), 300)
    yield from _continuous_cases()


def _spread(args) -> None:
    """SeQUeNCe's rate and fidelity over several seeds against one Monte Carlo run (``--spread``)."""
    print("| chain | Monte Carlo: rate [Hz], F | SeQUeNCe, mean of seeds: rate [Hz], F "
          "| rate without the first interval [Hz] | rate difference (z) | F difference (z) |")
    print("| --- | --- | --- | --- | --- | --- |")
    t0 = time.perf_counter()
    for label, chain, seq_pairs in _cases(False):
        if label not in args.spread:
            continue
        mc = MonteCarloChainEngine().simulate(chain, seed=args.seed, max_pairs=20_000, max_time_s=1e9)
        rate, fid, later = [], [], []
        for seed in args.seeds:
            r = run_isolated(SequenceChainEngine(), chain, seed=seed, max_pairs=seq_pairs, max_time_s=60.0)
            t = r.extra["pair_times_s"]
            rate.append(r.pair_rate_hz)
            fid.append(r.mean_fidelity)
            later.append((len(t) - 1) / (t[-1] - t[0]))
        k = len(args.seeds)
        m_r, m_f = sum(rate) / k, sum(fid) / k
        se_r = math.sqrt(sum((x - m_r) ** 2 for x in rate) / (k - 1) / k)
        se_f = math.sqrt(sum((x - m_f) ** 2 for x in fid) / (k - 1) / k)
        z_r = (m_r - mc.pair_rate_hz) / math.hypot(se_r, mc.pair_rate_stderr_hz)
        d_f = m_f - mc.mean_fidelity
        z_f = d_f / math.hypot(se_f, mc.fidelity_stderr) if se_f > 1e-12 else 0.0
        print(f"| {label} | {mc.pair_rate_hz:.4g} ± {mc.pair_rate_stderr_hz:.2g}, {mc.mean_fidelity:.4f} "
              f"| {m_r:.4g} ± {se_r:.2g}, {m_f:.4f} ± {se_f:.1g} | {sum(later) / k:.4g} "
              f"| {m_r / mc.pair_rate_hz - 1:+.1%} ({z_r:+.1f}) | {d_f:+.4f} ({z_f:+.1f}) |", flush=True)
    print(f"\n({time.perf_counter() - t0:.0f} s, SeQUeNCe seeds {args.seeds}, Monte Carlo seed {args.seed})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--protocols", action="store_true",
                        help="only the swap-ASAP, instant-message and continuous-attempt rows")
    parser.add_argument("--continuous", action="store_true", help="only the continuous-attempt rows")
    parser.add_argument("--spread", metavar="LABEL", nargs="+", help="SeQUeNCe over --seeds for these rows")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 8, 9])
    args = parser.parse_args()
    if args.spread:
        _spread(args)
        return
    print("| chain | analytic: rate [Hz], F | Monte Carlo: rate [Hz], F | SeQUeNCe: rate [Hz], F "
          "| max z (rate, F) | analytic z where it names an approximation |")
    print("| --- | --- | --- | --- | --- | --- |")
    t0 = time.perf_counter()
    for label, chain, seq_pairs in _cases(args.quick, args.protocols, args.continuous):
        results = {}
        try:
            results["analytic"] = AnalyticChainEngine().simulate(chain)
        except ProtocolNotSupported:
            results["analytic"] = None
        results["montecarlo"] = MonteCarloChainEngine().simulate(chain, seed=args.seed, max_pairs=20_000,
                                                                 max_time_s=1e9)
        results["sequence"] = run_isolated(SequenceChainEngine(), chain, seed=args.seed, max_pairs=seq_pairs,
                                           max_time_s=60.0)
        cells, z_rate, z_fid = [], 0.0, 0.0
        for r in results.values():
            if r is None:
                cells.append("refused")
                continue
            se = f" ± {r.pair_rate_stderr_hz:.2g}" if r.pair_rate_stderr_hz else ""
            fse = f" ± {r.fidelity_stderr:.1g}" if r.fidelity_stderr > 1e-12 else ""  # one stored time: no spread
            cells.append(f"{r.pair_rate_hz:.4g}{se}, {r.mean_fidelity:.4f}{fse}")
        # where the analytic engine names an approximation (its renewal cycle where links restart
        # before a delivery, clocked restarts between deliveries' phases), it is another model
        analytic = results["analytic"]
        pipelined = analytic is not None and not analytic.extra.get("exact", True)
        apart = "—"
        for a, b in itertools.combinations([r for r in results.values() if r is not None], 2):
            se_r = math.hypot(a.pair_rate_stderr_hz, b.pair_rate_stderr_hz)
            se_f = math.hypot(a.fidelity_stderr, b.fidelity_stderr)
            zr = abs(a.pair_rate_hz - b.pair_rate_hz) / se_r
            zf = abs(a.mean_fidelity - b.mean_fidelity) / se_f if se_f > 1e-12 else 0.0
            if pipelined and "analytic" in {a.engine, b.engine}:  # another model: not in max z
                if "montecarlo" in {a.engine, b.engine}:
                    apart = f"{zr:.1f}, {zf:.1f}"
                continue
            z_rate, z_fid = max(z_rate, zr), max(z_fid, zf)
        print(f"| {label} | " + " | ".join(cells) + f" | {z_rate:.1f}, {z_fid:.1f} | {apart} |", flush=True)
    print(f"\n({time.perf_counter() - t0:.0f} s, seed {args.seed})")


if __name__ == "__main__":
    main()
