"""One check pipeline for ``validate``, ``run`` and ``sweep``: everything that can be wrong, before any work.

``qnetemu validate`` runs exactly what ``run`` and ``sweep`` run before
their heavy work, through :func:`preflight`, so the three commands cannot
disagree: a file that validates does not fail later on its orbits, its
dates, its sweep or the size of the work it asks for. The checks, in order:

1. the file: a regular file within the size limit, safe YAML, ``extends``;
2. the schema: types, ranges, dates in the ephemeris, limits on pairs and
   sweep points, architectures (:mod:`qnetemu.scenario.schema`);
3. references: sites, links, demands, topology (:mod:`qnetemu.scenario.resolve`);
4. work: trusted nodes to insert and elementary links to cut, against
   ``limits`` (:func:`qnetemu.pipeline.check_work_limits`);
5. space: every orbit and TLE, and a pass over every ground station;
6. the sweep, when asked: axis paths, point count, every point's scenario.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qnetemu.errors import UserError
from qnetemu.scenario.resolve import ResolvedScenario
from qnetemu.scenario.schema import Scenario


@dataclass(frozen=True)
class Checked:
    """A scenario file that passed every check, with what the checks produced."""

    file: str
    raw: dict
    scenario: Scenario
    resolved: ResolvedScenario
    digest: str
    sweep_plan: object | None  # qnetemu.sweep.runner.SweepPlan when the sweep was checked


def preflight(path: str | Path, *, sweep: bool | None = None) -> Checked:
    """Run every check on a scenario file; raise :class:`UserError` (file and field) on the first failure.

    Parameters
    ----------
    path
        The scenario file.
    sweep
        True: check the ``sweep:`` section (required) and every point; False:
        leave it out (``run``); None: check it when the file has one (``validate``).
    """
    from qnetemu.pipeline import check_work_limits, physical_network
    from qnetemu.scenario.load import content_hash, read_scenario_mapping, validate_scenario_dict
    from qnetemu.scenario.resolve import resolve

    path = Path(path)
    file = str(path)
    raw = read_scenario_mapping(path)
    scenario = validate_scenario_dict(raw, file)
    if sweep is None:
        sweep = scenario.sweep is not None
    if sweep and scenario.sweep is None:
        raise UserError("has no sweep: section (see scenarios/README.md)", file=file, field="sweep")
    resolved = resolve(scenario, file=file, base_dir=path.parent)
    archs = [*scenario.architectures, *(scenario.sweep.architectures if sweep else ())]
    graph = physical_network(resolved, file=file)
    check_work_limits(scenario, graph, archs, file=file)
    if scenario.satellites:
        from qnetemu.architectures.satellite import check_satellites

        check_satellites(scenario, resolved, file=file)
    plan = None
    if sweep:
        from qnetemu.sweep.runner import plan_sweep

        def validate_point(data: dict, where: str) -> Scenario:
            # Work limits per point, on the base network's fibre: a swept reach_km or
            # spacing_km is refused here (a swept length is checked again by the point).
            point = validate_scenario_dict(data, where)
            check_work_limits(point, graph, point.sweep.architectures if point.sweep else archs, file=where)
            return point

        plan = plan_sweep(raw, where=file, validate_fn=validate_point)
    return Checked(file=file, raw=raw, scenario=scenario, resolved=resolved, digest=content_hash(raw),
                   sweep_plan=plan)
