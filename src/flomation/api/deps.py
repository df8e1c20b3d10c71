"""Dependencies that let handlers read as signatures: `SessionDep`, `CurrentPrincipal`, and
role requirements such as `EditorPrincipal`.

The request edge owns the transaction: `get_session` opens one per request and commits it when
the handler returns without error, before the response is sent, so services never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.auth.principal import Principal
from flomation.auth.roles import Role
from flomation.auth.service import authenticate_token
from flomation.auth.tokens import constant_time_equals
from flomation.config import Settings
from flomation.db.session import Database
from flomation.errors import Forbidden, Unauthorized

SESSION_COOKIE = "flomation_session"
CSRF_COOKIE = "flomation_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop on every request for a field read.
async def get_database(request: Request) -> Database:
    return _database(request)


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


_ONE_STATEMENT_WRITES = "__flomation_one_statement_writes__"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def one_statement_writes(endpoint: Endpoint) -> Endpoint:
    """Marks an endpoint each of whose writes is one statement, atomic by itself: its request
    session commits statement by statement (`Database.statements`, PostgreSQL), which saves
    the BEGIN and COMMIT round trips on a hot path. Its reads then see no single snapshot, so
    only endpoints that do not need one may be marked."""
    setattr(endpoint, _ONE_STATEMENT_WRITES, True)
    return endpoint


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    database = _database(request)
    endpoint = request.scope.get("endpoint")
    if getattr(endpoint, _ONE_STATEMENT_WRITES, False):
        async with database.statements() as session:
            yield session
        return
    async with database.transaction() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the transaction commits when the handler returns, BEFORE the response is
# sent. With the default ("request") FastAPI would commit after sending it, so a client could
# act on an answer whose write is not committed yet (or is never committed at all).
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'")
    return value.strip()


async def get_principal(request: Request, session: SessionDep) -> Principal:
    """Authenticate by Bearer token, else by the session cookie (with CSRF on unsafe methods)."""
    bearer = _bearer_token(request)
    if bearer is not None:
        found = await authenticate_token(session, bearer, via="bearer")
        if found is None:
            raise Unauthorized("The token is unknown, expired or revoked")
        return found[0]
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("Authentication required: log in or send 'Authorization: Bearer'")
    found = await authenticate_token(session, cookie, via="cookie")
    if found is None:
        raise Unauthorized("The session has expired or was ended; log in again")
    principal, csrf_expected = found
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not csrf_expected or not sent or not constant_time_equals(sent, csrf_expected):
            raise Forbidden(f"Missing or wrong {CSRF_HEADER} header for a cookie session")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(role: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.role.at_least(role):
            raise Forbidden(f"This needs the {role.value} role or higher")
        return principal

    dependency.__name__ = f"require_{role.value}"
    return dependency


ViewerPrincipal = Annotated[Principal, Depends(require_role(Role.VIEWER))]
EditorPrincipal = Annotated[Principal, Depends(require_role(Role.EDITOR))]
AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
OwnerPrincipal = Annotated[Principal, Depends(require_role(Role.OWNER))]
