"""An API server that can be stopped and started again on the same port (restart tests)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette

from flomation.api.app import LifespanHook, create_app
from flomation.db.session import Database
from tests.factories import Actor
from tests.live import LiveServer, QuietServer


class RestartableApi:
    """A second API process-alike beside the test's, on a fixed port, with the same settings
    and database; `stop()` and `start()` it at will."""

    def __init__(
        self,
        template: LiveServer,
        *,
        hooks: list[LifespanHook] | None = None,
        **overrides: object,
    ) -> None:
        self._hooks = hooks or []
        self._url = template.app.state.database.url
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._settings = template.app.state.settings.model_copy(
            update={"port": self.port, **overrides}
        )
        self._app: Starlette | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # A database of its own: the app disposes of it when it stops.
        app = create_app(
            self._settings, database=Database(self._url, pool_size=5), lifespan_hooks=self._hooks
        )
        self._app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
        )
        server = QuietServer(config)
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets=[sock]))
        for _ in range(500):
            if server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("the restartable API did not start")

    @asynccontextmanager
    async def user(self, actor: Actor) -> AsyncIterator[Any]:
        """The user's API client, against this server."""
        from tests.runner.processes import Api

        assert self._app is not None, "start() the server first"
        client = Api(LiveServer(app=self._app, base_url=self.base_url), actor)
        try:
            yield client
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=10)
            self._server = None


@asynccontextmanager
async def restartable(
    template: LiveServer, *, hooks: list[LifespanHook] | None = None, **overrides: object
) -> AsyncIterator[RestartableApi]:
    control = RestartableApi(template, hooks=hooks, **overrides)
    await control.start()
    try:
        yield control
    finally:
        await control.stop()
