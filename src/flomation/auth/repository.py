"""All SQL of the auth domain."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.clock import db_now
from flomation.models.auth import AccessToken, Membership, User


async def find_active_token(
    session: AsyncSession, token_hash: str
) -> tuple[AccessToken, Membership] | None:
    """The unexpired, unrevoked token with this hash and its holder's membership."""
    stmt = (
        select(AccessToken, Membership)
        .join(Membership, Membership.user_id == AccessToken.user_id)
        .join(User, User.id == AccessToken.user_id)
        .where(
            AccessToken.token_hash == token_hash,
            AccessToken.revoked_at.is_(None),
            (AccessToken.expires_at.is_(None)) | (AccessToken.expires_at > db_now()),
            Membership.organization_id == AccessToken.organization_id,
            User.disabled_at.is_(None),
        )
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def touch_token(session: AsyncSession, token_id: str) -> None:
    await session.execute(
        update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=db_now())
    )
