"""The claim long poll, on SQLite and PostgreSQL: a runner woken for work it does not get (the
work went to another runner) keeps waiting instead of answering empty, and claims the next
execution it can take within the same request."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from flomation.db.session import Database
from flomation.executions.notifier import HUB, WorkNotifier, work_topic
from flomation.protocol import ClaimRequest
from flomation.runners import protocol, service
from flomation.runners.service import AuthenticatedRunner
from flomation.signing import SigningKey
from tests.conftest import make_settings
from tests.executions.factories import request
from tests.factories import Actor, make_actor, make_flow
from tests.runners.helpers import make_runner_token
from tests.statements import recorded_statements

LONG_S = 30.0


async def _runner(
    database: Database, actor: Actor, labels: dict[str, str], *, slots: int = 1, name: str = ""
) -> AuthenticatedRunner:
    token = await make_runner_token(database, actor.organization_id, labels=labels)
    async with database.transaction() as session:
        registration = await service.register_runner(
            session,
            token=token,
            name=name or f"runner-{sorted(labels.items())}",
            labels={},
            max_concurrent_executors=slots,
            public_key=SigningKey.generate().public_key_base64(),
            version="test",
            offline_after_s=60.0,
        )
    return AuthenticatedRunner(
        runner_id=registration.runner_id,
        organization_id=actor.organization_id,
        labels=registration.labels,
        max_concurrent_executors=slots,
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
            taken = (
                await request(database, actor.organization_id, flow_id, runs_on={"gpu": "yes"})
            ).id
            await asyncio.wait_for(_until(lambda: len(_claims(statements)) > before), LONG_S)
            other = await protocol.claim(
                database,
                settings,
                notifier,
                gpu,
                ClaimRequest(free_slots=1, wait_s=0),
                disconnected=_not_disconnected,
            )
            assert [item.id for item in other.executions] == [taken]
            assert not waiting.done()  # still waiting, not answered empty

            following = (await request(database, actor.organization_id, flow_id)).id
            answer = await asyncio.wait_for(waiting, LONG_S)
    finally:
        await notifier.stop()

    assert [item.id for item in answer.executions] == [following]
    assert (answer.cancel, answer.lost) == ([], [])


async def test_one_execution_costs_one_claim_however_many_runners_with_its_labels_wait(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    """Every idle runner is woken; the first claim, with slots to spare, took all there was,
    so the others go back to waiting without a claim (and on PostgreSQL the NOTIFY of this
    process's own commit does not wake them all a second time)."""
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    settings = make_settings(database_url, tmp_path / "data", claim_wait_seconds=LONG_S)
    runners = [await _runner(database, actor, {}, slots=4, name=f"idle-{i}") for i in range(3)]
    notifier = WorkNotifier(database)
    await notifier.start()
    await asyncio.wait_for(notifier.listening.wait(), LONG_S)  # no "recheck all" wake later
    waiting = []
    try:
        with recorded_statements(database) as statements:
            waiting = [
                asyncio.create_task(
                    protocol.claim(
                        database,
                        settings,
                        notifier,
                        runner,
                        ClaimRequest(free_slots=4, wait_s=LONG_S),
                        disconnected=_not_disconnected,
                    )
                )
                for runner in runners
            ]
            topic = work_topic(actor.organization_id)
            await asyncio.wait_for(
                _until(
                    lambda: len(_claims(statements)) == 3 and len(HUB._waiters.get(topic, ())) == 3
                ),
                LONG_S,
            )

            first = (await request(database, actor.organization_id, flow_id)).id
            done, _ = await asyncio.wait(waiting, timeout=LONG_S, return_when="FIRST_COMPLETED")
            [answered] = done
            assert [item.id for item in answered.result().executions] == [first]
            await asyncio.sleep(0.5)  # room for any claim the other two would make
            assert len(_claims(statements)) == 4  # the three initial claims, then one
            others = [task for task in waiting if task is not answered]
            assert not any(task.done() for task in others)

            # A later execution is not taken for covered: a runner still waiting claims it.
            second = (await request(database, actor.organization_id, flow_id)).id
            done, _ = await asyncio.wait(others, timeout=LONG_S, return_when="FIRST_COMPLETED")
            [answered] = done
            assert [item.id for item in answered.result().executions] == [second]
    finally:
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        await notifier.stop()
