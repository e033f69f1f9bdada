"""The scenario file format, as pydantic models.

One model per object of the YAML file, every field typed, constrained and
documented with its unit. Unknown fields are errors (``extra="forbid"``), NaN
and infinity are refused, and variants are discriminated unions on a literal
field. Cross-references between objects (a link's endpoints, a demand's
sites) need the imported topology too, so they are checked in
:mod:`qnetemu.scenario.resolve`, still with the YAML path in the message.
``qnetemu schema`` prints the JSON Schema generated from these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

from qnetemu.scenario.emulation import Emulation
from qnetemu.scenario.sweep_spec import Architecture, SweepSpec

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


def _iso_datetime_only(value):
    # Lax datetime parsing would also take 0 (1970) or a bare date; a scenario writes ISO 8601.
    if isinstance(value, datetime | str):
        return value
    raise ValueError("must be a date and time with its time zone, e.g. 2026-03-20T00:00:00Z")


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()} has no time zone: write UTC as {value.isoformat()}Z")
    return value.astimezone(UTC)


#: An instant: ISO 8601 with a time zone (``2026-03-20T00:00:00Z``), held in UTC.
UtcDatetime = Annotated[datetime, Strict(False), BeforeValidator(_iso_datetime_only), AfterValidator(_aware_utc)]


def _within_ephemeris(start: datetime, seconds: float, what: str) -> None:
    from datetime import timedelta

    from qnetemu.orbits.satellites import ephemeris_range_utc

    first, last = ephemeris_range_utc()
    if not first <= start <= last or (last - start).total_seconds() < seconds:
        raise ValueError(f"{what} must lie within the Sun/Earth ephemeris (JPL DE421: {first:%Y-%m-%d} to "
                         f"{last:%Y-%m-%d}); got {start:%Y-%m-%d %H:%M}"
                         + (f" to {start + timedelta(seconds=seconds):%Y-%m-%d %H:%M}"
                            if seconds and first <= start <= last else ""))


class Model(BaseModel):
    """Base: no unknown fields, no NaN or infinity, values checked on assignment.

    Strict: a number field takes a number (``yes`` is a boolean, ``"50"`` a
    string, both refused), a string field a string, a boolean a boolean.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True, strict=True)


# --------------------------------------------------------------------------- sites


class GroundStationOptics(Model):
    """Receiver of an optical ground station (space segment).

    Defaults follow the Xinglong station of the Micius experiments (Liao et
    al., Nature 549, 43 (2017)) as modelled in :data:`qnetemu.space.XINGLONG_STATION`.
    """

    rx_aperture_m: PositiveFloat = Field(1.0, description="Receive telescope diameter [m].")
    optics_efficiency: Efficiency = Field(
        0.3, description="Transmittance from telescope entrance to detectors, incl. the payload's own optics."
    )
    detector_efficiency: Efficiency = Field(0.5, description="Single-photon detector efficiency.")
    noise_rate_hz: NonNegativeFloat = Field(300.0, description="Dark plus night background counts per detector [Hz].")
    detection_window_s: PositiveFloat = Field(2e-9, description="Detection gate per pulse [s].")
    detector_dead_time_s: NonNegativeFloat = Field(
        0.0, description="Detector dead time after each click [s], as the fibre qkd.detector_dead_time_s: "
        "non-paralyzable and shared by the station's detectors, only the fraction 1/(1 + R tau) of the time is "
        "live (R: clicks per second the detectors would see with no dead time), so detections saturate at 1/tau; "
        "dead gates are dropped (decoy BB84, both key models) and a BBM92 coincidence needs both stations live. "
        "0: no dead time."
    )
    min_elevation_deg: Annotated[float, Field(ge=0.0, lt=90.0)] = Field(
        15.0, description="Lowest elevation at which the station tracks [deg]."
    )
    zenith_transmittance: Efficiency = Field(
        0.7, description="Clear-sky atmospheric transmittance at zenith at the payload wavelength."
    )
    weather_availability: Probability = Field(
        0.5, description="Fraction of nights clear enough to operate (site climatology); scales the key."
    )
    altitude_m: float = Field(0.0, ge=-500.0, le=6000.0, description="Station height above sea level [m].")


