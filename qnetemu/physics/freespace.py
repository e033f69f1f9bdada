"""Free-space optical downlink loss: diffraction, pointing jitter, atmosphere.

Pure, vectorised functions (numpy broadcasting over every argument) for a
satellite-to-ground single-photon downlink. The transmitted beam is a TEM00
Gaussian beam; the receiver is a circular aperture of diameter
``rx_aperture_m``. Beam widths are 1/e^2 intensity radii and divergences are
far-field 1/e^2 half-angles. Turbulence in a downlink mostly affects the last
~20 km of a path that is hundreds of km long, so the beam is already much wider
than the turbulence scale there and its broadening is neglected (Bourgoin et
al., New J. Phys. 15, 023006 (2013), doi:10.1088/1367-2630/15/2/023006).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "atmospheric_transmittance",
    "beam_radius_m",
    "diffraction_transmittance",
    "downlink_loss_db",
    "downlink_transmittance",
    "gaussian_beam_divergence_rad",
    "kastenyoung1989_airmass",
    "pointing_transmittance",
]


def _array(name: str, value, *, positive: bool = False, nonnegative: bool = False) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and np.any(array <= 0.0):
        raise ValueError(f"{name} must be positive, got {value!r}")
    if nonnegative and np.any(array < 0.0):
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return array


def _fraction(name: str, value, *, allow_zero: bool = False) -> np.ndarray:
    array = _array(name, value)
    low_ok = array >= 0.0 if allow_zero else array > 0.0
    if np.any(~low_ok | (array > 1.0)):
        interval = "[0, 1]" if allow_zero else "(0, 1]"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return array


def _out(array: np.ndarray):
    return array[()] if array.ndim == 0 else array


def gaussian_beam_divergence_rad(wavelength_m, tx_aperture_m):
    """Diffraction-limited far-field half-angle of a Gaussian beam.

    Parameters
    ----------
    wavelength_m : float or array_like
        Optical wavelength. [m]
    tx_aperture_m : float or array_like
        Transmitter aperture diameter. [m]

    Returns
    -------
    float or numpy.ndarray
        1/e^2 half-angle divergence ``theta = lambda / (pi w0)``. [rad]

    Notes
    -----
    Convention: the beam waist radius equals the aperture radius,
    ``w0 = tx_aperture_m / 2`` (a beam that fills its telescope; clipping of the
    wings is ignored). Formula: Saleh & Teich, *Fundamentals of Photonics*,
    2nd ed. (2007), Sec. 3.1. A 300 mm telescope at 850 nm gives 1.8 urad.
    """
    wavelength_m = _array("wavelength_m", wavelength_m, positive=True)
    tx_aperture_m = _array("tx_aperture_m", tx_aperture_m, positive=True)
    return _out(wavelength_m / (np.pi * tx_aperture_m / 2.0))


def beam_radius_m(slant_range_m, *, wavelength_m, tx_aperture_m=None, divergence_rad=None):
    """1/e^2 radius of the Gaussian beam after a free-space path.

    Parameters
    ----------
    slant_range_m : float or array_like
        Propagation distance from the transmitter. [m]
    wavelength_m : float or array_like
        Optical wavelength. [m]
    tx_aperture_m : float or array_like, optional
        Transmitter aperture diameter; the beam is then diffraction limited with
        waist ``w0 = tx_aperture_m / 2``. [m]
    divergence_rad : float or array_like, optional
        Far-field 1/e^2 half-angle divergence, for a beam wider than the
        diffraction limit (defocused on purpose to ease pointing). [rad]

    Returns
    -------
    float or numpy.ndarray
        ``w(z) = w0 sqrt(1 + (z / z_R)^2) = sqrt(w0^2 + theta^2 z^2)``. [m]

    Notes
    -----
    Gaussian beam optics (Saleh & Teich 2007, Sec. 3.1):
    ``z_R = pi w0^2 / lambda`` and ``theta = w0 / z_R = lambda / (pi w0)``. Given
    a divergence, the waist is the one that has it, ``w0 = lambda / (pi theta)``.
    Give exactly one of ``tx_aperture_m`` and ``divergence_rad``.
    """
    z = _array("slant_range_m", slant_range_m, nonnegative=True)
    wavelength_m = _array("wavelength_m", wavelength_m, positive=True)
    if (tx_aperture_m is None) == (divergence_rad is None):
        raise ValueError("give exactly one of tx_aperture_m and divergence_rad")
    if divergence_rad is None:
        w0 = _array("tx_aperture_m", tx_aperture_m, positive=True) / 2.0
        theta = wavelength_m / (np.pi * w0)
    else:
        theta = _array("divergence_rad", divergence_rad, positive=True)
        w0 = wavelength_m / (np.pi * theta)
    return _out(np.hypot(w0, theta * z))


def _captured_fraction(rx_aperture_m, beam_radius):
    """Power fraction of a centred Gaussian beam inside a circular aperture."""
    ratio = 2.0 * (rx_aperture_m / 2.0) ** 2 / beam_radius**2
    return -np.expm1(-ratio)


def diffraction_transmittance(
    slant_range_m, *, wavelength_m, tx_aperture_m=None, divergence_rad=None, rx_aperture_m
):
    """Fraction of a Gaussian beam collected by a circular receiver aperture.

    Parameters
    ----------
    slant_range_m : float or array_like
        Transmitter-to-receiver distance. [m]
    wavelength_m : float or array_like
        Optical wavelength. [m]
    tx_aperture_m, divergence_rad : float or array_like, optional
        Exactly one of them; see :func:`beam_radius_m`. [m], [rad]
    rx_aperture_m : float or array_like
        Receiver aperture diameter. [m]

    Returns
    -------
    float or numpy.ndarray
        ``T = 1 - exp(-2 a^2 / w(z)^2)`` with ``a = rx_aperture_m / 2``. [-]

    Notes
    -----
    Integral of the Gaussian intensity ``(2 / pi w^2) exp(-2 r^2 / w^2)`` over a
    disc of radius ``a`` centred on the beam (Saleh & Teich 2007, Sec. 3.1;
    Bourgoin et al. 2013). Limits: ``T -> 1`` for ``a >> w`` and
    ``T -> 2 a^2 / w^2`` for ``a << w``. Evaluated with ``expm1`` so that the
    small-aperture limit keeps full precision.
    """
    rx_aperture_m = _array("rx_aperture_m", rx_aperture_m, positive=True)
    w = beam_radius_m(
        slant_range_m,
        wavelength_m=wavelength_m,
        tx_aperture_m=tx_aperture_m,
        divergence_rad=divergence_rad,
    )
    return _out(_captured_fraction(rx_aperture_m, np.asarray(w)))


def pointing_transmittance(slant_range_m, *, beam_radius_m, rx_aperture_m, pointing_jitter_rad):
    """Extra transmittance factor from random pointing jitter (long-term average).

    Parameters
    ----------
    slant_range_m : float or array_like
        Transmitter-to-receiver distance. [m]
    beam_radius_m : float or array_like
        1/e^2 beam radius at the receiver without jitter (:func:`beam_radius_m`). [m]
    rx_aperture_m : float or array_like
        Receiver aperture diameter. [m]
    pointing_jitter_rad : float or array_like
        Standard deviation of the pointing angle per axis (two independent
        Gaussian axes, zero mean). [rad]

    Returns
    -------
    float or numpy.ndarray
        ``T_LT / T_0`` with ``T = 1 - exp(-2 a^2 / w^2)``, ``T_0`` at the
        jitter-free width and ``T_LT`` at ``w_LT^2 = w^2 + 4 sigma^2 z^2``. [-]

    Notes
    -----
    Averaged over the jitter, the intensity at the receiver is the beam profile
    convolved with the Gaussian distribution of beam-centre offsets (per-axis
    standard deviation ``sigma z``). The profile ``exp(-2 r^2 / w^2)`` has
    per-axis variance ``w^2 / 4``, so the average is a Gaussian of width
    ``w_LT^2 = w^2 + 4 sigma^2 z^2``: the long-term beam of Fante, Proc. IEEE 63,
    1669 (1975), doi:10.1109/PROC.1975.10035, used for satellite links by Bourgoin
    et al., New J. Phys. 15, 023006 (2013). This is the mean collected power; it
    ignores the fading statistics around that mean (Vasylyev, Semenov & Vogel,
    Phys. Rev. Lett. 108, 220501 (2012)), which matter for finite-size keys only.
    """
    z = _array("slant_range_m", slant_range_m, nonnegative=True)
    w = _array("beam_radius_m", beam_radius_m, positive=True)
    rx_aperture_m = _array("rx_aperture_m", rx_aperture_m, positive=True)
    sigma = _array("pointing_jitter_rad", pointing_jitter_rad, nonnegative=True)
    w_long_term = np.sqrt(w**2 + 4.0 * (sigma * z) ** 2)
    return _out(
        _captured_fraction(rx_aperture_m, w_long_term) / _captured_fraction(rx_aperture_m, w)
    )


def kastenyoung1989_airmass(elevation_deg):
    """Relative optical air mass of Kasten and Young (1989).

    Parameters
    ----------
    elevation_deg : float or array_like
        Elevation of the line of sight above the horizon, in [0, 90]. [deg]

    Returns
    -------
    float or numpy.ndarray
        Air mass relative to the zenith path (0.9997 at the zenith, 37.9 at the
        horizon). [-]

    Notes
    -----
    ``X = 1 / (cos z + 0.50572 (96.07995 - z)^-1.6364)`` with ``z`` the zenith
    angle in degrees (Kasten & Young, Appl. Opt. 28, 4735 (1989),
    doi:10.1364/AO.28.004735). Unlike the plane-parallel ``sec z``, which
    diverges at the horizon and is already 11 % too large at 5 deg elevation,
    it stays finite down to 0 deg elevation.
    """
    elevation_deg = _array("elevation_deg", elevation_deg)
    if np.any((elevation_deg < 0.0) | (elevation_deg > 90.0)):
        raise ValueError(f"elevation_deg must be in [0, 90], got {elevation_deg!r}")
    zenith_deg = 90.0 - elevation_deg
    return _out(
        1.0 / (np.cos(np.radians(zenith_deg)) + 0.50572 * (96.07995 - zenith_deg) ** -1.6364)
    )


def atmospheric_transmittance(elevation_deg, zenith_transmittance):
    """Clear-sky atmospheric transmittance along a slanted path.

    Parameters
    ----------
    elevation_deg : float or array_like
        Elevation of the line of sight, in [0, 90]. [deg]
    zenith_transmittance : float or array_like
        Transmittance straight up, in (0, 1] (about 0.7-0.9 at 850 nm for a
        clear sky, depending on aerosols and site altitude). [-]

    Returns
    -------
    float or numpy.ndarray
        ``T = T_zen ** X(elevation)`` with the Kasten-Young air mass ``X``. [-]

    Notes
    -----
    Beer-Lambert extinction scaled by the relative air mass
    (:func:`kastenyoung1989_airmass`), as in Bourgoin et al. 2013, with
    the air mass in place of ``sec z``. Computed as ``exp(X ln T_zen)``.
    """
    airmass = np.asarray(kastenyoung1989_airmass(elevation_deg))
    zenith_transmittance = _fraction("zenith_transmittance", zenith_transmittance)
    return _out(np.exp(airmass * np.log(zenith_transmittance)))


def downlink_transmittance(
    slant_range_m,
    elevation_deg,
    *,
    wavelength_m,
    tx_aperture_m=None,
    divergence_rad=None,
    rx_aperture_m,
    pointing_jitter_rad=0.0,
    zenith_transmittance=1.0,
    receiver_efficiency=1.0,
):
    """Total single-photon transmittance of a satellite-to-ground downlink.

    Parameters
    ----------
    slant_range_m : float or array_like
        Satellite-to-station distance. [m]
    elevation_deg : float or array_like
        Elevation of the satellite seen from the station, in [0, 90]. [deg]
    wavelength_m : float or array_like
        Optical wavelength. [m]
    tx_aperture_m, divergence_rad : float or array_like, optional
        Exactly one: transmitter aperture diameter [m] (diffraction-limited beam)
        or far-field 1/e^2 half-angle divergence [rad].
    rx_aperture_m : float or array_like
        Receiver telescope diameter. [m]
    pointing_jitter_rad : float or array_like, optional
        Per-axis standard deviation of the pointing error. [rad]
    zenith_transmittance : float or array_like, optional
        Atmospheric transmittance at the zenith. [-]
    receiver_efficiency : float or array_like, optional
        Everything else, lumped: transmitter and receiver optics, and the detector
        efficiency if the caller wants it inside the channel. [-]

    Returns
    -------
    float or numpy.ndarray
        Product of diffraction, pointing, atmospheric and receiver factors. [-]

    Notes
    -----
    Link budget of Bourgoin et al., New J. Phys. 15, 023006 (2013),
    doi:10.1088/1367-2630/15/2/023006: the factors are independent and multiply.
    """
    w = np.asarray(
        beam_radius_m(
            slant_range_m,
            wavelength_m=wavelength_m,
            tx_aperture_m=tx_aperture_m,
            divergence_rad=divergence_rad,
        )
    )
    rx = _array("rx_aperture_m", rx_aperture_m, positive=True)
    jitter = _array("pointing_jitter_rad", pointing_jitter_rad, nonnegative=True)
    w_long_term = np.sqrt(w**2 + 4.0 * (jitter * np.asarray(slant_range_m, dtype=float)) ** 2)
    geometric = _captured_fraction(rx, w_long_term)
    atmosphere = np.asarray(atmospheric_transmittance(elevation_deg, zenith_transmittance))
    receiver = _fraction("receiver_efficiency", receiver_efficiency)
    return _out(geometric * atmosphere * receiver)


def downlink_loss_db(
    slant_range_m,
    elevation_deg,
    *,
    wavelength_m,
    tx_aperture_m=None,
    divergence_rad=None,
    rx_aperture_m,
    pointing_jitter_rad=0.0,
    zenith_transmittance=1.0,
    receiver_efficiency=1.0,
):
    """Downlink loss in decibels, ``-10 log10`` of :func:`downlink_transmittance`.

    Takes the same parameters as :func:`downlink_transmittance`; meant for
    reports and plots (inside the code, work with transmittances).

    Returns
    -------
    float or numpy.ndarray
        Loss, positive. [dB]
    """
    transmittance = downlink_transmittance(
        slant_range_m,
        elevation_deg,
        wavelength_m=wavelength_m,
        tx_aperture_m=tx_aperture_m,
        divergence_rad=divergence_rad,
        rx_aperture_m=rx_aperture_m,
        pointing_jitter_rad=pointing_jitter_rad,
        zenith_transmittance=zenith_transmittance,
        receiver_efficiency=receiver_efficiency,
    )
    return _out(-10.0 * np.log10(np.asarray(transmittance)))
