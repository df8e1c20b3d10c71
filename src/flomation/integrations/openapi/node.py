"""The node type of an imported operation: builds the request from its config (path parameters
URL-quoted, query, headers, JSON body), adds the connection's credentials, and sends it through
the `http` node, so that the shared client, the egress policy, the node's timeout and the
response size limit are the same for every HTTP request a flow makes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, ClassVar, cast
from urllib.parse import quote

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    Connection,
    HttpStatusError,
    NodeContext,
    NodeOutcome,
)
from flomation.engine.nodes.http import DEFAULT_TIMEOUT_S, HttpNode, refreshed_connection
from flomation.integrations.base import IntegrationNode
from flomation.integrations.openapi.auth import apply_credentials, choose_credentials
from flomation.integrations.openapi.model import AuthScheme, Operation, Parameter

__all__ = ["RETRYABLE_STATUSES", "OpenApiOperationNode", "operation_node_type"]

# Answers that say "try again later"; any other status would answer the same again.
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MESSAGE_CHARS = 300
_HTTP = HttpNode()


class OpenApiOperationNode(IntegrationNode):
    """Base of the generated types; `operation_node_type` makes one subclass per operation."""

    group = "openapi"
    icon = "plug"
    operation: ClassVar[Operation]
    schemes: ClassVar[tuple[AuthScheme, ...]]
    default_base_url: ClassVar[str] = ""

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        operation = self.operation
        outcome, oauth = await self._attempt(ctx, connection)
        if outcome.output["status"] == 401 and oauth:
            # The service refused the OAuth token: one refresh through the API, one retry.
            refreshed = await refreshed_connection(ctx, connection)
            if refreshed is not None:
                connection = refreshed
                outcome, _ = await self._attempt(ctx, connection)
        status = outcome.output["status"]
        if not 200 <= status <= 299:
            said = (
                f"{operation.operation_id} ({operation.method} {operation.path}) answered "
                f"{status}{_message(outcome.output['body'])}"
            )
            if status == 401:
                raise AuthenticationError(f"{said} (check connection {connection.name!r})")
            if 300 <= status <= 399:
                said += " (redirects are not followed: the credentials would go along)"
            raise HttpStatusError(said, retryable=status in RETRYABLE_STATUSES)
        return NodeOutcome(outcome.output)

    async def _attempt(self, ctx: NodeContext, connection: Connection) -> tuple[NodeOutcome, bool]:
        """One request with `connection`'s credentials; and whether they hold an OAuth 2
        token (that the API can refresh)."""
        config = ctx.config
        operation = self.operation
        headers: dict[str, str] = {}
        query: dict[str, Any] = {}
        path_values = _section(config, "path")
        for parameter in operation.parameters:
            section = _section(config, _SECTION[parameter.location])
            value = section.get(parameter.name)
            if value is None:
                if parameter.required:
                    raise ConfigError(
                        f"{operation.operation_id} needs the {parameter.location} parameter "
                        f"{parameter.name!r}",
                        field=_SECTION[parameter.location],
                    )
                continue
            if parameter.location == "query":
                query.update(_query_items(parameter, value))
            elif parameter.location == "header":
                text = _text(value)
                if "\r" in text or "\n" in text:
                    raise ConfigError(
                        f"the header {parameter.name!r} cannot hold a line break", field="headers"
                    )
                headers[parameter.name] = text
        values = connection.values
        credentials = choose_credentials(self.schemes, operation.security, values)
        apply_credentials(credentials, values, headers, query)
        request: dict[str, Any] = {
            "method": operation.method,
            "url": self._base_url(connection) + _fill_path(operation.path, path_values),
            "headers": headers,
            "query": query,
            "timeout_s": config.get("timeout_s", DEFAULT_TIMEOUT_S),
            # The status is judged here, with the operation's name and the service's message.
            "expect_status": "100-599",
            # A redirect would carry the credentials (an API key header, a cookie) to wherever
            # it points; httpx only drops `Authorization` when the origin changes.
            "follow_redirects": False,
        }
        if operation.has_body and config.get("body") is not None:
            request["json"] = config["body"]
        outcome = await _HTTP.run(dataclasses.replace(ctx, config=request))
        oauth = any(scheme.kind == "oauth2_client_credentials" for scheme in credentials)
        return outcome, oauth

    def _base_url(self, connection: Connection) -> str:
        base = connection.values.get("base_url") or self.default_base_url
        if not isinstance(base, str) or not base.lower().startswith(("http://", "https://")):
            raise ConfigError(
                f"connection {connection.name!r} needs a base_url starting with http:// or "
                f"https:// (got {base!r})",
                field="connection",
            )
        return base.rstrip("/")


def operation_node_type(
    service: str,
    connection_type: str,
    operation: Operation,
    schemes: tuple[AuthScheme, ...],
    default_base_url: str,
) -> OpenApiOperationNode:
    """The node type `openapi.<service>.<operation_id>`: a subclass made for this operation."""
    attributes: dict[str, Any] = {
        "type": f"{connection_type}.{operation.operation_id}",
        "title": operation.title,
        "description": operation.description,
        "config_schema": operation.config_schema,
        "output_schema": operation.output_schema,
        "connection_types": (connection_type,),
        "group": connection_type,
        "retryable": True,
        "operation": operation,
        "schemes": schemes,
        "default_base_url": default_base_url,
    }
    name = f"OpenApi_{service}_{operation.operation_id}".replace("-", "_")
    cls = cast(type[OpenApiOperationNode], type(name, (OpenApiOperationNode,), attributes))
    return cls()


_SECTION = {"path": "path", "query": "query", "header": "headers"}


def _section(config: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = config.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must be an object of parameter values", field=key)
    return value


def _fill_path(template: str, values: Mapping[str, Any]) -> str:
    """The path with each `{name}` replaced by its value, quoted so that a value can never
    reach another path segment (`../admin`, `a/b`) or the query."""
    out = template
    for name, value in values.items():
        if value is not None:
            out = out.replace("{" + name + "}", quote(_text(value), safe=""))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


_DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


def _query_items(parameter: Parameter, value: Any) -> dict[str, Any]:
    """The query parameters one parameter's value becomes, as its `style` and `explode`
    say: `tags=a&tags=b` or `tags=a,b` (or `a b`, `a|b`); an object as `k=v` pairs, `k,v`
    text, or `name[k]=v` (`deepObject`)."""
    name, style = parameter.name, parameter.style
    if isinstance(value, Mapping):
        pairs = {key: _text(item) for key, item in value.items() if item is not None}
        if style == "deepObject":
            return {f"{name}[{key}]": item for key, item in pairs.items()}
        if parameter.explode:
            return pairs
        return {name: ",".join(f"{key},{item}" for key, item in pairs.items())}
    if isinstance(value, list):
        items = [_text(item) for item in value if item is not None]
        if parameter.explode:
            return {name: items}
        return {name: _DELIMITERS.get(style, ",").join(items)}
    return {name: _text(value)}


def _message(body: Any) -> str:
    """What the service said: the usual message fields of a JSON error, else the text."""
    if isinstance(body, Mapping):
        for key in ("message", "error_description", "detail", "error", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return f": {value[:MESSAGE_CHARS]}"
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return f": {value['message'][:MESSAGE_CHARS]}"
    if body in (None, ""):
        return ""
    text = body if isinstance(body, str) else json.dumps(body)
    return f": {text[:MESSAGE_CHARS]}"
