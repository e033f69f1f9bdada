"""One look for every figure: readable in print (PDF) and on screen (PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

RC = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def figure(width_in: float = 6.5, height_in: float = 4.0):
    with plt.rc_context(RC):
        return plt.subplots(figsize=(width_in, height_in), layout="constrained")


def save(fig, stem: Path, *, pdf: bool = False) -> list[Path]:
    """Write ``stem.png`` (and ``stem.pdf`` for print when asked) and close the figure."""
    paths = []
    with plt.rc_context(RC):
        for ext in ("png", "pdf") if pdf else ("png",):
            path = stem.with_suffix(f".{ext}")
            fig.savefig(path, metadata={"Creator": "qnetemu"} if ext == "pdf" else None)
            paths.append(path)
    plt.close(fig)
    return paths


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def decade_label(value: float, _pos=None) -> str:
    """``10⁵`` for a power of ten, else nothing: plain text, no mathtext parse per tick (a third of a figure's cost)."""
    import math

    if not value > 0:
        return ""
    exponent = math.log10(value)
    nearest = round(exponent)
    return "10" + str(int(nearest)).translate(_SUPERSCRIPT) if abs(exponent - nearest) < 1e-9 else ""


def sci_label(value: float) -> str:
    """``6.25×10⁸``, ``10⁹``, ``420``: a number in a legend as a reader writes it (not ``6.25e+08``)."""
    import math

    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-2 <= abs(value) < 1e3:
        return f"{value:.3g}"
    exponent = math.floor(math.log10(abs(value)))
    mantissa = float(f"{value / 10.0 ** exponent:.3g}")
    if abs(mantissa) >= 10.0:  # 9.996e8 rounds up to 10.0×10⁸
        mantissa, exponent = mantissa / 10.0, exponent + 1
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    if mantissa == 1.0:
        return power
    return f"{mantissa:g}×{power}"


def log_scale(ax, axis: str = "y") -> None:
    """Log axis with a labelled tick per decade (or per few decades over a wide range) and no minor ticks."""
    from matplotlib import ticker

    getattr(ax, f"set_{axis}scale")("log")
    target = getattr(ax, f"{axis}axis")
    target.set_major_locator(ticker.LogLocator(base=10.0, numticks=12))
    target.set_major_formatter(ticker.FuncFormatter(decade_label))
    target.set_minor_locator(ticker.NullLocator())
