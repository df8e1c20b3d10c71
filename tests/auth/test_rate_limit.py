"""Failed logins are throttled per account and per client address, in the database."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import update

from flomation.api.app import create_app
from flomation.db.clock import db_now_plus
from flomation.db.session import Database
from flomation.models.auth import LoginAttempt
from tests.auth.conftest import StartApi, login
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import serve

WINDOW_S = 120


def _from(address: str) -> dict[str, str]:
    # The tests connect from loopback, which uvicorn trusts as a proxy: X-Forwarded-For then
    # sets the client address, as a reverse proxy in front of the API would.
    return {"X-Forwarded-For": address}


async def _fail(client: httpx.AsyncClient, email: str, address: str) -> httpx.Response:
    return await login(client, email, "wrong password", headers=_from(address))


async def test_failed_logins_of_one_account_are_limited_whatever_the_address(
    start_api: StartApi, owner: Actor
) -> None:
    async with (
        start_api(login_max_attempts=3, login_window_seconds=WINDOW_S) as server,
        server.client() as client,
    ):
        for number in range(3):
            assert (await _fail(client, owner.email, f"10.0.0.{number}")).status_code == 401
        refused = await _fail(client, owner.email, "10.0.0.99")
        right_password = await login(client, owner.email, headers=_from("10.0.0.100"))
        other_account = await _fail(client, "someone@example.test", "10.0.0.101")
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW_S
    # Even the right password waits while the account is throttled.
    assert right_password.status_code == 429
    assert other_account.status_code == 401


async def test_failed_logins_from_one_address_are_limited_whatever_the_account(
    start_api: StartApi, owner: Actor
) -> None:
    async with (
        start_api(login_max_attempts=3, login_window_seconds=WINDOW_S) as server,
        server.client() as client,
    ):
        for number in range(3):
            response = await _fail(client, f"guess{number}@example.test", "192.0.2.7")
            assert response.status_code == 401
        refused = await login(client, owner.email, headers=_from("192.0.2.7"))
        elsewhere = await login(client, owner.email, headers=_from("192.0.2.8"))
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert elsewhere.status_code == 200


async def test_a_successful_login_resets_the_account_count(
    start_api: StartApi, owner: Actor
) -> None:
    async with (
        start_api(login_max_attempts=3, login_window_seconds=WINDOW_S) as server,
        server.client() as client,
    ):
        for number in range(2):
            await _fail(client, owner.email, f"198.51.100.{number}")
        assert (await login(client, owner.email, headers=_from("198.51.100.9"))).status_code == 200
        for number in range(2):
            response = await _fail(client, owner.email, f"198.51.100.{20 + number}")
            assert response.status_code == 401


async def test_failures_older_than_the_window_no_longer_count(
    start_api: StartApi, owner: Actor, database: Database
) -> None:
    async with (
        start_api(login_max_attempts=1, login_window_seconds=WINDOW_S) as server,
        server.client() as client,
    ):
        assert (await _fail(client, owner.email, "203.0.113.1")).status_code == 401
        throttled = await login(client, owner.email, headers=_from("203.0.113.2"))
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["Retry-After"]) <= WINDOW_S
        # Age the failure past the window instead of waiting for it.
        async with database.transaction() as session:
            await session.execute(update(LoginAttempt).values(at=db_now_plus(-(WINDOW_S + 1))))
        response = await login(client, owner.email, headers=_from("203.0.113.2"))
    assert response.status_code == 200


async def test_the_limit_is_shared_by_api_processes_on_one_database(
    database_url: str, database: Database, owner: Actor, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path / "data", login_max_attempts=2, login_window_seconds=WINDOW_S
    )
    second_database = Database(database_url, pool_size=2)
    async with (
        serve(create_app(settings, database=database)) as first,
        serve(create_app(settings, database=second_database)) as second,
        first.client() as one,
        second.client() as two,
    ):
        assert (await _fail(one, owner.email, "10.1.0.1")).status_code == 401
        assert (await _fail(two, owner.email, "10.1.0.2")).status_code == 401
        assert (await _fail(one, owner.email, "10.1.0.3")).status_code == 429
        assert (await _fail(two, owner.email, "10.1.0.4")).status_code == 429
