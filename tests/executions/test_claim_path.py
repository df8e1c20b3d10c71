"""Claiming is on every execution's path: its statements are pinned here. A flow revision is
read once per process, its variables and secrets once per claim (never when it references
none), and the claim's events and wake-ups go out in one statement on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from flomation.config import decode_key
from flomation.db.session import Database
from flomation.executions import service
from flomation.executions.notifier import HUB, execution_topic
from flomation.models.executions import ExecutionEvent
from flomation.secrets import service as secrets_service
from flomation.secrets.crypto import Keyring
from tests.conftest import TEST_SECRET_KEY
from tests.executions.factories import claim, request
from tests.factories import echo_definition, make_actor, make_flow
from tests.statements import recorded_statements


def _reads_of(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and f"FROM {table}" in s]


async def test_a_claim_reads_its_revision_once_and_no_variables_when_none_are_referenced(
    database: Database,
) -> None:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    first = await request(database, actor.organization_id, flow_id)
    second = await request(database, actor.organization_id, flow_id)

    with recorded_statements(database) as statements:
        [claimed] = await claim(database, actor.organization_id, limit=1)
    assert claimed.id == first.id
    assert claimed.definition == echo_definition()
    assert (claimed.variables, claimed.secrets) == ({}, {})
    assert not [s for s in statements if "variables" in s or "secrets" in s]
    assert len([s for s in statements if "flow_revisions" in s]) == 1

    with (
        recorded_statements(database) as statements,
        HUB.subscribe([execution_topic(second.id)]) as woken,
    ):
        [claimed] = await claim(database, actor.organization_id, limit=1)
        assert await woken.wait(10)  # the execution's event stream learns of the claim
    assert claimed.id == second.id
    assert claimed.definition == echo_definition()
    # The revision is known now: the claim is its writes only.
    assert not [s for s in statements if "flow_revisions" in s or "variables" in s]
    writes = [s.split()[0] for s in statements]
    if database.is_postgres:
        # No flow with a limit has work, so no flow locks: lease the queue row and mark the
        # execution running in one statement; its event with the wake-ups.
        assert writes == ["WITH", "WITH"]
        assert "pg_notify" in statements[-1]
    else:
        assert writes == ["UPDATE", "UPDATE", "INSERT"]

    async with database.transaction() as session:
        kinds = await session.scalars(
            select(ExecutionEvent.type)
            .where(ExecutionEvent.execution_id == second.id)
            .order_by(ExecutionEvent.seq)
        )
        assert list(kinds) == ["execution", "execution"]  # queued, then running


async def test_variables_and_secrets_are_read_once_per_revision_of_a_claim(
    database: Database,
) -> None:
    actor = await make_actor(database)
    keyring = Keyring(decode_key(TEST_SECRET_KEY, "test key"))
    async with database.transaction() as session:
        await secrets_service.put_secret(
            session, organization_id=actor.organization_id, name="TOKEN", value="t", keyring=keyring
        )
        await secrets_service.put_variable(
            session, organization_id=actor.organization_id, name="region", value="eu"
        )
    definition = echo_definition()
    definition["nodes"][1]["config"]["values"]["auth"] = "{{ secrets.TOKEN }} {{ vars.region }}"
    flow_id = await make_flow(database, actor.organization_id, definition=definition)
    requested = [(await request(database, actor.organization_id, flow_id)).id for _ in range(3)]

    with recorded_statements(database) as statements:
        async with database.transaction() as session:
            claimed = await service.claim_executions(
                session,
                organization_id=actor.organization_id,
                runner_id="runner-1",
                labels={},
                limit=3,
                lease_seconds=30,
                keyring=keyring,
            )

    assert [c.id for c in claimed] == requested
    for item in claimed:
        assert (item.variables, item.secrets) == ({"region": "eu"}, {"TOKEN": "t"})
        assert item.definition == definition
    assert len(_reads_of(statements, "variables")) == 1
    assert len(_reads_of(statements, "secrets")) == 1
