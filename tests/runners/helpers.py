"""Helpers for the runner tests: runner tokens made through the real service, and a protocol
client that is the runner's own (`flomation.runner.client.ApiClient`). Flows and executions come
from the shared factories."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import httpx

from flomation.db.session import Database
from flomation.runner.client import ApiClient
from flomation.runner.config import RunnerSettings
from flomation.runners import service as runners
from flomation.runners.schemas import RunnerTokenCreate
from flomation.signing import SigningKey, canonical_json, sign_request


async def make_runner_token(
    database: Database,
    organization_id: str,
    *,
    labels: dict[str, str] | None = None,
    expires_at: datetime | None = None,
) -> str:
    async with database.transaction() as session:
        created = await runners.create_token(
            session,
            organization_id=organization_id,
            created_by=None,
            body=RunnerTokenCreate(name="test", labels=labels or {}, expires_at=expires_at),
        )
    return created.token


def runner_client(
    base_url: str,
    token: str,
    *,
    labels: dict[str, str] | None = None,
    key: SigningKey | None = None,
    **extra: Any,
) -> ApiClient:
    """The runner's real client (register, then signed calls)."""
    settings = RunnerSettings(api=base_url, token=token, labels=labels or {}, name="t", **extra)
    return ApiClient(settings, key or SigningKey.generate())


def signed_headers(
    key: SigningKey, runner_id: str, method: str, path: str, body: Any, **kw: Any
) -> tuple[bytes, dict[str, str]]:
    content = canonical_json(body) if body is not None else b""
    headers = sign_request(key, runner_id=runner_id, method=method, path=path, body=content, **kw)
    headers["Content-Type"] = "application/json"
    return content, headers


async def raw_call(
    base_url: str,
    key: SigningKey,
    runner_id: str,
    path: str,
    body: Any,
    *,
    method: str = "POST",
    timestamp: int | None = None,
    nonce: str | None = None,
) -> httpx.Response:
    content, headers = signed_headers(
        key,
        runner_id,
        method,
        path,
        body,
        timestamp=timestamp if timestamp is not None else int(time.time()),
        nonce=nonce,
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return await client.request(method, path, content=content, headers=headers)
