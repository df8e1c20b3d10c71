"""Nothing one execution produces can make a report batch fail for the others: events and ends
are encoded per execution when they are added, and a refused batch is split down to the one
execution at fault (against the real API)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flomation.backoff import Backoff
from flomation.config import Settings
from flomation.db.session import Database
from flomation.engine.expressions import FlowUndefined
from flomation.protocol import Completion, ExecutionStatus
from flomation.runner.client import ApiClient
from flomation.runner.reporter import Reporter
from tests.conftest import make_settings
from tests.executions.factories import get, request
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runner.test_reporter import node_events
from tests.runners.helpers import make_runner_token, runner_client

SUCCEEDED = Completion(status=ExecutionStatus.SUCCEEDED, output=1)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A small body limit, so that one execution's end can be over it.
    return make_settings(database_url, tmp_path / "data", max_body_bytes=40_000)


async def claim_two(
    api: LiveServer, database: Database, owner: Actor
) -> tuple[ApiClient, list[dict[str, Any]]]:
    flow_id = await make_flow(database, owner.organization_id)
    for _ in range(2):
        await request(database, owner.organization_id, flow_id)
    client = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await client.register(labels={}, max_concurrent=2)
    claimed = (await client.call("POST", "/claim", {"free_slots": 2, "wait_s": 0}))["executions"]
    assert len(claimed) == 2
    return client, claimed


@pytest.mark.parametrize(
    ("bad_value", "why"),
    [
        (FlowUndefined(), "undefined value"),
        ("\ud800", "lone surrogate"),
        (float("nan"), "not a JSON number"),
        ({1: "a", "b": 2}, "not a string"),
    ],
    ids=["undefined", "lone-surrogate", "nan", "mixed-keys"],
)
async def test_an_event_that_is_not_json_fails_its_execution_and_the_batch_carries_the_others(
    api: LiveServer, database: Database, owner: Actor, bad_value: Any, why: str
) -> None:
    client, [bad, good] = await claim_two(api, database, owner)
    unreportable: list[tuple[str, int, str | None, str]] = []
    reporter = Reporter(
        client,
        flush_interval_s=0.05,
        batch_max=1000,
        backoff=Backoff(),
        on_unreportable=lambda *args: unreportable.append(args),
    )
    flusher = asyncio.create_task(reporter.run())
    started, succeeded = node_events("poison", 1, 1)
    succeeded["output"] = {"v": [bad_value]}
    for event in (started, succeeded):
        reporter.add_event(bad["id"], bad["attempt"], event)
    for event in node_events("fine", 1, 1):
        reporter.add_event(good["id"], good["attempt"], event)
    # Both in one batch: the good execution's events and end must travel regardless.
    verdicts = await asyncio.gather(
        reporter.complete(bad["id"], bad["attempt"], SUCCEEDED),
        reporter.complete(good["id"], good["attempt"], SUCCEEDED),
    )
    reporter.stop()
    await asyncio.wait_for(flusher, 10)
    await client.aclose()
    assert list(verdicts) == ["ok", "ok"]
    [(execution_id, attempt, node_id, message)] = unreportable
    assert (execution_id, attempt, node_id) == (bad["id"], bad["attempt"], "poison")
    assert "node 'poison'" in message
    assert why in message
    fine = await get(database, owner.organization_id, good["id"])
    assert fine.status == "succeeded"
    assert [step.node_id for step in fine.steps] == ["fine"]
    # The bad event itself arrived, its value replaced by a note saying what it was.
    poisoned = await get(database, owner.organization_id, bad["id"])
    [step] = poisoned.steps
    assert step.node_id == "poison"


async def test_an_end_that_is_not_json_is_reported_as_a_failed_end(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    client, [bad, good] = await claim_two(api, database, owner)
    reporter = Reporter(client, flush_interval_s=0.05, batch_max=1000, backoff=Backoff())
    flusher = asyncio.create_task(reporter.run())
    verdicts = await asyncio.gather(
        reporter.complete(
            bad["id"],
            bad["attempt"],
            Completion(status=ExecutionStatus.SUCCEEDED, output=[FlowUndefined()]),
        ),
        reporter.complete(good["id"], good["attempt"], SUCCEEDED),
    )
    reporter.stop()
    await asyncio.wait_for(flusher, 10)
    await client.aclose()
    assert list(verdicts) == ["ok", "ok"]
    failed = await get(database, owner.organization_id, bad["id"])
    assert failed.status == "failed"
    assert failed.error is not None
    assert "cannot be reported as JSON" in failed.error["message"]
    assert failed.output is None
    assert (await get(database, owner.organization_id, good["id"])).status == "succeeded"


async def test_an_end_over_the_body_limit_fails_its_execution_and_the_others_are_delivered(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    client, [huge, good] = await claim_two(api, database, owner)
    reporter = Reporter(client, flush_interval_s=0.05, batch_max=1000, backoff=Backoff())
    flusher = asyncio.create_task(reporter.run())
    for event in node_events("fine", 1, 1):
        reporter.add_event(good["id"], good["attempt"], event)
    verdicts = await asyncio.gather(
        reporter.complete(
            huge["id"],
            huge["attempt"],
            Completion(status=ExecutionStatus.SUCCEEDED, output="x" * 100_000),
        ),
        reporter.complete(good["id"], good["attempt"], SUCCEEDED),
    )
    reporter.stop()
    await asyncio.wait_for(flusher, 10)
    await client.aclose()
    assert list(verdicts) == ["ok", "ok"]
    failed = await get(database, owner.organization_id, huge["id"])
    assert failed.status == "failed"
    assert failed.error is not None
    assert "too large" in failed.error["message"]
    fine = await get(database, owner.organization_id, good["id"])
    assert fine.status == "succeeded"
    assert [step.node_id for step in fine.steps] == ["fine"]
