from __future__ import annotations

from tests.live import LiveServer


async def test_healthz_answers_without_authentication(api: LiveServer) -> None:
    async with api.client() as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database_reachable_and_migrated(api: LiveServer) -> None:
    async with api.client() as client:
        response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ok"


async def test_protected_route_needs_a_token(api: LiveServer) -> None:
    async with api.client() as client:
        response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
