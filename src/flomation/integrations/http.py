"""The http integration: the `http` connection type (a base URL, its authentication and
default headers) that the `http` node (`engine.nodes.http`) takes in `connection`, and its
probe (rules in `integrations.base`).

OAuth 2 values (`oauth2_client_credentials`, `oauth2_authorization_code`) are the API's to
fill: it obtains and refreshes the token and sends the current one as `access_token`; until
it has, a node using the connection fails with an `AuthenticationError`."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    EngineServices,
    NodeType,
    ServiceError,
)
from flomation.integrations.base import PROBE_TIMEOUT_S, ConnectionType
from flomation.integrations.webapi import call_json, excerpt, join_url

__all__ = [
    "AUTH_KINDS",
    "CONNECTION_TYPES",
    "HTTP",
    "NODE_TYPES",
    "OAUTH2_AUTH_KINDS",
    "HttpConnectionRequest",
    "connection_request",
]

OAUTH2_AUTH_KINDS = ("oauth2_client_credentials", "oauth2_authorization_code")
AUTH_KINDS = ("none", "bearer", "basic", "header", "query", *OAUTH2_AUTH_KINDS)

_SECRET = {"type": "string", "x-secret": True}


def _requires(auth: str, *fields: str) -> dict[str, Any]:
    return {
        "if": {"properties": {"auth": {"const": auth}}, "required": ["auth"]},
        "then": {"required": list(fields)},
    }


HTTP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "base_url": {
            "type": "string",
            "title": "Base URL",
            "pattern": "^https?://",
            "description": "A node's relative url is appended to it.",
        },
        "auth": {"enum": list(AUTH_KINDS), "default": "none", "title": "Authentication"},
        "token": {**_SECRET, "title": "Bearer token"},
        "username": {"type": "string", "title": "User name"},
        "password": {**_SECRET, "title": "Password"},
        "header_name": {"type": "string", "title": "Header name", "examples": ["X-API-Key"]},
        "header_value": {**_SECRET, "title": "Header value"},
        "query_name": {"type": "string", "title": "Query parameter", "examples": ["api_key"]},
        "query_value": {**_SECRET, "title": "Query parameter value"},
        "headers": {
            "type": "object",
            "title": "Headers",
            "description": "Sent with every request (a node's own headers win).",
            "additionalProperties": {"type": "string"},
        },
        "probe_path": {
            "type": "string",
            "title": "Test path",
            "description": "A path that answers 2xx when the credentials work.",
        },
        "token_url": {"type": "string", "title": "Token URL", "pattern": "^https?://"},
        "authorization_url": {
            "type": "string",
            "title": "Authorization URL",
            "pattern": "^https?://",
        },
        "client_id": {"type": "string", "title": "Client id"},
        "client_secret": {**_SECRET, "title": "Client secret"},
        "scopes": {"type": "string", "title": "Scopes", "description": "Space-separated."},
        "token_auth_method": {
            "enum": ["client_secret_basic", "client_secret_post"],
            "default": "client_secret_basic",
            "title": "Client authentication",
            "description": "How the client id and secret go to the token URL.",
        },
        "access_token": {**_SECRET, "title": "Access token", "readOnly": True},
        "refresh_token": {**_SECRET, "title": "Refresh token", "readOnly": True},
    },
    "required": ["base_url"],
    "additionalProperties": False,
    "allOf": [
        _requires("bearer", "token"),
        _requires("basic", "username", "password"),
        _requires("header", "header_name", "header_value"),
        _requires("query", "query_name", "query_value"),
        _requires("oauth2_client_credentials", "token_url", "client_id", "client_secret"),
        _requires("oauth2_authorization_code", "authorization_url", "token_url", "client_id"),
    ],
}


@dataclass(frozen=True, slots=True)
class HttpConnectionRequest:
    """What a connection adds to a request: its URL resolved against `base_url`, the
    headers (defaults, then authentication) and query parameters (authentication)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # Header names that carry credentials: dropped when a redirect leaves the base URL's
    # origin, so another host never sees them.
    secret_headers: frozenset[str] = frozenset()


