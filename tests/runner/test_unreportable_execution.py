"""An execution whose events the reporter cannot encode is stopped and ends failed, naming the
node, instead of running on with reports that could never be delivered (real API, real
engine; the bad event is handed to the reporter as a buggy engine or node type would)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flomation.backoff import Backoff
from flomation.db.session import Database
from flomation.engine.expressions import FlowUndefined
from flomation.engine.nodes.base import EngineServices
from flomation.protocol import ClaimedExecution
from flomation.runner.execution import ExecutionJob, JobContext, PlanCache
from flomation.runner.local_secrets import LocalSecrets
from flomation.runner.metrics import RunnerMetrics
from flomation.runner.reporter import Reporter
from flomation.runner.slots import Slots
from flomation.runner.subflows import SlotHold
from tests.executions.factories import get, request
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, runner_client

SLOW = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "wait", "type": "delay", "config": {"seconds": 30}},
    ],
    "edges": [{"from": "start", "to": "wait"}],
}


async def test_an_execution_with_an_unreportable_event_is_stopped_and_fails_naming_the_node(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id, definition=SLOW)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    client = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await client.register(labels={}, max_concurrent=1)
    [payload] = (await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    jobs: dict[str, ExecutionJob] = {}

    def unreportable(execution_id: str, attempt: int, node_id: str | None, why: str) -> None:
        jobs[execution_id].fail_unreportable(node_id, why)

    reporter = Reporter(
        client,
        flush_interval_s=0.02,
        batch_max=100,
        backoff=Backoff(),
        on_unreportable=unreportable,
    )
    flusher = asyncio.create_task(reporter.run())
    slots = Slots(1)
    slots.reserve_all()
    context = JobContext(
        reporter=reporter,
        local_secrets=LocalSecrets({}),
        metrics=RunnerMetrics(),
        plans=PlanCache(),
        make_services=lambda claimed, hold: EngineServices(),
    )
    claimed = ClaimedExecution.model_validate(payload)
    job = ExecutionJob(claimed, SlotHold(slots), context)
    jobs[claimed.id] = job
    began = time.monotonic()
    job.task = asyncio.create_task(job.run())
    while job._executor is None:  # until the engine has started
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the delay node is running
    bad: dict[str, Any] = {
        "seq": 1000,
        "kind": "log",
        "at": "2026-01-01T00:00:00Z",
        "node_id": "wait",
        "level": "info",
        "message": FlowUndefined(),
    }
    reporter.add_event(claimed.id, claimed.attempt, bad)
    await asyncio.wait_for(job.task, 10)
    reporter.stop()
    await asyncio.wait_for(flusher, 10)
    await client.aclose()
    assert time.monotonic() - began < 10  # stopped, not left to run its 30 s delay
    assert job.result is not None
    assert job.result.status == "failed"
    done = await get(database, owner.organization_id, execution_id)
    assert done.status == "failed"
    assert done.error is not None
    assert done.error["node_id"] == "wait"
    assert "cannot be reported as JSON" in done.error["message"]
    assert "undefined value" in done.error["message"]
