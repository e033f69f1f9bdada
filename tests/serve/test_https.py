"""``qnetemu serve`` as a user runs it: a real HTTPS client (httpx) with client certificates on loopback.

The server runs in a child process started like the README's command, found
through the ``kmes.json`` it writes, and stopped by its process id.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = """\
name: kme-line
sites:
  - {name: Alice, lat_deg: 46.20, lon_deg: 6.14}
  - {name: Relay, lat_deg: 46.40, lon_deg: 6.40, role: trusted_node}
  - {name: Bob,   lat_deg: 46.52, lon_deg: 6.63}
  - {name: Carol, lat_deg: 46.60, lon_deg: 6.70}
links:
  - {a: Alice, b: Relay, length_km: 50.0}
  - {a: Relay, b: Bob, length_km: 60.0}
  - {a: Bob, b: Carol, length_km: 20.0}
qkd: {preset: gys2005}
demands:
  - {a: Alice, b: Bob}
  - {a: Bob, b: Carol}
emulation:
  store_capacity_bits: 8192
  key_block_bits: 512
"""
#: Bounded waits for a child process (start-up imports take a few seconds on a loaded machine).
START_TIMEOUT_S = 120.0


def _wait_for(path: Path, proc: subprocess.Popen) -> dict:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if path.is_file():
            return json.loads(path.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stdout.read()}")
        time.sleep(0.1)
    raise AssertionError("serve did not write kmes.json in time")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    scenario = tmp / "kme.yaml"
    scenario.write_text(SCENARIO)
    certs = tmp / "certs"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "qnetemu", "serve", str(scenario), "--certs", str(certs),
                             "--speed", "20"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        kmes = _wait_for(certs / "kmes.json", proc)
        yield proc, kmes, tmp
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def client(kmes: dict, site: str, *, cert=None) -> httpx.Client:
    entry = next(k for k in kmes["kmes"] if k["site"] == site)
    context = ssl.create_default_context(cafile=kmes["ca"])
    if cert is not False:
        context.load_cert_chain(*(cert or (entry["sae_cert"], entry["sae_key"])))
    return httpx.Client(base_url=entry["kme_url"], verify=context, timeout=10.0)


def sae(kmes: dict, site: str) -> str:
    return next(k["sae_id"] for k in kmes["kmes"] if k["site"] == site)


def get_keys_when_ready(http: httpx.Client, slave: str, body: dict, limit_s: float = 60.0) -> httpx.Response:
    """POST enc_keys until the key has accumulated (503 meanwhile); bounded, not timed."""
    deadline = time.monotonic() + limit_s
    while True:
        response = http.post(f"/api/v1/keys/{slave}/enc_keys", json=body)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def test_listens_on_loopback_with_kmes_json(server):
    _, kmes, _ = server
    assert {k["site"] for k in kmes["kmes"]} == {"Alice", "Bob", "Carol"}
    for k in kmes["kmes"]:
        assert k["kme_url"].startswith("https://127.0.0.1:")
        assert Path(k["sae_cert"]).is_file() and Path(k["sae_key"]).is_file()


def test_key_requested_at_one_site_is_retrieved_at_the_other_once(server):
    _, kmes, _ = server
    alice, bob, carol = (sae(kmes, s) for s in ("Alice", "Bob", "Carol"))
    with client(kmes, "Alice") as a, client(kmes, "Bob") as b, client(kmes, "Carol") as c:
        status = a.get(f"/api/v1/keys/{bob}/status").json()
        assert status["master_SAE_ID"] == alice and status["slave_SAE_ID"] == bob
        assert {"source_KME_ID", "target_KME_ID", "key_size", "stored_key_count", "max_key_count",
                "max_key_per_request", "max_key_size", "min_key_size", "max_SAE_ID_count"} <= set(status)
        issued = get_keys_when_ready(a, bob, {"number": 2, "size": 256})
        assert issued.status_code == 200, issued.text
        keys = issued.json()["keys"]
        ids = {"key_IDs": [{"key_ID": k["key_ID"]} for k in keys]}
        # Carol (another SAE, valid certificate) cannot have Bob's keys, at her KME or at Bob's.
        assert c.post(f"/api/v1/keys/{alice}/dec_keys", json=ids).status_code == 401
        with client(kmes, "Bob", cert=(next(k for k in kmes["kmes"] if k["site"] == "Carol")["sae_cert"],
                                       next(k for k in kmes["kmes"] if k["site"] == "Carol")["sae_key"])) as cb:
            assert cb.post(f"/api/v1/keys/{alice}/dec_keys", json=ids).status_code == 401
        got = b.post(f"/api/v1/keys/{alice}/dec_keys", json=ids)
        assert got.status_code == 200 and got.json()["keys"] == keys
        again = b.get(f"/api/v1/keys/{alice}/dec_keys", params={"key_ID": keys[0]["key_ID"]})
        assert again.status_code == 400 and set(again.json()) >= {"message"}


def test_get_forms_of_the_endpoints(server):
    _, kmes, _ = server
    alice, bob = sae(kmes, "Alice"), sae(kmes, "Bob")
    with client(kmes, "Alice") as a, client(kmes, "Bob") as b:
        deadline = time.monotonic() + 60
        while (r := a.get(f"/api/v1/keys/{bob}/enc_keys", params={"number": 1, "size": 128})).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        key = r.json()["keys"][0]
        got = b.get(f"/api/v1/keys/{alice}/dec_keys", params={"key_ID": key["key_ID"]})
        assert got.json()["keys"] == [key]
        bad = a.post(f"/api/v1/keys/{bob}/enc_keys", json={"number": "many"})
        assert bad.status_code == 400 and "message" in bad.json()


def test_asking_faster_than_the_rate_gets_503_then_succeeds(server):
    _, kmes, _ = server
    bob = sae(kmes, "Bob")
    with client(kmes, "Alice") as a:
        # Draw as fast as possible: the stores (8192 bit) empty far faster than the links refill.
        codes = [a.post(f"/api/v1/keys/{bob}/enc_keys", json={"number": 4, "size": 256}).status_code
                 for _ in range(40)]
        assert 503 in codes
        first = codes.index(503)
        error = a.post(f"/api/v1/keys/{bob}/enc_keys", json={"number": 32, "size": 256})
        assert error.status_code == 503 and set(error.json()) == {"message", "details"}
        assert codes[:first] == [200] * first
        assert get_keys_when_ready(a, bob, {"number": 4, "size": 256}).status_code == 200


def test_wrong_certificates_are_refused(server, tmp_path):
    _, kmes, _ = server
    bob = sae(kmes, "Bob")
    with client(kmes, "Alice", cert=False) as none, pytest.raises((httpx.ConnectError, httpx.ReadError,
                                                                    httpx.RemoteProtocolError)):
        none.get(f"/api/v1/keys/{bob}/status")
    other = trustme.CA().issue_cert("sae-alice.sae.invalid", common_name=sae(kmes, "Alice"))
    other.cert_chain_pems[0].write_to_path(str(tmp_path / "c.pem"))
    other.private_key_pem.write_to_path(str(tmp_path / "c.key"))
    with client(kmes, "Alice", cert=(tmp_path / "c.pem", tmp_path / "c.key")) as forged, \
            pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        forged.get(f"/api/v1/keys/{bob}/status")
    # A client that does not trust the test CA refuses the KME.
    entry = next(k for k in kmes["kmes"] if k["site"] == "Alice")
    with httpx.Client(base_url=entry["kme_url"], timeout=10.0) as untrusting, pytest.raises(httpx.ConnectError):
        untrusting.get(f"/api/v1/keys/{bob}/status")
    # No plain HTTP on the KME's port.
    with httpx.Client(base_url=entry["kme_url"].replace("https", "http"), timeout=10.0) as plain, \
            pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        plain.get(f"/api/v1/keys/{bob}/status")


def test_clean_shutdown_by_pid(server):
    proc, kmes, _ = server
    ports = [int(k["kme_url"].rsplit(":", 1)[1]) for k in kmes["kmes"]]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert "stopped" in proc.stdout.read()
    for port in ports:
        with socket.socket() as s, pytest.raises(ConnectionRefusedError):
            s.connect(("127.0.0.1", port))
