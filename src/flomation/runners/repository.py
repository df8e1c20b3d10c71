"""All SQL of the runners domain. Every query names the organisation or a runner id that was
authenticated; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.base import JSONValue
from flomation.db.clock import db_now, db_now_plus, now_sql, with_clock
from flomation.ids import new_id
from flomation.models.auth import Organization
from flomation.models.runners import Runner, RunnerNonce, RunnerToken
from flomation.pagination import PageParams, keyset

# --------------------------------------------------------------------------- tokens


async def insert_token(
    session: AsyncSession,
    *,
    organization_id: str,
    name: str,
    token_hash: str,
    labels: dict[str, str],
    created_by: str | None,
    expires_at: datetime | None,
) -> RunnerToken:
    token = RunnerToken(
        organization_id=organization_id,
        name=name,
        token_hash=token_hash,
        labels=labels,
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token


async def list_tokens(
    session: AsyncSession, organization_id: str, page: PageParams[str]
) -> Sequence[RunnerToken]:
    """Newest first, one more than the page asks."""
    query = select(RunnerToken).where(RunnerToken.organization_id == organization_id)
    result = await session.scalars(keyset(query, RunnerToken.id, page, descending=True))
    return result.all()


async def revoke_token(session: AsyncSession, organization_id: str, token_id: str) -> bool:
    """Sets `revoked_at` once; true when the token exists in the organisation."""
    result = await session.execute(
        update(RunnerToken)
        .where(RunnerToken.id == token_id, RunnerToken.organization_id == organization_id)
        .values(revoked_at=func.coalesce(RunnerToken.revoked_at, db_now()))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def first_organization_id(session: AsyncSession) -> str | None:
    result = await session.scalars(
        select(Organization.id).order_by(Organization.created_at).limit(1)
    )
    return result.first()


async def revoke_tokens_named(session: AsyncSession, organization_id: str, name: str) -> None:
    await session.execute(
        update(RunnerToken)
        .where(
            RunnerToken.organization_id == organization_id,
            RunnerToken.name == name,
            RunnerToken.created_by.is_(None),
            RunnerToken.revoked_at.is_(None),
        )
        .values(revoked_at=db_now())
    )


async def usable_token(session: AsyncSession, token_hash: str) -> RunnerToken | None:
    """The token with this hash when it is neither revoked nor expired (database clock)."""
    result = await session.scalars(
        select(RunnerToken).where(
            RunnerToken.token_hash == token_hash,
            RunnerToken.revoked_at.is_(None),
            or_(RunnerToken.expires_at.is_(None), RunnerToken.expires_at > db_now()),
        )
    )
    return result.first()


async def touch_token(session: AsyncSession, token_id: str) -> None:
    await session.execute(
        update(RunnerToken).where(RunnerToken.id == token_id).values(last_used_at=db_now())
    )


# --------------------------------------------------------------------------- runners


async def insert_runner(
    session: AsyncSession,
    *,
    organization_id: str,
    token_id: str,
    name: str,
    labels: dict[str, str],
    public_key: str,
    max_concurrent_executors: int,
    version: str,
) -> str:
    runner_id = new_id()
    await session.execute(
        insert(Runner).values(
            id=runner_id,
            organization_id=organization_id,
            token_id=token_id,
            name=name,
            labels=labels,
            public_key=public_key,
            max_concurrent_executors=max_concurrent_executors,
            running=0,
            version=version,
            registered_at=db_now(),
            last_seen_at=db_now(),
        )
    )
    return runner_id


async def retire_offline_namesakes(
    session: AsyncSession, *, organization_id: str, name: str, offline_after_s: float
) -> None:
    """A runner that registers again under its name replaces its offline predecessors, so the
    list does not fill with every restart of the same machine."""
    await session.execute(
        update(Runner)
        .where(
            Runner.organization_id == organization_id,
            Runner.name == name,
            Runner.deleted_at.is_(None),
            or_(
                Runner.stopped_at.is_not(None),
                Runner.last_seen_at < db_now_plus(-offline_after_s),
            ),
        )
        .values(deleted_at=db_now())
    )


async def mark_seen(session: AsyncSession, runner_id: str, *, running: int | None = None) -> None:
    values: dict[str, Any] = {"last_seen_at": db_now()}
    if running is not None:
        values["running"] = running
    await session.execute(update(Runner).where(Runner.id == runner_id).values(**values))


def _online(offline_after_s: float) -> Any:
    return and_(Runner.stopped_at.is_(None), Runner.last_seen_at >= db_now_plus(-offline_after_s))


async def mark_stopped_by_token(session: AsyncSession, token_id: str) -> None:
    """Every live runner registered with this token is gone (its supervisor saw it exit)."""
    await session.execute(
        update(Runner)
        .where(
            Runner.token_id == token_id,
            Runner.stopped_at.is_(None),
            Runner.deleted_at.is_(None),
        )
        .values(stopped_at=db_now(), running=0)
    )


async def mark_stopped(session: AsyncSession, runner_id: str) -> None:
    """The runner said goodbye: offline from now on, and its later requests are refused."""
    await session.execute(
        update(Runner)
        .where(Runner.id == runner_id, Runner.stopped_at.is_(None))
        .values(stopped_at=db_now(), running=0)
    )


async def list_runners(
    session: AsyncSession,
    organization_id: str,
    *,
    offline_after_s: float,
    page: PageParams[str],
) -> list[tuple[Runner, bool]]:
    """Newest first, one more than the page asks; each with whether it is online."""
    query = select(Runner, _online(offline_after_s).label("online")).where(
        Runner.organization_id == organization_id, Runner.deleted_at.is_(None)
    )
    result = await session.execute(keyset(query, Runner.id, page, descending=True))
    return [(row[0], bool(row[1])) for row in result.all()]


async def delete_runner(session: AsyncSession, organization_id: str, runner_id: str) -> bool:
    result = await session.execute(
        update(Runner)
        .where(
            Runner.id == runner_id,
            Runner.organization_id == organization_id,
            Runner.deleted_at.is_(None),
        )
        .values(deleted_at=db_now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# Read on every execution request (for "waiting for a runner with ..."): built once.
_ONLINE_LABEL_SETS = select(Runner.labels).where(
    Runner.organization_id == bindparam("organization_id"),
    Runner.deleted_at.is_(None),
    Runner.stopped_at.is_(None),
    Runner.last_seen_at >= db_now_plus(bindparam("offline_after_s", type_=Float) * -1),
)


async def online_label_sets(
    session: AsyncSession, organization_id: str, *, offline_after_s: float
) -> list[dict[str, str]]:
    result = await session.scalars(
        _ONLINE_LABEL_SETS,
        {"organization_id": organization_id, "offline_after_s": float(offline_after_s)},
    )
    return [dict(labels or {}) for labels in result.all()]


async def serialize_runner(session: AsyncSession, runner_id: str) -> None:
    """Take this runner's transaction lock (PostgreSQL; SQLite writers are serial anyway).

    Lease renewals and reports each lock many queue rows, in orders of the database's
    choosing; two such transactions of the same runner could deadlock. Holding this lock,
    they take turns.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(runner_id))))


