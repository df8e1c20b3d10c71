"""Schedule triggers through a real LaunchService with an injected clock: slots fire once,
DST transitions, clock jumps, catch-up and overlap policies, edits, archived flows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from flomation.clock import ManualClock
from flomation.db.session import Database
from flomation.models.triggers import Trigger
from flomation.timeutil import isoformat
from flomation.triggers import service
from flomation.triggers.schemas import TriggerUpdate
from tests.factories import make_actor
from tests.launch.conftest import START, MakeLaunch
from tests.triggers.factories import (
    archive_flow,
    end_all,
    executions_of,
    get_trigger,
    make_flow,
    make_trigger,
    open_definition,
    trigger_rows,
)


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


async def _schedule(database: Database, clock: ManualClock, **config: Any) -> tuple[str, str]:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    trigger = await make_trigger(
        database, actor.organization_id, flow_id, "schedule", config, now=clock.now()
    )
    return actor.organization_id, trigger.id


async def _slots(database: Database, organization_id: str) -> list[str]:
    return [e.input["scheduled_at"] for e in await executions_of(database, organization_id)]


async def test_each_slot_fires_once_with_its_times(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, trigger_id = await _schedule(database, clock, cron="*/5 * * * *")
    launch = make_launch()
    clock.set(_utc(2026, 6, 1, 12, 4, 59))
    await launch.run_once()
    assert await executions_of(database, org) == []

    clock.set(_utc(2026, 6, 1, 12, 5, 0, 300000))
    await launch.run_once()
    await launch.run_once()
    [execution] = await executions_of(database, org)
    assert execution.input == {
        "scheduled_at": "2026-06-01T12:05:00Z",
        "fired_at": "2026-06-01T12:05:00.300000Z",
    }
    assert execution.trigger["type"] == "schedule"
    assert execution.trigger["id"] == trigger_id
    assert execution.trigger["scheduled_at"] == "2026-06-01T12:05:00Z"
    assert execution.dedupe_key == f"schedule:{trigger_id}:2026-06-01T12:05:00Z"

    state = (await get_trigger(database, org, trigger_id)).state
    assert state.next_fire_at == _utc(2026, 6, 1, 12, 10)
    assert state.last_fired_at == clock.now()
    assert state.owner == launch.owner
    assert state.cursor is not None
    assert state.cursor["last_execution_id"] == execution.id


async def test_spring_forward_fires_a_missing_wall_time_once_in_berlin(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    clock.set(_utc(2026, 3, 28, 12))
    org, trigger_id = await _schedule(database, clock, cron="30 2 * * *", timezone="Europe/Berlin")
    launch = make_launch()
    for minutes in range(0, 120, 15):  # 01:00 to 03:00 UTC on the night of the change
        clock.set(_utc(2026, 3, 29, 0) + timedelta(minutes=minutes))
        await launch.run_once()
    assert await _slots(database, org) == ["2026-03-29T01:00:00Z"]  # 03:00 CEST
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.next_fire_at == _utc(2026, 3, 30, 0, 30)  # 02:30 CEST


async def test_fall_back_fires_a_repeated_wall_time_once_in_new_york(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    clock.set(_utc(2026, 10, 31, 12))
    org, _ = await _schedule(database, clock, cron="30 1 * * *", timezone="America/New_York")
    launch = make_launch()
    # 01:30 EDT is 05:30 UTC; the wall clock shows 01:30 again (EST) at 06:30 UTC.
    for at in ((5, 29), (5, 30, 1), (6, 0), (6, 30, 1), (7, 0)):
        clock.set(_utc(2026, 11, 1, *at))
        await launch.run_once()
    assert await _slots(database, org) == ["2026-11-01T05:30:00Z"]


async def test_catch_up_none_skips_missed_slots_to_the_next_future_one(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, trigger_id = await _schedule(database, clock, cron="0 * * * *", catch_up="none")
    clock.set(START + timedelta(hours=5, minutes=10))
    await make_launch().run_once()
    assert await executions_of(database, org) == []
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.next_fire_at == _utc(2026, 6, 1, 18)


async def test_catch_up_one_fires_the_latest_missed_slot_once(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, _ = await _schedule(database, clock, cron="0 * * * *", catch_up="one")
    clock.set(START + timedelta(hours=5, minutes=10))
    launch = make_launch()
    await launch.run_once()
    await launch.run_once()
    assert await _slots(database, org) == ["2026-06-01T17:00:00Z"]


async def test_catch_up_all_fires_every_missed_slot_up_to_100(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, _ = await _schedule(database, clock, cron="0 * * * *", catch_up="all")
    clock.set(START + timedelta(hours=5, minutes=10))
    launch = make_launch()
    await launch.run_once()
    assert await _slots(database, org) == [f"2026-06-01T{h}:00:00Z" for h in range(13, 18)]

    org2, _ = await _schedule(database, clock, cron="* * * * *", catch_up="all")
    clock.advance(150 * 60)
    await launch.run_once()
    slots = await _slots(database, org2)
    assert len(slots) == 100
    assert slots[-1] == isoformat(clock.now().replace(second=0, microsecond=0))
    assert slots == sorted(set(slots))


async def test_a_clock_jumping_back_never_fires_a_slot_twice(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, _ = await _schedule(database, clock, cron="*/5 * * * *")
    launch = make_launch()
    clock.set(_utc(2026, 6, 1, 12, 5, 1))
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 11, 50))  # NTP correction, VM restore...
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 12, 5, 30))
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 12, 10, 0))
    await launch.run_once()
    assert await _slots(database, org) == ["2026-06-01T12:05:00Z", "2026-06-01T12:10:00Z"]


async def test_overlap_skip_records_skipped_slots_while_the_previous_run_is_unfinished(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, trigger_id = await _schedule(database, clock, cron="*/5 * * * *", overlap="skip")
    launch = make_launch()
    clock.set(_utc(2026, 6, 1, 12, 5))
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 12, 10))
    await launch.run_once()
    assert await _slots(database, org) == ["2026-06-01T12:05:00Z"]
    cursor = (await get_trigger(database, org, trigger_id)).state.cursor
    assert cursor is not None
    assert cursor["skipped"] == 1
    assert cursor["last_skipped_at"] == "2026-06-01T12:10:00Z"

    assert await end_all(database, org) == 1
    clock.set(_utc(2026, 6, 1, 12, 15))
    await launch.run_once()
    assert await _slots(database, org) == ["2026-06-01T12:05:00Z", "2026-06-01T12:15:00Z"]


async def test_overlap_queue_fires_the_waiting_slot_after_the_previous_run_ends(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, trigger_id = await _schedule(database, clock, cron="*/5 * * * *", overlap="queue")
    launch = make_launch()
    clock.set(_utc(2026, 6, 1, 12, 5))
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 12, 10))
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 12, 10, 5))
    await launch.run_once()
    assert await _slots(database, org) == ["2026-06-01T12:05:00Z"]
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.cursor is not None
    assert state.cursor["queued"] == ["2026-06-01T12:10:00Z"]
    assert state.next_fire_at is not None
    assert state.next_fire_at <= _utc(2026, 6, 1, 12, 10, 6)

    assert await end_all(database, org) == 1
    clock.set(_utc(2026, 6, 1, 12, 10, 7))
    await launch.run_once()
    executions = await executions_of(database, org)
    assert [e.input["scheduled_at"] for e in executions] == [
        "2026-06-01T12:05:00Z",
        "2026-06-01T12:10:00Z",
    ]
    assert executions[1].input["fired_at"] == "2026-06-01T12:10:07Z"


async def test_overlap_allow_fires_while_the_previous_run_is_unfinished(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, _ = await _schedule(database, clock, cron="*/5 * * * *", overlap="allow")
    launch = make_launch()
    for minute in (5, 10):
        clock.set(_utc(2026, 6, 1, 12, minute))
        await launch.run_once()
    assert len(await _slots(database, org)) == 2


async def test_editing_a_schedule_recomputes_its_next_fire(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, trigger_id = await _schedule(database, clock, cron="0 9 * * *")
    launch = make_launch()
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 12, 30))
    async with database.transaction() as session:
        edited = await service.update_trigger(
            session,
            organization_id=org,
            trigger_id=trigger_id,
            body=TriggerUpdate(config={"cron": "*/15 * * * *"}),
            now=clock.now(),
        )
    assert edited.state.next_fire_at == _utc(2026, 6, 1, 12, 45)
    clock.set(_utc(2026, 6, 1, 12, 45, 1))
    await launch.run_once()
    assert await _slots(database, org) == ["2026-06-01T12:45:00Z"]


async def test_triggers_of_an_archived_flow_stop(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, trigger_id = await _schedule(database, clock, cron="*/5 * * * *")
    trigger = await get_trigger(database, org, trigger_id)
    await archive_flow(database, org, trigger.flow_id)
    launch = make_launch()
    clock.set(_utc(2026, 6, 1, 12, 5))
    await launch.run_once()
    clock.set(_utc(2026, 6, 1, 12, 10))
    await launch.run_once()
    assert await executions_of(database, org) == []
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.next_fire_at is None
    assert state.last_error is not None
    assert "archived" in state.last_error


async def test_an_unreadable_stored_config_stops_only_its_own_trigger(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    org, broken_id = await _schedule(database, clock, cron="*/5 * * * *")
    org_ok, _ = await _schedule(database, clock, cron="*/5 * * * *")
    async with database.transaction() as session:
        await session.execute(
            update(Trigger).where(Trigger.id == broken_id).values(config={"cron": "nonsense"})
        )
    clock.set(_utc(2026, 6, 1, 12, 5))
    await make_launch().run_once()
    assert len(await _slots(database, org_ok)) == 1
    assert await executions_of(database, org) == []
    [broken] = [row for row in await trigger_rows(database) if row.id == broken_id]
    assert broken.last_error is not None
    assert broken.next_fire_at is None


async def test_input_the_flow_refuses_is_reported_and_the_schedule_moves_on(
    database: Database, clock: ManualClock, make_launch: MakeLaunch
) -> None:
    actor = await make_actor(database)
    schema = {"type": "object", "required": ["n"]}
    flow_id = await make_flow(
        database, actor.organization_id, definition=open_definition(input_schema=schema)
    )
    trigger = await make_trigger(
        database,
        actor.organization_id,
        flow_id,
        "schedule",
        {"cron": "*/5 * * * *"},
        now=clock.now(),
    )
    clock.set(_utc(2026, 6, 1, 12, 5))
    await make_launch().run_once()
    assert await executions_of(database, actor.organization_id) == []
    state = (await get_trigger(database, actor.organization_id, trigger.id)).state
    assert state.last_error is not None
    assert state.last_error.startswith("The flow refused the input")
    assert state.next_fire_at == _utc(2026, 6, 1, 12, 10)
