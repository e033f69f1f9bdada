"""Size and cost of the exact pipelined swap-ASAP chain, beside the renewal chain it replaces.

For ``--links`` equal links (success probability ``--p``, swap probability
``--swap``, decay ``2 tau / T2`` per period ``--decay``) prints the states and
transitions of the pipelined chain and of its tagged-delivery (fidelity)
chain, the wall time of one solve (rate, latency and fidelity), and the time
of the renewal chain (:func:`~qnetemu.engines.repeater_analytic.swap_asap_markov`)
in the same run, so the ratio does not depend on the machine's load.

Usage::

    python benchmarks/bench_asap_pipelined.py                 # 4-9 links, ~5 s
    python benchmarks/bench_asap_pipelined.py --links 10 --swap 1.0
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import qnetemu.engines.swap_asap_pipelined as sp  # noqa: E402
from qnetemu.engines.repeater_analytic import swap_asap_markov  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--links", type=int, nargs="+", default=[4, 5, 6, 7, 8, 9])
    ap.add_argument("--p", type=float, default=0.05)
    ap.add_argument("--swap", type=float, default=0.5)
    ap.add_argument("--decay", type=float, default=0.01)
    args = ap.parse_args()
    sp.PIPELINED_EXACT_MAX = max(sp.PIPELINED_EXACT_MAX, *args.links)  # measure beyond the engine's limit
    print("| links | states | transitions | marked states | marked transitions | pipelined [s] | renewal [s] |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n in args.links:
        res = sp.swap_asap_pipelined([args.p] * n, args.swap, args.decay)
        t0 = time.perf_counter()
        swap_asap_markov([args.p] * n, args.swap, args.decay)
        renewal_s = time.perf_counter() - t0
        print(f"| {n} | {res.states:,} | {res.transitions:,} | {res.marked_states:,} | "
              f"{res.marked_transitions:,} | {res.wall_s:.2f} | {renewal_s:.2f} |", flush=True)


if __name__ == "__main__":
    main()
