"""Analytic nested chains of 1,000 segments: shared sub-trees against recomputing each.

Times :class:`~qnetemu.engines.repeater_analytic.AnalyticChainEngine` on a
chain of ``--segments`` equal links with the scenario's default repeater
profile (``repeater:`` left out of a scenario: nested swaps, negotiated
attempts, classical messages at swaps, independent memory lanes, 4 memories,
T2 = 1 s), twice in one go: as shipped (a sub-tree's law is computed once and
shared by every identical sub-tree; classical delays move a law's window
instead of recomputing it) and with sharing switched off (all
``segments - 1`` swaps computed). Prints both wall times (best of
``--repeats``), their ratio, the number of distinct sub-trees, whether the two
give the same rate and fidelity, and which of scipy's slow-to-import modules
the nested path loaded during the runs, and what importing the engine alone costs in a fresh
interpreter (no scipy: ``scipy.signal``'s first import costs 1-2 s,
``scipy.special`` and ``scipy.optimize`` about 1 s each on this machine).

Usage::

    python benchmarks/bench_analytic_nested.py                      # default protocol, 1,000 x 50 km
    python benchmarks/bench_analytic_nested.py --messaging instant --generation continuous
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.architectures.repeater import repeater_hardware, repeater_protocol  # noqa: E402
from qnetemu.engines import repeater_analytic  # noqa: E402
from qnetemu.engines.chain import ChainSpec  # noqa: E402
from qnetemu.scenario.schema import RepeaterProfile  # noqa: E402


class _NoSharing(repeater_analytic._NestedTree):
    """Every sub-tree gets its own key: nothing is shared."""

    def _keys(self) -> list:
        return list(range(len(self.node)))


def _best(chain: ChainSpec, repeats: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = repeater_analytic.AnalyticChainEngine().simulate(chain)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    default = repeater_protocol(RepeaterProfile())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1000)
    parser.add_argument("--length-km", type=float, default=50.0)
    parser.add_argument("--coherence-time-s", type=float, default=None, help="default: the profile's")
    parser.add_argument("--generation", choices=["continuous", "negotiated"], default=default.link_generation)
    parser.add_argument("--messaging", choices=["instant", "classical"], default=default.swap_messaging)
    parser.add_argument("--multiplexing", choices=["single", "independent_lanes"], default=default.multiplexing)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    hardware = repeater_hardware(RepeaterProfile())
    if args.coherence_time_s is not None:
        hardware = dataclasses.replace(hardware, coherence_time_s=args.coherence_time_s)
    protocol = dataclasses.replace(default, link_generation=args.generation, swap_messaging=args.messaging,
                                   multiplexing=args.multiplexing)
    chain = ChainSpec((args.length_km,) * args.segments, hardware, protocol=protocol)
    loaded = set(sys.modules)
    shared_s, shared = _best(chain, args.repeats)
    loaded_by_runs = sorted(m for m in set(sys.modules) - loaded if m.split(".")[0] == "scipy")
    # what importing the engine alone costs, in a fresh interpreter
    probe = ("import sys, time; t = time.perf_counter(); import qnetemu.engines.repeater_analytic; "
             "print(time.perf_counter() - t, [m for m in sys.modules if m.split('.')[0] == 'scipy'])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split(" ", 1)
    original = repeater_analytic._NestedTree
    repeater_analytic._NestedTree = _NoSharing
    try:
        alone_s, alone = _best(chain, max(1, args.repeats // 3))
    finally:
        repeater_analytic._NestedTree = original
    print(json.dumps({
        "segments": args.segments,
        "protocol": chain.protocol.label(),
        "default_protocol": chain.protocol == default,
        "shared_subtrees_s": round(shared_s, 4),
        "every_subtree_s": round(alone_s, 4),
        "speedup": round(alone_s / shared_s, 1),
        "distinct_subtrees": shared.extra["distinct_subtrees"],
        "computed_subtrees_without_sharing": alone.extra["distinct_subtrees"],
        "same_result": bool(math.isclose(shared.pair_rate_hz, alone.pair_rate_hz, rel_tol=1e-12)
                            and math.isclose(shared.mean_fidelity, alone.mean_fidelity, rel_tol=1e-12)),
        "pair_rate_hz": shared.pair_rate_hz,
        "mean_fidelity": shared.mean_fidelity,
        "grid_step_s": shared.extra["grid_step_s"],
        "scipy_modules_loaded_by_the_runs": loaded_by_runs,
        "engine_import_s": round(float(out[0]), 3),
        "scipy_modules_loaded_by_importing_the_engine": json.loads(out[1].replace("'", '"')),
    }))


if __name__ == "__main__":
    main()
