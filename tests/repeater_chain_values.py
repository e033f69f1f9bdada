"""Repeater chains for engine tests, every hardware value spelled out.

The engine layer (:mod:`qnetemu.engines.chain`) takes every value as a
required argument: the scenario schema holds the only defaults. Engine
tests need many small chains, mostly with ideal hardware so that closed
forms apply; these two factories give them that hardware, named in full
here, and each test changes only what it is about.
"""

from __future__ import annotations

from qnetemu.engines.chain import TEXTBOOK_PROTOCOL, ChainSpec, RepeaterHardware, RepeaterProtocol

#: Ideal memories and detectors, one memory per link, no purification or cutoff.
IDEAL_HARDWARE = {
    "memory_efficiency": 1.0,
    "coherence_time_s": 1.0,
    "decoherence": "depolarising",
    "memories_per_node": 1,
    "link_fidelity": 0.99,
    "attempt_rate_hz": 1e5,
    "detector_efficiency": 1.0,
    "swap_success_prob": 1.0,
    "swap_fidelity": 1.0,
    "purification": "none",
    "purification_rounds": 0,
    "cutoff_time_s": None,
}

#: Attenuation of the test chains' fibre [dB/km].
TEST_ATTENUATION_DB_PER_KM = 0.2


def make_hardware(**changes) -> RepeaterHardware:
    """:data:`IDEAL_HARDWARE` with ``changes`` (field names of :class:`RepeaterHardware`)."""
    unknown = set(changes) - set(IDEAL_HARDWARE)
    if unknown:
        raise TypeError(f"RepeaterHardware has no field(s) {sorted(unknown)}")
    return RepeaterHardware(**(IDEAL_HARDWARE | changes))


def make_chain(segment_lengths_km, hardware: RepeaterHardware | None = None,
               attenuation_db_per_km: float = TEST_ATTENUATION_DB_PER_KM,
               protocol: RepeaterProtocol = TEXTBOOK_PROTOCOL) -> ChainSpec:
    """A chain of ``segment_lengths_km`` with :func:`make_hardware` () unless ``hardware`` is given."""
    return ChainSpec(segment_lengths_km=tuple(segment_lengths_km),
                     hardware=make_hardware() if hardware is None else hardware,
                     attenuation_db_per_km=attenuation_db_per_km, protocol=protocol)
