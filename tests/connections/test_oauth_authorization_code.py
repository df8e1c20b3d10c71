"""The OAuth 2 authorization code flow with PKCE through the real API and a real authorization
server (Authlib's, on loopback, approving consent at once), on SQLite and PostgreSQL:
`/oauth/start` -> the provider -> `/oauth/callback` -> back to the editor; then refresh with
the refresh token when the access token is about to run out, and `needs_reconnect` when the
provider revoked it. Also: a state is single-use and bound to the browser that started."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from flomation.connections import oauth
from flomation.db.session import Database
from tests.conftest import ProcessClock
from tests.connections.oauth_helpers import (
    authorization_code,
    claim,
    client_credentials,
    put,
    row,
    run_resource_flow,
    stored_values,
)
from tests.connections.oauth_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    PUBLIC_CLIENT_ID,
    OAuthServer,
    running,
)
from tests.factories import Actor
from tests.live import LiveServer


@pytest.fixture
async def server() -> AsyncIterator[OAuthServer]:
    async with running() as started:
        yield started


def _query(url: str) -> dict[str, str]:
    return dict(httpx.URL(url).params)


async def connect(
    api: LiveServer, owner: Actor, name: str, browser: httpx.AsyncClient
) -> tuple[httpx.Response, str]:
    """The user presses "Connect": follows the 302s as a browser would (the provider approves
    at once). Answers the callback's answer and the callback URL the provider sent back."""
    start = await browser.get(
        f"{api.base_url}/api/v1/connections/{name}/oauth/start", headers=owner.headers
    )
    assert start.status_code == 302, start.text
    authorize = await browser.get(start.headers["location"])
    assert authorize.status_code == 302, authorize.text
    callback_url = authorize.headers["location"]
    assert callback_url.startswith(f"{api.base_url}/api/v1/oauth/callback?")
    return await browser.get(callback_url), callback_url


@pytest.mark.parametrize("client", ["public", "confidential"])
async def test_connect_with_pkce_stores_the_tokens_and_goes_back_to_the_editor(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer, client: str
) -> None:
    org = owner.organization_id
    # A public client proves the flow with PKCE alone; a confidential one also authenticates
    # (client_secret_basic, the only method this client may use at the server).
    extra = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET} if client != "public" else {}
    await put(database, org, "svc", authorization_code(server, **extra))
    async with httpx.AsyncClient() as browser:
        done, _ = await connect(api, owner, "svc", browser)
    assert done.status_code == 302
    assert done.headers["location"].startswith("/connections?")
    assert _query(done.headers["location"]) == {"oauth": "connected", "connection": "svc"}

    [asked] = server.authorize_requests
    assert asked["response_type"] == "code"
    assert asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == f"{api.base_url}/api/v1/oauth/callback"
    assert asked["scope"] == "read"
    assert len(asked["state"]) >= 32
    # The code was exchanged with the verifier whose S256 is the challenge (a public client:
    # no secret, only PKCE proves it; the server refuses a code without its verifier).
    assert server.grants["authorization_code"] == 1
    claimed = await claim(database, org, "svc")
    assert claimed.status == "ok"
    assert server.valid(claimed.values["access_token"])
    # The refresh token stays with the API: a runner never gets it.
    assert "refresh_token" not in claimed.values
    assert (await stored_values(database, org, "svc"))["refresh_token"]
    result = await run_resource_flow("svc", claimed)
    assert result.status == "succeeded", result.error
    assert result.output["client_id"] == (CLIENT_ID if client != "public" else PUBLIC_CLIENT_ID)
    # Users see the tokens as "***" only.
    async with api.client(owner.headers) as user:
        shown = (await user.get("/api/v1/connections/svc")).json()
    assert shown["values"]["access_token"] == "***"
    assert shown["values"]["refresh_token"] == "***"
    assert shown["status"] == "ok"


