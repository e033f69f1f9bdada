"""HTTPS with client certificates (uvicorn): every KME on its own loopback port.

One uvicorn server listens on one socket per KME with one TLS context that
requires a client certificate signed by the test CA (``CERT_REQUIRED``):
a client without one, or with one from another CA, fails the handshake. The
certificate's common name (the SAE ID) is read from the TLS connection and
passed to the app, which checks it against the KME's own SAE (401 otherwise).
There is no plain-HTTP path, and the address is loopback unless the caller
names another.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import ssl
import threading
from dataclasses import dataclass

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from qnetemu.serve.app import PEER_CN, create_app
from qnetemu.serve.certs import CertificateSet
from qnetemu.serve.kme import KeyManager

LOOPBACK = "127.0.0.1"


class PeerCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the TLS client certificate's common name in ``scope["state"]``."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        cert = ssl_object.getpeercert() if ssl_object is not None else None
        common_name = None
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    common_name = value
        # Per-connection copy: uvicorn copies app_state into every request's scope["state"].
        self.app_state = {**self.app_state, PEER_CN: common_name}


class _Server(uvicorn.Server):
    """uvicorn's server, but SIGINT and SIGTERM end it cleanly (exit status 0) instead of being re-raised."""

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


@dataclass
class KmeServer:
    """The bound sockets and the uvicorn server; ``urls`` maps KME ID to base URL."""

    server: uvicorn.Server
    sockets: list[socket.socket]
    urls: dict[str, str]

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM (main thread) or until ``stop()``."""
        self.server.run(sockets=self.sockets)

    def stop(self) -> None:
        self.server.should_exit = True


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def make_server(manager: KeyManager, certs: CertificateSet, *, host: str = LOOPBACK, port: int = 0,
                log_level: str = "warning") -> KmeServer:
    """Bind one port per KME (``port``, ``port + 1``, ... or free ones when 0) and build the TLS server."""
    sockets: list[socket.socket] = []
    kme_by_port: dict[int, str] = {}
    urls: dict[str, str] = {}
    try:
        for i, sae in enumerate(manager.saes):
            sock = _bind(host, port + i if port else 0)
            sockets.append(sock)
            bound = sock.getsockname()[1]
            kme_by_port[bound] = sae.kme_id
            shown = f"[{host}]" if ":" in host else host
            urls[sae.kme_id] = f"https://{shown}:{bound}"
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    config = uvicorn.Config(
        create_app(manager, kme_by_port), http=PeerCertH11Protocol, lifespan="off", log_level=log_level,
        ssl_certfile=str(certs.server_cert), ssl_keyfile=str(certs.server_key), ssl_ca_certs=str(certs.ca),
        ssl_cert_reqs=ssl.CERT_REQUIRED, access_log=False,
    )
    return KmeServer(server=_Server(config), sockets=sockets, urls=urls)
