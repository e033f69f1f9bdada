"""The one small interface every repeater-chain engine implements.

A :class:`ChainSpec` describes a linear repeater chain (end nodes, repeater
nodes, elementary links with a Bell-state measurement station in the middle);
an engine turns it into a :class:`ChainResult`. The scenario layer builds
specs from user files; engines never parse files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from qnetemu.errors import UserError

Purification = Literal["none", "bbpssw", "dejmps"]
SwapOrder = Literal["swap_asap", "nested"]
LinkGeneration = Literal["continuous", "negotiated"]
SwapMessaging = Literal["instant", "classical"]
Multiplexing = Literal["single", "independent_lanes", "shared_pool"]
Decoherence = Literal["depolarising", "dephasing"]


@dataclass(frozen=True)
class RepeaterProtocol:
    """How a chain generates, stores and swaps pairs (the scenario's ``repeater.protocol``).

    ``swap_order``: ``swap_asap`` (a node swaps as soon as it holds two pairs)
    or ``nested`` (SeQUeNCe's order, the doubling scheme for 2**k segments).
    ``link_generation``: ``continuous`` (attempt period ``max(1/rate, L/c)``)
    or ``negotiated`` (every attempt negotiated between the two routers as
    SeQUeNCe 1.3.1 does, ``3 d + q + d/2``).
    ``swap_messaging``: ``instant`` (outcomes known at once) or ``classical``
    (a swap waits a pairing round trip to its farther partner, and its outcome
    travels at the fibre's speed before the new pair can be used). Under both,
    a link restarts as soon as its two memories are free, so the next pair is
    built while the previous one is completed or its outcomes travel
    (pipelining, as SeQUeNCe does); the textbook cycle restarts every link
    after each delivery.
    ``multiplexing`` with ``m`` memories per link side: ``single`` (``m``
    parallel attempts, one pair kept: ``p -> 1 - (1 - p)**m``),
    ``independent_lanes`` (``m`` chains side by side) or ``shared_pool`` (any
    left pair may be swapped with any right pair, SeQUeNCe's native mode).
    """

    swap_order: SwapOrder
    link_generation: LinkGeneration
    swap_messaging: SwapMessaging
    multiplexing: Multiplexing

    def label(self) -> str:
        """``swap_order/link_generation/swap_messaging/multiplexing``, as result rows record it."""
        return "/".join((self.swap_order, self.link_generation, self.swap_messaging, self.multiplexing))


#: The textbook protocol of the literature's closed forms (Sangouard et al. 2011).
TEXTBOOK_PROTOCOL = RepeaterProtocol("swap_asap", "continuous", "instant", "single")
#: What SeQUeNCe 1.3.1 runs natively (negotiated attempts, nested swaps, a shared memory pool).
SEQUENCE_NATIVE_PROTOCOL = RepeaterProtocol("nested", "negotiated", "classical", "shared_pool")


class ProtocolNotSupported(UserError):
    """An engine cannot run what the scenario asks; ``field`` names the scenario field.

    Engines refuse rather than substitute another protocol; the CLI reports
    the one line and exits with status 2.
    """

    def __init__(self, engine: str, field: str, value, why: str):
        super().__init__(f"the {engine} engine cannot run {value!r}: {why}", field=field)


class ChainBeyondEngine(ProtocolNotSupported):
    """An engine runs the protocol but cannot compute this one chain (its grid or memory would not fit).

    Raised by ``simulate`` for one chain, so the other demands' chains still
    run: :func:`qnetemu.architectures.repeater.evaluate_repeater` records the
    demand's row with status ``beyond_engine`` and this message.
    """


@dataclass(frozen=True)
class RepeaterHardware:
    """Hardware of every node of a chain (SI units; dimensionless where unnamed).

    Every field is required: the scenario schema
    (:class:`qnetemu.scenario.schema.RepeaterProfile`) holds the only
    defaults, and :func:`qnetemu.architectures.repeater.repeater_hardware`
    converts it.
    """

    memory_efficiency: float
    """Probability that a memory emits/retrieves its photon when asked."""
    coherence_time_s: float
    """Per-memory coherence time T2 [s]: a qubit's Bloch-vector coherence decays
    as exp(-t / T2), so a stored pair (two memories) keeps Werner parameter
    ``w exp(-2 t / T2)`` under depolarising memories. Storage counts from the
    photon's emission. ``inf``: a perfect memory."""
    decoherence: Decoherence
    """Memory noise: ``depolarising`` (uniform Pauli channel) or ``dephasing`` (Z only)."""
    memories_per_node: int
    """Memories a node devotes to each neighbouring link (multiplexing)."""
    link_fidelity: float
    """Fidelity of a freshly heralded elementary pair (to the target Bell state)."""
    attempt_rate_hz: float
    """Entanglement-generation attempts per second per memory."""
    detector_efficiency: float
    """Efficiency of each detector of the middle Bell-state measurement."""
    swap_success_prob: float
    """Probability that an entanglement swap succeeds."""
    swap_fidelity: float
    """Multiplicative fidelity factor per swap (SeQUeNCe's swapping_degradation)."""
    purification: Purification
    purification_rounds: int
    """Rounds of entanglement pumping/recurrence on each elementary link."""
    cutoff_time_s: float | None
    """Memory cutoff [s]: a pair is discarded, at both ends at once, this long after
    the emission of the oldest photon it was built from. An elementary pair's
    clock starts at its photons' emission; a swap gives the new pair the older
    clock of the two pairs it joins (SeQUeNCe 1.3.1 sends ``min`` of the two
    memories' expiry times to the new ends; the link-age convention of Iñesta
    et al., npj Quantum Inf. 9, 46, 2023). The links under a discarded pair
    restart. None keeps pairs forever."""


@dataclass(frozen=True)
class ChainSpec:
    """A linear chain: ``len(segment_lengths_km)`` elementary links (every field required).

    ``attenuation_db_per_km``: fibre attenuation of every elementary link [dB/km].
    """

    segment_lengths_km: tuple[float, ...]
    hardware: RepeaterHardware
    attenuation_db_per_km: float
    protocol: RepeaterProtocol

    @property
    def n_segments(self) -> int:
        return len(self.segment_lengths_km)

    @property
    def scheme(self) -> SwapOrder:
        """The swap order (``protocol.swap_order``)."""
        return self.protocol.swap_order

    @property
    def total_length_km(self) -> float:
        return float(sum(self.segment_lengths_km))


@dataclass
class ChainResult:
    """What an engine reports for one chain; rates in pairs per second."""

    engine: str
    pairs: int
    simulated_time_s: float
    pair_rate_hz: float
    pair_rate_stderr_hz: float
    mean_fidelity: float
    fidelity_stderr: float
    latency_s: float
    """Mean time from the start of a request to the first end-to-end pair."""
    wall_s: float
    status: str = "ok"
    error: str | None = None
    extra: dict = field(default_factory=dict)


class ChainEngine(Protocol):
    name: str

    def check_protocol(self, chain: ChainSpec) -> None:
        """Raise :class:`ProtocolNotSupported` for what this engine cannot run."""

    def simulate(
        self, chain: ChainSpec, *, seed: int, max_pairs: int, max_time_s: float
    ) -> ChainResult: ...
