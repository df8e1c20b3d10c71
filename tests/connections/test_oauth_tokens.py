"""OAuth 2 client credentials against a real authorization server (Authlib's, on loopback), on
SQLite and PostgreSQL: the token is obtained when a claim needs it, stored encrypted with its
expiry, handed out while valid, refreshed before it runs out (time moved with `db_clock`, no
sleeping), and refreshed once when two refreshers come at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from flomation.clock import utcnow
from flomation.connections import oauth, probes
from flomation.connections import repository as connection_repository
from flomation.db.session import Database
from flomation.engine.nodes.base import Connection, EngineServices
from flomation.ids import new_id
from flomation.protocol import ClaimedConnection
from tests.conftest import ProcessClock
from tests.connections.oauth_helpers import claim, client_credentials, put, row, run_resource_flow
from tests.connections.oauth_server import CLIENT_SECRET, OAuthServer, running
from tests.connections.test_connections_api import keyring
from tests.factories import Actor


@pytest.fixture
async def server() -> AsyncIterator[OAuthServer]:
    async with running() as started:
        yield started


async def test_a_claim_obtains_the_token_and_stores_it_encrypted_with_its_expiry(
    database: Database, owner: Actor, server: OAuthServer, database_url: str
) -> None:
    org = owner.organization_id
    server.expires_in = 600
    await put(database, org, "svc", client_credentials(server))
    assert server.grants["client_credentials"] == 0  # saving does not call the provider

    first = await claim(database, org, "svc")
    token = first.values["access_token"]
    assert server.grants["client_credentials"] == 1
    assert server.valid(token)
    stored = await row(database, org, "svc")
    assert stored.status == "ok"
    assert stored.token_expires_at is not None
    left = (stored.token_expires_at - utcnow()).total_seconds()
    assert 590 <= left <= 600
    assert token.encode() not in stored.ciphertext
    # The client secret stays with the API: the runner only needs the access token.
    assert "client_secret" not in first.values
    # While valid, claims hand out the same token without asking the provider again.
    second = await claim(database, org, "svc")
    assert second.values["access_token"] == token
    assert server.grants["client_credentials"] == 1
    # And the node's request carries it: the protected resource answers.
    result = await run_resource_flow("svc", second)
    assert result.status == "succeeded", result.error
    assert result.output == {"ok": True, "client_id": "flomation-client"}


async def test_the_token_is_refreshed_before_it_expires(
    database: Database, owner: Actor, server: OAuthServer, db_clock: ProcessClock
) -> None:
    org = owner.organization_id
    server.expires_in = 300
    await put(database, org, "svc", client_credentials(server))
    first = (await claim(database, org, "svc")).values["access_token"]

    # Just outside the margin: still handed out as it is.
    db_clock.advance(300 - oauth.REFRESH_MARGIN_S - 5)
    assert (await claim(database, org, "svc")).values["access_token"] == first
    assert server.grants["client_credentials"] == 1
    # Within the margin (still valid at the provider): refreshed before it runs out.
    db_clock.advance(10)
    assert server.valid(first)
    second = (await claim(database, org, "svc")).values["access_token"]
    assert second != first
    assert server.grants["client_credentials"] == 2
    assert server.valid(second)
    stored = await row(database, org, "svc")
    assert stored.token_expires_at is not None
    assert stored.token_expires_at > utcnow() + timedelta(seconds=290)


async def test_client_secret_post_sends_the_secret_in_the_body(
    database: Database, owner: Actor, server: OAuthServer
) -> None:
    # This client may only authenticate with client_secret_post (basic is refused).
    org = owner.organization_id
    await put(
        database,
        org,
        "post",
        client_credentials(
            server, client_id="flomation-post", token_auth_method="client_secret_post"
        ),
    )
    claimed = await claim(database, org, "post")
    assert server.valid(claimed.values["access_token"])
    assert server.grants["client_credentials"] == 1
    # The same client with the default (client_secret_basic) is refused for good.
    await put(database, org, "basic", client_credentials(server, client_id="flomation-post"))
    refused = await claim(database, org, "basic")
    assert refused.status == "needs_reconnect"
    assert "invalid_client" in ((await row(database, org, "basic")).last_error or "")


async def test_refused_client_credentials_need_reconnecting_and_the_node_says_so(
    database: Database, owner: Actor, server: OAuthServer
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", client_credentials(server, client_secret="not-the-secret"))
    claimed = await claim(database, org, "svc")
    assert claimed.status == "needs_reconnect"
    stored = await row(database, org, "svc")
    assert stored.status == "needs_reconnect"
    assert stored.last_error is not None
    assert "invalid_client" in stored.last_error
    assert "not-the-secret" not in stored.last_error
    result = await run_resource_flow("svc", claimed)
    assert result.status == "failed"
    assert result.error is not None
    assert "connection 'svc' needs reconnecting" in result.error["message"]
    assert server.resource_calls == []  # the node did not even try
    # Saving corrected credentials makes it usable again.
    await put(database, org, "svc", client_credentials(server, client_secret=CLIENT_SECRET))
    fixed = await claim(database, org, "svc")
    assert fixed.status == "ok"
    assert server.valid(fixed.values["access_token"])


async def _lock_waiters(database: Database) -> int:
    async with database.transaction() as session:
        found = await session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one())


async def _second_api(database_url: str) -> Database:
    """Another API process's view: its own engine and connection pool."""
    other = Database(database_url)
    return other


