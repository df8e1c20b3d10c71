"""The local runner of `flomation up`: one `flomation runner` subprocess beside the API, with a
fresh runner token of the first organisation and the API's key pinned.

Use it as a LifespanHook: `create_app(settings, lifespan_hooks=[local_runner_lifespan])`. Each
start revokes the previous local token (its secret is gone with the old process) and makes a
new one, handed to the child through its environment, never on the command line. The child is
supervised: when it exits while the app runs, it is started again after a backoff
(`flomation.supervision`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from flomation.config import Settings
from flomation.db.session import Database
from flomation.runners import repository, service
from flomation.runners.schemas import RunnerTokenCreate, RunnerTokenCreated
from flomation.supervision import supervise

log = logging.getLogger("flomation.runners.local")

LOCAL_TOKEN_NAME = "local runner (flomation up)"
_STOP_GRACE_S = 35.0


async def local_runner_token(database: Database) -> RunnerTokenCreated | None:
    """A new token for the local runner, in the first organisation (None when there is none)."""
    async with database.transaction() as session:
        organization_id = await repository.first_organization_id(session)
        if organization_id is None:
            return None
        await repository.revoke_tokens_named(session, organization_id, LOCAL_TOKEN_NAME)
        created = await service.create_token(
            session,
            organization_id=organization_id,
            created_by=None,
            body=RunnerTokenCreate(name=LOCAL_TOKEN_NAME),
        )
    return created


async def forget_local_runner(database: Database, token_id: str) -> None:
    """The local runner registered with this token has exited: list it offline now, even
    when it died without a goodbye (its leases still run out, so the executions it held count
    it as lost)."""
    async with database.transaction() as session:
        await repository.mark_stopped_by_token(session, token_id)


def local_runner_environment(settings: Settings, token: str) -> dict[str, str]:
    """The child's settings: this API's address, the token, the API key pinned, and the API's
    own certificate as the CA when it serves HTTPS."""
    tls = settings.tls_cert is not None and settings.tls_key is not None
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOMATION_")}
    env.update(
        {
            "FLOMATION_RUNNER_API": f"{'https' if tls else 'http'}://{host}:{settings.port}",
            "FLOMATION_RUNNER_TOKEN": token,
            "FLOMATION_RUNNER_NAME": "local",
            "FLOMATION_RUNNER_API_PUBLIC_KEY": service.api_signing_key(
                settings
            ).public_key_base64(),
            "FLOMATION_RUNNER_LOG_LEVEL": settings.log_level,
        }
    )
    if tls and settings.tls_cert is not None:
        env["FLOMATION_RUNNER_CA_CERT"] = str(Path(settings.tls_cert).resolve())
    return env


@asynccontextmanager
async def local_runner_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The local runner for the app's life, restarted with backoff whenever it exits (a crash,
    a kill -9, an exit asking for a fresh process) until the app stops."""
    settings: Settings = app.state.settings
    database: Database = app.state.database
    token = await local_runner_token(database)
    if token is None:
        log.warning("no organisation yet: the local runner is not started")
        yield
        return
    state = _LocalRunner(settings, database, token, app_stopping=app.state.stopping)
    stop = asyncio.Event()
    task = asyncio.create_task(
        supervise("the local runner", lambda: state.run_once(stop), stop), name="local-runner"
    )
    try:
        yield
    finally:
        stop.set()
        await task


class _LocalRunner:
    """One `flomation runner` child at a time; `run_once` runs one until it exits or `stop`."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        token: RunnerTokenCreated,
        *,
        app_stopping: asyncio.Event | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.token = token
        # Set at the stop signal, before the lifespan ends: a Ctrl-C reaches the child too,
        # and a child that exits because the whole is stopping must not be started again.
        self.app_stopping = app_stopping
        self.starts = 0

    async def run_once(self, stop: asyncio.Event) -> str:
        if self.starts > 0:
            # A fresh token each restart: the one before may have been revoked meanwhile.
            self.token = await local_runner_token(self.database) or self.token
        self.starts += 1
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from flomation.cli import main; main()",
            "runner",
            env=local_runner_environment(self.settings, self.token.token),
            stdin=asyncio.subprocess.DEVNULL,
        )
        log.info("local runner started (pid %d)", process.pid)
        exited = asyncio.ensure_future(process.wait())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not exited.done():
            await _terminate(process)
        await exited
        await forget_local_runner(self.database, self.token.id)
        if self.app_stopping is not None and self.app_stopping.is_set():
            await stop.wait()  # no restart: the lifespan ends next
        return f"pid {process.pid}, exit status {process.returncode}"


async def _terminate(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (the runner drains and says goodbye), then SIGKILL after the grace period."""
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=_STOP_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
