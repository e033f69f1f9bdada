"""Human-readable numbers for tables and reports (key rates span 12 decades), and text safe to print."""

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


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``1 link``, ``2 links``: counts in messages read as sentences."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


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


#: Bidirectional-text controls: they reorder what a terminal shows (a name could hide its own end).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: object) -> str:
    """``text`` safe to show on a terminal or in a log line: controls become visible escapes.

    Control characters (ESC, the C1 set, NUL, ...), line and paragraph
    separators and bidirectional overrides are written as Python escapes
    (``\\x1b``, ``\\u2028``), so a site name cannot move the cursor, change
    colours, start a new line or reorder the text around it. Everything else,
    accents and scripts included, is kept.
    """
    import unicodedata

    out = []
    for ch in str(text):
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in {"Cc", "Zl", "Zp"}:
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)
