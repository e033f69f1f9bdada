"""An interactive, self-contained HTML page of a run or sweep: zoomable map, sortable demands, sweep explorer.

Plotly draws the map and the sweep explorer; its JavaScript library (the
copy shipped inside the ``plotly`` Python package) is inlined, so the page
works offline and from a mail attachment. Coastlines come from the same
offline data as the PNG maps. Every name from the scenario is HTML-escaped
before it reaches the page.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from qnetemu.plots import palette

PAGE_NAME = "report-interactive.html"
RATE_CLASSES = 6  # colour classes of the link key rate on the map (plotly lines take one colour per trace)


def _esc(value) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and value != value) else str(value))


def map_figure(sites: pd.DataFrame, links: pd.DataFrame):
    """Plotly map: coastlines, fibre links in key-rate classes, links without key dotted, sites with hover."""
    import matplotlib as mpl
    import plotly.graph_objects as go

    from qnetemu.plots.coastlines import in_box, polylines
    from qnetemu.plots.network_map import map_box, rate_norm

    box = map_box(sites)
    fig = go.Figure()
    xs, ys = [], []
    for kind in ("gshhs", "countries"):
        for xy in in_box(polylines(kind, "l"), (box[0] - 10, box[1] + 10, box[2] - 10, box[3] + 10)):
            xs += list(xy[:, 0]) + [None]
            ys += list(xy[:, 1]) + [None]
    if xs:
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": palette.COAST_COLOUR, "width": 0.6},
                                   hoverinfo="skip", name="coastlines and borders"))
    pos = {r.name: (r.lon_deg, r.lat_deg) for r in sites.itertuples() if pd.notna(r.lat_deg)}
    fibre = links[(links.segment == "fibre") & links.a.isin(pos) & links.b.isin(pos)]
    if "bypassed" in fibre:
        fibre = fibre[fibre["bypassed"].fillna(0) == 0]
    rates = fibre.key_rate_bps.to_numpy(dtype=float)
    norm = rate_norm(rates)
    cmap = mpl.colormaps["viridis"]
    keyed = np.isfinite(rates) & (rates > 0)
    classes = np.full(len(rates), -1)
    if norm is not None:
        classes[keyed] = np.clip((np.asarray(norm(rates[keyed])) * RATE_CLASSES).astype(int), 0, RATE_CLASSES - 1)
    for k in range(-1, RATE_CLASSES):
        sel = fibre[classes == k]
        if not len(sel):
            continue
        lx, ly, text = [], [], []
        for r in sel.itertuples():
            (x1, y1), (x2, y2) = pos[r.a], pos[r.b]
            lx += [x1, x2, None]
            ly += [y1, y2, None]
            label = f"{_esc(r.a)} – {_esc(r.b)}: {r.length_km:,.0f} km, {r.key_rate_bps:.3g} bit/s"
            text += [label, label, None]
        if k < 0:
            name, line = "fibre link without key", {"color": palette.NO_KEY_COLOUR, "width": 1.2, "dash": "dot"}
        else:
            lo, hi = norm.inverse(k / RATE_CLASSES), norm.inverse((k + 1) / RATE_CLASSES)
            name = f"link key rate {lo:.2g}–{hi:.2g} bit/s"
            line = {"color": mpl.colors.to_hex(cmap((k + 0.5) / RATE_CLASSES)), "width": 2}
        fig.add_trace(go.Scatter(x=lx, y=ly, mode="lines", line=line, name=name, text=text, hoverinfo="text"))
    for role, symbol in (("trusted_node", "square"), ("endpoint", "circle"), ("ground_station", "triangle-up")):
        sel = sites[(sites.role == role) & ~sites.get("inserted", pd.Series(False, index=sites.index)).astype(bool)]
        sel = sel[sel.lat_deg.notna()]
        if not len(sel):
            continue
        fig.add_trace(go.Scatter(
            x=sel.lon_deg, y=sel.lat_deg, mode="markers", name=role.replace("_", " "),
            marker={"symbol": symbol, "color": palette.ROLE_COLOURS[role], "size": 5 if role == "trusted_node" else 9,
                    "line": {"color": "white", "width": 0.5}},
            text=[_esc(n) for n in sel.name], hoverinfo="text"))
    lat0 = 0.5 * (box[2] + box[3])
    fig.update_layout(
        title="Network and link key rates (scroll to zoom, drag to pan, click the legend to hide)",
        xaxis={"title": "Longitude [deg]", "range": [box[0], box[1]]},
        yaxis={"title": "Latitude [deg]", "range": [box[2], box[3]], "scaleanchor": "x",
               "scaleratio": 1.0 / max(np.cos(np.radians(lat0)), 0.2)},
        height=650, margin={"l": 60, "r": 20, "t": 50, "b": 50}, template="plotly_white",
        legend={"font": {"size": 10}})
    return fig


def sweep_figure(sweep_demands: pd.DataFrame, params: list[str]):
    """Sweep explorer: repeater and trusted-node key rate (median of demands with key) and share with key vs a chosen parameter."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from qnetemu.plots.sweep import rate_summary

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.06)
    buttons, per_param = [], 0
    archs = [a for a in ("repeater", "trusted_node") if a in set(sweep_demands.architecture)]
    for i, param in enumerate(params):
        for arch in archs:
            s = rate_summary(sweep_demands, param, params, arch)
            colour = palette.architecture_colour(arch)
            label = palette.architecture_label(arch)
            fig.add_trace(go.Scatter(x=s[param], y=s["median"], mode="lines+markers", line={"color": colour},
                                     name=f"{label}: median of demands with key", visible=i == 0,
                                     legendgroup=arch), row=1, col=1)
            fig.add_trace(go.Scatter(x=s[param], y=s["best"], mode="lines", line={"color": colour, "dash": "dot"},
                                     name=f"{label}: best demand", visible=i == 0, legendgroup=arch), row=1, col=1)
            fig.add_trace(go.Scatter(x=s[param], y=100 * s["share"], mode="lines+markers",
                                     line={"color": colour, "dash": "dash"}, name=f"{label}: share with key",
                                     visible=i == 0, legendgroup=arch, showlegend=False), row=2, col=1)
        per_param = 3 * len(archs)
    n = len(params) * per_param
    for i, param in enumerate(params):
        visible = [i * per_param <= k < (i + 1) * per_param for k in range(n)]
        values = sweep_demands[param].dropna().to_numpy(dtype=float)
        log = bool(values.size and values.min() > 0 and values.max() / values.min() >= 50)
        buttons.append({"label": palette.parameter_label(param), "method": "update",
                        "args": [{"visible": visible},
                                 {"xaxis2.title.text": palette.parameter_label(param),
                                  "xaxis.type": "log" if log else "linear", "xaxis2.type": "log" if log else "linear"}]})
    first_log = buttons[0]["args"][1]["xaxis.type"] if buttons else "linear"
    fig.update_yaxes(type="log", title_text="Secret-key rate [bit/s]", row=1, col=1)
    fig.update_yaxes(title_text="Demands with key [%]", range=[-3, 103], row=2, col=1)
    fig.update_xaxes(type=first_log, row=1, col=1)
    fig.update_xaxes(type=first_log, title_text=palette.parameter_label(params[0]) if params else "", row=2, col=1)
    fig.update_layout(
        title="Sweep explorer: choose the swept parameter", height=620, template="plotly_white",
        updatemenus=[{"buttons": buttons, "direction": "down", "x": 1.0, "xanchor": "right", "y": 1.12,
                      "yanchor": "top"}] if len(buttons) > 1 else [],
        margin={"l": 70, "r": 20, "t": 90, "b": 50}, legend={"font": {"size": 10}})
    return fig


