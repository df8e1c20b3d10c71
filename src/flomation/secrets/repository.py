"""All SQL of variables and secrets."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.models.secrets import Secret, Variable


async def get_variable(session: AsyncSession, organization_id: str, name: str) -> Variable | None:
    return await session.get(Variable, (organization_id, name))


async def list_variables(session: AsyncSession, organization_id: str) -> list[Variable]:
    stmt = (
        select(Variable).where(Variable.organization_id == organization_id).order_by(Variable.name)
    )
    return list((await session.scalars(stmt)).all())


async def variables_named(
    session: AsyncSession, organization_id: str, names: Collection[str]
) -> list[Variable]:
    if not names:
        return []
    stmt = select(Variable).where(
        Variable.organization_id == organization_id, Variable.name.in_(sorted(names))
    )
    return list((await session.scalars(stmt)).all())


async def put_variable(
    session: AsyncSession, organization_id: str, name: str, value: Any
) -> Variable:
    variable = await get_variable(session, organization_id, name)
    now = utcnow()
    if variable is None:
        variable = Variable(
            organization_id=organization_id, name=name, value=value, created_at=now, updated_at=now
        )
        session.add(variable)
    else:
        variable.value = value
        variable.updated_at = now
    await session.flush()
    return variable


async def delete_variable(session: AsyncSession, organization_id: str, name: str) -> bool:
    result = await session.execute(
        delete(Variable)
        .where(Variable.organization_id == organization_id, Variable.name == name)
        .returning(Variable.name)
    )
    return result.first() is not None


async def get_secret(session: AsyncSession, organization_id: str, name: str) -> Secret | None:
    return await session.get(Secret, (organization_id, name))


async def list_secrets(session: AsyncSession, organization_id: str) -> list[Secret]:
    stmt = select(Secret).where(Secret.organization_id == organization_id).order_by(Secret.name)
    return list((await session.scalars(stmt)).all())


async def secrets_named(
    session: AsyncSession, organization_id: str, names: Collection[str]
) -> list[Secret]:
    if not names:
        return []
    stmt = select(Secret).where(
        Secret.organization_id == organization_id, Secret.name.in_(sorted(names))
    )
    return list((await session.scalars(stmt)).all())


async def put_secret(
    session: AsyncSession, organization_id: str, name: str, nonce: bytes, ciphertext: bytes
) -> Secret:
    secret = await get_secret(session, organization_id, name)
    now = utcnow()
    version = await current_key_version(session)
    if secret is None:
        secret = Secret(
            organization_id=organization_id,
            name=name,
            nonce=nonce,
            ciphertext=ciphertext,
            key_version=version,
            created_at=now,
            updated_at=now,
        )
        session.add(secret)
    else:
        secret.nonce = nonce
        secret.ciphertext = ciphertext
        secret.key_version = version
        secret.updated_at = now
    await session.flush()
    return secret


async def current_key_version(session: AsyncSession) -> int:
    """The key version newly encrypted values get: the highest any secret reached (rotation
    raises every secret to it), 1 before the first rotation."""
    value = (await session.execute(select(func.max(Secret.key_version)))).scalar_one_or_none()
    return int(value or 1)


async def delete_secret(session: AsyncSession, organization_id: str, name: str) -> bool:
    result = await session.execute(
        delete(Secret)
        .where(Secret.organization_id == organization_id, Secret.name == name)
        .returning(Secret.name)
    )
    return result.first() is not None


async def all_secrets_for_update(session: AsyncSession) -> list[Secret]:
    """Every secret of every organisation, locked (PostgreSQL) for a key rotation."""
    stmt = select(Secret).order_by(Secret.organization_id, Secret.name).with_for_update()
    return list((await session.scalars(stmt)).all())
