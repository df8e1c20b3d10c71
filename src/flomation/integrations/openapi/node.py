"""The node type of an imported operation: builds the request from its config (path parameters
URL-quoted, query, headers, JSON body), adds the connection's credentials, and sends it through
the `http` node, so that the shared client, the egress policy, the node's timeout, redirects
and the response size limit are the same for every HTTP request a flow makes."""

from __future__ import annotations

import base64
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
from flomation.engine.nodes.http import DEFAULT_TIMEOUT_S, HttpNode
from flomation.integrations.base import IntegrationNode
from flomation.integrations.openapi.model import AuthScheme, Operation

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
                query[parameter.name] = _query_value(value, parameter.explode)
            elif parameter.location == "header":
                text = _text(value)
                if "\r" in text or "\n" in text:
                    raise ConfigError(
                        f"the header {parameter.name!r} cannot hold a line break", field="headers"
                    )
                headers[parameter.name] = text
        cookies = _apply_auth(self._credentials(connection), connection, headers, query)
        if cookies:
            headers["Cookie"] = "; ".join(cookies)
        request: dict[str, Any] = {
            "method": operation.method,
            "url": self._base_url(connection) + _fill_path(operation.path, path_values),
            "headers": headers,
            "query": query,
            "timeout_s": config.get("timeout_s", DEFAULT_TIMEOUT_S),
            # The status is judged here, with the operation's name and the service's message.
            "expect_status": "100-599",
        }
        if operation.has_body and config.get("body") is not None:
            request["json"] = config["body"]
        outcome = await _HTTP.run(dataclasses.replace(ctx, config=request))
        status = outcome.output["status"]
        if not 200 <= status <= 299:
            said = (
                f"{operation.operation_id} ({operation.method} {operation.path}) answered "
                f"{status}{_message(outcome.output['body'])}"
            )
            if status == 401:
                raise AuthenticationError(f"{said} (check connection {connection.name!r})")
            raise HttpStatusError(said, retryable=status in RETRYABLE_STATUSES)
        return NodeOutcome(outcome.output)

    def _base_url(self, connection: Connection) -> str:
        base = connection.values.get("base_url") or self.default_base_url
        if not isinstance(base, str) or not base.lower().startswith(("http://", "https://")):
            raise ConfigError(
                f"connection {connection.name!r} needs a base_url starting with http:// or "
                f"https:// (got {base!r})",
                field="connection",
            )
        return base.rstrip("/")

    def _credentials(self, connection: Connection) -> list[AuthScheme]:
        """The schemes to apply: the first of the operation's alternatives that the connection
        can satisfy; an operation that may go without (`{}`) goes without when none can; when
        the document says nothing, or asks for what the connection cannot give (an implicit
        OAuth flow), every credential the connection has is sent and the service decides."""
        configured = {s.name: s for s in self.schemes if _has_values(s, connection.values)}
        security = self.operation.security
        if security is not None:
            for requirement in security:
                if requirement and all(name in configured for name in requirement):
                    return [configured[name] for name in requirement]
            if () in security:
                return []
        return list(configured.values())


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


def _query_value(value: Any, explode: bool) -> Any:
    if isinstance(value, list):
        items = [_text(item) for item in value if item is not None]
        return items if explode else ",".join(items)
    return _text(value)


def _has_values(scheme: AuthScheme, values: Mapping[str, Any]) -> bool:
    # The secret field (an API key, a token, a password) is the one that must be there.
    secret = scheme.fields[-1] if scheme.kind != "basic" else scheme.fields[0]
    value = values.get(secret)
    return isinstance(value, str) and value != ""


def _apply_auth(
    schemes: list[AuthScheme],
    connection: Connection,
    headers: dict[str, str],
    query: dict[str, Any],
) -> list[str]:
    """Adds the credentials to the request; returns the cookies to send."""
    values = connection.values
    cookies: list[str] = []
    for scheme in schemes:
        if scheme.kind == "api_key":
            key = str(values[scheme.fields[0]])
            if scheme.location == "header":
                headers[scheme.param] = key
            elif scheme.location == "query":
                query[scheme.param] = key
            else:
                cookies.append(f"{scheme.param}={quote(key, safe='')}")
        elif scheme.kind == "basic":
            user, password = (str(values.get(f) or "") for f in scheme.fields)
            pair = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        else:  # bearer, oauth2_client_credentials: a token in the Authorization header
            headers["Authorization"] = f"Bearer {values[scheme.fields[-1]]}"
    return cookies


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