DEMAND_COLUMNS = (("a", "From"), ("b", "To"), ("architecture", "Architecture"), ("key_rate_bps", "Key rate [bit/s]"),
                  ("trusted_nodes", "Trusted nodes"), ("distance_km", "Distance [km]"), ("latency_s", "Latency [s]"),
                  ("route_sites", "Route (sites)"))


def demand_table(demands: pd.DataFrame) -> str:
    """A sortable HTML table (click a header); numbers sort by value, names by text."""
    cols = [(c, t) for c, t in DEMAND_COLUMNS if c in demands]
    head = "".join(f'<th data-col="{i}">{_esc(t)}</th>' for i, (_, t) in enumerate(cols))
    rows = []
    for r in demands[[c for c, _ in cols]].itertuples(index=False):
        cells = []
        for (col, _), v in zip(cols, r, strict=True):
            if col == "architecture":
                cells.append(f"<td>{_esc(palette.architecture_label(str(v)))}</td>")
            elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
                x = float(v)
                shown = "" if x != x else (f"{x:.4g}" if col != "distance_km" else f"{x:,.0f}")
                cells.append(f'<td data-v="{"" if x != x else repr(x)}" class="n">{shown}</td>')
            else:
                cells.append(f"<td>{_esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table id="demands" class="sortable"><thead><tr>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], col = +th.dataset.col;
    var up = th.dataset.dir !== 'asc';
    table.querySelectorAll('th').forEach(function (h) { delete h.dataset.dir; });
    th.dataset.dir = up ? 'asc' : 'desc';
    var rows = Array.from(body.rows);
    rows.sort(function (r1, r2) {
      var c1 = r1.cells[col], c2 = r2.cells[col];
      var v1 = c1.dataset.v, v2 = c2.dataset.v, d;
      if (v1 !== undefined && v2 !== undefined) {
        v1 = v1 === '' ? -Infinity : +v1; v2 = v2 === '' ? -Infinity : +v2; d = v1 - v2;
      } else { d = c1.textContent.localeCompare(c2.textContent); }
      return up ? d : -d;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""

CSS = ("body{font-family:system-ui,sans-serif;max-width:80rem;margin:1.5rem auto;padding:0 1rem;line-height:1.4}"
       "table{border-collapse:collapse;font-size:.8rem}td,th{border:1px solid #ccc;padding:.15rem .4rem}"
       "th{cursor:pointer;background:#f3f3f3;position:sticky;top:0}th[data-dir=asc]::after{content:' ▲'}"
       "th[data-dir=desc]::after{content:' ▼'}td.n{text-align:right;font-variant-numeric:tabular-nums}"
       ".scroll{max-height:32rem;overflow:auto}#qnetemu-errors{color:#b00}")


def write_interactive(directory: str | Path) -> Path:
    """Write ``report-interactive.html`` into a run or sweep directory; returns its path."""
    import plotly.offline

    from qnetemu.errors import UserError
    from qnetemu.results.store import read_manifest, read_sweep_manifest, read_table

    directory = Path(directory)
    is_sweep = (directory / "sweep.json").is_file()
    run_dir = directory / "baseline" if is_sweep else directory
    if not (run_dir / "manifest.json").is_file():
        raise UserError("not a qnetemu run or sweep directory (no manifest.json or sweep.json)", file=str(directory))
    manifest = read_manifest(run_dir)
    sites, links, demands = (read_table(run_dir, n) for n in ("sites", "links", "demands"))
    name = manifest.get("scenario_name", directory.name)
    parts = [f"<h1>qnetemu: {_esc(name)}</h1>",
             f"<p>Scenario <code>{_esc(manifest.get('scenario_file'))}</code>, qnetemu "
             f"{_esc(manifest.get('versions', {}).get('qnetemu'))}. Interactive companion of report.md; "
             "works offline.</p>", '<div id="qnetemu-errors"></div>']
    figures = []
    if sites is not None and links is not None:
        parts.append("<h2>Network</h2>")
        figures.append(("map", map_figure(sites, links)))
    if demands is not None:
        parts.append(f"<h2>Demands</h2><p>{len(demands)} rows; click a column header to sort.</p>"
                     f'<div class="scroll">{demand_table(demands)}</div>')
    if is_sweep:
        from qnetemu.plots.sweep import swept_columns

        sweep_manifest = read_sweep_manifest(directory)
        swept = read_table(directory, "demands")
        if swept is not None and len(swept) and "repeater" in set(swept.architecture):
            params = swept_columns(sweep_manifest, swept)
            if params:
                parts.append("<h2>Sweep</h2>")
                figures.append(("sweep", sweep_figure(swept, params)))
    config = {"scrollZoom": True, "displaylogo": False, "responsive": True}
    body = []
    for part in parts:
        body.append(part)
        if part == "<h2>Network</h2>" or part == "<h2>Sweep</h2>":
            key, fig = figures.pop(0)
            body.append(fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"qnetemu-{key}", config=config))
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>qnetemu: " + _esc(name) + "</title>"
        f"<style>{CSS}</style>"
        "<script>window.qnetemuErrors=[];window.addEventListener('error',function(e){window.qnetemuErrors.push("
        "String(e.message));var d=document.getElementById('qnetemu-errors');if(d)d.textContent='error: '+e.message;});"
        "</script>"
        f"<script>{plotly.offline.get_plotlyjs()}</script></head><body>"
        + "\n".join(body)
        + f"<script>{SORT_JS}</script>"
        "<script>window.addEventListener('load',function(){document.body.dataset.plots="
        "Array.from(document.querySelectorAll('.js-plotly-plot')).filter(function(d){"
        "return d.querySelector('.main-svg .scatterlayer .trace');}).length;"
        "document.body.dataset.errors=window.qnetemuErrors.length;});</script>"
        "</body></html>\n")
    path = directory / PAGE_NAME
    path.write_text(page)
    return path
