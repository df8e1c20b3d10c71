"""An execution request runs the flow's current revision from this process's copy, without
reading it, and the insert re-checks the copy in its own statement: a flow that another API
process moved on (a new revision, archived, a new concurrency limit) is read again, so a stale
copy never queues an execution that the database would not have."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
from sqlalchemy import func, select

from flomation.db.session import Database
from flomation.errors import Conflict, NotFound, ValidationFailed
from flomation.executions import service
from flomation.executions.notifier import CHANNEL, HUB, notify_payload, work_topic
from flomation.flows import repository as flows_repository
from flomation.flows import service as flows_service
from flomation.models.executions import Execution, QueueEntry
from tests.factories import Actor, echo_definition, make_actor, make_flow
from tests.statements import recorded_statements

LONG_S = 30.0
Copied = tuple[Actor, str]


@pytest.fixture
async def copied(database: Database) -> Copied:
    """An actor and a flow of theirs that this process has run once, so it holds the copy."""
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    await _request(database, actor.organization_id, flow_id)
    return actor, flow_id


async def _request(database: Database, organization_id: str, flow_id: str, **input: Any) -> str:
    """As the endpoint asks: in a `statements()` session, where on PostgreSQL the guarded
    insert is one autocommitted statement."""
    async with database.statements() as session:
        view = await service.request_execution(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            input=input or {"n": 1},
            trigger={"type": "manual"},
        )
    return view.id


async def _executions(database: Database, flow_id: str) -> int:
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Execution).where(Execution.flow_id == flow_id)
        )
    return int(count or 0)


# What another API process does: it writes through the flows domain too, but its copy of the
# flow is its own, so this process's copy is left as it was.
async def _saved_elsewhere(
    database: Database, organization_id: str, flow_id: str, definition: dict[str, Any]
) -> None:
    async with database.transaction() as session:
        flow = await flows_repository.advance_revision(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            base_revision=1,
            runs_on=definition.get("runs_on", {}),
        )
        assert flow is not None
        await flows_repository.insert_revision(
            session,
            flow_id=flow_id,
            revision=2,
            definition=definition,
            content_hash=flows_service.content_hash(definition),
            author_id=None,
            message=None,
        )


async def test_a_second_request_reads_no_flow_and_writes_in_one_guarded_statement(
    database: Database,
    copied: Copied,
) -> None:
    actor, flow_id = copied

    with recorded_statements(database) as statements:
        await _request(database, actor.organization_id, flow_id)

    assert not [s for s in statements if s.startswith("SELECT") and "FROM flows" in s]
    writes = [s for s in statements if s.startswith(("INSERT", "WITH"))]
    assert "flows.current_revision" in writes[0]  # the guard
    assert len(writes) == (1 if database.is_postgres else 3)


async def test_a_revision_saved_by_another_process_is_the_one_that_runs(
    database: Database, copied: Copied, database_url: str
) -> None:
    actor, flow_id = copied
    strict = echo_definition(runs_on={"zone": "eu"})
    strict["nodes"][0]["config"]["input_schema"]["properties"]["n"]["minimum"] = 10
    await _saved_elsewhere(database, actor.organization_id, flow_id, strict)

    # The new revision's input schema applies: refused, nothing queued.
    with pytest.raises(ValidationFailed):
        await _request(database, actor.organization_id, flow_id, n=1)
    assert await _executions(database, flow_id) == 1

    heard: list[str] = []
    listener = None
    if database.is_postgres:  # another process's runners hear of it through LISTEN
        listener = await asyncpg.connect(database_url.replace("+asyncpg", ""))
        await listener.add_listener(CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        with HUB.subscribe([work_topic(actor.organization_id)]) as woken:
            execution_id = await _request(database, actor.organization_id, flow_id, n=10)
            assert await woken.wait(LONG_S) is True
        if listener is not None:
            expected = notify_payload(work_topic(actor.organization_id))
            for _ in range(100):
                if expected in heard:
                    break
                await asyncio.sleep(0.05)
            assert expected in heard
    finally:
        if listener is not None:
            await listener.close()
    async with database.transaction() as session:
        execution = await session.get(Execution, execution_id)
        entry = await session.get(QueueEntry, execution_id)
    assert execution is not None
    assert entry is not None
    assert (execution.revision, execution.runs_on, entry.labels) == (
        2,
        {"zone": "eu"},
        {"zone": "eu"},
    )
    assert await _executions(database, flow_id) == 2


async def test_a_flow_archived_by_another_process_takes_no_execution(
    database: Database, copied: Copied
) -> None:
    actor, flow_id = copied
    async with database.transaction() as session:
        await flows_repository.archive_flow(
            session, organization_id=actor.organization_id, flow_id=flow_id
        )

    with pytest.raises(Conflict, match="archived"):
        await _request(database, actor.organization_id, flow_id)
    assert await _executions(database, flow_id) == 1


async def test_a_limit_set_by_another_process_goes_with_the_next_execution(
    database: Database,
    copied: Copied,
) -> None:
    actor, flow_id = copied
    async with database.transaction() as session:
        await flows_repository.update_flow_fields(
            session,
            organization_id=actor.organization_id,
            flow_id=flow_id,
            values={"max_concurrent_executions": 2},
        )

    execution_id = await _request(database, actor.organization_id, flow_id)
    async with database.transaction() as session:
        entry = await session.get(QueueEntry, execution_id)
    assert entry is not None
    assert entry.max_concurrent == 2
    assert await _executions(database, flow_id) == 2


async def test_a_copy_of_one_organisation_never_serves_another(
    database: Database, copied: Copied
) -> None:
    _, flow_id = copied
    other = await make_actor(database)

    with pytest.raises(NotFound):
        await _request(database, other.organization_id, flow_id)
    assert await _executions(database, flow_id) == 1


async def test_a_flow_too_large_to_copy_is_read_on_every_request(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flows_service.CURRENT_REVISIONS, "max_entry_bytes", 100)
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)  # over 100 bytes of JSON
    await _request(database, actor.organization_id, flow_id)

    with recorded_statements(database) as statements:
        await _request(database, actor.organization_id, flow_id)

    assert [s for s in statements if s.startswith("SELECT") and "FROM flows" in s]
    assert flows_service.cached_current_revision(actor.organization_id, flow_id) is None
