"""The repeater-chain engines by name, and the one default engine.

A module of its own, importing nothing, so the command line can show the
choices and the default in ``--help`` without loading the pipeline; the
pipeline, the Python API and the sweep schema read the same two names.
"""

#: Repeater-chain engines, fastest first (see :mod:`qnetemu.engines`).
ENGINES = ("analytic", "montecarlo", "sequence")
#: The engine of ``qnetemu run``, :func:`qnetemu.run` and a sweep that names none.
DEFAULT_ENGINE = "analytic"
