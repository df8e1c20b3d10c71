"""A runner's claim carries the connections its flow references, decrypted, and no others."""

from __future__ import annotations

from flomation.connections import service
from flomation.db.session import Database
from flomation.executions import claims as execution_claims
from flomation.protocol import ClaimedConnection
from tests.connections.fakes import echo_flow
from tests.connections.test_connections_api import PASSWORD, keyring
from tests.executions.factories import request
from tests.factories import Actor, echo_definition, make_actor, make_flow


async def test_a_claim_carries_only_the_referenced_connections(
    database: Database, owner: Actor
) -> None:
    stranger = await make_actor(database)
    async with database.transaction() as session:
        for name in ("used", "unused"):
            await service.put_connection(
                session,
                organization_id=owner.organization_id,
                name=name,
                type_name="conntest",
                values={"host": name, "port": 1, "password": PASSWORD},
                keyring=keyring(),
            )
        # Another organisation's connection of the same name never reaches this claim.
        await service.put_connection(
            session,
            organization_id=stranger.organization_id,
            name="used",
            type_name="conntest",
            values={"host": "theirs", "port": 2},
            keyring=keyring(),
        )
    with_connection = await make_flow(database, owner.organization_id, definition=echo_flow("used"))
    without = await make_flow(database, owner.organization_id, definition=echo_definition())
    first = (await request(database, owner.organization_id, with_connection, input={})).id
    second = (await request(database, owner.organization_id, without)).id
    async with database.transaction() as session:
        held = await execution_claims.claim_executions(
            session,
            organization_id=owner.organization_id,
            runner_id="runner-1",
            labels={},
            limit=2,
            lease_seconds=30,
            keyring=keyring(),
        )
    by_id = {claimed.id: claimed for claimed in held}
    assert by_id[first].connections == {
        "used": ClaimedConnection(
            type="conntest", values={"host": "used", "port": 1, "password": PASSWORD}, status="ok"
        )
    }
    assert by_id[second].connections == {}
