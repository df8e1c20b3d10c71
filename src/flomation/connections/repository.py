"""All SQL of connections. Rows hold ciphertext only; the service encrypts and decrypts."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.models.connections import Connection
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
