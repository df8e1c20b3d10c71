"""Rules of the auth domain. Services never commit: the caller owns the transaction.

Every call made for a principal is scoped to the principal's organisation: an id of another
organisation is "not found", exactly like an id that does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.auth import repository
from flomation.auth.passwords import hash_password_async, needs_rehash, verify_password_async
from flomation.auth.principal import Principal
from flomation.auth.roles import Role
from flomation.auth.schemas import (
    CreatedToken,
    MeView,
    OrganizationRef,
    OrganizationUpdate,
    OrganizationView,
    SignupRequest,
    TokenCreate,
    UserCreate,
    UserUpdate,
    UserView,
)
from flomation.auth.throttle import Failure, LoginThrottle
from flomation.auth.tokens import API_TOKEN_PREFIX, SESSION_PREFIX, generate_token, hash_token
from flomation.clock import utcnow
from flomation.config import Settings
from flomation.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from flomation.flows import service as flows_service
from flomation.models.auth import AccessToken, Membership, Organization, User
from flomation.pagination import PageParams
from flomation.timeutil import isoformat

DEFAULT_ORGANIZATION = "Default"
DEFAULT_ADMIN_EMAIL = "admin@localhost"
WRONG_CREDENTIALS = "The email or password is wrong"
# last_used_at is informative: refresh it at most this often, not on every request.
_TOUCH_INTERVAL = timedelta(seconds=60)


class InvalidCredentials(Unauthorized):
    """A wrong email/password pair. Its failed attempt must still be committed."""


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened by login or sign-up: the caller sets the cookies."""

    token: str
    csrf_token: str
    max_age_s: int
    user: UserView


# ---- authentication -----------------------------------------------------------------------


async def authenticate_token(
    session: AsyncSession, token: str, *, via: Literal["cookie", "bearer"]
) -> tuple[Principal, str | None] | None:
    """The principal a session or API token stands for, and the session's CSRF token.

    None when the token is unknown, expired, revoked, or its user disabled.
    """
    if not token.startswith((SESSION_PREFIX, API_TOKEN_PREFIX)):
        return None
    access_token = await repository.find_active_token(session, hash_token(token))
    if access_token is None:
        return None
    last_used = access_token.last_used_at
    if last_used is None or utcnow() - last_used > _TOUCH_INTERVAL:
        await repository.touch_token(session, access_token.id)
    kind: Literal["session", "api"] = "session" if access_token.kind == "session" else "api"
    principal = Principal(
        user_id=access_token.user_id,
        organization_id=access_token.organization_id,
        role=Role(access_token.role),
        token_id=access_token.id,
        token_kind=kind,
        via=via,
    )
    return principal, access_token.csrf_token


async def login(
    session: AsyncSession, settings: Settings, *, email: str, password: str, address: str
) -> NewSession:
    """Open a session for a right email/password pair.

    Failed logins are recorded in the database (so every API process sees them) and throttled
    by `LoginThrottle`: growing delays per (account, client address) pair, never a lock of the
    account for other addresses, and a refusal of an address that fails on many accounts. A
    throttled attempt answers 429 with Retry-After before the password is checked. An unknown
    email costs the same password check as a wrong password and gets the same answer. Raises
    InvalidCredentials after recording the failure: the caller commits before answering.
    """
    throttle = LoginThrottle.from_settings(settings)
    await repository.lock_login_address(session, address)
    await _refuse_when_throttled(session, throttle, email=email, address=address)
    found = await repository.find_member_by_email(session, email)
    password_hash = found[0].password_hash if found else None
    verified = await verify_password_async(password_hash, password)
    if found is None or not verified:
        await repository.prune_failures(session, window_s=throttle.memory_s)
        await repository.record_failure(session, email=email, address=address)
        raise InvalidCredentials(WRONG_CREDENTIALS)
    user, membership = found
    await repository.forget_failures(session, email=email, address=address)
    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password_async(password)
    return await _open_session(session, settings, user, membership)


