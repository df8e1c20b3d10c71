"""The reporter against the real API: many executions' events and ends travel in a few
batched requests, and each execution ends with what its own attempt reported."""

from __future__ import annotations

import asyncio

from flomation.backoff import Backoff
from flomation.db.session import Database
from flomation.protocol import Completion, ExecutionStatus
from flomation.runner.reporter import Reporter
from tests.executions.factories import get, request
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, runner_client


def node_events(node_id: str, step: int, seq: int) -> list[dict[str, object]]:
    at = "2026-01-01T00:00:00Z"
    return [
        {"seq": seq, "kind": "node.started", "at": at, "step": step, "node_id": node_id,
         "visit": 1, "iteration": None, "parent_step": None, "attempt": 1, "input": None},
        {"seq": seq + 1, "kind": "node.succeeded", "at": at, "step": step, "node_id": node_id,
         "attempts": 1, "output": {"step": step}, "port": "success"},
    ]  # fmt: skip


async def test_events_of_many_executions_travel_in_few_batched_requests(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    ids = [(await request(database, owner.organization_id, flow_id)).id for _ in range(5)]
    client = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await client.register(labels={}, max_concurrent=5)
    claimed = (await client.call("POST", "/claim", {"free_slots": 5, "wait_s": 0}))["executions"]
    assert sorted(item["id"] for item in claimed) == sorted(ids)
    reporter = Reporter(client, flush_interval_s=0.2, batch_max=1000, backoff=Backoff())
    flusher = asyncio.create_task(reporter.run())
    for item in claimed:
        for step in range(1, 21):
            for event in node_events(f"n{step}", step, 2 * step - 1):
                reporter.add_event(item["id"], item["attempt"], event)
    verdicts = await asyncio.gather(
        *(
            reporter.complete(
                item["id"], item["attempt"], Completion(status=ExecutionStatus.SUCCEEDED, output=1)
            )
            for item in claimed
        )
    )
    reporter.stop()
    await flusher
    await client.aclose()
    assert verdicts == ["ok"] * 5
    # 200 events and 5 ends: one request, two if a flush tick fell in between.
    assert reporter.requests_sent <= 2
    for execution_id in ids:
        done = await get(database, owner.organization_id, execution_id)
        assert done.status == "succeeded"
        assert [step.node_id for step in done.steps] == [f"n{i}" for i in range(1, 21)]


async def test_a_stale_attempts_end_is_answered_stale_and_dropped(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    client = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await client.register(labels={}, max_concurrent=1)
    [item] = (await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    refused: list[tuple[str, int, str]] = []
    reporter = Reporter(
        client,
        flush_interval_s=0.01,
        batch_max=100,
        backoff=Backoff(),
        on_refused=lambda *args: refused.append(args),
    )
    flusher = asyncio.create_task(reporter.run())
    verdict = await reporter.complete(
        execution_id, item["attempt"] + 1, Completion(status=ExecutionStatus.SUCCEEDED, output=1)
    )
    reporter.stop()
    await flusher
    await client.aclose()
    assert verdict == "stale"
    assert refused == [(execution_id, item["attempt"] + 1, "stale")]
    assert reporter.pending_events == 0
    assert (await get(database, owner.organization_id, execution_id)).status == "running"
