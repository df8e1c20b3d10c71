"""A client must send its body in time: a stalled or trickling body is answered 408
problem+json and the connection closed, by a real uvicorn server, within the configured bound.
Only the body is timed: a slow handler or a long streamed answer is not cut."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from flomation.api.app import create_app
from flomation.db.session import Database
from tests.conftest import make_settings
from tests.live import LiveServer, serve

TOTAL_S = 1.5
IDLE_S = 1.0
# How much later than its bound the answer may come (a loaded 2-core test host).
SLACK_S = 2.0

StartApi = Callable[..., AbstractAsyncContextManager[LiveServer]]

# The database plays no part in reading a body: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def start_api(database: Database, database_url: str, tmp_path: Path) -> StartApi:
    @asynccontextmanager
    async def start(**overrides: object) -> AsyncIterator[LiveServer]:
        settings = make_settings(
            database_url,
            tmp_path / "data",
            body_read_timeout_s=TOTAL_S,
            body_read_idle_timeout_s=IDLE_S,
            **overrides,
        )
        app = create_app(settings, database=database)

        async def slow(request: Request) -> JSONResponse:
            body = await request.body()
            await asyncio.sleep(TOTAL_S + 1)
            return JSONResponse({"length": len(body)})

        async def stream() -> StreamingResponse:
            async def chunks() -> AsyncIterator[bytes]:
                for number in range(5):
                    yield f"{number}\n".encode()
                    await asyncio.sleep(TOTAL_S / 2)

            return StreamingResponse(chunks(), media_type="text/plain")

        app.add_api_route("/test/slow", slow, methods=["POST"])
        app.add_api_route("/test/stream", stream, methods=["GET"])
        # Ahead of the editor's catch-all, which would answer them otherwise.
        added = app.router.routes[-2:]
        del app.router.routes[-2:]
        app.router.routes[0:0] = added
        async with serve(app) as server:
            yield server

    return start


async def _trickle(
    server: LiveServer, path: str, *, content_type: str, interval_s: float, length: int = 100
) -> tuple[int, dict[str, str], bytes, float]:
    """Send headers, then one body byte every `interval_s` until the server answers; return
    the status, headers, body and the seconds until the server closed the connection."""
    host, port = server.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    loop = asyncio.get_running_loop()
    started = loop.time()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )
    writer.write(head.encode())

    async def trickle() -> None:
        for _ in range(length):
            await asyncio.sleep(interval_s)
            try:
                writer.write(b" ")
                await writer.drain()
            except (ConnectionError, RuntimeError):
                return

    async def read_until_closed() -> bytes:
        # Chunk by chunk until EOF. A server that closes while body bytes it never read are
        # still arriving makes the kernel send a reset instead of a plain close; what came
        # before the reset is the answer, and the reset is the close.
        chunks: list[bytes] = []
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                if not chunks:
                    raise
                return b"".join(chunks)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    sender = asyncio.create_task(trickle())
    try:
        data = await asyncio.wait_for(read_until_closed(), timeout=TOTAL_S + IDLE_S + 10)
    finally:
        sender.cancel()
        writer.close()
    closed_after = loop.time() - started
    raw_head, _, body = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body, closed_after


async def test_a_body_trickling_a_byte_per_1_5_s_is_answered_408_and_closed(
    start_api: StartApi,
) -> None:
    async with start_api() as server:
        status, headers, body, closed_after = await _trickle(
            server, "/api/v1/auth/login", content_type="application/json", interval_s=1.5
        )
    assert status == 408
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = json.loads(body)
    assert problem["status"] == 408
    assert "stalled" in problem["detail"]
    assert closed_after < IDLE_S + SLACK_S


async def test_a_body_that_keeps_coming_but_too_slowly_ends_at_the_whole_body_limit(
    start_api: StartApi,
) -> None:
    async with start_api() as server:
        status, _, body, closed_after = await _trickle(
            server, "/api/v1/auth/login", content_type="application/json", interval_s=0.3
        )
    assert status == 408
    assert "did not arrive within 1.5 seconds" in json.loads(body)["detail"]
    assert TOTAL_S - 0.1 <= closed_after < TOTAL_S + SLACK_S


async def test_a_body_a_handler_reads_itself_is_timed_too(start_api: StartApi) -> None:
    # A webhook reads its (text) body in the handler, past FastAPI's own body parsing.
    async with start_api() as server:
        status, headers, _, closed_after = await _trickle(
            server, "/hooks/anything", content_type="text/plain", interval_s=1.5
        )
    assert status == 408
    assert headers["connection"] == "close"
    assert closed_after < IDLE_S + SLACK_S


async def test_a_slow_handler_and_a_long_streamed_answer_are_not_cut(start_api: StartApi) -> None:
    async with start_api() as server, server.client() as client:
        slow = await client.post("/test/slow", content=b"x" * 10)
        streamed = await client.get("/test/stream")
    assert slow.status_code == 200
    assert slow.json() == {"length": 10}
    assert streamed.status_code == 200
    assert streamed.text == "0\n1\n2\n3\n4\n"
