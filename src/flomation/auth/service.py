"""Rules of the auth domain. Services never commit: the caller owns the transaction."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.auth import repository
from flomation.auth.principal import Principal
from flomation.auth.roles import Role
from flomation.auth.tokens import API_TOKEN_PREFIX, SESSION_PREFIX, hash_token


async def authenticate_token(
    session: AsyncSession, token: str, *, via: Literal["cookie", "bearer"]
) -> tuple[Principal, str | None] | None:
    """The principal a session or API token stands for, and the session's CSRF token.

    None when the token is unknown, expired, revoked, or its user disabled.
    """
    if not token.startswith((SESSION_PREFIX, API_TOKEN_PREFIX)):
        return None
    found = await repository.find_active_token(session, hash_token(token))
    if found is None:
        return None
    access_token, membership = found
    kind: Literal["session", "api"] = "session" if access_token.kind == "session" else "api"
    principal = Principal(
        user_id=access_token.user_id,
        organization_id=access_token.organization_id,
        role=Role(membership.role),
        token_id=access_token.id,
        token_kind=kind,
        via=via,
    )
    return principal, access_token.csrf_token
