"""One source for the default repeater engine: the CLI, the Python API and the sweep schema read DEFAULT_ENGINE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import qnetemu.pipeline as pipeline
from qnetemu.engine_names import DEFAULT_ENGINE, ENGINES

ROOT = Path(__file__).resolve().parents[2]

# Changes the constant before anything (the package __init__ included) reads it, then reports every default: a copy of the
# literal anywhere would still say "analytic".
PROBE = """
import importlib.util, inspect, json, sys
spec = importlib.util.spec_from_file_location("qnetemu.engine_names", "qnetemu/engine_names.py")
names = importlib.util.module_from_spec(spec)
spec.loader.exec_module(names)
names.DEFAULT_ENGINE = sys.argv[1]
sys.modules["qnetemu.engine_names"] = names  # before the package itself reads it
import typer.main
import qnetemu, qnetemu.pipeline as pipeline
from qnetemu.cli import app
from qnetemu.scenario.sweep_spec import SweepSpec

def default(func):
    return inspect.signature(func).parameters["engine"].default

option = next(p for p in typer.main.get_command(app).commands["run"].params if p.name == "engine")
print(json.dumps({"qnetemu.run": default(qnetemu.run), "pipeline.run": default(pipeline.run),
                  "pipeline.evaluate": default(pipeline.evaluate), "cli run --engine": option.default,
                  "sweep engines": SweepSpec(seed=0).engines[0], "cli help": option.help}))
"""


def _defaults_with(engine: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", PROBE, engine], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    return json.loads(done.stdout)


def test_default_engine_is_one_of_the_engines_the_pipeline_accepts():
    assert DEFAULT_ENGINE in ENGINES
    assert pipeline.ENGINES is ENGINES


def test_every_default_follows_the_one_constant():
    for engine in ENGINES:
        found = _defaults_with(engine)
        helptext = found.pop("cli help")
        assert found == dict.fromkeys(found, engine), found
        assert all(name in helptext for name in ENGINES)
