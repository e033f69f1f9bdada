"""A planner's report from stored results: Markdown plus a self-contained HTML file.

Reads a run directory (``qnetemu run``) or a sweep directory (``qnetemu
sweep``, whose ``baseline/`` run supplies the network), draws the figures if
they were not drawn yet, and writes ``report.md`` (figures linked) and ``report.html``
(figures embedded, one file to mail) and ``report-interactive.html``
(zoomable map, sortable demand table, sweep explorer; see
:mod:`qnetemu.interactive`). An emulation directory (``qnetemu emulate``) gets
the report of :mod:`qnetemu.report_emulation`. Nothing is recomputed. Names
from the scenario are escaped: raw HTML in a site name never reaches either report.
"""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from qnetemu.errors import UserError
from qnetemu.formatting import format_rate
from qnetemu.interactive import write_interactive
from qnetemu.results.store import read_manifest, read_sweep_manifest, read_table

ARCH_LABEL = {"trusted_node": "trusted nodes (fibre)", "satellite": "fibre + satellites", "repeater": "repeaters",
              "twin_field": "twin-field links + trusted nodes"}


def _key_model_sentence(links) -> str:
    """Which key models produced the link rates (the links table's ``key_model`` column)."""
    models = set(links["key_model"].dropna()) if links is not None and "key_model" in links else set()
    if not models or models == {"asymptotic"}:
        return "Key rates are asymptotic (no finite-size effects)."
    if models == {"finite"}:
        return "Key rates are finite-key rates (Lim et al., PRA 89, 022307 (2014))."
    return "Key rates are finite-key (Lim et al. 2014) on some links and asymptotic on others."


def _rate(bps: float) -> str:
    return format_rate(bps)


#: Simpler architectures first: within TIE of the best rate, the simpler one counts as best.
SIMPLICITY = ("trusted_node", "twin_field", "satellite", "repeater")
TIE = 0.05


def best_architecture_table(demands: pd.DataFrame) -> pd.DataFrame:
    """Per demand: key rate of each architecture, the best one and its margin over the next.

    Rates within 5 % of the best count as a tie, won by the simpler
    architecture (trusted nodes, then satellites, then repeaters): a fair
    allocation over a different graph moves rates by a few per cent, which is
    no reason to prefer a satellite.
    """
    wide = demands.pivot_table(index=["a", "b"], columns="architecture", values="key_rate_bps", aggfunc="max")
    wide = wide.fillna(0.0)
    archs = sorted(wide.columns, key=lambda a: SIMPLICITY.index(a) if a in SIMPLICITY else len(SIMPLICITY))
    wide = wide[archs]
    best_names, margins = [], []
    for values in wide.to_numpy():
        top = values.max()
        if top <= 0:
            best_names.append("none")
            margins.append(np.nan)
            continue
        winner = next(i for i, v in enumerate(values) if v >= top * (1 - TIE))
        others = np.delete(values, winner)
        runner_up = others.max() if others.size else 0.0
        best_names.append(archs[winner])
        margins.append(values[winner] / runner_up if runner_up > 0 else np.inf)
    out = wide.copy()
    out["best"] = best_names
    out["margin"] = margins
    tn = demands[demands.architecture == "trusted_node"].set_index(["a", "b"])
    if len(tn):
        out["trusted_nodes_today"] = tn["trusted_nodes"].reindex(out.index)
        out["distance_km"] = tn["distance_km"].reindex(out.index)
    return out.reset_index()


def md_text(value) -> str:
    """Text from the scenario (site names, file names) made inert in Markdown and HTML.

    ``<``, ``>`` and ``&`` become entities (a Markdown renderer passes raw
    HTML through), ``|`` is escaped (it would split a table cell) and
    backticks and newlines cannot open code spans or break the line.
    """
    text = html.escape(str(value), quote=False).replace("|", "\\|").replace("`", "'")
    return " ".join(text.split())


