"""What a webhook's flow receives as input, and what it never receives: credential headers
(built in and configured) are hidden, and input the database cannot store (deep nesting, NUL,
lone surrogates, in the body or the query) answers 400 with nothing queued."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from flomation.api.app import create_app
from flomation.config import Settings
from flomation.db.session import Database
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import LiveServer, serve
from tests.triggers.factories import executions_of, make_flow, make_trigger

CREDENTIAL_HEADERS = {
    "Authorization": "Bearer leak-1",
    "Proxy-Authorization": "Basic leak-2",
    "Cookie": "session=leak-3",
    "X-Api-Key": "leak-4",
    "Api-Key": "leak-5",
    "X-Auth-Token": "leak-6",
    "X-Access-Token": "leak-7",
}


@pytest.fixture
async def hooks_api(
    database: Database, database_url: str, tmp_path: Path
) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        database_url, tmp_path / "data", webhook_hidden_headers="X-Tenant-Secret, x-other-Secret"
    )
    async with serve(create_app(settings, database=database)) as server:
        yield server


async def _hook(database: Database, actor: Actor, path: str) -> None:
    flow_id = await make_flow(database, actor.organization_id)
    await make_trigger(database, actor.organization_id, flow_id, "webhook", {"path": path})


async def _input_of_only_execution(database: Database, actor: Actor) -> dict[str, Any]:
    [execution] = await executions_of(database, actor.organization_id)
    return dict(execution.input)


def test_configured_hidden_headers_are_read_as_a_comma_separated_list_in_any_case() -> None:
    settings = Settings.model_validate({"webhook_hidden_headers": " X-One ,x-TWO,, "})
    assert settings.webhook_hidden_headers == ["x-one", "x-two"]


async def test_credential_headers_never_reach_the_flow(
    hooks_api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, "creds")
    async with hooks_api.client() as client:
        answer = await client.post(
            "/hooks/creds",
            json={"ok": True},
            headers={
                **CREDENTIAL_HEADERS,
                "X-Tenant-Secret": "leak-8",
                "X-Other-Secret": "leak-9",
                "X-Custom": "kept",
            },
        )
    assert answer.status_code == 202, answer.text
    received = await _input_of_only_execution(database, owner)
    headers = received["headers"]
    assert headers["x-custom"] == "kept"
    for name in [*CREDENTIAL_HEADERS, "X-Tenant-Secret", "X-Other-Secret"]:
        assert name.lower() not in headers
    assert "leak" not in repr(received)


@pytest.mark.parametrize(
    ("body", "content_type", "pointer"),
    [
        (b"[" * 1000 + b"]" * 1000, "application/json", "/0" * 64),
        (b'{"order": {"note": "\\ud800"}}', "application/json", "/order/note"),
        (b'{"note": "a\\u0000b"}', "application/cloudevents+json", "/note"),
        (b"plain text with a \x00 inside", "text/plain", "/body"),
    ],
    ids=["deep", "lone-surrogate", "nul-in-json", "nul-in-text"],
)
async def test_input_the_database_cannot_store_answers_400_and_queues_nothing(
    hooks_api: LiveServer,
    owner: Actor,
    database: Database,
    body: bytes,
    content_type: str,
    pointer: str,
) -> None:
    await _hook(database, owner, "hostile")
    async with hooks_api.client() as client:
        answer = await client.post(
            "/hooks/hostile", content=body, headers={"Content-Type": content_type}
        )
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["pointer"] == pointer
    assert await executions_of(database, owner.organization_id) == []


async def test_a_nul_in_the_query_answers_400_and_queues_nothing(
    hooks_api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, "query")
    async with hooks_api.client() as client:
        answer = await client.post("/hooks/query?q=a%00b", json={})
    assert answer.status_code == 400, answer.text
    assert "NUL" in answer.json()["detail"]
    assert await executions_of(database, owner.organization_id) == []
