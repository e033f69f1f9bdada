"""Event-level repeater chains simulated by SeQUeNCe 1.3.1.

With :mod:`qnetemu.engines.sequence_rules` (the reservation rules of
swap-ASAP, which this module installs) this is the only code of qnetemu that
imports :mod:`sequence`, and the only place where its units appear (the rules
module has none): SeQUeNCe takes distances in m,
attenuation in dB/m, times in ps (``1 s = 1e12 ps``) and coherence times in
s. Everything else in qnetemu is SI with the unit in the name.

How a :class:`~qnetemu.engines.chain.ChainSpec` becomes a SeQUeNCe network
---------------------------------------------------------------------------
* routers ``r0 .. rN`` (``N = n_segments``); end routers hold
  ``memories_per_node`` memories, inner routers twice that (one bank per
  neighbouring link), which is what SeQUeNCe's reservation protocol asks for
  a request of ``memory_size = memories_per_node``;
* one ``meet_in_the_middle`` quantum connection per segment (SeQUeNCe makes
  the Bell-state-measurement node ``BSM.ri.rj`` half way);
* classical connections between *all* router pairs (SEQUENCE_NOTES pitfall
  4), delay = fibre distance along the chain / speed of light in fibre
  (:data:`qnetemu.constants.SPEED_OF_LIGHT_IN_FIBRE_M_PER_S`);
* one end-to-end request ``r0 -> rN`` through SeQUeNCe's own network
  manager (``RequestApp`` / RSVP), started after the reservation messages
  have crossed the chain (pitfall 5).

Known SeQUeNCe behaviours a comparison must allow for
-----------------------------------------------------
* **Protocol** (``chain.protocol``). SeQUeNCe runs negotiated attempts and
  classical messaging at swaps. ``nested`` is the swap order of its own
  reservation rules (nodes at odd positions of the path swap first, then the
  path is halved, ...); ``swap_asap`` replaces its three swapping rule slots
  in each router's ``ReservationRuleRegistry`` with
  :mod:`qnetemu.engines.sequence_rules` (an inner router swaps as soon as it
  holds a pair on each side; of two neighbours wanting the pair between
  them, the one whose swap would start first goes first). With two segments
  both orders run the same swaps, event for event. ``swap_messaging:
  instant`` delivers the swapping protocols' messages (pairing, outcome,
  release) in the instant they are sent
  (:func:`~qnetemu.engines.sequence_rules.make_swap_messages_instant`);
  generation messages keep the fibre's delay. Continuous attempts are
  refused (:meth:`SequenceChainEngine.check_protocol` says why) rather than
  run as something else. Multiplexing: ``shared_pool`` is SeQUeNCe's own (one
  request of ``memory_size = m``); ``independent_lanes`` is ``m`` requests of
  one memory each (each reservation's rules only match its own memories,
  ``action_condition_set.py``); ``single`` is refused for ``m > 1``.
* **Memories.** ``coherence_time_s`` is the per-memory T2; SeQUeNCe's
  ``coherence_time`` is the inverse total rate of its Pauli channel, so it
  gets ``4 T2 / 3`` (depolarising, X/Y/Z equally) or ``2 T2`` with
  ``decoherence_errors = [0, 0, 1]`` (dephasing);
  :func:`qnetemu.physics.entanglement.sequence_coherence_time_s`.
* **Detectors.** The BSM detectors count at up to 1e11 /s (10 ps dead
  time): lanes of one link emit into the same channel in successive 12.5 ns
  slots, and at a 25 MHz count rate (40 ns dead time) one lane's photon
  blinded the detector for the next (two lanes on 20 km: 868 +- 33 Hz
  against 1,016 Hz for two independent lanes; 944 +- 38 Hz with the faster
  detectors).
* **Quantum-channel light speed.** Set to the fibre's speed
  (:data:`qnetemu.constants.SPEED_OF_LIGHT_IN_FIBRE_M_PER_S`, the one the
  classical channels and the other engines use) before ``tl.init()``,
  instead of SeQUeNCe's 2e8 m/s default.
* **Generation protocol.** ``bell_diagonal`` needs the single-heralded
  protocol (two photons, one from each memory, meet at the BSM; success
  probability per attempt ``0.5 * (eta_mem * eta_det * 10**(-alpha L / 20))**2``
  with the 1/2 of linear optics); ``ket_vector``/``density_matrix`` use
  Barrett-Kok. Each attempt costs a classical negotiation between the two
  routers plus the photon flight and the heralding message, so the attempt
  period is set by the link's light-travel time, not by ``attempt_rate_hz``
  (which only bounds it from below). Read from the source and checked
  by the tests: one attempt of a segment of length ``L`` lasts
  ``tau = 3 L / v_f + (L / 2) / v_f + (L / 2) / v_f + 10 ps`` (a
  resource-manager request and reply, the generation protocol's
  negotiation, the photon flight, the heralding
  message and a fixed 10 ps gap, with ``v_f`` the fibre speed; plus the
  waits for the quantum channel's 12.5 ns emission slots, < 25 ns), and a
  failed attempt is retried at once, so a two-router chain delivers a pair
  every ``tau / p`` on average, the first after a whole number of ``tau``.
* **Swap pairing.** A swapping node starts a swap only after its resource
  manager has paired the protocol with both remote ends (REQUEST/RESPONSE),
  i.e. one classical round trip to the farther partner after it holds both
  pairs; all four memories decohere meanwhile.
* **Shared pool.** With one request of ``memory_size = m`` each of the ``m``
  memories per link side runs its own generation protocol, and a swapping
  node swaps *any* entangled memory on its left with any on its right, so
  deliveries come sooner and fresher than from ``m`` independent lanes.
* **Fidelity.** Under ``bell_diagonal`` each delivered pair's fidelity is the
  analytic Bell-diagonal fidelity at delivery, including the depolarising
  decoherence of both memories at rate ``1 / coherence_time_s`` (pitfall 3);
  swaps twirl to Werner states. Under the other formalisms it is SeQUeNCe's
  *tracked* number, which ignores storage decoherence.
* **Memory cutoff.** SeQUeNCe discards a memory ``cutoff_ratio *
  coherence_time`` after its photon's emission: the generation protocol
  calls ``Memory.update_state`` (which schedules the expiry,
  ``_schedule_expiration``) and ``Memory.excite`` in the same event
  (``single_heralded.py`` ``emit_event``; Barrett-Kok: its first emission).
  Both memories of an elementary pair emit together (the BSM is half way),
  so both ends expire at once. A swap sends ``min`` of its two memories'
  expiry times to both new ends (``swapping_bds.py``), which adopt it
  (``update_expire_time``) or, if it has passed when the outcome arrives,
  reset: a swapped pair's clock is its oldest photon's emission, the
  meaning of ``cutoff_time_s`` in every engine. An expired memory resets and
  its generation rule starts a new negotiation at once
  (``resource_manager.memory_expire``). A spec with ``cutoff_time_s=None``
  keeps pairs forever, so expiry is switched off (``cutoff_flag=False``);
  otherwise ``cutoff_ratio = cutoff_time_s / T_sequence`` (SeQUeNCe's
  converted coherence time).
* **Purification** is not mapped: SeQUeNCe purifies "until the target
  fidelity" with a rule that rarely pairs memories under ``bell_diagonal``
  (pitfall 8). Specs asking for purification are rejected with ValueError.
  The request's target fidelity is set to :data:`_TARGET_FIDELITY`, below
  any fidelity a Werner pair can reach, so no pair is ever purified and no
  pair is refused for its fidelity.
* **Swap degradation** (``swap_fidelity``) exists only outside
  ``bell_diagonal`` (pitfall 2); under ``bell_diagonal`` a value other than
  1 is rejected rather than dropped.

SeQUeNCe keeps process-wide class state (pitfall 1), so run one simulation
per process: :func:`qnetemu.engines.isolated.run_isolated`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
from qnetemu.engines.chain import ChainResult, ChainSpec, ProtocolNotSupported
from qnetemu.physics.entanglement import sequence_coherence_time_s

__all__ = [
    "FORMALISMS",
    "PS_PER_S",
    "SequenceChainEngine",
    "build_router_net_config",
    "chain_topology",
    "request_start_s",
]

#: Picoseconds per second: SeQUeNCe's time unit.
PS_PER_S = 10**12
M_PER_KM = 1_000.0
FORMALISMS = ("bell_diagonal", "density_matrix", "ket_vector")
#: Request target fidelity: low enough that no pair triggers purification.
_TARGET_FIDELITY = 0.01
#: Number of progress reports over the simulated window.
_PROGRESS_STEPS = 20
_ROUTER_TEMPLATE = "qnetemu_router"
_BSM_TEMPLATE = "qnetemu_bsm"


def _router_name(i: int) -> str:
    return f"r{i}"


def _check_chain(chain: ChainSpec, formalism: str) -> None:
    """Raise ValueError for a spec the adapter cannot translate faithfully."""
    if formalism not in FORMALISMS:
        raise ValueError(f"formalism must be one of {FORMALISMS}, got {formalism!r}")
    if chain.n_segments < 1:
        raise ValueError("a chain needs at least one segment (segment_lengths_km is empty)")
    lengths = np.asarray(chain.segment_lengths_km, dtype=float)
    if not np.all(np.isfinite(lengths)) or np.any(lengths <= 0):
        raise ValueError(
            f"segment_lengths_km must be finite and > 0, got {chain.segment_lengths_km}"
        )
    if not (math.isfinite(chain.attenuation_db_per_km) and chain.attenuation_db_per_km >= 0):
        raise ValueError(
            f"attenuation_db_per_km must be finite and >= 0, got {chain.attenuation_db_per_km}"
        )
    hw = chain.hardware
    for name in ("memory_efficiency", "detector_efficiency", "swap_success_prob", "swap_fidelity"):
        value = getattr(hw, name)
        if not 0.0 < value <= 1.0:
            raise ValueError(f"hardware.{name} must be in (0, 1], got {value}")
    if formalism == "bell_diagonal" and not 0.5 <= hw.link_fidelity <= 1.0:
        # SeQUeNCe's single-heralded protocol asserts this range.
        raise ValueError(
            f"hardware.link_fidelity must be in [0.5, 1] under bell_diagonal, got {hw.link_fidelity}"
        )
    if not 0.0 <= hw.link_fidelity <= 1.0:
        raise ValueError(f"hardware.link_fidelity must be in [0, 1], got {hw.link_fidelity}")
    if not hw.coherence_time_s > 0:
        raise ValueError(f"hardware.coherence_time_s must be > 0, got {hw.coherence_time_s}")
    if not (math.isfinite(hw.attempt_rate_hz) and hw.attempt_rate_hz > 0):
        raise ValueError(
            f"hardware.attempt_rate_hz must be finite and > 0, got {hw.attempt_rate_hz}"
        )
    if hw.memories_per_node < 1:
        raise ValueError(f"hardware.memories_per_node must be >= 1, got {hw.memories_per_node}")
    if formalism == "bell_diagonal" and hw.swap_fidelity != 1.0:
        # SeQUeNCe's bell_diagonal swap takes no degradation (pitfall 2); do not drop it silently.
        raise ValueError(
            f"hardware.swap_fidelity must be 1 under bell_diagonal (SeQUeNCe's Bell-diagonal swap "
            f"has no degradation), got {hw.swap_fidelity}; use formalism='density_matrix'"
        )
    if hw.purification != "none" or hw.purification_rounds != 0:
        raise ValueError(
            "the sequence engine does not map purification (SeQUeNCe purifies until a target "
            "fidelity, and rarely pairs memories under bell_diagonal); use purification='none'"
        )
    if hw.cutoff_time_s is not None:
        if not hw.cutoff_time_s > 0:
            raise ValueError(f"hardware.cutoff_time_s must be > 0 or None, got {hw.cutoff_time_s}")
        if not math.isfinite(hw.coherence_time_s):
            raise ValueError("a cutoff needs a finite coherence_time_s (SeQUeNCe scales it)")


def _router_positions_m(chain: ChainSpec) -> np.ndarray:
    """Position of each router along the fibre [m], r0 at 0."""
    lengths_m = np.asarray(chain.segment_lengths_km, dtype=float) * M_PER_KM
    return np.concatenate(([0.0], np.cumsum(lengths_m)))


def _classical_delay_ps(distance_m: float) -> int:
    """One-way classical delay over ``distance_m`` of fibre [ps], rounded to the ps."""
    return int(round(distance_m / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S * PS_PER_S))


def _node_seeds(seed: int, n: int) -> list[int]:
    """Independent 32-bit seeds for ``n`` SeQUeNCe nodes from one integer seed."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    words = np.random.SeedSequence(seed).generate_state(n + 1, dtype=np.uint32)
    return [int(w) for w in words]


