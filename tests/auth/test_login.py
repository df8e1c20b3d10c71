"""Login, sessions, cookies and logout against the real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from flomation.auth.tokens import hash_token
from flomation.db.session import Database
from flomation.models.auth import AccessToken
from tests.auth.conftest import StartApi, login, set_cookies
from tests.factories import Actor, make_actor
from tests.live import LiveServer


async def _session_for(database: Database, token: str) -> AccessToken:
    async with database.transaction() as session:
        row = await session.scalar(
            select(AccessToken).where(AccessToken.token_hash == hash_token(token))
        )
    assert row is not None
    return row


async def test_login_answers_a_session_token_and_the_user(api: LiveServer, owner: Actor) -> None:
    async with api.client() as client:
        response = await login(client, owner.email)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"]["id"] == owner.user_id
        assert body["user"]["email"] == owner.email
        assert body["user"]["role"] == "owner"
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == owner.user_id


async def test_login_sets_an_httponly_session_cookie_and_a_readable_csrf_cookie(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    async with api.client() as client:
        response = await login(client, owner.email)
    cookies = set_cookies(response)
    session_cookie = cookies["flomation_session"].lower()
    csrf_cookie = cookies["flomation_csrf"].lower()
    assert "httponly" in session_cookie
    assert "samesite=lax" in session_cookie
    assert "path=/" in session_cookie
    assert "secure" not in session_cookie  # plain http here
    assert "httponly" not in csrf_cookie
    assert "samesite=lax" in csrf_cookie
    token = response.cookies["flomation_session"]
    assert token == response.json()["token"]
    row = await _session_for(database, token)
    assert row.kind == "session"
    assert row.csrf_token == response.cookies["flomation_csrf"]


async def test_cookies_are_secure_when_the_request_came_over_https(
    api: LiveServer, owner: Actor
) -> None:
    # The test client connects from loopback, a trusted proxy for uvicorn, so the scheme comes
    # from X-Forwarded-Proto as it would behind a TLS-terminating proxy.
    async with api.client() as client:
        response = await login(client, owner.email, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    cookies = set_cookies(response)
    assert "secure" in cookies["flomation_session"].lower()
    assert "secure" in cookies["flomation_csrf"].lower()


async def test_email_is_matched_without_regard_to_case(api: LiveServer, owner: Actor) -> None:
    async with api.client() as client:
        response = await login(client, "  " + owner.email.upper())
    assert response.status_code == 200, response.text


async def test_wrong_password_and_unknown_email_get_the_same_401(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client() as client:
        wrong = await login(client, owner.email, "not the password")
        unknown = await login(client, "nobody@example.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json() == unknown.json()
    assert "flomation_session" not in set_cookies(wrong)


async def test_session_expires_after_the_configured_lifetime(
    start_api: StartApi, owner: Actor, database: Database
) -> None:
    async with start_api(session_ttl_seconds=3600) as server, server.client() as client:
        response = await login(client, owner.email)
        token = response.json()["token"]
        assert "max-age=3600" in set_cookies(response)["flomation_session"].lower()
        row = await _session_for(database, token)
        assert row.expires_at is not None
        lifetime = row.expires_at - datetime.now(UTC)
        assert timedelta(minutes=55) < lifetime <= timedelta(minutes=61)
        async with database.transaction() as session:
            await session.execute(
                update(AccessToken)
                .where(AccessToken.id == row.id)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401


async def test_logout_revokes_the_session_and_clears_the_cookies(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client() as client:
        response = await login(client, owner.email)
        csrf = response.cookies["flomation_csrf"]
        token = response.json()["token"]
        assert (await client.get("/api/v1/me")).status_code == 200  # by cookie
        logout = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        assert logout.status_code == 204
        cleared = set_cookies(logout)
        assert 'flomation_session=""' in cleared["flomation_session"]
        assert "max-age=0" in cleared["flomation_session"].lower()
        assert "max-age=0" in cleared["flomation_csrf"].lower()
    async with api.client() as fresh:
        by_bearer = await fresh.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        by_cookie = await fresh.get("/api/v1/me", headers={"Cookie": f"flomation_session={token}"})
    assert by_bearer.status_code == 401
    assert by_cookie.status_code == 401


async def test_logout_with_a_bearer_session_token_revokes_it(api: LiveServer, owner: Actor) -> None:
    async with api.client() as client:
        token = (await login(client, owner.email)).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    async with api.client(bearer) as client:
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_logout_with_an_api_token_is_refused_and_keeps_the_token(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        response = await client.post("/api/v1/auth/logout")
        assert response.status_code == 422
        assert "DELETE /api/v1/tokens" in response.json()["detail"]
        assert (await client.get("/api/v1/me")).status_code == 200


async def test_login_with_malformed_json_is_400_and_unknown_fields_422(api: LiveServer) -> None:
    async with api.client() as client:
        malformed = await client.post(
            "/api/v1/auth/login",
            content=b'{"email": "a@b.c", "password": ',
            headers={"Content-Type": "application/json"},
        )
        unknown = await client.post(
            "/api/v1/auth/login",
            json={"email": "a@b.c", "password": "x", "remember": True},
        )
        missing = await client.post("/api/v1/auth/login", json={"email": "a@b.c"})
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("application/problem+json")
    assert unknown.status_code == 422
    assert ["body", "remember"] in [error["loc"] for error in unknown.json()["errors"]]
    assert missing.status_code == 422


async def test_a_disabled_users_sessions_and_login_stop_working(
    api: LiveServer, database: Database
) -> None:
    owner = await make_actor(database, role="owner")
    admin = await make_actor(database, role="admin", organization_id=owner.organization_id)
    async with api.client() as client:
        token = (await login(client, admin.email)).json()["token"]
    async with api.client(owner.headers) as client:
        assert (await client.delete(f"/api/v1/users/{admin.user_id}")).status_code == 204
    async with api.client() as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        again = await login(client, admin.email)
    assert me.status_code == 401
    assert again.status_code == 401


async def test_me_describes_the_caller_and_its_organisation(
    api: LiveServer, database: Database
) -> None:
    editor = await make_actor(database, role="editor")
    async with api.client(editor.headers) as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == editor.user_id
    assert body["email"] == editor.email
    assert body["role"] == "editor"
    assert body["organization"]["id"] == editor.organization_id
    assert body["organization"]["name"].startswith("Org ")
    assert set(body) == {"id", "email", "name", "organization", "role"}
