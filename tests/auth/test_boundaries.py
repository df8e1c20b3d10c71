"""Authentication is required by default: no path trick reaches a protected handler, and a
cookie session needs its CSRF token for every unsafe method."""

from __future__ import annotations

import httpx
import pytest

from tests.auth.conftest import login, raw_request
from tests.factories import Actor
from tests.live import LiveServer

# Request targets sent byte for byte (no client normalisation). Each either names a protected
# route (401) or no route at all (404), or is refused as bad input before routing (400, a NUL
# no database can store); none may answer data.
PATH_TRICKS = [
    "/api/v1/flows;/healthz",
    "/api/v1/me;/healthz",
    "/api/v1/users;/healthz",
    "/api/v1/%6De",
    "/api/v1/%6d%65",
    "/api/v1/me/../readyz",
    "/api/v1/me/%2e%2e/readyz",
    "/api/v1/me%2F..%2F..%2Fhealthz",
    "//api/v1/me",
    "/api/v1//me",
    "/api/v1/./me",
    "/./api/v1/me",
    "/api/v1/me/",
    "/api/v1/users/",
    "/readyz/../api/v1/me",
    "/healthz/../api/v1/me",
    "/api/v1/auth/login/../../me",
    "/api/v1/auth/../me",
    "/api/v1/openapi.json/../me",
    "/api/v1/me/readyz",
    "/api/v1/me/healthz",
    "/api/v1/me?next=/healthz",
    "/api/v1/me%00",
    "/API/V1/ME",
    "http://127.0.0.1/api/v1/me",
]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_no_path_trick_reaches_a_protected_handler(
    api: LiveServer, owner: Actor, method: str
) -> None:
    answered: dict[str, int] = {}
    for target in PATH_TRICKS:
        response = await raw_request(
            api.base_url, method, target, {"Cookie": "flomation_session=flo_s_forged"}
        )
        answered[target] = response.status
        assert owner.email not in response.body
        assert owner.user_id not in response.body
        head = response.head.lower()
        if response.status == 200:
            # Only the editor's public page (the single-page app's fallback) may answer 200.
            assert method == "GET"
            assert "content-type: text/html" in head, (target, response.head)
        else:
            assert "content-type: application/problem+json" in head, (target, response.head)
    unexpected = {
        target: status
        for target, status in answered.items()
        if status not in (401, 404, 405)
        and not (status == 200 and method == "GET")
        and not (status == 400 and "%00" in target)
    }
    assert unexpected == {}
    if method == "GET":
        # Every spelling that does reach the protected route gets the unauthenticated answer.
        for target in ("/api/v1/%6De", "/api/v1/%6d%65", "/api/v1/me?next=/healthz"):
            assert answered[target] == 401, target


async def test_the_canonical_path_answers_data_with_a_token(api: LiveServer, owner: Actor) -> None:
    # The counterpart of the test above: the same raw client does get data when authenticated.
    response = await raw_request(api.base_url, "GET", "/api/v1/%6De", owner.headers)
    assert response.status == 200
    assert owner.email in response.body


async def _log_in(client: httpx.AsyncClient, owner: Actor) -> tuple[str, str]:
    """Log the client in (it keeps the cookies); the CSRF token and the session token."""
    response = await login(client, owner.email)
    assert response.status_code == 200
    return response.cookies["flomation_csrf"], response.json()["token"]


async def test_a_cookie_session_needs_the_csrf_header_for_unsafe_methods(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client() as client:
        csrf, _ = await _log_in(client, owner)
        missing = await client.post("/api/v1/tokens", json={"name": "no csrf"})
        wrong = await client.post(
            "/api/v1/tokens", json={"name": "bad csrf"}, headers={"X-CSRF-Token": "guess"}
        )
        read = await client.get("/api/v1/tokens")
        right = await client.post(
            "/api/v1/tokens", json={"name": "with csrf"}, headers={"X-CSRF-Token": csrf}
        )
        token_id = right.json()["id"]
        delete_missing = await client.delete(f"/api/v1/tokens/{token_id}")
        patch_missing = await client.patch("/api/v1/organization", json={"name": "x"})
        logout_missing = await client.post("/api/v1/auth/logout")
        delete_right = await client.delete(
            f"/api/v1/tokens/{token_id}", headers={"X-CSRF-Token": csrf}
        )
    assert missing.status_code == 403
    assert "X-CSRF-Token" in missing.json()["detail"]
    assert wrong.status_code == 403
    assert read.status_code == 200  # safe methods need no CSRF token
    assert [item["name"] for item in read.json()["items"]] == ["test token"]
    assert right.status_code == 201
    assert delete_missing.status_code == patch_missing.status_code == 403
    assert logout_missing.status_code == 403
    assert delete_right.status_code == 204


async def test_the_csrf_token_of_another_session_is_refused(api: LiveServer, owner: Actor) -> None:
    async with api.client() as other:
        other_csrf, _ = await _log_in(other, owner)
    async with api.client() as client:
        await _log_in(client, owner)
        response = await client.post(
            "/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": other_csrf}
        )
    assert response.status_code == 403


async def test_a_bearer_session_token_needs_no_csrf_token(api: LiveServer, owner: Actor) -> None:
    async with api.client() as client:
        _, token = await _log_in(client, owner)
    async with api.client({"Authorization": f"Bearer {token}"}) as bearer:
        response = await bearer.post("/api/v1/tokens", json={"name": "from a script"})
    assert response.status_code == 201
