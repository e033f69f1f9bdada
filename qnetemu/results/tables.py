"""Tidy result tables: row dicts to pandas DataFrames with stable column order."""

from __future__ import annotations

import pandas as pd

#: Leading columns of each table, in order; other columns follow alphabetically.
COLUMN_ORDER = {
    "demands": ["a", "b", "architecture", "engine", "status", "key_rate_bps", "bottleneck_key_rate_bps",
                "required_key_rate_bps", "requirement_met", "trusted_nodes", "trusted_node_names", "hops",
                "distance_km", "latency_s", "route_sites", "path", "segments"],
    "links": ["link_id", "a", "b", "segment", "length_km", "loss_db", "transmittance", "qber", "key_rate_bps"],
    "sites": ["name", "lat_deg", "lon_deg", "role", "inserted", "degree", "country", "can_relay"],
}


def to_frame(name: str, rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    lead = [c for c in COLUMN_ORDER.get(name, []) if c in frame.columns]
    rest = sorted(c for c in frame.columns if c not in lead)
    return frame[lead + rest]


def to_frames(tables: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    return {name: to_frame(name, rows) for name, rows in tables.items()}
