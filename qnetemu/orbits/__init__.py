"""Satellite orbits and passes over ground stations (geometry only, no QKD)."""

from __future__ import annotations

from qnetemu.orbits.passes import CommonWindow, Pass, Site, common_visibility, find_passes
from qnetemu.orbits.satellites import (
    satellite_from_elements,
    satellite_from_tle,
    sun_synchronous_inclination_deg,
)
from qnetemu.orbits.visibility import (
    StationGeometry,
    common_windows_by_pair,
    passes_by_station,
    station_geometry,
)

__all__ = [
    "CommonWindow",
    "Pass",
    "Site",
    "StationGeometry",
    "common_visibility",
    "common_windows_by_pair",
    "find_passes",
    "passes_by_station",
    "satellite_from_elements",
    "satellite_from_tle",
    "station_geometry",
    "sun_synchronous_inclination_deg",
]
