"""Reports: names from the scenario are escaped; the interactive page renders offline in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import yaml

HOSTILE = "<img src=x onerror=alert(1)>Evil|Town"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, scenarios_dir):
    """two_sites with a site named like an HTML injection, run through the CLI, then reported."""
    from qnetemu.cli import main

    tmp = tmp_path_factory.mktemp("hostile")
    raw = yaml.safe_load((scenarios_dir / "two_sites.yaml").read_text())
    raw["sites"][1]["name"] = HOSTILE
    raw["links"][0]["b"] = HOSTILE
    raw["demands"][0]["b"] = HOSTILE
    path = tmp / "hostile.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    out = tmp / "run"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 0
    assert main(["report", str(out)]) == 0
    return out


def test_raw_html_in_names_does_not_reach_the_reports(hostile_run):
    md = (hostile_run / "report.md").read_text()
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;Evil\\|Town" in md
    page = (hostile_run / "report.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;Evil|Town" in page
    interactive = (hostile_run / "report-interactive.html").read_text()
    assert "<img src=x" not in interactive


def test_interactive_page_is_self_contained(hostile_run):
    page = (hostile_run / "report-interactive.html").read_text()
    assert "<script src=" not in page and "<link" not in page  # plotly's library is inlined: nothing to fetch
    assert "Plotly.newPlot" in page
    assert 'id="qnetemu-map"' in page and 'id="demands"' in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install -y chromium; .ci/run does not install it: several minutes)")
def test_interactive_page_renders_in_headless_chromium(tmp_path, hostile_run):
    """Loads the page offline, checks the DOM the page's scripts leave, and that the screenshot is not blank."""
    import matplotlib.image

    url = (hostile_run / "report-interactive.html").as_uri()
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert 'data-errors="0"' in dom  # no script error on the page
    assert 'data-plots="1"' in dom  # plotly drew the map (a run: no sweep explorer)
    assert "Evil|Town" in dom  # the name, as text
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, "--window-size=1200,1400", f"--screenshot={shot}", url], capture_output=True,
                   timeout=120, check=True)
    image = matplotlib.image.imread(shot)[..., :3]
    top = image[150:800]  # the map's region
    assert image.shape[:2] == (1400, 1200)
    assert top.std() > 0.05  # drawn, not a blank page
    assert (np.abs(top - top.mean(axis=(0, 1))) > 0.2).any(axis=2).mean() > 0.001  # lines and markers
