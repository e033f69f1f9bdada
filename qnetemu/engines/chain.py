"""The one small interface every repeater-chain engine implements.

A :class:`ChainSpec` describes a linear repeater chain (end nodes, repeater
nodes, elementary links with a Bell-state measurement station in the middle);
an engine turns it into a :class:`ChainResult`. The scenario layer builds
specs from user files; engines never parse files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Purification = Literal["none", "bbpssw", "dejmps"]
Scheme = Literal["swap_asap", "nested"]


@dataclass(frozen=True)
class RepeaterHardware:
    """Hardware of every node of a chain (SI units; dimensionless where unnamed)."""

    memory_efficiency: float = 1.0
    """Probability that a memory emits/retrieves its photon when asked."""
    coherence_time_s: float = 1.0
    """Memory coherence time T2: stored pairs depolarise as exp(-t / T2)."""
    memories_per_node: int = 1
    """Memories a node devotes to each neighbouring link (multiplexing)."""
    link_fidelity: float = 0.99
    """Fidelity of a freshly heralded elementary pair (to the target Bell state)."""
    attempt_rate_hz: float = 1e5
    """Entanglement-generation attempts per second per memory."""
    detector_efficiency: float = 1.0
    """Efficiency of each detector of the middle Bell-state measurement."""
    swap_success_prob: float = 1.0
    """Probability that an entanglement swap succeeds."""
    swap_fidelity: float = 1.0
    """Multiplicative fidelity factor per swap (SeQUeNCe's swapping_degradation)."""
    purification: Purification = "none"
    purification_rounds: int = 0
    """Rounds of entanglement pumping/recurrence on each elementary link."""
    cutoff_time_s: float | None = None
    """Discard a stored pair older than this; None keeps pairs forever."""


@dataclass(frozen=True)
class ChainSpec:
    """A linear chain: ``len(segment_lengths_km)`` elementary links."""

    segment_lengths_km: tuple[float, ...]
    hardware: RepeaterHardware = field(default_factory=RepeaterHardware)
    attenuation_db_per_km: float = 0.2
    scheme: Scheme = "swap_asap"

    @property
    def n_segments(self) -> int:
        return len(self.segment_lengths_km)

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

    def simulate(
        self, chain: ChainSpec, *, seed: int, max_pairs: int, max_time_s: float
    ) -> ChainResult: ...
