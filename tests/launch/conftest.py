"""Launch test helpers: a LaunchService on the test database with an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from flomation.config import Settings
from flomation.db.session import Database
from flomation.launch.clock import ManualClock
from flomation.launch.service import LaunchService

START = datetime(2026, 6, 1, 12, 1, tzinfo=UTC)

MakeLaunch = Callable[..., LaunchService]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def make_launch(settings: Settings, database: Database, clock: ManualClock) -> MakeLaunch:
    def make(**kwargs: Any) -> LaunchService:
        kwargs.setdefault("clock", clock)
        return LaunchService(kwargs.pop("settings", settings), database, **kwargs)

    return make
