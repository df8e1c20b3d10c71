"""The `flomation` command line: one typer app, one module per command group.

Each module under `flomation.cli` defines its commands on the shared `app` (or adds a
sub-typer to it); `main` imports them all so that `flomation --help` lists every command.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="flomation",
    help="Flomation: workflow automation with runners that go where your data lives.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, imported for their side effect of registering commands on `app`.
COMMAND_MODULES = (
    "flomation.cli.server",
    "flomation.cli.db",
    "flomation.cli.admin",
    "flomation.cli.run",
    "flomation.cli.runner",
    "flomation.cli.launch",
    "flomation.cli.secrets",
)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A command module that is not written yet is simply absent; any other missing
            # module is a real error and must surface.
            if exc.name != name:
                raise


def main() -> None:
    _register_commands()
    app()
