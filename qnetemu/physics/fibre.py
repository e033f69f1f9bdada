"""Optical fibre: attenuation, transmittance and propagation delay.

Pure, vectorised functions of numpy arrays. Lengths are in km (the unit
planners think in), losses in dB only where the name says so, times in s.
"""

from __future__ import annotations

import numpy as np

from qnetemu.constants import SPEED_OF_LIGHT_IN_FIBRE_M_PER_S

__all__ = [
    "db_to_transmittance",
    "fibre_delay_s",
    "fibre_loss_db",
    "fibre_transmittance",
    "transmittance_to_db",
]


def _checked(
    value,
    name: str,
    *,
    lower: float | None = None,
    upper: float | None = None,
    lower_open: bool = False,
    upper_open: bool = False,
    allow_inf: bool = False,
) -> np.ndarray:
    """Return ``value`` as a float array, raising ValueError if it is invalid.

    Shared by the physics modules so that every function rejects NaN and
    out-of-range input with a message that names the argument.
    """
    arr = np.asarray(value, dtype=float)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {_first(arr, np.isinf(arr))}")
    if lower is not None:
        bad = arr <= lower if lower_open else arr < lower
        if bad.any():
            rel = ">" if lower_open else ">="
            raise ValueError(f"{name} must be {rel} {lower}, got {_first(arr, bad)}")
    if upper is not None:
        bad = arr >= upper if upper_open else arr > upper
        if bad.any():
            rel = "<" if upper_open else "<="
            raise ValueError(f"{name} must be {rel} {upper}, got {_first(arr, bad)}")
    return arr


def _first(arr: np.ndarray, mask: np.ndarray) -> float:
    return float(arr[mask].flat[0])


def _out(arr: np.ndarray):
    """Return a numpy scalar for 0-d results and the array otherwise."""
    return arr[()] if arr.ndim == 0 else arr


def db_to_transmittance(loss_db):
    """Convert a loss in decibels to a power transmittance.

    Parameters
    ----------
    loss_db : array_like
        Loss, >= 0; ``inf`` (a cut fibre) gives 0. [dB]

    Returns
    -------
    transmittance : numpy.ndarray or numpy.float64
        Fraction of the power that gets through, in [0, 1]. [-]

    Notes
    -----
    :math:`t = 10^{-L/10}`, the definition of the decibel.
    """
    loss = _checked(loss_db, "loss_db", lower=0.0, allow_inf=True)
    return _out(np.power(10.0, -loss / 10.0))


def transmittance_to_db(transmittance):
    """Convert a power transmittance to a loss in decibels.

    Parameters
    ----------
    transmittance : array_like
        Fraction of the power that gets through, in (0, 1]. [-]

    Returns
    -------
    loss_db : numpy.ndarray or numpy.float64
        Loss, >= 0. [dB]

    Notes
    -----
    :math:`L = -10 \\log_{10} t`.
    """
    t = _checked(transmittance, "transmittance", lower=0.0, lower_open=True, upper=1.0)
    # -0.0 for t == 1 reads badly in reports; adding 0.0 turns it into +0.0.
    return _out(-10.0 * np.log10(t) + 0.0)


def fibre_loss_db(length_km, attenuation_db_per_km, extra_loss_db=0.0):
    """Total loss of a fibre span.

    Parameters
    ----------
    length_km : array_like
        Fibre length, >= 0. [km]
    attenuation_db_per_km : array_like
        Attenuation coefficient, >= 0 (about 0.2 for SMF-28 at 1550 nm,
        0.16 for ultra-low-loss fibre). [dB/km]
    extra_loss_db : array_like, optional
        Lumped losses (connectors, splices, multiplexers, receiver optics),
        >= 0. [dB]

    Returns
    -------
    loss_db : numpy.ndarray or numpy.float64
        :math:`\\alpha L + L_\\mathrm{extra}`. [dB]
    """
    length = _checked(length_km, "length_km", lower=0.0)
    alpha = _checked(attenuation_db_per_km, "attenuation_db_per_km", lower=0.0)
    extra = _checked(extra_loss_db, "extra_loss_db", lower=0.0)
    return _out(np.asarray(alpha * length + extra))


def fibre_transmittance(length_km, attenuation_db_per_km, extra_loss_db=0.0):
    """Power transmittance of a fibre span.

    Parameters
    ----------
    length_km : array_like
        Fibre length, >= 0. [km]
    attenuation_db_per_km : array_like
        Attenuation coefficient, >= 0. [dB/km]
    extra_loss_db : array_like, optional
        Lumped losses, >= 0. [dB]

    Returns
    -------
    transmittance : numpy.ndarray or numpy.float64
        :math:`10^{-(\\alpha L + L_\\mathrm{extra})/10}`, in (0, 1]. [-]
    """
    return db_to_transmittance(fibre_loss_db(length_km, attenuation_db_per_km, extra_loss_db))


def fibre_delay_s(length_km):
    """One-way propagation delay of light in standard single-mode fibre.

    Parameters
    ----------
    length_km : array_like
        Fibre length, >= 0. [km]

    Returns
    -------
    delay_s : numpy.ndarray or numpy.float64
        :math:`L n_g / c` with the group index
        :data:`qnetemu.constants.FIBRE_GROUP_INDEX` (1.468, Corning SMF-28
        datasheet at 1550 nm): about 4.9 us per km. [s]
    """
    length = _checked(length_km, "length_km", lower=0.0)
    return _out(length * 1e3 / SPEED_OF_LIGHT_IN_FIBRE_M_PER_S)
