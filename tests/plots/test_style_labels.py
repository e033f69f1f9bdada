"""Numbers in legends as a reader writes them."""

import pytest

from qnetemu.plots.style import sci_label


@pytest.mark.parametrize(("value", "text"), [
    (6.25e8, "6.25×10⁸"), (1e9, "10⁹"), (4e5, "4×10⁵"), (9.9996e8, "10⁹"), (420.0, "420"), (0.2, "0.2"), (1e3, "10³"), (2e3, "2×10³"),
    (2e-5, "2×10⁻⁵"), (0.0, "0"),
])
def test_sci_label(value, text):
    assert sci_label(value) == text


def test_map_labels_stay_on_the_map(sites, links):
    """A station at the map's right edge (space_demo's OGS Magurele) is labelled to its left, not cut off."""
    from qnetemu.plots import network_map

    edge = sites.copy()
    edge.loc[edge.name == "D", "name"] = "A long station name at the edge"
    lk = links.replace({"D": "A long station name at the edge"})
    fig = network_map.network_map(edge, lk, title="t")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    labels = [t for t in ax.texts if t.get_text() in set(edge.name)]
    assert {t.get_text() for t in labels} >= {"A", "C", "A long station name at the edge", "OGS 1"}
    for text in labels:
        box = text.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, text


def test_narrow_colour_scale_has_several_labelled_ticks(sites, links):
    """RoNaQCI's links span 1.3 decades: a tick per decade alone would label one or two rates."""
    from qnetemu.plots import network_map

    narrow = links.copy()
    narrow["key_rate_bps"] = [2e4, 5e3, 1.2e3, 9e3, 3.0, 2.0]
    fig = network_map.network_map(sites, narrow, title="t")
    fig.canvas.draw()
    bar = fig.axes[-1]
    labels = [t.get_text() for t in bar.get_yticklabels() if t.get_text()]
    assert len(labels) >= 3, labels
    assert "2×10³" in labels or "5×10³" in labels


def test_sweep_draws_no_figure_for_an_axis_of_one_value(tmp_path):
    """The quick EuroQCI study sweeps memory efficiency over one value: no dot-plot, no one-row map."""
    import json

    import pandas as pd

    from qnetemu.plots import draw_sweep

    axes = [{"paths": ["repeater.memory.coherence_time_s"]}, {"paths": ["repeater.placement.spacing_km"]},
            {"paths": ["repeater.memory.efficiency"]}]
    (tmp_path / "sweep.json").write_text(json.dumps({"axes": axes, "scenario_path": "study.yaml"}))
    rows = []
    for t2 in (1.0, 10.0):
        for spacing in (50.0, 100.0):
            for arch, rate in (("trusted_node", 1e4), ("repeater", t2 * 100 / spacing)):
                rows.append({"a": "A", "b": "B", "rep": 0, "architecture": arch, "key_rate_bps": rate,
                             "repeater.memory.coherence_time_s": t2, "repeater.placement.spacing_km": spacing,
                             "repeater.memory.efficiency": 0.99, "fidelity": 0.95 if arch == "repeater" else None})
    pd.DataFrame(rows).to_csv(tmp_path / "demands.csv", index=False)
    names = sorted(p.name for p in draw_sweep(tmp_path))
    assert names == ["crossover_coherence_time_s_spacing_km.png", "rate_vs_repeater_memory_coherence_time_s.png",
                     "rate_vs_repeater_placement_spacing_km.png"]


def test_exposure_keeps_orange_for_satellites():
    """Orange means satellites in every figure: the XOR split is not drawn in it."""
    import matplotlib.colors as mcolors
    import pandas as pd

    from qnetemu.plots import palette, resilience

    holders = pd.DataFrame({"relay_nodes_in_clear": [2, 5], "exposure_probability": [0.02, 0.05],
                            "compromise_probability": [0.01, 0.01]})
    multipath = pd.DataFrame({"relay_nodes": [6, 11], "exposure_probability": [1e-3, 4e-3], "status": ["ok", "ok"],
                              "paths_wanted": [2, 2]})
    fig = resilience.exposure(holders, multipath)
    ax = fig.axes[0]
    by_gid = {c.get_gid(): c for c in ax.collections}
    single = mcolors.to_hex(by_gid["exposure_single"].get_facecolor()[0])
    multi = by_gid["exposure_multipath"]
    assert single == palette.architecture_colour("trusted_node").lower()
    satellite = mcolors.to_rgba(palette.architecture_colour("satellite"))
    assert all(tuple(c) != satellite for c in [*multi.get_edgecolor(), *multi.get_facecolor()])
    assert any("(1 − p)ⁿ" in t.get_text() for t in fig.legends[0].get_texts())
    assert ax.get_legend() is None  # outside the axes: it covered the XOR points
