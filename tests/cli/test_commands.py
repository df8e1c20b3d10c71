"""The `flomation` command registers every command group, and a command module that does not
import stops the command instead of its commands going missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

COMMANDS = ("api", "up", "db", "admin", "run", "runner", "launch", "openapi")


def flomation(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys\n" + code], capture_output=True, text=True, timeout=60
    )


def help_of(*args: str) -> str:
    done = flomation(
        f"sys.argv = ['flomation', *{args!r}, '--help']\nfrom flomation.cli import main\nmain()"
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_help_lists_every_command() -> None:
    listed = help_of()
    for command in COMMANDS:
        assert f" {command} " in listed, command
    # flomation.cli.secrets adds its command to the admin group.
    assert " rotate-key " in help_of("admin")


@pytest.mark.parametrize("module", ["launch", "secrets", "run"])
def test_a_command_module_that_does_not_import_fails_the_command(module: str) -> None:
    # A None entry in sys.modules makes importing that module raise ImportError, as a renamed
    # or broken module would.
    done = flomation(
        f"sys.modules['flomation.cli.{module}'] = None\n"
        "sys.argv = ['flomation', '--help']\n"
        "from flomation.cli import main\n"
        "main()"
    )
    assert done.returncode != 0
    # ModuleNotFoundError, the very error a skip for modules "not written yet" would swallow.
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ModuleNotFoundError"), done.stderr
    assert f"flomation.cli.{module}" in last_line