def build_router_net_config(
    chain: ChainSpec, *, seed: int, stop_time_s: float, formalism: str
) -> dict:
    """SeQUeNCe ``RouterNetTopo`` configuration dictionary for a chain (pure).

    Parameters
    ----------
    chain
        The chain; lengths in km and attenuation in dB/km are converted here.
    seed
        Integer seed; every router and BSM node gets its own seed derived
        with :class:`numpy.random.SeedSequence`.
    stop_time_s
        Simulated time at which SeQUeNCe's timeline stops. [s]
    formalism
        ``"bell_diagonal"``, ``"density_matrix"`` or ``"ket_vector"``.

    Returns
    -------
    dict
        Keys ``formalism``, ``stop_time`` [ps], ``templates``, ``nodes``,
        ``qconnections`` (``distance`` [m], ``attenuation`` [dB/m]) and
        ``cconnections`` (``delay`` [ps], ``distance`` [m]), in SeQUeNCe's
        vocabulary (SeQUeNCe 1.3.1 ``sequence.topology.router_net_topo``).

    Raises
    ------
    ValueError
        For an invalid spec, a negative seed or stop time, or a spec the
        adapter cannot translate faithfully (purification).
    """
    _check_chain(chain, formalism)
    if not (math.isfinite(stop_time_s) and stop_time_s > 0):
        raise ValueError(f"stop_time_s must be finite and > 0, got {stop_time_s}")
    hw = chain.hardware
    n_routers = chain.n_segments + 1
    seeds = _node_seeds(seed, n_routers + chain.n_segments)
    positions_m = _router_positions_m(chain)

    # SeQUeNCe reads coherence_time <= 0 as "never decoheres".
    coherence_time_s = (
        sequence_coherence_time_s(hw.coherence_time_s, hw.decoherence)
        if math.isfinite(hw.coherence_time_s) else -1.0
    )
    memory = {
        "fidelity": hw.link_fidelity,
        "frequency": hw.attempt_rate_hz,
        "efficiency": hw.memory_efficiency,
        "coherence_time": coherence_time_s,
    }
    if hw.decoherence == "dephasing":
        if formalism != "bell_diagonal":
            raise ValueError("dephasing memories need formalism='bell_diagonal' in SeQUeNCe")
        memory["decoherence_errors"] = [0.0, 0.0, 1.0]
    if hw.cutoff_time_s is None:
        memory["cutoff_flag"] = False
    else:
        memory["cutoff_ratio"] = hw.cutoff_time_s / coherence_time_s
        memory["cutoff_flag"] = True
    swapping: dict = {"swapping_success_prob": hw.swap_success_prob}
    if formalism != "bell_diagonal":
        # Pitfall 2: rejected under bell_diagonal, defaulted to 0.95 otherwise.
        swapping["swapping_degradation"] = hw.swap_fidelity
    detector = {
        "efficiency": hw.detector_efficiency,
        "dark_count": 0,
        "count_rate": 1e11,
        "time_resolution": 150,
    }
    if formalism == "bell_diagonal":
        bsm_template = {
            "encoding_type": "single_heralded",
            "SingleHeraldedBSM": {"detectors": [dict(detector), dict(detector)]},
        }
    else:
        bsm_template = {
            "encoding_type": "single_atom",
            "SingleAtomBSM": {"detectors": [dict(detector), dict(detector)]},
        }

    m = hw.memories_per_node
    nodes = [
        {
            "name": _router_name(i),
            "type": "QuantumRouter",
            "seed": seeds[i],
            "memo_size": m if i in (0, n_routers - 1) else 2 * m,
            "template": _ROUTER_TEMPLATE,
        }
        for i in range(n_routers)
    ]
    attenuation_db_per_m = chain.attenuation_db_per_km / M_PER_KM
    qconnections = [
        {
            "node1": _router_name(i),
            "node2": _router_name(i + 1),
            "attenuation": attenuation_db_per_m,
            "distance": float(positions_m[i + 1] - positions_m[i]),
            "type": "meet_in_the_middle",
            "seed": seeds[n_routers + i],
            "template": _BSM_TEMPLATE,
        }
        for i in range(chain.n_segments)
    ]
    cconnections = []
    for i in range(n_routers):
        for j in range(i + 1, n_routers):
            distance_m = float(positions_m[j] - positions_m[i])
            cconnections.append(
                {
                    "node1": _router_name(i),
                    "node2": _router_name(j),
                    "delay": _classical_delay_ps(distance_m),
                    "distance": distance_m,
                }
            )
    return {
        "formalism": formalism,
        "stop_time": int(round(stop_time_s * PS_PER_S)),
        "templates": {
            _ROUTER_TEMPLATE: {
                "MemoryArray": memory,
                "EntanglementSwapping": swapping,
            },
            _BSM_TEMPLATE: bsm_template,
        },
        "nodes": nodes,
        "qconnections": qconnections,
        "cconnections": cconnections,
    }


