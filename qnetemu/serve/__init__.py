"""ETSI GS QKD 014 V1.1.1 Key Management Entities over the emulation, on loopback HTTPS with mutual TLS."""

from __future__ import annotations

from pathlib import Path

from qnetemu.errors import UserError


def kme_sites(net, demands: list[dict], graph) -> list[str]:
    """Sites that get a KME: every endpoint of an application or demand, else every real endpoint site."""
    sites = [s for app in net.applications for s in (app.a, app.b)] + [s for d in demands for s in (d["a"], d["b"])]
    if not sites:
        sites = [n for n, d in graph.nodes(data=True) if d.get("role") == "endpoint" and not d.get("inserted")]
    return list(dict.fromkeys(sites))


def prepare(scenario, resolved, *, scenario_file: str, certs_dir: str | Path, speed: float, seed: int,
            host: str, port: int):
    """Build the emulated network, the KMEs, their certificates and the bound TLS server; write kmes.json."""
    from qnetemu.emulate.kernel import Emulator
    from qnetemu.emulate.network import build_emulated_network
    from qnetemu.serve.certs import identities, write_certificates, write_kmes_json
    from qnetemu.serve.kme import KeyManager
    from qnetemu.serve.server import make_server

    if not speed > 0:
        raise UserError(f"must be positive, got {speed}", field="--speed")
    net = build_emulated_network(scenario, resolved, file=scenario_file)
    sites = kme_sites(net, resolved.demands, net.graph)
    if len(sites) < 2:
        raise UserError("needs at least two sites with a KME (endpoints of demands or applications)",
                        file=scenario_file, field="demands")
    saes = identities(sites)
    certs = write_certificates(certs_dir, saes, host=host)
    manager = KeyManager(Emulator.start(net, seed), saes, speed=speed)
    try:
        server = make_server(manager, certs, host=host, port=port)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror or exc})", field="--port") from None
    kmes_json = write_kmes_json(certs_dir, certs, saes, server.urls)
    return manager, server, kmes_json
