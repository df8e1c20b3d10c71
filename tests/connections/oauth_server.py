"""A real OAuth 2 authorization server for the tests: Authlib's `AuthorizationServer` with its
client credentials, authorization code (+ PKCE, S256) and refresh token grants, in memory,
served by Starlette on loopback, with a protected resource (`GET /resource`) that checks
bearer tokens.

Consent is approved at once (the test is the user). Token lifetimes are the test's
(`expires_in`), and expiry is judged on `flomation.clock.utcnow()`, so that a test moves time
with `db_clock` instead of sleeping. `grants` counts the token endpoint's successful answers
by grant type: what "one refresh happened" is measured on."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749 import (  # type: ignore[import-untyped]
    AuthorizationServer,
    ClientMixin,
    OAuth2Payload,
    OAuth2Request,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import CodeChallenge  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flomation.clock import utcnow
from tests.live import serve

# The server runs on http://127.0.0.1: Authlib refuses plain HTTP unless told otherwise.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

CLIENT_ID = "flomation-client"
CLIENT_SECRET = "client-secret-very-secret-9"
PUBLIC_CLIENT_ID = "flomation-public"


def _now() -> float:
    return utcnow().timestamp()


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    client_id: str
    client_secret: str | None
    auth_methods: tuple[str, ...]
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or ""

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # The API's callback URL depends on its port: any loopback callback is accepted.
        return redirect_uri.startswith("http://127.0.0.1:") and redirect_uri.endswith(
            "/api/v1/oauth/callback"
        )

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client_secret is not None and secrets.compare_digest(
            client_secret, self.client_secret
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in self.auth_methods

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("client_credentials", "authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class Token:
    client_id: str
    access_token: str
    refresh_token: str | None
    scope: str
    issued_at: float
    expires_in: int
    revoked: bool = False

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return _now() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, values: list[tuple[str, str]]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return dict(self._values)

    @property
    def datalist(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in self._values:
            out.setdefault(key, []).append(value)
        return out


class _Request(OAuth2Request):  # type: ignore[misc]
    """A Starlette request already read (Authlib's grants are synchronous)."""

    def __init__(self, request: Request, form: list[tuple[str, str]]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self._args = dict(request.query_params)
        self._form = dict(form)
        self.payload = _Payload([*request.query_params.multi_items(), *form])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class OAuthServer:
    """The in-memory state and the Authlib server over it."""

    def __init__(self) -> None:
        self.clients = {
            CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET, ("client_secret_basic",)),
            "flomation-post": Client("flomation-post", CLIENT_SECRET, ("client_secret_post",)),
            PUBLIC_CLIENT_ID: Client(PUBLIC_CLIENT_ID, None, ("none",)),
        }
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, Token] = {}  # by access token
        self.by_refresh: dict[str, Token] = {}
        self.expires_in = 3600
        self.grants: Counter[str] = Counter()
        self.authorize_requests: list[dict[str, str]] = []
        self.resource_calls: list[str | None] = []
        self.base_url = ""
        # Set by the token endpoint on each request; while `gate` is set and closed, the
        # token endpoint holds its answer (a refresher stays inside its refresh).
        self.token_requested = asyncio.Event()
        self.gate: asyncio.Event | None = None
        self.server = self._authorization_server()

    def _authorization_server(self) -> AuthorizationServer:
        owner = self

        class Server(AuthorizationServer):  # type: ignore[misc]
            def query_client(self, client_id: str) -> Client | None:
                return owner.clients.get(client_id)

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                item = Token(
                    client_id=request.client.client_id,
                    access_token=token["access_token"],
                    refresh_token=token.get("refresh_token"),
                    scope=token.get("scope", ""),
                    issued_at=_now(),
                    expires_in=int(token["expires_in"]),
                )
                owner.tokens[item.access_token] = item
                if item.refresh_token:
                    owner.by_refresh[item.refresh_token] = item
                owner.grants[request.payload.grant_type] += 1

            def create_oauth2_request(self, request: Any) -> OAuth2Request:
                assert isinstance(request, OAuth2Request)
                return request

            def create_json_request(self, request: Any) -> Any:
                raise NotImplementedError

            def handle_response(
                self, status: int, body: Any, headers: list[tuple[str, str]]
            ) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status_code=status, headers=dict(headers))
                return Response(body, status_code=status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                pass

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                owner.codes[code] = Code(
                    code=code,
                    client_id=request.client.client_id,
                    redirect_uri=data.get("redirect_uri", ""),
                    scope=data.get("scope", ""),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = owner.codes.get(code)
                return found if found is not None and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                owner.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> str:
                return "the-user"

        class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
            # Rotation: every refresh answers a new refresh token and revokes the old one.
            INCLUDE_NEW_REFRESH_TOKEN = True

            def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
                found = owner.by_refresh.get(refresh_token)
                return found if found is not None and not found.revoked else None

            def authenticate_user(self, refresh_token: Token) -> str:
                return "the-user"

            def revoke_old_credential(self, refresh_token: Token) -> None:
                refresh_token.revoked = True

        class CredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        server = Server(scopes_supported=None)
        generator = BearerTokenGenerator(
            access_token_generator=lambda *a, **k: secrets.token_urlsafe(24),
            refresh_token_generator=lambda *a, **k: secrets.token_urlsafe(24),
            expires_generator=lambda client, grant_type: owner.expires_in,
        )
        server.register_token_generator("default", generator)
        server.register_grant(CredentialsGrant)
        server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        server.register_grant(RefreshGrant)
        return server

    # ------------------------------------------------------------------ what tests do

    def revoke_refresh_tokens(self) -> None:
        for token in self.by_refresh.values():
            token.revoked = True

    def revoke_access_tokens(self) -> None:
        """The service stops accepting the tokens it gave (before they expire): the next
        call answers 401."""
        for token in self.tokens.values():
            token.revoked = True

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def authorize_url(self) -> str:
        return self.base_url + "/authorize"

    def valid(self, access_token: str) -> bool:
        token = self.tokens.get(access_token)
        return token is not None and not token.revoked and not token.is_expired()

    # ------------------------------------------------------------------ routes

    async def authorize(self, request: Request) -> Response:
        """Consent approved at once, as the user would."""
        self.authorize_requests.append(dict(request.query_params))
        oauth_request = _Request(request, [])
        grant = self.server.get_consent_grant(oauth_request, end_user="the-user")
        response: Response = self.server.create_authorization_response(
            oauth_request, grant_user="the-user", grant=grant
        )
        return response

    async def token(self, request: Request) -> Response:
        body = (await request.body()).decode()
        self.token_requested.set()
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), 20)
        response: Response = self.server.create_token_response(
            _Request(request, parse_qsl(body, keep_blank_values=True))
        )
        return response

    async def resource(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        self.resource_calls.append(token)
        if token is None or not self.valid(token):
            return JSONResponse(
                {"error": "invalid_token", "message": "the access token is not valid"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse({"ok": True, "client_id": self.tokens[token].client_id})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/authorize", self.authorize, methods=["GET"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/resource", self.resource, methods=["GET"]),
            ]
        )


@asynccontextmanager
async def running() -> AsyncIterator[OAuthServer]:
    server = OAuthServer()
    async with serve(server.app()) as live:
        server.base_url = live.base_url
        yield server


__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "PUBLIC_CLIENT_ID",
    "OAuthServer",
    "running",
]
