"""One JSON call to a web API (Slack, an OpenAI-compatible server) through the runner's shared
HTTP client and egress policy, with its failures as `NodeError`s. What the answer's status
means is the caller's: each service says "refused" in its own way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from flomation.engine.nodes.base import (
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
    ResultTooLargeError,
)

__all__ = ["MAX_ANSWER_BYTES", "ApiAnswer", "call_json", "join_url"]

MAX_ANSWER_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    status: int
    headers: httpx.Headers
    # The parsed JSON body, or the text when it is not JSON.
    body: Any


def join_url(base_url: str, path: str) -> str:
    """`base_url` + `path` keeping the base's own path (`.../v1` + `models` is `.../v1/models`)."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")


async def call_json(
    services: EngineServices,
    method: str,
    url: str,
    *,
    service: str,
    timeout_s: float,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    repeatable: bool,
) -> ApiAnswer:
    """Sends one request and reads its answer. `repeatable` says whether sending the request
    again is harmless; it decides whether a failure after sending is retryable (a failure to
    connect always is: nothing was sent)."""
    if not url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"{service}: the connection's base_url must start with http:// or https://",
            field="connection",
        )
    await services.egress.check_url(url)
    client = services.http()
    where = f"{service} ({method} {_shown(url)})"
    try:
        request = client.build_request(
            method, url, headers=headers, json=json_body, timeout=timeout_s
        )
        response = await client.send(request, stream=True, follow_redirects=False)
    except httpx.ConnectTimeout:
        raise ConnectionFailedError(f"{where}: could not connect within {timeout_s:g} s") from None
    except httpx.ConnectError as exc:
        raise ConnectionFailedError(f"{where}: could not connect ({exc})") from None
    except httpx.TimeoutException:
        raise NodeTimeoutError(
            f"{where}: no answer within {timeout_s:g} s", retryable=repeatable
        ) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ConfigError(f"{where}: {exc}", field="connection") from None
    except httpx.TransportError as exc:
        raise ConnectionFailedError(
            f"{where}: the connection failed ({exc or type(exc).__name__})", retryable=repeatable
        ) from None
    try:
        content = await _read(response, where)
    except httpx.TimeoutException:
        raise NodeTimeoutError(
            f"{where}: the answer did not arrive within {timeout_s:g} s", retryable=repeatable
        ) from None
    except httpx.TransportError as exc:
        raise ConnectionFailedError(
            f"{where}: the connection failed ({exc or type(exc).__name__})", retryable=repeatable
        ) from None
    finally:
        await response.aclose()
    text = content.decode(response.encoding or "utf-8", errors="replace")
    try:
        body: Any = json.loads(text) if text.strip() else None
    except ValueError:
        body = text
    return ApiAnswer(response.status_code, response.headers, body)


async def _read(response: httpx.Response, where: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ResultTooLargeError(
                f"{where}: the answer is larger than {MAX_ANSWER_BYTES} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _shown(url: str) -> str:
    """The URL without its query and credentials: those can carry secrets."""
    return str(httpx.URL(url).copy_with(query=None, fragment=None, username=None, password=None))


def excerpt(body: Any, limit: int = 300) -> str:
    """A short text of an answer's body for an error message."""
    text = body if isinstance(body, str) else json.dumps(body)
    return text if len(text) <= limit else text[:limit] + "..."
