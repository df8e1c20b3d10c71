"""The claim long poll, on SQLite and PostgreSQL: a runner woken for work it does not get (the
work went to another runner) keeps waiting instead of answering empty, and claims the next
execution it can take within the same request."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from flomation.db.session import Database
from flomation.executions.notifier import HUB, WorkNotifier, work_topic
from flomation.runners import protocol, service
from flomation.runners.schemas import ClaimRequest
from flomation.runners.service import AuthenticatedRunner
from flomation.signing import SigningKey
from tests.conftest import make_settings
from tests.factories import Actor, make_actor
from tests.runners.helpers import make_flow, make_runner_token, request
from tests.statements import recorded_statements

LONG_S = 30.0


async def _runner(database: Database, actor: Actor, labels: dict[str, str]) -> AuthenticatedRunner:
    token = await make_runner_token(database, actor.organization_id, labels=labels)
    async with database.transaction() as session:
        registration = await service.register_runner(
            session,
            token=token,
            name=f"runner-{sorted(labels.items())}",
            labels={},
            max_concurrent_executors=1,
            public_key=SigningKey.generate().public_key_base64(),
            version="test",
            offline_after_s=60.0,
        )
    return AuthenticatedRunner(
        runner_id=registration.runner_id,
        organization_id=actor.organization_id,
        labels=registration.labels,
        max_concurrent_executors=1,
        nonce="n" * 32,
    )


def _claims(statements: list[str]) -> list[str]:
    """The claim statements (the queue rows' leases) among those sent."""
    return [s for s in statements if "SET lease_owner" in s]


async def _until(predicate: Any) -> None:
    """Wait for a condition (not for a time): the test fails by its own timeout otherwise."""
    while not predicate():
        await asyncio.sleep(0.01)


async def _not_disconnected() -> bool:
    return False


async def test_a_claim_woken_for_work_another_runner_took_waits_on_for_the_next(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    settings = make_settings(database_url, tmp_path / "data", claim_wait_seconds=LONG_S)
    plain = await _runner(database, actor, {})
    gpu = await _runner(database, actor, {"gpu": "yes"})
    notifier = WorkNotifier(database)
    await notifier.start()
    await asyncio.wait_for(notifier.listening.wait(), LONG_S)  # no "recheck all" wake later
    try:
        with recorded_statements(database) as statements:
            waiting = asyncio.create_task(
                protocol.claim(
                    database,
                    settings,
                    notifier,
                    plain,
                    ClaimRequest(free_slots=1, wait_s=LONG_S),
                    disconnected=_not_disconnected,
                )
            )
            await asyncio.wait_for(
                _until(
                    lambda: (
                        len(_claims(statements)) >= 1
                        and work_topic(actor.organization_id) in HUB._waiters
                    )
                ),
                LONG_S,
            )

            # Work only the other runner can take wakes the waiting runner, which finds nothing.
            before = len(_claims(statements))
            taken = await request(database, actor.organization_id, flow_id, runs_on={"gpu": "yes"})
            await asyncio.wait_for(_until(lambda: len(_claims(statements)) > before), LONG_S)
            other = await protocol.claim(
                database,
                settings,
                notifier,
                gpu,
                ClaimRequest(free_slots=1, wait_s=0),
                disconnected=_not_disconnected,
            )
            assert [item["id"] for item in other["executions"]] == [taken]
            assert not waiting.done()  # still waiting, not answered empty

            following = await request(database, actor.organization_id, flow_id)
            answer = await asyncio.wait_for(waiting, LONG_S)
    finally:
        await notifier.stop()

    assert [item["id"] for item in answer["executions"]] == [following]
    assert (answer["cancel"], answer["lost"]) == ([], [])
