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


@pytest.mark.parametrize("extra", [[], ["--address", "local"]])
def test_ship_code_without_a_cluster_is_refused_in_one_line(cli, scenarios_dir, tmp_path, extra):
    out = tmp_path / "out"
    code, stdout, stderr = cli("run", scenarios_dir / "repeater_chain.yaml", "--engine", "sequence",
                               "--ship-code", *extra, "--out", out)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "--ship-code" in lines[0] and "HOST:PORT" in lines[0], stderr
    assert not out.exists() and not stdout


def test_ship_code_reaches_the_ray_executor(monkeypatch):
    """``run --ship-code`` goes down to the one RayExecutor that joins the cluster (no cluster here)."""
    import qnetemu.engines.ray_chains as ray_chains
    import qnetemu.sweep.executors as executors

    seen = {}

    class Recording:
        def __init__(self, **kwargs):
            seen.update(kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

    monkeypatch.setattr(executors, "RayExecutor", Recording)
    monkeypatch.setattr(ray_chains, "map_on_ray", lambda *a, **k: ["result"])
    from repeater_chain_values import make_chain, make_hardware

    from qnetemu.engines import run_chains
    from qnetemu.engines.chain import SEQUENCE_NATIVE_PROTOCOL

    chain = make_chain((20.0,), make_hardware(coherence_time_s=0.5), protocol=SEQUENCE_NATIVE_PROTOCOL)
    assert run_chains("sequence", [(chain, 1)], max_pairs=2, max_time_s=0.01,
                      address="10.0.0.1:6379", ship_code=True) == ["result"]
    assert seen["address"] == "10.0.0.1:6379" and seen["ship_code"] is True
