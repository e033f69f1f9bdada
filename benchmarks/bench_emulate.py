"""Benchmark: how much faster than real time the emulator runs, and what lazy block accounting buys.

Emulates ``scenarios/ronaqci-emulation.yaml`` (RoNaQCI: 96 QKD links after trusted-node insertion, ten
applications, random failures, a planned cut) and prints emulated seconds
per wall second and requests per wall second. It also counts how many key
blocks the links delivered against how many simpy events ran: with lazy
accounting a block costs no event, so the ratio is what an emulator with one
event per block would have to process more.

Run::

    python benchmarks/bench_emulate.py --duration-h 6
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from qnetemu.emulate.kernel import Emulator
from qnetemu.emulate.network import build_emulated_network
from qnetemu.scenario.load import load_scenario
from qnetemu.scenario.resolve import resolve

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "ronaqci-emulation.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-h", type=float, default=6.0)
    args = parser.parse_args()
    sc, _ = load_scenario(SCENARIO)
    net = build_emulated_network(sc, resolve(sc, file=str(SCENARIO), base_dir=SCENARIO.parent), file=str(SCENARIO))
    emu = Emulator.start(net, seed=0)
    duration_s = args.duration_h * 3600.0
    events = 0
    original = Emulator._wait

    def counting_wait(self, env, until_s):
        nonlocal events
        events += 1
        return original(self, env, until_s)

    Emulator._wait = counting_wait
    t0 = time.perf_counter()
    requests = 0
    step = net.spec.checkpoint_period_s
    t = 0.0
    while t < duration_s:
        t = min(t + step, duration_s)
        requests += len(emu.run_until(t).requests)
    wall_s = time.perf_counter() - t0
    blocks = sum(emu.state.blocks_done)
    print(f"{len(net.links)} links, {len(net.applications)} applications, {duration_s:,.0f} s emulated in "
          f"{wall_s:.2f} s wall")
    print(f"emulated / wall time: {duration_s / wall_s:,.0f}x; requests per wall second: {requests / wall_s:,.0f}")
    print(f"key blocks delivered: {blocks:,}; simpy events: {events:,}; blocks per event: {blocks / events:.1f}")


if __name__ == "__main__":
    main()
