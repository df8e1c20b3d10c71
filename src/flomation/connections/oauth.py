"""OAuth 2 connections: the API obtains and refreshes their access tokens.

Which connections: the `http` type with auth `oauth2_client_credentials` or
`oauth2_authorization_code`, and types whose `auth` is `"oauth2"` (imported OpenAPI services:
client credentials, or the authorization code flow when they have an `authorization_url`).
The tokens live in the connection's encrypted values (`access_token`, `refresh_token`, secret
fields); `token_expires_at` (a plain column) says when the access token runs out.

One refresh at a time, across API processes and runners: a refresh takes the connection's row
lock (`repository.get_for_update`), then looks again. Whoever waited on the lock finds the
token its predecessor stored and uses it instead of refreshing a second time. Tokens are
refreshed `REFRESH_MARGIN_S` before they run out, at claim time (a claim carries a valid
token), and when a runner reports a 401 (`refresh_after_refusal`, fenced by the hash of the
refused token: a token refreshed since is simply handed over).

A refresh the provider refuses for good (`invalid_grant`: the refresh token is revoked or
expired; `invalid_client`) sets `status` to `needs_reconnect` with `last_error`; nodes using
the connection then fail with that. A provider that cannot be reached leaves the status
alone (the next claim or 401 tries again).

The authorization code flow (with PKCE, S256): `start_authorization` stores a single-use,
expiring state bound to the organisation, the connection and the browser, and answers the
provider's authorize URL; `finish_authorization` (the callback) takes the state, exchanges
the code with the verifier and stores the tokens."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.connections import repository
from flomation.connections.oauth_tokens import (
    TokenAnswer,
    TokenError,
    TokenRefused,
    request_token,
)
from flomation.errors import Conflict, NotFound
from flomation.integrations.http import OAUTH2_AUTH_KINDS
from flomation.integrations.registry import connection_types
from flomation.models.connections import Connection, OAuthState
from flomation.protocol import ClaimedConnection
from flomation.secrets.crypto import Keyring, default_keyring

__all__ = [
    "AUTHORIZATION_CODE",
    "CLIENT_CREDENTIALS",
    "REFRESH_MARGIN_S",
    "STATE_TTL_S",
    "AuthorizationStart",
    "CallbackOutcome",
    "finish_authorization",
    "fresh_for_claim",
    "oauth_kind",
    "refresh_after_refusal",
    "runner_values",
    "start_authorization",
    "token_sha256",
]

CLIENT_CREDENTIALS = "oauth2_client_credentials"
AUTHORIZATION_CODE = "oauth2_authorization_code"
# A token with less than this left is refreshed before it is handed out: a node gets a token
# that outlives a request or two.
REFRESH_MARGIN_S = 60.0
# How long a user has to finish the provider's consent page.
STATE_TTL_S = 600.0
NEEDS_RECONNECT = "needs_reconnect"


def oauth_kind(type_name: str, values: Mapping[str, Any]) -> str | None:
    """`CLIENT_CREDENTIALS`, `AUTHORIZATION_CODE`, or None for a connection without OAuth."""
    if type_name == "http":
        auth = values.get("auth")
        return str(auth) if auth in OAUTH2_AUTH_KINDS else None
    kind = connection_types().get(type_name)
    if kind is not None:
        oauth2 = kind.auth == "oauth2"
    else:
        # An imported service this process's registry does not hold (imported types may be
        # kept per organisation): its OAuth fields say it.
        oauth2 = type_name.startswith("openapi.") and "client_id" in values
    if not oauth2:
        return None
    return AUTHORIZATION_CODE if values.get("authorization_url") else CLIENT_CREDENTIALS


def _effective(type_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with the type's schema defaults for what is not set (an imported service's
    `token_url` and `scopes` default to its document's): what the token request uses."""
    kind = connection_types().get(type_name)
    properties = (kind.schema.get("properties") or {}) if kind is not None else {}
    defaults = {
        key: prop["default"]
        for key, prop in properties.items()
        if isinstance(prop, Mapping) and "default" in prop and values.get(key) in (None, "")
    }
    return {**values, **defaults}


