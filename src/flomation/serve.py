"""Serving the API process: migrations, the first admin, and (for `flomation up`) the
embedded Launch service and a local runner subprocess."""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from rich.console import Console

from flomation.api.app import LifespanHook, create_app
from flomation.config import Settings
from flomation.db.migrate import upgrade
from flomation.db.session import Database
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
    from flomation.runners.local import local_runner_lifespan

    return [launch_lifespan_hook(settings, database), local_runner_lifespan]
