"""Serving the API process: migrations, the first admin, and (for `flomation up`) the
embedded Launch service and a local runner subprocess."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from rich.console import Console

from flomation.api.app import LifespanHook, create_app
from flomation.config import Settings
from flomation.db.migrate import upgrade
from flomation.db.session import Database
from flomation.errors import ConfigurationError
from flomation.logs import configure_logging

log = logging.getLogger("flomation.serve")
console = Console(stderr=True)


def serve_api(settings: Settings, *, migrate: bool, embedded: bool) -> None:
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.secret_key_bytes()  # fail early, before serving, when the key is missing
    if migrate:
        upgrade(settings.resolved_database_url)
    asyncio.run(_serve(settings, embedded=embedded))


async def _serve(settings: Settings, *, embedded: bool) -> None:
    database = Database(settings.resolved_database_url)
    await _bootstrap_admin(settings, database)
    hooks: list[LifespanHook] = []
    if embedded:
        hooks.extend(await _embedded_hooks(settings, database))
    app = create_app(settings, database=database, lifespan_hooks=hooks)
    tls = settings.tls_cert is not None and settings.tls_key is not None
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        ssl_certfile=str(settings.tls_cert) if tls else None,
        ssl_keyfile=str(settings.tls_key) if tls else None,
        timeout_graceful_shutdown=10,
    )
    scheme = "https" if tls else "http"
    console.print(f"Flomation is serving at {scheme}://{settings.host}:{settings.port}/")
    await uvicorn.Server(config).serve()


async def _bootstrap_admin(settings: Settings, database: Database) -> None:
    from flomation.auth.service import ensure_first_admin

    async with database.transaction() as session:
        created = await ensure_first_admin(
            session, email=settings.admin_email, password=settings.admin_password
        )
    if created is not None:
        email, password = created
        shown = password if settings.admin_password is None else "(from FLOMATION_ADMIN_PASSWORD)"
        console.print(f"First admin created. Log in as {email} with password: {shown}")


async def _embedded_hooks(settings: Settings, database: Database) -> list[LifespanHook]:
    """`flomation up`: Launch in this process, and one local runner as a child process."""
    from flomation.launch.service import lifespan_hook as launch_lifespan_hook

    token = await _local_runner_token(database)

    @asynccontextmanager
    async def local_runner(app: FastAPI) -> AsyncIterator[None]:
        process = await _start_local_runner(settings, token)
        try:
            yield
        finally:
            await _stop_process(process)

    return [launch_lifespan_hook(settings, database), local_runner]


LOCAL_RUNNER_TOKEN_NAME = "flomation up: local runner"


async def _local_runner_token(database: Database) -> str:
    """A fresh runner token for the local runner; the one of the previous start is revoked."""
    from flomation.auth.service import first_organization_id
    from flomation.runners.schemas import RunnerTokenCreate
    from flomation.runners.service import create_token, list_tokens, revoke_token

    async with database.transaction() as session:
        organization_id = await first_organization_id(session)
        if organization_id is None:
            raise ConfigurationError("no organisation exists to attach the local runner to")
        cursor: str | None = None
        while True:
            tokens, cursor = await list_tokens(session, organization_id, limit=500, cursor=cursor)
            for previous in tokens:
                if previous.name == LOCAL_RUNNER_TOKEN_NAME and previous.revoked_at is None:
                    await revoke_token(
                        session, organization_id=organization_id, token_id=previous.id
                    )
            if cursor is None:
                break
        created = await create_token(
            session,
            organization_id=organization_id,
            created_by=None,
            body=RunnerTokenCreate(name=LOCAL_RUNNER_TOKEN_NAME, labels={"location": "local"}),
        )
    return created.token


def _local_api_url(settings: Settings) -> str:
    tls = settings.tls_cert is not None and settings.tls_key is not None
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    return f"{'https' if tls else 'http'}://{host}:{settings.port}"


async def _start_local_runner(settings: Settings, token: str) -> asyncio.subprocess.Process:
    # The token goes through the environment, never the command line (visible to `ps`).
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOMATION_")}
    env.update(
        {
            "FLOMATION_RUNNER_API": _local_api_url(settings),
            "FLOMATION_RUNNER_TOKEN": token,
            "FLOMATION_RUNNER_NAME": "local",
            "FLOMATION_RUNNER_LOG_LEVEL": settings.log_level,
        }
    )
    if settings.tls_cert is not None:
        env["FLOMATION_RUNNER_CA_CERT"] = str(settings.tls_cert)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "flomation", "runner", env=env, start_new_session=True
    )


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=35)
    except TimeoutError:
        process.kill()
        await process.wait()