async def _refuse_when_throttled(
    session: AsyncSession, throttle: LoginThrottle, *, email: str, address: str
) -> None:
    pair, by_address = await repository.recent_failures(
        session,
        email=email,
        address=address,
        pair_window_s=throttle.pair_window_s,
        address_window_s=throttle.address_window_s,
    )
    if not pair and not by_address:
        return
    retry_after = throttle.retry_after_s(
        now=await repository.database_now(session),
        pair=pair,
        address=[Failure(email=tried, at=at) for tried, at in by_address],
    )
    if retry_after is None:
        return
    raise TooManyRequests(
        f"Too many failed logins from this address; try again in {retry_after} seconds",
        retry_after_s=retry_after,
    )


async def signup(session: AsyncSession, settings: Settings, request: SignupRequest) -> NewSession:
    """A new organisation with this user as its owner, and a session for them."""
    if settings.signup != "open":
        raise Forbidden("Sign-up is closed on this server; ask an administrator for an account")
    password_hash = await hash_password_async(request.password)
    if await repository.email_taken(session, request.email):
        raise Conflict(repository.EMAIL_TAKEN)
    organization = await repository.insert_organization(session, name=request.organization)
    user, membership = await repository.insert_member(
        session,
        organization_id=organization.id,
        email=request.email,
        name=request.name,
        password_hash=password_hash,
        role=Role.OWNER.value,
    )
    return await _open_session(session, settings, user, membership)


async def _open_session(
    session: AsyncSession, settings: Settings, user: User, membership: Membership
) -> NewSession:
    token = generate_token(SESSION_PREFIX)
    csrf_token = secrets.token_urlsafe(32)
    now = await repository.database_now(session)
    await repository.insert_token(
        session,
        kind="session",
        user_id=user.id,
        organization_id=membership.organization_id,
        name="session",
        token_hash=hash_token(token),
        csrf_token=csrf_token,
        expires_at=now + timedelta(seconds=settings.session_ttl_seconds),
    )
    return NewSession(
        token=token,
        csrf_token=csrf_token,
        max_age_s=settings.session_ttl_seconds,
        user=UserView.of(user, membership),
    )


async def logout(session: AsyncSession, principal: Principal) -> None:
    if principal.token_kind != "session":
        raise ValidationFailed(
            "Logout ends a session; revoke a personal API token with DELETE /api/v1/tokens/{id}",
            errors=[{"loc": ["header", "Authorization"], "msg": "not a session token"}],
        )
    await repository.revoke_session(session, token_id=principal.token_id)


async def me(session: AsyncSession, principal: Principal) -> MeView:
    user, membership = await _member(session, principal, principal.user_id)
    organization = await _organization(session, principal)
    return MeView(
        id=user.id,
        email=user.email,
        name=user.name,
        organization=OrganizationRef(id=organization.id, name=organization.name),
        role=Role(membership.role),
    )


# ---- personal API tokens ------------------------------------------------------------------


async def create_api_token(
    session: AsyncSession, principal: Principal, request: TokenCreate
) -> CreatedToken:
    """A personal API token acting as the caller (with the caller's role at each use)."""
    if request.expires_at is not None:
        now = await repository.database_now(session)
        if request.expires_at <= now:
            raise ValidationFailed(
                "expires_at must be in the future",
                errors=[{"loc": ["body", "expires_at"], "msg": "must be in the future"}],
            )
    token = generate_token(API_TOKEN_PREFIX)
    row = await repository.insert_token(
        session,
        kind="api",
        user_id=principal.user_id,
        organization_id=principal.organization_id,
        name=request.name,
        token_hash=hash_token(token),
        expires_at=request.expires_at,
    )
    return CreatedToken(
        id=row.id, name=row.name, token=token, expires_at=isoformat(request.expires_at)
    )


async def list_api_tokens(
    session: AsyncSession, principal: Principal, page: PageParams[str]
) -> Sequence[AccessToken]:
    return await repository.list_api_tokens(
        session, organization_id=principal.organization_id, user_id=principal.user_id, page=page
    )


async def revoke_api_token(session: AsyncSession, principal: Principal, token_id: str) -> None:
    revoked = await repository.revoke_api_token(
        session,
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        token_id=token_id,
    )
    if not revoked:
        raise NotFound(f"No API token {token_id} of yours")


# ---- users --------------------------------------------------------------------------------


