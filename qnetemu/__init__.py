"""qnetemu: a quantum-network emulator for EuroQCI-scale planning.

The façade: a handful of names for scripts and notebooks.

>>> import qnetemu
>>> out = qnetemu.run("scenarios/two_sites.yaml")      # doctest: +SKIP
>>> out.tables["demands"][0]["key_rate_bps"]            # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from qnetemu.errors import UserError

__version__ = "0.1.0"


def load_scenario(path: str | Path):
    """Read and validate a scenario file; returns the pydantic :class:`Scenario`."""
    from qnetemu.scenario.load import load_scenario as _load

    return _load(path)[0]


def run(path: str | Path, *, engine: str = "analytic", seed: int = 0):
    """Evaluate a scenario file in memory (no files written); returns a :class:`RunOutput`."""
    from qnetemu.pipeline import evaluate
    from qnetemu.scenario.resolve import resolve

    path = Path(path)
    scenario = load_scenario(path)
    return evaluate(scenario, resolve(scenario, file=str(path), base_dir=path.parent), engine=engine, seed=seed,
                    file=str(path))


__all__ = ["UserError", "__version__", "load_scenario", "run"]
