"""A service that answers 401 to an OAuth 2 token, seen from a runner (the runner's own code in
this process, over the signed protocol to the real API), on SQLite and PostgreSQL: the node
asks the API for a refresh once and retries once; the new token is masked and stays for the
rest of the execution. The refresh route is fenced by the execution attempt and limited to the
connections the execution's flow uses."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from flomation.api.app import create_app
from flomation.config import Settings
from flomation.db.session import Database
from flomation.engine.nodes.base import EngineServices
from flomation.runner.client import ApiRefused
from flomation.runner.local_secrets import LocalSecrets
from tests.connections import test_connection_runs as connection_runs
from tests.connections.oauth_helpers import claim, client_credentials, put, resource_flow
from tests.connections.oauth_server import OAuthServer, running
from tests.connections.test_connection_runs import request, runner, stored
from tests.factories import Actor, make_flow
from tests.live import LiveServer, serve


@pytest.fixture
async def server() -> AsyncIterator[OAuthServer]:
    async with running() as started:
        yield started


@pytest.fixture(autouse=True)
async def shared_http(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """The runner gives its executions one HTTP client, closed when it stops: so here."""
    async with httpx.AsyncClient(follow_redirects=False) as client:
        monkeypatch.setattr(
            connection_runs, "EngineServices", functools.partial(EngineServices, http_client=client)
        )
        yield


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def twice_flow(connection: str) -> dict[str, Any]:
    """Two calls in a row through the same connection."""
    flow = resource_flow(connection)
    flow["nodes"].insert(
        2,
        {"id": "again", "type": "http", "config": {"connection": connection, "url": "/resource"}},
    )
    flow["edges"] = [
        {"from": "start", "to": "call"},
        {"from": "call", "to": "again"},
        {"from": "again", "to": "out"},
    ]
    return flow


async def test_a_401_makes_one_refresh_and_one_retry_that_succeeds(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", client_credentials(server))
    refused = (await claim(database, org, "svc")).values["access_token"]
    # The service stops accepting the token long before its expiry: only a 401 tells.
    server.revoke_access_tokens()
    flow_id = await make_flow(database, org, definition=twice_flow("svc"))
    execution_id = await request(api, owner, flow_id)
    async with runner(api, database, owner, LocalSecrets({})) as harness:
        [payload] = await harness.claim()
        # The claim carried the (unexpired, but refused) token as it was.
        assert payload["connections"]["svc"]["values"]["access_token"] == refused
        await asyncio.wait_for(harness.start(payload), 20)
    execution, raw = await stored(api, owner, execution_id)
    assert execution["status"] == "succeeded", execution
    assert execution["output"] == {"ok": True, "client_id": "flomation-client"}
    # One refresh; the first node retried once with the new token, the second used it at once.
    assert server.grants["client_credentials"] == 2
    fresh = server.resource_calls[1]
    assert fresh is not None
    assert server.resource_calls == [refused, fresh, fresh]
    assert server.valid(fresh)
    # The new token never shows in what the API stores of the execution.
    assert fresh not in raw
    assert any("refused the token; refreshed" in log["message"] for log in execution["logs"])


async def test_a_401_whose_refresh_is_refused_fails_the_node_naming_the_connection(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", client_credentials(server))
    await claim(database, org, "svc")
    server.revoke_access_tokens()
    # The client is removed at the provider: the refresh is refused for good.
    del server.clients["flomation-client"]
    flow_id = await make_flow(database, org, definition=resource_flow("svc"))
    execution_id = await request(api, owner, flow_id)
    async with runner(api, database, owner, LocalSecrets({})) as harness:
        [payload] = await harness.claim()
        await asyncio.wait_for(harness.start(payload), 20)
    execution, _ = await stored(api, owner, execution_id)
    assert execution["status"] == "failed"
    assert "connection 'svc' needs reconnecting" in execution["error"]["message"]
    assert len(server.resource_calls) == 1  # no retry without a new token
    async with api.client(owner.headers) as user:
        shown = (await user.get("/api/v1/connections/svc")).json()
    assert shown["status"] == "needs_reconnect"
    assert "invalid_client" in shown["last_error"]


async def test_the_refresh_route_is_fenced_and_limited_to_the_flows_connections(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", client_credentials(server))
    await put(database, org, "other", client_credentials(server))
    token = (await claim(database, org, "svc")).values["access_token"]
    flow_id = await make_flow(database, org, definition=resource_flow("svc"))
    execution_id = await request(api, owner, flow_id)
    async with runner(api, database, owner, LocalSecrets({})) as harness:
        [payload] = await harness.claim()
        attempt = payload["attempt"]
        client = harness.client
        with pytest.raises(ApiRefused) as stale:
            await client.refresh_connection(
                "svc",
                execution_id=execution_id,
                attempt=attempt + 1,
                refused_token_sha256=_sha(token),
            )
        assert stale.value.status == 409
        with pytest.raises(ApiRefused) as unused:
            await client.refresh_connection(
                "other",
                execution_id=execution_id,
                attempt=attempt,
                refused_token_sha256=_sha(token),
            )
        assert unused.value.status == 404
        assert server.grants["client_credentials"] == 1
        # A hash that is not the stored token's: refreshed meanwhile, handed over as it is.
        same = await client.refresh_connection(
            "svc", execution_id=execution_id, attempt=attempt, refused_token_sha256=_sha("x")
        )
        assert same.values["access_token"] == token
        assert server.grants["client_credentials"] == 1
        renewed = await client.refresh_connection(
            "svc", execution_id=execution_id, attempt=attempt, refused_token_sha256=_sha(token)
        )
        assert renewed.values["access_token"] != token
        assert server.grants["client_credentials"] == 2
        await asyncio.wait_for(harness.start(payload), 20)


async def _lock_waiters(database: Database) -> int:
    async with database.transaction() as session:
        found = await session.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one())


async def test_two_runners_through_two_api_processes_refresh_once(
    api: LiveServer,
    database: Database,
    owner: Actor,
    server: OAuthServer,
    settings: Settings,
    database_url: str,
    backend: str,
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", client_credentials(server))
    refused = (await claim(database, org, "svc")).values["access_token"]
    server.revoke_access_tokens()
    flow_id = await make_flow(database, org, definition=resource_flow("svc"))
    await request(api, owner, flow_id)
    await request(api, owner, flow_id)
    # A second API process: its own app and its own database pool.
    other_db = Database(database_url)
    try:
        async with (
            serve(create_app(settings, database=other_db)) as other_api,
            runner(api, database, owner, LocalSecrets({})) as first,
            runner(other_api, database, owner, LocalSecrets({})) as second,
        ):
            [one] = await first.claim()
            [two] = await second.claim()
            server.gate = asyncio.Event()
            server.token_requested.clear()

            async def refresh(harness: Any, payload: dict[str, Any]) -> Any:
                return await harness.client.refresh_connection(
                    "svc",
                    execution_id=payload["id"],
                    attempt=payload["attempt"],
                    refused_token_sha256=_sha(refused),
                )

            a = asyncio.create_task(refresh(first, one))
            await asyncio.wait_for(server.token_requested.wait(), 10)
            b = asyncio.create_task(refresh(second, two))
            if backend == "postgresql":
                # The second API process waits on the row lock the first holds.
                for _ in range(500):
                    if await _lock_waiters(database) >= 1:
                        break
                    await asyncio.sleep(0.02)
                assert await _lock_waiters(database) >= 1
            server.gate.set()
            answers = await asyncio.wait_for(asyncio.gather(a, b), 20)
            await asyncio.wait_for(asyncio.gather(first.start(one), second.start(two)), 20)
    finally:
        await other_db.dispose()
    assert server.grants["client_credentials"] == 2  # the first token, then ONE refresh
    assert answers[0].values["access_token"] == answers[1].values["access_token"] != refused
    assert server.valid(answers[0].values["access_token"])
