"""The `http` node: one HTTP request through the runner's shared client and egress policy.

With a `connection` (an `http` connection, `integrations.http`) the node's `url` may be
relative to the connection's base URL, and the connection's headers and authentication are
added; a node's own headers win over the connection's defaults but not over its credentials."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from flomation.engine.expressions import is_template
from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    Connection,
    ConnectionFailedError,
    HttpStatusError,
    NodeContext,
    NodeError,
    NodeOutcome,
    NodeTimeoutError,
    NodeType,
)
from flomation.integrations.base import connection_property
from flomation.integrations.http import (
    OAUTH2_AUTH_KINDS,
    HttpConnectionRequest,
    connection_request,
)

__all__ = [
    "ExpectedStatus",
    "HttpNode",
    "ResponseTooLargeError",
    "is_oauth2",
    "refreshed_connection",
]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# RFC 9110, 9.2.2: asking these twice has the effect of asking once, so one that fails before
# any answer arrives is sent again (as urllib3 and browsers do).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_TIMEOUT_S = 30.0
MAX_REDIRECTS = 10
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
BODY_EXCERPT_CHARS = 300

_STATUS = {"type": "integer", "minimum": 100, "maximum": 599}
_STATUS_TEXT = {"type": "string", "minLength": 1}


class ResponseTooLargeError(NodeError):
    """The answer's body is larger than the node accepts; asking again will not help."""

    type = "response_too_large"
    retryable = False


@dataclass(frozen=True, slots=True)
class ExpectedStatus:
    """Status codes a request may answer with: `"200-299"`, `"2xx"`, `404`, `[200, "3xx"]`."""

    ranges: tuple[tuple[int, int], ...]
    text: str

    @classmethod
    def parse(cls, value: Any) -> ExpectedStatus:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValueError("expect_status must name at least one status")
        ranges: list[tuple[int, int]] = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, int | str):
                raise ValueError(f"expect_status: {item!r} is not a status or a range")
            for part in str(item).split(","):
                ranges.append(_parse_status_range(part.strip()))
        return cls(tuple(ranges), ", ".join(_range_text(r) for r in ranges))

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and any(low <= status <= high for low, high in self.ranges)


_RANGE = re.compile(r"^(\d{3})\s*-\s*(\d{3})$")
_CLASS = re.compile(r"^([1-5])xx$", re.IGNORECASE)


def _parse_status_range(text: str) -> tuple[int, int]:
    if text.isdigit():
        low = high = int(text)
    elif match := _RANGE.match(text):
        low, high = int(match[1]), int(match[2])
    elif match := _CLASS.match(text):
        low, high = int(match[1]) * 100, int(match[1]) * 100 + 99
    else:
        raise ValueError(
            f"expect_status: {text!r} is not a status (404), a range (200-299) or a class (2xx)"
        )
    if not (100 <= low <= high <= 599):
        raise ValueError(f"expect_status: {text!r} is not within 100-599 (low to high)")
    return low, high


def _range_text(bounds: tuple[int, int]) -> str:
    low, high = bounds
    return str(low) if low == high else f"{low}-{high}"


DEFAULT_EXPECTED = ExpectedStatus.parse("200-299")


