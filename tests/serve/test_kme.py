"""The KMEs' logic on a clock the test controls: rates, once-only delivery, errors of the spec."""

from __future__ import annotations

import base64

import networkx as nx
import pytest

from qnetemu.emulate.kernel import Emulator
from qnetemu.emulate.network import emulated_network
from qnetemu.scenario.emulation import Emulation
from qnetemu.serve.certs import identities
from qnetemu.serve.kme import KeyManager, KmeError


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def kms():
    """Alice – Relay – Bob at 1000 and 500 bit/s, blocks of 500 bit, stores of 8000 bit, time x2."""
    graph = nx.Graph()
    for n, role in (("Alice", "endpoint"), ("Relay", "trusted_node"), ("Bob", "endpoint"), ("Carol", "endpoint")):
        graph.add_node(n, role=role, lat_deg=0.0, lon_deg=0.0)
    for a, b, rate in (("Alice", "Relay", 1000.0), ("Relay", "Bob", 500.0), ("Bob", "Carol", 500.0)):
        graph.add_edge(a, b, key_rate_bps=rate, link_id=f"{a}–{b}", ends=(a, b), segment="fibre", latency_s=0.0)
    net = emulated_network(graph, Emulation(key_block_bits=500, store_capacity_bits=8000))
    clock = Clock()
    manager = KeyManager(Emulator.start(net, 0), identities(["Alice", "Bob", "Carol"]), speed=2.0, clock=clock)
    return manager, clock


def test_status_has_the_spec_fields(kms):
    manager, clock = kms
    clock.t = 4.0  # 8 emulated seconds: Relay–Bob made 8 blocks = 4000 bit, Alice–Relay is full (8000)
    status = manager.status("KME-alice", "SAE-alice", "SAE-bob")
    assert status == {
        "source_KME_ID": "KME-alice", "target_KME_ID": "KME-bob", "master_SAE_ID": "SAE-alice",
        "slave_SAE_ID": "SAE-bob", "key_size": 256, "stored_key_count": 4000 // 256, "max_key_count": 8000 // 256,
        "max_key_per_request": 128, "max_key_size": 8192, "min_key_size": 64, "max_SAE_ID_count": 0,
    }


def test_keys_arrive_at_the_emulated_rate(kms):
    """Relay–Bob's first 500-bit block comes at 1 emulated second, i.e. 0.5 s of wall clock at x2."""
    manager, clock = kms
    clock.t = 0.49
    with pytest.raises(KmeError) as exc:
        manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", number=1, size=256)
    assert exc.value.status == 503 and exc.value.body["details"][0]["available_bits"] == 0
    clock.t = 0.5
    keys = manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", number=1, size=256)["keys"]
    assert len(base64.b64decode(keys[0]["key"])) == 32
    # 244 bit are left on Relay–Bob: a second key must wait for the next block (at 2 emulated s).
    with pytest.raises(KmeError):
        manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", number=1, size=256)
    clock.t = 1.0
    manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", number=1, size=256)


def test_a_key_goes_to_its_slave_once_and_to_nobody_else(kms):
    manager, clock = kms
    clock.t = 10.0
    issued = manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", number=3, size=128)["keys"]
    ids = [k["key_ID"] for k in issued]
    with pytest.raises(KmeError) as exc:  # Carol is not the slave of these keys
        manager.dec_keys("KME-carol", "SAE-carol", "SAE-alice", ids[:1])
    assert exc.value.status == 401
    with pytest.raises(KmeError) as exc:  # Carol's certificate at Bob's KME
        manager.dec_keys("KME-bob", "SAE-carol", "SAE-alice", ids[:1])
    assert exc.value.status == 401
    got = manager.dec_keys("KME-bob", "SAE-bob", "SAE-alice", ids)["keys"]
    assert got == issued
    with pytest.raises(KmeError) as exc:
        manager.dec_keys("KME-bob", "SAE-bob", "SAE-alice", ids[:1])
    assert exc.value.status == 400


@pytest.mark.parametrize(("kwargs", "status"), [
    ({"number": 0}, 400), ({"number": 129}, 400), ({"size": 100}, 400), ({"size": 32}, 400),
    ({"additional_slave_sae_ids": ["SAE-carol"]}, 400), ({"extension_mandatory": [{"x": 1}]}, 400),
    ({"number": 40, "size": 256}, 400),  # 10,240 bit: more than the 8,000-bit stores hold
])
def test_bad_key_requests_are_400(kms, kwargs, status):
    manager, clock = kms
    clock.t = 10.0
    with pytest.raises(KmeError) as exc:
        manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", **kwargs)
    assert exc.value.status == status and exc.value.body["message"]


def test_unknown_or_own_sae_is_400_and_a_foreign_certificate_401(kms):
    manager, _ = kms
    for slave in ("SAE-nobody", "SAE-alice"):
        with pytest.raises(KmeError) as exc:
            manager.status("KME-alice", "SAE-alice", slave)
        assert exc.value.status == 400
    with pytest.raises(KmeError) as exc:
        manager.status("KME-alice", "SAE-bob", "SAE-carol")
    assert exc.value.status == 401


def test_no_route_during_a_failure_is_503_and_key_flows_again_after():
    """The relay is down from 2 to 4 emulated seconds; stored key cannot cross it (no route), then can."""
    graph = nx.Graph()
    for n, role in (("Alice", "endpoint"), ("Relay", "trusted_node"), ("Bob", "endpoint")):
        graph.add_node(n, role=role, lat_deg=0.0, lon_deg=0.0)
    for a, b in (("Alice", "Relay"), ("Relay", "Bob")):
        graph.add_edge(a, b, key_rate_bps=1000.0, link_id=f"{a}–{b}", ends=(a, b), segment="fibre", latency_s=0.0)
    spec = Emulation(key_block_bits=500, store_capacity_bits=8000,
                     outages=[{"node": "Relay", "start_s": 2.0, "duration_s": 2.0}])
    clock = Clock()
    manager = KeyManager(Emulator.start(emulated_network(graph, spec), 0), identities(["Alice", "Bob"]), clock=clock)
    clock.t = 3.0
    with pytest.raises(KmeError) as exc:
        manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", number=1, size=256)
    assert exc.value.status == 503 and "no route" in exc.value.body["message"]
    clock.t = 4.5
    assert manager.enc_keys("KME-alice", "SAE-alice", "SAE-bob", number=1, size=256)["keys"]
