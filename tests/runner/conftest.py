"""Runner end-to-end tests: short leases so that a lost runner's work comes back in seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flomation.config import Settings
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import LiveServer
from tests.runner.processes import Api, Recorder


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path / "data",
        lease_seconds=2.0,
        claim_wait_seconds=2.0,
        maintenance_interval_seconds=0.3,
        runner_offline_after_seconds=10.0,
    )


@pytest.fixture
async def user(api: LiveServer, owner: Actor) -> AsyncIterator[Api]:
    client = Api(api, owner)
    yield client
    await client.aclose()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    async with Recorder().running() as running:
        yield running
