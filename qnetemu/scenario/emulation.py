"""Scenario models of the emulation in time (``emulation:`` section).

What ``qnetemu emulate`` and ``qnetemu serve`` need beyond the static
network: how deep the key stores are, in what blocks links deliver key, how
links and trusted nodes fail, and the applications that draw key. Every
field's unit is in its name and its description; the defaults here are the
only ones (the emulator takes required arguments).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


class Application(_Model):
    """An application drawing key between two sites.

    Either requests of ``request_bits`` every ``period_s`` (an encryptor
    rekeying), or a steady ``rate_bps`` drawn as requests of
    ``rate_bps * period_s`` bits every ``period_s``.
    """

    name: str | None = Field(None, description="Label in the results (default 'A ↔ B').")
    a: str = Field(description="Site that asks for key (the master SAE's site).")
    b: str = Field(description="Site that receives the same key (the slave SAE's site).")
    request_bits: PositiveFloat | None = Field(
        None, description="Key per request [bit] (e.g. 256 for an AES-256 rekey)."
    )
    rate_bps: PositiveFloat | None = Field(
        None, description="Steady key rate wanted [bit/s]; drawn as requests of rate_bps x period_s bits."
    )
    period_s: PositiveFloat = Field(1.0, description="Time between two requests [s].")
    max_wait_s: PositiveFloat | None = Field(
        None, description="A request not served within this time is missed [s] (default: period_s, so a "
        "request not served before the next one is due counts as an outage).",
    )
    start_s: NonNegativeFloat = Field(0.0, description="Time of the first request after the start [s].")

    @model_validator(mode="after")
    def _one_form(self) -> Application:
        if (self.request_bits is None) == (self.rate_bps is None):
            raise ValueError("give exactly one of request_bits (with period_s) or rate_bps")
        if self.a == self.b:
            raise ValueError(f"a and b are the same site ({self.a})")
        return self

    @property
    def bits_per_request(self) -> float:
        return float(self.request_bits if self.request_bits is not None else self.rate_bps * self.period_s)

    @property
    def wait_s(self) -> float:
        return float(self.max_wait_s if self.max_wait_s is not None else self.period_s)


class FailureModel(_Model):
    """Random failures and repairs: exponential up times and repair times.

    ``applies_to`` names a class of elements; ``a`` and ``b`` one scenario
    link (every QKD link cut from it fails on its own); ``node`` one site.
    Give exactly one. Later entries override earlier ones for the same
    element.
    """

    applies_to: Literal["fibre", "terrestrial", "submarine", "satellite", "trusted_nodes"] | None = Field(
        None, description="Class: fibre (every fibre QKD link), terrestrial or submarine (fibre by cable), "
        "satellite (satellite links), trusted_nodes (every trusted node, inserted ones included).",
    )
    a: str | None = Field(None, description="First end of the scenario link this applies to.")
    b: str | None = Field(None, description="Second end of the scenario link this applies to.")
    node: str | None = Field(None, description="The site this applies to (a trusted node).")
    mtbf_s: PositiveFloat = Field(description="Mean time between failures (mean up time) [s].")
    mttr_s: PositiveFloat = Field(description="Mean time to repair (mean down time) [s].")

    @model_validator(mode="after")
    def _one_target(self) -> FailureModel:
        forms = [self.applies_to is not None, self.a is not None or self.b is not None, self.node is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of applies_to, a and b (a link), or node")
        if (self.a is None) != (self.b is None):
            raise ValueError("a link needs both a and b")
        return self


class ScheduledOutage(_Model):
    """A planned or known outage: a link (``a``, ``b``) or a site (``node``) is down for a while."""

    a: str | None = Field(None, description="First end of the scenario link that goes down.")
    b: str | None = Field(None, description="Second end of the scenario link that goes down.")
    node: str | None = Field(None, description="The site that goes down (a trusted node).")
    start_s: NonNegativeFloat = Field(description="Start of the outage, after the emulation's start [s].")
    duration_s: PositiveFloat = Field(description="Length of the outage [s].")

    @model_validator(mode="after")
    def _one_target(self) -> ScheduledOutage:
        link = self.a is not None or self.b is not None
        if link == (self.node is not None):
            raise ValueError("give a and b (a link) or node, not both")
        if link and (self.a is None or self.b is None):
            raise ValueError("a link needs both a and b")
        return self


class LinkStore(_Model):
    """A store size for one scenario link (every QKD link cut from it), instead of store_capacity_bits."""

    a: str = Field(description="First end of the scenario link.")
    b: str = Field(description="Second end of the scenario link.")
    capacity_bits: PositiveFloat = Field(description="Key its store holds at each end [bit].")


class Emulation(_Model):
    """The network in time: key stores, key blocks, failures and applications."""

    store_capacity_bits: PositiveFloat = Field(
        1e8, description="Key a link's store holds at each end [bit]; key generated into a full store is lost.",
    )
    link_stores: list[LinkStore] = Field(
        default_factory=list, description="Per-link store sizes [bit] that replace store_capacity_bits.",
    )
    initial_fill: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.0, description="Fraction of each store filled at the start (0: the network starts empty).",
    )
    key_block_bits: PositiveFloat = Field(
        1e5, description="A link delivers key in blocks of this size [bit], one every block / key rate "
        "seconds (post-processing works on blocks). A link with a finite-key model (qkd.key_model) delivers "
        "its own blocks instead: key rate x block_time_s bits every block_time_s.",
    )
    scheduling: Literal["max_min_fair", "fifo"] = Field(
        "max_min_fair", description="Which waiting request goes first: max_min_fair (the application that "
        "has received the least key so far, and the links of its route are held for it while it waits), "
        "or fifo (the oldest request that its route can serve now).",
    )
    sample_period_s: PositiveFloat = Field(60.0, description="Store levels are recorded every this long [s].")
    checkpoint_period_s: PositiveFloat = Field(
        3600.0, description="Emulated time between checkpoints [s]: a killed run resumes from the last one.",
    )
    failures: list[FailureModel] = Field(default_factory=list, description="Random failures and repairs.")
    outages: list[ScheduledOutage] = Field(default_factory=list, description="Outages at given times.")
    applications: list[Application] = Field(
        default_factory=list, description="Applications drawing key; when empty, every demand with a "
        "required_key_rate_bps becomes one drawing that rate every second.",
    )
