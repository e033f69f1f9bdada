"""Human-readable numbers for tables and reports (key rates span 12 decades)."""

from __future__ import annotations


def format_rate(bps: float | None) -> str:
    """Key rates span 12 decades: print with SI prefixes."""
    if bps is None or bps != bps:
        return "-"
    if bps <= 0:
        return "0"
    for factor, unit in ((1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"), (1.0, "bit/s")):
        if bps >= factor:
            return f"{bps / factor:.3g} {unit}"
    return f"{bps:.3g} bit/s"


def format_latency(seconds: float | None) -> str:
    """Fibre latencies are milliseconds, satellite store-and-forward waits are hours."""
    if seconds is None or seconds != seconds:
        return "-"
    if seconds == float("inf"):
        return "never"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 3600.0:
        return f"{seconds / 60:.3g} min" if seconds >= 60 else f"{seconds:.3g} s"
    return f"{seconds / 3600:.3g} h"
