"""Named parameter sets for QKD devices.

A preset is a plain dict; look one up with :func:`qkd_device_preset` and pass
its physics entries to the rate functions of :mod:`qnetemu.physics.qkd`::

    p = qkd_device_preset("gys2005")
    t = fibre_transmittance(50.0, p["attenuation_db_per_km"])
    bits_per_pulse = bb84_decoy_ma2005(
        t, mu=p["mu"], nu=p["nu"], detector_efficiency=p["detector_efficiency"],
        dark_count_prob=p["dark_count_prob"],
        misalignment_error=p["misalignment_error"], ec_efficiency=p["ec_efficiency"])
    rate_hz = bits_per_pulse * p["repetition_rate_hz"]
"""

from __future__ import annotations

import copy

__all__ = ["QKD_DEVICE_PRESETS", "qkd_device_preset"]

#: QKD device presets. Every preset has exactly these keys:
#:
#: ``protocol``
#:     ``"decoy_bb84"``: BB84 with a signal (``mu``), a weak decoy (``nu``) and
#:     a vacuum decoy, evaluated with :func:`qnetemu.physics.qkd.bb84_decoy_ma2005`.
#: ``repetition_rate_hz``
#:     Pulse (clock) rate of the source. [Hz]
#: ``detector_efficiency``
#:     Bob's detection efficiency including his optics. [-]
#: ``dark_count_prob``
#:     Dark/background click probability per pulse, Y0. [-]
#: ``misalignment_error``
#:     Intrinsic error probability e_d of the optics. [-]
#: ``ec_efficiency``
#:     Error-correction inefficiency f (>= 1). [-]
#: ``mu``, ``nu``
#:     Signal and weak-decoy mean photon numbers. [-]
#: ``attenuation_db_per_km``
#:     Fibre attenuation the device was characterised with. [dB/km]
#: ``source``
#:     Where the numbers come from.
#:
#: ``"gys2005"``
#:     The GYS experiment (Gobby, Yuan, Shields, Appl. Phys. Lett. 84, 3762
#:     (2004), https://doi.org/10.1063/1.1738173) as parametrised by Ma, Qi,
#:     Zhao, Lo, Phys. Rev. A 72, 012326 (2005), Table I: detector efficiency
#:     4.5 %, Y0 = 1.7e-6, e_d = 3.3 %, 0.21 dB/km, f = 1.22. mu = 0.48 is the
#:     optimum signal intensity for these parameters (the value Ma et al.
#:     2005 report; :func:`bb84_infinite_decoy` reproduces it, with an
#:     optimum of 0.475-0.486 between 0 and 100 km); nu = 0.05 is a weak decoy for
#:     which vacuum + weak reaches within about 1 km of the infinite-decoy
#:     distance (142 km). The 2 MHz clock is that of the GYS set-up.
#: ``"commercial_decoy_bb84"``
#:     Representative, not a datasheet: a GHz-clocked decoy-BB84 system with
#:     gated (self-differencing) InGaAs avalanche photodiodes, of the kind
#:     built by Toshiba Research Europe (A. R. Dixon et al., Opt. Express 16,
#:     18790 (2008), https://doi.org/10.1364/OE.16.018790; M. Lucamarini et
#:     al., Opt. Express 21, 24550 (2013),
#:     https://doi.org/10.1364/OE.21.024550) and deployed in metropolitan
#:     networks. The values lie in the ranges those papers report for such
#:     systems (1 GHz clock, detector efficiency of order 20 %, dark plus
#:     afterpulse probability of order 1e-6 to 1e-5 per gate, e_d of 1-2 %)
#:     but are not copied from one table; check a vendor's figures before
#:     using them for a procurement decision.
#: ``"toshiba_tokyo2015"``
#:     Model of Toshiba's prototype on the Tokyo QKD Network (J. F. Dynes et
#:     al., "High speed prototype quantum key distribution system and long
#:     term field trial", Opt. Express 23, 7583 (2015),
#:     https://doi.org/10.1364/OE.23.007583): 878 Gbit of secret key in 34
#:     days over an installed 45 km link, about 300 kbit/s, with decoy
#:     states, an efficient (biased-basis) protocol and finite-key analysis at
#:     epsilon = 1e-10. The 1 GHz clock and self-differencing InGaAs detectors
#:     are the paper's; detector efficiency (16 %), dark count, afterpulse and
#:     misalignment values and the basis/intensity probabilities are ours,
#:     chosen in the usual ranges of such systems so that the Lim et al.
#:     (2014) finite key with blocks of 1e8 detections gives the reported
#:     300 kbit/s at the link's 14.5 dB (the loss reported for this Tokyo
#:     link by Dynes et al., Opt. Express 20, 16339 (2012)). A model tuned to
#:     one published point, not a datasheet.
#: ``"idq_cerberis_class"``
#:     ID Quantique-class link (the hardware RoNaQCI deployed), calibrated to
#:     one published point: N. Walenta et al., "A fast and versatile quantum
#:     key distribution system with hardware key distillation and wavelength
#:     multiplexing", New J. Phys. 16, 013047 (2014),
#:     https://doi.org/10.1088/1367-2630/16/1/013047, a system built by the
#:     University of Geneva with idQuantique SA (co-authors). Its abstract
#:     gives a 625 MHz clock, the coherent-one-way (COW) protocol, fast gated
#:     InGaAs detectors, classical channels wavelength-multiplexed on the one
#:     fibre, a finite-key analysis at epsilon_QKD = 4e-9, and secret keys
#:     "with a rate above 21 kbps over 25 km of optical fibre" (the arXiv
#:     version, 1309.2583v2, says instead "with rates up to 140 kbps and over
#:     25 km", which does not place 140 kbps at a distance; we use the
#:     journal's point and do not reproduce the 140). qnetemu does not model
#:     COW, so this is the closest protocol it does model, decoy BB84 with the
#:     finite key of Lim et al. (2014): the paper's clock and epsilon (eps_sec
#:     + eps_cor = 4e-9), 25 km taken as 5 dB (0.2 dB/km, our assumption).
#:     Gated InGaAs receivers at short range are limited by their dead time,
#:     not their efficiency, so the model has a detector dead time
#:     (non-paralyzable, shared by the detectors; see
#:     :func:`qnetemu.physics.qkd.dead_time_live_fraction`) and one fitted
#:     number: the dead time, 6.0 us, which gives 21.4 kbit/s at 5 dB. Assumed,
#:     not the paper's (its detector table could not be retrieved here): a
#:     detection efficiency of 10 %, the lowest standard setting of gated
#:     InGaAs detectors of this class (ID Quantique's ID210 and ID230 offer
#:     settings of about 10-25 %, and adjustable dead times from about a
#:     microsecond to 100 us, so 6 us lies inside; datasheets not checked
#:     here); dark count 2e-6 and afterpulse 2 % per gate, e_d = 1 %,
#:     f = 1.15, blocks of 1e6 detections, 0.2 ns effective gate, mu, nu and
#:     the basis and intensity probabilities, all in the usual ranges. With
#:     that dead time the receiver is saturated at short range: about 1/tau =
#:     167 kHz of clicks and a key rate that falls only from 23.1 kbit/s at
#:     0 km to 21.4 kbit/s at 25 km and 18.1 kbit/s at 60 km, then with the
#:     loss to its reach of 129.6 km of 0.2 dB/km fibre (25.9 dB; at the
#:     reach the dead time no longer matters, the efficiency and the dark
#:     count do). A model calibrated to one point, not a datasheet: the reach
#:     rests on the assumed efficiency and dark count. (The previous
#:     calibration, without dead time, fitted an effective efficiency of
#:     0.38 % and reached only 58.6 km.)
#: ``"tf_lucamarini2018"``
#:     Phase-matching twin-field link (``protocol: tf_pm``) with hardware of
#:     the kind Lucamarini, Yuan, Dynes, Shields (Nature 557, 400 (2018),
#:     https://doi.org/10.1038/s41586-018-0066-6) call realistic: InGaAs-class
#:     detectors of 30 % efficiency with 1e-8 dark counts per gate, 3 %
#:     interference error, f = 1.15, 16 phase slices, 1 GHz. Values assumed
#:     (their parameter list could not be read here; a third-party reading of
#:     it, RoyalTeng/AI4QKD ``docs/literature/TF-QKD.md`` section 5, gives the
#:     same detectors, f and M, dark counts of 10 Hz, i.e. 1e-8 in a 1 ns gate,
#:     and a 1 % optical error to which their phase-slice error of 1.28 % adds:
#:     2.25 %, with which the crossing below with 1/M sifting would be 329 km
#:     rather than 336 km). With the PM-QKD rate of Ma,
#:     Zeng, Zhou (2018), which keeps the 2/M of pulse pairs whose phase
#:     slices match or differ by pi, this hardware crosses the repeaterless
#:     PLOB bound of the fibre at 305 km of 0.2 dB/km fibre (253 km against
#:     PLOB of fibre and detectors). Keeping only the 1/M of pairs with the
#:     same slice (Lucamarini's "twins") halves the key and moves the crossing
#:     to 336 km, consistent with the ~340 km they report; see
#:     :mod:`qnetemu.physics.twin_field`.
#: ``"tf_liu2023_class"``
#:     Twin-field testbed of the class of Liu et al., "Experimental
#:     twin-field quantum key distribution over 1000 km fiber distance", Phys.
#:     Rev. Lett. 130, 210801 (2023), https://doi.org/10.1103/PhysRevLett.130.210801,
#:     with their protocol: sending-or-not-sending with actively odd-parity
#:     pairing (``protocol: tf_sns``, ``aopp: true``;
#:     :func:`qnetemu.physics.twin_field.tf_sns_aopp_xu2020`), asymptotic.
#:     Hardware of their class, values assumed (their parameter table could
#:     not be read here): ultra-low-loss fibre (0.157 dB/km), superconducting
#:     detectors of 60 % efficiency with 1e-11 dark counts per window (their
#:     abstract: system noise about 0.02 Hz), e_d = 3 %, f = 1.16, 1 GHz;
#:     mu = 0.5 and sending_prob = 0.28 are the optimum of the AOPP rate
#:     between 300 and 1,000 km. Key at 1,002 km: 7.2e-11 bit per pulse, 7.5x
#:     the 9.53e-12 they report (asymptotic) with their own parameters, and
#:     reach 1,068 km; the same hardware without AOPP (``tf_sns_snspd_class``)
#:     stops at 983 km. A model of the class, not of their key rate.
#: ``"mdi_xu2013"``
#:     MDI-QKD (``protocol: mdi_decoy``) with the practical parameters of Xu,
#:     Curty, Qi, Lo, New J. Phys. 15, 113007 (2013): detector efficiency
#:     14.5 %, dark count 3e-6, misalignment 1.5 %, f = 1.16; infinite decoys,
#:     1 GHz clock assumed. Reach about 220 km at 0.2 dB/km.
#: ``"cv_jouguet2013"``
#:     GG02 CV-QKD with reverse reconciliation (``protocol: cv_gg02``) with the
#:     detection of Jouguet et al., Nat. Photonics 7, 378 (2013),
#:     https://doi.org/10.1038/nphoton.2013.63: homodyne efficiency 0.606,
#:     electronic noise 0.041 shot-noise units, reconciliation efficiency
#:     0.95; excess noise 0.01 and modulation variance 4 assumed, 1 MHz symbol
#:     rate. Asymptotic; the 16.5 dB loss budget is the 80.5 km they
#:     demonstrated (the asymptotic formula with fixed excess noise would
#:     reach much further than any system does).
QKD_DEVICE_PRESETS: dict[str, dict] = {
    "gys2005": {
        "protocol": "decoy_bb84",
        "repetition_rate_hz": 2.0e6,
        "detector_efficiency": 0.045,
        "dark_count_prob": 1.7e-6,
        "misalignment_error": 0.033,
        "ec_efficiency": 1.22,
        "mu": 0.48,
        "nu": 0.05,
        "attenuation_db_per_km": 0.21,
        "source": (
            "Ma, Qi, Zhao, Lo, Phys. Rev. A 72, 012326 (2005), Table I (GYS: Gobby, "
            "Yuan, Shields, Appl. Phys. Lett. 84, 3762 (2004)); mu at the paper's optimum"
        ),
    },
    "commercial_decoy_bb84": {
        "protocol": "decoy_bb84",
        "repetition_rate_hz": 1.0e9,
        "detector_efficiency": 0.20,
        "dark_count_prob": 5.0e-6,
        "misalignment_error": 0.015,
        "ec_efficiency": 1.16,
        "mu": 0.45,
        "nu": 0.10,
        "attenuation_db_per_km": 0.20,
        "source": (
            "Representative GHz decoy-BB84 with self-differencing InGaAs APDs, values in the "
            "ranges of Dixon et al., Opt. Express 16, 18790 (2008) and Lucamarini et al., "
            "Opt. Express 21, 24550 (2013); not a vendor datasheet"
        ),
    },
    "toshiba_tokyo2015": {
        "protocol": "decoy_bb84",
        "repetition_rate_hz": 1.0e9,
        "detector_efficiency": 0.16,
        "dark_count_prob": 1.0e-5,
        "afterpulse_prob": 0.03,
        "misalignment_error": 0.015,
        "ec_efficiency": 1.16,
        "mu": 0.40,
        "nu": 0.19,
        "attenuation_db_per_km": 0.20,
        "gate_width_s": 1.0e-10,
        "key_model": "finite",
        "finite_key": {"block_detections": 1.0e8, "p_x": 0.9, "p_mu": 0.56, "p_nu": 0.33, "omega": 0.0,
                       "eps_sec": 1.0e-10, "eps_cor": 1.0e-15},
        "source": (
            "Model tuned to Dynes et al., Opt. Express 23, 7583 (2015): ~300 kbit/s over the installed 45 km "
            "(14.5 dB) Tokyo link with finite key, eps = 1e-10; device values assumed, not a datasheet"
        ),
    },
    "idq_cerberis_class": {
        "protocol": "decoy_bb84",
        "repetition_rate_hz": 625.0e6,
        "detector_efficiency": 0.10,
        "detector_dead_time_s": 6.0e-6,
        "dark_count_prob": 2.0e-6,
        "afterpulse_prob": 0.02,
        "misalignment_error": 0.01,
        "ec_efficiency": 1.15,
        "mu": 0.45,
        "nu": 0.15,
        "attenuation_db_per_km": 0.20,
        "gate_width_s": 2.0e-10,
        "key_model": "finite",
        "finite_key": {"block_detections": 1.0e6, "p_x": 0.8, "p_mu": 0.5, "p_nu": 0.35, "omega": 0.0,
                       "eps_sec": 4.0e-9 - 1.0e-15, "eps_cor": 1.0e-15},
        "source": (
            "Calibrated to Walenta et al., New J. Phys. 16, 013047 (2014) (UNIGE with idQuantique SA): 625 MHz "
            "COW, finite key at eps = 4e-9, above 21 kbit/s over 25 km (5 dB assumed); decoy-BB84 stand-in for COW "
            "with one fitted value (detector dead time 6.0 us, saturating the receiver at short range), detection "
            "efficiency 10 % and the rest assumed; not a datasheet"
        ),
    },
    "tf_lucamarini2018": {
        "protocol": "tf_pm",
        "repetition_rate_hz": 1.0e9,
        "detector_efficiency": 0.30,
        "dark_count_prob": 1.0e-8,
        "misalignment_error": 0.03,
        "ec_efficiency": 1.15,
        "mu": 0.12,
        "phase_slices": 16,
        "attenuation_db_per_km": 0.20,
        "source": (
            "Hardware of the kind Lucamarini et al., Nature 557, 400 (2018) call realistic (values assumed); "
            "PM-QKD rate of Ma, Zeng, Zhou, PRX 8, 031043 (2018)"
        ),
    },
    "tf_liu2023_class": {
        "protocol": "tf_sns",
        "aopp": True,
        "repetition_rate_hz": 1.0e9,
        "detector_efficiency": 0.60,
        "dark_count_prob": 1.0e-11,
        "misalignment_error": 0.03,
        "ec_efficiency": 1.16,
        "mu": 0.5,
        "sending_prob": 0.28,
        "attenuation_db_per_km": 0.157,
        "source": (
            "Class of Liu et al., PRL 130, 210801 (2023) (1002 km, ultra-low-loss fibre, SNSPDs) with their protocol, "
            "sending-or-not-sending with AOPP (Xu et al., PRA 101, 042330 (2020)), asymptotic; hardware values "
            "assumed; a model, not their key rate"
        ),
    },
    "mdi_xu2013": {
        "protocol": "mdi_decoy",
        "repetition_rate_hz": 1.0e9,
        "detector_efficiency": 0.145,
        "dark_count_prob": 3.0e-6,
        "misalignment_error": 0.015,
        "ec_efficiency": 1.16,
        "mu": 0.5,
        "attenuation_db_per_km": 0.20,
        "source": "Xu, Curty, Qi, Lo, New J. Phys. 15, 113007 (2013) practical parameters; 1 GHz clock assumed",
    },
    "cv_jouguet2013": {
        "protocol": "cv_gg02",
        "repetition_rate_hz": 1.0e6,
        "detector_efficiency": 0.606,
        "electronic_noise": 0.041,
        "reconciliation_efficiency": 0.95,
        "excess_noise": 0.01,
        "modulation_variance": 4.0,
        "max_loss_db": 16.5,
        "attenuation_db_per_km": 0.20,
        "source": (
            "Detection of Jouguet et al., Nat. Photonics 7, 378 (2013) (eta 0.606, v_el 0.041, beta 0.95, "
            "80.5 km); excess noise and modulation assumed; asymptotic"
        ),
    },
}