# --------------------------------------------------------------------------- signed requests

# Read when this process does not know a runner's public key yet: built once.
_ACTIVE_PUBLIC_KEY = select(Runner.public_key).where(
    Runner.id == bindparam("runner_id"), Runner.deleted_at.is_(None), Runner.stopped_at.is_(None)
)


async def active_public_key(session: AsyncSession, runner_id: str) -> str | None:
    """The runner's public key (base64); None when it is unknown or deleted. Writes nothing."""
    return (await session.scalars(_ACTIVE_PUBLIC_KEY, {"runner_id": runner_id})).first()


@dataclass(frozen=True, slots=True)
class AcceptedRequest:
    """The runner a verified request came from, and whether its nonce was new."""

    organization_id: str
    labels: dict[str, Any]
    max_concurrent_executors: int
    nonce_is_new: bool


_ACCEPTED_COLUMNS = {
    "organization_id": String(),
    "labels": JSONValue,
    "max_concurrent_executors": Integer(),
    "nonce_is_new": Boolean(),
}

# PostgreSQL: a verified request is accepted in one statement (so, in autocommit, with no
# BEGIN/COMMIT round trips): the runner must still be active with the key the signature was
# checked against; its nonce is recorded, and only when that nonce is new is the runner marked
# seen, so a replay changes nothing. The runner is read from the `runner` CTE because a
# data-modifying CTE does not see the others' writes.
_PG_NOW = now_sql("postgresql")
_PG_ACCEPT_REQUEST = with_clock(
    text(
        f"""
WITH runner AS (
    SELECT id, organization_id, labels, max_concurrent_executors FROM runners
    WHERE id = :b_runner_id AND deleted_at IS NULL AND stopped_at IS NULL
      AND public_key = :b_public_key
), nonce AS (
    INSERT INTO runner_nonces (id, runner_id, nonce, seen_at)
    SELECT :b_nonce_id, runner.id, :b_nonce, {_PG_NOW} FROM runner
    ON CONFLICT (runner_id, nonce) DO NOTHING
    RETURNING runner_id
), seen AS (
    UPDATE runners SET last_seen_at = {_PG_NOW} FROM nonce WHERE runners.id = nonce.runner_id
    RETURNING runners.id
)
SELECT runner.organization_id, runner.labels, runner.max_concurrent_executors,
       EXISTS (SELECT 1 FROM seen) AS nonce_is_new
FROM runner
"""
    )
).columns(**_ACCEPTED_COLUMNS)

