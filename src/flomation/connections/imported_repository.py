"""All SQL of imported OpenAPI services. A row holds `ImportedService.to_dict()`, never the
document it came from."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.models.imported_services import ImportedServiceRow


@dataclass(frozen=True, slots=True)
class Stamp:
    """Which version of a service is stored, without reading its (possibly large) data."""

    name: str
    content_hash: str
    operation_count: int = 0
    updated_at: datetime | None = None


async def get(session: AsyncSession, organization_id: str, name: str) -> ImportedServiceRow | None:
    return await session.get(ImportedServiceRow, (organization_id, name))


async def stamps(
    session: AsyncSession, organization_id: str, names: Collection[str] | None = None
) -> list[Stamp]:
    """The organisation's services (only `names` when given), by name."""
    stmt = select(
        ImportedServiceRow.name,
        ImportedServiceRow.content_hash,
        ImportedServiceRow.operation_count,
        ImportedServiceRow.updated_at,
    ).where(ImportedServiceRow.organization_id == organization_id)
    if names is not None:
        if not names:
            return []
        stmt = stmt.where(ImportedServiceRow.name.in_(sorted(names)))
    rows = (await session.execute(stmt.order_by(ImportedServiceRow.name))).all()
    return [
        Stamp(str(row.name), str(row.content_hash), int(row.operation_count), row.updated_at)
        for row in rows
    ]


async def data_of(
    session: AsyncSession, organization_id: str, names: Collection[str]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """`{name: (content_hash, data)}` of the named services."""
    if not names:
        return {}
    stmt = select(
        ImportedServiceRow.name, ImportedServiceRow.content_hash, ImportedServiceRow.data
    ).where(
        ImportedServiceRow.organization_id == organization_id,
        ImportedServiceRow.name.in_(sorted(names)),
    )
    return {
        str(row.name): (str(row.content_hash), dict(row.data))
        for row in (await session.execute(stmt)).all()
    }


async def put(
    session: AsyncSession,
    organization_id: str,
    name: str,
    *,
    content_hash: str,
    data: dict[str, Any],
    operation_count: int,
) -> ImportedServiceRow:
    """Insert or replace (a re-import replaces the whole service)."""
    row = await session.get(ImportedServiceRow, (organization_id, name), with_for_update=True)
    now = utcnow()
    if row is None:
        row = ImportedServiceRow(
            organization_id=organization_id,
            name=name,
            content_hash=content_hash,
            data=data,
            operation_count=operation_count,
            created_at=now,
            updated_at=now,
        )
        try:
            # In a savepoint: a concurrent first import of the same name wins the insert,
            # and this one then replaces it, as a re-import does.
            async with session.begin_nested():
                session.add(row)
                await session.flush()
            return row
        except IntegrityError:
            found = await session.get(
                ImportedServiceRow,
                (organization_id, name),
                with_for_update=True,
                populate_existing=True,
            )
            if found is None:
                raise
            row = found
        row.content_hash = content_hash
        row.data = data
        row.operation_count = operation_count
        row.updated_at = now
    else:
        row.content_hash = content_hash
        row.data = data
        row.operation_count = operation_count
        row.updated_at = now
    await session.flush()
    return row


async def delete_one(session: AsyncSession, organization_id: str, name: str) -> bool:
    result = await session.execute(
        delete(ImportedServiceRow)
        .where(
            ImportedServiceRow.organization_id == organization_id,
            ImportedServiceRow.name == name,
        )
        .returning(ImportedServiceRow.name)
    )
    return result.first() is not None
