"""One look for every figure: readable in print (PDF) and on screen (PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

RC = {
    "figure.dpi": 110,
    "savefig.dpi": 200,
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
            fig.savefig(path, bbox_inches="tight", metadata={"Creator": "qnetemu"} if ext == "pdf" else None)
            paths.append(path)
    plt.close(fig)
    return paths
