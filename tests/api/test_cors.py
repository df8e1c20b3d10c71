"""An editor served from another origin may call the API only when that origin is allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from flomation.api.app import create_app
from flomation.config import Settings
from flomation.db.session import Database
from tests.factories import Actor
from tests.live import LiveServer, serve

EDITOR_ORIGIN = "https://editor.example.com"


@pytest.fixture
async def cors_api(settings: Settings, database: Database) -> AsyncIterator[LiveServer]:
    allowed = settings.model_copy(update={"allowed_origins": [EDITOR_ORIGIN]})
    async with serve(create_app(allowed, database=database)) as server:
        yield server


async def test_an_allowed_origin_passes_the_preflight_with_bearer_headers(
    cors_api: LiveServer,
) -> None:
    async with cors_api.client() as client:
        response = await client.options(
            "/api/v1/flows",
            headers={
                "Origin": EDITOR_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == EDITOR_ORIGIN
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_an_allowed_origin_reads_answers_with_a_bearer_token(
    cors_api: LiveServer, owner: Actor
) -> None:
    async with cors_api.client({**owner.headers, "Origin": EDITOR_ORIGIN}) as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == EDITOR_ORIGIN


async def test_another_origin_gets_no_cors_grant(cors_api: LiveServer, owner: Actor) -> None:
    async with cors_api.client({**owner.headers, "Origin": "https://evil.example"}) as client:
        response = await client.get("/api/v1/me")
        preflight = await client.options(
            "/api/v1/flows",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert "access-control-allow-origin" not in response.headers
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
