"""One colour, marker and name per architecture, role and satellite, for every figure.

Colours are the Okabe–Ito colour-blind-safe set (Okabe & Ito, *Color
Universal Design*, 2002), so an architecture looks the same in the map, the
rate figures, the sweep figures and the interactive report.
"""

from __future__ import annotations

import re

#: Architecture -> colour (hex), the only place these are chosen.
ARCHITECTURE_COLOURS = {
    "trusted_node": "#0072B2",  # blue
    "satellite": "#E69F00",  # orange
    "repeater": "#009E73",  # bluish green
    "twin_field": "#56B4E9",  # sky blue
}
ARCHITECTURE_MARKERS = {"trusted_node": "s", "satellite": "^", "repeater": "o", "twin_field": "D"}
ARCHITECTURE_LABELS = {
    "trusted_node": "trusted nodes (fibre)",
    "satellite": "fibre + satellites",
    "repeater": "repeaters",
    "twin_field": "twin-field links + trusted nodes",
}

#: Site roles on maps.
ROLE_COLOURS = {"endpoint": "#000000", "trusted_node": "#D55E00", "ground_station": "#E69F00"}
NO_KEY_COLOUR = "#CC79A7"  # reddish purple: links and cells without key
MISSING_COLOUR = "#D9D9D9"  # light grey: no value at all (not zero)
LAND_COLOUR = "#F2F2EE"
COAST_COLOUR = "#9A9A9A"

#: Satellites in order of appearance (distinct from the architecture colours).
SATELLITE_COLOURS = ("#56B4E9", "#CC79A7", "#F0E442", "#8C564B", "#7F7F7F", "#BCBD22")


def architecture_colour(architecture: str) -> str:
    return ARCHITECTURE_COLOURS.get(architecture, "#555555")


def architecture_label(architecture: str) -> str:
    return ARCHITECTURE_LABELS.get(architecture, architecture.replace("_", " "))


def satellite_colours(names) -> dict[str, str]:
    """A stable colour per satellite name (sorted, so every figure agrees)."""
    return {n: SATELLITE_COLOURS[i % len(SATELLITE_COLOURS)] for i, n in enumerate(sorted(set(names)))}


# --- words for parameter paths -----------------------------------------------------------------

#: Unit suffixes of field names (DESIGN.md: the unit is in the name) -> unit as printed.
_UNITS = (
    ("_db_per_km", "dB/km"),
    ("_bps", "bit/s"),
    ("_hz", "Hz"),
    ("_km", "km"),
    ("_db", "dB"),
    ("_deg", "deg"),
    ("_rad", "rad"),
    ("_m", "m"),
    ("_s", "s"),
)

#: Paths whose generic wording reads badly.
_LABELS = {
    "repeater.memory.coherence_time_s": "Memory coherence time T2 [s]",
    "repeater.memory.efficiency": "Memory efficiency",
    "repeater.memory.memories_per_node": "Memories per node per link",
    "repeater.memory.attempt_rate_hz": "Attempt rate per memory [Hz]",
    "repeater.placement.spacing_km": "Repeater spacing [km]",
    "repeater.link_fidelity": "Elementary-link fidelity",
    "repeater.swap_success_prob": "Swap success probability",
    "qkd.detector_efficiency": "QKD detector efficiency",
    "links[*].attenuation_db_per_km": "Fibre attenuation, all links [dB/km]",
    "trusted_nodes.reach_km": "Trusted-node reach [km]",
}


def parameter_label(path: str) -> str:
    """A swept parameter's path in words with its unit.

    >>> parameter_label("repeater.placement.spacing_km")
    'Repeater spacing [km]'
    >>> parameter_label("fibre.attenuation_db_per_km")
    'Fibre attenuation [dB/km]'
    """
    if path in _LABELS:
        return _LABELS[path]
    parts = re.sub(r"\[\*\]", " (all)", path).split(".")
    parts = [re.sub(r"\[(\d+)\]", r" \1", p) for p in parts]
    last, unit = parts[-1], ""
    for suffix, printed in _UNITS:
        if last.endswith(suffix) and len(last) > len(suffix):
            last, unit = last[: -len(suffix)], printed
            break
    words = " ".join([*parts[:-1], last]).replace("_", " ").strip()
    words = words[:1].upper() + words[1:]
    return f"{words} [{unit}]" if unit else words