class Site(Model):
    """A place in the network: an endpoint, a trusted node or an optical ground station."""

    name: str = Field(min_length=1, description="Unique site name.")
    lat_deg: Annotated[float, Field(ge=-90.0, le=90.0)] | None = Field(
        None, description="Latitude [deg]; taken from the topology node when omitted."
    )
    lon_deg: Annotated[float, Field(ge=-180.0, le=180.0)] | None = Field(
        None, description="Longitude [deg]; taken from the topology node when omitted."
    )
    role: Literal["endpoint", "trusted_node", "ground_station"] = Field(
        "endpoint", description="What the site does; ground stations may also terminate fibre."
    )
    topology_node: str | None = Field(
        None, description="Name of the imported topology node this site is (it takes this site's name)."
    )
    attach: Literal["nearest"] | None = Field(
        None,
        description="Join the imported topology at its nearest node: the site becomes that node when it is "
        "within 10 km, otherwise a fibre link to it is added (great circle x route factor).",
    )
    ground_station: GroundStationOptics | None = Field(
        None, description="Receiver optics; required for role ground_station."
    )
    country: str | None = Field(
        None, description="ISO 3166-1 alpha-2 code of the country the site is in (e.g. FR); looked up from the "
        "coordinates in the GeoNames gazetteer when omitted (see qnetemu.geodata).",
    )

    @field_validator("country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from qnetemu.geodata import known_country_codes

        code = value.strip().upper()
        if code not in known_country_codes():
            raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {value!r}")
        return code

    @model_validator(mode="after")
    def _coordinates(self) -> Site:
        if self.topology_node is None and (self.lat_deg is None or self.lon_deg is None):
            raise ValueError("needs lat_deg and lon_deg (or topology_node to take them from)")
        if self.attach is not None and self.topology_node is not None:
            raise ValueError("give topology_node or attach, not both")
        if self.role == "ground_station" and self.ground_station is None:
            self.ground_station = GroundStationOptics()
        return self


# --------------------------------------------------------------------------- topology


class TopohubTopology(Model):
    """Sites and fibre links from a topology shipped by the ``topohub`` package."""

    source: Literal["topohub"]
    key: str = Field(description="topohub key, e.g. topozoo/Roedunet, topozoo/Geant2012, backbone/europe.")
    role: Literal["trusted_node", "endpoint"] = Field(
        "trusted_node", description="Role of imported nodes that no site entry names."
    )


class GraphmlTopology(Model):
    """Sites and fibre links from a GraphML file with Latitude/Longitude node attributes."""

    source: Literal["graphml"]
    path: str = Field(description="GraphML file, relative to the scenario file.")
    role: Literal["trusted_node", "endpoint"] = "trusted_node"


Topology = Annotated[TopohubTopology | GraphmlTopology, Field(discriminator="source")]


# --------------------------------------------------------------------------- links


class ClassicalChannelGroup(Model):
    """Classical WDM channels of one wavelength, power and direction sharing the QKD fibre."""

    count: Annotated[int, Field(ge=1, le=200)] = Field(1, description="Number of channels in this group.")
    launch_power_mw: PositiveFloat = Field(
        1.0, description="Launch power per channel [mW] (1 mW = 0 dBm; DWDM transceivers launch 0.1-3 mW)."
    )
    wavelength_m: Annotated[float, Field(ge=1.2e-6, le=1.7e-6)] = Field(
        1550.92e-9, description="Channel wavelength [m] (ITU DWDM grid, O to L band)."
    )
    direction: Literal["co", "counter"] = Field(
        "co", description="co: launched at the QKD transmitter's end, travelling with the quantum signal "
        "(forward Raman); counter: launched at the receiver's end (backward Raman, the worse one)."
    )
    raman_coefficient_per_km_nm: NonNegativeFloat | None = Field(
        None, description="Measured effective Raman coefficient beta into the quantum channel [1/(km nm)], >= 0; "
        "modelled from the wavelengths (qnetemu.physics.raman: silica gain and phonon occupation, no measured "
        "default built in) when omitted. The links table's raman_coefficient_source says which one a link used "
        "(scenario, silica_model, or both)."
    )


class Coexistence(Model):
    """Classical traffic on the QKD link's fibre (wavelength-division multiplexing).

    Raman scattering from the channels adds noise clicks in every detection
    gate (Eraerds et al., NJP 12, 063027 (2010)); key rate, QBER and reach
    follow. Absent: dark fibre.
    """

    channels: list[ClassicalChannelGroup] = Field(
        min_length=1, description="The classical channel groups; each must lie outside the quantum channel's "
        "filter (|wavelength_m - quantum_wavelength_m| > filter_bandwidth_nm / 2): in-band light is not Raman noise."
    )
    quantum_wavelength_m: Annotated[float, Field(ge=1.2e-6, le=1.7e-6)] = Field(
        1550.12e-9, description="Wavelength of the quantum channel [m]."
    )
    filter_bandwidth_nm: Annotated[float, Field(gt=0.0, le=50.0)] = Field(
        0.8, description="Bandwidth of the filter before the QKD receiver's detectors [nm] "
        "(0.8 nm: a 100 GHz DWDM port; narrow filters of 0.1 nm or less cut Raman noise)."
    )

    @model_validator(mode="after")
    def _channels_outside_quantum_passband(self) -> Coexistence:
        # A channel inside the quantum filter is in-band crosstalk, not Raman scattering: the model would give 0.
        half_band_m = self.filter_bandwidth_nm * 1e-9 / 2
        for i, group in enumerate(self.channels):
            if abs(group.wavelength_m - self.quantum_wavelength_m) <= half_band_m:
                raise ValueError(
                    f"channels[{i}].wavelength_m ({group.wavelength_m * 1e9:.2f} nm) lies inside the quantum "
                    f"channel's {self.filter_bandwidth_nm:g} nm filter around {self.quantum_wavelength_m * 1e9:.2f} "
                    "nm: in-band classical light is not Raman noise and is not modelled; move it to another "
                    "wavelength")
        return self


class FibreDefaults(Model):
    """Values a link takes when it does not set them."""

    route_factor: Annotated[float, Field(ge=1.0, le=5.0)] = Field(
        1.3, description="Fibre route length over great-circle distance (typ. 1.2-1.5)."
    )
    attenuation_db_per_km: Annotated[float, Field(gt=0.0, le=10.0)] = Field(
        0.2, description="Fibre attenuation [dB/km] (SMF-28 at 1550 nm: 0.17-0.22)."
    )
    extra_loss_db: NonNegativeFloat = Field(
        1.0, description="Connectors, splices and patch panels per link [dB]."
    )
    coexistence: Coexistence | None = Field(
        None, description="Classical WDM traffic on every fibre link that does not set its own (lit fibre); "
        "none: dark fibre."
    )


#: Longest fibre link accepted [km]: the Earth's equatorial circumference (the
#: longest submarine cable systems, e.g. SEA-ME-WE 3, are about 39,000 km in all).
MAX_FIBRE_LENGTH_KM = 40_075.0


class Link(Model):
    """A fibre link between two sites."""

    a: str = Field(description="First endpoint (site name).")
    b: str = Field(description="Second endpoint (site name).")
    length_km: PositiveFloat | None = Field(
        None, description="Fibre length [km]; derived from coordinates x route_factor when omitted."
    )
    route_factor: Annotated[float, Field(ge=1.0, le=5.0)] | None = Field(
        None, description="Fibre route length over great-circle distance, for a length from coordinates; "
        "fibre.route_factor when omitted.")
    attenuation_db_per_km: Annotated[float, Field(gt=0.0, le=10.0)] | None = Field(
        None, description="Fibre attenuation [dB/km]; fibre.attenuation_db_per_km when omitted.")
    extra_loss_db: NonNegativeFloat | None = Field(
        None, description="Connectors, splices and patch panels of each QKD link cut from it [dB]; "
        "fibre.extra_loss_db when omitted.")
    qkd_profile: str | None = Field(None, description="Name in qkd_profiles; the default qkd otherwise.")
    coexistence: Coexistence | None = Field(
        None, description="Classical WDM traffic on this link's fibre; fibre.coexistence when omitted."
    )
    dark_fibre: bool = Field(False, description="This link is dark fibre even when fibre.coexistence is set.")
    cable: Literal["terrestrial", "submarine"] = Field(
        "terrestrial", description="Submarine cables get no inserted trusted nodes unless trusted_nodes.split_submarine."
    )

    @field_validator("length_km")
    @classmethod
    def _on_earth(cls, value: float | None) -> float | None:
        if value is not None and value > MAX_FIBRE_LENGTH_KM:
            raise ValueError(f"{value:g} km is longer than the Earth's circumference ({MAX_FIBRE_LENGTH_KM:,.0f} km); "
                             "no fibre link is")
        return value


# --------------------------------------------------------------------------- QKD hardware


class FiniteKeySettings(Model):
    """Block and protocol settings of the finite-key model (Lim et al., PRA 89, 022307 (2014)).

    Key comes from the events where both parties chose the X basis; the Z
    basis only estimates the phase error. Three intensities: the profile's
    ``mu`` and ``nu`` and the weakest ``omega``.
    """

    block_detections: Annotated[float, Field(gt=0.0, le=1e15)] | None = Field(
        None, description="Post-processing block n_X: sifted X-basis detections per block [count]."
    )
    block_time_s: PositiveFloat | None = Field(
        None, description="Time to fill one block [s]; n_X follows from each link's detection rate "
        "(so long links get small blocks). Satellites: ignored, a block is passes_per_block passes."
    )
    passes_per_block: Annotated[int, Field(ge=1, le=10000)] = Field(
        1, description="Satellite downlinks: passes whose detections are pooled into one block."
    )
    eps_sec: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(1e-10, description="Secrecy parameter epsilon_sec.")
    eps_cor: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(1e-15, description="Correctness parameter epsilon_cor.")
    p_x: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.9, description="Probability that each party chooses the X (key) basis."
    )
    p_mu: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(0.7, description="Probability of the signal intensity mu.")
    p_nu: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.2, description="Probability of the decoy nu; the weakest intensity omega gets the rest."
    )
    omega: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.0, description="Weakest intensity (mean photon number; 0: vacuum decoy)."
    )


