"""`flomation db upgrade`: apply the migrations to FLOMATION_DATABASE_URL."""

from __future__ import annotations

import typer
from rich.console import Console

from flomation.cli import app
from flomation.config import Settings
from flomation.db.migrate import head_revision, upgrade
from flomation.errors import ConfigurationError

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade(
    database_url: str | None = typer.Option(
        None, "--database-url", envvar="FLOMATION_DATABASE_URL", help="Database to migrate."
    ),
) -> None:
    """Apply every migration up to the newest."""
    settings = Settings() if database_url is None else Settings(database_url=database_url)
    try:
        upgrade(settings.resolved_database_url)
    except ConfigurationError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    console.print(f"database at migration {head_revision()}")