class HttpNode(NodeType):
    type = "http"
    title = "HTTP request"
    description = (
        "Sends an HTTP request and returns the status, headers and body (parsed when JSON). "
        "An unexpected status fails the node."
    )
    icon = "globe"
    group = "integration"
    connection_types: ClassVar[tuple[str, ...]] = ("http",)
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property("Connection (optional)"),
            "method": {"enum": list(METHODS), "default": "GET", "title": "Method"},
            "url": {
                "type": "string",
                "title": "URL",
                "minLength": 1,
                "description": "With a connection, may be relative to its base URL.",
            },
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "title": "Headers",
                "description": "Request headers; values are templates.",
            },
            "query": {
                "type": "object",
                "title": "Query parameters",
                "description": "Added to the URL's query string; values are templates.",
                "additionalProperties": {
                    "type": ["string", "number", "boolean", "null", "array"],
                    "items": {"type": ["string", "number", "boolean", "null"]},
                },
            },
            "json": {"title": "JSON body", "description": "Any JSON value, sent as the JSON body."},
            "body": {
                "type": "string",
                "title": "Text body",
                "description": "A text body (instead of the JSON body).",
            },
            "timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": DEFAULT_TIMEOUT_S,
                "title": "Timeout (s)",
            },
            "expect_status": {
                "title": "Expected status",
                "description": "Any other status fails the node: a status (404), a range "
                "(200-299), a class (2xx) or a list of them.",
                # Common choices, labelled for the editor's picker (any other value is typed in).
                "x-enum-labels": {
                    "200-299": "2xx (success)",
                    "100-599": "Any status",
                    "200-399": "2xx or 3xx",
                    "200": "200 only",
                },
                "anyOf": [
                    _STATUS,
                    _STATUS_TEXT,
                    {"type": "array", "minItems": 1, "items": {"anyOf": [_STATUS, _STATUS_TEXT]}},
                ],
                "default": "200-299",
            },
            "follow_redirects": {"type": "boolean", "default": True, "title": "Follow redirects"},
        },
        "required": ["url"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "status": {"type": "integer"},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {},
        },
        "required": ["status", "headers", "body"],
    }

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if "json" in config and "body" in config:
            problems.append(("body", "give either json or body, not both"))
        expect = config.get("expect_status")
        if expect is not None and not _holds_template(expect):
            try:
                ExpectedStatus.parse(expect)
            except ValueError as exc:
                problems.append(("expect_status", str(exc)))
        url = config.get("url")
        # With a connection, a relative url is resolved against its base URL.
        relative_ok = bool(config.get("connection"))
        if (
            isinstance(url, str)
            and not relative_ok
            and not is_template(url)
            and not _is_http_url(url)
        ):
            problems.append(("url", "the URL must start with http:// or https://"))
        return problems

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        config = ctx.config
        method = str(config.get("method", "GET")).upper()
        connection = ctx.connection(self.connection_types) if config.get("connection") else None
        if "json" in config and "body" in config:
            raise ConfigError("give either json or body, not both", field="body")
        try:
            expected = ExpectedStatus.parse(config.get("expect_status", "200-299"))
        except ValueError as exc:
            raise ConfigError(str(exc), field="expect_status") from None
        response, body = await self._attempt(ctx, method, connection)
        if response.status_code == 401 and connection is not None and is_oauth2(connection):
            # The service refused the OAuth token (revoked, or expired early): one refresh
            # through the API, one retry with the new token.
            refreshed = await refreshed_connection(ctx, connection)
            if refreshed is not None:
                response, body = await self._attempt(ctx, method, refreshed)
        output = {"status": response.status_code, "headers": dict(response.headers), "body": body}
        if response.status_code not in expected:
            raise HttpStatusError(
                f"{method} {_shown_url(response.request.url)} answered "
                f"{response.status_code} {response.reason_phrase}, expected {expected.text}"
                f"{_excerpt(body)}"
            )
        return NodeOutcome(output)

    async def _attempt(
        self, ctx: NodeContext, method: str, connection: Connection | None
    ) -> tuple[httpx.Response, Any]:
        """One request (with its redirects), with `connection`'s URL and credentials."""
        config = ctx.config
        url = str(config["url"])
        extra: HttpConnectionRequest | None = None
        if connection is not None:
            extra = connection_request(connection.values, url, connection.name)
            url = extra.url
        if not _is_http_url(url):
            raise ConfigError(
                f"the URL must start with http:// or https://, got {url!r}", field="url"
            )
        timeout_s = float(config.get("timeout_s", DEFAULT_TIMEOUT_S))
        remaining = ctx.remaining_s()
        if remaining is not None:
            timeout_s = max(0.001, min(timeout_s, remaining))

        client = ctx.services.http()
        params = _query_params(config.get("query"))
        try:
            if extra is not None:
                url, params = _merged_query(url, params, extra.params), None
            request = client.build_request(
                method,
                url,
                headers=_merged_headers(extra, config.get("headers")),
                params=params,
                json=config.get("json"),
                content=config.get("body"),
                timeout=timeout_s,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ConfigError(f"invalid URL {url!r}: {exc}", field="url") from None
        secret_headers = extra.secret_headers if extra is not None else frozenset()
        return await self._send(ctx, client, request, config, timeout_s, secret_headers)

    async def _send(
        self,
        ctx: NodeContext,
        client: httpx.AsyncClient,
        request: httpx.Request,
        config: Mapping[str, Any],
        timeout_s: float,
        secret_headers: frozenset[str] = frozenset(),
    ) -> tuple[httpx.Response, Any]:
        follow = bool(config.get("follow_redirects", True))
        origin = _origin(request.url)
        for _ in range(MAX_REDIRECTS + 1):
            # The policy is checked before every hop for a clear early error; the client's
            # transport (see flomation.engine.egress) checks the address actually connected.
            await ctx.services.egress.check_url(str(request.url))
            response = await _send_once(client, request, timeout_s)
            try:
                if follow and response.next_request is not None:
                    request = response.next_request
                    if secret_headers and _origin(request.url) != origin:
                        # httpx drops only `Authorization` on leaving the origin; a
                        # connection's API-key header must not follow a redirect elsewhere.
                        for name in secret_headers:
                            request.headers.pop(name, None)
                    continue
                return response, await _read_body(request, response)
            finally:
                await response.aclose()
        raise HttpStatusError(
            f"{request.method} {_shown_url(request.url)}: more than {MAX_REDIRECTS} redirects"
        )


async def _send_once(
    client: httpx.AsyncClient, request: httpx.Request, timeout_s: float
) -> httpx.Response:
    where = f"{request.method} {_shown_url(request.url)}"
    try:
        try:
            return await client.send(request, stream=True, follow_redirects=False)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            # A kept-alive connection that the server closed just as it was reused fails like
            # this, before any answer. Whether the request reached the server's application
            # is unknown, so only a method whose repetition does no harm is sent again, once,
            # on a new connection (the failed one has left the pool).
            if request.method not in IDEMPOTENT_METHODS:
                raise
            return await client.send(request, stream=True, follow_redirects=False)
    except httpx.ConnectTimeout:
        raise ConnectionFailedError(f"{where}: could not connect within {timeout_s:g} s") from None
    except httpx.TimeoutException:
        raise NodeTimeoutError(f"{where}: no answer within {timeout_s:g} s") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ConfigError(f"{where}: {exc}", field="url") from None
    except httpx.TransportError as exc:
        raise ConnectionFailedError(f"{where}: {_describe_transport_error(exc)}") from None


async def _read_body(request: httpx.Request, response: httpx.Response) -> Any:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise ResponseTooLargeError(
                    f"{request.method} {_shown_url(request.url)}: the answer is larger than "
                    f"{MAX_RESPONSE_BYTES} bytes"
                )
            chunks.append(chunk)
    except httpx.TimeoutException:
        raise NodeTimeoutError(
            f"{request.method} {_shown_url(request.url)}: the answer did not arrive in time"
        ) from None
    except httpx.TransportError as exc:
        raise ConnectionFailedError(
            f"{request.method} {_shown_url(request.url)}: {_describe_transport_error(exc)}"
        ) from None
    content = b"".join(chunks)
    text = content.decode(response.encoding or "utf-8", errors="replace")
    if _is_json(response.headers.get("content-type", "")) and content.strip():
        try:
            return json.loads(text)
        except ValueError:
            return text  # it said JSON but is not: the text is more useful than a failure
    return text


def _query_params(query: Any) -> dict[str, Any] | None:
    if not query:
        return None
    params: dict[str, Any] = {}
    for name, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        params[name] = [_query_value(v) for v in values if v is not None]
    return params


def _merged_headers(
    extra: HttpConnectionRequest | None, headers: Mapping[str, str] | None
) -> dict[str, str] | None:
    """The connection's default headers, the node's, then the connection's credentials."""
    if extra is None:
        return dict(headers) if headers else None
    merged = httpx.Headers(
        {k: v for k, v in extra.headers.items() if k.lower() not in extra.secret_headers}
    )
    merged.update(headers or {})
    merged.update({k: v for k, v in extra.headers.items() if k.lower() in extra.secret_headers})
    return dict(merged)


def _merged_query(url: str, params: dict[str, Any] | None, auth: Mapping[str, str]) -> str:
    """The url's own query, then the node's `query`, then the connection's credentials (httpx
    would replace the url's query by `params`, losing one or the other)."""
    merged = httpx.URL(url)
    if params:
        merged = merged.copy_merge_params(params)
    if auth:
        merged = merged.copy_merge_params(dict(auth))
    return str(merged)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_http_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _holds_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, list):
        return any(_holds_template(item) for item in value)
    return False