class QKDProfile(Model):
    """Prepare-and-measure QKD hardware on a fibre link.

    ``preset`` starts from a named parameter set of
    :data:`qnetemu.physics.presets.QKD_DEVICE_PRESETS`; fields given here
    override it.
    """

    preset: str | None = Field(None, description="Named hardware preset to start from.")
    protocol: Literal["decoy_bb84", "decoy_bb84_infinite", "bb84_gllp", "tf_pm", "tf_sns", "mdi_decoy",
                      "cv_gg02"] = Field(
        "decoy_bb84",
        description="decoy_bb84: vacuum + weak decoy (Ma et al. 2005); _infinite: infinite-decoy bound; "
        "bb84_gllp: no decoys (GLLP 2004); tf_pm: phase-matching twin-field QKD (Ma, Zeng, Zhou 2018) and "
        "mdi_decoy: MDI-QKD (Lo, Curty, Qi 2012; Xu et al. 2013), both with an untrusted measurement station "
        "in the middle of the link, mu = total (tf_pm) or per-sender (mdi_decoy) intensity; tf_sns: "
        "sending-or-not-sending twin-field QKD (Wang, Yu, Hu 2018), mu = intensity of a sent pulse, sent with "
        "probability sending_prob, also with an untrusted middle station; cv_gg02: "
        "Gaussian-modulated coherent states, homodyne, reverse reconciliation (Lodewyck et al. 2007).",
    )
    repetition_rate_hz: PositiveFloat = Field(1e9, description="Pulse repetition rate [Hz].")
    detector_efficiency: Efficiency = Field(0.2, description="Receiver detection efficiency.")
    dark_count_prob: Probability = Field(1e-6, description="Dark-count probability per gate.")
    misalignment_error: Annotated[float, Field(ge=0.0, le=0.5)] = Field(
        0.01, description="Optical misalignment error e_d."
    )
    ec_efficiency: Annotated[float, Field(ge=1.0, le=3.0)] = Field(
        1.16, description="Error-correction inefficiency f >= 1 (Shannon limit 1)."
    )
    mu: Annotated[float, Field(gt=0.0, le=10.0)] = Field(0.5, description="Signal mean photon number.")
    nu: Annotated[float, Field(ge=0.0, le=10.0)] = Field(0.1, description="Weak-decoy mean photon number.")
    sifting: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.5, description="Fraction of pulses kept after basis sifting (0.5 BB84; ~1 efficient BB84)."
    )
    max_loss_db: PositiveFloat | None = Field(
        None, description="Loss budget of the device [dB]; links above it give no key."
    )
    phase_slices: Annotated[int, Field(ge=2, le=1024)] = Field(
        16, description="tf_pm: phase slices M of the phase post-selection (2/M of pulses kept)."
    )
    sending_prob: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.1, description="tf_sns: probability epsilon that a party sends its pulse in a signal (Z) window "
        "(dimensionless); both-sent events are bit errors, so small values suit long links."
    )
    aopp: bool = Field(
        False, description="tf_sns: actively odd-parity pairing of the raw key before error correction (Xu et al., "
        "PRA 101, 042330 (2020); as in Liu et al.'s 1,002 km experiment): Bob pairs bits of opposite value, pairs "
        "whose parities disagree are dropped, one bit of each survivor is kept; removes most bit errors, so larger "
        "sending_prob (~0.3) pays and the reach grows. false: plain SNS (Wang, Yu, Hu 2018)."
    )
    modulation_variance: PositiveFloat = Field(
        4.0, description="cv_gg02: Alice's Gaussian modulation variance V_A [shot-noise units]."
    )
    excess_noise: NonNegativeFloat = Field(
        0.01, description="cv_gg02: excess noise referred to the channel input [shot-noise units]."
    )
    electronic_noise: NonNegativeFloat = Field(
        0.05, description="cv_gg02: homodyne electronic noise [shot-noise units] (detector_efficiency is its "
        "efficiency; repetition_rate_hz is the symbol rate)."
    )
    reconciliation_efficiency: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.95, description="cv_gg02: reverse-reconciliation efficiency beta."
    )
    afterpulse_prob: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.0, description="Afterpulse probability per detection (each a random bit; Lim et al. 2014)."
    )
    gate_width_s: PositiveFloat = Field(
        1e-9, description="Effective detection gate (time filter) per pulse [s]; sets how much Raman noise "
        "from classical channels is counted."
    )
    detector_dead_time_s: NonNegativeFloat = Field(
        0.0, description="Detector dead time after each click [s] (decoy_bb84, decoy_bb84_infinite, bb84_gllp), "
        "non-paralyzable and shared by the receiver's detectors: only the fraction 1/(1 + R tau) of gates is live, "
        "R = repetition_rate_hz x clicks per gate, so the detected rate saturates at 1/tau; dead gates are dropped "
        "and finite-key blocks take longer to fill. 0: no dead time."
    )
    key_model: Literal["asymptotic", "finite"] = Field(
        "asymptotic", description="asymptotic: infinitely long keys (upper bound); finite: finite-key "
        "decoy BB84 of Lim et al., PRA 89, 022307 (2014), with the block and protocol of finite_key."
    )
    finite_key: FiniteKeySettings = Field(
        default_factory=lambda: FiniteKeySettings(), description="Block size and protocol of the finite key model."
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data):
        # A preset that is not a string is left to the field's own type check.
        if isinstance(data, dict) and isinstance(data.get("preset"), str):
            from qnetemu.physics.presets import QKD_DEVICE_PRESETS, qkd_device_preset

            if data["preset"] not in QKD_DEVICE_PRESETS:
                return data  # _known_preset refuses it at qkd.preset, not at the whole mapping
            preset = qkd_device_preset(data["preset"])
            fields = cls.model_fields
            merged = {k: v for k, v in preset.items() if k in fields}
            for key, value in data.items():
                # A nested setting (finite_key) given in the file refines the preset's, field by field.
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key] = {**merged[key], **value}
                else:
                    merged[key] = value
            return merged
        return data

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        from difflib import get_close_matches

        from qnetemu.physics.presets import QKD_DEVICE_PRESETS

        if name is None or name in QKD_DEVICE_PRESETS:
            return name
        close = get_close_matches(name, QKD_DEVICE_PRESETS, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise ValueError(f"unknown QKD preset {name!r}{hint}; choose one of {', '.join(sorted(QKD_DEVICE_PRESETS))}")

    @model_validator(mode="after")
    def _decoy_below_signal(self) -> QKDProfile:
        if self.protocol == "decoy_bb84" and not self.nu < self.mu:
            raise ValueError(f"nu ({self.nu}) must be below mu ({self.mu}) for decoy_bb84")
        if self.afterpulse_prob > 0 and self.protocol != "decoy_bb84":
            raise ValueError(f"afterpulse_prob is modelled for protocol decoy_bb84 only, not {self.protocol}")
        if self.aopp and self.protocol != "tf_sns":
            raise ValueError(f"aopp (odd-parity pairing) applies to protocol tf_sns only, not {self.protocol}")
        if self.detector_dead_time_s > 0 and self.protocol not in ("decoy_bb84", "decoy_bb84_infinite", "bb84_gllp"):
            raise ValueError(f"detector_dead_time_s is modelled for the prepare-and-measure BB84 protocols only, "
                             f"not {self.protocol}")
        if self.key_model == "finite":
            self._check_finite_key()
        return self

    def _check_finite_key(self) -> None:
        fk = self.finite_key
        if self.protocol != "decoy_bb84":
            raise ValueError(f"key_model finite needs protocol decoy_bb84, not {self.protocol}")
        if (fk.block_detections is None) == (fk.block_time_s is None):
            raise ValueError("key_model finite needs exactly one of finite_key.block_detections and "
                             "finite_key.block_time_s")
        if not self.mu > self.nu + fk.omega or not self.nu > fk.omega:
            raise ValueError(f"finite key needs mu > nu + omega and nu > omega (mu={self.mu}, nu={self.nu}, "
                             f"omega={fk.omega})")
        if not fk.p_mu + fk.p_nu < 1.0:
            raise ValueError("finite_key.p_mu + finite_key.p_nu must be below 1 (omega needs a probability)")
        # A block too small to give any key is caught when the network is built
        # (qnetemu.network.fibre_qkd.check_profiles_give_key): it takes physics.


class TrustedNodePolicy(Model):
    """How trusted nodes are used."""

    reach_km: PositiveFloat | Literal["protocol"] = Field(
        100.0, description="Longest fibre span one QKD link covers [km]; longer spans get trusted nodes. "
        "protocol: the reach of the default qkd profile's own protocol and key model on the fibre defaults "
        "(attenuation, extra loss, coexistence), e.g. ~500 km for twin-field, ~220 km for MDI.",
    )
    insert: bool = Field(True, description="Insert evenly spaced trusted nodes on spans beyond reach.")
    optical_bypass: bool = Field(
        True, description="A QKD link may pass optically through intermediate sites while its fibre route is "
        "within reach_km, so not every point of presence is a trusted node.",
    )
    bypass_loss_db: NonNegativeFloat = Field(1.0, description="Insertion loss per site passed through [dB].")
    bypass_max_nodes: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Most sites one optical-bypass link may pass through (a bound on express paths and on "
        "the number of bypass links); null: as many as reach_km allows.",
    )
    route_rate_tolerance: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.2, description="Routes whose bottleneck key rate is within this fraction of the best count as equal, "
        "and the one with the fewest trusted nodes (then the shortest) is used: 0 maximises the key rate "
        "strictly; 0.9 takes the fewest trusted nodes among routes giving at least 10% of the best rate.",
    )
    split_submarine: bool = Field(
        False, description="Also insert trusted nodes into submarine cables, on islands along the route only "
        "(off by default: a cable is one span between its landing points).",
    )
    insert_on_land: bool = Field(
        True, description="Inserted trusted nodes stand on land (GSHHG shorelines): where evenly spaced points "
        "would fall in the sea they move to the fewest land points with every span within reach_km, and a link "
        "crossing more open water than reach_km is left whole. false: anywhere on the route (synthetic networks).",
    )
    relay: Literal["single_path", "multipath"] = Field(
        "single_path", description="multipath: also split each demand's key over multipath_paths node-disjoint "
        "paths combined by XOR, so no coalition of fewer than that many trusted nodes learns it; rates by linear "
        "program (table multipath; the demands table stays single-path).",
    )
    multipath_paths: Annotated[int, Field(ge=2, le=8)] = Field(
        2, description="Node-disjoint paths per demand for relay: multipath (XOR of that many shares)."
    )
    compromise_probability: Probability | None = Field(
        None, description="Independent probability that a relay node is compromised while the key is in use "
        "(dimensionless, per node); adds exposure_probability to the key_holders and multipath tables.",
    )
    n_minus_one: Literal["off", "links", "nodes", "both"] = Field(
        "off", description="N-1 analysis: take out each used physical fibre link and/or relay node in turn and "
        "report the demands that lose key (tables n_minus_one, n_minus_one_elements).",
    )


