"""`flomation launch`: the trigger service, against FLOMATION_DATABASE_URL, until SIGTERM or
SIGINT (then it releases its leases so other instances take over at once)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer

from flomation import eventloop
from flomation.cli import app
from flomation.cli.options import console, settings_from
from flomation.config import Settings
from flomation.errors import ConfigurationError


@app.command("launch")
def launch_command(
    data_dir: Path | None = typer.Option(None, "--data-dir", envvar="FLOMATION_DATA_DIR"),
) -> None:
    """Run Launch: schedules, S3 and Git triggers (webhooks are served by the API)."""
    from flomation.logs import configure_logging

    settings = settings_from(data_dir=data_dir)
    configure_logging(settings.log_level)
    try:
        eventloop.run(_run(settings))
    except ConfigurationError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc


async def _run(settings: Settings) -> None:
    from flomation.db.session import Database
    from flomation.launch.service import LaunchService

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    settings.secret_key_bytes()  # secrets (S3/Git credentials) need the key; fail early
    database = Database(settings.resolved_database_url, pool_size=5)
    try:
        await LaunchService(settings, database).run(stop)
    finally:
        await database.dispose()
