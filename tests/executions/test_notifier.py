"""Long-poll wake-ups: a waiting runner returns because work was requested, not by timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
from sqlalchemy import literal, select

from flomation.db.session import Database
from flomation.executions import actions as execution_actions
from flomation.executions import requests as execution_requests
from flomation.executions.notifier import (
    CHANNEL,
    HUB,
    WorkNotifier,
    notify_payload,
    publish_after_commit,
    work_topic,
)
from flomation.triggers import service as triggers_service
from tests.executions.factories import claim, request
from tests.factories import make_actor, make_flow

LONG_S = 30.0


@pytest.fixture
async def notifier(database: Database) -> AsyncIterator[WorkNotifier]:
    """This process's listener, started (LISTEN on PostgreSQL) and stopped after the test."""
    started = WorkNotifier(database)
    await started.start()
    yield started
    await started.stop()


async def test_waiter_wakes_when_work_is_requested(
    database: Database, notifier: WorkNotifier
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    waiter = asyncio.create_task(notifier.wait_for_work(actor.organization_id, LONG_S))
    await asyncio.sleep(0.05)  # let the waiter subscribe
    await request(database, actor.organization_id, flow_id)
    assert await asyncio.wait_for(waiter, timeout=LONG_S) is True


async def test_a_commit_of_this_process_wakes_its_waiters_once(
    database: Database, notifier: WorkNotifier
) -> None:
    """At commit, not again when PostgreSQL delivers the NOTIFY back to this process: every
    second wake-up would cost each waiting runner's long poll a claim."""
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    with notifier.subscribe_work(actor.organization_id) as subscription:
        await request(database, actor.organization_id, flow_id)
        assert await subscription.wait(LONG_S) is True
        woken_at = subscription.published()
        await asyncio.sleep(0.5)  # PostgreSQL delivers the NOTIFY back within this
        assert subscription.published() == woken_at
        assert await subscription.wait(0) is False


async def test_work_requested_between_claim_and_wait_is_not_lost(
    database: Database, notifier: WorkNotifier
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    with notifier.subscribe_work(actor.organization_id) as subscription:
        # (a claim that found nothing would be here)
        await request(database, actor.organization_id, flow_id)
        assert await subscription.wait(LONG_S) is True


async def test_waiter_is_not_woken_by_another_organisation(
    database: Database, notifier: WorkNotifier
) -> None:
    mine = await make_actor(database)
    other = await make_actor(database)
    flow_id = await make_flow(database, other.organization_id)
    with notifier.subscribe_work(mine.organization_id) as subscription:
        await request(database, other.organization_id, flow_id)
        assert await subscription.wait(0.5) is False


async def test_rolled_back_request_wakes_nobody(database: Database, notifier: WorkNotifier) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    with notifier.subscribe_work(actor.organization_id) as subscription:
        with pytest.raises(RuntimeError, match="abandon"):
            await _request_then_roll_back(database, actor.organization_id, flow_id)
        assert await subscription.wait(0.5) is False


async def test_runner_is_woken_when_a_held_execution_is_cancelled(
    database: Database, notifier: WorkNotifier
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    made = await request(database, actor.organization_id, flow_id)
    await claim(database, actor.organization_id, "runner-7")
    with notifier.subscribe_runner("runner-7") as subscription:
        async with database.transaction() as session:
            await execution_actions.cancel_execution(
                session, organization_id=actor.organization_id, execution_id=made.id
            )
        assert await subscription.wait(LONG_S) is True


async def _request_then_roll_back(database: Database, organization_id: str, flow_id: str) -> None:
    async with database.transaction() as session:
        await execution_requests.request_execution(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            input={"n": 1},
            trigger={"type": "manual"},
        )
        raise RuntimeError("abandon the transaction")


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_notification_from_another_process_reaches_the_listener(
    database: Database, database_url: str, notifier: WorkNotifier
) -> None:
    """Another API process's commit arrives through LISTEN (sent here on a separate raw
    connection, as another process would)."""
    assert notifier.listening.is_set()
    with notifier.subscribe_work("org-elsewhere") as subscription:
        connection = await asyncpg.connect(database_url)
        try:
            await connection.execute(
                "SELECT pg_notify($1, $2)", CHANNEL, work_topic("org-elsewhere")
            )
        finally:
            await connection.close()
        assert await subscription.wait(LONG_S) is True


@pytest.mark.postgres_only
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_notification_names_its_sender_and_reaches_every_other_process(
    database: Database, database_url: str, notifier: WorkNotifier
) -> None:
    """Each payload is "<sender> <topic>": a listener skips only its own sender's."""
    with notifier.subscribe_work("org-elsewhere") as subscription:
        connection = await asyncpg.connect(database_url)
        try:
            topic = work_topic("org-elsewhere")
            await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, f"0ther {topic}")
            assert await subscription.wait(LONG_S) is True
            await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, notify_payload(topic))
            assert await subscription.wait(0.5) is False
        finally:
            await connection.close()


async def test_savepoint_rollback_drops_only_its_own_wake_ups(database: Database) -> None:
    with HUB.subscribe(["test:kept"]) as kept, HUB.subscribe(["test:dropped"]) as dropped:
        async with database.transaction() as session:
            await publish_after_commit(session, "test:kept")
            with contextlib.suppress(RuntimeError):
                async with session.begin_nested():
                    await publish_after_commit(session, "test:dropped")
                    raise RuntimeError("roll back the savepoint")
            assert await kept.wait(0) is False  # nothing before the commit
        assert await kept.wait(LONG_S) is True
        assert await dropped.wait(0.3) is False


async def test_a_released_savepoint_publishes_nothing_before_the_commit(
    database: Database,
) -> None:
    """A savepoint's release is not a commit: a waiter woken then would look for work the
    outer transaction has not committed yet, find nothing, and wait for its long poll to time
    out (what queued sync webhook executions for 25 s on PostgreSQL: the webhook requests its
    execution in a savepoint)."""
    with HUB.subscribe(["test:outer"]) as outer, HUB.subscribe(["test:inner"]) as inner:
        async with database.transaction() as session:
            await publish_after_commit(session, "test:outer")
            async with session.begin_nested():
                await publish_after_commit(session, "test:inner")
            assert inner.published() == 0  # released, not committed
            assert await inner.wait(0) is False
            assert await outer.wait(0) is False
        assert await inner.wait(LONG_S) is True
        assert await outer.wait(LONG_S) is True


async def test_a_woken_waiter_finds_the_execution_a_webhook_requested(
    database: Database, notifier: WorkNotifier
) -> None:
    """The webhook's request (in a savepoint) wakes idle runners only once its execution is
    committed: a claim made at the wake-up gets it."""
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    found: list[int] = []
    with notifier.subscribe_work(actor.organization_id) as subscription:

        async def claim_when_woken() -> None:
            assert await subscription.wait(LONG_S) is True
            found.append(len(await claim(database, actor.organization_id)))

        claimer = asyncio.create_task(claim_when_woken())
        async with database.transaction() as session:
            await triggers_service.start_execution(
                session,
                organization_id=actor.organization_id,
                flow_id=flow_id,
                trigger={"type": "webhook", "id": "t", "path": "p"},
                input={},
                dedupe_key=None,
            )
            # A claim woken before the commit would be done well within this (it finds
            # nothing); woken at the commit, it has not even started.
            await asyncio.wait({claimer}, timeout=0.5)
            await session.execute(select(literal(1)))
        await asyncio.wait_for(claimer, LONG_S)
    assert found == [1]
