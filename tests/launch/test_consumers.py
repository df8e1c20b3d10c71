"""Event triggers' framework: configs name a connection of their type (checked by the API),
the API shows their health and counters, an edit restarts the consumer and disabling stops
it, and a consumer that cannot connect is unhealthy and says why."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import update

from flomation.clock import ManualClock
from flomation.config import Settings
from flomation.connections import service as connections
from flomation.db.session import Database
from flomation.models.auth import Organization
from flomation.secrets.crypto import Keyring
from flomation.triggers import leases as trigger_leases
from flomation.triggers import service
from flomation.triggers.schemas import TriggerUpdate
from tests.factories import Actor
from tests.launch.conftest import START, MakeLaunch
from tests.launch.events import count_executions, event_trigger, eventually, running, unique
from tests.live import LiveServer
from tests.triggers.factories import executions_of, get_trigger, make_flow

REDIS = {"url": "redis://127.0.0.1:6379/0"}


async def _put_connection(
    database: Database, settings: Settings, organization_id: str, name: str, kind: str, values: Any
) -> None:
    async with database.transaction() as session:
        await connections.put_connection(
            session,
            organization_id=organization_id,
            name=name,
            type_name=kind,
            values=values,
            keyring=Keyring.from_settings(settings),
        )


async def test_event_triggers_name_a_connection_of_their_type(
    api: LiveServer, owner: Actor, database: Database, settings: Settings
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    await _put_connection(database, settings, owner.organization_id, "CACHE", "redis", REDIS)
    url = f"/api/v1/flows/{flow_id}/triggers"
    async with api.client(owner.headers) as client:
        missing = await client.post(
            url, json={"type": "amqp", "config": {"connection": "NOPE", "queue": "q"}}
        )
        assert missing.status_code == 422, missing.text
        [error] = missing.json()["errors"]
        assert error["loc"] == ["body", "config", "connection"]
        assert "no connection named 'NOPE'" in error["msg"]

        wrong = await client.post(
            url, json={"type": "amqp", "config": {"connection": "CACHE", "queue": "q"}}
        )
        assert wrong.status_code == 422
        assert "of type redis, not amqp" in wrong.json()["errors"][0]["msg"]

        extra = await client.post(
            url,
            json={"type": "redis_stream", "config": {"connection": "CACHE", "stream": "s", "x": 1}},
        )
        assert extra.status_code == 422

        created = await client.post(
            url, json={"type": "redis_stream", "config": {"connection": "CACHE", "stream": "s"}}
        )
        assert created.status_code == 201, created.text
        trigger = created.json()
        assert trigger["config"] == {"connection": "CACHE", "stream": "s", "group": "flomation"}
        state = trigger["state"]
        assert state["healthy"] is False  # no consumer yet
        assert state["events_total"] == 0
        assert state["rejected_total"] == 0
        assert state["last_event_at"] is None

        edited = await client.patch(
            f"/api/v1/triggers/{trigger['id']}",
            json={"config": {"connection": "GONE", "stream": "s"}},
        )
        assert edited.status_code == 422
        assert edited.json()["errors"][0]["loc"] == ["body", "config", "connection"]

        schedule = await client.post(
            url, json={"type": "schedule", "config": {"cron": "0 9 * * *"}}
        )
        assert schedule.json()["state"]["healthy"] is None


async def test_an_edit_restarts_the_consumer_and_disabling_stops_it(
    database: Database, settings: Settings, make_launch: MakeLaunch
) -> None:
    stream = unique("flomation-edit")
    trig = await event_trigger(
        database, settings, "redis_stream", "redis", REDIS, {"stream": stream}
    )
    client = Redis.from_url(REDIS["url"])
    launch = make_launch()
    try:
        async with running(launch):

            async def consuming() -> bool:
                return trig.trigger_id in launch.consumers.running

            await eventually(consuming)
            first = launch.consumers.running[trig.trigger_id].task
            await _update(
                database,
                trig,
                TriggerUpdate(config={"connection": "BROKER", "stream": stream, "group": "second"}),
            )

            async def restarted() -> bool:
                running_now = launch.consumers.running.get(trig.trigger_id)
                return running_now is not None and running_now.task is not first

            await eventually(restarted)
            assert first.done()
            await client.xadd(stream, {"n": "1"})

            async def fired() -> bool:
                return await count_executions(database, trig.organization_id) == 1

            await eventually(fired)
            await _update(database, trig, TriggerUpdate(enabled=False))

            async def stopped() -> bool:
                return not launch.consumers.running

            await eventually(stopped)
    finally:
        await client.delete(stream)
        await client.aclose()


async def test_a_consumer_that_cannot_connect_is_unhealthy_and_says_why(
    database: Database, settings: Settings, make_launch: MakeLaunch
) -> None:
    trig = await event_trigger(
        database,
        settings,
        "redis_stream",
        "redis",
        {"url": "redis://127.0.0.1:1/0"},
        {"stream": "nowhere"},
    )
    async with running(make_launch()):

        async def failed() -> bool:
            state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
            return state.error_count >= 1

        await eventually(failed)
    state = (await get_trigger(database, trig.organization_id, trig.trigger_id)).state
    assert state.healthy is False
    assert state.last_error is not None
    assert "127.0.0.1:1" in state.last_error


async def _update(database: Database, trig: Any, body: TriggerUpdate) -> None:
    async with database.transaction() as session:
        await service.update_trigger(
            session, organization_id=trig.organization_id, trigger_id=trig.trigger_id, body=body
        )


async def test_a_silent_trigger_starts_the_error_flow_once_per_incident(
    database: Database, settings: Settings, make_launch: MakeLaunch, clock: ManualClock
) -> None:
    stream = unique("flomation-silent")
    trig = await event_trigger(
        database,
        settings,
        "redis_stream",
        "redis",
        REDIS,
        {"stream": stream, "alert_after_s": 60},
        now=START,
    )
    error_flow = await make_flow(database, trig.organization_id)
    async with database.transaction() as session:
        await session.execute(
            update(Organization)
            .where(Organization.id == trig.organization_id)
            .values(error_flow_id=error_flow)
        )

    async def alerts() -> list[Any]:
        rows = await executions_of(database, trig.organization_id)
        return [row.input for row in rows if row.flow_id == error_flow]

    async def alerted(count: int) -> bool:
        return len(await alerts()) == count

    client = Redis.from_url(REDIS["url"])
    launch = make_launch()
    try:
        async with running(launch):

            async def consuming() -> bool:
                return trig.trigger_id in launch.consumers.current

            await eventually(consuming)
            clock.advance(61)
            await eventually(lambda: alerted(1))
            # The same silence goes on: no second alert; an event ends the incident.
            clock.advance(30)
            await client.xadd(stream, {"n": "1"})

            async def fired() -> bool:
                rows = await executions_of(database, trig.organization_id)
                return any(row.flow_id == trig.flow_id for row in rows)

            await eventually(fired)
            assert len(await alerts()) == 1
            clock.advance(61)
            await eventually(lambda: alerted(2))
    finally:
        await client.delete(stream)
        await client.aclose()
    first = (await alerts())[0]
    assert first["kind"] == "trigger_unhealthy"
    assert first["trigger_id"] == trig.trigger_id
    assert "No event for 60 s" in first["reason"]


async def test_a_failed_lease_pass_stops_the_consumers(
    database: Database,
    settings: Settings,
    make_launch: MakeLaunch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = unique("flomation-fence")
    trig = await event_trigger(
        database, settings, "redis_stream", "redis", REDIS, {"stream": stream}
    )
    launch = make_launch()
    async with running(launch):

        async def consuming() -> bool:
            return trig.trigger_id in launch.consumers.running

        await eventually(consuming)

        async def unreachable(*_args: Any, **_kwargs: Any) -> list[str]:
            raise OSError("the database is unreachable")

        # The leases cannot be renewed: the consumer must stop before they could expire.
        monkeypatch.setattr(trigger_leases, "balance_leases", unreachable)

        async def stopped() -> bool:
            return not launch.consumers.running

        await eventually(stopped, timeout_s=settings.trigger_lease_seconds)
        assert not launch._leases_fresh()
