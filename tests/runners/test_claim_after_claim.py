"""A runner claims again as soon as a claim brought it work. When nothing was announced since
a claim of its group that left slots to spare, that next long poll goes straight to waiting,
without a claim of its own (it would find nothing), and still claims what comes next."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flomation.db.session import Database
from flomation.executions.notifier import HUB, WorkNotifier, work_topic
from flomation.protocol import ClaimRequest, ClaimResponse
from flomation.runners import protocol
from tests.conftest import make_settings
from tests.executions.factories import request
from tests.factories import make_actor, make_flow
from tests.runners.test_long_poll import _claims, _not_disconnected, _runner, _until
from tests.statements import recorded_statements

LONG_S = 30.0


async def test_the_long_poll_after_a_claim_waits_without_claiming_again(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await _claim_then_poll_again(database, database_url, tmp_path, requested_between=False)


async def test_work_requested_between_two_long_polls_is_claimed_by_the_second_at_once(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    """Nobody waits when it is requested, yet its publication shows: no claim is skipped."""
    await _claim_then_poll_again(database, database_url, tmp_path, requested_between=True)


async def _claim_then_poll_again(
    database: Database, database_url: str, tmp_path: Path, *, requested_between: bool
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    settings = make_settings(database_url, tmp_path / "data", claim_wait_seconds=LONG_S)
    runner = await _runner(database, actor, {}, slots=4)
    notifier = WorkNotifier(database)
    await notifier.start()

    def claim(wait_s: float) -> asyncio.Task[ClaimResponse]:
        return asyncio.create_task(
            protocol.claim(
                database,
                settings,
                notifier,
                runner,
                ClaimRequest(free_slots=4, wait_s=wait_s),
                disconnected=_not_disconnected,
            )
        )

    topic = work_topic(actor.organization_id)
    try:
        # A long poll waiting keeps the runner's claim group (and the topic's stamps) alive.
        idle = claim(LONG_S)
        await asyncio.wait_for(_until(lambda: topic in HUB._waiters), LONG_S)
        first = (await request(database, actor.organization_id, flow_id)).id
        assert [e.id for e in (await asyncio.wait_for(idle, LONG_S)).executions] == [first]

        if requested_between:
            between = (await request(database, actor.organization_id, flow_id)).id
            answer = await asyncio.wait_for(claim(LONG_S), LONG_S)
            assert [e.id for e in answer.executions] == [between]
            return

        with recorded_statements(database) as statements:
            following = claim(LONG_S)
            await asyncio.wait_for(_until(lambda: topic in HUB._waiters), LONG_S)
            assert _claims(statements) == []  # waiting, with no claim of its own
            second = (await request(database, actor.organization_id, flow_id)).id
            answer = await asyncio.wait_for(following, LONG_S)
        assert [e.id for e in answer.executions] == [second]
        assert len(_claims(statements)) == 1
    finally:
        await notifier.stop()
