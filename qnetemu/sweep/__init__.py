"""Sweeps: axes, seeds, executors, journal, resume.

The package is also callable: ``qnetemu.sweep(scenario, axes=...)`` is
:func:`qnetemu.sweep.api.sweep` (a script reads ``qnetemu.sweep(...)``
and ``qnetemu.run(...)`` alike, and the subpackage keeps its name).
"""

from __future__ import annotations

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from qnetemu.sweep.api import sweep

        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
