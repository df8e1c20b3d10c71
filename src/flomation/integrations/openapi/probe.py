"""Testing a connection of an imported type: one GET of its base URL with its credentials.

A service's base URL often answers 404 (only its operations exist), which still proves the
address, the TLS and the network path; 401 and 403 say the credentials were refused. The
answer's body is never read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
)
from flomation.integrations.openapi.auth import apply_credentials, choose_credentials
from flomation.integrations.openapi.model import AuthScheme

__all__ = ["probe_service"]


async def probe_service(
    schemes: Sequence[AuthScheme],
    default_base_url: str,
    values: Mapping[str, Any],
    services: EngineServices,
    timeout_s: float,
) -> str:
    base = values.get("base_url") or default_base_url
    if not isinstance(base, str) or not base.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"base_url must start with http:// or https:// (got {base!r})", field="base_url"
        )
    headers: dict[str, str] = {}
    query: dict[str, Any] = {}
    apply_credentials(choose_credentials(schemes, None, values), values, headers, query)
    await services.egress.check_url(base)
    client = services.http()
    try:
        request = client.build_request(
            "GET", base, headers=headers, params=query, timeout=timeout_s
        )
        response = await client.send(request, stream=True, follow_redirects=False)
    except httpx.TimeoutException:
        raise ConnectionFailedError(f"{base}: no answer within {timeout_s:g} s") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ConfigError(f"{base}: {exc}", field="base_url") from None
    except httpx.TransportError as exc:
        raise ConnectionFailedError(
            f"{base}: could not connect ({exc or type(exc).__name__})"
        ) from None
    await response.aclose()
    if response.status_code in (401, 403):
        raise AuthenticationError(
            f"{base} refused the credentials ({response.status_code} {response.reason_phrase})"
        )
    return f"reached {base} ({response.status_code} {response.reason_phrase})"
