"""All SQL of the auth domain. Every query about users and tokens of an organisation takes the
organisation's id, so nothing here can reach another organisation's rows by accident."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.db.clock import db_now, db_now_plus
from flomation.db.driver import DriverStatement
from flomation.errors import Conflict
from flomation.models.auth import AccessToken, LoginAttempt, Membership, Organization, User
from flomation.pagination import PageParams, keyset

EMAIL_TAKEN = "An account with this email address already exists"

# pg_advisory_xact_lock key serialising the first-admin bootstrap across API processes
# (an arbitrary constant: "flomation" folded into a bigint).
_FIRST_ADMIN_LOCK_KEY = 0x666C6F6D61746E


async def database_now(session: AsyncSession) -> datetime:
    now: datetime = (await session.execute(select(db_now()))).scalar_one()
    return now


# ---- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActiveToken:
    """What authenticating a request needs of a live token and its holder's membership."""

    id: str
    kind: str
    user_id: str
    organization_id: str
    csrf_token: str | None
    last_used_at: datetime | None
    role: str


# Every request authenticates with this: built once (no per-request construction or cache key),
# only the columns it needs (no ORM objects to load).
_ACTIVE_TOKEN = DriverStatement(
    select(
        AccessToken.id,
        AccessToken.kind,
        AccessToken.user_id,
        AccessToken.organization_id,
        AccessToken.csrf_token,
        AccessToken.last_used_at,
        Membership.role,
    )
    .join(Membership, Membership.user_id == AccessToken.user_id)
    .join(User, User.id == AccessToken.user_id)
    .where(
        AccessToken.token_hash == bindparam("token_hash"),
        AccessToken.revoked_at.is_(None),
        (AccessToken.expires_at.is_(None)) | (AccessToken.expires_at > db_now()),
        Membership.organization_id == AccessToken.organization_id,
        User.disabled_at.is_(None),
    )
)


async def find_active_token(session: AsyncSession, token_hash: str) -> ActiveToken | None:
    """The unexpired, unrevoked token with this hash, with its holder's role."""
    row = await _ACTIVE_TOKEN.first(session, {"token_hash": token_hash})
    return None if row is None else ActiveToken(*row)


async def touch_token(session: AsyncSession, token_id: str) -> None:
    await session.execute(
        update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=db_now())
    )


async def insert_token(
    session: AsyncSession,
    *,
    kind: str,
    user_id: str,
    organization_id: str,
    name: str,
    token_hash: str,
    csrf_token: str | None = None,
    expires_at: datetime | None = None,
) -> AccessToken:
    token = AccessToken(
        kind=kind,
        user_id=user_id,
        organization_id=organization_id,
        name=name,
        token_hash=token_hash,
        csrf_token=csrf_token,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token


async def list_api_tokens(
    session: AsyncSession, *, organization_id: str, user_id: str, page: PageParams[str]
) -> Sequence[AccessToken]:
    """A user's unrevoked personal API tokens (expired ones too, so they can be cleaned up)."""
    stmt = select(AccessToken).where(
        AccessToken.organization_id == organization_id,
        AccessToken.user_id == user_id,
        AccessToken.kind == "api",
        AccessToken.revoked_at.is_(None),
    )
    return (await session.scalars(keyset(stmt, AccessToken.id, page))).all()


async def revoke_api_token(
    session: AsyncSession, *, organization_id: str, user_id: str, token_id: str
) -> bool:
    """Revoke one of the user's own API tokens; False when there is no such live token."""
    result = await session.execute(
        update(AccessToken)
        .where(
            AccessToken.id == token_id,
            AccessToken.organization_id == organization_id,
            AccessToken.user_id == user_id,
            AccessToken.kind == "api",
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=db_now())
    )
    return _rowcount(result) > 0


async def revoke_session(session: AsyncSession, *, token_id: str) -> None:
    await session.execute(
        update(AccessToken)
        .where(
            AccessToken.id == token_id,
            AccessToken.kind == "session",
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=db_now())
    )


async def revoke_user_tokens(
    session: AsyncSession,
    *,
    user_id: str,
    kind: str | None = None,
    keep_token_id: str | None = None,
) -> None:
    """Revoke every live token of a user (of one kind when given), except `keep_token_id`."""
    stmt = update(AccessToken).where(
        AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None)
    )
    if kind is not None:
        stmt = stmt.where(AccessToken.kind == kind)
    if keep_token_id is not None:
        stmt = stmt.where(AccessToken.id != keep_token_id)
    await session.execute(stmt.values(revoked_at=db_now()))


# ---- users --------------------------------------------------------------------------------


def _member_query(organization_id: str) -> Any:
    return (
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == organization_id, User.disabled_at.is_(None))
    )


