"""Werner-state and Bell-diagonal algebra for repeater chains.

Pure, vectorised functions: fidelity <-> Werner parameter, entanglement
swapping, depolarising storage, BBPSSW and DEJMPS purification, and the
asymptotic BBM92 key fraction of a delivered Werner pair.

A two-qubit Werner state of fidelity ``F`` to the target Bell state is
``rho = w |Phi+><Phi+| + (1 - w) I/4`` with Werner parameter
``w = (4F - 1) / 3``.

Bell-diagonal coefficients are ordered as in Deutsch et al. (1996):
``(A, B, C, D)`` = weights of ``(Phi+, Psi-, Psi+, Phi-)``. (SeQUeNCe's
bell_diagonal formalism orders them ``(Phi+, Phi-, Psi+, Psi-)``, i.e.
``(I, Z, X, Y)``; convert at the adapter.)
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

__all__ = [
    "werner_parameter_from_fidelity",
    "fidelity_from_werner_parameter",
    "werner_swap_fidelity",
    "werner_decohere_fidelity",
    "STORAGE_FLOOR",
    "memory_storage_factor",
    "sequence_coherence_time_s",
    "bbpssw_purify",
    "dejmps_purify",
    "bbm92_qber_werner",
    "bbm92_key_fraction",
    "bbm92_fidelity_threshold",
]


def _as_float(name: str, value, lo: float, hi: float) -> np.ndarray:
    """Array of ``value`` checked to lie in ``[lo, hi]``; NaN is rejected."""
    arr = np.asarray(value, dtype=float)
    if np.any(np.isnan(arr)):
        raise ValueError(f"{name} contains NaN")
    if np.any(arr < lo) or np.any(arr > hi):
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {value!r}")
    return arr


def _out(arr: np.ndarray):
    """Return a Python float for 0-d results, the array otherwise."""
    return float(arr) if np.ndim(arr) == 0 else arr


def werner_parameter_from_fidelity(fidelity):
    """Werner parameter of a Werner state of given fidelity.

    Parameters
    ----------
    fidelity : array_like
        Fidelity to the target Bell state, in [0, 1]. [-]

    Returns
    -------
    w : float or ndarray
        ``w = (4F - 1) / 3``, in [-1/3, 1]. [-]

    References
    ----------
    R. F. Werner, Phys. Rev. A 40, 4277 (1989), doi:10.1103/PhysRevA.40.4277.
    """
    f = _as_float("fidelity", fidelity, 0.0, 1.0)
    return _out((4.0 * f - 1.0) / 3.0)


def fidelity_from_werner_parameter(w):
    """Fidelity of a Werner state, ``F = (1 + 3w) / 4`` (inverse of the above).

    Parameters
    ----------
    w : array_like
        Werner parameter in [-1/3, 1]. [-]

    Returns
    -------
    fidelity : float or ndarray
        Fidelity to the target Bell state. [-]
    """
    arr = _as_float("w", w, -1.0 / 3.0 - 1e-12, 1.0 + 1e-12)
    return _out(np.clip((1.0 + 3.0 * arr) / 4.0, 0.0, 1.0))


def werner_swap_fidelity(f1, f2):
    """Fidelity after an ideal entanglement swap of two Werner pairs.

    Parameters
    ----------
    f1, f2 : array_like
        Fidelities of the two input Werner pairs. [-]

    Returns
    -------
    fidelity : float or ndarray
        ``F = (1 + 3 w1 w2) / 4``: the Werner parameters multiply.

    Notes
    -----
    A Bell measurement on the inner qubits of two Werner pairs leaves a Werner
    pair whose Werner parameter is the product ``w1 w2`` (Briegel, Dür,
    Cirac, Zoller, PRL 81, 5932 (1998), doi:10.1103/PhysRevLett.81.5932;
    Dür et al., PRA 59, 169 (1999), doi:10.1103/PhysRevA.59.169). Equivalently
    ``F = F1 F2 + (1 - F1)(1 - F2) / 3``, which is SeQUeNCe's twirled
    bell_diagonal swap with perfect gates.
    """
    w1 = werner_parameter_from_fidelity(f1)
    w2 = werner_parameter_from_fidelity(f2)
    return fidelity_from_werner_parameter(np.multiply(w1, w2))


def werner_decohere_fidelity(fidelity, storage_time_s, coherence_time_s):
    """Fidelity of a Werner pair after depolarising storage.

    Parameters
    ----------
    fidelity : array_like
        Fidelity when storage starts. [-]
    storage_time_s : array_like
        Storage time, >= 0. [s]
    coherence_time_s : array_like
        Coherence time ``T2`` of the pair, > 0 (``inf`` for a perfect memory). [s]

    Returns
    -------
    fidelity : float or ndarray
        Fidelity after storage; ``w -> w exp(-t / T2)``, tending to 1/4.

    Notes
    -----
    Depolarising channel with rate ``1/T2`` on the pair (Dür et al., PRA 59,
    169 (1999), Sec. V; Brand, Coopmans, Elkouss, IEEE JSAC 38, 589 (2020),
    doi:10.1109/JSAC.2020.2969005, Eq. (4)). A model in which each of the two
    memories depolarises independently at rate ``1/T_mem`` is this one with
    ``T2 = T_mem / 2``.
    """
    w = werner_parameter_from_fidelity(fidelity)
    t = np.asarray(storage_time_s, dtype=float)
    t2 = np.asarray(coherence_time_s, dtype=float)
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"storage_time_s must be >= 0, got {storage_time_s!r}")
    if np.any(np.isnan(t2)) or np.any(t2 <= 0):
        raise ValueError(f"coherence_time_s must be > 0, got {coherence_time_s!r}")
    return fidelity_from_werner_parameter(np.multiply(w, np.exp(-t / t2)))


#: Fraction of a twirled pair's Werner parameter that memory noise never removes:
#: ``g(t) = alpha + (1 - alpha) exp(-2 t / T2)`` (see :func:`memory_storage_factor`).
STORAGE_FLOOR = {"depolarising": 0.0, "dephasing": 1.0 / 3.0}


def memory_storage_factor(storage_time_s, coherence_time_s, decoherence="depolarising"):
    """Factor on a Werner pair's parameter after both memories stored it.

    Parameters
    ----------
    storage_time_s : array_like
        Time both memories have held the pair since it was made (emission) or
        last twirled (a swap), >= 0. [s]
    coherence_time_s : float
        Per-memory coherence time ``T2``: a qubit's coherence (off-diagonal
        element, Bloch-vector transverse part) decays as ``exp(-t / T2)``;
        ``inf`` for a perfect memory. [s]
    decoherence : {"depolarising", "dephasing"}
        Memory noise model.

    Returns
    -------
    factor : float or ndarray
        ``g(t) = alpha + (1 - alpha) exp(-2 t / T2)`` with ``alpha = 0``
        (depolarising) or ``1/3`` (dephasing); the pair's fidelity afterwards
        is ``(1 + 3 w g) / 4``. [-]

    Notes
    -----
    Depolarising memory: ``rho -> l rho + (1 - l) I/2`` with
    ``l = exp(-t / T2)`` on each qubit, so a Werner pair's parameter falls as
    ``w l^2 = w exp(-2 t / T2)`` (Dür, Briegel, Cirac, Zoller, PRA 59, 169
    (1999), Sec. V; Brand, Coopmans, Elkouss, IEEE JSAC 38, 589 (2020),
    Eq. (4), whose pair constant is ``T_coh = T2 / 2``). Dephasing memory: a Z
    flip with probability ``(1 - exp(-t/T2))/2`` per qubit; on a Werner pair
    the Bell weights of Phi+ and Phi- mix with coherence ``exp(-2 t / T2)``,
    so ``F = (1 + w + 2 w exp(-2t/T2)) / 4`` and the twirled Werner parameter
    is ``w (1 + 2 exp(-2 t / T2)) / 3``. Pairs are twirled at each swap
    (SeQUeNCe 1.3.1 ``swapping_bds.py``, ``is_twirled=True``), so the factor
    restarts from each swap.
    """
    if decoherence not in STORAGE_FLOOR:
        raise ValueError(f"decoherence must be depolarising or dephasing, got {decoherence!r}")
    t = np.asarray(storage_time_s, dtype=float)
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"storage_time_s must be >= 0, got {storage_time_s!r}")
    if not coherence_time_s > 0:
        raise ValueError(f"coherence_time_s must be > 0, got {coherence_time_s!r}")
    alpha = STORAGE_FLOOR[decoherence]
    g = alpha + (1.0 - alpha) * np.exp(-2.0 * t / coherence_time_s)
    return _out(g)


def sequence_coherence_time_s(coherence_time_s: float, decoherence: str = "depolarising") -> float:
    """SeQUeNCe 1.3.1's memory ``coherence_time`` for a per-memory T2.

    Parameters
    ----------
    coherence_time_s : float
        Per-memory T2 (:func:`memory_storage_factor`). [s]
    decoherence : {"depolarising", "dephasing"}
        Memory noise model.

    Returns
    -------
    float
        SeQUeNCe's ``coherence_time`` ``T``: its Pauli channel runs at total
        rate ``1/T`` (``components/memory.py``, ``_p_id`` .. ``_p_zerr``).
        Depolarising (X, Y, Z at ``1/(3T)`` each) shrinks the Bloch vector as
        ``exp(-4t/(3T))``: ``T = 4 T2 / 3``. Dephasing (Z only, at ``1/T``)
        shrinks the coherence as ``exp(-2t/T)``: ``T = 2 T2``. [s]
    """
    if decoherence == "depolarising":
        return 4.0 * coherence_time_s / 3.0
    if decoherence == "dephasing":
        return 2.0 * coherence_time_s
    raise ValueError(f"decoherence must be depolarising or dephasing, got {decoherence!r}")


def bbpssw_purify(f1, f2):
    """One BBPSSW recurrence step on two Werner pairs.

    Parameters
    ----------
    f1, f2 : array_like
        Fidelities of the two input Werner pairs. [-]

    Returns
    -------
    fidelity_out : float or ndarray
        Fidelity of the kept pair on success (then twirled back to Werner). [-]
    success_prob : float or ndarray
        Probability that the parities agree and the pair is kept. [-]

    Notes
    -----
    Bennett et al., PRL 76, 722 (1996), doi:10.1103/PhysRevLett.76.722, with
    unequal inputs (Dür & Briegel, Rep. Prog. Phys. 70, 1381 (2007), Eq. 46):

    ``p = F1 F2 + F1(1-F2)/3 + (1-F1)F2/3 + 5(1-F1)(1-F2)/9``,
    ``F' = [F1 F2 + (1-F1)(1-F2)/9] / p``.

    ``F' > min(F1, F2)`` when both exceed 1/2.
    """
    a = _as_float("f1", f1, 0.0, 1.0)
    b = _as_float("f2", f2, 0.0, 1.0)
    ea, eb = 1.0 - a, 1.0 - b
    p = a * b + (a * eb + ea * b) / 3.0 + 5.0 * ea * eb / 9.0
    f_out = (a * b + ea * eb / 9.0) / p
    return _out(f_out), _out(p)


def dejmps_purify(bell_coeffs_1, bell_coeffs_2):
    """One DEJMPS recurrence step on two Bell-diagonal pairs.

    Parameters
    ----------
    bell_coeffs_1, bell_coeffs_2 : array_like, shape (..., 4)
        Bell-diagonal weights ``(A, B, C, D)`` of ``(Phi+, Psi-, Psi+, Phi-)``,
        each non-negative and summing to 1. [-]

    Returns
    -------
    coeffs_out : ndarray, shape (..., 4)
        Weights of the kept pair on success. [-]
    success_prob : float or ndarray
        ``N = (A1 + B1)(A2 + B2) + (C1 + D1)(C2 + D2)``. [-]

    Notes
    -----
    Deutsch et al., PRL 77, 2818 (1996), doi:10.1103/PhysRevLett.77.2818,
    Eq. (8): ``A' = (A1 A2 + B1 B2)/N``, ``B' = (C1 D2 + D1 C2)/N``,
    ``C' = (C1 C2 + D1 D2)/N``, ``D' = (A1 B2 + B1 A2)/N``.
    """
    c1 = np.asarray(bell_coeffs_1, dtype=float)
    c2 = np.asarray(bell_coeffs_2, dtype=float)
    for name, c in (("bell_coeffs_1", c1), ("bell_coeffs_2", c2)):
        if c.shape[-1:] != (4,):
            raise ValueError(f"{name} must have last dimension 4, got shape {c.shape}")
        if np.any(np.isnan(c)) or np.any(c < 0):
            raise ValueError(f"{name} must be non-negative, got {c.tolist()}")
        if not np.allclose(c.sum(axis=-1), 1.0, atol=1e-9):
            raise ValueError(f"{name} must sum to 1, got {c.tolist()}")
    a1, b1, cc1, d1 = np.moveaxis(c1, -1, 0)
    a2, b2, cc2, d2 = np.moveaxis(c2, -1, 0)
    n = (a1 + b1) * (a2 + b2) + (cc1 + d1) * (cc2 + d2)
    out = (
        np.stack(
            [a1 * a2 + b1 * b2, cc1 * d2 + d1 * cc2, cc1 * cc2 + d1 * d2, a1 * b2 + b1 * a2],
            axis=-1,
        )
        / np.asarray(n)[..., None]
    )
    return out, _out(np.asarray(n))


def bbm92_qber_werner(fidelity):
    """QBER of BBM92 on a Werner pair, in either basis.

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity. [-]

    Returns
    -------
    qber : float or ndarray
        ``Q = 2(1 - F)/3``: each of the three wrong Bell states flips the
        outcome in two of the three Pauli bases. [-]
    """
    f = _as_float("fidelity", fidelity, 0.0, 1.0)
    return _out(2.0 * (1.0 - f) / 3.0)


def _h2(p: np.ndarray) -> np.ndarray:
    """Binary entropy in bits, with ``h(0) = h(1) = 0``."""
    p = np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -p * np.log2(p) - (1.0 - p) * np.log2(1.0 - p)
    return np.where((p <= 0.0) | (p >= 1.0), 0.0, h)


def bbm92_key_fraction(fidelity, ec_efficiency=1.0, sifting=0.5):
    """Asymptotic secret bits per delivered Werner pair for BBM92.

    Parameters
    ----------
    fidelity : array_like
        Werner fidelity of the delivered pairs. [-]
    ec_efficiency : float
        Error-correction inefficiency ``f >= 1`` (1 = Shannon limit). [-]
    sifting : float
        Fraction of pairs kept after basis sifting, in (0, 1]. [-]

    Returns
    -------
    key_fraction : float or ndarray
        ``sifting * max(0, 1 - f h(Q) - h(Q))`` with ``Q = 2(1-F)/3``. [bit]

    Notes
    -----
    Bennett, Brassard, Mermin, PRL 68, 557 (1992),
    doi:10.1103/PhysRevLett.68.557, with the Shor-Preskill rate
    (PRL 85, 441 (2000), doi:10.1103/PhysRevLett.85.441); bit and phase error
    rates are equal for a Werner state.
    """
    if not np.isfinite(ec_efficiency) or ec_efficiency < 1.0:
        raise ValueError(f"ec_efficiency must be >= 1, got {ec_efficiency!r}")
    if not (0.0 < sifting <= 1.0):
        raise ValueError(f"sifting must lie in (0, 1], got {sifting!r}")
    h = _h2(np.asarray(bbm92_qber_werner(fidelity)))
    return _out(sifting * np.maximum(0.0, 1.0 - (1.0 + ec_efficiency) * h))


def bbm92_fidelity_threshold(ec_efficiency=1.0):
    """Werner fidelity at which the BBM92 key fraction reaches zero.

    Parameters
    ----------
    ec_efficiency : float
        Error-correction inefficiency ``f >= 1``. [-]

    Returns
    -------
    fidelity : float
        Root of ``1 - (1 + f) h(2(1-F)/3) = 0`` on F in (0.5, 1);
        0.83496 for ``f = 1`` (Q = 11.0 %, Shor-Preskill). [-]
    """
    if not np.isfinite(ec_efficiency) or ec_efficiency < 1.0:
        raise ValueError(f"ec_efficiency must be >= 1, got {ec_efficiency!r}")

    def g(q: float) -> float:
        return 1.0 - (1.0 + ec_efficiency) * float(_h2(np.asarray(q)))

    # g(0) = 1 > 0 and g(0.5) < 0; h is increasing on [0, 1/2].
    q_star = brentq(g, 1e-15, 0.5, xtol=1e-15, rtol=1e-14)
    return 1.0 - 1.5 * q_star
