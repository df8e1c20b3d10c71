"""Authenticating a signed runner request through the runners service, on SQLite and
PostgreSQL: its statements are pinned, and the key this process keeps for a runner never
lets a deleted or replaced runner in, nor changes which refusal a bad request gets."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from flomation.db.session import Database
from flomation.models.runners import Runner, RunnerNonce
from flomation.runners import service
from flomation.runners.service import AuthenticatedRunner
from flomation.signing import SignatureInvalid, SigningKey, parse_request_headers, sign_request
from tests.factories import Actor, make_actor
from tests.runners.helpers import make_runner_token
from tests.statements import recorded_statements

PATH = "/api/v1/runners/heartbeat"
BODY = b'{"held":[],"running":0}'
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


async def _register(
    database: Database, actor: Actor, key: SigningKey, *, name: str = "runner-1"
) -> str:
    token = await make_runner_token(database, actor.organization_id, labels={"os": "linux"})
    async with database.transaction() as session:
        registration = await service.register_runner(
            session,
            token=token,
            name=name,
            labels={},
            max_concurrent_executors=3,
            public_key=key.public_key_base64(),
            version="test",
            offline_after_s=0.0,  # every earlier namesake counts as offline: it is replaced
        )
    return registration.runner_id


def _signed(key: SigningKey, runner_id: str, body: bytes = BODY) -> dict[str, str]:
    return sign_request(key, runner_id=runner_id, method="POST", path=PATH, body=body)


async def _authenticate(
    database: Database, headers: dict[str, str], body: bytes = BODY
) -> AuthenticatedRunner:
    async with database.statements() as session:
        return await service.authenticate(
            session,
            parse_request_headers(headers),
            method="POST",
            path=PATH,
            body=body,
            max_skew_s=300,
        )


async def _refusal(database: Database, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(SignatureInvalid) as refused:
        await _authenticate(database, headers, body)
    return str(refused.value.extra.get("code", refused.value.detail))


async def _nonces(database: Database, runner_id: str) -> int:
    async with database.transaction() as session:
        count = select(func.count()).where(RunnerNonce.runner_id == runner_id)
        return int((await session.scalars(count)).one())


async def _last_seen(database: Database, runner_id: str) -> datetime:
    async with database.transaction() as session:
        return (
            await session.scalars(select(Runner.last_seen_at).where(Runner.id == runner_id))
        ).one()


async def _age(database: Database, runner_id: str) -> None:
    async with database.transaction() as session:
        await session.execute(
            update(Runner).where(Runner.id == runner_id).values(last_seen_at=LONG_AGO)
        )


async def test_a_known_runners_request_is_accepted_in_one_statement(database: Database) -> None:
    actor = await make_actor(database)
    key = SigningKey.generate()
    runner_id = await _register(database, actor, key)
    await _authenticate(database, _signed(key, runner_id))  # this process learns the key
    await _age(database, runner_id)

    with recorded_statements(database) as statements:
        runner = await _authenticate(database, _signed(key, runner_id))

    assert (runner.runner_id, runner.organization_id) == (runner_id, actor.organization_id)
    assert (runner.labels, runner.max_concurrent_executors) == ({"os": "linux"}, 3)
    statements = [s for s in statements if s != "BEGIN IMMEDIATE"]  # SQLite's write lock
    if database.is_postgres:
        # Runner active with this key, nonce recorded, runner marked seen: one statement, and
        # no BEGIN or COMMIT around it.
        [accepted] = statements
        assert accepted.startswith("WITH runner AS")
    else:
        assert [s.split()[0] for s in statements] == ["UPDATE", "INSERT"]
    assert await _nonces(database, runner_id) == 2
    assert await _last_seen(database, runner_id) > LONG_AGO


async def test_a_replayed_request_is_refused_and_changes_nothing(database: Database) -> None:
    actor = await make_actor(database)
    key = SigningKey.generate()
    runner_id = await _register(database, actor, key)
    headers = _signed(key, runner_id)
    await _authenticate(database, headers)
    await _age(database, runner_id)

    assert "nonce is used" in await _refusal(database, headers)

    assert await _nonces(database, runner_id) == 1
    assert await _last_seen(database, runner_id) == LONG_AGO


async def test_a_bad_signature_is_refused_and_writes_nothing(database: Database) -> None:
    actor = await make_actor(database)
    key = SigningKey.generate()
    runner_id = await _register(database, actor, key)
    await _authenticate(database, _signed(key, runner_id))
    await _age(database, runner_id)

    # Known key, tampered body; then a request signed by another key.
    assert "does not verify" in await _refusal(database, _signed(key, runner_id), b"{}")
    assert "does not verify" in await _refusal(database, _signed(SigningKey.generate(), runner_id))

    assert await _nonces(database, runner_id) == 1
    assert await _last_seen(database, runner_id) == LONG_AGO


async def test_the_known_key_of_a_deleted_runner_lets_nothing_in(database: Database) -> None:
    actor = await make_actor(database)
    key = SigningKey.generate()
    runner_id = await _register(database, actor, key)
    await _authenticate(database, _signed(key, runner_id))
    async with database.transaction() as session:
        await service.delete_runner(
            session, organization_id=actor.organization_id, runner_id=runner_id
        )

    assert await _refusal(database, _signed(key, runner_id)) == "runner_unknown"
    # Also with a bad signature: an unknown runner is what the refusal says, as before.
    assert await _refusal(database, _signed(key, runner_id), b"{}") == "runner_unknown"
    assert await _nonces(database, runner_id) == 1


async def test_a_runner_registered_again_is_known_by_its_new_id_and_key_only(
    database: Database,
) -> None:
    actor = await make_actor(database)
    old_key, new_key = SigningKey.generate(), SigningKey.generate()
    old_id = await _register(database, actor, old_key)
    await _authenticate(database, _signed(old_key, old_id))

    new_id = await _register(database, actor, new_key)  # replaces its offline namesake

    assert new_id != old_id
    assert await _refusal(database, _signed(old_key, old_id)) == "runner_unknown"
    assert await _refusal(database, _signed(new_key, old_id)) == "runner_unknown"
    assert "does not verify" in await _refusal(database, _signed(old_key, new_id))
    assert (await _authenticate(database, _signed(new_key, new_id))).runner_id == new_id