def _country_list(values: list[str]) -> list[str]:
    from qnetemu.geodata import expand_countries

    for value in values:
        try:
            expand_countries([value])
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
    return [v.strip().upper() for v in values]


class TrustPolicy(Model):
    """Where key may sit in the clear: which nodes may be trusted nodes (relay key).

    Rules, in order: a node that is not a site (a sea-cable waypoint or
    junction) never relays; a satellite relays when ``satellites`` is true;
    ``forbid_nodes`` never relay; ``allow_nodes`` relay whatever their
    country; any other node relays when its country is in
    ``allow_countries`` (if given) and not in ``forbid_countries``. Demand
    endpoints are never relays of their own demand, so any site may still
    send and receive key.
    """

    allow_countries: list[str] | None = Field(
        None, description="Countries where trusted nodes may stand: ISO 3166-1 alpha-2 codes (FR, CH) or regions "
        "(EU: the 27 member states with their outermost regions and Åland; EEA: EU plus IS, LI, NO). "
        "Omitted: anywhere. A node whose country is unknown may then not relay.",
    )
    forbid_countries: list[str] = Field(
        default_factory=list, description="Countries or regions where trusted nodes may not stand."
    )
    allow_nodes: list[str] = Field(
        default_factory=list, description="Sites (names) that may relay whatever their country, e.g. a partner's "
        "landing station.",
    )
    forbid_nodes: list[str] = Field(
        default_factory=list, description="Sites or satellites (names) that never relay key.",
    )
    satellites: bool = Field(True, description="Satellites with a BB84 payload relay key as trusted nodes in orbit.")

    _countries = field_validator("forbid_countries")(_country_list)

    @field_validator("allow_countries")
    @classmethod
    def _allow(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _country_list(values)


class PlanningSpec(Model):
    """Where to build trusted nodes (and ground stations): the least-cost set serving every required rate."""

    candidates: dict[str, NonNegativeFloat] = Field(
        min_length=1, description="Site name -> cost of building a trusted node (or ground station) there, in "
        "one currency unit of your choice (e.g. kEUR).",
    )
    existing: list[str] = Field(
        default_factory=list, description="Sites that already relay key, at no cost; sites neither here nor in "
        "candidates never relay.",
    )
    inserted_nodes: Literal["existing", "forbidden"] = Field(
        "existing", description="Whether the trusted nodes inserted on long spans count as in place or may not relay."
    )
    time_limit_s: PositiveFloat = Field(300.0, description="Solver time limit [s] (wall clock).")


# --------------------------------------------------------------------------- repeaters


class MemoryHardware(Model):
    efficiency: Efficiency = Field(0.9, description="Memory emission/retrieval efficiency.")
    coherence_time_s: PositiveFloat = Field(
        1.0,
        description=(
            "Per-memory coherence time T2 [s]: a stored qubit's coherence decays as exp(-t/T2), so a "
            "stored pair's Werner parameter falls as w*exp(-2t/T2) under depolarising memories. "
            "Storage counts from the photon's emission."
        ),
    )
    decoherence: Literal["depolarising", "dephasing"] = Field(
        "depolarising",
        description=(
            "Memory noise: depolarising (uniform Pauli channel) or dephasing (Z errors only; a "
            "twirled pair keeps w*(1+2exp(-2t/T2))/3)."
        ),
    )
    memories_per_node: Annotated[int, Field(ge=1, le=1000)] = Field(
        4, description="Memories per node per neighbouring link (multiplexing)."
    )
    attempt_rate_hz: PositiveFloat = Field(
        1e5, description="Entanglement-generation attempts per second per memory."
    )


class Purification(Model):
    protocol: Literal["none", "bbpssw", "dejmps"] = "none"
    rounds: Annotated[int, Field(ge=0, le=5)] = 0


class RepeaterProtocol(Model):
    """How a repeater chain generates, stores and swaps pairs.

    The default is what all three engines run: negotiated attempts, nested
    swaps with classical messages, independent memory lanes.
    """

    swap_order: Literal["swap_asap", "nested"] = Field(
        "nested",
        description=(
            "swap_asap: a node swaps as soon as it holds two pairs; nested: SeQUeNCe's order (the "
            "doubling scheme for 2**k segments). Equal for one and two segments."
        ),
    )
    link_generation: Literal["continuous", "negotiated"] = Field(
        "negotiated",
        description=(
            "continuous: attempts every max(1/attempt_rate_hz, L/c); negotiated: every attempt "
            "negotiated between the two routers as SeQUeNCe does, max(1/attempt_rate_hz, 4 L/c)."
        ),
    )
    swap_messaging: Literal["instant", "classical"] = Field(
        "classical",
        description=(
            "instant: swap outcomes known at once; classical: a swap waits a round trip to its "
            "farther partner, and its outcome travels at the fibre's speed before the pair is used. "
            "Under both a link restarts as soon as its two memories are free (pipelining: the next "
            "pair is built while the previous one is completed or delivered); the analytic engine "
            "computes that for swap-ASAP with instant messages, and elsewhere restarts every link "
            "after each delivery (the textbook cycle) and says so."
        ),
    )
    multiplexing: Literal["single", "independent_lanes", "shared_pool"] = Field(
        "independent_lanes",
        description=(
            "With m memories per link side: single (m parallel attempts, one pair kept, "
            "p -> 1-(1-p)^m); independent_lanes (m chains side by side); shared_pool (any left pair "
            "may be swapped with any right pair; SeQUeNCe only)."
        ),
    )


class RepeaterPlacement(Model):
    """Where repeaters sit along a demand's fibre route."""

    spacing_km: PositiveFloat = Field(
        50.0, description="Longest elementary link on land [km]; each land fibre span is cut evenly. A submarine "
        "section is one elementary link between its landing points (no repeater at sea)."
    )
    at_sites: bool = Field(
        True, description="Put a repeater at every real intermediate site of the route too (sites on land; "
        "false: consecutive land spans are cut evenly as one stretch)."
    )
    on_land: bool = Field(
        True, description="Repeater stations stand on land (GSHHG shorelines): where an evenly placed station of a "
        "land stretch would fall in water the fibre crosses (a bay, a strait, a lake) the stations move to the fewest "
        "land points with every elementary link within spacing_km, and water wider than spacing_km is crossed by one "
        "longer elementary link. false: anywhere on the stretch (synthetic networks; nodes without coordinates "
        "keep the even cut either way).",
    )


class RepeaterProfile(Model):
    """Memory-based quantum repeater hardware and protocol."""

    memory: MemoryHardware = Field(default_factory=MemoryHardware)
    link_fidelity: Annotated[float, Field(gt=0.25, le=1.0)] = Field(
        0.99, description="Fidelity of a freshly heralded elementary pair."
    )
    detector_efficiency: Efficiency = Field(0.9, description="Bell-state-measurement detector efficiency.")
    swap_success_prob: Efficiency = Field(1.0, description="Entanglement-swap success probability.")
    swap_fidelity: Efficiency = Field(1.0, description="Fidelity factor per swap (gate noise).")
    purification: Purification = Field(default_factory=Purification)
    cutoff_time_s: PositiveFloat | None = Field(
        None,
        description=(
            "Memory cutoff [s]: discard a pair, at both ends, this long after the emission of the "
            "oldest photon it was built from (an elementary pair's photons; a swapped pair keeps "
            "the older clock of the two pairs it joins, as SeQUeNCe does); the links under it "
            "then restart. null keeps pairs."
        ),
    )
    protocol: RepeaterProtocol = Field(default_factory=RepeaterProtocol)
    placement: RepeaterPlacement = Field(default_factory=RepeaterPlacement)
    ec_efficiency: Annotated[float, Field(ge=1.0, le=3.0)] = Field(
        1.16, description="Error-correction inefficiency for BBM92 on delivered pairs."
    )


class EngineLimits(Model):
    """Stopping rules for the simulating engines (montecarlo, sequence)."""

    max_pairs: Annotated[int, Field(ge=1)] = Field(2000, description="Stop after this many end-to-end pairs.")
    max_time_s: PositiveFloat = Field(10.0, description="Stop after this much simulated time [s].")


class Limits(Model):
    """Bounds on the work one scenario may ask for, checked before any work starts.

    A mistyped number (``reach_km: 1e-6``, a 10^12-point sweep) would
    otherwise run for hours or exhaust memory; a scenario that truly needs
    more raises the limit here.
    """

    max_inserted_trusted_nodes: Annotated[int, Field(ge=1)] = Field(
        100_000, description="Most trusted nodes inserted into long fibre spans, over the whole network."
    )
    max_elementary_links: Annotated[int, Field(ge=1)] = Field(
        100_000, description="Most elementary links the fibre may be cut into for repeater chains: the sum over "
        "fibre links of ceil(length_km / repeater.placement.spacing_km) (bounds every chain).",
    )
    max_sweep_points: Annotated[int, Field(ge=1)] = Field(
        100_000, description="Most points one sweep expands to (combinations x engines x architectures x "
        "repetitions).",
    )
    max_simulated_pairs: Annotated[int, Field(ge=1)] = Field(
        10_000_000, description="Largest engine.max_pairs (end-to-end pairs one simulation may deliver).",
    )


# --------------------------------------------------------------------------- space


class CircularOrbit(Model):
    """A (near-)circular LEO orbit from elements."""

    altitude_km: float = Field(
        500.0, description="Altitude [km]: 160 km (atmosphere) up to escape; checked when the orbit is built."
    )
    inclination_deg: Annotated[float, Field(ge=0.0, le=180.0)] | None = Field(
        None, description="Inclination [deg]; sun-synchronous when omitted and sun_synchronous is true."
    )
    sun_synchronous: bool = Field(False, description="Derive the inclination for a sun-synchronous orbit.")
    raan_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = Field(0.0, description="Right ascension of the ascending node [deg].")
    mean_anomaly_deg: Annotated[float, Field(ge=0.0, lt=360.0)] = Field(
        0.0, description="Mean anomaly at the epoch [deg]: where on its orbit the satellite is.")
    epoch_utc: UtcDatetime = Field(description="Epoch of the elements (ISO 8601 with time zone, e.g. ...Z).")

    @field_validator("altitude_km")
    @classmethod
    def _altitude(cls, value: float) -> float:
        from qnetemu.orbits.satellites import MAX_APOGEE_ALTITUDE_KM as MAX_APOGEE_KM
        from qnetemu.orbits.satellites import MIN_PERIGEE_ALTITUDE_KM as MIN_PERIGEE_KM

        if value < MIN_PERIGEE_KM:
            raise ValueError(f"{value} km is below {MIN_PERIGEE_KM:g} km: the atmosphere would decay the orbit")
        if value > MAX_APOGEE_KM:
            raise ValueError(f"{value} km is beyond Earth's Hill sphere (~{MAX_APOGEE_KM:,.0f} km): not bound to Earth")
        return value

    @model_validator(mode="after")
    def _inclination(self) -> CircularOrbit:
        if self.inclination_deg is None and not self.sun_synchronous:
            raise ValueError("needs inclination_deg or sun_synchronous: true")
        _within_ephemeris(self.epoch_utc, 0.0, "epoch_utc")
        return self


class Telescope(Model):
    """The satellite's transmit telescope and pointing."""

    tx_aperture_m: PositiveFloat | None = Field(0.3, description="Transmit telescope diameter [m].")
    divergence_rad: PositiveFloat | None = Field(
        None, description="Far-field 1/e^2 half-angle divergence [rad]; overrides the aperture's diffraction limit."
    )
    pointing_jitter_rad: NonNegativeFloat = Field(0.5e-6, description="Per-axis RMS pointing error [rad].")


class BB84Transmitter(Model):
    """Decoy-state BB84 downlink payload: enables the trusted-satellite service."""

    wavelength_m: Annotated[float, Field(gt=300e-9, lt=2e-6)] = Field(850e-9, description="Wavelength [m].")
    repetition_rate_hz: PositiveFloat = Field(100e6, description="Pulse rate [Hz].")
    mu: Annotated[float, Field(gt=0.0, le=10.0)] = Field(0.8, description="Signal mean photon number.")
    nu: Annotated[float, Field(gt=0.0, le=10.0)] = Field(0.1, description="Weak-decoy mean photon number.")
    misalignment_error: Annotated[float, Field(ge=0.0, le=0.5)] = Field(
        0.01, description="Optical error: probability that a detected photon gives the wrong bit (dimensionless).")
    ec_efficiency: Annotated[float, Field(ge=1.0, le=3.0)] = Field(
        1.16, description="Error-correction inefficiency f >= 1 (1: Shannon limit).")
    key_model: Literal["asymptotic", "finite"] = Field(
        "asymptotic", description="asymptotic: infinitely long keys; finite: Lim et al. (2014) finite key, "
        "one block per finite_key.passes_per_block passes."
    )
    finite_key: FiniteKeySettings = Field(
        default_factory=lambda: FiniteKeySettings(), description="Protocol and block of the finite key "
        "(block_detections and block_time_s do not apply: a block is passes_per_block passes)."
    )

    @model_validator(mode="after")
    def _decoy_below_signal(self) -> BB84Transmitter:
        if not self.nu < self.mu:
            raise ValueError(f"nu ({self.nu}) must be below mu ({self.mu})")
        fk = self.finite_key
        if self.key_model == "finite" and not (self.mu > self.nu + fk.omega and self.nu > fk.omega
                                               and fk.p_mu + fk.p_nu < 1.0):
            raise ValueError("finite key needs mu > nu + omega, nu > omega and p_mu + p_nu < 1")
        return self


class PairSource(Model):
    """Entangled-photon-pair source: enables the entanglement-downlink service (BBM92)."""

    wavelength_m: Annotated[float, Field(gt=300e-9, lt=2e-6)] = Field(810e-9, description="Wavelength [m].")
    pair_rate_hz: PositiveFloat = Field(5.9e6, description="Pairs emitted per second [Hz].")
    intrinsic_qber: Annotated[float, Field(ge=0.0, le=0.5)] = Field(0.03, description="QBER of true coincidences.")
    coincidence_window_s: PositiveFloat = Field(2.5e-9, description="Coincidence window [s].")
    ec_efficiency: Annotated[float, Field(ge=1.0, le=3.0)] = Field(
        1.1, description="Error-correction inefficiency f >= 1 of BBM92 on the coincidences (1: Shannon limit).")


class Satellite(Model):
    """A LEO QKD satellite: orbit from elements or a TLE, and its payloads."""

    name: str = Field(min_length=1)
    orbit: CircularOrbit | None = None
    tle: Annotated[list[str], Field(min_length=2, max_length=2)] | None = Field(
        None, description="Two-line element set: [line1, line2]."
    )
    telescope: Telescope = Field(default_factory=Telescope)
    bb84: BB84Transmitter | None = Field(
        None, description="Decoy-BB84 transmitter: the satellite relays key as a trusted node in orbit."
    )
    pair_source: PairSource | None = Field(
        None, description="Entangled-pair source: BBM92 key between two stations in view at once."
    )

    @model_validator(mode="after")
    def _complete(self) -> Satellite:
        if (self.orbit is None) == (self.tle is None):
            raise ValueError("give exactly one of orbit or tle")
        if self.bb84 is None and self.pair_source is None:
            raise ValueError("needs a payload: bb84 and/or pair_source")
        return self


class SpaceWindow(Model):
    start_utc: UtcDatetime = Field(description="Start of the simulated window (ISO 8601 with time zone, e.g. ...Z).")
    duration_s: Annotated[float, Field(gt=0.0, le=31 * 86400.0)] = Field(
        86400.0, description="Length of the window [s]."
    )
    step_s: Annotated[float, Field(gt=0.0, le=120.0)] = Field(10.0, description="Time step [s].")
    night_only: bool = Field(True, description="Operate only when the Sun is below max_sun_altitude_deg.")
    max_sun_altitude_deg: Annotated[float, Field(ge=-90.0, le=90.0)] = Field(
        -12.0, description="Sun altitude above which a station does not operate when night_only [deg] "
        "(-12: nautical twilight).")

    @model_validator(mode="after")
    def _in_ephemeris(self) -> SpaceWindow:
        _within_ephemeris(self.start_utc, self.duration_s, "the space window (start_utc + duration_s)")
        from qnetemu.orbits.passes import MAX_SAMPLES

        if (samples := self.duration_s / self.step_s + 1) > MAX_SAMPLES:
            raise ValueError(f"{samples:,.0f} time steps (duration_s / step_s) is above {MAX_SAMPLES:,}: "
                             "lengthen step_s or shorten duration_s")
        return self


# --------------------------------------------------------------------------- demands


class Demand(Model):
    """Key wanted between two sites, or between every pair of a list of sites."""

    a: str | None = None
    b: str | None = None
    all_pairs: list[str] | None = Field(None, description="Every pair of these sites is a demand.")
    required_key_rate_bps: PositiveFloat | None = Field(
        None, description="Secret-key rate the pair needs [bit/s]; allocation never gives more."
    )

    @model_validator(mode="after")
    def _one_form(self) -> Demand:
        pair = self.a is not None or self.b is not None
        if pair == (self.all_pairs is not None):
            raise ValueError("give either a and b, or all_pairs")
        if pair and (self.a is None or self.b is None):
            raise ValueError("needs both a and b")
        if pair and self.a == self.b:
            raise ValueError(f"a and b are the same site ({self.a})")
        if self.all_pairs is not None and len(self.all_pairs) < 2:
            raise ValueError("all_pairs needs at least two sites")
        twice = sorted({n for n in self.all_pairs or () if self.all_pairs.count(n) > 1})
        if twice:
            raise ValueError(f"all_pairs lists {', '.join(map(repr, twice))} more than once")
        return self


class Scenario(Model):
    """A quantum-network scenario: sites, links, hardware, demands."""

    name: str = Field(min_length=1, description="Short name, used in result paths.")
    description: str = ""
    topology: Topology | None = Field(None, description="Import sites and links from a real topology.")
    sites: list[Site] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    fibre: FibreDefaults = Field(default_factory=FibreDefaults)
    qkd: QKDProfile = Field(default_factory=QKDProfile, description="Default QKD hardware of fibre links.")
    qkd_profiles: dict[str, QKDProfile] = Field(default_factory=dict)
    twin_field: QKDProfile = Field(
        default_factory=lambda: QKDProfile(preset="tf_lucamarini2018"),
        description="QKD hardware of architecture twin_field: every fibre link uses it (an untrusted station in "
        "the middle of each link), and trusted nodes are inserted at its own reach on the fibre defaults.",
    )
    trusted_nodes: TrustedNodePolicy = Field(default_factory=TrustedNodePolicy)
    trust: TrustPolicy = Field(
        default_factory=TrustPolicy, description="Where trusted nodes may stand (countries, regions, named sites)."
    )
    planning: PlanningSpec | None = Field(
        None, description="Least-cost trusted nodes / ground stations for the demands' required rates (table planning)."
    )
    architectures: list[Architecture] = Field(
        default_factory=lambda: ["trusted_node"], min_length=1,
        description="Architectures to evaluate on every demand: trusted_node (terrestrial fibre), "
        "repeater (fibre repeater chains), satellite (fibre plus satellite links), twin_field (fibre with the "
        "twin_field hardware on every link and trusted nodes at its reach).",
    )
    repeater: RepeaterProfile = Field(default_factory=RepeaterProfile)
    engine: EngineLimits = Field(default_factory=EngineLimits)
    satellites: list[Satellite] = Field(default_factory=list)
    space: SpaceWindow | None = None
    demands: list[Demand] = Field(default_factory=list)
    sweep: SweepSpec | None = None
    emulation: Emulation | None = Field(
        None, description="The network in time (qnetemu emulate, qnetemu serve): key stores, failures, applications."
    )
    limits: Limits = Field(default_factory=Limits, description="Bounds on the work the scenario may ask for.")

    @model_validator(mode="after")
    def _default_architectures(self) -> Scenario:
        # Satellites in a file that names no architectures: evaluate them too.
        if self.satellites and "architectures" not in self.model_fields_set and "satellite" not in self.architectures:
            self.architectures = [*self.architectures, "satellite"]
        return self

    @model_validator(mode="after")
    def _work_within_limits(self) -> Scenario:
        # The location is part of the message: a model validator's error has none of its own.
        lim = self.limits
        if self.engine.max_pairs > lim.max_simulated_pairs:
            raise ValueError(f"engine.max_pairs: {self.engine.max_pairs:,} pairs is above the limit of "
                             f"{lim.max_simulated_pairs:,}; raise limits.max_simulated_pairs to allow it")
        for where, archs in (("architectures", self.architectures),
                             ("sweep.architectures", self.sweep.architectures if self.sweep else [])):
            if "satellite" in archs and not self.satellites:
                raise ValueError(f"{where}: architecture satellite needs satellites")
        if self.sweep is not None and (n := self.sweep.point_count()) > lim.max_sweep_points:
            raise ValueError(f"sweep: {n:,} points is above the limit of {lim.max_sweep_points:,}; raise "
                             "limits.max_sweep_points to allow it")
        return self
