"""No execution waits for a long poll to time out: idle runners' long polls, woken by each new
execution, claim it at once, request after request (the lost wake-up of issue 18)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from flomation.db.session import Database
from flomation.executions import reports as execution_reports
from flomation.executions.notifier import WorkNotifier
from flomation.protocol import ClaimRequest, ExecutionStatus
from flomation.runners import protocol
from flomation.runners.service import AuthenticatedRunner
from flomation.triggers import service as triggers_service
from tests.conftest import make_settings
from tests.factories import make_actor, make_flow
from tests.runners.test_long_poll import _not_disconnected, _runner

LONG_S = 60.0
# Far below the long poll's wait: a claim this late would have waited for a time-out.
CLAIMED_WITHIN_S = 5.0
REQUESTS = 40


async def test_sequential_executions_are_each_claimed_without_waiting_out_a_long_poll(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    settings = make_settings(database_url, tmp_path / "data", claim_wait_seconds=LONG_S)
    runners = [await _runner(database, actor, {}, slots=16, name=f"idle-{i}") for i in range(2)]
    notifier = WorkNotifier(database)
    await notifier.start()
    claimed: dict[str, asyncio.Event] = {}

    async def serve(runner: AuthenticatedRunner) -> None:
        # As the runner process does: claim with every free slot, start what came, claim again.
        while True:
            answer = await protocol.claim(
                database,
                settings,
                notifier,
                runner,
                ClaimRequest(free_slots=16, wait_s=LONG_S),
                disconnected=_not_disconnected,
            )
            for item in answer.executions:
                claimed.setdefault(item.id, asyncio.Event()).set()
                async with database.transaction() as session:
                    await execution_reports.complete_execution(
                        session,
                        runner_id=runner.runner_id,
                        execution_id=item.id,
                        attempt=item.attempt,
                        status=ExecutionStatus.SUCCEEDED,
                        output=None,
                        error=None,
                    )

    loops = [asyncio.create_task(serve(runner)) for runner in runners]
    late: list[int] = []
    try:
        for n in range(REQUESTS):
            # As a webhook requests it: in a savepoint of the request's transaction.
            async with database.transaction() as session:
                started = await triggers_service.start_execution(
                    session,
                    organization_id=actor.organization_id,
                    flow_id=flow_id,
                    trigger={"type": "webhook", "id": "t", "path": "p"},
                    input={"n": n},
                    dedupe_key=None,
                )
            execution_id = started.execution_id
            event = claimed.setdefault(execution_id, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), CLAIMED_WITHIN_S)
            except TimeoutError:
                late.append(n)
                break
    finally:
        for loop in loops:
            loop.cancel()
        for loop in loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        await notifier.stop()
    assert late == []