def _shown_url(url: httpx.URL) -> str:
    """The URL without its query and credentials: those often carry secrets."""
    return str(url.copy_with(query=None, fragment=None, username=None, password=None))


def _excerpt(body: Any) -> str:
    if body in (None, ""):
        return ""
    text = body if isinstance(body, str) else json.dumps(body)
    if len(text) > BODY_EXCERPT_CHARS:
        text = text[:BODY_EXCERPT_CHARS] + "..."
    return f": {text}"


def _describe_transport_error(exc: httpx.TransportError) -> str:
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({detail})"
    return f"the connection failed ({detail})"


# --------------------------------------------------------------------------- OAuth 2 401s


def is_oauth2(connection: Connection) -> bool:
    """Whether an `http` connection's token is the API's to obtain (so it can get another)."""
    return connection.values.get("auth") in OAUTH2_AUTH_KINDS


async def refreshed_connection(ctx: NodeContext, connection: Connection) -> Connection | None:
    """`connection` with a new token, for the one retry after a 401; None when it cannot be
    refreshed here (the 401 stands). Fails the node when the provider refused to refresh."""
    refreshed = await ctx.services.refresh_connection(connection)
    if refreshed is None:
        return None
    if refreshed.status == "needs_reconnect":
        raise AuthenticationError(
            f"connection {connection.name!r} needs reconnecting: its OAuth refresh failed; "
            "reconnect it in the editor",
            field="connection",
        )
    ctx.log("info", f"connection {connection.name!r}: the service refused the token; refreshed")
    return refreshed
