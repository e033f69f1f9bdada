"""The ETSI GS QKD 014 V1.1.1 REST API (FastAPI), one KME per listening port.

Endpoints (section 5 of the specification), under ``/api/v1/keys``:

* ``GET {slave_SAE_ID}/status`` — Status;
* ``POST {slave_SAE_ID}/enc_keys`` (Key request: ``number``, ``size``,
  ``additional_slave_SAE_IDs``, ``extension_mandatory``,
  ``extension_optional``) and ``GET {slave_SAE_ID}/enc_keys?number=&size=``
  — Get key;
* ``POST {master_SAE_ID}/dec_keys`` (Key IDs: ``key_IDs: [{key_ID}]``) and
  ``GET {master_SAE_ID}/dec_keys?key_ID=`` — Get key with key IDs.

Responses are the spec's Status and Key container (``keys: [{key_ID, key}]``,
keys in base64); errors its Error object (``message``, ``details``) with 400
(bad request), 401 (unauthorized SAE) or 503 (error on the server side: here,
not enough key yet). The calling SAE is the common name of its TLS client
certificate, which the server requires (see :mod:`qnetemu.serve.server`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from qnetemu.serve.kme import KeyManager, KmeError

#: Where the TLS layer leaves the client certificate's common name (see server.PeerCertH11Protocol).
PEER_CN = "tls_peer_cn"


class KeyRequest(BaseModel):
    """Key request (ETSI GS QKD 014, 6.2)."""

    model_config = ConfigDict(extra="allow")
    number: int | None = Field(None, description="Number of keys requested (default 1).")
    size: int | None = Field(None, description="Size of each key [bit] (default key_size of Status).")
    additional_slave_SAE_IDs: list[str] | None = None
    extension_mandatory: list[dict[str, Any]] | None = None
    extension_optional: list[dict[str, Any]] | None = None


class KeyIdRef(BaseModel):
    model_config = ConfigDict(extra="allow")
    key_ID: str
    key_ID_extension: dict[str, Any] | None = None


class KeyIds(BaseModel):
    """Key IDs (ETSI GS QKD 014, 6.4)."""

    model_config = ConfigDict(extra="allow")
    key_IDs: list[KeyIdRef]
    key_IDs_extension: dict[str, Any] | None = None


def create_app(manager: KeyManager, kme_by_port: dict[int, str]) -> FastAPI:
    """One ASGI app for all KMEs: the port a request arrived on names the KME."""
    app = FastAPI(title="qnetemu KMEs (ETSI GS QKD 014 V1.1.1)", docs_url=None, redoc_url=None, openapi_url=None)

    def who(request: Request) -> tuple[str, str | None]:
        port = request.scope["server"][1]
        return kme_by_port[port], request.scope.get("state", {}).get(PEER_CN)

    @app.exception_handler(KmeError)
    async def _kme_error(_request: Request, exc: KmeError):
        return JSONResponse(exc.body, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_request: Request, exc: RequestValidationError):
        details = [{"location": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg")}
                   for e in exc.errors()]
        return JSONResponse({"message": "bad request format", "details": details}, status_code=400)

    @app.get("/api/v1/keys/{slave_SAE_ID}/status")
    async def status(slave_SAE_ID: str, request: Request):  # noqa: N803 (the spec's name)
        return manager.status(*who(request), slave_SAE_ID)

    @app.post("/api/v1/keys/{slave_SAE_ID}/enc_keys")
    async def enc_keys_post(slave_SAE_ID: str, body: KeyRequest, request: Request):  # noqa: N803
        return manager.enc_keys(*who(request), slave_SAE_ID, number=body.number, size=body.size,
                                additional_slave_sae_ids=body.additional_slave_SAE_IDs,
                                extension_mandatory=body.extension_mandatory)

    @app.get("/api/v1/keys/{slave_SAE_ID}/enc_keys")
    async def enc_keys_get(slave_SAE_ID: str, request: Request, number: int | None = None,  # noqa: N803
                           size: int | None = None):
        return manager.enc_keys(*who(request), slave_SAE_ID, number=number, size=size)

    @app.post("/api/v1/keys/{master_SAE_ID}/dec_keys")
    async def dec_keys_post(master_SAE_ID: str, body: KeyIds, request: Request):  # noqa: N803
        return manager.dec_keys(*who(request), master_SAE_ID, [k.key_ID for k in body.key_IDs])

    @app.get("/api/v1/keys/{master_SAE_ID}/dec_keys")
    async def dec_keys_get(master_SAE_ID: str, request: Request, key_ID: str = Query(...)):  # noqa: N803
        return manager.dec_keys(*who(request), master_SAE_ID, [key_ID])

    return app
