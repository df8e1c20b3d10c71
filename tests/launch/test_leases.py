"""Leases shared by several LaunchService instances on one database (both backends): they
divide the triggers with no coordinator, a stopped or dead instance's triggers move to the
others, and fencing plus dedupe keys keep a slot from starting twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update

from flomation.clock import ManualClock
from flomation.config import Settings
from flomation.db.clock import db_now_plus
from flomation.db.session import Database
from flomation.models.triggers import Trigger
from flomation.triggers import leases
from tests.conftest import ProcessClock
from tests.factories import make_actor
from tests.launch.conftest import START, MakeLaunch
from tests.triggers.factories import executions_of, make_flow, make_trigger, trigger_rows


async def _schedules(database: Database, count: int, cron: str = "*/5 * * * *") -> str:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    for _ in range(count):
        await make_trigger(
            database, actor.organization_id, flow_id, "schedule", {"cron": cron}, now=START
        )
    return actor.organization_id


async def _expire_leases(database: Database, owner: str) -> None:
    """Time passing for one instance's leases (on the database clock)."""
    async with database.transaction() as session:
        await session.execute(
            update(Trigger)
            .where(Trigger.lease_owner == owner)
            .values(lease_expires_at=db_now_plus(-1))
        )


async def _owners(database: Database) -> dict[str, str | None]:
    return {row.id: row.lease_owner for row in await trigger_rows(database)}


async def test_instances_divide_the_triggers_fairly_and_disjointly(
    database: Database, make_launch: MakeLaunch
) -> None:
    await _schedules(database, 30)
    instances = [make_launch(claim_batch=25) for _ in range(3)]
    for _ in range(4):
        for launch in instances:
            await launch.lease_pass()
    held = [set(launch.held) for launch in instances]
    assert [len(h) for h in held] == [10, 10, 10]
    assert set.union(*held) == set(await _owners(database))
    owners = await _owners(database)
    for launch in instances:
        assert {t for t, o in owners.items() if o == launch.owner} == set(launch.held)


async def test_a_new_instance_gets_a_share_from_a_busy_one(
    database: Database, make_launch: MakeLaunch
) -> None:
    await _schedules(database, 20)
    first = make_launch(claim_batch=50)
    await first.lease_pass()
    assert len(first.held) == 20
    second = make_launch(claim_batch=50)
    for _ in range(2):
        await second.lease_pass()
        await first.lease_pass()
    await second.lease_pass()
    assert len(first.held) == 10
    assert len(second.held) == 10
    assert not set(first.held) & set(second.held)


async def test_a_dead_instances_triggers_move_when_its_leases_expire(
    database: Database, settings: Settings, db_clock: ProcessClock, make_launch: MakeLaunch
) -> None:
    await _schedules(database, 6)
    dead = make_launch()
    await dead.lease_pass()
    assert len(dead.held) == 6
    survivor = make_launch()
    await survivor.lease_pass()
    assert survivor.held == []  # the leases are still valid
    # `dead` never renews: its leases run out on the database clock.
    db_clock.advance(settings.trigger_lease_seconds + 0.1)
    for _ in range(2):
        await survivor.lease_pass()
    assert len(survivor.held) == 6
    assert set((await _owners(database)).values()) == {survivor.owner}


async def test_a_stopping_instance_releases_its_leases_at_once(
    database: Database, make_launch: MakeLaunch
) -> None:
    await _schedules(database, 4)
    leaving = make_launch()
    stop = asyncio.Event()
    task = asyncio.create_task(leaving.run(stop))
    for _ in range(100):
        if len(leaving.held) == 4:
            break
        await asyncio.sleep(0.05)
    assert len(leaving.held) == 4
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert set((await _owners(database)).values()) == {None}
    taker = make_launch()
    await taker.lease_pass()
    assert len(taker.held) == 4


async def test_fencing_refuses_an_instance_whose_lease_moved_on(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org = await _schedules(database, 1)
    stale = make_launch()
    await stale.lease_pass()
    clock.set(START + timedelta(minutes=4, seconds=1))
    async with database.transaction() as session:
        [stale_work] = await leases.due_work(session, owner=stale.owner, now=clock.now())

    # The stale instance pauses (GC, network); its lease expires and another takes over.
    await _expire_leases(database, stale.owner)
    fresh = make_launch()
    await fresh.lease_pass()
    assert len(fresh.held) == 1
    assert await fresh.fire_pass() == 1
    assert len(await executions_of(database, org)) == 1

    # The stale instance wakes up believing it holds the trigger: its fire is refused.
    await stale.sources["schedule"].run(stale_work)
    executions = await executions_of(database, org)
    assert len(executions) == 1
    assert executions[0].trigger["id"] == stale_work.id


async def test_dedupe_keys_stop_a_second_start_of_the_same_slot(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    """Even if fencing were bypassed (two holders with the same view of the state), a slot's
    dedupe key lets only one execution exist."""
    org = await _schedules(database, 1)
    launch = make_launch()
    await launch.lease_pass()
    clock.set(START + timedelta(minutes=4, seconds=1))
    async with database.transaction() as session:
        [work] = await leases.due_work(session, owner=launch.owner, now=clock.now())
    await launch.sources["schedule"].run(work)
    # Put the trigger back to the state it had before the fire, as a second holder would see.
    async with database.transaction() as session:
        await session.execute(
            update(Trigger)
            .where(Trigger.id == work.id)
            .values(
                cursor=work.cursor, next_fire_at=work.next_fire_at, state_version=work.state_version
            )
        )
    await launch.sources["schedule"].run(work)
    executions = await executions_of(database, org)
    assert len(executions) == 1
    [row] = await trigger_rows(database)
    assert row.last_error is None


async def test_leases_use_the_configured_ttl_on_the_database_clock(
    database: Database, settings: Settings, make_launch: MakeLaunch
) -> None:
    await _schedules(database, 1)
    launch = make_launch()
    await launch.lease_pass()
    [row] = await trigger_rows(database)
    assert row.lease_owner == launch.owner
    assert row.lease_expires_at is not None
    async with database.transaction() as session:
        await session.execute(update(Trigger).values(lease_expires_at=db_now_plus(0)))
    [row_now] = await trigger_rows(database)
    assert row_now.lease_expires_at is not None
    ttl = (row.lease_expires_at - row_now.lease_expires_at).total_seconds()
    assert 0 < ttl <= settings.trigger_lease_seconds
