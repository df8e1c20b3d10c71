"""Failed logins are throttled per (account, client address) pair with growing delays and per
address across accounts, in the database; never a lock of the account for other addresses."""

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

# Slow enough that no test outruns a delay by accident: time moves only when a test ages the
# recorded failures.
PAIR = {
    "login_free_failures": 3,
    "login_delay_base_seconds": 30.0,
    "login_delay_max_seconds": 600.0,
    "login_pair_window_seconds": 3600,
    "login_address_max_accounts": 50,
}


def _from(address: str) -> dict[str, str]:
    # The tests connect from loopback, which uvicorn trusts as a proxy: X-Forwarded-For then
    # sets the client address, as a reverse proxy in front of the API would.
    return {"X-Forwarded-For": address}


async def _fail(client: httpx.AsyncClient, email: str, address: str) -> httpx.Response:
    return await login(client, email, "wrong password", headers=_from(address))


async def _age_failures(database: Database, seconds: float) -> None:
    """Move every recorded failure `seconds` into the past instead of waiting."""
    async with database.transaction() as session:
        await session.execute(update(LoginAttempt).values(at=db_now_plus(-seconds)))


async def test_a_pair_waits_after_its_free_failures_and_the_account_elsewhere_does_not(
    start_api: StartApi, owner: Actor
) -> None:
    async with start_api(**PAIR) as server, server.client() as client:
        for _ in range(3):
            assert (await _fail(client, owner.email, "10.0.0.1")).status_code == 401
        throttled = await login(client, owner.email, headers=_from("10.0.0.1"))
        elsewhere = await login(client, owner.email, headers=_from("10.0.0.2"))
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 30
    assert elsewhere.status_code == 200


async def test_each_failure_after_the_free_ones_doubles_the_wait(
    start_api: StartApi, owner: Actor, database: Database
) -> None:
    async with start_api(**PAIR) as server, server.client() as client:
        for _ in range(3):
            await _fail(client, owner.email, "10.0.1.1")
        first = await _fail(client, owner.email, "10.0.1.1")
        await _age_failures(database, 31)
        assert (await _fail(client, owner.email, "10.0.1.1")).status_code == 401
        second = await _fail(client, owner.email, "10.0.1.1")
    assert first.status_code == 429
    assert 25 <= int(first.headers["Retry-After"]) <= 30
    assert second.status_code == 429
    assert 55 <= int(second.headers["Retry-After"]) <= 60


async def test_many_wrong_passwords_never_keep_the_real_user_out(
    start_api: StartApi, owner: Actor
) -> None:
    async with start_api(**PAIR) as server, server.client() as client:
        for number in range(12):
            await _fail(client, owner.email, f"10.0.2.{number % 2}")
        response = await login(client, owner.email, headers=_from("10.0.2.200"))
    assert response.status_code == 200


async def test_one_address_failing_on_many_accounts_is_refused_on_every_account(
    start_api: StartApi, owner: Actor
) -> None:
    async with (
        start_api(login_address_max_accounts=4, login_window_seconds=300) as server,
        server.client() as client,
    ):
        for number in range(4):
            response = await _fail(client, f"sprayed{number}@example.test", "192.0.2.7")
            assert response.status_code == 401
        refused = await login(client, owner.email, headers=_from("192.0.2.7"))
        elsewhere = await login(client, owner.email, headers=_from("192.0.2.8"))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 300
    assert elsewhere.status_code == 200


async def test_a_right_password_clears_its_own_pair_only(start_api: StartApi, owner: Actor) -> None:
    async with start_api(**PAIR) as server, server.client() as client:
        for _ in range(2):
            await _fail(client, owner.email, "198.51.100.1")
            await _fail(client, owner.email, "198.51.100.2")
        assert (await login(client, owner.email, headers=_from("198.51.100.1"))).status_code == 200
        # The pair that succeeded starts again; the other keeps its count and reaches the delay.
        for _ in range(2):
            assert (await _fail(client, owner.email, "198.51.100.1")).status_code == 401
        assert (await _fail(client, owner.email, "198.51.100.2")).status_code == 401
        assert (await _fail(client, owner.email, "198.51.100.2")).status_code == 429


async def test_failures_older_than_the_windows_no_longer_count(
    start_api: StartApi, owner: Actor, database: Database
) -> None:
    async with (
        start_api(
            **{**PAIR, "login_free_failures": 1, "login_pair_window_seconds": 120},
            login_window_seconds=60,
        ) as server,
        server.client() as client,
    ):
        assert (await _fail(client, owner.email, "203.0.113.1")).status_code == 401
        throttled = await login(client, owner.email, headers=_from("203.0.113.1"))
        await _age_failures(database, 121)
        response = await login(client, owner.email, headers=_from("203.0.113.1"))
    assert throttled.status_code == 429
    assert response.status_code == 200


async def test_the_throttle_is_shared_by_api_processes_on_one_database(
    database_url: str, database: Database, owner: Actor, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", **{**PAIR, "login_free_failures": 2})
    second_database = Database(database_url, pool_size=2)
    try:
        async with (
            serve(create_app(settings, database=database)) as first,
            serve(create_app(settings, database=second_database)) as second,
            first.client() as one,
            second.client() as two,
        ):
            assert (await _fail(one, owner.email, "10.1.0.1")).status_code == 401
            assert (await _fail(two, owner.email, "10.1.0.1")).status_code == 401
            assert (await _fail(one, owner.email, "10.1.0.1")).status_code == 429
            assert (await _fail(two, owner.email, "10.1.0.1")).status_code == 429
    finally:
        await second_database.dispose()


async def test_addresses_of_one_ipv6_64_count_as_one_client(
    start_api: StartApi, owner: Actor
) -> None:
    async with start_api(**PAIR) as server, server.client() as client:
        for host in range(1, 4):
            response = await _fail(client, owner.email, f"2001:db8:7:7::{host}")
            assert response.status_code == 401
        same_64 = await _fail(client, owner.email, "2001:db8:7:7:ffff::99")
        other_64 = await _fail(client, owner.email, "2001:db8:7:8::1")
    assert same_64.status_code == 429
    assert other_64.status_code == 401