#: Sending-or-not-sending twin-field presets (``protocol: tf_sns``), kept in
#: their own block:
#:
#: ``"tf_sns_snspd_class"``
#:     Sending-or-not-sending (Wang, Yu, Hu, PRA 98, 062323 (2018)) on the
#:     hardware class of Liu et al., PRL 130, 210801 (2023): ultra-low-loss
#:     fibre (0.157 dB/km), superconducting detectors of about 60 %
#:     efficiency with dark counts of order 1e-11 per window, e_d = 3 %,
#:     f = 1.16, 1 GHz. mu = 0.45 and sending_prob = 0.04 are the optimum of
#:     :func:`qnetemu.physics.twin_field.tf_sns_wang2018` between 300 and
#:     800 km. A model, not their key rate: without the actively odd-parity
#:     pairing (AOPP) Liu et al. add, this asymptotic rate has key to about
#:     980 km, short of their 1,002 km (9.53e-12 bit per pulse there with
#:     AOPP); ``tf_liu2023_class``, the same hardware with AOPP, reaches it.
QKD_DEVICE_PRESETS.update({
    "tf_sns_snspd_class": {
        "protocol": "tf_sns",
        "repetition_rate_hz": 1.0e9,
        "detector_efficiency": 0.60,
        "dark_count_prob": 1.0e-11,
        "misalignment_error": 0.03,
        "ec_efficiency": 1.16,
        "mu": 0.45,
        "sending_prob": 0.04,
        "attenuation_db_per_km": 0.157,
        "source": (
            "Sending-or-not-sending (Wang, Yu, Hu, PRA 98, 062323 (2018)), asymptotic, no AOPP, on the hardware "
            "class of Liu et al., PRL 130, 210801 (2023); a model, not their key rate"
        ),
    },
})


def qkd_device_preset(name: str) -> dict:
    """Return a copy of one entry of :data:`QKD_DEVICE_PRESETS`.

    Parameters
    ----------
    name : str
        Preset name, e.g. ``"gys2005"``.

    Returns
    -------
    preset : dict
        A deep copy, so callers may modify it freely.

    Raises
    ------
    KeyError
        If there is no such preset; the message names the dict and lists the
        available names.
    """
    try:
        return copy.deepcopy(QKD_DEVICE_PRESETS[name])
    except KeyError:
        available = ", ".join(sorted(QKD_DEVICE_PRESETS))
        raise KeyError(
            f"no QKD device preset {name!r} in QKD_DEVICE_PRESETS; available: {available}"
        ) from None