# SQLite (one transaction, which a replay rolls back): mark seen, then record the nonce.
_SQLITE_MARK_SEEN = (
    update(Runner)
    .where(
        Runner.id == bindparam("b_runner_id"),
        Runner.deleted_at.is_(None),
        Runner.stopped_at.is_(None),
        Runner.public_key == bindparam("b_public_key"),
    )
    .values(last_seen_at=db_now())
    .returning(Runner.organization_id, Runner.labels, Runner.max_concurrent_executors)
)
_SQLITE_REMEMBER_NONCE = (
    sqlite_insert(RunnerNonce)
    .values(
        id=bindparam("b_nonce_id"),
        runner_id=bindparam("b_runner_id"),
        nonce=bindparam("b_nonce"),
        seen_at=db_now(),
    )
    .on_conflict_do_nothing(index_elements=["runner_id", "nonce"])
    .returning(RunnerNonce.id)
)


async def accept_request(
    session: AsyncSession, *, runner_id: str, public_key: str, nonce: str
) -> AcceptedRequest | None:
    """Record a verified request's nonce and mark its runner seen. None (and nothing written)
    when the runner is unknown, deleted or no longer has `public_key`; `nonce_is_new` false
    for a replay. On SQLite a replay leaves the runner marked seen in the caller's transaction,
    which the caller's refusal rolls back."""
    params = {
        "b_runner_id": runner_id,
        "b_public_key": public_key,
        "b_nonce": nonce,
        "b_nonce_id": new_id(),
    }
    if session.get_bind().dialect.name == "postgresql":
        row = (await session.execute(_PG_ACCEPT_REQUEST, params)).first()
        if row is None:
            return None
        return AcceptedRequest(str(row[0]), dict(row[1] or {}), int(row[2]), bool(row[3]))
    seen = (await session.execute(_SQLITE_MARK_SEEN, params)).first()
    if seen is None:
        return None
    fresh = (await session.execute(_SQLITE_REMEMBER_NONCE, params)).first() is not None
    return AcceptedRequest(str(seen[0]), dict(seen[1] or {}), int(seen[2]), fresh)


# --------------------------------------------------------------------------- nonces


async def prune_nonces(session: AsyncSession, *, older_than_s: float) -> int:
    result = await session.execute(
        delete(RunnerNonce).where(RunnerNonce.seen_at < db_now_plus(-older_than_s))
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
