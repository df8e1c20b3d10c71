"""Runner tokens and the runners list, through the real API on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from flomation.auth.tokens import hash_token
from flomation.db.session import Database
from flomation.models.runners import RunnerToken
from flomation.runner.client import ApiRefused
from tests.factories import Actor, make_actor
from tests.live import LiveServer
from tests.runners.helpers import runner_client


async def test_an_admin_creates_a_runner_token_shown_once_and_stored_hashed(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    async with api.client(owner.headers) as client:
        created = await client.post(
            "/api/v1/runner-tokens", json={"name": "onprem", "labels": {"location": "onprem"}}
        )
        assert created.status_code == 201, created.text
        token = created.json()["token"]
        assert token.startswith("flo_r_")
        listed = await client.get("/api/v1/runner-tokens")
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert item["id"] == created.json()["id"]
    assert item["labels"] == {"location": "onprem"}
    assert token not in listed.text
    async with database.transaction() as session:
        stored = (await session.scalars(select(RunnerToken))).one()
    assert stored.token_hash == hash_token(token)
    assert token not in repr(stored.__dict__)


async def test_editors_and_viewers_cannot_manage_runner_tokens(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    editor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    async with api.client(editor.headers) as client:
        assert (await client.post("/api/v1/runner-tokens", json={"name": "x"})).status_code == 403
        assert (await client.get("/api/v1/runner-tokens")).status_code == 403
        # ...but any member reads the runners list
        assert (await client.get("/api/v1/runners")).status_code == 200


async def test_a_revoked_token_registers_no_new_runner(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        created = (await client.post("/api/v1/runner-tokens", json={"name": "t"})).json()
        first = runner_client(api.base_url, created["token"])
        await first.register(labels={}, max_concurrent=1)
        await first.aclose()
        assert (await client.delete(f"/api/v1/runner-tokens/{created['id']}")).status_code == 204
        listed = (await client.get("/api/v1/runner-tokens")).json()["items"]
    assert listed[0]["revoked_at"] is not None
    second = runner_client(api.base_url, created["token"])
    with pytest.raises(ApiRefused) as refused:
        await second.register(labels={}, max_concurrent=1)
    await second.aclose()
    assert refused.value.status == 401
    assert "revoked" in refused.value.problem["detail"]


async def test_an_expired_token_is_refused(api: LiveServer, owner: Actor) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    async with api.client(owner.headers) as client:
        created = await client.post("/api/v1/runner-tokens", json={"name": "t", "expires_at": past})
    runner = runner_client(api.base_url, created.json()["token"])
    with pytest.raises(ApiRefused) as refused:
        await runner.register(labels={}, max_concurrent=1)
    await runner.aclose()
    assert refused.value.status == 401


async def test_tokens_and_runners_of_another_organisation_are_invisible(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    stranger = await make_actor(database, role="owner")
    async with api.client(owner.headers) as client:
        created = (await client.post("/api/v1/runner-tokens", json={"name": "t"})).json()
    runner = runner_client(api.base_url, created["token"])
    answer = await runner.register(labels={}, max_concurrent=1)
    await runner.aclose()
    async with api.client(stranger.headers) as client:
        assert (await client.get("/api/v1/runner-tokens")).json()["items"] == []
        assert (await client.get("/api/v1/runners")).json()["items"] == []
        gone = await client.delete(f"/api/v1/runner-tokens/{created['id']}")
        assert gone.status_code == 404
        assert (await client.delete(f"/api/v1/runners/{answer.runner_id}")).status_code == 404


async def test_the_runners_list_shows_a_registered_runner_online(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        token = (await client.post("/api/v1/runner-tokens", json={"name": "t"})).json()["token"]
        runner = runner_client(api.base_url, token)
        answer = await runner.register(labels={"gpu": "yes"}, max_concurrent=3)
        await runner.call("POST", "/heartbeat", {"held": [], "running": 0})
        await runner.aclose()
        [item] = (await client.get("/api/v1/runners")).json()["items"]
    assert item["id"] == answer.runner_id
    assert item["status"] == "online"
    assert item["labels"] == {"gpu": "yes"}
    assert item["max_concurrent_executors"] == 3
    assert item["version"]
    assert item["last_seen_at"].endswith("Z")


async def test_bad_token_bodies_are_problems_not_crashes(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        bad_label = await client.post(
            "/api/v1/runner-tokens", json={"name": "t", "labels": {"bad key!": "x"}}
        )
        naive = await client.post(
            "/api/v1/runner-tokens", json={"name": "t", "expires_at": "2030-01-01T00:00:00"}
        )
    assert bad_label.status_code == 422
    assert bad_label.headers["content-type"].startswith("application/problem+json")
    assert naive.status_code == 422