def request_start_s(chain: ChainSpec) -> float:
    """Simulated time at which the end-to-end request starts [s].

    RSVP asserts that the reservation reaches every router before its start
    (pitfall 5); the request and its approval cross the chain hop by hop, so
    twice the end-to-end classical delay plus a margin is enough.
    """
    one_way_s = chain.total_length_km * M_PER_KM / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S
    return 2.0 * one_way_s * 1.5 + 1e-6


def chain_topology(config: dict):
    """SeQUeNCe ``RouterNetTopo`` for a linear chain, its forwarding tables written directly.

    ``RouterNetTopo._generate_forwarding_table`` runs one Dijkstra per router
    pair (N**3 overall: 20 s at 256 routers); on the chain ``r0 .. rN`` the
    next hop from ``ri`` towards ``rk`` is ``r(i+1)`` for ``k > i`` and
    ``r(i-1)`` otherwise, which is what those searches return.
    """
    from sequence.network_management.routing import StaticRoutingProtocol
    from sequence.topology.router_net_topo import RouterNetTopo

    class _ChainTopo(RouterNetTopo):
        def _generate_forwarding_table(self, config: dict) -> None:
            routers = self.nodes[self.QUANTUM_ROUTER]
            names = [r.name for r in routers]
            if names != [_router_name(i) for i in range(len(names))]:
                raise ValueError(f"not a chain r0 .. rN: {names[:5]} ...")
            for i, router in enumerate(routers):
                protocol = router.network_manager.get_routing_protocol()
                if not isinstance(protocol, StaticRoutingProtocol):
                    raise ValueError("the chain's forwarding tables need static routing")
                table = {name: names[i + 1] for name in names[i + 1:]}
                table.update({name: names[i - 1] for name in names[:i]})
                protocol.set_forwarding_table(table)

    return _ChainTopo(config)


