"""``qnetemu run --address``: refused in one line, before any work, where it cannot apply."""

from __future__ import annotations

import socket

import pytest


def _free_port() -> int:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("engine", "address", "expected"),
    [
        ("analytic", "local", "--address: fans SeQUeNCe chains out over Ray; the analytic engine"),
        ("montecarlo", "auto", "the montecarlo engine runs its chains in this process"),
        ("sequence", "headnode", "--address: Ray address 'headnode' is not HOST:PORT"),
        ("sequence", "ray://head:10001", "Ray Client addresses (ray://) are not supported"),
        ("sequence", "127.0.0.1:{port}", "--address: cannot reach a Ray cluster at 127.0.0.1:{port}"),
    ],
)
def test_run_address_refused_in_one_line(cli, scenarios_dir, tmp_path, engine, address, expected):
    port = _free_port()
    out = tmp_path / "out"
    code, stdout, stderr = cli("run", scenarios_dir / "repeater_chain.yaml", "--engine", engine,
                               "--address", address.format(port=port), "--out", out)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert expected.format(port=port) in lines[0]
    assert not out.exists() and not stdout  # nothing written, nothing simulated
