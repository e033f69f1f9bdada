"""Small synthetic result tables, shaped like a run's, for the figure tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def demand_rows(n: int, *, seed: int = 1) -> pd.DataFrame:
    """``n`` demands x (trusted node, repeater): every 5th trusted-node demand without a route, long repeater ones without key."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        dist = float(rng.uniform(50, 3000))
        tn_ok = i % 5 != 4
        rows.append({"a": f"S{i:03d}", "b": f"T{i:03d}", "architecture": "trusted_node",
                     "status": "ok" if tn_ok else "no_path", "key_rate_bps": 1e4 * rng.uniform(0.5, 2) if tn_ok else 0.0,
                     "distance_km": dist if tn_ok else np.nan, "trusted_nodes": int(dist // 100) if tn_ok else np.nan,
                     "fidelity": np.nan, "fidelity_stderr": np.nan})
        rep_key = 1e3 * np.exp(-dist / 200) if dist < 600 else 0.0
        rows.append({"a": f"S{i:03d}", "b": f"T{i:03d}", "architecture": "repeater", "status": "ok",
                     "key_rate_bps": rep_key, "distance_km": dist, "trusted_nodes": 0,
                     "fidelity": 0.99 - dist / 6000, "fidelity_stderr": 0.001})
    return pd.DataFrame(rows)


@pytest.fixture
def make_demands():
    return demand_rows


@pytest.fixture
def links() -> pd.DataFrame:
    return pd.DataFrame({
        "link_id": ["A–B", "B–C", "C–D", "A–D", "SAT X–OGS 1", "SAT X–OGS 2"],
        "a": ["A", "B", "C", "A", "SAT X", "SAT X"], "b": ["B", "C", "D", "D", "OGS 1", "OGS 2"],
        "segment": ["fibre", "fibre", "fibre", "fibre", "satellite", "satellite"],
        "length_km": [50.0, 80.0, 300.0, 120.0, np.nan, np.nan],
        "attenuation_db_per_km": [0.2, 0.2, 0.2, 0.2, np.nan, np.nan],
        "loss_db": [10.0, 16.0, 60.0, 24.0, np.nan, np.nan],
        "key_rate_bps": [2e5, 5e4, 0.0, 1e4, 3.0, 2.0],
        "repetition_rate_hz": [1e9, 1e9, 1e9, 1e9, np.nan, np.nan],
        "bypassed": [0, 0, 0, 0, 0, 0],
    })


@pytest.fixture
def sites() -> pd.DataFrame:
    return pd.DataFrame({
        "name": ["A", "B", "C", "D", "OGS 1", "OGS 2", "SAT X"],
        "lat_deg": [44.4, 45.7, 46.8, 44.2, 44.3, 40.4, np.nan],
        "lon_deg": [26.1, 21.2, 23.6, 28.6, 26.0, -3.7, np.nan],
        "role": ["endpoint", "trusted_node", "endpoint", "endpoint", "ground_station", "ground_station", "satellite"],
        "inserted": [False, False, False, False, False, False, False],
    })
