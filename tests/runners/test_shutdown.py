"""A stopping API answers open long polls at once instead of holding its shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flomation.config import Settings
from flomation.db.session import Database
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, runner_client

LONG_POLL_S = 60.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data", claim_wait_seconds=LONG_POLL_S)


async def test_a_long_poll_ends_empty_as_soon_as_the_api_is_stopping(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    token = await make_runner_token(database, owner.organization_id)
    client = runner_client(api.base_url, token)
    await client.register(labels={}, max_concurrent=1)
    claim = asyncio.create_task(
        client.call("POST", "/claim", {"free_slots": 1, "wait_s": LONG_POLL_S})
    )
    await asyncio.sleep(0.5)
    assert not claim.done()  # it is waiting: there is no work
    api.app.state.stopping.set()
    # Far sooner than the 60 s the poll would otherwise wait.
    answer = await asyncio.wait_for(claim, timeout=15)
    await client.aclose()
    assert answer["executions"] == []
