"""Repeaterless capacity bounds of the pure-loss bosonic channel.

Both bounds are in secret-key bits per channel use (per mode); multiply by
the number of modes per second for a rate in bit/s. They are the yardsticks
a repeater must beat.
"""

from __future__ import annotations

import numpy as np

from qnetemu.physics.fibre import _checked, _out

__all__ = ["plob_bound", "tgw_bound"]

_LN2 = np.log(2.0)


def plob_bound(transmittance):
    """PLOB bound: secret-key capacity of the pure-loss channel.

    Parameters
    ----------
    transmittance : array_like
        Channel transmittance :math:`\\eta`, in [0, 1]. [-]

    Returns
    -------
    bits_per_use : numpy.ndarray or numpy.float64
        :math:`-\\log_2(1-\\eta)`; ``inf`` at :math:`\\eta = 1`. [bit]

    Notes
    -----
    Computed as ``-log1p(-eta) / ln 2`` so that it stays accurate for the
    tiny transmittances of long links (about :math:`1.44\\,\\eta` when
    :math:`\\eta \\ll 1`; :math:`\\eta \\approx 10^{-10}` at 500 km of
    0.2 dB/km fibre, where ``1 - eta`` rounds to 1 in plain arithmetic).

    References
    ----------
    S. Pirandola, R. Laurenza, C. Ottaviani, L. Banchi, "Fundamental limits
    of repeaterless quantum communications", Nat. Commun. 8, 15043 (2017),
    Eq. (19). https://doi.org/10.1038/ncomms15043
    """
    eta = _checked(transmittance, "transmittance", lower=0.0, upper=1.0)
    with np.errstate(divide="ignore"):  # eta == 1 is a true infinity
        return _out(-np.log1p(-eta) / _LN2)


def tgw_bound(transmittance):
    """TGW bound: squashed-entanglement upper bound for the pure-loss channel.

    Parameters
    ----------
    transmittance : array_like
        Channel transmittance :math:`\\eta`, in [0, 1]. [-]

    Returns
    -------
    bits_per_use : numpy.ndarray or numpy.float64
        :math:`\\log_2\\frac{1+\\eta}{1-\\eta}`; ``inf`` at
        :math:`\\eta = 1`. About :math:`2.88\\,\\eta` for small
        :math:`\\eta`, twice PLOB. [bit]

    Notes
    -----
    Computed as ``(log1p(eta) - log1p(-eta)) / ln 2`` for accuracy at small
    :math:`\\eta`. It is never below :func:`plob_bound`.

    References
    ----------
    M. Takeoka, S. Guha, M. M. Wilde, "Fundamental rate-loss tradeoff for
    optical quantum key distribution", Nat. Commun. 5, 5235 (2014).
    https://doi.org/10.1038/ncomms6235
    """
    eta = _checked(transmittance, "transmittance", lower=0.0, upper=1.0)
    with np.errstate(divide="ignore"):
        return _out((np.log1p(eta) - np.log1p(-eta)) / _LN2)