def _set_protocol_class_state(formalism: str) -> None:
    """Select SeQUeNCe's process-wide protocol classes (pitfall 1)."""
    from sequence.constants import BARRET_KOK, SINGLE_HERALDED
    from sequence.entanglement_management.generation import (
        EntanglementGenerationA,
        EntanglementGenerationB,
    )
    from sequence.entanglement_management.purification import PurificationProtocol
    from sequence.entanglement_management.swapping import (
        EntanglementSwappingA,
        EntanglementSwappingB,
    )

    generation = SINGLE_HERALDED if formalism == "bell_diagonal" else BARRET_KOK
    EntanglementGenerationA.set_global_type(generation)
    EntanglementGenerationB.set_global_type(generation)
    EntanglementSwappingA.set_formalism(formalism)
    EntanglementSwappingB.set_formalism(formalism)
    PurificationProtocol.set_formalism(formalism)


def _rate_and_stderr(arrival_times_s: np.ndarray, window_s: float) -> tuple[float, float]:
    """Delivery rate [Hz] and its standard error [Hz] from arrival times.

    The rate is ``n / window_s``. Deliveries form (approximately) a renewal
    process, whose count over a window ``T`` has variance ``T sigma^2 /
    mu^3`` (mu, sigma: mean and standard deviation of the inter-arrival
    time; Cox, *Renewal Theory*, 1962, sec. 6.3), so the rate's standard
    error is ``sqrt(sigma^2 / (mu^3 T))``. Below three pairs the Poisson
    value ``sqrt(max(n, 1)) / T`` is used.
    """
    n = arrival_times_s.size
    rate_hz = n / window_s
    if n < 3:
        return rate_hz, math.sqrt(max(n, 1)) / window_s
    gaps_s = np.diff(arrival_times_s)
    mu_s = float(np.mean(gaps_s))
    var_s2 = float(np.var(gaps_s, ddof=1))
    if mu_s <= 0:
        return rate_hz, math.sqrt(n) / window_s
    return rate_hz, math.sqrt(var_s2 / (mu_s**3 * window_s))