def connection_request(
    values: Mapping[str, Any], url: str, name: str = "http"
) -> HttpConnectionRequest:
    """Resolves a node's `url` with an `http` connection's values. A relative url is appended
    to `base_url`; an absolute one must lie under it, so the credentials go only there."""
    base_url = str(values.get("base_url") or "")
    if not base_url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"connection {name!r} has no base_url (http:// or https://)", field="connection"
        )
    if url.lower().startswith(("http://", "https://")):
        if not _under(url, base_url):
            raise ConfigError(
                f"the url is outside connection {name!r}'s base_url {base_url}; its "
                "credentials are sent only there (use a relative url)",
                field="url",
            )
        resolved = url
    else:
        resolved = join_url(base_url, url) if url not in ("", "/") else base_url
    headers = {str(k): str(v) for k, v in (values.get("headers") or {}).items()}
    params: dict[str, str] = {}
    secret_headers: set[str] = set()
    auth = values.get("auth") or "none"
    if auth == "bearer":
        headers["Authorization"] = f"Bearer {_required(values, 'token', name)}"
        secret_headers.add("authorization")
    elif auth == "basic":
        pair = f"{values.get('username', '')}:{_required(values, 'password', name)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        secret_headers.add("authorization")
    elif auth == "header":
        header = _required(values, "header_name", name)
        headers[header] = _required(values, "header_value", name)
        secret_headers.add(header.lower())
    elif auth == "query":
        params[_required(values, "query_name", name)] = _required(values, "query_value", name)
    elif auth in OAUTH2_AUTH_KINDS:
        token = values.get("access_token")
        if not token:
            raise AuthenticationError(
                f"connection {name!r} has no OAuth 2 access token yet: connect it in the "
                "editor (Connections) so the API can obtain one",
                field="connection",
            )
        headers["Authorization"] = f"Bearer {token}"
        secret_headers.add("authorization")
    elif auth != "none":
        raise ConfigError(f"connection {name!r}: unknown auth {auth!r}", field="connection")
    return HttpConnectionRequest(resolved, headers, params, frozenset(secret_headers))


def _required(values: Mapping[str, Any], key: str, name: str) -> str:
    value = values.get(key)
    if not value:
        raise ConfigError(
            f"connection {name!r} uses auth {values.get('auth')!r} but has no {key}",
            field="connection",
        )
    return str(value)


def _under(url: str, base_url: str) -> bool:
    import httpx

    target, base = httpx.URL(url), httpx.URL(base_url)
    same_origin = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    prefix = base.path.rstrip("/")
    return same_origin and (target.path == prefix or target.path.startswith(prefix + "/"))


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    """Without `probe_path`, any answer from `base_url` shows it is reachable; with one, the
    path must answer 2xx (401 and 403 say the credentials are refused)."""
    path = values.get("probe_path")
    request = connection_request(values, str(path or ""))
    import httpx

    url = str(httpx.URL(request.url, params=request.params or None))
    answer = await call_json(
        services,
        "GET",
        url,
        service="HTTP connection test",
        timeout_s=min(timeout_s, PROBE_TIMEOUT_S),
        headers=request.headers,
        repeatable=True,
    )
    shown = request.url
    if not path:
        return f"{shown} answered HTTP {answer.status}"
    if answer.status in (401, 403):
        raise AuthenticationError(
            f"{shown} refused the credentials: HTTP {answer.status} {excerpt(answer.body or '')}"
        )
    if not 200 <= answer.status < 300:
        raise ServiceError(f"{shown} answered HTTP {answer.status} {excerpt(answer.body or '')}")
    return f"{shown} answered HTTP {answer.status}"


HTTP = ConnectionType(
    type="http",
    title="HTTP API",
    icon="globe",
    description="A web API: its base URL, authentication and default headers.",
    probe=probe,
    schema=HTTP_SCHEMA,
)

CONNECTION_TYPES: tuple[ConnectionType, ...] = (HTTP,)
# The `http` node is the engine's own (`engine.nodes.http`); it takes this connection type.
NODE_TYPES: tuple[type[NodeType], ...] = ()
