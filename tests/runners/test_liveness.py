"""Real `flomation runner` processes and the runners list: a runner that exits on SIGTERM is
offline at once (its goodbye); one killed with SIGKILL is offline once the heartbeat TTL
(`runner_offline_after_seconds`) has passed on the API's clock, and a live one never looks
offline meanwhile (its heartbeats, on its own clock, come often enough)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from flomation.config import Settings
from tests.conftest import ProcessClock, make_settings
from tests.live import LiveServer
from tests.runner.processes import Api, runner_processes, wait_for

OFFLINE_AFTER_S = 3.0


@pytest.fixture
def claim_wait_s() -> float:
    return 20.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path, claim_wait_s: float) -> Settings:
    # Long leases, and long polls unless a test asks for short ones, so that only heartbeats
    # (and the goodbye) keep the list true.
    return make_settings(
        database_url,
        tmp_path / "data",
        lease_seconds=30.0,
        claim_wait_seconds=claim_wait_s,
        runner_offline_after_seconds=OFFLINE_AFTER_S,
    )


async def _statuses(user: Api) -> list[str]:
    answer = await user.client.get("/api/v1/runners")
    assert answer.status_code == 200, answer.text
    return [item["status"] for item in answer.json()["items"]]


async def _online(user: Api) -> bool:
    return await _statuses(user) == ["online"]


# Short polls: a stopping runner waits for its open poll, and a poll marks it seen, so without
# the goodbye it would still be listed online for the TTL after it exits.
@pytest.mark.parametrize("claim_wait_s", [1.0])
async def test_a_runner_stopped_with_sigterm_is_offline_as_soon_as_it_exits(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    async with runner_processes(api.base_url, await user.token(), tmp_path) as [runner]:
        await wait_for(lambda: _online(user), 20, "the runner to register")
        assert await runner.stop() == 0
        # No waiting for the heartbeat TTL: the goodbye made it offline.
        assert await _statuses(user) == ["offline"]


async def test_a_runner_killed_with_sigkill_is_offline_within_the_heartbeat_ttl(
    api: LiveServer, user: Api, tmp_path: Path, db_clock: ProcessClock
) -> None:
    async with runner_processes(api.base_url, await user.token(), tmp_path) as [runner]:
        await wait_for(lambda: _online(user), 20, "the runner to register")
        # Alive, it stays online for longer than the TTL: its heartbeats come often enough.
        loop = asyncio.get_running_loop()
        until = loop.time() + 2 * OFFLINE_AFTER_S
        while loop.time() < until:
            assert await _online(user), runner.logs()[-2000:]
            await asyncio.sleep(0.25)
        runner.signal(signal.SIGKILL)
        await runner.wait()
        # Silent since, on the API's clock, for the TTL: offline.
        db_clock.advance(OFFLINE_AFTER_S)
        assert await _statuses(user) == ["offline"]
