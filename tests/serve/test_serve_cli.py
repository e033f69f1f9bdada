"""``qnetemu serve`` refuses bad input with one line and exit status 2, before serving anything."""

from __future__ import annotations

import socket


def test_speed_must_be_positive(cli, scenarios_dir, tmp_path):
    code, _, err = cli("serve", scenarios_dir / "two_sites.yaml", "--certs", tmp_path / "c", "--speed", "0")
    assert code == 2 and "--speed" in err and len(err.strip().splitlines()) == 1


def test_a_port_in_use_is_one_line(cli, scenarios_dir, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = cli("serve", scenarios_dir / "two_sites.yaml", "--certs", tmp_path / "c", "--port", port)
    assert code == 2 and "--port" in err and "cannot listen" in err
