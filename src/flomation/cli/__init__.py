"""The `flomation` command line: one typer app, one module per command group.

Each module under `flomation.cli` defines its commands on the shared `app` (or adds a
sub-typer to it); `main` imports them all so that `flomation --help` lists every command.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="flomation",
    help="Flomation: workflow automation with runners that go where your data lives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Imported for their side effect of registering commands on `app`, and by name, so that a
    # renamed or broken command module fails `flomation` at once instead of its commands
    # going missing from `--help`. Inside the function because each module imports `app`.
    from flomation.cli import admin, db, launch, openapi, run, runner, secrets, server  # noqa: F401


def main() -> None:
    _register_commands()
    app()
