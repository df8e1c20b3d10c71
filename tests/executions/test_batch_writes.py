"""A report batch's steps, logs and events written in one statement per table (arrays by column
on PostgreSQL) store exactly what the row-by-row path stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from flomation.db.session import Database
from flomation.executions import repository
from tests.executions.factories import request
from tests.factories import Actor, make_flow
from tests.statements import recorded_statements


def _step(execution_id: str, number: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "execution_id": execution_id,
        "step_key": f"node{number}|None|null",
        "seq": number + 1,
        "node_id": f"node{number}",
        "visit": None,
        "iteration": None,
        "run_attempt": 0,
        "step": number,
        "parent_step": None,
        "status": "succeeded",
        "attempts": 1,
        "input": None,
        "output": {"n": number, "nested": [1, "é", None]},
        "error": None,
        "port": None,
        "reused": False,
        "output_truncated": False,
        "started_at": datetime(2026, 1, 1, 0, 0, number, tzinfo=UTC),
        "finished_at": datetime(2026, 1, 1, 0, 1, number, tzinfo=UTC),
    }
    row.update(changes)
    return row


async def _stored_steps(database: Database, execution_id: str) -> list[tuple[Any, ...]]:
    async with database.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT step_key, seq, status, input IS NULL, output, error IS NULL, started_at,"
                " finished_at FROM execution_steps WHERE execution_id = :e ORDER BY step"
            ),
            {"e": execution_id},
        )
        return [tuple(row) for row in rows]


async def _two_executions(database: Database, actor: Actor) -> tuple[str, str]:
    flow_id = await make_flow(database, actor.organization_id)
    first = await request(database, actor.organization_id, flow_id)
    second = await request(database, actor.organization_id, flow_id)
    return first.id, second.id


async def test_batched_steps_store_what_row_by_row_upserts_store(
    database: Database, owner: Actor
) -> None:
    batched, row_by_row = await _two_executions(database, owner)
    async with database.transaction() as session:
        await repository.upsert_steps(session, [_step(batched, n) for n in range(3)])
        dialect = session.get_bind().dialect.name
        await session.execute(
            repository._upsert_steps_statement(dialect),
            [_step(row_by_row, n) for n in range(3)],
        )

    assert await _stored_steps(database, batched) == await _stored_steps(database, row_by_row)


async def test_a_batched_upsert_replaces_a_step_and_keeps_its_first_seq(
    database: Database, owner: Actor
) -> None:
    execution_id, _ = await _two_executions(database, owner)
    async with database.transaction() as session:
        await repository.upsert_steps(session, [_step(execution_id, 0, status="running")])
    async with database.transaction() as session:
        await repository.upsert_steps(
            session,
            [_step(execution_id, 0, status="failed", seq=9, error={"message": "boom"})],
        )

    [stored] = await _stored_steps(database, execution_id)
    assert stored[1:3] == (1, "failed")
    assert bool(stored[3]) is True  # no input
    assert bool(stored[5]) is False  # the error is stored


async def test_a_batch_naming_a_step_twice_keeps_the_last(database: Database, owner: Actor) -> None:
    execution_id, _ = await _two_executions(database, owner)
    async with database.transaction() as session:
        await repository.upsert_steps(
            session,
            [_step(execution_id, 0, status="running"), _step(execution_id, 0, status="failed")],
        )

    [stored] = await _stored_steps(database, execution_id)
    assert stored[2] == "failed"


async def test_a_batch_of_logs_and_events_is_one_statement_per_table_on_postgresql(
    database: Database, owner: Actor
) -> None:
    execution_id, _ = await _two_executions(database, owner)
    logs = [
        {
            "execution_id": execution_id,
            "seq": 100 + n,
            "at": datetime(2026, 1, 1, tzinfo=UTC),
            "node_id": None,
            "level": "info",
            "message": f"line {n}",
        }
        for n in range(5)
    ]
    events = [
        {"execution_id": execution_id, "seq": 200 + n, "type": "log", "payload": {"n": n}}
        for n in range(5)
    ]
    async with database.transaction() as session:
        await session.execute(text("SELECT 1"))
        with recorded_statements(database) as statements:
            await repository.insert_logs(session, logs)
            await repository.insert_events(session, events)
        stored_logs = await repository.list_logs(session, execution_id)
        stored_events = await session.execute(
            text(
                "SELECT seq, payload FROM execution_events WHERE execution_id = :e AND seq >= 200"
            ),
            {"e": execution_id},
        )
        payloads = sorted((seq, payload) for seq, payload in stored_events)

    assert [log.message for log in stored_logs] == [f"line {n}" for n in range(5)]
    # SQLite's text() reads JSON back as text; PostgreSQL's jsonb comes decoded.
    decoded = [(seq, p if isinstance(p, dict) else json.loads(p)) for seq, p in payloads]
    assert decoded == [(200 + n, {"n": n}) for n in range(5)]
    if database.is_postgres:
        assert len(statements) == 2
        assert all("unnest(" in statement for statement in statements)
