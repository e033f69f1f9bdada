"""The report's trust sections: who sees the key, multipath relay, N-1, where to build.

Read from the tables of :mod:`qnetemu.architectures.trust`; sections only for
the tables a run has.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from qnetemu.formatting import format_rate
from qnetemu.results.store import read_table


def _p(value) -> str:
    return "-" if value != value else f"{value:.2g}"


def trust_sections(run_dir: Path) -> tuple[list[str], list[tuple[str, Path]]]:
    """Markdown sections and (caption, figure) pairs for the run's trust tables."""
    from qnetemu.report import _markdown_table

    sections: list[str] = []
    figures: list[tuple[str, Path]] = []
    holders = read_table(run_dir, "key_holders")
    load = read_table(run_dir, "trusted_node_load")
    if holders is not None and len(holders):
        served = holders[holders.status == "ok"]
        sections.append("\n## Who sees the key\n")
        text = (f"With hop-by-hop relay every trusted node on a route holds the demand's key in the clear: "
                f"{len(served)} served demands, median {served.relay_nodes_in_clear.median():.0f} and at most "
                f"{served.relay_nodes_in_clear.max():.0f} relay nodes per key.")
        if "exposure_probability" in holders and holders.exposure_probability.notna().any():
            p = float(holders.compromise_probability.dropna().iloc[0])
            text += (f" If each relay is compromised independently with probability {p:g}, the median key is "
                     f"exposed with probability {served.exposure_probability.median():.2g} "
                     f"(worst {served.exposure_probability.max():.2g}).")
        sections.append(text)
        if load is not None and len(load):
            sections.append("\nThe relays that see the most key (table `trusted_node_load`):\n")
            sections.append(_markdown_table(load[["node", "demands", "key_in_clear_bps"]].head(10),
                                            {"key_in_clear_bps": format_rate}))
        figures.append(("Key exposure to compromised relays, single path and multipath",
                        run_dir / "figures" / "key_exposure.png"))
    multi = read_table(run_dir, "multipath")
    if multi is not None and len(multi):
        k = int(multi.paths_wanted.iloc[0])
        ok = multi[multi.status == "ok"]
        sections.append(f"\n## Multipath relay over {k} node-disjoint paths\n")
        sections.append(
            f"Each key is the XOR of {k} shares sent over node-disjoint paths, so no coalition of fewer than {k} "
            f"relays learns it; rates from a linear program that never over-spends a link. {len(ok)} of "
            f"{len(multi)} demands have {k} disjoint paths; the others (`too_few_disjoint_paths`) get no multipath key.")
        cols = ["a", "b", "status", "key_rate_bps", "single_path_key_rate_bps"]
        cols += [c for c in ("exposure_probability", "single_path_exposure_probability") if c in multi]
        sections.append("\n" + _markdown_table(multi[cols], {
            "key_rate_bps": format_rate, "single_path_key_rate_bps": format_rate,
            "exposure_probability": _p, "single_path_exposure_probability": _p}))
    elements = read_table(run_dir, "n_minus_one_elements")
    if elements is not None:
        sections.append("\n## What survives a failure (N-1)\n")
        if len(elements):
            worst = elements.iloc[0]
            sections.append(
                f"{len(elements)} single failures (a fibre link with all its spans and the bypass links over it, or "
                f"a relay node) cost some demand key. The worst, {worst.element_kind} `{worst.element}`, cuts "
                f"{int(worst.demands_cut)} demands off and leaves {int(worst.demands_below_requirement)} below their "
                "requirement. Worst ten:\n")
            cols = ["element_kind", "element", "demands_cut", "demands_below_requirement", "demands_losing_key",
                    "key_lost_bps"]
            sections.append(_markdown_table(elements[cols].head(10), {"key_lost_bps": format_rate}))
            sections.append("\n(A node's own demands count as cut when it fails.)")
        else:
            sections.append("No single link or relay failure costs any demand key.")
        figures.append(("N-1: the most damaging single failures", run_dir / "figures" / "n_minus_one.png"))
    plan = read_table(run_dir, "planning")
    if plan is not None and len(plan):
        status = plan.plan_status.iloc[0]
        sections.append("\n## Where to build\n")
        if status == "optimal":
            built = plan[plan.built]
            sections.append(
                f"Least-cost trusted nodes for the {int(plan.demands_planned.iloc[0])} demands' required rates "
                f"(integer program, HiGHS): build {', '.join(f'`{n}`' for n in built.node) or 'nothing'} "
                f"for {float(plan.plan_cost.iloc[0]):,.6g} (cost units of the scenario).\n")
            sections.append(_markdown_table(pd.DataFrame(plan[["node", "role", "cost", "built", "relayed_bps"]]),
                                            {"relayed_bps": format_rate}))
        else:
            sections.append("No choice of the candidates serves every required rate.")
    return sections, figures
