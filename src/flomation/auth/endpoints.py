"""Auth endpoints. `public_router` holds the calls made before authenticating (login and
sign-up); everything on `router` is authenticated by the app factory."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from flomation.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AdminPrincipal,
    CurrentPrincipal,
    DatabaseDep,
    SessionDep,
    SettingsDep,
)
from flomation.auth import service
from flomation.auth.schemas import (
    AuthResult,
    CreatedToken,
    LoginRequest,
    MeView,
    OrganizationUpdate,
    OrganizationView,
    SignupRequest,
    TokenCreate,
    TokenView,
    UserCreate,
    UserUpdate,
    UserView,
)
from flomation.auth.throttle import client_key
from flomation.pagination import Page, PageParams, make_page, page_query

router = APIRouter(tags=["auth"])
public_router = APIRouter(tags=["auth"])

TokenPages = Annotated[PageParams[str], Depends(page_query("tokens"))]
UserPages = Annotated[PageParams[str], Depends(page_query("users"))]


def _client_address(request: Request) -> str:
    # uvicorn has already applied X-Forwarded-For when the peer is one of the operator's
    # trusted proxies (FLOMATION_TRUSTED_PROXIES, none by default); never read the header here.
    return client_key(request.client.host if request.client else "unknown")


def _set_session_cookies(request: Request, response: Response, opened: service.NewSession) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=opened.max_age_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    # Readable by the editor's JavaScript, which echoes it in X-CSRF-Token on unsafe calls.
    response.set_cookie(
        CSRF_COOKIE,
        opened.csrf_token,
        max_age=opened.max_age_s,
        path="/",
        httponly=False,
        samesite="lax",
        secure=secure,
    )


@public_router.post("/auth/login", operation_id="login")
async def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    database: DatabaseDep,
    settings: SettingsDep,
) -> AuthResult:
    """Open a session: the token is answered and set as an HttpOnly cookie with a CSRF cookie."""
    refused: service.InvalidCredentials | None = None
    opened: service.NewSession | None = None
    # Its own transaction, because a refused login must still commit its failed attempt.
    async with database.transaction() as session:
        try:
            opened = await service.login(
                session,
                settings,
                email=body.email,
                password=body.password,
                address=_client_address(request),
            )
        except service.InvalidCredentials as exc:
            refused = exc
    if refused is not None or opened is None:
        raise refused or service.InvalidCredentials(service.WRONG_CREDENTIALS)
    _set_session_cookies(request, response, opened)
    return AuthResult(token=opened.token, user=opened.user)


@public_router.post("/auth/signup", operation_id="signup", status_code=status.HTTP_201_CREATED)
async def signup(
    body: SignupRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> AuthResult:
    """A new organisation with the caller as its owner (only when sign-up is open)."""
    opened = await service.signup(session, settings, body)
    _set_session_cookies(request, response, opened)
    return AuthResult(token=opened.token, user=opened.user)


@router.post("/auth/logout", operation_id="logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentPrincipal, session: SessionDep, response: Response) -> None:
    """End the session this request is authenticated with, and clear its cookies."""
    await service.logout(session, principal)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", samesite="lax")


@router.get("/me", operation_id="get_me")
async def get_me(principal: CurrentPrincipal, session: SessionDep) -> MeView:
    return await service.me(session, principal)


@router.post("/tokens", operation_id="create_token", status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreate, principal: CurrentPrincipal, session: SessionDep
) -> CreatedToken:
    """A personal API token acting as the caller; its secret is in this answer only."""
    return await service.create_api_token(session, principal, body)


@router.get("/tokens", operation_id="list_tokens")
async def list_tokens(
    principal: CurrentPrincipal, session: SessionDep, page: TokenPages
) -> Page[TokenView]:
    """The caller's personal API tokens, without their secrets."""
    rows = await service.list_api_tokens(session, principal, page)
    return make_page(rows, page, key=lambda row: row.id, item=TokenView.of)


@router.delete(
    "/tokens/{token_id}", operation_id="revoke_token", status_code=status.HTTP_204_NO_CONTENT
)
async def revoke_token(token_id: str, principal: CurrentPrincipal, session: SessionDep) -> None:
    await service.revoke_api_token(session, principal, token_id)


@router.post("/users", operation_id="create_user", status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, principal: AdminPrincipal, session: SessionDep) -> UserView:
    return await service.create_user(session, principal, body)


@router.get("/users", operation_id="list_users")
async def list_users(
    principal: CurrentPrincipal, session: SessionDep, page: UserPages
) -> Page[UserView]:
    rows = await service.list_users(session, principal, page)
    return make_page(rows, page, key=lambda row: row[0].id, item=lambda row: UserView.of(*row))


@router.get("/users/{user_id}", operation_id="get_user")
async def get_user(user_id: str, principal: CurrentPrincipal, session: SessionDep) -> UserView:
    return await service.get_user(session, principal, user_id)


@router.patch("/users/{user_id}", operation_id="update_user")
async def update_user(
    user_id: str, body: UserUpdate, principal: CurrentPrincipal, session: SessionDep
) -> UserView:
    """Admins change other users; anyone changes their own name and password."""
    return await service.update_user(session, principal, user_id, body)


@router.delete(
    "/users/{user_id}", operation_id="delete_user", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_user(user_id: str, principal: AdminPrincipal, session: SessionDep) -> None:
    """Remove a user; every token and session of theirs stops working at once."""
    await service.delete_user(session, principal, user_id)


@router.get("/organization", operation_id="get_organization")
async def get_organization(principal: CurrentPrincipal, session: SessionDep) -> OrganizationView:
    return await service.get_organization(session, principal)


@router.patch("/organization", operation_id="update_organization")
async def update_organization(
    body: OrganizationUpdate, principal: AdminPrincipal, session: SessionDep
) -> OrganizationView:
    return await service.update_organization(session, principal, body)
