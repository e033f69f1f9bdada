"""Seeds for sweep points and for sampled axes, all derived from one master seed.

Point ``i`` of an expansion gets the ``i``-th child of
``numpy.random.SeedSequence(master_seed).spawn(n)``, so its numbers depend on
its place in the expansion only: not on the executor, the worker count or the
order in which points finish. Sampled axes (``random``, Latin hypercube) draw
from streams with a different entropy, so they never share a stream with a
point.
"""

from __future__ import annotations

import numpy as np

# Extra entropy word that separates axis-sampling streams from point streams ("QAXS").
_AXES_DOMAIN = 0x51415853
# Spawn key of the Latin-hypercube stream inside the axis domain (axis indices are >= 0).
_LHS_KEY = 2**31


def _check_master(master_seed: int) -> int:
    if isinstance(master_seed, bool) or not isinstance(master_seed, int | np.integer):
        raise ValueError(f"master seed must be an integer, got {master_seed!r}")
    if master_seed < 0:
        raise ValueError(f"master seed must be >= 0, got {master_seed}")
    return int(master_seed)


def point_seed_sequence(master_seed: int, index: int) -> np.random.SeedSequence:
    """The seed sequence of point ``index``.

    Identical to ``SeedSequence(master_seed).spawn(n)[index]`` for any
    ``n > index`` (a child's spawn key is its position), computed without
    spawning the ones before it.
    """
    master = _check_master(master_seed)
    if index < 0:
        raise ValueError(f"point index must be >= 0, got {index}")
    return np.random.SeedSequence(master, spawn_key=(int(index),))


def seed_from_sequence(seq: np.random.SeedSequence) -> int:
    """A 64-bit integer seed that carries the sequence's state into ``default_rng(seed)``."""
    return int(seq.generate_state(1, dtype=np.uint64)[0])


def point_seed(master_seed: int, index: int) -> int:
    """Integer seed of point ``index`` of a sweep with ``master_seed``."""
    return seed_from_sequence(point_seed_sequence(master_seed, index))


def point_seeds(master_seed: int, n: int) -> list[int]:
    """Integer seeds of points ``0 .. n-1``, from ``SeedSequence(master_seed).spawn(n)``."""
    master = _check_master(master_seed)
    if n < 0:
        raise ValueError(f"number of points must be >= 0, got {n}")
    return [seed_from_sequence(s) for s in np.random.SeedSequence(master).spawn(n)]


def axis_generator(master_seed: int, axis_index: int) -> np.random.Generator:
    """Generator for sampling the values of axis ``axis_index`` (``random:`` axes)."""
    master = _check_master(master_seed)
    if not 0 <= axis_index < _LHS_KEY:
        raise ValueError(f"axis index out of range: {axis_index}")
    seq = np.random.SeedSequence([master, _AXES_DOMAIN], spawn_key=(int(axis_index),))
    return np.random.default_rng(seq)


def lhs_generator(master_seed: int) -> np.random.Generator:
    """Generator for the Latin-hypercube block of a sweep."""
    master = _check_master(master_seed)
    return np.random.default_rng(
        np.random.SeedSequence([master, _AXES_DOMAIN], spawn_key=(_LHS_KEY,))
    )