async def test_two_claims_at_the_same_moment_refresh_once(
    database: Database,
    owner: Actor,
    server: OAuthServer,
    db_clock: ProcessClock,
    database_url: str,
    backend: str,
) -> None:
    org = owner.organization_id
    server.expires_in = 300
    await put(database, org, "svc", client_credentials(server))
    first = (await claim(database, org, "svc")).values["access_token"]
    db_clock.advance(290)  # due for a refresh
    other = await _second_api(database_url)
    try:
        server.gate = asyncio.Event()
        server.token_requested.clear()
        one = asyncio.create_task(claim(database, org, "svc"))
        # The first refresher is inside its refresh (at the token endpoint, holding the lock).
        await asyncio.wait_for(server.token_requested.wait(), 10)
        two = asyncio.create_task(claim(other, org, "svc"))
        if backend == "postgresql":
            # The second API process waits on the row lock (not merely not started yet).
            for _ in range(500):
                if await _lock_waiters(database) >= 1:
                    break
                await asyncio.sleep(0.02)
            assert await _lock_waiters(database) >= 1
        server.gate.set()
        answers: list[ClaimedConnection] = list(
            await asyncio.wait_for(asyncio.gather(one, two), 20)
        )
    finally:
        await other.dispose()
    assert server.grants["client_credentials"] == 2  # the first token, then ONE refresh
    tokens = {answer.values["access_token"] for answer in answers}
    assert len(tokens) == 1
    assert first not in tokens
    assert server.valid(tokens.pop())


async def test_two_runners_reporting_the_same_401_refresh_once(
    database: Database, owner: Actor, server: OAuthServer, database_url: str
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", client_credentials(server))
    refused = (await claim(database, org, "svc")).values["access_token"]
    server.revoke_access_tokens()
    other = await _second_api(database_url)

    async def report_401(db: Database) -> ClaimedConnection:
        async with db.transaction() as session:
            return await oauth.refresh_after_refusal(
                session,
                organization_id=org,
                name="svc",
                refused_token_sha256=oauth.token_sha256(refused),
                keyring=keyring(),
            )

    try:
        answers = await asyncio.wait_for(
            asyncio.gather(report_401(database), report_401(other)), 20
        )
    finally:
        await other.dispose()
    assert server.grants["client_credentials"] == 2
    assert answers[0].values["access_token"] == answers[1].values["access_token"] != refused
    assert server.valid(answers[0].values["access_token"])


async def test_a_connection_test_gets_a_valid_token_too(
    database: Database, owner: Actor, server: OAuthServer
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", client_credentials(server, probe_path="/resource"))
    async with database.transaction() as session:
        await connection_repository.insert_probe(
            session,
            probe_id=new_id(),
            organization_id=org,
            name="svc",
            runs_on={},
            expires_at=utcnow() + timedelta(seconds=15),
        )
    async with database.transaction() as session:
        [probe] = await probes.take_for_runner(
            session, organization_id=org, runner_id="runner-1", labels={}, keyring=keyring()
        )
    assert server.grants["client_credentials"] == 1
    assert server.valid(probe.values["access_token"])


async def test_a_401_asks_for_a_refresh_only_for_oauth_and_only_where_someone_can(
    server: OAuthServer,
) -> None:
    asked: list[str] = []

    async def refresher(connection: Connection) -> Connection | None:
        asked.append(connection.name)
        return None

    # A bearer token is the user's own: a 401 is reported as it is, nobody is asked.
    bearer = ClaimedConnection(
        type="http",
        values={"base_url": server.base_url, "auth": "bearer", "token": "wrong-token-123"},
    )
    result = await run_resource_flow(
        "plain", bearer, EngineServices(connection_refresher=refresher)
    )
    assert result.status == "failed"
    assert result.error is not None
    assert "answered 401" in result.error["message"]
    assert asked == []
    # An OAuth token with nobody to refresh it (a standalone run): one request, the 401 stands.
    oauth2 = ClaimedConnection(
        type="http",
        values={
            "base_url": server.base_url,
            "auth": "oauth2_client_credentials",
            "access_token": "revoked-token-456",
        },
    )
    result = await run_resource_flow("svc", oauth2)
    assert result.status == "failed"
    assert result.error is not None
    assert "answered 401" in result.error["message"]
    # With a refresher that cannot help: asked once, no retry.
    result = await run_resource_flow("svc", oauth2, EngineServices(connection_refresher=refresher))
    assert result.status == "failed"
    assert asked == ["svc"]
    assert server.resource_calls == ["wrong-token-123", "revoked-token-456", "revoked-token-456"]
