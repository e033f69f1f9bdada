"""Numbers as people read them in the tables."""

import pytest

from qnetemu.formatting import format_latency, format_rate


@pytest.mark.parametrize(("bps", "text"), [
    (0.0, "0"), (None, "-"), (float("nan"), "-"), (0.0123, "0.0123 bit/s"), (419.2, "419 bit/s"),
    (57_034.0, "57 kbit/s"), (1.85e6, "1.85 Mbit/s"), (2.5e9, "2.5 Gbit/s"),
])
def test_format_rate(bps, text):
    assert format_rate(bps) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0.00306, "3.06 ms"), (42.0, "42 s"), (600.0, "10 min"), (85_320.0, "23.7 h"),
    (float("inf"), "never"), (float("nan"), "-"),
])
def test_format_latency(seconds, text):
    assert format_latency(seconds) == text
