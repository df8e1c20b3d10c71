"""A recovery attempt on the runner (real API and its maintenance, real engine): the claim
carries `recovery_error`; the runner runs only the flow's on_error branch, and whatever cuts
that branch short (here a cancel) it ends the execution failed with that error, never
`cancelled`, as the runner protocol says."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import update

from flomation.backoff import Backoff
from flomation.db.clock import db_now_plus
from flomation.db.session import Database
from flomation.engine.nodes.base import EngineServices
from flomation.models.executions import QueueEntry
from flomation.protocol import ClaimedExecution
from flomation.runner.client import ApiClient
from flomation.runner.execution import ExecutionJob, JobContext, PlanCache
from flomation.runner.local_secrets import LocalSecrets
from flomation.runner.metrics import RunnerMetrics
from flomation.runner.reporter import Reporter
from flomation.runner.slots import Slots
from flomation.runner.subflows import SlotHold
from tests.executions.factories import get, request
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runner.processes import wait_for
from tests.runners.helpers import make_runner_token, runner_client

# Both branches hold the runner: only a cancel ends either.
HOLDING = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "main_hold", "type": "delay", "config": {"seconds": 30}},
        {"id": "oe", "type": "on_error"},
        {"id": "branch_hold", "type": "delay", "config": {"seconds": 30}},
    ],
    "edges": [{"from": "start", "to": "main_hold"}, {"from": "oe", "to": "branch_hold"}],
}

RUNNER_LOST = {
    "node_id": None,
    "type": "runner_lost",
    "message": "runner lost while running this execution",
    "attempt": 2,
}


async def _claim_one(client: ApiClient) -> dict[str, Any]:
    answer = await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0})
    [payload] = answer["executions"]
    return dict(payload)


async def _lose(database: Database, organization_id: str, execution_id: str) -> None:
    """The lease runs out on the database's clock; the API's maintenance requeues it."""
    async with database.transaction() as session:
        await session.execute(
            update(QueueEntry)
            .where(QueueEntry.execution_id == execution_id)
            .values(lease_expires_at=db_now_plus(-1.0))
        )

    async def requeued() -> bool:
        view = await get(database, organization_id, execution_id)
        return bool(view.status == "queued")

    await wait_for(requeued, 20, "maintenance to requeue the execution")


async def test_a_cancelled_recovery_attempt_ends_failed_with_the_error_it_recovers_from(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    org = owner.organization_id
    flow_id = await make_flow(database, org, definition=HOLDING)
    execution_id = (await request(database, org, flow_id)).id
    client = runner_client(api.base_url, await make_runner_token(database, org))
    await client.register(labels={}, max_concurrent=1)
    for attempt in (1, 2):
        assert (await _claim_one(client))["attempt"] == attempt
        await _lose(database, org, execution_id)
    payload = await _claim_one(client)
    assert (payload["attempt"], payload["recovery_error"]) == (3, RUNNER_LOST)

    reporter = Reporter(client, flush_interval_s=0.02, batch_max=100, backoff=Backoff())
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
    job = ExecutionJob(ClaimedExecution.model_validate(payload), SlotHold(slots), context)
    job.task = asyncio.create_task(job.run())

    async def branch_running() -> bool:
        view = await get(database, org, execution_id)
        return any(s.node_id == "branch_hold" for s in view.steps)

    await wait_for(branch_running, 20, "the on_error branch to run")
    job.request_cancel()
    await asyncio.wait_for(job.task, 10)
    reporter.stop()
    await asyncio.wait_for(flusher, 10)
    await client.aclose()

    assert job.result is not None
    assert (job.result.status, job.result.error) == ("failed", RUNNER_LOST)
    done = await get(database, org, execution_id)
    assert (done.status, done.attempt, done.error) == ("failed", 3, RUNNER_LOST)
    # The recovery attempt ran the branch, never the main graph (attempts 1 and 2 were
    # claimed and lost without running anything).
    assert {s.node_id for s in done.steps} == {"oe", "branch_hold"}