async def find_member_by_email(session: AsyncSession, email: str) -> tuple[User, Membership] | None:
    """The active user with this (normalised) email, in whichever organisation it belongs to."""
    stmt = (
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(User.email == email, User.disabled_at.is_(None))
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def get_member(
    session: AsyncSession, *, organization_id: str, user_id: str
) -> tuple[User, Membership] | None:
    stmt = _member_query(organization_id).where(User.id == user_id)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def list_members(
    session: AsyncSession, *, organization_id: str, page: PageParams[str]
) -> Sequence[tuple[User, Membership]]:
    rows = await session.execute(keyset(_member_query(organization_id), User.id, page))
    return [(row[0], row[1]) for row in rows]


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(User.id).where(User.email == email).limit(1))
    return found is not None


async def insert_member(
    session: AsyncSession,
    *,
    organization_id: str,
    email: str,
    name: str,
    password_hash: str,
    role: str,
) -> tuple[User, Membership]:
    """A new user and its membership. Conflict when the email is taken, even by a concurrent
    insert (the unique constraint decides)."""
    if await email_taken(session, email):
        raise Conflict(EMAIL_TAKEN)
    user = User(email=email, name=name, password_hash=password_hash)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(EMAIL_TAKEN) from None
    membership = Membership(user_id=user.id, organization_id=organization_id, role=role)
    session.add(membership)
    await session.flush()
    return user, membership


async def lock_owner_ids(session: AsyncSession, *, organization_id: str) -> list[str]:
    """The active owners of an organisation, their memberships locked until the transaction
    ends (PostgreSQL; SQLite transactions are serialised anyway), so that two concurrent
    demotions cannot remove the last two owners at once."""
    stmt = (
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organization_id == organization_id,
            Membership.role == "owner",
            User.disabled_at.is_(None),
        )
        .order_by(Membership.user_id)
        .with_for_update(of=Membership)
    )
    return list((await session.scalars(stmt)).all())


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def lock_first_admin_bootstrap(session: AsyncSession) -> None:
    """Serialise the first-admin bootstrap between processes starting at the same time."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_ADMIN_LOCK_KEY}
        )


# ---- organisations ------------------------------------------------------------------------


async def get_organization(session: AsyncSession, organization_id: str) -> Organization | None:
    return await session.get(Organization, organization_id)


async def find_organization_by_name(session: AsyncSession, name: str) -> Organization | None:
    stmt = select(Organization).where(Organization.name == name).order_by(Organization.id)
    return (await session.scalars(stmt.limit(1))).first()


async def first_organization(session: AsyncSession) -> Organization | None:
    stmt = select(Organization).order_by(Organization.id).limit(1)
    return (await session.scalars(stmt)).first()


async def insert_organization(session: AsyncSession, *, name: str) -> Organization:
    organization = Organization(name=name)
    session.add(organization)
    await session.flush()
    return organization


# ---- failed logins ------------------------------------------------------------------------


async def lock_login_address(session: AsyncSession, address: str) -> None:
    """Serialise the logins from one client address until the transaction ends, so that a burst
    of parallel attempts cannot all pass the throttle before any failure is recorded. (SQLite's
    BEGIN IMMEDIATE already serialises every writing transaction.)"""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(
            hashlib.blake2b(f"login:{address}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def recent_failures(
    session: AsyncSession,
    *,
    email: str,
    address: str,
    pair_window_s: float,
    address_window_s: float,
) -> tuple[list[datetime], list[tuple[str, datetime]]]:
    """The failed logins that still count, oldest first: the times of this email's failures
    from this address, and the (email, time) of every failure from this address."""
    pair = await session.scalars(
        select(LoginAttempt.at)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.address == address,
            LoginAttempt.at > db_now_plus(-pair_window_s),
        )
        .order_by(LoginAttempt.at)
    )
    by_address = await session.execute(
        select(LoginAttempt.email, LoginAttempt.at)
        .where(LoginAttempt.address == address, LoginAttempt.at > db_now_plus(-address_window_s))
        .order_by(LoginAttempt.at)
    )
    return list(pair.all()), [(row.email, row.at) for row in by_address]


async def record_failure(session: AsyncSession, *, email: str, address: str) -> None:
    await session.execute(insert(LoginAttempt).values(email=email, address=address, at=db_now()))


async def forget_failures(session: AsyncSession, *, email: str, address: str) -> None:
    """A right password clears its own pair only: failures others caused elsewhere still
    count against them."""
    await session.execute(
        delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.address == address)
    )


async def prune_failures(session: AsyncSession, *, window_s: float) -> None:
    """Drop failures older than the window: they no longer count, so the table stays small."""
    await session.execute(delete(LoginAttempt).where(LoginAttempt.at <= db_now_plus(-window_s)))


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