def token_sha256(token: str | None) -> str:
    """How a runner names the token a service refused, without sending the token."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- values


def _decrypt(ring: Keyring, row: Connection) -> dict[str, Any]:
    from flomation.connections.service import decrypt_values

    return decrypt_values(row, ring)


async def _store(
    session: AsyncSession,
    ring: Keyring,
    row: Connection,
    values: dict[str, Any],
    answer: TokenAnswer,
) -> dict[str, Any]:
    from flomation.connections.service import _encrypt

    values = {**values, "access_token": answer.access_token}
    if answer.refresh_token is not None:
        values["refresh_token"] = answer.refresh_token
    row.nonce, row.ciphertext = _encrypt(ring, row.organization_id, row.name, values)
    row.key_version = await repository.current_key_version(session)
    row.token_expires_at = (
        None if answer.expires_in is None else utcnow() + timedelta(seconds=answer.expires_in)
    )
    row.status = "ok"
    row.last_error = None
    await session.flush()
    return values


async def _needs_reconnect(session: AsyncSession, row: Connection, why: str) -> None:
    row.status = NEEDS_RECONNECT
    row.last_error = why
    await session.flush()


def _due(row: Connection, kind: str, values: Mapping[str, Any], now: datetime) -> bool:
    """Whether the access token must be (re)obtained before it is handed out."""
    if not values.get("access_token"):
        # Client credentials get their first token here; an authorization code connection
        # has none until the user connects it (unless a refresh token survived).
        return kind == CLIENT_CREDENTIALS or bool(values.get("refresh_token"))
    if row.token_expires_at is None:
        return False  # the provider did not say: only a 401 tells
    return row.token_expires_at - timedelta(seconds=REFRESH_MARGIN_S) <= now


def _grant(kind: str, values: Mapping[str, Any]) -> dict[str, str] | None:
    """The grant that gives a new access token, None when there is none (an authorization
    code connection without a refresh token: only the user can reconnect it)."""
    scope = str(values.get("scopes") or "")
    if kind == CLIENT_CREDENTIALS:
        return {"grant_type": "client_credentials", "scope": scope}
    refresh = values.get("refresh_token")
    if not refresh:
        return None
    return {"grant_type": "refresh_token", "refresh_token": str(refresh)}


async def _refresh_locked(
    session: AsyncSession,
    organization_id: str,
    name: str,
    ring: Keyring,
    *,
    refused_token: str | None = None,
) -> tuple[Connection, dict[str, Any]] | None:
    """Takes the row lock, looks again, and refreshes only when still due: with
    `refused_token` (a 401), when the stored token is still the one refused; otherwise when
    it is about to run out. The lock is held until the caller's transaction ends, so whoever
    waits on it sees the new token."""
    row = await repository.get_for_update(session, organization_id, name)
    if row is None:
        return None
    values = _decrypt(ring, row)
    kind = oauth_kind(row.type, values)
    if kind is None or row.status == NEEDS_RECONNECT:
        return row, values
    if refused_token is not None:
        if token_sha256(values.get("access_token")) != refused_token:
            return row, values  # refreshed since the service refused it: hand that one over
    elif not _due(row, kind, values, utcnow()):
        return row, values  # another refresher was first
    effective = _effective(row.type, values)
    grant = _grant(kind, effective)
    if grant is None:
        if refused_token is not None or values.get("access_token"):
            await _needs_reconnect(
                session,
                row,
                "the access token expired or was refused, and the provider gave no refresh "
                "token: connect the connection again",
            )
        return row, values
    try:
        answer = await request_token(effective, grant)
    except TokenRefused as exc:
        await _needs_reconnect(session, row, str(exc))
        return row, values
    except TokenError as exc:
        # Unreachable or failing for now: keep the status, say why, try again next time.
        row.last_error = str(exc)
        await session.flush()
        return row, values
    return row, await _store(session, ring, row, values, answer)


# --------------------------------------------------------------------------- runners

# What only the API uses: a runner sends the access token and never talks to the token
# endpoint, so the long-lived credentials stay with the API.
_API_ONLY = frozenset({"refresh_token", "client_secret"})


def runner_values(type_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a runner gets: an OAuth 2 connection's without its refresh token and
    client secret."""
    if oauth_kind(type_name, values) is None:
        return dict(values)
    return {key: value for key, value in values.items() if key not in _API_ONLY}


async def fresh_for_claim(
    session: AsyncSession, row: Connection, values: dict[str, Any], ring: Keyring
) -> tuple[Connection, dict[str, Any]]:
    """A claimed connection's values as a runner gets them (`runner_values`); an OAuth 2
    one's with a valid access token, refreshed (under the row lock, in the claim's
    transaction) when it is about to run out."""
    kind = oauth_kind(row.type, values)
    if kind is not None and row.status != NEEDS_RECONNECT and _due(row, kind, values, utcnow()):
        refreshed = await _refresh_locked(session, row.organization_id, row.name, ring)
        if refreshed is not None:
            row, values = refreshed
    return row, runner_values(row.type, values)


