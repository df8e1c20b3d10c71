"""The runner's shared HTTP client against a real keep-alive server (uvicorn) on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flomation.engine.egress import IDLE_CONNECTION_EXPIRY_S, AddressPolicy, build_http_client
from tests.live import serve

# gunicorn's default, the shortest keep-alive timeout of the common servers.
SERVER_KEEP_ALIVE_S = 2


async def client_port(request: Request) -> JSONResponse:
    """Which client port the request came from: a new port is a new connection."""
    assert request.client is not None
    return JSONResponse({"port": request.client.port})


@pytest.fixture
async def keep_alive_origin() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/port", client_port, methods=["POST"])])
    async with serve(app, keep_alive_s=SERVER_KEEP_ALIVE_S) as server:
        yield f"{server.base_url}/port"


def test_idle_connections_expire_before_the_shortest_common_server_keep_alive() -> None:
    assert IDLE_CONNECTION_EXPIRY_S < SERVER_KEEP_ALIVE_S / 1.5


async def test_a_connection_idle_longer_than_the_expiry_is_never_reused(
    keep_alive_origin: str,
) -> None:
    """A connection idle nearly as long as the server's keep-alive timeout may be closed by the
    server just as a request goes out on it (a read error for that request, which a POST cannot
    safely repeat), so the client opens a new one instead. Busy connections are still reused."""
    async with build_http_client(AddressPolicy.preset("self_hosted")) as client:
        first = (await client.post(keep_alive_origin, json={})).json()["port"]
        again = (await client.post(keep_alive_origin, json={})).json()["port"]
        assert again == first, "a connection in steady use is kept"

        await asyncio.sleep(IDLE_CONNECTION_EXPIRY_S + 0.3)
        after_idle = (await client.post(keep_alive_origin, json={})).json()["port"]
        assert after_idle != first, "an idle connection past the expiry was reused"
