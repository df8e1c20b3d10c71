"""`flomation admin rotate-key`: re-encrypt every secret and connection under a new key.

Rotation, step by step: set FLOMATION_SECRET_KEY_PREVIOUS to the key in use and
FLOMATION_SECRET_KEY to the new one (while both are set, the API decrypts with either), run
this command, then drop FLOMATION_SECRET_KEY_PREVIOUS.
"""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from flomation.cli.admin import admin_app
from flomation.config import Settings
from flomation.connections.service import rotate_key as rotate_connections
from flomation.db.session import Database
from flomation.errors import FlomationError
from flomation.secrets.crypto import Keyring
from flomation.secrets.service import rotate_key as rotate_secrets

console = Console(stderr=True)


@admin_app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every secret and connection with FLOMATION_SECRET_KEY (reading those still
    under FLOMATION_SECRET_KEY_PREVIOUS), in one transaction. Running it again changes
    nothing."""
    try:
        settings = Settings()
        if settings.secret_key_previous is None:
            console.print(
                "[red]error:[/red] set FLOMATION_SECRET_KEY_PREVIOUS to the old key and "
                "FLOMATION_SECRET_KEY to the new one"
            )
            raise typer.Exit(2)
        keyring = Keyring.from_settings(settings)
        secrets, connections = asyncio.run(_rotate(settings.resolved_database_url, keyring))
    except FlomationError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None
    typer.echo(f"Re-encrypted {secrets[0]} secret(s); {secrets[1]} already under the current key")
    typer.echo(
        f"Re-encrypted {connections[0]} connection(s); {connections[1]} already under the "
        "current key"
    )


async def _rotate(url: str, keyring: Keyring) -> tuple[tuple[int, int], tuple[int, int]]:
    """((re-encrypted, current) secrets, the same of connections), in one transaction: a
    failure leaves every value as it was."""
    database = Database(url, pool_size=1)
    try:
        async with database.transaction() as session:
            secrets = await rotate_secrets(session, keyring)
            connections = await rotate_connections(session, keyring)
            return secrets, connections
    finally:
        await database.dispose()
