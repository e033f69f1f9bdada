"""qnetemu: a quantum-network emulator for EuroQCI-scale planning.

The façade, for scripts and notebooks::

    import qnetemu

    res = qnetemu.run("scenarios/ronaqci.yaml", overrides={"qkd.detector_efficiency": 0.3})
    res.demands            # pandas DataFrame: one row per demand and architecture
    study = qnetemu.sweep("scenarios/repeater_chain.yaml",
                          axes={"repeater.memory.coherence_time_s": [0.1, 1.0, 10.0]})
    study.demands          # one row per point, demand and architecture

Subpackages load on first use: ``qnetemu.physics``, ``qnetemu.network``,
``qnetemu.engines``, ``qnetemu.plots``, ``qnetemu.scenario`` ... (see the
README's package table).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import qnetemu.sweep as _sweep_package  # callable: qnetemu.sweep(...) runs a sweep
from qnetemu.engine_names import DEFAULT_ENGINE
from qnetemu.errors import UserError

__version__ = "0.1.0"

sweep = _sweep_package

_SUBPACKAGES = ("architectures", "engines", "network", "orbits", "physics", "plots", "results", "scenario", "space")
_LAZY = {
    "Result": ("qnetemu.pipeline", "Result"),
    "SweepResult": ("qnetemu.sweep.api", "SweepResult"),
    "Scenario": ("qnetemu.scenario.schema", "Scenario"),
    "draw_figures": ("qnetemu.plots", "draw_run"),
    "write_report": ("qnetemu.report", "write_report"),
    "topologies": ("qnetemu.scenario.topology", "topohub_keys"),
}


def load_scenario(path: str | Path):
    """Read and validate a scenario file; returns the pydantic :class:`Scenario`."""
    from qnetemu.scenario.load import load_scenario as _load

    return _load(path)[0]


def run(scenario, *, overrides=None, engine: str = DEFAULT_ENGINE, architectures=None, seed: int = 0,
        base_dir=None, progress=None):
    """Evaluate a scenario (path, mapping or :class:`Scenario`) in memory; see :func:`qnetemu.pipeline.run`.

    Returns a :class:`Result` whose ``demands``, ``links`` and ``sites`` are pandas DataFrames.
    """
    from qnetemu.pipeline import run as _run

    return _run(scenario, overrides=overrides, engine=engine, architectures=architectures, seed=seed,
                base_dir=base_dir, progress=progress)


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"qnetemu.{name}")
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'qnetemu' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBPACKAGES) | set(_LAZY))


__all__ = ["Result", "Scenario", "SweepResult", "UserError", "__version__", "draw_figures", "load_scenario", "run",
           "sweep", "topologies", "write_report"]
