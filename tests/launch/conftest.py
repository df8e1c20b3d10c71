"""Launch test helpers: a LaunchService on the test database with an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flomation.clock import ManualClock
from flomation.config import Settings
from flomation.db.session import Database
from flomation.launch.service import LaunchService
from tests.conftest import make_settings

START = datetime(2026, 6, 1, 12, 1, tzinfo=UTC)

MakeLaunch = Callable[..., LaunchService]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """As an operator who allows what these tests watch: file:// repositories and servers on
    loopback (moto, git daemon). Tests of the default refusals override these."""
    return make_settings(
        database_url,
        tmp_path / "data",
        launch_allow_local_git=True,
        launch_egress_policy="self_hosted",
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def make_launch(settings: Settings, database: Database, clock: ManualClock) -> MakeLaunch:
    def make(**kwargs: Any) -> LaunchService:
        kwargs.setdefault("clock", clock)
        return LaunchService(kwargs.pop("settings", settings), database, **kwargs)

    return make
