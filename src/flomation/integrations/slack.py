"""The slack integration (Slack's Web API over the runner's shared HTTP client): the `slack`
connection type and the `slack.message` node (rules in `integrations.base`).

Slack answers most refusals with HTTP 200 and `{"ok": false, "error": "channel_not_found"}`;
that `error` is what the node's error says. A message is posted at most once: only a rate
limit (HTTP 429, nothing posted) is retryable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flomation.engine.nodes.base import (
    AuthenticationError,
    EngineServices,
    NodeContext,
    NodeOutcome,
    NodeType,
    ServiceError,
)
from flomation.integrations.base import (
    PROBE_TIMEOUT_S,
    ConnectionType,
    IntegrationNode,
    connection_property,
)
from flomation.integrations.messages import TIMEOUT_PROPERTY, time_budget_s
from flomation.integrations.webapi import call_json, excerpt, join_url

__all__ = ["CONNECTION_TYPES", "DEFAULT_BASE_URL", "NODE_TYPES", "SLACK", "SlackMessageNode"]

DEFAULT_BASE_URL = "https://slack.com/api"

# Slack's `error` values that mean the token itself is refused.
_AUTH_ERRORS = frozenset(
    {"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired"}
)


async def slack_call(
    values: Mapping[str, Any],
    services: EngineServices,
    method: str,
    payload: Mapping[str, Any],
    timeout_s: float,
    *,
    repeatable: bool,
) -> dict[str, Any]:
    """One Web API method (`chat.postMessage`, `auth.test`); its `ok` answer, or the error."""
    token = values.get("bot_token")
    if not token:
        raise AuthenticationError("the Slack connection has no bot_token", field="connection")
    answer = await call_json(
        services,
        "POST",
        join_url(str(values.get("base_url") or DEFAULT_BASE_URL), method),
        service=f"Slack {method}",
        timeout_s=timeout_s,
        headers={"Authorization": f"Bearer {token}"},
        json_body=dict(payload),
        repeatable=repeatable,
    )
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 429 or body.get("error") == "ratelimited":
        wait = answer.headers.get("retry-after")
        raise ServiceError(
            f"Slack {method}: rate limited" + (f" (retry after {wait} s)" if wait else ""),
            retryable=True,
        )
    if answer.status >= 400 or not body:
        raise ServiceError(
            f"Slack {method} answered HTTP {answer.status}: {excerpt(answer.body or '')}"
        )
    if body.get("ok") is True:
        return body
    error = str(body.get("error") or "unknown_error")
    if error in _AUTH_ERRORS:
        raise AuthenticationError(f"Slack {method} refused the bot token: {error}")
    details = "".join(
        f"; {key}: {body[key]}" for key in ("needed", "provided", "detail") if body.get(key)
    )
    raise ServiceError(f"Slack {method} failed: {error}{details}")


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    body = await slack_call(
        values, services, "auth.test", {}, min(timeout_s, PROBE_TIMEOUT_S), repeatable=True
    )
    return f"connected to Slack workspace {body.get('team')!s} as {body.get('user')!s}"


SLACK = ConnectionType(
    type="slack",
    title="Slack",
    icon="slack",
    description="A Slack app's bot token (Web API).",
    probe=probe,
    schema={
        "type": "object",
        "properties": {
            "bot_token": {
                "type": "string",
                "title": "Bot token",
                "description": "xoxb-...",
                "x-secret": True,
            },
            "base_url": {
                "type": "string",
                "title": "Web API URL",
                "default": DEFAULT_BASE_URL,
                "pattern": "^https?://",
            },
        },
        "required": ["bot_token"],
        "additionalProperties": False,
    },
)


class SlackMessageNode(IntegrationNode):
    type = "slack.message"
    title = "Slack message"
    description = "Posts a message (text and/or Block Kit blocks) to a Slack channel."
    icon = "slack"
    group = "slack"
    connection_types: ClassVar[tuple[str, ...]] = ("slack",)
    config_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "channel": {
                "type": "string",
                "title": "Channel",
                "minLength": 1,
                "description": "A channel id (C0123...) or name (#general), or a user id.",
            },
            "text": {"type": "string", "title": "Text"},
            "blocks": {"type": "array", "items": {"type": "object"}, "title": "Blocks"},
            "thread_ts": {"type": "string", "description": "Reply in this message's thread."},
            "timeout_s": TIMEOUT_PROPERTY,
        },
        "required": ["connection", "channel"],
        "additionalProperties": False,
    }
    output_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"ts": {"type": "string"}, "channel": {"type": "string"}},
        "required": ["ts", "channel"],
    }

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        if not config.get("text") and not config.get("blocks"):
            return [("text", "give text, blocks or both")]
        return []

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        values = self.connect(ctx).values
        config = ctx.config
        payload: dict[str, Any] = {"channel": config["channel"]}
        for key in ("text", "blocks", "thread_ts"):
            if config.get(key):
                payload[key] = config[key]
        body = await slack_call(
            values,
            ctx.services,
            "chat.postMessage",
            payload,
            time_budget_s(ctx),
            repeatable=False,
        )
        return NodeOutcome({"ts": str(body.get("ts", "")), "channel": str(body.get("channel", ""))})


CONNECTION_TYPES: tuple[ConnectionType, ...] = (SLACK,)
NODE_TYPES: tuple[type[NodeType], ...] = (SlackMessageNode,)
