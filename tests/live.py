"""A real API server on loopback for tests: uvicorn serving our app in the test's event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.applications import Starlette


@dataclass
class LiveServer:
    app: Starlette
    base_url: str

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, headers=headers or {}, timeout=30)


class QuietServer(uvicorn.Server):
    """uvicorn's server, less its signal handling: while serving, uvicorn takes the process's
    SIGINT and SIGTERM for itself and replays them only once it has stopped, so a Ctrl+C would
    stop the test's server rather than pytest. Tests stop it by flag (`should_exit`) instead."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serve(app: Starlette, *, keep_alive_s: int = 5) -> AsyncIterator[LiveServer]:
    """`keep_alive_s`: how long the server keeps an idle connection (uvicorn's default, 5)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=keep_alive_s,
    )
    server = QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        if not server.started:
            raise RuntimeError("the test API server did not start within 5 s")
        yield LiveServer(app=app, base_url=f"http://127.0.0.1:{port}")
    finally:
        # Apps made by create_app have the event; bare apps and wrappers in tests may not.
        stopping = getattr(getattr(app, "state", None), "stopping", None)
        if stopping is not None:
            stopping.set()
        server.should_exit = True
        try:
            await asyncio.wait_for(task, timeout=10)
        finally:
            sock.close()
