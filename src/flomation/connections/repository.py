"""All SQL of connections. Rows hold ciphertext only; the service encrypts and decrypts."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.models.connections import Connection, ConnectionProbe, OAuthState
from flomation.pagination import PageParams, keyset


async def get(session: AsyncSession, organization_id: str, name: str) -> Connection | None:
    return await session.get(Connection, (organization_id, name))


async def list_page(
    session: AsyncSession, organization_id: str, page: PageParams[Any]
) -> list[Connection]:
    """One page by name (unique within the organisation), one row more than asked."""
    stmt = keyset(
        select(Connection).where(Connection.organization_id == organization_id),
        Connection.name,
        page,
    )
    return list((await session.scalars(stmt)).all())


async def named(
    session: AsyncSession, organization_id: str, names: Collection[str]
) -> list[Connection]:
    if not names:
        return []
    stmt = select(Connection).where(
        Connection.organization_id == organization_id, Connection.name.in_(sorted(names))
    )
    return list((await session.scalars(stmt)).all())


async def types_by_name(session: AsyncSession, organization_id: str) -> dict[str, str]:
    """`{name: type}` of every connection of the organisation (no ciphertext read)."""
    stmt = select(Connection.name, Connection.type).where(
        Connection.organization_id == organization_id
    )
    return {str(row.name): str(row.type) for row in (await session.execute(stmt)).all()}


async def put(
    session: AsyncSession,
    organization_id: str,
    name: str,
    type_: str,
    nonce: bytes,
    ciphertext: bytes,
    *,
    values_changed: bool,
) -> Connection:
    connection = await get(session, organization_id, name)
    now = utcnow()
    version = await current_key_version(session)
    if connection is None:
        connection = Connection(
            organization_id=organization_id,
            name=name,
            type=type_,
            nonce=nonce,
            ciphertext=ciphertext,
            key_version=version,
            status="ok",
            created_at=now,
            updated_at=now,
        )
        session.add(connection)
    else:
        connection.type = type_
        connection.nonce = nonce
        connection.ciphertext = ciphertext
        connection.key_version = version
        connection.updated_at = now
        if values_changed:
            # New credentials: the last test and a failed OAuth refresh were about the old ones.
            connection.status = "ok"
            connection.last_tested_at = None
            connection.last_error = None
    await session.flush()
    return connection


async def current_key_version(session: AsyncSession) -> int:
    """The key version newly encrypted values get: the highest any connection reached
    (rotation raises every connection to it), 1 before the first rotation."""
    value = (await session.execute(select(func.max(Connection.key_version)))).scalar_one_or_none()
    return int(value or 1)


async def delete_one(session: AsyncSession, organization_id: str, name: str) -> bool:
    result = await session.execute(
        delete(Connection)
        .where(Connection.organization_id == organization_id, Connection.name == name)
        .returning(Connection.name)
    )
    return result.first() is not None


async def all_for_update(session: AsyncSession) -> list[Connection]:
    """Every connection of every organisation, locked (PostgreSQL) for a key rotation."""
    stmt = (
        select(Connection).order_by(Connection.organization_id, Connection.name).with_for_update()
    )
    return list((await session.scalars(stmt)).all())


# --------------------------------------------------------------------------- probes


async def insert_probe(
    session: AsyncSession,
    *,
    probe_id: str,
    organization_id: str,
    name: str,
    runs_on: dict[str, str],
    expires_at: datetime,
) -> ConnectionProbe:
    probe = ConnectionProbe(
        id=probe_id,
        organization_id=organization_id,
        connection_name=name,
        runs_on=runs_on,
        status="pending",
        requested_at=utcnow(),
        expires_at=expires_at,
    )
    session.add(probe)
    await session.flush()
    return probe


async def get_probe(session: AsyncSession, probe_id: str) -> ConnectionProbe | None:
    return await session.get(ConnectionProbe, probe_id)


async def take_probes(
    session: AsyncSession, organization_id: str, runner_id: str, labels: dict[str, str]
) -> list[ConnectionProbe]:
    """Pending, unexpired probes of the organisation whose `runs_on` the labels cover, now
    running on this runner. Skips rows another claim holds (PostgreSQL), so two runners never
    take the same probe."""
    stmt = (
        select(ConnectionProbe)
        .where(
            ConnectionProbe.organization_id == organization_id,
            ConnectionProbe.status == "pending",
            ConnectionProbe.expires_at > utcnow(),
        )
        .order_by(ConnectionProbe.id)
        .limit(20)
        .with_for_update(skip_locked=True)
    )
    taken = [
        probe
        for probe in (await session.scalars(stmt)).all()
        if all(labels.get(key) == value for key, value in (probe.runs_on or {}).items())
    ]
    for probe in taken:
        probe.status = "running"
        probe.runner_id = runner_id
    await session.flush()
    return taken


async def finish_probe(
    session: AsyncSession,
    probe_id: str,
    *,
    runner_id: str | None,
    status: str,
    ok: bool,
    message: str,
    duration_ms: int,
) -> ConnectionProbe | None:
    """Ends a probe that is not ended yet (the runner that took it, or expiry when
    `runner_id` is None); None when it had ended, or another runner holds it."""
    probe = await session.get(ConnectionProbe, probe_id, with_for_update=True)
    if probe is None or probe.status in ("done", "expired"):
        return None
    if runner_id is not None and probe.runner_id != runner_id:
        return None
    probe.status = status
    probe.ok = ok
    probe.message = message
    probe.duration_ms = duration_ms
    await session.flush()
    return probe


async def record_test(
    session: AsyncSession,
    organization_id: str,
    name: str,
    *,
    tested_at: datetime,
    error: str | None,
) -> None:
    connection = await get(session, organization_id, name)
    if connection is not None:
        connection.last_tested_at = tested_at
        connection.last_error = error
        await session.flush()


# --------------------------------------------------------------------------- OAuth 2


async def get_for_update(
    session: AsyncSession, organization_id: str, name: str
) -> Connection | None:
    """The connection, read afresh and locked until the transaction ends: one OAuth refresh
    at a time. PostgreSQL takes the row lock (`FOR UPDATE`); SQLite has none, and needs none:
    every transaction there starts `BEGIN IMMEDIATE`, so the single writer is the lock."""
    stmt = (
        select(Connection)
        .where(Connection.organization_id == organization_id, Connection.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def insert_oauth_state(session: AsyncSession, state: OAuthState) -> None:
    # Flows nobody finished are of no use once expired: they go with the next start.
    await session.execute(delete(OAuthState).where(OAuthState.expires_at < utcnow()))
    session.add(state)
    await session.flush()


async def take_oauth_state(session: AsyncSession, state_hash: str) -> OAuthState | None:
    """The started flow of this state, deleted in the same statement: a state is used once,
    even by two callbacks at the same moment."""
    stmt = delete(OAuthState).where(OAuthState.state_hash == state_hash).returning(OAuthState)
    return (await session.scalars(stmt)).one_or_none()
