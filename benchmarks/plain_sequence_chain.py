"""A repeater chain written directly against SeQUeNCe 1.3.1, without qnetemu.

The reference point of ``bench_repeater_engines.py``: the same network the
qnetemu adapter builds (routers r0..rN, a BSM node in the middle of each
segment, classical connections between all router pairs, bell_diagonal with
single-heralded generation), written the way a SeQUeNCe user would, so the
adapter's own overhead can be measured. Units are SeQUeNCe's: m, dB/m, ps.

Usage::

    python benchmarks/plain_sequence_chain.py --routers 3 --length-m 50000
"""

from __future__ import annotations

import argparse
import json
import time

# Light speed in fibre with group index 1.468 (same as qnetemu.constants), in m/ps.
FIBRE_LIGHT_SPEED_M_PER_PS = 299_792_458.0 / 1.468 * 1e-12
SECOND_PS = 10**12


def run_plain(
    routers: int = 3,
    length_m: float = 50_000.0,
    memories: int = 5,
    window_s: float = 1.0,
    seed: int = 1,
    fidelity: float = 0.99,
    frequency_hz: float = 1e5,
    coherence_time_s: float = 10.0,
    attenuation_db_per_m: float = 0.2e-3,
) -> dict:
    """Build and run the chain; return pairs, events and wall seconds.

    ``coherence_time_s`` is SeQUeNCe's own memory ``coherence_time`` (the
    caller converts a per-memory T2: ``4 T2 / 3``). Quantum channels are set
    to the fibre's speed and the detectors' count rate to 1e11 /s, as the
    qnetemu adapter does. The wall time covers building the topology and
    running the timeline, not importing SeQUeNCe.
    """
    from sequence.app.request_app import RequestApp
    from sequence.constants import BELL_DIAGONAL_STATE_FORMALISM, SINGLE_HERALDED
    from sequence.entanglement_management.generation import (
        EntanglementGenerationA,
        EntanglementGenerationB,
    )
    from sequence.entanglement_management.purification import PurificationProtocol
    from sequence.entanglement_management.swapping import (
        EntanglementSwappingA,
        EntanglementSwappingB,
    )
    from sequence.kernel.timeline import Timeline
    from sequence.topology.router_net_topo import RouterNetTopo

    wall_start = time.perf_counter()
    EntanglementGenerationA.set_global_type(SINGLE_HERALDED)
    EntanglementGenerationB.set_global_type(SINGLE_HERALDED)
    EntanglementSwappingA.set_formalism(BELL_DIAGONAL_STATE_FORMALISM)
    EntanglementSwappingB.set_formalism(BELL_DIAGONAL_STATE_FORMALISM)
    PurificationProtocol.set_formalism(BELL_DIAGONAL_STATE_FORMALISM)

    chain_m = length_m * (routers - 1)
    start_ps = int(3 * chain_m / FIBRE_LIGHT_SPEED_M_PER_PS) + 10**6
    end_ps = start_ps + int(window_s * SECOND_PS)
    names = [f"r{i}" for i in range(routers)]
    detector = {"efficiency": 1.0, "dark_count": 0, "count_rate": 1e11, "time_resolution": 150}
    config = {
        "formalism": BELL_DIAGONAL_STATE_FORMALISM,
        "stop_time": end_ps,
        "templates": {
            "router": {
                "MemoryArray": {
                    "fidelity": fidelity,
                    "frequency": frequency_hz,
                    "efficiency": 1.0,
                    "coherence_time": coherence_time_s,
                    "cutoff_flag": False,
                },
                "EntanglementSwapping": {"swapping_success_prob": 1.0},
            },
            "bsm": {
                "encoding_type": "single_heralded",
                "SingleHeraldedBSM": {"detectors": [detector, dict(detector)]},
            },
        },
        "nodes": [
            {
                "name": name,
                "type": RouterNetTopo.QUANTUM_ROUTER,
                "seed": seed + i,
                "memo_size": memories if i in (0, routers - 1) else 2 * memories,
                "template": "router",
            }
            for i, name in enumerate(names)
        ],
        "qconnections": [
            {
                "node1": names[i],
                "node2": names[i + 1],
                "attenuation": attenuation_db_per_m,
                "distance": length_m,
                "type": RouterNetTopo.MEET_IN_THE_MID,
                "seed": seed + routers + i,
                "template": "bsm",
            }
            for i in range(routers - 1)
        ],
        "cconnections": [
            {
                "node1": names[i],
                "node2": names[j],
                "delay": round((j - i) * length_m / FIBRE_LIGHT_SPEED_M_PER_PS),
            }
            for i in range(routers)
            for j in range(i + 1, routers)
        ],
    }
    topo = RouterNetTopo(config)
    tl = topo.get_timeline()
    for qc in topo.get_qchannels():
        qc.light_speed = FIBRE_LIGHT_SPEED_M_PER_PS
    Timeline.seed(seed)
    nodes = {n.name: n for n in topo.get_nodes_by_type(RouterNetTopo.QUANTUM_ROUTER)}
    initiator = RequestApp(nodes[names[0]])
    RequestApp(nodes[names[-1]])
    tl.init()
    initiator.start(names[-1], start_ps, end_ps, memories, 0.01)
    tl.run()
    wall_s = time.perf_counter() - wall_start
    return {
        "pairs": initiator.memory_counter,
        "events": tl.run_counter,
        "wall_s": wall_s,
        "simulated_s": window_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", type=int, default=3)
    parser.add_argument("--length-m", type=float, default=50_000.0)
    parser.add_argument("--memories", type=int, default=5)
    parser.add_argument("--window-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--coherence-time-s", type=float, default=10.0)
    args = parser.parse_args()
    result = run_plain(
        args.routers,
        args.length_m,
        args.memories,
        args.window_s,
        args.seed,
        coherence_time_s=args.coherence_time_s,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
