"""The emulation section of the scenario schema: documented with units, and its mistakes caught."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qnetemu.scenario.emulation import Application, Emulation, FailureModel, ScheduledOutage
from qnetemu.scenario.schema import Scenario

UNIT_SUFFIXES = {"_s": "[s]", "_bits": "[bit]", "_bps": "[bit/s]"}


@pytest.mark.parametrize("model", [Emulation, Application, FailureModel, ScheduledOutage])
def test_every_field_is_described_with_its_unit(model):
    for name, info in model.model_fields.items():
        assert info.description, f"{model.__name__}.{name} has no description"
        for suffix, unit in UNIT_SUFFIXES.items():
            if name.endswith(suffix):
                assert unit in info.description, f"{model.__name__}.{name} does not state {unit}"


def test_the_scenario_schema_carries_the_emulation_section():
    schema = Scenario.model_json_schema()
    assert "emulation" in schema["properties"]
    assert {"Emulation", "Application", "FailureModel", "ScheduledOutage"} <= set(schema["$defs"])


@pytest.mark.parametrize("bad", [
    {"a": "X", "b": "Y"},                                           # neither size nor rate
    {"a": "X", "b": "Y", "request_bits": 256, "rate_bps": 10.0},   # both
    {"a": "X", "b": "X", "rate_bps": 10.0},                        # to itself
    {"a": "X", "b": "Y", "rate_bps": -1.0},
])
def test_bad_applications_are_refused(bad):
    with pytest.raises(ValidationError):
        Application(**bad)


def test_rate_application_draws_rate_times_period():
    app = Application(a="X", b="Y", rate_bps=500.0, period_s=2.0)
    assert app.bits_per_request == 1000.0 and app.wait_s == 2.0


@pytest.mark.parametrize("bad", [
    {"mtbf_s": 10.0, "mttr_s": 1.0},                                       # no target
    {"applies_to": "fibre", "node": "N", "mtbf_s": 10.0, "mttr_s": 1.0},   # two targets
    {"a": "X", "mtbf_s": 10.0, "mttr_s": 1.0},                             # half a link
    {"applies_to": "fibre", "mtbf_s": 0.0, "mttr_s": 1.0},
])
def test_bad_failure_models_are_refused(bad):
    with pytest.raises(ValidationError):
        FailureModel(**bad)


def test_unknown_emulation_field_is_an_error():
    with pytest.raises(ValidationError, match="store_capacity"):
        Emulation(store_capacity=5)