class SequenceChainEngine:
    """Repeater-chain engine running SeQUeNCe 1.3.1 event by event.

    Parameters
    ----------
    formalism
        SeQUeNCe quantum-state formalism: ``"bell_diagonal"`` (default; the
        only one whose fidelity includes memory decoherence),
        ``"density_matrix"`` or ``"ket_vector"``.
    progress
        Called with the fraction of the simulated window done, 20 times per
        run (and with 1.0 at the end).

    Notes
    -----
    See the module docstring for what SeQUeNCe does differently from the
    other engines. Run it in its own process
    (:func:`qnetemu.engines.isolated.run_isolated`): SeQUeNCe's protocol
    choice is class state shared by the whole process.
    """

    name = "sequence"

    def __init__(
        self,
        formalism: str = "bell_diagonal",
        progress: Callable[[float], None] | None = None,
    ):
        if formalism not in FORMALISMS:
            raise ValueError(f"formalism must be one of {FORMALISMS}, got {formalism!r}")
        self.formalism = formalism
        self.progress = progress

    def check_protocol(self, chain: ChainSpec) -> None:
        """Refuse a protocol SeQUeNCe 1.3.1 does not run, naming the scenario field."""
        proto, hw = chain.protocol, chain.hardware
        if proto.link_generation != "negotiated":
            raise ProtocolNotSupported(
                self.name, "repeater.protocol.link_generation", proto.link_generation,
                "SeQUeNCe's generation protocols pair the two routers (REQUEST/RESPONSE) and "
                "agree on the emission time (NEGOTIATE/ACK) before every attempt, and a failed "
                "attempt makes a new protocol that does both again; attempts every "
                "max(1/rate, L/c) would need a generation protocol of qnetemu's own, not "
                "SeQUeNCe's (use negotiated, or the montecarlo or analytic engine)")
        if proto.multiplexing == "single" and hw.memories_per_node > 1:
            raise ProtocolNotSupported(
                self.name, "repeater.protocol.multiplexing", "single",
                "SeQUeNCe keeps every heralded pair (use independent_lanes or shared_pool)")
        if hw.purification != "none" and hw.purification_rounds > 0:
            raise ProtocolNotSupported(
                self.name, "repeater.purification", hw.purification,
                "SeQUeNCe purifies until a target fidelity and rarely pairs memories under "
                "bell_diagonal")
        if self.formalism == "bell_diagonal" and hw.swap_fidelity != 1.0:
            raise ProtocolNotSupported(
                self.name, "repeater.swap_fidelity", hw.swap_fidelity,
                "SeQUeNCe's Bell-diagonal swap has no degradation")

    def simulate(
        self, chain: ChainSpec, *, seed: int, max_pairs: int, max_time_s: float
    ) -> ChainResult:
        """Simulate the end-to-end request(s) ``r0 -> rN``.

        Parameters
        ----------
        chain
            The chain to simulate.
        seed
            Seed of every random choice (node generators and Python's
            ``random`` via ``Timeline.seed``); equal seeds give equal runs.
        max_pairs
            Stop after this many delivered end-to-end pairs.
        max_time_s
            Stop after this much simulated time from the request start. [s]

        Returns
        -------
        ChainResult
            ``pairs``; ``simulated_time_s`` from the request start to the
            stop (window end, or the delivery of the ``max_pairs``-th pair);
            ``pair_rate_hz = pairs / simulated_time_s`` with a renewal-process
            standard error; ``mean_fidelity`` and its standard error (sample
            standard deviation / sqrt(n)); ``latency_s`` from the request
            start to the first pair. With no pair delivered, fidelity,
            its error and the latency are NaN and ``extra["note"]`` says so.
            ``wall_s`` covers building and running, not the first import
            of SeQUeNCe (``extra["import_s"]``). ``extra`` holds ``events``
            (SeQUeNCe's ``run_counter``), ``build_s``, ``run_s``, ``pair_times_s``, ``pair_fidelities``,
            ``formalism``, ``protocol``, ``request_start_s`` and ``swap_yields`` (swap-ASAP: swaps
            abandoned to a neighbour's earlier swap on the pair between them).
        """
        if max_pairs < 1:
            raise ValueError(f"max_pairs must be >= 1, got {max_pairs}")
        if not (math.isfinite(max_time_s) and max_time_s > 0):
            raise ValueError(f"max_time_s must be finite and > 0, got {max_time_s}")
        import_start = time.perf_counter()
        # Imported here so that importing qnetemu does not import SeQUeNCe
        # (1-2 s, 160 MB); the first import is timed apart from the run.
        from sequence.app.request_app import RequestApp
        from sequence.kernel.event import Event
        from sequence.kernel.process import Process
        from sequence.kernel.timeline import Timeline
        from sequence.topology.router_net_topo import RouterNetTopo

        wall_start = time.perf_counter()
        import_s = wall_start - import_start
        start_s = request_start_s(chain)
        end_s = start_s + max_time_s
        config = build_router_net_config(
            chain, seed=seed, stop_time_s=end_s, formalism=self.formalism
        )

        self.check_protocol(chain)
        _set_protocol_class_state(self.formalism)
        topo = chain_topology(config)
        tl = topo.get_timeline()
        # photons fly at the fibre's speed, as in the other engines (SeQUeNCe: m/ps)
        for qc in topo.get_qchannels():
            qc.light_speed = SPEED_OF_LIGHT_IN_FIBRE_M_PER_S / PS_PER_S
        Timeline.seed(_node_seeds(seed, 0)[0])
        routers = {r.name: r for r in topo.get_nodes_by_type(RouterNetTopo.QUANTUM_ROUTER)}
        asap = None
        if chain.protocol.swap_order == "swap_asap" and chain.n_segments > 1:
            from qnetemu.engines.sequence_rules import install_swap_asap

            asap = install_swap_asap(routers.values())
        if chain.protocol.swap_messaging == "instant":
            from qnetemu.engines.sequence_rules import make_swap_messages_instant

            make_swap_messages_instant(routers.values())
        initiator = routers[_router_name(0)]
        responder_name = _router_name(chain.n_segments)
        bell_diagonal = self.formalism == "bell_diagonal"

        times_ps: list[int] = []
        fidelities: list[float] = []

        class _RecordingApp(RequestApp):
            """RequestApp that records each delivered pair's time and fidelity."""

            def get_memory(self, info) -> None:
                delivered = (
                    info.state in ("ENTANGLED", "PURIFIED")
                    and info.index in self.memo_to_reservation
                    and info.remote_node == responder_name
                    and info.fidelity >= self.memo_to_reservation[info.index].fidelity
                )
                if delivered:
                    fidelities.append(_delivered_fidelity(tl, info, bell_diagonal))
                    times_ps.append(tl.now())
                super().get_memory(info)
                if delivered and len(times_ps) >= max_pairs:
                    tl.stop()

        app = _RecordingApp(initiator)
        # Without an app the responder never releases its delivered memories.
        RequestApp(routers[responder_name])

        start_ps = int(round(start_s * PS_PER_S))
        end_ps = int(round(end_s * PS_PER_S))
        reporter = None
        if self.progress is not None:
            reporter = _ProgressReporter(self.progress, start_ps, end_ps)
            for k in range(1, _PROGRESS_STEPS):
                t_ps = start_ps + (end_ps - start_ps) * k // _PROGRESS_STEPS
                tl.schedule(Event(t_ps, Process(reporter, "report", [t_ps])))
        tl.init()
        m = chain.hardware.memories_per_node
        if chain.protocol.multiplexing == "shared_pool" or m == 1:
            app.start(responder_name, start_ps, end_ps, m, _TARGET_FIDELITY)
        else:  # independent lanes: one reservation (and rule set) per memory
            app.start(responder_name, start_ps, end_ps, 1, _TARGET_FIDELITY)
            # equal reservations compare equal (reservation.py __eq__): give each lane its id
            for lane in range(1, m):
                initiator.reserve_net_resource(
                    responder_name, start_ps, end_ps, 1, _TARGET_FIDELITY, identity=lane
                )
        build_s = time.perf_counter() - wall_start
        run_start = time.perf_counter()
        tl.run()
        run_s = time.perf_counter() - run_start
        if self.progress is not None:
            self.progress(1.0)

        stop_ps = min(tl.now(), end_ps) if len(times_ps) >= max_pairs else end_ps
        window_s = (stop_ps - start_ps) / PS_PER_S
        arrival_s = (np.asarray(times_ps, dtype=float) - start_ps) / PS_PER_S
        fid = np.asarray(fidelities, dtype=float)
        rate_hz, rate_se_hz = _rate_and_stderr(arrival_s, window_s)
        n = arrival_s.size
        extra: dict = {
            # progress events are not SeQUeNCe's work
            "events": int(tl.run_counter) - (reporter.fired if reporter else 0),
            "import_s": import_s,
            "build_s": build_s,
            "run_s": run_s,
            "pair_times_s": arrival_s.tolist(),
            "pair_fidelities": fid.tolist(),
            "formalism": self.formalism,
            "protocol": chain.protocol.label(),
            "qchannels": len(topo.get_qchannels()),
            "request_start_s": start_s,
            "swap_yields": asap.yields if asap is not None else 0,
            "seed": seed,
        }
        if n == 0:
            extra["note"] = "no end-to-end pair delivered: fidelity and latency are undefined (NaN)"
        return ChainResult(
            engine=self.name,
            pairs=int(n),
            simulated_time_s=window_s,
            pair_rate_hz=rate_hz,
            pair_rate_stderr_hz=rate_se_hz,
            mean_fidelity=float(np.mean(fid)) if n else float("nan"),
            fidelity_stderr=float(np.std(fid, ddof=1) / math.sqrt(n)) if n >= 2 else float("nan"),
            latency_s=float(arrival_s[0]) if n else float("nan"),
            wall_s=time.perf_counter() - wall_start,
            extra=extra,
        )


def _delivered_fidelity(tl, info, bell_diagonal: bool) -> float:
    """Fidelity of a pair at the moment it is delivered to r0's application.

    Under ``bell_diagonal`` both memories are first brought to the present by
    SeQUeNCe's analytic decoherence channel (``Memory.bds_decohere``); the
    remote memory's clock is advanced too, so its later update does not count
    the same storage time twice.
    """
    if not bell_diagonal:
        return float(info.fidelity)
    memory = info.memory
    remote = tl.get_entity_by_name(memory.entangled_memory["memo_id"])
    memory.bds_decohere()
    if remote is not None:
        remote.bds_decohere()
    return float(memory.get_bds_fidelity())


class _ProgressReporter:
    """Target of the timeline events that report progress."""

    def __init__(self, callback: Callable[[float], None], start_ps: int, end_ps: int):
        self.callback = callback
        self.start_ps = start_ps
        self.end_ps = end_ps
        self.fired = 0

    def report(self, t_ps: int) -> None:
        self.fired += 1
        self.callback((t_ps - self.start_ps) / (self.end_ps - self.start_ps))
