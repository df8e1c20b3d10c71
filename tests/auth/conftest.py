"""Helpers of the auth tests: servers with their own settings, logins, raw HTTP requests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from flomation.api.app import create_app
from flomation.db.session import Database
from flomation.models.auth import AccessToken
from tests.conftest import make_settings
from tests.factories import DEFAULT_PASSWORD
from tests.live import LiveServer, serve

StartApi = Callable[..., AbstractAsyncContextManager[LiveServer]]


@pytest.fixture
def start_api(database: Database, database_url: str, tmp_path: Path) -> StartApi:
    """Start the real API on the test database with some settings overridden."""

    @asynccontextmanager
    async def start(**overrides: object) -> AsyncIterator[LiveServer]:
        settings = make_settings(database_url, tmp_path / "data", **overrides)
        async with serve(create_app(settings, database=database)) as server:
            yield server

    return start


async def login(
    client: httpx.AsyncClient,
    email: str,
    password: str = DEFAULT_PASSWORD,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header of a response by cookie name (the whole header line)."""
    found: dict[str, str] = {}
    for line in response.headers.get_list("set-cookie"):
        found[line.split("=", 1)[0]] = line
    return found


async def session_row(database: Database, token_id: str) -> AccessToken:
    async with database.transaction() as session:
        row = await session.scalar(select(AccessToken).where(AccessToken.id == token_id))
    assert row is not None
    return row


@dataclass(frozen=True)
class RawResponse:
    status: int
    head: str
    body: str


async def raw_request(
    base_url: str, method: str, target: str, headers: dict[str, str] | None = None
) -> RawResponse:
    """Send a request line exactly as written (no client-side path normalisation)."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.decode("latin-1").partition("\r\n\r\n")
    return RawResponse(status=int(head.split(" ", 2)[1]), head=head, body=body)