async def test_a_state_is_used_once_and_only_by_the_browser_that_started(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer
) -> None:
    org = owner.organization_id
    await put(database, org, "svc", authorization_code(server))
    async with httpx.AsyncClient() as browser:
        done, callback_url = await connect(api, owner, "svc", browser)
        assert _query(done.headers["location"])["oauth"] == "connected"
        replayed = await browser.get(callback_url)
    assert replayed.status_code == 302
    answer = _query(replayed.headers["location"])
    assert answer["oauth"] == "failed"
    assert "used already or expired" in answer["message"]
    assert server.grants["authorization_code"] == 1

    # Another browser (no cookie of the start) cannot finish a flow it did not start.
    async with httpx.AsyncClient() as victim, httpx.AsyncClient() as attacker:
        start = await attacker.get(
            f"{api.base_url}/api/v1/connections/svc/oauth/start", headers=owner.headers
        )
        authorize = await victim.get(start.headers["location"])
        elsewhere = await victim.get(authorize.headers["location"])
    answer = _query(elsewhere.headers["location"])
    assert answer == {
        "oauth": "failed",
        "connection": "svc",
        "message": "this authorization was started in another browser: connect again",
    }
    assert server.grants["authorization_code"] == 1


async def test_a_state_expires(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer, db_clock: ProcessClock
) -> None:
    await put(database, owner.organization_id, "svc", authorization_code(server))
    async with httpx.AsyncClient() as browser:
        start = await browser.get(
            f"{api.base_url}/api/v1/connections/svc/oauth/start", headers=owner.headers
        )
        authorize = await browser.get(start.headers["location"])
        db_clock.advance(oauth.STATE_TTL_S + 1)
        late = await browser.get(authorize.headers["location"])
    assert _query(late.headers["location"])["oauth"] == "failed"
    assert server.grants["authorization_code"] == 0


async def test_start_refuses_what_is_not_an_authorization_code_connection(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer
) -> None:
    await put(database, owner.organization_id, "machine", client_credentials(server))
    async with api.client(owner.headers) as user:
        missing = await user.get("/api/v1/connections/nope/oauth/start")
        wrong = await user.get("/api/v1/connections/machine/oauth/start")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert wrong.status_code == 409
    assert "authorization code" in wrong.json()["detail"]
    async with api.client() as anonymous:
        assert (await anonymous.get("/api/v1/connections/machine/oauth/start")).status_code == 401


async def test_the_refresh_token_refreshes_and_a_revoked_one_needs_reconnecting(
    api: LiveServer, database: Database, owner: Actor, server: OAuthServer, db_clock: ProcessClock
) -> None:
    org = owner.organization_id
    server.expires_in = 120
    await put(database, org, "svc", authorization_code(server))
    async with httpx.AsyncClient() as browser:
        await connect(api, owner, "svc", browser)
    first = await claim(database, org, "svc")
    first_refresh = (await stored_values(database, org, "svc"))["refresh_token"]

    db_clock.advance(100)  # within the margin of its expiry
    second = await claim(database, org, "svc")
    assert server.grants["refresh_token"] == 1
    assert second.values["access_token"] != first.values["access_token"]
    # The provider rotates refresh tokens: the new one is stored.
    assert (await stored_values(database, org, "svc"))["refresh_token"] != first_refresh
    assert server.valid(second.values["access_token"])

    server.revoke_refresh_tokens()
    db_clock.advance(100)
    third = await claim(database, org, "svc")
    assert third.status == "needs_reconnect"
    stored = await row(database, org, "svc")
    assert stored.status == "needs_reconnect"
    assert stored.last_error is not None
    assert "invalid_grant" in stored.last_error
    async with api.client(owner.headers) as user:
        shown = (await user.get("/api/v1/connections/svc")).json()
    assert shown["status"] == "needs_reconnect"
    assert "invalid_grant" in shown["last_error"]
    # The node using it fails naming the connection and what to do.
    result = await run_resource_flow("svc", third)
    assert result.status == "failed"
    assert result.error is not None
    assert "connection 'svc' needs reconnecting" in result.error["message"]
    assert "reconnect it in the editor" in result.error["message"]
    # Connecting again makes it usable.
    async with httpx.AsyncClient() as browser:
        done, _ = await connect(api, owner, "svc", browser)
    assert _query(done.headers["location"])["oauth"] == "connected"
    again = await claim(database, org, "svc")
    assert again.status == "ok"
    assert server.valid(again.values["access_token"])
