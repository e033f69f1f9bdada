"""Space segment services: key per pass, trusted-satellite relay, entanglement downlinks."""

from __future__ import annotations

from qnetemu.space.services import (
    MICIUS_BB84_PAYLOAD,
    MICIUS_PAIR_SOURCE,
    XINGLONG_STATION,
    BB84Payload,
    EntangledPairSource,
    GroundStation,
    bbm92_downlink_rates,
    entanglement_downlink_key_per_day,
    key_per_pass,
    trusted_satellite_key_per_day,
)

__all__ = [
    "MICIUS_BB84_PAYLOAD",
    "MICIUS_PAIR_SOURCE",
    "XINGLONG_STATION",
    "BB84Payload",
    "EntangledPairSource",
    "GroundStation",
    "bbm92_downlink_rates",
    "entanglement_downlink_key_per_day",
    "key_per_pass",
    "trusted_satellite_key_per_day",
]