async def refresh_after_refusal(
    session: AsyncSession,
    *,
    organization_id: str,
    name: str,
    refused_token_sha256: str,
    keyring: Keyring | None = None,
) -> ClaimedConnection:
    """A service answered 401 to the token whose hash is `refused_token_sha256`: the
    connection with a new token (or the one another refresher got meanwhile), or with
    `status` `needs_reconnect` when the provider refuses to give one."""
    refreshed = await _refresh_locked(
        session,
        organization_id,
        name,
        keyring or default_keyring(),
        refused_token=refused_token_sha256,
    )
    if refreshed is None:
        raise NotFound(f"No connection {name!r}")
    row, values = refreshed
    return ClaimedConnection(
        type=row.type, values=runner_values(row.type, values), status=row.status
    )


# --------------------------------------------------------------------------- authorization code


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class AuthorizationStart:
    authorize_url: str
    # The value of the cookie that binds the flow to this browser.
    browser_secret: str


async def start_authorization(
    session: AsyncSession,
    *,
    organization_id: str,
    user_id: str | None,
    name: str,
    redirect_uri: str,
    keyring: Keyring | None = None,
) -> AuthorizationStart:
    """Stores a new flow's state and answers where to send the browser."""
    row = await repository.get(session, organization_id, name)
    if row is None:
        raise NotFound(f"No connection {name!r}")
    values = _effective(row.type, _decrypt(keyring or default_keyring(), row))
    if oauth_kind(row.type, values) != AUTHORIZATION_CODE:
        raise Conflict(
            f"Connection {name!r} does not use the OAuth 2 authorization code flow "
            "(http with auth oauth2_authorization_code, or an imported service's OAuth 2)"
        )
    authorization_url = str(values.get("authorization_url") or "")
    if not authorization_url.lower().startswith(("http://", "https://")):
        raise Conflict(f"Connection {name!r} has no authorization_url (http:// or https://)")
    state = secrets.token_urlsafe(32)
    browser = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 wants 43 to 128
    now = utcnow()
    await repository.insert_oauth_state(
        session,
        OAuthState(
            state_hash=_sha256(state),
            organization_id=organization_id,
            connection_name=name,
            user_id=user_id,
            browser_hash=_sha256(browser),
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            created_at=now,
            expires_at=now + timedelta(seconds=STATE_TTL_S),
        ),
    )
    params = {
        "response_type": "code",
        "client_id": str(values.get("client_id") or ""),
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    if values.get("scopes"):
        params["scope"] = str(values["scopes"])
    url = httpx.URL(authorization_url).copy_merge_params(params)
    return AuthorizationStart(str(url), browser)


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    ok: bool
    message: str
    connection: str | None = None


async def finish_authorization(
    session: AsyncSession,
    *,
    params: Mapping[str, str],
    browser_secret: str | None,
    keyring: Keyring | None = None,
) -> CallbackOutcome:
    """The provider's redirect back: takes the state (once), exchanges the code with the PKCE
    verifier and stores the tokens. Never raises for what the provider or the browser sent:
    the outcome says what went wrong, and the editor shows it."""
    state = params.get("state")
    if not state:
        return CallbackOutcome(False, "the provider's answer has no state")
    taken = await repository.take_oauth_state(session, _sha256(state))
    if taken is None or taken.expires_at <= utcnow():
        return CallbackOutcome(
            False, "this authorization was used already or expired: connect again"
        )
    name = taken.connection_name
    if browser_secret is None or not secrets.compare_digest(
        _sha256(browser_secret), taken.browser_hash
    ):
        return CallbackOutcome(
            False, "this authorization was started in another browser: connect again", name
        )
    if params.get("error"):
        said = params.get("error_description") or params["error"]
        return CallbackOutcome(False, f"the provider refused: {said}", name)
    code = params.get("code")
    if not code:
        return CallbackOutcome(False, "the provider's answer has no code", name)
    ring = keyring or default_keyring()
    row = await repository.get_for_update(session, taken.organization_id, name)
    if row is None:
        return CallbackOutcome(False, f"connection {name!r} was deleted meanwhile", name)
    values = _decrypt(ring, row)
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": taken.redirect_uri,
        "code_verifier": taken.code_verifier,
    }
    try:
        answer = await request_token(_effective(row.type, values), grant)
    except TokenError as exc:
        row.last_error = str(exc)
        await session.flush()
        return CallbackOutcome(False, str(exc), name)
    await _store(session, ring, row, values, answer)
    return CallbackOutcome(True, f"connection {name!r} is connected", name)
