"""Personal API tokens: shown once, stored hashed, listed without secrets, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

import flomation.models  # noqa: F401  (every table, for the scan below)
from flomation.db.base import Base
from flomation.db.session import Database
from flomation.models.auth import User
from tests.auth.conftest import login
from tests.factories import Actor, make_actor, make_api_token
from tests.live import LiveServer


async def test_a_created_token_is_shown_once_and_authenticates(
    api: LiveServer, owner: Actor
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    async with api.client(owner.headers) as client:
        response = await client.post(
            "/api/v1/tokens", json={"name": "ci", "expires_at": expires.isoformat()}
        )
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["name"] == "ci"
        assert created["token"].startswith("flo_p_")
        assert created["expires_at"] == expires.isoformat().replace("+00:00", "Z")
        listed = await client.get("/api/v1/tokens")
    assert listed.status_code == 200
    item = next(item for item in listed.json()["items"] if item["id"] == created["id"])
    assert "token" not in item
    assert created["token"] not in listed.text
    async with api.client({"Authorization": f"Bearer {created['token']}"}) as client:
        me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == owner.user_id


async def test_a_revoked_token_answers_401(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        created = (await client.post("/api/v1/tokens", json={"name": "temp"})).json()
        assert (await client.delete(f"/api/v1/tokens/{created['id']}")).status_code == 204
        listed = await client.get("/api/v1/tokens")
        again = await client.delete(f"/api/v1/tokens/{created['id']}")
    assert created["id"] not in [item["id"] for item in listed.json()["items"]]
    assert again.status_code == 404
    async with api.client({"Authorization": f"Bearer {created['token']}"}) as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 401


async def test_an_expired_token_answers_401(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    async with database.transaction() as session:
        token = await make_api_token(
            session,
            user_id=owner.user_id,
            organization_id=owner.organization_id,
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    async with api.client({"Authorization": f"Bearer {token}"}) as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_expiry_in_the_past_or_without_timezone_is_refused(
    api: LiveServer, owner: Actor
) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    async with api.client(owner.headers) as client:
        in_the_past = await client.post("/api/v1/tokens", json={"name": "x", "expires_at": past})
        naive = await client.post(
            "/api/v1/tokens", json={"name": "x", "expires_at": "2030-01-01T00:00:00"}
        )
        nameless = await client.post("/api/v1/tokens", json={"expires_at": None})
    assert in_the_past.status_code == 422
    assert in_the_past.json()["errors"][0]["loc"] == ["body", "expires_at"]
    assert naive.status_code == 422
    assert nameless.status_code == 422


async def test_tokens_of_other_users_are_neither_listed_nor_revocable(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    colleague = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    stranger = await make_actor(database, role="owner")
    ids: dict[str, str] = {}
    for actor in (colleague, stranger):
        async with api.client(actor.headers) as client:
            response = await client.post("/api/v1/tokens", json={"name": actor.email})
            ids[actor.email] = response.json()["id"]
    async with api.client(owner.headers) as client:
        listed = await client.get("/api/v1/tokens")
        same_org = await client.delete(f"/api/v1/tokens/{ids[colleague.email]}")
        other_org = await client.delete(f"/api/v1/tokens/{ids[stranger.email]}")
        unknown = await client.delete("/api/v1/tokens/01900000-0000-7000-8000-000000000000")
    assert set(ids.values()).isdisjoint(item["id"] for item in listed.json()["items"])
    assert same_org.status_code == other_org.status_code == unknown.status_code == 404
    assert other_org.json()["detail"].replace(ids[stranger.email], "?") == unknown.json()[
        "detail"
    ].replace("01900000-0000-7000-8000-000000000000", "?")
    for actor in (colleague, stranger):
        async with api.client(actor.headers) as client:
            assert (await client.get("/api/v1/me")).status_code == 200


async def test_the_token_list_pages_with_a_cursor(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        for number in range(5):
            await client.post("/api/v1/tokens", json={"name": f"t{number}"})
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/api/v1/tokens", params=params)).json()
            pages += 1
            assert len(page["items"]) <= 2
            seen += [item["name"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    # The factory's token plus five, in creation order, no repeats.
    assert seen == ["test token", "t0", "t1", "t2", "t3", "t4"]
    assert pages == 3


async def test_secrets_are_stored_only_as_hashes(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    async with api.client(owner.headers) as client:
        api_token = (await client.post("/api/v1/tokens", json={"name": "scan"})).json()["token"]
        logged_in = await login(client, owner.email)
    session_token = logged_in.json()["token"]
    dump = await _dump_database(database)
    assert api_token not in dump
    assert session_token not in dump
    assert owner.token not in dump
    async with database.transaction() as session:
        password_hash = await session.scalar(
            select(User.password_hash).where(User.id == owner.user_id)
        )
    assert password_hash is not None
    assert password_hash.startswith("$argon2id$")


async def _dump_database(database: Database) -> str:
    """Every value of every table, as text."""
    parts: list[str] = []
    async with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table.name}"'))
            parts += [repr(tuple(row)) for row in rows]
    return "\n".join(parts)
