"""Three real `flomation launch` processes sharing 50 per-second schedules on PostgreSQL: each
trigger has exactly one owner, a killed process's triggers move within the lease TTL, and
over the whole run no slot starts twice and none is missed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from flomation.clock import utcnow
from flomation.db.session import Database
from flomation.models.executions import Execution
from flomation.triggers.cron import CronSchedule
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_actor
from tests.triggers.factories import make_flow, make_trigger, trigger_rows

TRIGGERS = 50
LEASE_S = 3.0
pytestmark = [
    pytest.mark.alone,
    pytest.mark.postgres_only,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


def _start(database_url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir),
        "FLOMATION_DATABASE_URL": database_url,
        "FLOMATION_SECRET_KEY": TEST_SECRET_KEY,
        "FLOMATION_DATA_DIR": str(data_dir),
        "FLOMATION_TRIGGER_LEASE_SECONDS": str(LEASE_S),
        "FLOMATION_LOG_LEVEL": "WARNING",
    }
    flomation = Path(sys.executable).parent / "flomation"
    data_dir.mkdir(parents=True)
    with (data_dir / "stderr.log").open("wb") as log:
        return subprocess.Popen(
            [str(flomation), "launch"], env=env, stdout=subprocess.DEVNULL, stderr=log
        )


async def _live_owners(database: Database) -> dict[str, str | None]:
    now = utcnow()
    return {
        row.id: row.lease_owner
        if row.lease_expires_at is not None and row.lease_expires_at > now
        else None
        for row in await trigger_rows(database)
    }


async def _fired_since(database: Database, organization_id: str, since: datetime) -> set[str]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(Execution.trigger).where(Execution.organization_id == organization_id)
        )
        return {
            trigger["id"]
            for (trigger,) in rows
            if datetime.fromisoformat(trigger["scheduled_at"]) > since
        }


async def _wait_for(predicate_s: float, check: Callable[[], Awaitable[object]]) -> bool:
    deadline = asyncio.get_running_loop().time() + predicate_s
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_three_processes_share_schedules_and_survive_a_kill(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    created_at = utcnow()
    for _ in range(TRIGGERS):
        await make_trigger(
            database,
            actor.organization_id,
            flow_id,
            "schedule",
            {"cron": "* * * * * *", "catch_up": "all"},
            now=created_at,
        )
    processes = [_start(database_url, tmp_path / f"launch-{i}") for i in range(3)]
    try:

        async def shared_by_three() -> bool:
            owners = await _live_owners(database)
            return None not in owners.values() and len(set(owners.values())) == 3

        # Generous: three interpreters starting at once on a busy 2-core machine are slow.
        assert await _wait_for(60, shared_by_three), "the three instances did not share"
        owners = await _live_owners(database)
        per_owner: dict[str | None, list[str]] = defaultdict(list)
        for trigger_id, owner in owners.items():
            per_owner[owner].append(trigger_id)
        # Every trigger has exactly one live owner, and each instance has a share.
        assert len(per_owner) == 3
        assert sum(len(ids) for ids in per_owner.values()) == TRIGGERS

        await asyncio.sleep(2)
        victim = processes[0]
        victim_owner = next(o for o in per_owner if o and o.split(":")[1] == str(victim.pid))
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = utcnow()

        async def moved() -> bool:
            owners = await _live_owners(database)
            return all(owners[t] not in (None, victim_owner) for t in per_owner[victim_owner])

        # Within the lease TTL, plus one lease pass (TTL/3) and slack for a loaded machine.
        assert await _wait_for(LEASE_S + 6, moved), "the killed instance's triggers did not move"

        async def all_fired_since_kill() -> bool:
            return len(await _fired_since(database, actor.organization_id, killed_at)) == TRIGGERS

        # Every trigger, the killed instance's too, goes on firing after the kill.
        assert await _wait_for(30, all_fired_since_kill), "some triggers stopped firing"
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    stopped_at = utcnow()
    for process in processes[1:]:
        assert process.returncode == 0
    # A clean stop released every lease.
    assert set((await _live_owners(database)).values()) == {None}

    async with database.transaction() as session:
        rows = (
            await session.execute(
                select(Execution.dedupe_key, Execution.trigger).where(
                    Execution.organization_id == actor.organization_id
                )
            )
        ).all()
    keys = [row[0] for row in rows]
    assert len(keys) == len(set(keys))  # no slot started twice
    slots: dict[str, list[datetime]] = defaultdict(list)
    for key, trigger in rows:
        assert key == f"schedule:{trigger['id']}:{trigger['scheduled_at']}"
        slots[trigger["id"]].append(datetime.fromisoformat(trigger["scheduled_at"]))
    assert len(slots) == TRIGGERS
    schedule = CronSchedule("* * * * * *")
    first_slot = schedule.next_after(created_at)
    for fired in slots.values():
        fired.sort()
        # From the first slot after creation, every second up to the last one fired: none
        # missed, even across the kill.
        assert fired[0] == first_slot
        expected = [first_slot + timedelta(seconds=i) for i in range(len(fired))]
        assert fired == expected
        assert fired[-1] <= stopped_at
