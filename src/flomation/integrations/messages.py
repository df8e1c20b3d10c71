"""What the publishing nodes (`amqp.publish`, `mqtt.publish`, `nats.publish`) share: how a
config's `body` and `headers` become bytes on the wire, and the node's time budget. (A broker's
address is checked with `integrations.egress.check_egress`.)"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flomation.engine.nodes.base import ConfigError, NodeContext

__all__ = [
    "BODY_PROPERTY",
    "DEFAULT_TIMEOUT_S",
    "HEADERS_PROPERTY",
    "TIMEOUT_PROPERTY",
    "encode_body",
    "header_strings",
    "time_budget_s",
]

DEFAULT_TIMEOUT_S = 30.0

BODY_PROPERTY: dict[str, Any] = {
    "title": "Body",
    "description": "Text is sent as UTF-8 as written; any other JSON value is sent as JSON.",
}
HEADERS_PROPERTY: dict[str, Any] = {
    "type": "object",
    "title": "Headers",
    "additionalProperties": {"type": ["string", "number", "boolean"]},
}
TIMEOUT_PROPERTY: dict[str, Any] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": 3600,
    "default": DEFAULT_TIMEOUT_S,
}


def encode_body(body: Any) -> tuple[bytes, str]:
    """The bytes and content type of a config's `body`: text as UTF-8 (`text/plain`), any
    other JSON value as compact JSON (`application/json`); no body is an empty message."""
    if body is None:
        return b"", "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    try:
        return json.dumps(body, separators=(",", ":")).encode(), "application/json"
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the body is not JSON: {exc}", field="body") from None


def header_strings(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Headers as text: brokers carry strings, and a flow writes numbers and booleans too."""
    if not headers:
        return {}
    shown: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(value, bool):
            shown[str(name)] = "true" if value else "false"
        elif value is not None:
            shown[str(name)] = str(value)
    return shown


def time_budget_s(ctx: NodeContext, default_s: float = DEFAULT_TIMEOUT_S) -> float:
    """The node's own `timeout_s` cut to what its attempt has left."""
    timeout_s = float(ctx.config.get("timeout_s", default_s))
    remaining = ctx.remaining_s()
    if remaining is not None:
        timeout_s = min(timeout_s, remaining)
    return max(0.001, timeout_s)
