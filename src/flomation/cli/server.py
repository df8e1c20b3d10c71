"""`flomation api` (the API alone) and `flomation up` (everything on one machine)."""

from __future__ import annotations

from pathlib import Path

import typer

from flomation.cli import app
from flomation.cli.options import console, settings_from
from flomation.errors import ConfigurationError


@app.command("api")
def api_command(
    host: str | None = typer.Option(None, "--host", envvar="FLOMATION_HOST"),
    port: int | None = typer.Option(None, "--port", envvar="FLOMATION_PORT"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", envvar="FLOMATION_TLS_CERT"),
    tls_key: Path | None = typer.Option(None, "--tls-key", envvar="FLOMATION_TLS_KEY"),
    migrate: bool = typer.Option(True, help="Apply pending migrations before serving."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        envvar="FLOMATION_API_WORKERS",
        min=1,
        max=64,
        help="API processes serving the port (PostgreSQL only); about one per core.",
    ),
) -> None:
    """Serve the API (and the editor's files) on PostgreSQL or SQLite."""
    from flomation.serve import serve_api

    settings = settings_from(
        host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, api_workers=workers
    )
    try:
        serve_api(settings, migrate=migrate, embedded=False)
    except ConfigurationError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc


@app.command("up")
def up_command(
    host: str | None = typer.Option(None, "--host", envvar="FLOMATION_HOST"),
    port: int | None = typer.Option(None, "--port", envvar="FLOMATION_PORT"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", envvar="FLOMATION_TLS_CERT"),
    tls_key: Path | None = typer.Option(None, "--tls-key", envvar="FLOMATION_TLS_KEY"),
    data_dir: Path | None = typer.Option(None, "--data-dir", envvar="FLOMATION_DATA_DIR"),
) -> None:
    """Everything in one process tree on the embedded SQLite database: the API, the editor,
    Launch and one local runner."""
    from flomation.serve import serve_api

    settings = settings_from(
        host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, data_dir=data_dir
    )
    if not settings.is_sqlite:
        console.print(
            "[yellow]note:[/yellow] FLOMATION_DATABASE_URL points at PostgreSQL; `up` uses it."
        )
    try:
        serve_api(settings, migrate=True, embedded=True)
    except ConfigurationError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
