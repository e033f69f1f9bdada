"""Test certificates for the KMEs and their SAEs (``trustme``), and ``kmes.json``.

One test CA signs a server certificate for the loopback address (every KME
presents it) and one client certificate per SAE whose common name is the
SAE ID: the KMEs identify SAEs by that name (mutual TLS). These are test
certificates: a deployment brings its own PKI.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

CA_FILE = "ca.pem"
SERVER_CERT = "kme-server.pem"
SERVER_KEY = "kme-server.key"
KMES_JSON = "kmes.json"


@dataclass(frozen=True)
class SaeIdentity:
    """One site's KME and its SAE."""

    site: str
    kme_id: str
    sae_id: str


@dataclass(frozen=True)
class CertificateSet:
    ca: Path
    server_cert: Path
    server_key: Path
    client_certs: dict[str, tuple[Path, Path]]  # SAE ID -> (certificate, key)


def slug(name: str) -> str:
    """An ASCII identifier for a site name (URL path and DNS label safe): "Iași" -> "iasi"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "site"


def identities(sites: list[str]) -> list[SaeIdentity]:
    """KME and SAE IDs for the sites, unique even when two names slug alike."""
    seen: dict[str, int] = {}
    out = []
    for site in sites:
        base = slug(site)
        seen[base] = seen.get(base, 0) + 1
        tag = base if seen[base] == 1 else f"{base}-{seen[base]}"
        out.append(SaeIdentity(site=site, kme_id=f"KME-{tag}", sae_id=f"SAE-{tag}"))
    return out


def write_certificates(directory: str | Path, saes: list[SaeIdentity], *, host: str = "127.0.0.1") -> CertificateSet:
    """Write a test CA, the KMEs' server certificate and one client certificate and key per SAE."""
    import trustme

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="qnetemu test CA")
    ca.cert_pem.write_to_path(str(d / CA_FILE))
    names = list(dict.fromkeys([host, "127.0.0.1", "localhost"]))
    server = ca.issue_cert(*names, common_name="qnetemu KME")
    server.cert_chain_pems[0].write_to_path(str(d / SERVER_CERT))
    for pem in server.cert_chain_pems[1:]:
        pem.write_to_path(str(d / SERVER_CERT), append=True)
    server.private_key_pem.write_to_path(str(d / SERVER_KEY))
    clients = {}
    for sae in saes:
        leaf = ca.issue_cert(f"{sae.sae_id.lower()}.sae.invalid", common_name=sae.sae_id)
        cert, key = d / f"{sae.sae_id}.pem", d / f"{sae.sae_id}.key"
        leaf.cert_chain_pems[0].write_to_path(str(cert))
        leaf.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)
        clients[sae.sae_id] = (cert, key)
    (d / SERVER_KEY).chmod(0o600)
    return CertificateSet(ca=d / CA_FILE, server_cert=d / SERVER_CERT, server_key=d / SERVER_KEY,
                          client_certs=clients)


def write_kmes_json(directory: str | Path, certs: CertificateSet, saes: list[SaeIdentity],
                    urls: dict[str, str]) -> Path:
    """``DIR/kmes.json``: per site, the KME's base URL and ID, its SAE's ID, certificate and key."""
    entries = []
    for sae in saes:
        cert, key = certs.client_certs[sae.sae_id]
        entries.append({**asdict(sae), "kme_url": urls[sae.kme_id], "sae_cert": str(cert.resolve()),
                        "sae_key": str(key.resolve())})
    path = Path(directory) / KMES_JSON
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"ca": str(certs.ca.resolve()), "kmes": entries}, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)  # readers never see half a file
    return path