async def create_user(session: AsyncSession, principal: Principal, request: UserCreate) -> UserView:
    """A user in the caller's organisation (admin or owner; only an owner makes owners)."""
    _require(principal, Role.ADMIN)
    if request.role is Role.OWNER and principal.role is not Role.OWNER:
        raise Forbidden("Only an owner can grant the owner role")
    password_hash = await hash_password_async(request.password)
    user, membership = await repository.insert_member(
        session,
        organization_id=principal.organization_id,
        email=request.email,
        name=request.name,
        password_hash=password_hash,
        role=request.role.value,
    )
    return UserView.of(user, membership)


async def list_users(
    session: AsyncSession, principal: Principal, page: PageParams[str]
) -> Sequence[tuple[User, Membership]]:
    return await repository.list_members(
        session, organization_id=principal.organization_id, page=page
    )


async def get_user(session: AsyncSession, principal: Principal, user_id: str) -> UserView:
    return UserView.of(*await _member(session, principal, user_id))


async def update_user(
    session: AsyncSession, principal: Principal, user_id: str, request: UserUpdate
) -> UserView:
    """Change a user's name, role or password.

    Anyone may change their own name and password; changing another user needs admin, and an
    owner needs an owner. Nobody changes their own role; only an owner grants or removes the
    owner role; the last owner stays an owner. A new password ends the user's other sessions.
    """
    user, membership = await _member(session, principal, user_id)
    current = Role(membership.role)
    is_self = user.id == principal.user_id
    if not is_self:
        _require(principal, Role.ADMIN)
        if current is Role.OWNER and principal.role is not Role.OWNER:
            raise Forbidden("Admins cannot modify owners")
    if request.role is not None and request.role is not current:
        if is_self:
            raise Forbidden("You cannot change your own role; ask another admin or owner")
        if Role.OWNER in (request.role, current) and principal.role is not Role.OWNER:
            raise Forbidden("Only an owner can grant or remove the owner role")
        if current is Role.OWNER:
            await _keep_an_owner(session, principal.organization_id, user.id)
        membership.role = request.role.value
    if request.name is not None:
        user.name = request.name
    if request.password is not None:
        user.password_hash = await hash_password_async(request.password)
        await repository.revoke_user_tokens(
            session,
            user_id=user.id,
            kind="session",
            keep_token_id=principal.token_id if is_self else None,
        )
    await session.flush()
    return UserView.of(user, membership)


async def delete_user(session: AsyncSession, principal: Principal, user_id: str) -> None:
    """Remove a user from the organisation: every token of theirs is revoked at once.

    The row stays (disabled, email released for reuse) so that what they authored keeps its
    author; they no longer appear in lists and their id answers 404.
    """
    _require(principal, Role.ADMIN)
    user, membership = await _member(session, principal, user_id)
    if membership.role == Role.OWNER.value:
        if principal.role is not Role.OWNER:
            raise Forbidden("Admins cannot remove owners")
        await _keep_an_owner(session, principal.organization_id, user.id)
    await repository.revoke_user_tokens(session, user_id=user.id)
    now = await repository.database_now(session)
    user.disabled_at = now
    user.email = f"deleted-{user.id}@deleted.invalid"
    await session.flush()


async def _keep_an_owner(session: AsyncSession, organization_id: str, leaving_id: str) -> None:
    owners = await repository.lock_owner_ids(session, organization_id=organization_id)
    if [owner for owner in owners if owner != leaving_id] == []:
        raise Conflict("An organisation needs at least one owner: make another user owner first")


# ---- organisation -------------------------------------------------------------------------


async def get_organization(session: AsyncSession, principal: Principal) -> OrganizationView:
    return OrganizationView.of(await _organization(session, principal))


async def update_organization(
    session: AsyncSession, principal: Principal, request: OrganizationUpdate
) -> OrganizationView:
    _require(principal, Role.ADMIN)
    organization = await _organization(session, principal)
    if request.name is not None:
        organization.name = request.name
    if "error_flow_id" in request.model_fields_set:
        if request.error_flow_id is not None:
            await _check_error_flow(session, principal.organization_id, request.error_flow_id)
        organization.error_flow_id = request.error_flow_id
    if request.defaults is not None and request.defaults.save_data is not None:
        organization.save_data = request.defaults.save_data
    await session.flush()
    return OrganizationView.of(organization)


