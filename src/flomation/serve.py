"""Serving the API process: migrations, the first admin, and (for `flomation up`) the
embedded Launch service and a local runner subprocess, both supervised."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI
from rich.console import Console

from flomation import eventloop
from flomation.api.app import LifespanHook, create_app
from flomation.config import Settings
from flomation.db.migrate import upgrade
from flomation.db.session import Database
from flomation.errors import ConfigurationError
from flomation.logs import configure_logging
from flomation.supervision import supervise

log = logging.getLogger("flomation.serve")
console = Console(stderr=True)


# The settings of `flomation api --workers N`, handed to the worker processes (spawned, so they
# inherit the environment) so that every worker serves with exactly the parent's settings.
WORKER_SETTINGS_ENV = "FLOMATION_SERVE_WORKER_SETTINGS"


def serve_api(settings: Settings, *, migrate: bool, embedded: bool) -> None:
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.secret_key_bytes()  # fail early, before serving, when the key is missing
    if settings.api_workers > 1 and (embedded or settings.is_sqlite):
        # SQLite has one writer and wakes runners in-process; `up` runs Launch and a runner
        # beside its one API process.
        raise ConfigurationError(
            "Several API workers need PostgreSQL and `flomation api`: set FLOMATION_API_WORKERS=1"
        )
    if migrate:
        upgrade(settings.resolved_database_url)
    if settings.api_workers > 1:
        _serve_workers(settings)
        return
    eventloop.run(_serve(settings, embedded=embedded))


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    tls = settings.tls_cert is not None and settings.tls_key is not None
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        # Forwarded headers only from the proxies the operator named (uvicorn would otherwise
        # trust FORWARDED_ALLOW_IPS, loopback by default).
        "proxy_headers": bool(settings.trusted_proxies.strip()),
        "forwarded_allow_ips": settings.trusted_proxies.strip() or None,
        "ssl_certfile": str(settings.tls_cert) if tls else None,
        "ssl_keyfile": str(settings.tls_key) if tls else None,
        "timeout_graceful_shutdown": 10,
    }


def _announce(settings: Settings) -> None:
    scheme = "https" if settings.tls_cert is not None and settings.tls_key is not None else "http"
    console.print(f"Flomation is serving at {scheme}://{settings.host}:{settings.port}/")


async def _serve(settings: Settings, *, embedded: bool) -> None:
    database = Database.for_api(settings)
    await _bootstrap_admin(settings, database)
    hooks: list[LifespanHook] = []
    if embedded:
        hooks.extend(await _embedded_hooks(settings, database))
    app = create_app(settings, database=database, lifespan_hooks=hooks)
    config = uvicorn.Config(app, **_uvicorn_options(settings))
    _announce(settings)
    await StoppingAwareServer(config, app).serve()


def _serve_workers(settings: Settings) -> None:
    """Several API processes on one port (uvicorn's supervisor): each builds its own app and
    pool from the same settings, signs and verifies with the same key, LISTENs for wake-ups on
    its own connection and runs queue maintenance, which is safe with several processes."""
    asyncio.run(_bootstrap_admin_once(settings))
    os.environ[WORKER_SETTINGS_ENV] = settings.model_dump_json()
    _announce(settings)
    uvicorn.run(
        "flomation.serve:worker_app",
        factory=True,
        workers=settings.api_workers,
        **_uvicorn_options(settings),
    )


def worker_app() -> FastAPI:
    """The app of one `flomation api --workers N` process (uvicorn calls this in each)."""
    settings = Settings.model_validate_json(os.environ[WORKER_SETTINGS_ENV])
    configure_logging(settings.log_level)
    return create_app(settings)


async def _bootstrap_admin_once(settings: Settings) -> None:
    database = Database(settings.resolved_database_url)
    try:
        await _bootstrap_admin(settings, database)
    finally:
        await database.dispose()


class StoppingAwareServer(uvicorn.Server):
    """Tells the app the moment a stop is asked for (`app.state.stopping`), so that open long
    polls answer at once and the graceful shutdown does not wait them out."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.app.state.stopping.set()
        super().handle_exit(sig, frame)


async def _bootstrap_admin(settings: Settings, database: Database) -> None:
    from flomation.auth.service import ensure_first_admin

    async with database.transaction() as session:
        created = await ensure_first_admin(
            session, email=settings.admin_email, password=settings.admin_password
        )
    if created is not None:
        email, password = created
        shown = password if settings.admin_password is None else "(from FLOMATION_ADMIN_PASSWORD)"
        console.print(
            f"First admin created. Log in as {email} with password: {shown}", soft_wrap=True
        )


async def _embedded_hooks(settings: Settings, database: Database) -> list[LifespanHook]:
    """`flomation up`: Launch in this process, and one local runner as a child process, each
    started again with backoff when it ends while the API runs."""
    from flomation.runners.local import local_runner_lifespan

    return [supervised_launch(settings, database), local_runner_lifespan]


def supervised_launch(settings: Settings, database: Database) -> LifespanHook:
    """Launch as a task of this process (on SQLite the triggers it fires wake the runners'
    long polls in this process), supervised: should it ever end or fail while the API runs,
    a fresh Launch service takes over after a backoff. It stops, releasing its leases, when
    the app stops."""
    from flomation.launch.service import LaunchService

    @asynccontextmanager
    async def hook(_app: object) -> AsyncIterator[None]:
        stop = asyncio.Event()

        async def run_once() -> str:
            await LaunchService(settings, database).run(stop)
            return "returned"

        task = asyncio.create_task(supervise("Launch", run_once, stop), name="launch")
        try:
            yield
        finally:
            stop.set()
            await task

    return hook
