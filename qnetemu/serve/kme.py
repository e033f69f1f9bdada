"""Key Management Entities over the emulation: the logic behind ETSI GS QKD 014 V1.1.1.

One :class:`KeyManager` holds every site's KME. Link key comes from a live
:class:`qnetemu.emulate.kernel.Emulator` advanced to the emulated time
(wall-clock time since start x ``speed``): a "Get key" request from master
SAE A for slave SAE B spends ``number x size`` bits on every link of the
current A–B route (one-time-pad relay, as in ``qnetemu emulate``), or fails
with 503 when the route's stores hold less. The delivered keys wait at B's
KME and are handed to B, and to nobody else, once, by their key IDs.

Key bits handed out are fresh random bytes (:func:`secrets.token_bytes`): the
emulator models how much key exists, not its bits.
"""

from __future__ import annotations

import base64
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from qnetemu.emulate.kernel import Emulator
from qnetemu.serve.certs import SaeIdentity

#: Limits announced in Status (ETSI GS QKD 014 V1.1.1, 6.1). Sizes in bits.
DEFAULT_KEY_SIZE_BITS = 256
MIN_KEY_SIZE_BITS = 64
MAX_KEY_SIZE_BITS = 8192
MAX_KEY_PER_REQUEST = 128
#: No multicast: additional_slave_SAE_IDs are refused.
MAX_SAE_ID_COUNT = 0


class KmeError(Exception):
    """An ETSI GS QKD 014 error: HTTP status and the Error object (message, details)."""

    def __init__(self, status: int, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"message": message, **({"details": details} if details else {})}


@dataclass
class _Key:
    master: str
    slave: str
    key: bytes