async def _check_error_flow(session: AsyncSession, organization_id: str, flow_id: str) -> None:
    """The error flow must be a flow of this organisation (asked of the flows domain)."""
    if not await flows_service.flow_exists(session, organization_id, flow_id):
        raise ValidationFailed(
            f"error_flow_id: there is no flow {flow_id} in this organisation",
            errors=[{"loc": ["body", "error_flow_id"], "msg": "no such flow"}],
        )


# ---- bootstrap (command line and server start) --------------------------------------------


@dataclass(frozen=True, slots=True)
class CreatedUser:
    user: UserView
    organization: OrganizationView
    organization_created: bool


async def create_user_in_organization(
    session: AsyncSession,
    request: UserCreate,
    *,
    organization_name: str | None,
    default_role: bool = False,
) -> CreatedUser:
    """`flomation admin create-user`: a user in the organisation named so, created when there
    is none; without a name, the first organisation (or a new `Default` one).

    With `default_role`, a user that would leave an organisation without an owner becomes its
    owner instead of taking `request.role`.
    """
    if organization_name is not None:
        organization = await repository.find_organization_by_name(session, organization_name)
    else:
        organization = await repository.first_organization(session)
    created = organization is None
    if organization is None:
        organization = await repository.insert_organization(
            session, name=organization_name or DEFAULT_ORGANIZATION
        )
    role = request.role
    if default_role and not await repository.lock_owner_ids(
        session, organization_id=organization.id
    ):
        role = Role.OWNER
    password_hash = await hash_password_async(request.password)
    user, membership = await repository.insert_member(
        session,
        organization_id=organization.id,
        email=request.email,
        name=request.name,
        password_hash=password_hash,
        role=role.value,
    )
    return CreatedUser(
        user=UserView.of(user, membership),
        organization=OrganizationView.of(organization),
        organization_created=created,
    )


async def ensure_first_admin(
    session: AsyncSession, email: str | None, password: str | None
) -> tuple[str, str] | None:
    """Make the first user when there is none: owner of organisation `Default`, with this email
    (else `admin@localhost`) and password (else a generated one).

    Returns `(email, password)` when it made the user, so that the caller prints a generated
    password once; None when users exist already. Idempotent, and safe when several processes
    start at once.
    """
    await repository.lock_first_admin_bootstrap(session)
    if await repository.count_users(session) > 0:
        return None
    try:
        request = UserCreate(
            email=email or DEFAULT_ADMIN_EMAIL,
            name="Administrator",
            password=password or secrets.token_urlsafe(18),
            role=Role.OWNER,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{error['loc'][0]} {error['msg']}" for error in exc.errors())
        raise ConfigurationError(
            f"FLOMATION_ADMIN_EMAIL / FLOMATION_ADMIN_PASSWORD are not usable: {problems}"
        ) from None
    organization = await repository.find_organization_by_name(session, DEFAULT_ORGANIZATION)
    if organization is None:
        organization = await repository.insert_organization(session, name=DEFAULT_ORGANIZATION)
    await repository.insert_member(
        session,
        organization_id=organization.id,
        email=request.email,
        name=request.name,
        password_hash=await hash_password_async(request.password),
        role=Role.OWNER.value,
    )
    return request.email, request.password


# ---- helpers ------------------------------------------------------------------------------


def _require(principal: Principal, role: Role) -> None:
    if not principal.role.at_least(role):
        raise Forbidden(f"This needs the {role.value} role or higher")


async def _member(
    session: AsyncSession, principal: Principal, user_id: str
) -> tuple[User, Membership]:
    found = await repository.get_member(
        session, organization_id=principal.organization_id, user_id=user_id
    )
    if found is None:
        raise NotFound(f"No user {user_id}")
    return found


async def _organization(session: AsyncSession, principal: Principal) -> Organization:
    organization = await repository.get_organization(session, principal.organization_id)
    if organization is None:
        raise NotFound("Your organisation no longer exists")
    return organization
