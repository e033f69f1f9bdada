"""The analytic engine refuses, in one line and before allocating, a chain whose grid laws would not fit.

A repeater chain with one long sea crossing (one elementary link between landing points, no station
at sea) among many unequal land links needs a fine grid (the land links' attempt period) that is long
enough for the slow link (1 / p attempts), for every distinct sub-chain of the nested tree.
"""

from __future__ import annotations

import tracemalloc

import pytest
from repeater_chain_values import make_chain, make_hardware

from qnetemu.engines.chain import ProtocolNotSupported, RepeaterProtocol
from qnetemu.engines.repeater_analytic import _MAX_GRID_BYTES, AnalyticChainEngine, _grid_bytes

NESTED = RepeaterProtocol("nested", "continuous", "instant", "single")


def test_slow_link_among_unequal_ones_is_refused_before_allocating():
    """20 land links of 40..59 km and one 230 km crossing: p = 1/2 x 10^-4.6 = 1.3e-5 per attempt, so
    a grid of 4,194,304 points for each of the tree's ~40 distinct sub-chains: 48 bytes x 4.2e6 x 40,
    about 7.5 GiB, above the 2 GiB budget."""
    chain = make_chain([40.0 + i for i in range(20)] + [230.0], make_hardware(coherence_time_s=1.0),
                       protocol=NESTED)
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolNotSupported, match=r"GiB.*use the montecarlo engine") as info:
            AnalyticChainEngine().simulate(chain, seed=0, max_pairs=1, max_time_s=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20  # refused from the tree's shape, before one 32 MiB grid array is filled
    assert info.value.field == "repeater.memory"
    assert "4,194,304 grid points" in info.value.message


def test_budget_counts_three_arrays_twice():
    assert _grid_bytes(1 << 20, 10) == 2 * 3 * 8 * (1 << 20) * 10
    assert _grid_bytes(1 << 23, 5) < _MAX_GRID_BYTES < _grid_bytes(1 << 23, 6)
