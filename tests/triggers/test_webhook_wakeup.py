"""A sync webhook learns that its execution ended from the end's wake-up, never by polling:
it reads the execution's status only when woken (and once at its timeout), on SQLite and
PostgreSQL. A client that hangs up neither cancels nor loses the execution."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import httpx
import pytest

from flomation.db.session import Database
from flomation.executions.notifier import HUB, execution_topic
from flomation.protocol import ExecutionStatus
from tests.factories import Actor
from tests.live import LiveServer
from tests.statements import recorded_statements
from tests.triggers.factories import end_all, executions_of, make_flow, make_trigger

LONG_S = 30.0


def _status_reads(statements: list[str]) -> int:
    """Reads of one execution by its id (the webhook's status look-ups)."""
    return sum(
        1
        for s in statements
        if s.startswith("SELECT") and "FROM executions" in s and "executions.id =" in s
    )


class _Publications:
    """Counts this process's publications of each execution's topic."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: Counter[str] = Counter()
        publish = HUB.publish

        def counting(topic: str) -> None:
            self.counts[topic] += 1
            publish(topic)

        monkeypatch.setattr(HUB, "publish", counting)

    def changes_after_the_request(self, execution_id: str) -> int:
        """Publications of the execution's topic after its request's own."""
        return self.counts[execution_topic(execution_id)] - 1


@pytest.fixture
def publications(monkeypatch: pytest.MonkeyPatch) -> _Publications:
    return _Publications(monkeypatch)


async def _hook(database: Database, actor: Actor, config: dict[str, Any]) -> None:
    flow_id = await make_flow(database, actor.organization_id)
    await make_trigger(database, actor.organization_id, flow_id, "webhook", config)


async def _until(predicate: Any) -> None:
    """Wait for a condition (the caller bounds it), not for a time."""
    while not predicate():
        await asyncio.sleep(0.01)


async def _waiting_execution(database: Database, actor: Actor) -> str:
    """The id of the one execution, once its sync webhook is waiting for it."""
    executions: list[Any] = []

    async def requested() -> bool:
        executions[:] = await executions_of(database, actor.organization_id)
        return bool(executions) and execution_topic(executions[0].id) in HUB._waiters

    while not await requested():
        await asyncio.sleep(0.01)
    return str(executions[0].id)


async def test_a_sync_webhook_reads_its_execution_only_at_its_timeout_when_nothing_happens(
    api: LiveServer, owner: Actor, database: Database, publications: _Publications
) -> None:
    await _hook(database, owner, {"path": "idle", "respond": "sync", "sync_timeout_s": 1.5})
    async with api.client() as client:
        with recorded_statements(database) as statements:
            answer = await client.post("/hooks/idle", json={})
    assert answer.status_code == 202
    # No look right after the request (nothing can have ended before the waiter listened),
    # no poll while waiting: one look per change (the queue's maintenance may note why the
    # execution waits), and one when the timeout is over.
    execution_id = answer.json()["execution_id"]
    assert _status_reads(statements) == 1 + publications.changes_after_the_request(execution_id)


async def test_a_sync_webhook_answers_when_woken_by_the_end(
    api: LiveServer, owner: Actor, database: Database, publications: _Publications
) -> None:
    await _hook(database, owner, {"path": "woken", "respond": "sync", "sync_timeout_s": LONG_S})
    async with api.client() as client:
        with recorded_statements(database) as statements:
            call = asyncio.create_task(client.post("/hooks/woken", json={}))
            execution_id = await asyncio.wait_for(_waiting_execution(database, owner), LONG_S)
            # Waiting, not reading (but for a change the queue's maintenance may publish).
            assert _status_reads(statements) == publications.changes_after_the_request(execution_id)
            # The runner's claim and end, in one transaction: one wake-up, one look.
            assert await end_all(database, owner.organization_id) == 1
            answer = await asyncio.wait_for(call, LONG_S)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"done": True}
    # One look per change: the end (the claim came with it, in one transaction) and any other.
    assert _status_reads(statements) == publications.changes_after_the_request(execution_id)


async def test_a_client_that_hangs_up_cancels_and_loses_nothing(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, {"path": "gone", "respond": "sync", "sync_timeout_s": LONG_S})
    async with api.client() as client:
        call = asyncio.create_task(client.post("/hooks/gone", json={"keep": 1}))
        execution_id = await asyncio.wait_for(_waiting_execution(database, owner), LONG_S)
        call.cancel()  # the client hangs up while the webhook waits
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await call
    [execution] = await executions_of(database, owner.organization_id)
    assert execution.id == execution_id
    assert execution.status == ExecutionStatus.QUEUED
    assert execution.cancel_requested_at is None
    assert execution.input["body"] == {"keep": 1}
    # Still runs to its end as if the caller had waited.
    assert await end_all(database, owner.organization_id) == 1
    [ended] = await executions_of(database, owner.organization_id)
    assert ended.status == ExecutionStatus.SUCCEEDED
