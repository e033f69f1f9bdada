"""CSV copies of the tables: list cells as JSON arrays, read back when the Parquet file is gone.

The examples under results/examples keep only CSV copies (readable on any
code host); `qnetemu plot` and `qnetemu report` must work on them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qnetemu.results.store import read_table, write_table

EXAMPLES = Path(__file__).resolve().parents[2] / "results" / "examples"


def test_list_cells_round_trip_through_the_csv_copy(tmp_path):
    frame = pd.DataFrame({
        "a": ["X", "Y", "Z"],
        "route_nodes": [["X", "M", "Y"], [], ["Z"]],
        "segment_lengths_km": [[50.0, 50.0], [], [12.5]],
        "note": ["[not a list", "plain", None],
        "rate": [1.0, 2.0, np.nan],
    })
    write_table(tmp_path, "demands", frame)
    row = next(line for line in (tmp_path / "demands.csv").read_text().splitlines()[1:])
    assert '"[""X"", ""M"", ""Y""]"' in row  # a JSON array any CSV reader can decode
    assert json.loads(pd.read_csv(tmp_path / "demands.csv")["route_nodes"][0]) == ["X", "M", "Y"]
    (tmp_path / "demands.parquet").unlink()
    back = read_table(tmp_path, "demands")
    assert back["route_nodes"].tolist() == [["X", "M", "Y"], [], ["Z"]]
    assert back["segment_lengths_km"].tolist() == [[50.0, 50.0], [], [12.5]]
    assert back["note"].tolist()[:2] == ["[not a list", "plain"]  # text stays text
    assert back["rate"].tolist()[:2] == [1.0, 2.0]


def test_a_damaged_csv_copy_is_one_line(tmp_path):
    from qnetemu.errors import UserError

    (tmp_path / "demands.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UserError, match="cannot be read as a table"):
        read_table(tmp_path, "demands")


@pytest.mark.parametrize("example", ["ronaqci"])
def test_plot_and_report_work_on_a_trimmed_example(cli, tmp_path, example):
    copy = tmp_path / example
    shutil.copytree(EXAMPLES / example, copy)
    shutil.rmtree(copy / "figures")
    code, out, err = cli("plot", copy)
    assert code == 0, err
    assert (copy / "figures" / "demand_rate_vs_distance.png").is_file()
    code, _, err = cli("report", copy)
    assert code == 0, err
    text = (copy / "report.md").read_text()
    assert "Sites not stored in this directory" in text and " 0 sites" not in text


def test_report_refuses_an_emulation_directory_in_one_line(cli, tmp_path):
    copy = tmp_path / "emu"
    shutil.copytree(EXAMPLES / "ronaqci-emulation", copy)
    code, _, err = cli("report", copy)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "an emulation directory" in err
