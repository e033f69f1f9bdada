"""Key from satellites: decoy-BB84 downlinks, trusted-satellite relay, entangled pairs.

Geometry comes from :mod:`qnetemu.orbits` (passes, common visibility), channel
transmittance from :mod:`qnetemu.physics.freespace`, key rates from
:mod:`qnetemu.physics.qkd`. Rates are **asymptotic**: finite-size effects are
not modelled, so a single short pass yields more key here than an experiment
that must estimate its parameters from the data of that pass.

Three services:

* :func:`key_per_pass`: decoy-state BB84 (vacuum + weak decoy, Ma et al. 2005)
  from a satellite transmitter to one station, integrated over a pass.
* :func:`trusted_satellite_key_per_day`: the satellite shares a key with A on
  one pass and with B on another, then publishes their XOR (Liao et al., Phys.
  Rev. Lett. 120, 030501 (2018)); A and B get ``min(key_A, key_B)`` and must
  trust the satellite.
* :func:`entanglement_downlink_key_per_day`: the satellite sends one photon of
  each entangled pair to A and one to B while both see it (BBM92; Yin et al.,
  Science 356, 1140 (2017)); the satellite need not be trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from qnetemu.orbits.passes import Pass, Site, common_visibility, find_passes
from qnetemu.physics.finite_key import (
    FiniteKeyProtocol,
    bb84_detector_live_fraction,
    bb84_expected_counts,
    lim2014_key_length,
)
from qnetemu.physics.freespace import downlink_transmittance
from qnetemu.physics.qkd import bb84_decoy_ma2005, binary_entropy, dead_time_live_fraction

__all__ = [
    "MICIUS_BB84_PAYLOAD",
    "MICIUS_PAIR_SOURCE",
    "XINGLONG_STATION",
    "BB84Payload",
    "EntangledPairSource",
    "GroundStation",
    "bbm92_downlink_rates",
    "entanglement_downlink_key_per_day",
    "entanglement_key_over_windows",
    "key_over_passes",
    "key_per_pass",
    "pass_key_profile",
    "trusted_satellite_key_per_day",
]


def _check_positive(owner: str, **values: float) -> None:
    for name, value in values.items():
        if not (math.isfinite(value) and value > 0.0):
            raise ValueError(f"{owner}: {name} must be a positive finite number, got {value!r}")


def _check_fraction(owner: str, low_open: bool = True, **values: float) -> None:
    for name, value in values.items():
        ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
        if not (math.isfinite(value) and ok):
            interval = "(0, 1]" if low_open else "[0, 1]"
            raise ValueError(f"{owner}: {name} must be in {interval}, got {value!r}")


def _check_beam(owner: str, tx_aperture_m, divergence_rad) -> None:
    if (tx_aperture_m is None) == (divergence_rad is None):
        raise ValueError(f"{owner}: give exactly one of tx_aperture_m and divergence_rad")
    if tx_aperture_m is not None:
        _check_positive(owner, tx_aperture_m=tx_aperture_m)
    else:
        _check_positive(owner, divergence_rad=divergence_rad)


@dataclass(frozen=True)
class GroundStation:
    """An optical ground station receiving single photons.

    Parameters
    ----------
    site : Site
        Where it is.
    rx_aperture_m : float
        Telescope diameter. [m]
    optics_efficiency : float
        Transmittance from the telescope entrance to the detectors, including
        the satellite's own transmit optics (lumped). [-]
    detector_efficiency : float
        Single-photon detection efficiency. [-]
    noise_rate_hz : float
        Dark plus background count rate per detector channel at night. [Hz]
    detection_window_s : float
        Time gate around each expected photon for the pulsed (BB84) link;
        a pulse sees ``1 - exp(-noise_rate_hz * detection_window_s)`` noise. [s]
    zenith_transmittance : float
        Clear-sky atmospheric transmittance at the zenith at the link wavelength. [-]
    detector_dead_time_s : float
        Dead time after each click, >= 0 (0: none), with the meaning of the
        fibre receivers' (:func:`qnetemu.physics.qkd.dead_time_live_fraction`):
        non-paralyzable and shared by the station's detectors, so the
        detections saturate at ``1 / detector_dead_time_s``. [s]
    """

    site: Site
    rx_aperture_m: float
    optics_efficiency: float
    detector_efficiency: float
    noise_rate_hz: float
    detection_window_s: float
    zenith_transmittance: float
    detector_dead_time_s: float

    def __post_init__(self) -> None:
        owner = f"ground station {self.site.name!r}"
        if not isinstance(self.site, Site):
            raise ValueError(f"{owner}: site must be a Site")
        _check_positive(
            owner, rx_aperture_m=self.rx_aperture_m, detection_window_s=self.detection_window_s
        )
        _check_fraction(
            owner,
            optics_efficiency=self.optics_efficiency,
            detector_efficiency=self.detector_efficiency,
            zenith_transmittance=self.zenith_transmittance,
        )
        for name in ("noise_rate_hz", "detector_dead_time_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"{owner}: {name} must be finite and >= 0")

    @property
    def dark_count_prob(self) -> float:
        """Noise click probability per pulse, ``1 - exp(-rate * window)``. [-]"""
        return -math.expm1(-self.noise_rate_hz * self.detection_window_s)


@dataclass(frozen=True)
class BB84Payload:
    """Decoy-state BB84 transmitter on the satellite (weak coherent pulses).

    Parameters
    ----------
    wavelength_m : float
        Wavelength. [m]
    repetition_rate_hz : float
        Pulse rate. [Hz]
    mu, nu : float
        Signal and weak-decoy mean photon numbers (a vacuum decoy is implied). [-]
    misalignment_error : float
        Intrinsic error probability (polarisation contrast, reference frame). [-]
    pointing_jitter_rad : float
        Per-axis pointing error standard deviation. [rad]
    divergence_rad : float, optional
        Far-field 1/e^2 half-angle divergence of the beam. [rad]
    tx_aperture_m : float, optional
        Telescope diameter for a diffraction-limited beam; give this or
        ``divergence_rad``. [m]
    """

    wavelength_m: float
    repetition_rate_hz: float
    mu: float
    nu: float
    misalignment_error: float
    pointing_jitter_rad: float = 0.0
    divergence_rad: float | None = None
    tx_aperture_m: float | None = None

    def __post_init__(self) -> None:
        _check_positive(
            "BB84 payload",
            wavelength_m=self.wavelength_m,
            repetition_rate_hz=self.repetition_rate_hz,
        )
        _check_beam("BB84 payload", self.tx_aperture_m, self.divergence_rad)
        if not (0.0 < self.nu < self.mu and math.isfinite(self.mu)):
            raise ValueError(f"BB84 payload: need 0 < nu < mu, got mu={self.mu}, nu={self.nu}")
        if not 0.0 <= self.misalignment_error <= 0.5:
            raise ValueError("BB84 payload: misalignment_error must be in [0, 0.5]")
        if not (math.isfinite(self.pointing_jitter_rad) and self.pointing_jitter_rad >= 0.0):
            raise ValueError("BB84 payload: pointing_jitter_rad must be finite and >= 0")


@dataclass(frozen=True)
class EntangledPairSource:
    """Polarisation-entangled photon-pair source on the satellite, two telescopes.

    Parameters
    ----------
    pair_rate_hz : float
        Pairs emitted per second (continuous-wave SPDC). [Hz]
    wavelength_m : float
        Wavelength of both photons. [m]
    intrinsic_qber : float
        Error rate of true coincidences (source visibility, optics). [-]
    coincidence_window_s : float
        Width of the coincidence window after time-transfer. [s]
    pointing_jitter_rad : float
        Per-axis pointing error of each telescope. [rad]
    divergence_rad, tx_aperture_m : float, optional
        Beam of each telescope, as for :class:`BB84Payload`.
    """

    pair_rate_hz: float
    wavelength_m: float
    intrinsic_qber: float
    coincidence_window_s: float
    pointing_jitter_rad: float = 0.0
    divergence_rad: float | None = None
    tx_aperture_m: float | None = None

    def __post_init__(self) -> None:
        _check_positive(
            "pair source",
            pair_rate_hz=self.pair_rate_hz,
            wavelength_m=self.wavelength_m,
            coincidence_window_s=self.coincidence_window_s,
        )
        _check_beam("pair source", self.tx_aperture_m, self.divergence_rad)
        if not 0.0 <= self.intrinsic_qber <= 0.5:
            raise ValueError("pair source: intrinsic_qber must be in [0, 0.5]")
        if not (math.isfinite(self.pointing_jitter_rad) and self.pointing_jitter_rad >= 0.0):
            raise ValueError("pair source: pointing_jitter_rad must be finite and >= 0")


#: Micius decoy-BB84 downlink (Liao et al., Nature 549, 43 (2017),
#: doi:10.1038/nature23655): 850 nm, 100 MHz, signal 0.8 / decoy 0.1 / vacuum,
#: 300 mm Cassegrain telescope with a beam widened to about 10 urad (read here
#: as the 1/e^2 half-angle), fine pointing to about 0.5 urad. The 1 %
#: misalignment error is an assumption in line with the ~1 % QBER reported.
MICIUS_BB84_PAYLOAD = BB84Payload(
    wavelength_m=850e-9,
    repetition_rate_hz=100e6,
    mu=0.8,
    nu=0.1,
    misalignment_error=0.01,
    pointing_jitter_rad=0.5e-6,
    divergence_rad=10e-6,
)

#: Xinglong station (Xinglong Observatory, 40.394 N, 117.575 E, 960 m) with
#: its 1 m telescope (Liao et al. 2017). Assumed, not reported: optics 0.3 and
#: detectors 0.5 (together 0.15, chosen so that, with the payload above, the
#: modelled loss at 645 km matches the 29.8 dB reported), 300 Hz night
#: background, 2 ns gate, zenith transmittance 0.7 at 850 nm, and no detector
#: dead time (none reported).
XINGLONG_STATION = GroundStation(
    site=Site(40.394, 117.575, 960.0, "Xinglong"),
    rx_aperture_m=1.0,
    optics_efficiency=0.3,
    detector_efficiency=0.5,
    noise_rate_hz=300.0,
    detection_window_s=2e-9,
    zenith_transmittance=0.7,
    detector_dead_time_s=0.0,
)

#: Micius entangled-photon source (Yin et al., Science 356, 1140 (2017),
#: doi:10.1126/science.aan3211): about 5.9 million pairs per second at 810 nm.
#: The 3 % intrinsic error, 2.5 ns coincidence window,
#: 10 urad half-angle divergence and 0.5 urad jitter are assumptions of the
#: same kind as for :data:`MICIUS_BB84_PAYLOAD`.
MICIUS_PAIR_SOURCE = EntangledPairSource(
    pair_rate_hz=5.9e6,
    wavelength_m=810e-9,
    intrinsic_qber=0.03,
    coincidence_window_s=2.5e-9,
    pointing_jitter_rad=0.5e-6,
    divergence_rad=10e-6,
)


def _channel_transmittance(slant_range_m, elevation_deg, beam, station: GroundStation):
    """Satellite-to-detector transmittance, detector efficiency excluded. [-]"""
    return np.asarray(
        downlink_transmittance(
            slant_range_m,
            np.clip(elevation_deg, 0.0, 90.0),
            wavelength_m=beam.wavelength_m,
            tx_aperture_m=beam.tx_aperture_m,
            divergence_rad=beam.divergence_rad,
            rx_aperture_m=station.rx_aperture_m,
            pointing_jitter_rad=beam.pointing_jitter_rad,
            zenith_transmittance=station.zenith_transmittance,
            receiver_efficiency=station.optics_efficiency,
        ),
        dtype=float,
    )


def integrate_rate(rate_hz: np.ndarray, time_s: np.ndarray) -> float:
    """Trapezoid integral over the samples (zero for a single sample). [bit]"""
    if rate_hz.size < 2:
        return 0.0
    return float(np.trapezoid(rate_hz, time_s))


def pass_key_profile(
    pass_: Pass, *, payload: BB84Payload, station: GroundStation, ec_efficiency: float = 1.22
) -> tuple[np.ndarray, np.ndarray]:
    """Channel loss [dB] and asymptotic decoy-BB84 key rate [bit/s] at each sample of a pass.

    Loss is satellite to detector, detector efficiency excluded; the key rate
    is :func:`qnetemu.physics.qkd.bb84_decoy_ma2005` (Ma, Qi, Zhao, Lo, Phys.
    Rev. A 72, 012326 (2005)) times the repetition rate, with the station's
    detector dead time: times the live fraction ``1/(1 + f_rep Q_mu tau)``
    (:func:`qnetemu.physics.qkd.dead_time_live_fraction`) at each sample.
    """
    if not isinstance(pass_, Pass):
        raise ValueError(f"pass_ must be a Pass, got {type(pass_).__name__}")
    channel = _channel_transmittance(pass_.slant_range_m, pass_.elevation_deg, payload, station)
    bits_per_pulse = np.asarray(
        bb84_decoy_ma2005(
            channel,
            mu=payload.mu,
            nu=payload.nu,
            detector_efficiency=station.detector_efficiency,
            dark_count_prob=station.dark_count_prob,
            misalignment_error=payload.misalignment_error,
            ec_efficiency=ec_efficiency,
            repetition_rate_hz=payload.repetition_rate_hz,
            dead_time_s=station.detector_dead_time_s,
        ),
        dtype=float,
    )
    return -10.0 * np.log10(channel), bits_per_pulse * payload.repetition_rate_hz


def pass_counts(pass_: Pass, *, payload: BB84Payload, station: GroundStation,
                protocol: FiniteKeyProtocol) -> tuple[np.ndarray, ...]:
    """Expected detections and errors per intensity and basis over one pass (trapezoid in time).

    Returns ``(n_x, m_x, n_z, m_z)``, each of shape (3,) for (mu, nu, omega),
    from :func:`qnetemu.physics.finite_key.bb84_expected_counts` at each
    sample's channel transmittance, ``repetition_rate_hz`` pulses per
    second, of which the live fraction
    :func:`qnetemu.physics.finite_key.bb84_detector_live_fraction` of the
    station's dead time counts (dead gates are dropped, the live ones keep
    their statistics, as on fibre). [count]
    """
    channel = _channel_transmittance(pass_.slant_range_m, pass_.elevation_deg, payload, station)
    detector = dict(mu=payload.mu, nu=payload.nu, omega=protocol.omega, p_mu=protocol.p_mu, p_nu=protocol.p_nu,
                    detector_efficiency=station.detector_efficiency, dark_count_prob=station.dark_count_prob,
                    afterpulse_prob=0.0)
    live = np.asarray(bb84_detector_live_fraction(channel, repetition_rate_hz=payload.repetition_rate_hz,
                                                  dead_time_s=station.detector_dead_time_s, **detector), dtype=float)
    per_second = bb84_expected_counts(channel, payload.repetition_rate_hz, p_x=protocol.p_x,
                                      misalignment_error=payload.misalignment_error, **detector)
    per_second = tuple(np.asarray(c) * live[..., None] for c in per_second)
    if pass_.time_s.size < 2:
        return tuple(np.zeros(3) for _ in per_second)
    return tuple(np.trapezoid(np.atleast_2d(c), pass_.time_s, axis=0) for c in per_second)


def _finite_key_bits(counts, payload: BB84Payload, protocol: FiniteKeyProtocol, ec_efficiency: float) -> float:
    if not np.sum(counts[0]) > 0 or not np.sum(counts[2]) > 0:
        return 0.0
    return float(lim2014_key_length(
        *counts, intensities=np.array([payload.mu, payload.nu, protocol.omega]),
        probabilities=np.array([protocol.p_mu, protocol.p_nu, 1.0 - protocol.p_mu - protocol.p_nu]),
        ec_efficiency=ec_efficiency, eps_sec=protocol.eps_sec, eps_cor=protocol.eps_cor))


def key_over_passes(passes: list[Pass], *, payload: BB84Payload, station: GroundStation, ec_efficiency: float,
                    finite_key: FiniteKeyProtocol | None = None, passes_per_block: int = 1) -> list[dict]:
    """Key of each pass: asymptotic, or finite-key with ``passes_per_block`` passes pooled into one block.

    With a finite key, the detections of ``passes_per_block`` consecutive
    passes form one block (Lim et al., PRA 89, 022307 (2014)); its key is
    credited to the block's last pass (that is when it exists), the other
    passes of the block get 0, and a last block left incomplete at the end of
    the window gives nothing. Each dict is :func:`key_per_pass`'s, with
    ``key_bits`` and ``mean_key_rate_hz`` replaced by the finite-key values and
    the asymptotic key kept as ``asymptotic_key_bits``.
    """
    keys = [key_per_pass(p, payload=payload, station=station, ec_efficiency=ec_efficiency) for p in passes]
    if finite_key is None:
        return keys
    if passes_per_block < 1:
        raise ValueError(f"passes_per_block must be >= 1, got {passes_per_block}")
    counts = [pass_counts(p, payload=payload, station=station, protocol=finite_key) for p in passes]
    for k in keys:
        k["asymptotic_key_bits"] = k["key_bits"]
    for start in range(0, len(passes), passes_per_block):
        block = range(start, min(start + passes_per_block, len(passes)))
        pooled = tuple(sum(counts[i][j] for i in block) for j in range(4))
        bits = _finite_key_bits(pooled, payload, finite_key, ec_efficiency) if len(block) == passes_per_block else 0.0
        for i in block:
            keys[i]["key_bits"] = bits if i == block[-1] else 0.0
            duration = keys[i]["duration_s"]
            keys[i]["mean_key_rate_hz"] = keys[i]["key_bits"] / duration if duration > 0 else 0.0
    return keys


def key_per_pass(
    pass_: Pass, *, payload: BB84Payload, station: GroundStation, ec_efficiency: float = 1.22
) -> dict:
    """Asymptotic decoy-BB84 key collected during one pass (see :func:`key_over_passes` for finite keys).

    Parameters
    ----------
    pass_ : Pass
        A pass from :func:`qnetemu.orbits.passes.find_passes`.
    payload : BB84Payload
        The satellite transmitter.
    station : GroundStation
        The receiving station.
    ec_efficiency : float, optional
        Error-correction inefficiency f. [-]

    Returns
    -------
    dict
        ``key_bits`` (trapezoid integral of the key rate over the pass samples)
        [bit], ``duration_s`` (first to last sample) [s], ``mean_loss_db`` and
        ``min_loss_db`` (satellite to detector, detector efficiency excluded,
        averaged over samples) [dB], ``peak_key_rate_hz`` [bit/s],
        ``mean_key_rate_hz`` (``key_bits / duration_s``) [bit/s] and
        ``max_elevation_deg`` [deg], and the per-sample arrays
        ``loss_db`` [dB] and ``key_rate_hz`` [bit/s] (for timelines).

    Notes
    -----
    Secret fraction per pulse from :func:`qnetemu.physics.qkd.bb84_decoy_ma2005`
    (Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005)), times the repetition
    rate, evaluated at each sample's slant range and elevation. Asymptotic:
    no finite-size penalty, so it bounds what a real pass delivers from above.
    The fraction of a sampling step before the first and after the last
    sample is left out (at most one step at the lowest elevations).
    """
    loss_db, rate_hz = pass_key_profile(pass_, payload=payload, station=station, ec_efficiency=ec_efficiency)
    key_bits = integrate_rate(rate_hz, pass_.time_s)
    duration_s = float(pass_.time_s[-1] - pass_.time_s[0])
    return {
        "key_bits": key_bits,
        "duration_s": duration_s,
        "mean_loss_db": float(np.mean(loss_db)),
        "min_loss_db": float(np.min(loss_db)),
        "peak_key_rate_hz": float(np.max(rate_hz)),
        "mean_key_rate_hz": key_bits / duration_s if duration_s > 0 else 0.0,
        "max_elevation_deg": pass_.max_elevation_deg,
        "loss_db": loss_db,
        "key_rate_hz": rate_hz,
    }


def trusted_satellite_key_per_day(
    satellite,
    *,
    station_a: GroundStation,
    station_b: GroundStation,
    payload: BB84Payload,
    start_utc: datetime,
    duration_s: float = 86_400.0,
    step_s: float = 10.0,
    min_elevation_deg: float = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
    ec_efficiency: float = 1.22,
) -> dict:
    """Key between two stations relayed by one trusted satellite (store and forward).

    Parameters
    ----------
    satellite : skyfield.sgp4lib.EarthSatellite
        The satellite.
    station_a, station_b : GroundStation
        The two stations.
    payload : BB84Payload
        The satellite's decoy-BB84 transmitter.
    start_utc : datetime
        Window start; timezone-aware.
    duration_s : float, optional
        Window length; results are scaled to one day. [s]
    step_s, min_elevation_deg, night_only, max_sun_altitude_deg
        As in :func:`qnetemu.orbits.passes.find_passes`. With ``night_only=False``
        daylight samples still use the stations' night-time ``noise_rate_hz``:
        daylight background is not modelled, so such results are optimistic.
    ec_efficiency : float, optional
        Error-correction inefficiency f. [-]

    Returns
    -------
    dict
        ``key_bits_per_day`` (``min(key_a, key_b)`` scaled to 86,400 s) [bit],
        ``key_bits_a``, ``key_bits_b`` (over the window) [bit],
        ``passes_a``, ``passes_b`` (passes yielding key), and ``latency_s``:
        time from the window start until both stations have completed a pass
        that yields key, i.e. until the first relayed key exists (``inf`` if
        that never happens within the window). [s]

    Notes
    -----
    The satellite establishes independent keys with A and with B and
    broadcasts their XOR, from which each station recovers the other's key
    (Liao et al., Phys. Rev. Lett. 120, 030501 (2018),
    doi:10.1103/PhysRevLett.120.030501). The satellite stores keys between
    passes, so the shared key is limited by the smaller of the two totals.
    """
    totals = []
    for station in (station_a, station_b):
        if not isinstance(station, GroundStation):
            raise ValueError(f"stations must be GroundStation, got {type(station).__name__}")
        passes = find_passes(
            satellite,
            station_lat_deg=station.site.latitude_deg,
            station_lon_deg=station.site.longitude_deg,
            station_elevation_m=station.site.elevation_m,
            station_name=station.site.name,
            start_utc=start_utc,
            duration_s=duration_s,
            step_s=step_s,
            min_elevation_deg=min_elevation_deg,
            night_only=night_only,
            max_sun_altitude_deg=max_sun_altitude_deg,
        )
        keyed = []
        for pass_ in passes:
            bits = key_per_pass(
                pass_, payload=payload, station=station, ec_efficiency=ec_efficiency
            )
            if bits["key_bits"] > 0.0:
                keyed.append((pass_, bits["key_bits"]))
        totals.append(keyed)

    key_a = sum(bits for _, bits in totals[0])
    key_b = sum(bits for _, bits in totals[1])
    if totals[0] and totals[1]:
        window_start = totals[0][0][0].window_start_utc
        latency_s = max((keyed[0][0].set_utc - window_start).total_seconds() for keyed in totals)
    else:
        latency_s = math.inf
    return {
        "key_bits_per_day": min(key_a, key_b) * 86_400.0 / duration_s,
        "key_bits_a": key_a,
        "key_bits_b": key_b,
        "passes_a": len(totals[0]),
        "passes_b": len(totals[1]),
        "latency_s": latency_s,
    }


def bbm92_downlink_rates(
    transmittance_a,
    transmittance_b,
    *,
    pair_rate_hz,
    detector_efficiency_a,
    detector_efficiency_b,
    noise_rate_a_hz,
    noise_rate_b_hz,
    coincidence_window_s,
    intrinsic_qber,
    ec_efficiency=1.1,
    sifting=0.5,
    dead_time_a_s=0.0,
    dead_time_b_s=0.0,
):
    """Coincidence rate, QBER and asymptotic BBM92 key rate of a double downlink.

    Parameters
    ----------
    transmittance_a, transmittance_b : array_like
        Channel transmittance from the source to each station's detectors,
        detector efficiency excluded. [-]
    pair_rate_hz : array_like
        Pair emission rate. [Hz]
    detector_efficiency_a, detector_efficiency_b : array_like
        Detection efficiencies. [-]
    noise_rate_a_hz, noise_rate_b_hz : array_like
        Dark plus background count rates. [Hz]
    coincidence_window_s : array_like
        Coincidence window width. [s]
    intrinsic_qber : array_like
        Error rate of true coincidences. [-]
    ec_efficiency : array_like, optional
        Error-correction inefficiency f. [-]
    sifting : array_like, optional
        Fraction of coincidences measured in matching bases. [-]
    dead_time_a_s, dead_time_b_s : array_like, optional
        Each station's detector dead time after a click, >= 0 (default 0:
        none). [s]

    Returns
    -------
    key_rate_hz, coincidence_rate_hz, qber : numpy.ndarray or float
        Secret key rate (clipped at 0) [bit/s], all coincidences [1/s] and
        their error rate [-].

    Notes
    -----
    True coincidences ``C_t = R eta_A eta_B`` (``eta`` = transmittance times
    detector efficiency); singles ``S = R eta + n``; accidental coincidences
    ``C_acc = S_A S_B tau`` (multi-pair emission and noise, each with error 1/2).
    ``E = (e_int C_t + C_acc / 2) / (C_t + C_acc)`` and the asymptotic key rate
    ``K = q (C_t + C_acc) [1 - f h2(E) - h2(E)]`` with equal bit and phase
    error rates (Ma, Fung, Lo, Phys. Rev. A 76, 012307 (2007),
    doi:10.1103/PhysRevA.76.012307). ``S_A S_B tau`` is the rate at which two
    independent Poisson streams fall within ``tau`` of each other; it
    neglects the small overlap of true and accidental coincidences.

    Dead time: a station's detectors (non-paralyzable, shared) are live a
    fraction ``L = 1/(1 + S t_d)`` of the time
    (:func:`qnetemu.physics.qkd.dead_time_live_fraction`; Knoll, *Radiation
    Detection and Measurement*, Ch. 4), whatever arrives, so every
    coincidence, true or accidental, needs both stations live: both rates
    scale by ``L_A L_B`` (the stations' dead periods taken as independent)
    and the QBER is unchanged.
    """
    arrays = {
        "transmittance_a": transmittance_a,
        "transmittance_b": transmittance_b,
        "detector_efficiency_a": detector_efficiency_a,
        "detector_efficiency_b": detector_efficiency_b,
    }
    checked = {}
    for name, value in arrays.items():
        array = np.asarray(value, dtype=float)
        if not np.all(np.isfinite(array)) or np.any((array < 0.0) | (array > 1.0)):
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        checked[name] = array
    rate = np.asarray(pair_rate_hz, dtype=float)
    n_a = np.asarray(noise_rate_a_hz, dtype=float)
    n_b = np.asarray(noise_rate_b_hz, dtype=float)
    tau = np.asarray(coincidence_window_s, dtype=float)
    e_int = np.asarray(intrinsic_qber, dtype=float)
    f = np.asarray(ec_efficiency, dtype=float)
    q = np.asarray(sifting, dtype=float)
    for name, array in (("pair_rate_hz", rate), ("coincidence_window_s", tau)):
        if not np.all(np.isfinite(array)) or np.any(array <= 0.0):
            raise ValueError(f"{name} must be positive and finite")
    for name, array in (("noise_rate_a_hz", n_a), ("noise_rate_b_hz", n_b)):
        if not np.all(np.isfinite(array)) or np.any(array < 0.0):
            raise ValueError(f"{name} must be non-negative and finite")
    if not np.all(np.isfinite(e_int)) or np.any((e_int < 0.0) | (e_int > 0.5)):
        raise ValueError("intrinsic_qber must be in [0, 0.5]")
    if not np.all(np.isfinite(f)) or np.any(f < 1.0):
        raise ValueError("ec_efficiency must be >= 1")
    if not np.all(np.isfinite(q)) or np.any((q <= 0.0) | (q > 1.0)):
        raise ValueError("sifting must be in (0, 1]")

    eta_a = checked["transmittance_a"] * checked["detector_efficiency_a"]
    eta_b = checked["transmittance_b"] * checked["detector_efficiency_b"]
    singles_a_hz, singles_b_hz = rate * eta_a + n_a, rate * eta_b + n_b
    live = (np.asarray(dead_time_live_fraction(singles_a_hz, dead_time_s=dead_time_a_s))
            * np.asarray(dead_time_live_fraction(singles_b_hz, dead_time_s=dead_time_b_s)))
    true_hz = rate * eta_a * eta_b * live
    accidental_hz = singles_a_hz * singles_b_hz * tau * live
    total_hz = true_hz + accidental_hz
    positive = total_hz > 0.0
    qber = np.where(
        positive, (e_int * true_hz + 0.5 * accidental_hz) / np.where(positive, total_hz, 1.0), 0.5
    )
    h = np.asarray(binary_entropy(np.clip(qber, 0.0, 0.5)))
    key_hz = np.maximum(q * total_hz * (1.0 - (f + 1.0) * h), 0.0)

    def out(array):
        array = np.asarray(array, dtype=float)
        return array[()] if array.ndim == 0 else array

    return out(key_hz), out(total_hz), out(qber)


def entanglement_downlink_key_per_day(
    satellite,
    *,
    station_a: GroundStation,
    station_b: GroundStation,
    source: EntangledPairSource,
    start_utc: datetime,
    duration_s: float = 86_400.0,
    step_s: float = 10.0,
    min_elevation_deg: float = 10.0,
    night_only: bool = True,
    max_sun_altitude_deg: float = -12.0,
    ec_efficiency: float = 1.1,
) -> dict:
    """BBM92 key between two stations that see the satellite at the same time.

    Parameters
    ----------
    satellite : skyfield.sgp4lib.EarthSatellite
        The satellite carrying the pair source.
    station_a, station_b : GroundStation
        The two stations (``noise_rate_hz`` is used; ``detection_window_s``
        is not, the source's coincidence window is).
    source : EntangledPairSource
        The pair source and its two telescopes.
    start_utc, duration_s, step_s, min_elevation_deg, night_only, max_sun_altitude_deg
        As in :func:`qnetemu.orbits.passes.common_visibility`.
    ec_efficiency : float, optional
        Error-correction inefficiency f. [-]

    Returns
    -------
    dict
        ``key_bits_per_day`` [bit], ``key_bits`` over the window [bit],
        ``coincidences`` over the window [-], ``windows`` (number of common
        windows), ``visible_s`` (summed window durations) [s],
        ``mean_qber`` (coincidence-weighted; None without coincidences) [-]
        and ``min_loss_db`` (inf without common windows): the
        smallest two-downlink loss, the two channels' dB added, detectors
        excluded [dB].

    Notes
    -----
    Rates from :func:`bbm92_downlink_rates` at each sample of each common
    window, integrated with the trapezoid rule. No trusted node: the key is
    secure even if the satellite is not (Ekert 1991; Bennett, Brassard, Mermin,
    Phys. Rev. Lett. 68, 557 (1992)).
    """
    windows = common_visibility(
        satellite,
        station_a=station_a.site,
        station_b=station_b.site,
        start_utc=start_utc,
        duration_s=duration_s,
        step_s=step_s,
        min_elevation_deg=min_elevation_deg,
        night_only=night_only,
        max_sun_altitude_deg=max_sun_altitude_deg,
    )
    return entanglement_key_over_windows(
        windows, station_a=station_a, station_b=station_b, source=source, duration_s=duration_s,
        ec_efficiency=ec_efficiency,
    )


def entanglement_key_over_windows(
    windows, *, station_a: GroundStation, station_b: GroundStation, source: EntangledPairSource,
    duration_s: float, ec_efficiency: float = 1.1,
) -> dict:
    """BBM92 key over given common-visibility windows (see :func:`entanglement_downlink_key_per_day`).

    For many station pairs, compute the windows once per satellite with
    :func:`qnetemu.orbits.common_windows_by_pair` and call this per pair.
    """
    key_bits = coincidences = errors = visible_s = 0.0
    min_loss_db = math.inf
    for window in windows:
        t_a = _channel_transmittance(
            window.slant_range_a_m, window.elevation_a_deg, source, station_a
        )
        t_b = _channel_transmittance(
            window.slant_range_b_m, window.elevation_b_deg, source, station_b
        )
        key_hz, total_hz, qber = bbm92_downlink_rates(
            t_a,
            t_b,
            pair_rate_hz=source.pair_rate_hz,
            detector_efficiency_a=station_a.detector_efficiency,
            detector_efficiency_b=station_b.detector_efficiency,
            noise_rate_a_hz=station_a.noise_rate_hz,
            noise_rate_b_hz=station_b.noise_rate_hz,
            coincidence_window_s=source.coincidence_window_s,
            intrinsic_qber=source.intrinsic_qber,
            ec_efficiency=ec_efficiency,
            dead_time_a_s=station_a.detector_dead_time_s,
            dead_time_b_s=station_b.detector_dead_time_s,
        )
        key_bits += integrate_rate(np.asarray(key_hz), window.time_s)
        coincidences += integrate_rate(np.asarray(total_hz), window.time_s)
        errors += integrate_rate(np.asarray(total_hz) * np.asarray(qber), window.time_s)
        visible_s += window.duration_s
        min_loss_db = min(min_loss_db, float(np.min(-10.0 * np.log10(t_a * t_b))))
    return {
        "key_bits_per_day": key_bits * 86_400.0 / duration_s,
        "key_bits": key_bits,
        "coincidences": coincidences,
        "windows": len(windows),
        "visible_s": visible_s,
        "mean_qber": errors / coincidences if coincidences > 0 else None,
        "min_loss_db": min_loss_db,
    }
