"""A report batch over the API's body limit is split, not dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flomation.backoff import Backoff
from flomation.config import Settings
from flomation.db.session import Database
from flomation.protocol import Completion, ExecutionStatus
from flomation.runner.reporter import Reporter
from tests.conftest import make_settings
from tests.executions.factories import get, request
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runner.test_reporter import node_events
from tests.runners.helpers import make_runner_token, runner_client


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data", max_body_bytes=40_000)


async def test_a_batch_over_the_body_limit_is_sent_in_smaller_batches(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    client = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await client.register(labels={}, max_concurrent=1)
    [item] = (await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    reporter = Reporter(client, flush_interval_s=0.05, batch_max=1000, backoff=Backoff())
    flusher = asyncio.create_task(reporter.run())
    for step in range(1, 31):
        started, succeeded = node_events(f"n{step}", step, 2 * step - 1)
        succeeded["output"] = {"blob": "x" * 4000}  # 30 steps x 4 kB: well over 40 kB
        reporter.add_event(execution_id, item["attempt"], started)
        reporter.add_event(execution_id, item["attempt"], succeeded)
    verdict = await reporter.complete(
        execution_id, item["attempt"], Completion(status=ExecutionStatus.SUCCEEDED, output=1)
    )
    reporter.stop()
    await flusher
    await client.aclose()
    assert verdict == "ok"
    assert reporter.requests_sent >= 3
    done = await get(database, owner.organization_id, execution_id)
    assert done.status == "succeeded"
    assert len(done.steps) == 30
    assert all(step.output == {"blob": "x" * 4000} for step in done.steps)
