"""Analytic nested chains of 1,000 segments: shared sub-trees against recomputing each.

Times :class:`~qnetemu.engines.repeater_analytic.AnalyticChainEngine` on a
nested chain of ``--segments`` equal links twice in one go: as shipped (a
sub-tree's law is computed once and shared by every identical sub-tree) and
with sharing switched off (all ``segments - 1`` swaps computed, as the engine
did before). Prints both wall times (best of ``--repeats``), their ratio,
the number of distinct sub-trees, whether the two give the same rate and
fidelity, and which of scipy's slow-to-import modules the nested path loaded
(none: ``scipy.signal``'s first import costs 1-2 s, ``scipy.special`` and
``scipy.optimize`` about 1 s each on this machine).

Usage::

    python benchmarks/bench_analytic_nested.py                 # 1,000 x 50 km, T2 = 1 s
    python benchmarks/bench_analytic_nested.py --messaging classical --generation negotiated
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qnetemu.engines import repeater_analytic  # noqa: E402
from qnetemu.engines.chain import ChainSpec, RepeaterHardware, RepeaterProtocol  # noqa: E402


class _NoSharing(repeater_analytic._NestedTree):
    """Every sub-tree gets its own key: nothing is shared."""

    def _key(self, lo: int, hi: int) -> int:
        return self.ids.setdefault((lo, hi), len(self.ids))


def _best(chain: ChainSpec, repeats: int) -> tuple[float, object]:
    best, result = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = repeater_analytic.AnalyticChainEngine().simulate(chain)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=1000)
    parser.add_argument("--length-km", type=float, default=50.0)
    parser.add_argument("--coherence-time-s", type=float, default=1.0)
    parser.add_argument("--generation", choices=["continuous", "negotiated"], default="continuous")
    parser.add_argument("--messaging", choices=["instant", "classical"], default="instant")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    chain = ChainSpec(
        (args.length_km,) * args.segments,
        RepeaterHardware(memory_efficiency=0.9, coherence_time_s=args.coherence_time_s,
                         decoherence="depolarising", memories_per_node=4, link_fidelity=0.99,
                         attempt_rate_hz=1e5, detector_efficiency=0.9, swap_success_prob=1.0,
                         swap_fidelity=1.0, purification="none", purification_rounds=0, cutoff_time_s=None),
        attenuation_db_per_km=0.2,
        protocol=RepeaterProtocol("nested", args.generation, args.messaging, "single"),
    )
    shared_s, shared = _best(chain, args.repeats)
    original = repeater_analytic._NestedTree
    repeater_analytic._NestedTree = _NoSharing
    try:
        alone_s, alone = _best(chain, max(1, args.repeats // 2))
    finally:
        repeater_analytic._NestedTree = original
    print(json.dumps({
        "segments": args.segments,
        "protocol": chain.protocol.label(),
        "shared_subtrees_s": round(shared_s, 4),
        "every_subtree_s": round(alone_s, 4),
        "speedup": round(alone_s / shared_s, 1),
        "distinct_subtrees": shared.extra["distinct_subtrees"],
        "computed_subtrees_without_sharing": alone.extra["distinct_subtrees"],
        "same_result": bool(math.isclose(shared.pair_rate_hz, alone.pair_rate_hz, rel_tol=1e-12)
                            and math.isclose(shared.mean_fidelity, alone.mean_fidelity, rel_tol=1e-12)),
        "pair_rate_hz": shared.pair_rate_hz,
        "mean_fidelity": shared.mean_fidelity,
        "scipy_signal_imported": "scipy.signal" in sys.modules,
        "scipy_imported_by_the_analytic_path": [m for m in ("scipy.signal", "scipy.special", "scipy.optimize",
                                                            "scipy.sparse") if m in sys.modules],
    }))


if __name__ == "__main__":
    main()
