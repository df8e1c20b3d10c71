"""`flomation admin ...`: operator commands that act on the database directly.

Other command modules add their own admin commands to `admin_app` (e.g. `rotate-key`).
"""

from __future__ import annotations

import asyncio

import typer
from pydantic import ValidationError
from rich.console import Console

from flomation.auth.roles import Role
from flomation.auth.schemas import UserCreate
from flomation.auth.service import CreatedUser, create_user_in_organization
from flomation.cli import app
from flomation.config import Settings
from flomation.db.migrate import upgrade
from flomation.db.session import Database
from flomation.errors import FlomationError

admin_app = typer.Typer(help="Administration: users and keys.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
console = Console(stderr=True)


@admin_app.command("create-user")
def create_user(
    email: str = typer.Option(..., "--email", help="The user's email (their login)."),
    password: str = typer.Option(..., "--password", help="At least 8 characters."),
    role: Role | None = typer.Option(
        None,
        "--role",
        case_sensitive=False,
        help="owner, admin, editor or viewer. Default: owner when the organisation has no "
        "owner yet (e.g. it is created now), else admin.",
    ),
    org: str | None = typer.Option(
        None,
        "--org",
        help="Organisation name, created when it does not exist. Default: the first "
        "organisation, or a new one named Default.",
    ),
    name: str | None = typer.Option(None, "--name", help="Display name. Default: from the email."),
) -> None:
    """Create a user (and its organisation when needed) on FLOMATION_DATABASE_URL, or the
    embedded database in FLOMATION_DATA_DIR, migrating it first."""
    try:
        request = UserCreate(
            email=email,
            password=password,
            name=name or email.split("@", 1)[0] or email,
            role=role or Role.ADMIN,
        )
    except ValidationError as exc:
        for error in exc.errors():
            console.print(f"[red]error:[/red] --{error['loc'][0]}: {error['msg']}")
        raise typer.Exit(2) from None
    try:
        settings = Settings()
        url = settings.resolved_database_url
        upgrade(url)  # runs its own event loop: before ours starts
        created = asyncio.run(_create(url, request, org, default_role=role is None))
    except FlomationError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(1) from None
    organization = created.organization
    note = " (created)" if created.organization_created else ""
    typer.echo(
        f"Created user {created.user.email} ({created.user.id}) as {created.user.role.value} "
        f"of organisation {organization.name}{note} ({organization.id})"
    )


async def _create(
    url: str, request: UserCreate, organization_name: str | None, *, default_role: bool
) -> CreatedUser:
    database = Database(url, pool_size=1)
    try:
        async with database.transaction() as session:
            return await create_user_in_organization(
                session, request, organization_name=organization_name, default_role=default_role
            )
    finally:
        await database.dispose()
