"""Hostile case 6 (issue 25): ten wrong passwords made the RIGHT password answer 429 for five
minutes, repeatable forever by anyone who knew the e-mail, and one password sprayed across 40
accounts from one address was not throttled. Now, with the product's default settings: the
guesser slows only their own (account, address) pair, the real user signs in at once from
anywhere else, and an address failing on many accounts is refused with Retry-After."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from flomation.api.app import create_app
from flomation.db.session import Database
from tests.conftest import make_settings
from tests.factories import DEFAULT_PASSWORD, Actor, make_actor
from tests.live import serve
from tests.security.test_bad_input import api_process

ATTACKER = "203.0.113.66"
USER = "198.51.100.10"
LOGIN = "/api/v1/auth/login"


def _from(address: str) -> dict[str, str]:
    # The test connects from loopback, which uvicorn trusts as a proxy by default.
    return {"X-Forwarded-For": address}


async def _login(
    client: httpx.AsyncClient, email: str, password: str, address: str
) -> httpx.Response:
    return await client.post(
        LOGIN, json={"email": email, "password": password}, headers=_from(address)
    )


async def test_a_guesser_cannot_keep_the_real_user_out(
    database_url: str, database: Database, owner: Actor, tmp_path: Path
) -> None:
    # The product's defaults, but a first delay no test host outruns (1 s by default).
    settings = make_settings(database_url, tmp_path / "data", login_delay_base_seconds=60)
    async with serve(create_app(settings, database=database)) as api, api.client() as client:
        answers = [await _login(client, owner.email, "guess", ATTACKER) for _ in range(12)]
        real_user = await _login(client, owner.email, DEFAULT_PASSWORD, USER)
        # Again after more guesses: never a lock the guesser can renew.
        more = [await _login(client, owner.email, "guess", ATTACKER) for _ in range(3)]
        real_user_again = await _login(client, owner.email, DEFAULT_PASSWORD, USER)
    statuses = [answer.status_code for answer in answers]
    # The guesser's free tries, then its own pair waits.
    assert statuses == [401] * 5 + [429] * 7
    assert 30 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert real_user.status_code == 200
    assert all(answer.status_code == 429 for answer in more)
    assert real_user_again.status_code == 200


async def test_one_password_sprayed_across_40_accounts_is_refused_with_retry_after(
    database_url: str, database: Database, owner: Actor, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data")
    async with serve(create_app(settings, database=database)) as api, api.client() as client:
        sprayed = [
            await _login(client, f"victim{number}@example.test", "Summer2026!", ATTACKER)
            for number in range(40)
        ]
        owner_from_attacker = await _login(client, owner.email, DEFAULT_PASSWORD, ATTACKER)
        owner_elsewhere = await _login(client, owner.email, DEFAULT_PASSWORD, USER)
    statuses = [answer.status_code for answer in sprayed]
    assert statuses[:10] == [401] * 10  # login_address_max_accounts
    assert statuses[10:] == [429] * 30
    assert 1 <= int(sprayed[-1].headers["Retry-After"]) <= 300
    assert owner_from_attacker.status_code == 429
    assert owner_elsewhere.status_code == 200


async def test_one_user_fumbling_a_password_does_not_refuse_others_behind_the_same_address(
    database_url: str, database: Database, owner: Actor, tmp_path: Path
) -> None:
    # An office behind one NAT address: a spray is many accounts, one user's typos are not.
    colleague = await make_actor(database)
    settings = make_settings(database_url, tmp_path / "data", login_delay_base_seconds=60)
    async with serve(create_app(settings, database=database)) as api, api.client() as client:
        for _ in range(12):
            await _login(client, owner.email, "typo", USER)
        colleague_login = await _login(client, colleague.email, DEFAULT_PASSWORD, USER)
    assert colleague_login.status_code == 200


async def test_a_burst_of_parallel_guesses_gets_no_more_than_the_free_tries(
    database_url: str, database: Database, owner: Actor, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path / "data", login_free_failures=3, login_delay_base_seconds=60
    )
    async with serve(create_app(settings, database=database)) as api, api.client() as client:
        answers = await asyncio.gather(
            *(_login(client, owner.email, "guess", ATTACKER) for _ in range(12))
        )
    statuses = sorted(answer.status_code for answer in answers)
    # Three wrong passwords checked; every other attempt waited for the one before it and was
    # refused.
    assert statuses == [401] * 3 + [429] * 9


async def test_x_forwarded_for_from_an_untrusted_peer_cannot_escape_the_throttle(
    database_url: str, owner: Actor, tmp_path: Path
) -> None:
    # A real `flomation api` with no trusted proxy (the default): a client on loopback that
    # rotates X-Forwarded-For is still one address.
    async with (
        api_process(database_url, tmp_path / "api", FLOMATION_LOGIN_DELAY_BASE_SECONDS="60") as api,
        httpx.AsyncClient(base_url=api.base_url, timeout=30) as client,
    ):
        answers = [
            await _login(client, owner.email, "guess", f"192.0.2.{number}") for number in range(8)
        ]
    assert [answer.status_code for answer in answers] == [401] * 5 + [429] * 3


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    database_url: str, owner: Actor, tmp_path: Path
) -> None:
    # Loopback named as the proxy: each forwarded address is a client of its own, so eight
    # wrong passwords from eight addresses are eight free tries.
    async with (
        api_process(
            database_url,
            tmp_path / "api",
            FLOMATION_TRUSTED_PROXIES="127.0.0.1",
            FLOMATION_LOGIN_DELAY_BASE_SECONDS="60",
        ) as api,
        httpx.AsyncClient(base_url=api.base_url, timeout=30) as client,
    ):
        answers = [
            await _login(client, owner.email, "guess", f"192.0.2.{number}") for number in range(8)
        ]
    assert [answer.status_code for answer in answers] == [401] * 8
