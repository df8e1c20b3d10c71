"""A runner's goodbye at a clean shutdown: listed offline at once, its later requests refused,
its name free for the runner that replaces it. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from flomation.config import Settings
from flomation.db.session import Database
from flomation.runner.client import RunnerUnknown
from flomation.runners import service as runners
from flomation.signing import SigningKey
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, raw_call, runner_client

GOODBYE = "/api/v1/runner/goodbye"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A lease far longer than the offline TTL: heartbeats must follow the shorter of the two.
    return make_settings(
        database_url, tmp_path / "data", lease_seconds=30.0, runner_offline_after_seconds=6.0
    )


async def _listed(api: LiveServer, owner: Actor) -> list[tuple[str, str]]:
    async with api.client(owner.headers) as client:
        answer = await client.get("/api/v1/runners")
    assert answer.status_code == 200, answer.text
    return [(item["id"], item["status"]) for item in answer.json()["items"]]


async def test_a_runner_that_says_goodbye_is_offline_at_once_and_refused_after(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    token = await make_runner_token(database, owner.organization_id, labels={"zone": "a"})
    client = runner_client(api.base_url, token)
    try:
        registered = await client.register(labels={}, max_concurrent=1)
        runner_id = registered.runner_id
        assert await _listed(api, owner) == [(runner_id, "online")]

        await client.goodbye()
        # Offline now, not after `runner_offline_after_seconds` of silence.
        assert await _listed(api, owner) == [(runner_id, "offline")]
        async with database.transaction() as session:
            assert await runners.online_label_sets(session, owner.organization_id) == []
        # Whatever it signs afterwards is refused as from an unknown runner.
        with pytest.raises(RunnerUnknown):
            await client.call("POST", "/heartbeat", {"held": [], "running": 0})
        with pytest.raises(RunnerUnknown):
            await client.goodbye()
    finally:
        await client.aclose()

    # Its successor under the same name replaces it in the list.
    successor = runner_client(api.base_url, token)
    try:
        again = await successor.register(labels={}, max_concurrent=1)
    finally:
        await successor.aclose()
    assert await _listed(api, owner) == [(again.runner_id, "online")]


async def test_heartbeats_come_thrice_within_the_offline_ttl(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    settings: Settings = api.app.state.settings
    token = await make_runner_token(database, owner.organization_id)
    client = runner_client(api.base_url, token)
    try:
        registered = await client.register(labels={}, max_concurrent=1)
    finally:
        await client.aclose()
    assert registered.heartbeat_interval_s <= settings.runner_offline_after_seconds / 3
    assert registered.heartbeat_interval_s <= settings.lease_seconds / 3


async def test_a_goodbye_not_signed_by_the_runner_is_refused_and_changes_nothing(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    token = await make_runner_token(database, owner.organization_id)
    client = runner_client(api.base_url, token)
    try:
        runner_id = (await client.register(labels={}, max_concurrent=1)).runner_id
    finally:
        await client.aclose()
    # Someone else's key under this runner's id, and no signature at all.
    forged = await raw_call(api.base_url, SigningKey.generate(), runner_id, GOODBYE, {})
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as plain:
        unsigned = await plain.post(GOODBYE, json={})
    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert await _listed(api, owner) == [(runner_id, "online")]
