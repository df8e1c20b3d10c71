"""The request edge of the signed runner protocol: verifying each request (committed on its
own, so that a nonce stays used even when the work the request asked for fails) and signing
each answer with the API's key."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response

from flomation.api.deps import DatabaseDep, SettingsDep
from flomation.config import Settings
from flomation.runners import service
from flomation.runners.service import AuthenticatedRunner
from flomation.signing import HEADER_SIGNATURE, canonical_json, parse_request_headers, sign_response

# Nonces are pruned by whichever request comes first after this many seconds, in every process.
_PRUNE_EVERY_S = 30.0
_last_prune = 0.0


def signed_path(request: Request) -> str:
    """The path as the runner sent it, with its query string: what the runner signed."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string") or b""
    path = raw_path.decode("latin-1")
    return f"{path}?{query.decode('latin-1')}" if query else path


async def signed_runner(
    request: Request, database: DatabaseDep, settings: SettingsDep
) -> AuthenticatedRunner:
    global _last_prune
    signed = parse_request_headers(request.headers)
    body = await request.body()
    # One statement when the runner's key is known: no BEGIN/COMMIT round trips on PostgreSQL.
    async with database.statements() as session:
        runner = await service.authenticate(
            session,
            signed,
            method=request.method,
            path=signed_path(request),
            body=body,
            max_skew_s=settings.signature_max_skew_seconds,
        )
    if time.monotonic() - _last_prune > _PRUNE_EVERY_S:
        _last_prune = time.monotonic()
        async with database.transaction() as session:
            await service.prune_nonces(session, max_skew_s=settings.signature_max_skew_seconds)
    return runner


SignedRunner = Annotated[AuthenticatedRunner, Depends(signed_runner)]


def signed_json(
    payload: Any, *, settings: Settings, runner_id: str, request_nonce: str, status: int = 200
) -> Response:
    """A JSON answer in canonical form, signed for the runner that asked."""
    body = canonical_json(payload)
    signature = sign_response(
        service.api_signing_key(settings),
        status=status,
        runner_id=runner_id,
        request_nonce=request_nonce,
        body=body,
    )
    return Response(
        content=body,
        status_code=status,
        media_type="application/json",
        headers={HEADER_SIGNATURE: signature},
    )
