"""The token endpoint of an OAuth 2 provider (RFC 6749 section 4 and 6), as the API calls it:
client credentials, the authorization code exchange (with the PKCE verifier) and refresh.

The client authenticates as the connection says (`token_auth_method`): `client_secret_basic`
(the default, RFC 6749 2.3.1's must-support), `client_secret_post`, or, without a client
secret (a public client using PKCE), only its `client_id` in the body. Every call is bounded
(`TOKEN_TIMEOUT_S`). The answer's secrets are never put in an error message."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

__all__ = [
    "TOKEN_TIMEOUT_S",
    "TokenAnswer",
    "TokenError",
    "TokenRefused",
    "TokenUnavailable",
    "request_token",
]

TOKEN_TIMEOUT_S = 10.0
# Error codes after which asking again with the same credentials cannot work: the user must
# reconnect (or fix the client's settings).
_PERMANENT = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"}
)


class TokenError(Exception):
    """The token endpoint did not give a token."""


class TokenRefused(TokenError):
    """The provider refused for good (a revoked refresh token, wrong client credentials):
    the connection needs reconnecting."""


class TokenUnavailable(TokenError):
    """The provider could not be reached or failed (5xx, timeout): asking later may work."""


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    access_token: str
    # Seconds the access token lives, when the provider said.
    expires_in: float | None
    # A new refresh token (rotation), when the provider gave one.
    refresh_token: str | None


def _client_auth(values: Mapping[str, Any], form: dict[str, str]) -> dict[str, str]:
    """The headers (and body fields, added to `form`) that authenticate the client."""
    client_id = str(values.get("client_id") or "")
    secret = values.get("client_secret")
    if not secret:
        form["client_id"] = client_id  # a public client: PKCE proves the flow
        return {}
    if values.get("token_auth_method") == "client_secret_post":
        form["client_id"] = client_id
        form["client_secret"] = str(secret)
        return {}
    # RFC 6749 2.3.1: both parts form-urlencoded before the base64.
    pair = f"{quote(client_id, safe='')}:{quote(str(secret), safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


async def request_token(
    values: Mapping[str, Any],
    grant: Mapping[str, str],
    *,
    http: httpx.AsyncClient | None = None,
) -> TokenAnswer:
    """POSTs `grant` (`grant_type` and its fields) to the connection's `token_url`."""
    token_url = str(values.get("token_url") or "")
    if not token_url.lower().startswith(("http://", "https://")):
        raise TokenRefused("the connection has no token_url (http:// or https://)")
    form = {key: value for key, value in grant.items() if value}
    headers = {"Accept": "application/json", **_client_auth(values, form)}
    try:
        if http is not None:
            response = await http.post(
                token_url, data=form, headers=headers, timeout=TOKEN_TIMEOUT_S
            )
        else:
            async with httpx.AsyncClient(follow_redirects=False) as client:
                response = await client.post(
                    token_url, data=form, headers=headers, timeout=TOKEN_TIMEOUT_S
                )
    except httpx.TimeoutException:
        raise TokenUnavailable(
            f"the token endpoint {token_url} did not answer within {TOKEN_TIMEOUT_S:g} s"
        ) from None
    except httpx.HTTPError as exc:
        raise TokenUnavailable(
            f"the token endpoint {token_url} could not be reached: {type(exc).__name__}"
        ) from None
    return _answer(token_url, response)


def _answer(token_url: str, response: httpx.Response) -> TokenAnswer:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise TokenUnavailable(
            f"the token endpoint {token_url} answered HTTP {response.status_code}"
        )
    if not isinstance(body, dict):
        raise TokenUnavailable(
            f"the token endpoint {token_url} answered HTTP {response.status_code} without JSON"
        )
    if response.status_code >= 400 or "error" in body:
        code = str(body.get("error") or f"HTTP {response.status_code}")
        said = f"{code}: {body['error_description']}" if body.get("error_description") else code
        message = f"the token endpoint {token_url} refused: {said}"
        if code in _PERMANENT or response.status_code in (400, 401, 403):
            raise TokenRefused(message)
        raise TokenUnavailable(message)
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenUnavailable(f"the token endpoint {token_url} answered without access_token")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, str) and expires_in.isdigit():
        expires_in = int(expires_in)
    refresh = body.get("refresh_token")
    return TokenAnswer(
        access_token=token,
        expires_in=float(expires_in) if isinstance(expires_in, int | float) else None,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
    )