def _markdown_table(frame: pd.DataFrame, formats: dict) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(md_text(c) for c in cols) + " |", "|" + "|".join(" --- " for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        cells = []
        for col, value in zip(cols, row, strict=True):
            fmt = formats.get(col)
            cells.append(md_text(fmt(value) if fmt else value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _margin(value: float) -> str:
    if value != value:
        return "-"
    if value == np.inf:
        return "only one"
    return f"×{value:.3g}"


def _count(value) -> str:
    return "-" if value != value else f"{int(value)}"


def _km(value) -> str:
    return "-" if value != value else f"{value:,.0f}"


def trust_summary(sites: pd.DataFrame | None, demands: pd.DataFrame) -> str:
    """One paragraph on where key may not be relayed (the sites table's ``can_relay``), or "" when everywhere."""
    if sites is None or "can_relay" not in sites:
        return ""
    barred = sites[~sites["can_relay"].fillna(True).astype(bool)]
    if not len(barred):
        return ""
    junctions = int((barred["role"] == "junction").sum())
    by_rule = barred[barred["role"] != "junction"]
    countries = by_rule["country"].fillna("unknown").value_counts()
    top = ", ".join(f"{c} {n}" for c, n in countries.head(8).items())
    refused = demands[demands["status"] == "no_allowed_path"] if "status" in demands else demands.iloc[:0]
    text = (f"Where key may be relayed: {len(barred)} of {len(sites)} nodes may not relay it "
            f"({junctions} cable junctions at sea, {len(by_rule)} barred by the trust policy"
            + (f": {top}" if len(by_rule) else "") + ").")
    if len(refused):
        per_arch = ", ".join(f"{ARCH_LABEL.get(a, a)} {n}" for a, n in refused.groupby("architecture").size().items())
        text += f" Demands with no route within the rules (status `no_allowed_path`): {per_arch}."
    return text


def write_report(directory: str | Path) -> list[Path]:
    """Write ``report.md``, ``report.html`` and ``report-interactive.html`` into ``directory``; return their paths.

    An emulation directory (``qnetemu emulate``) gets its own report
    (:mod:`qnetemu.report_emulation`): ``report.md`` and ``report.html``.
    """
    from qnetemu.plots import draw_run

    directory = Path(directory)
    is_sweep = (directory / "sweep.json").is_file()
    run_dir = directory / "baseline" if is_sweep else directory
    if not (run_dir / "manifest.json").is_file():
        if (run_dir / "emulation.json").is_file():
            raise UserError("an emulation not finished yet (no manifest.json): finish it with `qnetemu emulate "
                            "... --resume`, then report", file=str(directory))
        raise UserError("not a qnetemu run, sweep or emulation directory (no manifest.json or sweep.json)", file=str(directory))
    if not is_sweep and read_manifest(run_dir).get("kind") == "emulation":
        from qnetemu.report_emulation import write_emulation_report

        return write_emulation_report(directory)
    figures_dir = directory / "figures"
    if not (run_dir / "figures" / "network_map.png").is_file() or (is_sweep and not any(figures_dir.glob("*.png"))):
        draw_run(directory)  # only what `qnetemu run/sweep --no-plots` left undrawn
    manifest = read_manifest(run_dir)
    demands = read_table(run_dir, "demands")
    sites = read_table(run_dir, "sites")
    links = read_table(run_dir, "links")
    sat_links = read_table(run_dir, "satellite_links")
    name = manifest.get("scenario_name", directory.name)
    figures: list[tuple[str, Path]] = []
    sections: list[str] = []

    sections.append(f"# qnetemu report: {md_text(name)}\n")
    sections.append(
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from `{md_text(directory)}`; scenario "
        f"`{md_text(manifest.get('scenario_file'))}` (SHA-256 `{str(manifest.get('scenario_sha256'))[:16]}…`), "
        f"qnetemu {manifest['versions'].get('qnetemu')}, SeQUeNCe {manifest['versions'].get('sequence')}, "
        f"git {manifest.get('git_commit') or '-'}. {_key_model_sentence(links)}"
    )

    n_inserted = int(sites["inserted"].sum()) if sites is not None else 0
    fibre = links[links.segment == "fibre"] if links is not None else pd.DataFrame()
    if "bypassed" in fibre:
        n_bypass = int((fibre["bypassed"].fillna(0) > 0).sum())
        fibre = fibre[fibre["bypassed"].fillna(0) == 0]
    else:
        n_bypass = 0
    sections.append("\n## The network\n")
    sections.append(
        (f"{len(sites)} sites ({n_inserted} trusted nodes inserted on spans beyond reach)" if sites is not None
         else "Sites not stored in this directory")
        + f", {len(fibre)} fibre spans totalling {fibre['length_km'].sum():,.0f} km of fibre route "
        f"(and {n_bypass} candidate QKD links passing optically through sites)"
        + (f", {len(sat_links)} satellite services" if sat_links is not None else "")
        + f", {demands[['a', 'b']].drop_duplicates().shape[0]} demands."
    )
    trust = trust_summary(sites, demands)
    if trust:
        sections.append("\n" + trust)
    figures.append(("Network map: links coloured by secret-key rate, trusted nodes marked", run_dir / "figures" / "network_map.png"))

    sections.append("\n## Architectures on the same demands\n")
    summary = []
    for arch, rows in demands.groupby("architecture"):
        served = rows[rows.key_rate_bps > 0]
        summary.append({
            "architecture": ARCH_LABEL.get(arch, arch),
            "demands with key": f"{len(served)} of {len(rows)}",
            "median key rate": _rate(float(served.key_rate_bps.median())) if len(served) else "-",
            "median trusted nodes": _count(float(served.trusted_nodes.median())) if len(served) else "-",
        })
    sections.append(_markdown_table(pd.DataFrame(summary), {}))
    figures.append(("End-to-end key rate against route distance, with the PLOB repeaterless bound",
                    run_dir / "figures" / "demand_rate_vs_distance.png"))
    figures.append(("Trusted nodes each demand's key crosses (fibre only)", run_dir / "figures" / "trusted_nodes_per_demand.png"))

    best = best_architecture_table(demands)
    sections.append("\n## Best architecture per demand\n")
    sections.append("`margin`: best key rate over the next best architecture's (`only one`: no other gives key); "
                    "rates within 5 % are a tie, won by the simpler architecture.\n")
    formats = {c: _rate for c in best.columns if c in ARCH_LABEL}
    formats.update(margin=_margin, trusted_nodes_today=_count, distance_km=_km)
    sections.append(_markdown_table(best, formats))
    counts = best["best"].value_counts()
    sections.append("\n" + ", ".join(f"{ARCH_LABEL.get(k, k)}: best for {v}" for k, v in counts.items()) + ".")

    if sat_links is not None and len(sat_links):
        sections.append("\n## Space segment\n")
        trusted = sat_links[sat_links.service == "trusted_satellite"]
        sections.append(_markdown_table(
            trusted[["satellite", "b", "passes", "key_bits_per_day", "latency_s"]].rename(
                columns={"b": "ground station", "key_bits_per_day": "key per day"}),
            {"key per day": lambda v: f"{v / 1e6:.3g} Mbit", "latency_s": lambda v: f"{v / 3600:.3g} h"}))
        for stem, caption in (("station_pair_key_per_day", "Key per day per ground-station pair"),
                              ("pass_timelines", "Passes: elevation, loss and key rate"),
                              ("ground_tracks", "Ground tracks and optical ground stations")):
            figures.append((caption, run_dir / "figures" / f"{stem}.png"))

    if is_sweep:
        sweep_manifest = read_sweep_manifest(directory)
        swept = read_table(directory, "demands")
        sections.append("\n## Repeater hardware study\n")
        axes = [p for a in sweep_manifest.get("axes", []) for p in a.get("paths", [])]
        sections.append(f"{sweep_manifest['counts']['points']} points over "
                        + ", ".join(f"`{md_text(a)}`" for a in axes) + ".")
        if swept is not None and {"repeater", "trusted_node"} <= set(swept.architecture):
            from qnetemu.plots.sweep import paired, swept_columns

            params = swept_columns(sweep_manifest, swept)
            wide = paired(swept, params)
            wide = wide[wide["trusted_node"] > 0].copy()
            wide["wins"] = (wide["repeater"] >= wide["trusted_node"]) & (wide["repeater"] > 0)
            wide["ratio"] = wide["repeater"] / wide["trusted_node"]
            wide["served"] = wide["repeater"] > 0
            region = (wide.groupby(params).agg(wins=("wins", "mean"), served=("served", "mean"),
                                               best_ratio=("ratio", "max"))
                      .reset_index().sort_values(["wins", "best_ratio"], ascending=False))
            sections.append("\nRepeater hardware closest to trusted nodes first. `wins`: share of demands where "
                            "repeaters match or beat trusted nodes; `served`: share where repeaters give any key; "
                            "`best_ratio`: the best demand's repeater / trusted-node key rate.\n")
            sections.append(_markdown_table(region.head(10), {"wins": lambda v: f"{v:.0%}",
                                                              "served": lambda v: f"{v:.0%}",
                                                              "best_ratio": lambda v: f"{v:.3g}"}))
        for png in sorted((directory / "figures").glob("*.png")):
            figures.append((png.stem.replace("_", " "), png))

    from qnetemu.report_trust import trust_sections

    trust_text, trust_figures = trust_sections(run_dir)
    sections += trust_text
    figures += trust_figures

    report_md, report_html = write_documents(directory, sections, figures)
    interactive = write_interactive(directory)
    return [report_md, report_html, interactive]


def write_documents(directory: Path, sections: list[str], figures: list[tuple[str, Path]]) -> tuple[Path, Path]:
    """``report.md`` (figures linked) and ``report.html`` (figures embedded) from the sections and figures.

    Figures that were not drawn are left out of both.
    """
    sections = [*sections, "\n## Figures\n"]
    md = "\n".join(sections)
    md_figs = "\n\n".join(f"![{cap}]({p.relative_to(directory)})\n\n*{cap}*" for cap, p in figures if p.is_file())
    report_md = directory / "report.md"
    report_md.write_text(md + "\n" + md_figs + "\n")

    body = _markdown_to_html(md)
    for cap, p in figures:
        if p.is_file():
            data = base64.b64encode(p.read_bytes()).decode()
            body += (f'<figure><img alt="{html.escape(cap)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{html.escape(cap)}</figcaption></figure>\n")
    report_html = directory / "report.html"
    report_html.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>qnetemu report</title><style>"
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
        "table{border-collapse:collapse;font-size:.85rem}td,th{border:1px solid #ccc;padding:.2rem .4rem}"
        "img{max-width:100%}figure{margin:1.5rem 0}figcaption{font-style:italic;color:#444}"
        "</style></head><body>" + body + "</body></html>\n")
    return report_md, report_html


def _markdown_to_html(md: str) -> str:
    """The small Markdown subset this module writes: headings, paragraphs, pipe tables, `code`."""
    import re

    def inline(text: str) -> str:
        plain = html.unescape(text.replace("\\|", "|"))  # the Markdown escapes, undone once, then HTML-escaped
        return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(plain))

    out, table = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            rows = [re.split(r"(?<!\\)\|", r.strip()[1:-1]) for r in table if not set(r) <= set("|- ")]
            out.append("<table><tr>" + "".join(f"<th>{inline(c.strip())}</th>" for c in rows[0]) + "</tr>"
                       + "".join("<tr>" + "".join(f"<td>{inline(c.strip())}</td>" for c in r) + "</tr>" for r in rows[1:])
                       + "</table>")
            table = []
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            out.append(f"<h{level}>{inline(line.lstrip('#').strip())}</h{level}>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    return "\n".join(out)
