"""The OAuth 2 authorization code flow as the browser goes through it.

`GET /connections/{name}/oauth/start` (an editor, by cookie or token): 302 to the provider's
authorize URL, and a cookie that binds the flow to this browser. `GET /oauth/callback` (the
provider sends the browser back; no other authentication than the state and that cookie):
stores the tokens, then 302 to the editor's Connections page with
`?oauth=connected|failed&connection=NAME[&message=...]`.

Both manage their own short transactions (the token exchange is an HTTP call)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from flomation.auth.principal import Principal
from flomation.config import Settings
from flomation.connections import oauth
from flomation.db.session import Database

__all__ = ["BROWSER_COOKIE", "CALLBACK_PATH", "oauth_router"]

CALLBACK_PATH = "/api/v1/oauth/callback"
BROWSER_COOKIE = "flomation_oauth"
# Only the callback needs the cookie back.
_COOKIE_PATH = "/api/v1/oauth"

oauth_router = APIRouter(tags=["connections"])


def _public_base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")


async def _editor(request: Request) -> Principal:
    from flomation.connections.endpoints import _editor_briefly

    return await _editor_briefly(request)


@oauth_router.get(
    "/connections/{name}/oauth/start",
    operation_id="start_connection_oauth",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To the provider's authorization page"}},
)
async def start_oauth(
    name: str, request: Request, principal: Annotated[Principal, Depends(_editor)]
) -> RedirectResponse:
    """Starts the authorization code flow (PKCE S256, a single-use state that expires in
    10 minutes) and sends the browser to the provider."""
    database: Database = request.app.state.database
    base = _public_base(request)
    async with database.transaction() as session:
        started = await oauth.start_authorization(
            session,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            name=name,
            redirect_uri=base + CALLBACK_PATH,
        )
    response = RedirectResponse(started.authorize_url, status_code=302)
    response.set_cookie(
        BROWSER_COOKIE,
        started.browser_secret,
        max_age=int(oauth.STATE_TTL_S),
        path=_COOKIE_PATH,
        httponly=True,
        secure=base.startswith("https://"),
        # Lax: sent on the provider's top-level redirect back, never on a cross-site POST.
        samesite="lax",
    )
    return response


@oauth_router.get(
    "/oauth/callback",
    operation_id="oauth_callback",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "Back to the editor's Connections page"}},
)
async def oauth_callback(request: Request) -> RedirectResponse:
    """Where the provider sends the browser back with `code` and `state` (or `error`)."""
    database: Database = request.app.state.database
    async with database.transaction() as session:
        outcome = await oauth.finish_authorization(
            session,
            params=dict(request.query_params),
            browser_secret=request.cookies.get(BROWSER_COOKIE),
        )
    query: dict[str, str] = {"oauth": "connected" if outcome.ok else "failed"}
    if outcome.connection is not None:
        query["connection"] = outcome.connection
    if not outcome.ok:
        query["message"] = outcome.message
    settings: Settings = request.app.state.settings
    editor = (settings.public_url or "").rstrip("/") + "/connections?" + urlencode(query)
    response = RedirectResponse(editor, status_code=302)
    response.delete_cookie(BROWSER_COOKIE, path=_COOKIE_PATH)
    return response
