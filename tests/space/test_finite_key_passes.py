"""Finite-key satellite passes: a pass (or several pooled) is one block of Lim et al. (2014).

A constant-geometry pass has closed-form counts (rate x duration), so the
pass key must equal lim2014_key_length of those counts; pooling passes into
one block must give more key than the passes alone (the fixed costs and the
sqrt(n) fluctuations weigh less), and always less than the asymptotic key.
"""

from __future__ import annotations

import numpy as np
from numpy.testing import assert_allclose
from test_services import _synthetic_pass  # tests/space is on sys.path (pytest prepend import mode)

from qnetemu.physics.finite_key import FiniteKeyProtocol, bb84_expected_counts, lim2014_key_length
from qnetemu.space.services import (
    MICIUS_BB84_PAYLOAD,
    XINGLONG_STATION,
    key_over_passes,
    key_per_pass,
)

PROTOCOL = FiniteKeyProtocol(eps_sec=1e-10, eps_cor=1e-15, p_x=0.7, p_mu=0.6, p_nu=0.3, omega=0.0)


def _pass(duration_s=300.0, range_m=800e3, start_s=0.0):
    t = np.linspace(start_s, start_s + duration_s, 31)
    return _synthetic_pass(t, np.full(31, 50.0), np.full(31, range_m))


def test_constant_pass_key_is_lim2014_of_rate_times_duration():
    p = _pass()
    keys = key_over_passes([p], payload=MICIUS_BB84_PAYLOAD, station=XINGLONG_STATION, ec_efficiency=1.16,
                           finite_key=PROTOCOL)
    asym = key_per_pass(p, payload=MICIUS_BB84_PAYLOAD, station=XINGLONG_STATION, ec_efficiency=1.16)
    from qnetemu.space.services import _channel_transmittance

    t = float(_channel_transmittance(p.slant_range_m[:1], p.elevation_deg[:1], MICIUS_BB84_PAYLOAD,
                                     XINGLONG_STATION)[0])
    counts = bb84_expected_counts(t, MICIUS_BB84_PAYLOAD.repetition_rate_hz * 300.0, mu=0.8, nu=0.1, omega=0.0,
                                  p_mu=0.6, p_nu=0.3, p_x=0.7, detector_efficiency=XINGLONG_STATION.detector_efficiency,
                                  dark_count_prob=XINGLONG_STATION.dark_count_prob, misalignment_error=0.01,
                                  afterpulse_prob=0.0)
    expected = lim2014_key_length(*counts, intensities=np.array([0.8, 0.1, 0.0]),
                                  probabilities=np.array([0.6, 0.3, 0.1]), ec_efficiency=1.16, eps_sec=1e-10,
                                  eps_cor=1e-15)
    assert expected > 0
    assert_allclose(keys[0]["key_bits"], expected, rtol=1e-9)
    assert keys[0]["key_bits"] < asym["key_bits"]
    assert keys[0]["asymptotic_key_bits"] == asym["key_bits"]


def test_pooling_passes_into_one_block_gives_more_key():
    passes = [_pass(start_s=6000.0 * i, range_m=1100e3) for i in range(4)]
    kwargs = dict(payload=MICIUS_BB84_PAYLOAD, station=XINGLONG_STATION, ec_efficiency=1.16, finite_key=PROTOCOL)
    alone = sum(k["key_bits"] for k in key_over_passes(passes, passes_per_block=1, **kwargs))
    pooled = key_over_passes(passes, passes_per_block=4, **kwargs)
    asym = sum(k["key_bits"] for k in key_over_passes(passes, payload=MICIUS_BB84_PAYLOAD,
                                                      station=XINGLONG_STATION, ec_efficiency=1.16))
    assert [k["key_bits"] > 0 for k in pooled] == [False, False, False, True]  # credited when the block closes
    assert alone < pooled[-1]["key_bits"] < asym


def test_incomplete_last_block_gives_nothing():
    passes = [_pass(start_s=6000.0 * i) for i in range(3)]
    keys = key_over_passes(passes, payload=MICIUS_BB84_PAYLOAD, station=XINGLONG_STATION, ec_efficiency=1.16,
                           finite_key=PROTOCOL, passes_per_block=2)
    assert keys[1]["key_bits"] > 0 and keys[2]["key_bits"] == 0.0
