"""Helpers shared by command modules: flags override FLOMATION_* environment variables."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from flomation.config import Settings

console = Console(stderr=True)


def settings_from(**flags: Any) -> Settings:
    """Settings from the environment, with every flag that was given taking precedence."""
    overrides = {name: value for name, value in flags.items() if value is not None}
    return Settings(**overrides)
