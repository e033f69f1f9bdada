"""The ``sweep:`` section of a scenario file.

A sweep varies scenario parameters named by a path (``links[*].length_km``)
and runs every combination, each with its own seed, on one or more engines and
network architectures. Only the description lives here; expanding it into
points is :mod:`qnetemu.sweep.axes`.

Example::

    sweep:
      seed: 12345
      repetitions: 3
      engines: [analytic]
      architectures: [trusted_node, repeater]
      points_per_task: 8
      mode: grid
      axes:
        - path: repeater.memory.coherence_time_s
          log_range: {start: 1.0e-3, stop: 10.0, num: 9}
        - path: links[*].attenuation_db_per_km
          values: [0.16, 0.18, 0.2]
        - path: qkd.detector_efficiency
          random: {low: 0.1, high: 0.3, count: 10}
      latin_hypercube:
        count: 20
        axes:
          - {path: repeater.spacing_km, low: 25, high: 100}
          - {path: repeater.memory.efficiency, low: 0.1, high: 0.9, log: false}
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qnetemu.engine_names import DEFAULT_ENGINE, ENGINES

Engine = Literal[ENGINES]
Architecture = Literal["trusted_node", "repeater", "satellite", "twin_field"]
ScalarValue = float | int | str | bool

#: Memory a SeQUeNCe task reserves on a Ray node when the sweep does not say. [GiB]
DEFAULT_SEQUENCE_TASK_MEMORY_GIB = 2.0


class _Strict(BaseModel):
    # strict: a boolean is not a number and "50" is not 50 (see qnetemu.scenario.schema.Model)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class LogRange(_Strict):
    """``num`` values spaced evenly in log scale from ``start`` to ``stop``, both included."""

    start: float = Field(
        gt=0, allow_inf_nan=False, description="First value, > 0 (unit of the parameter)."
    )
    stop: float = Field(
        gt=0, allow_inf_nan=False, description="Last value, > 0 (unit of the parameter)."
    )
    num: int = Field(ge=1, le=1_000_000, description="Number of values.")


class LinearRange(_Strict):
    """``num`` values spaced evenly from ``start`` to ``stop``, both included."""

    start: float = Field(allow_inf_nan=False, description="First value (unit of the parameter).")
    stop: float = Field(allow_inf_nan=False, description="Last value (unit of the parameter).")
    num: int = Field(ge=1, le=1_000_000, description="Number of values.")


class RandomUniform(_Strict):
    """``count`` values drawn uniformly from [low, high) with a stream derived from the master seed."""

    low: float = Field(allow_inf_nan=False, description="Lower bound (unit of the parameter).")
    high: float = Field(allow_inf_nan=False, description="Upper bound (unit of the parameter).")
    count: int = Field(ge=1, le=1_000_000, description="Number of samples.")
    log: bool = Field(default=False, description="Sample uniformly in log scale (low, high > 0).")

    @model_validator(mode="after")
    def _bounds(self) -> RandomUniform:
        _check_bounds(self.low, self.high, self.log)
        return self


class AxisSpec(_Strict):
    """One swept parameter: a path into the scenario and exactly one way to give its values."""

    path: str = Field(min_length=1, description="Scenario parameter, e.g. links[*].length_km.")
    values: list[ScalarValue] | None = Field(
        default=None, min_length=1, description="Explicit values."
    )
    log_range: LogRange | None = None
    linear_range: LinearRange | None = None
    random: RandomUniform | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> AxisSpec:
        given = [
            k
            for k in ("values", "log_range", "linear_range", "random")
            if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of values, log_range, linear_range, random"
                + (f" (got {', '.join(given)})" if given else "")
            )
        for v in self.values or ():
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"values must be finite numbers, got {v}")
        return self


class LhsAxis(_Strict):
    """One parameter of a Latin-hypercube block."""

    path: str = Field(min_length=1, description="Scenario parameter, e.g. repeater.spacing_km.")
    low: float = Field(allow_inf_nan=False, description="Lower bound (unit of the parameter).")
    high: float = Field(allow_inf_nan=False, description="Upper bound (unit of the parameter).")
    log: bool = Field(default=False, description="Stratify in log scale (low, high > 0).")

    @model_validator(mode="after")
    def _bounds(self) -> LhsAxis:
        _check_bounds(self.low, self.high, self.log)
        return self


class LatinHypercube(_Strict):
    """``count`` joint samples of several parameters, one per stratum of every parameter."""

    count: int = Field(ge=1, le=1_000_000, description="Number of samples (strata per parameter).")
    axes: list[LhsAxis] = Field(min_length=1)


class SweepSpec(_Strict):
    """The ``sweep:`` section: what to vary, how often, with which engines and architectures.

    Points are the cartesian product (``mode: grid``) or the element-wise
    pairing (``mode: zip``, all axes of one length) of the axes, the
    Latin-hypercube block counting as one axis, times ``engines`` ×
    ``architectures`` × ``repetitions``.
    """

    seed: int = Field(ge=0, lt=2**63, description="Master seed of the sweep.")
    repetitions: int = Field(
        default=1, ge=1, le=1_000_000, description="Seeds per parameter point."
    )
    engines: list[Engine] = Field(default_factory=lambda: [DEFAULT_ENGINE], min_length=1)
    architectures: list[Architecture] = Field(default_factory=lambda: ["trusted_node"], min_length=1)
    points_per_task: int = Field(default=8, ge=1, le=100_000, description="Points per Ray task.")
    mode: Literal["grid", "zip"] = "grid"
    axes: list[AxisSpec] = Field(default_factory=list)
    latin_hypercube: LatinHypercube | None = None
    task_num_cpus: float = Field(default=1.0, gt=0, description="CPUs each Ray task reserves.")
    task_memory_gib: float | None = Field(
        default=None,
        gt=0,
        description="Memory each Ray task reserves [GiB]; default "
        f"{DEFAULT_SEQUENCE_TASK_MEMORY_GIB} GiB when the sequence engine is swept, else none.",
    )

    @model_validator(mode="after")
    def _unique(self) -> SweepSpec:
        for name in ("engines", "architectures"):
            seq = getattr(self, name)
            if len(set(seq)) != len(seq):
                raise ValueError(f"{name} lists a value twice: {seq}")
        paths = [a.path for a in self.axes]
        if self.latin_hypercube is not None:
            paths += [a.path for a in self.latin_hypercube.axes]
        dup = sorted({p for p in paths if paths.count(p) > 1})
        if dup:
            raise ValueError(f"a parameter is swept by two axes: {', '.join(dup)}")
        lengths = self.axis_lengths()
        if self.mode == "zip" and len(set(lengths)) > 1:
            names = [f"sweep.axes[{i}]" for i in range(len(self.axes))] + ["sweep.latin_hypercube"]
            desc = ", ".join(f"{w} has {n}" for w, n in zip(names, lengths, strict=False))
            raise ValueError(f"mode zip needs axes of one length ({desc})")
        return self

    def axis_lengths(self) -> list[int]:
        """Values of each axis, the Latin-hypercube block last (as one axis), without expanding them."""
        out = []
        for ax in self.axes:
            kind = ax.log_range or ax.linear_range
            out.append(len(ax.values) if ax.values is not None else kind.num if kind else ax.random.count)
        if self.latin_hypercube is not None:
            out.append(self.latin_hypercube.count)
        return out

    def point_count(self) -> int:
        """Points the sweep expands to (parameter combinations × engines × architectures × repetitions)."""
        lengths = self.axis_lengths()
        combos = (math.prod(lengths) if self.mode == "grid" else lengths[0]) if lengths else 1
        return combos * len(self.engines) * len(self.architectures) * self.repetitions

    def memory_bytes_per_task(self) -> int | None:
        """Memory to reserve per Ray task [bytes], or None for no reservation."""
        gib = self.task_memory_gib
        if gib is None and "sequence" in self.engines:
            gib = DEFAULT_SEQUENCE_TASK_MEMORY_GIB
        return None if gib is None else int(gib * 2**30)


def _check_bounds(low: float, high: float, log: bool) -> None:
    if not high > low:
        raise ValueError(f"high ({high}) must be greater than low ({low})")
    if log and not low > 0:
        raise ValueError(f"log scale needs low > 0, got {low}")