@dataclass
class KeyManager:
    """Every site's KME, sharing one emulated network."""

    emulator: Emulator
    saes: list[SaeIdentity]
    speed: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _t0: float = field(default=0.0, init=False)
    _keys: dict[str, _Key] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self):
        if not self.speed > 0:
            raise ValueError(f"speed must be positive, got {self.speed}")
        self._t0 = self.clock()
        self.by_sae = {s.sae_id: s for s in self.saes}
        self.by_kme = {s.kme_id: s for s in self.saes}

    # -------------------------------------------------------------- time

    def emulated_now_s(self) -> float:
        return (self.clock() - self._t0) * self.speed

    def _advance(self) -> None:
        # Just past now: simpy stops before events at the boundary, and key made at now is there now.
        now = math.nextafter(self.emulated_now_s(), math.inf)
        if now > self.emulator.state.now_s:
            self.emulator.run_until(now, with_applications=False, with_samples=False)

    # -------------------------------------------------------------- checks

    def _caller(self, kme_id: str, caller_sae: str | None) -> SaeIdentity:
        me = self.by_kme[kme_id]
        if caller_sae is None or caller_sae != me.sae_id:
            raise KmeError(401, "unauthorized: the client certificate is not that of this KME's SAE",
                           [{"kme_ID": kme_id, "client_certificate_CN": caller_sae}])
        return me

    def _peer(self, sae_id: str, role: str) -> SaeIdentity:
        if sae_id not in self.by_sae:
            raise KmeError(400, f"unknown {role} SAE ID {sae_id!r}", [{"known_SAE_IDs": sorted(self.by_sae)}])
        return self.by_sae[sae_id]

    def _capacity_bits(self, a: str, b: str) -> float:
        _, hops = self.emulator.routes([(a, b)])[0]
        return min((self.emulator.net.links[k].capacity_bits for k in hops), default=0.0)

    # -------------------------------------------------------------- API

    def status(self, kme_id: str, caller_sae: str | None, slave_sae_id: str) -> dict:
        """Status (6.1): what this KME can deliver to the pair (caller as master, slave_SAE_ID)."""
        with self._lock:
            me = self._caller(kme_id, caller_sae)
            slave = self._peer(slave_sae_id, "slave")
            if slave.sae_id == me.sae_id:
                raise KmeError(400, "slave_SAE_ID is the calling SAE itself")
            self._advance()
            stored = self.emulator.available_bits(me.site, slave.site)
            return {
                "source_KME_ID": me.kme_id, "target_KME_ID": slave.kme_id,
                "master_SAE_ID": me.sae_id, "slave_SAE_ID": slave.sae_id,
                "key_size": DEFAULT_KEY_SIZE_BITS,
                "stored_key_count": int(stored // DEFAULT_KEY_SIZE_BITS),
                "max_key_count": int(self._capacity_bits(me.site, slave.site) // DEFAULT_KEY_SIZE_BITS),
                "max_key_per_request": MAX_KEY_PER_REQUEST, "max_key_size": MAX_KEY_SIZE_BITS,
                "min_key_size": MIN_KEY_SIZE_BITS, "max_SAE_ID_count": MAX_SAE_ID_COUNT,
            }

    def enc_keys(self, kme_id: str, caller_sae: str | None, slave_sae_id: str, *, number: int | None = None,
                 size: int | None = None, additional_slave_sae_ids: list | None = None,
                 extension_mandatory: list | None = None) -> dict:
        """Get key (6.2, 6.3): ``number`` keys of ``size`` bits for the caller (master) and slave_SAE_ID."""
        number = 1 if number is None else number
        size = DEFAULT_KEY_SIZE_BITS if size is None else size
        with self._lock:
            me = self._caller(kme_id, caller_sae)
            slave = self._peer(slave_sae_id, "slave")
            if slave.sae_id == me.sae_id:
                raise KmeError(400, "slave_SAE_ID is the calling SAE itself")
            if additional_slave_sae_ids:
                raise KmeError(400, "additional_slave_SAE_IDs are not supported (max_SAE_ID_count is 0)")
            if extension_mandatory:
                raise KmeError(400, "not supported extension_mandatory parameters",
                               [{"extension_mandatory_unsupported": extension_mandatory}])
            if not 1 <= number <= MAX_KEY_PER_REQUEST:
                raise KmeError(400, f"number must be between 1 and {MAX_KEY_PER_REQUEST}", [{"number": number}])
            if not (MIN_KEY_SIZE_BITS <= size <= MAX_KEY_SIZE_BITS and size % 8 == 0):
                raise KmeError(400, f"size must be a multiple of 8 between {MIN_KEY_SIZE_BITS} and "
                               f"{MAX_KEY_SIZE_BITS} bits", [{"size": size}])
            need = float(number * size)
            self._advance()
            if not self.emulator.routes([(me.site, slave.site)])[0][1]:
                raise KmeError(503, "no route between the KMEs at the moment (failures); retry later")
            capacity = self._capacity_bits(me.site, slave.site)
            if need > capacity:
                raise KmeError(400, "more key than the stores between the KMEs can hold",
                               [{"requested_bits": number * size, "store_capacity_bits": int(capacity)}])
            route = self.emulator.draw(me.site, slave.site, need)
            if route is None:
                have = self.emulator.available_bits(me.site, slave.site)
                raise KmeError(503, "not enough key material yet between the KMEs; retry later",
                               [{"requested_bits": int(need), "available_bits": int(math.floor(have))}])
            keys = []
            for _ in range(number):
                key_id = str(uuid.uuid4())
                material = secrets.token_bytes(size // 8)
                self._keys[key_id] = _Key(master=me.sae_id, slave=slave.sae_id, key=material)
                keys.append({"key_ID": key_id, "key": base64.b64encode(material).decode("ascii")})
            return {"keys": keys}

    def dec_keys(self, kme_id: str, caller_sae: str | None, master_sae_id: str, key_ids: list[str]) -> dict:
        """Get key with key IDs (6.4, 6.5): the keys master_SAE_ID obtained for the caller, once each."""
        with self._lock:
            me = self._caller(kme_id, caller_sae)
            master = self._peer(master_sae_id, "master")
            if not key_ids:
                raise KmeError(400, "key_IDs is empty")
            if len(set(key_ids)) != len(key_ids):
                raise KmeError(400, "a key_ID is asked for twice")
            found = [self._keys.get(k) for k in key_ids]
            unknown = [k for k, v in zip(key_ids, found, strict=True) if v is None or v.master != master.sae_id]
            if unknown:
                raise KmeError(400, "unknown key_ID for this master SAE (never issued, or already delivered)",
                               [{"key_IDs": unknown}])
            foreign = [k for k, v in zip(key_ids, found, strict=True) if v.slave != me.sae_id]
            if foreign:
                raise KmeError(401, "unauthorized: these keys were issued for another slave SAE",
                               [{"key_IDs": foreign}])
            for k in key_ids:
                del self._keys[k]
            return {"keys": [{"key_ID": k, "key": base64.b64encode(v.key).decode("ascii")}
                             for k, v in zip(key_ids, found, strict=True)]}
