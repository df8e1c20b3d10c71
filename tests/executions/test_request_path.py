"""Requesting an execution is the hottest write path: its round trips are pinned here, and
its writes land whole (one statement on PostgreSQL) or not at all."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from flomation.db.session import Database, is_autocommit
from flomation.executions import service
from flomation.executions.notifier import HUB, work_topic
from flomation.executions.schemas import ExecutionView
from flomation.models.executions import Execution, ExecutionEvent, QueueEntry
from flomation.runners import service as runners_service
from flomation.runners.schemas import RunnerTokenCreate
from flomation.signing import SigningKey
from tests.executions.factories import claim
from tests.factories import echo_definition, make_actor, make_flow
from tests.statements import recorded_statements


async def _request(database: Database, organization_id: str, flow_id: str) -> str:
    async with database.statements() as session:
        view = await service.request_execution(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            input={"n": 1},
            trigger={"type": "manual"},
        )
    return view.id


async def test_a_request_reads_the_flow_and_runners_then_writes_in_as_few_statements_as_it_can(
    database: Database,
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)

    with recorded_statements(database) as statements:
        await _request(database, actor.organization_id, flow_id)

    writes = [s for s in statements if s.startswith(("INSERT", "WITH"))]
    if database.is_postgres:
        # The execution, its queue row, its first event and the wake-ups: one statement.
        assert len(writes) == 1
        assert writes[0].startswith("WITH insert_e AS (INSERT INTO executions")
        assert "pg_notify" in writes[0]
    else:
        assert [w.split()[2] for w in writes] == ["executions", "execution_queue",
                                                 "execution_events"]  # fmt: skip
    assert len(statements) == len(writes) + 2  # the flow at its revision, online runners


async def test_a_requested_execution_lands_with_its_queue_row_and_first_event(
    database: Database,
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)

    execution_id = await _request(database, actor.organization_id, flow_id)

    async with database.transaction() as session:
        execution = await session.get(Execution, execution_id)
        entry = await session.get(QueueEntry, execution_id)
        events = (
            await session.scalars(
                select(ExecutionEvent).where(ExecutionEvent.execution_id == execution_id)
            )
        ).all()
    assert execution is not None
    assert entry is not None
    assert (execution.status, execution.attempt, execution.last_seq) == ("queued", 0, 1)
    assert execution.status_detail == "waiting for a runner"
    assert (entry.lease_owner, entry.attempt, entry.labels) == (None, 0, {})
    assert [(e.seq, e.type, e.payload["id"], e.payload["status"]) for e in events] == [
        (1, "execution", execution_id, "queued")
    ]


async def test_a_request_wakes_this_processes_waiters_once_it_is_committed(
    database: Database,
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)

    with HUB.subscribe([work_topic(actor.organization_id)]) as subscription:
        await _request(database, actor.organization_id, flow_id)
        assert await subscription.wait(1.0)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_statement_by_statement_sessions_commit_each_write_at_once(
    database: Database,
) -> None:
    """What `Database.statements` promises (and `request_execution` relies on): no
    transaction around the block, so another connection sees a write before the block ends."""
    async with database.statements() as session:
        assert is_autocommit(session)
        await session.execute(text("CREATE TABLE seen (n integer)"))
        await session.execute(text("INSERT INTO seen VALUES (1)"))
        async with database.transaction() as other:
            assert (await other.execute(select(func.count()).select_from(text("seen")))).scalar()


async def test_statement_by_statement_on_sqlite_is_one_transaction(database: Database) -> None:
    async with database.statements() as session:
        assert is_autocommit(session) == database.is_postgres


async def test_online_runners_are_read_once_a_second_and_again_once_one_registers(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runners_service, "RECENT_LABEL_SETS_TTL_S", 60.0)  # a slow machine
    actor = await make_actor(database)
    flow_id = await make_flow(
        database, actor.organization_id, definition=echo_definition(runs_on={"location": "dc"})
    )
    await _request(database, actor.organization_id, flow_id)  # reads the runners

    with recorded_statements(database) as again:
        second = await _request_view(database, actor.organization_id, flow_id)
    assert not [s for s in again if "FROM runners" in s]
    assert second.status_detail == "waiting for a runner with location=dc"

    await register_runner(database, actor.organization_id, labels={"location": "dc"})
    with recorded_statements(database) as after:
        third = await _request_view(database, actor.organization_id, flow_id)
    assert [s for s in after if "FROM runners" in s]
    assert third.status_detail is None


async def _request_view(database: Database, organization_id: str, flow_id: str) -> ExecutionView:
    async with database.statements() as session:
        return await service.request_execution(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            input={"n": 1},
            trigger={"type": "manual"},
        )


async def register_runner(database: Database, organization_id: str, labels: dict[str, str]) -> None:
    async with database.transaction() as session:
        token = await runners_service.create_token(
            session,
            organization_id=organization_id,
            created_by=None,
            body=RunnerTokenCreate(name="dc-1", labels=labels),
        )
        await runners_service.register_runner(
            session,
            token=token.token,
            name="dc-1",
            labels={},
            max_concurrent_executors=1,
            public_key=SigningKey.generate().public_key_base64(),
            version="test",
            offline_after_s=60,
        )


async def test_a_request_is_claimable_at_once_when_the_api_hosts_clock_runs_ahead(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue row is claimable from the database's clock, which the claims compare with:
    an API host whose clock is ahead of the database's (here by a minute) would otherwise
    queue work that the runner its commit wakes cannot take yet."""
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    ahead = datetime.now(UTC) + timedelta(minutes=1)
    monkeypatch.setattr(service, "utcnow", lambda: ahead)

    execution_id = await _request(database, actor.organization_id, flow_id)

    assert [c.id for c in await claim(database, actor.organization_id)] == [execution_id]
