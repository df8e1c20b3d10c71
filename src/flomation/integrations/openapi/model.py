"""What an import keeps of a document: its operations and its ways to authenticate, as plain
data that turns into JSON and back (the API stores it; a runner rebuilds node types from it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["AuthScheme", "Operation", "Parameter", "SecurityRequirement"]

# One alternative of an operation's `security`: the schemes that must all be applied.
SecurityRequirement = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Parameter:
    """A path, query or header parameter; its value is `config[location][name]`."""

    name: str
    location: str  # "path", "query" or "header"
    required: bool = False
    # How a query value that is a list or an object is written (OpenAPI's `style`:
    # `form`, `spaceDelimited`, `pipeDelimited`, `deepObject`; `explode`).
    style: str = "form"
    explode: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": self.location,
            "required": self.required,
            "style": self.style,
            "explode": self.explode,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Parameter:
        return cls(
            name=str(data["name"]),
            location=str(data["in"]),
            required=bool(data.get("required", False)),
            style=str(data.get("style", "form")),
            explode=bool(data.get("explode", True)),
        )


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation: how to make its request, and its node type's schemas."""

    operation_id: str  # as the node type names it: `openapi.<service>.<operation_id>`
    method: str  # upper case
    path: str  # the path template, `/pet/{petId}`
    title: str
    description: str
    parameters: tuple[Parameter, ...]
    has_body: bool
    # None: the document says nothing about security here (nor globally).
    security: tuple[SecurityRequirement, ...] | None
    config_schema: dict[str, Any]
    output_schema: dict[str, Any]
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "method": self.method,
            "path": self.path,
            "title": self.title,
            "description": self.description,
            "parameters": [p.to_dict() for p in self.parameters],
            "has_body": self.has_body,
            "security": None if self.security is None else [list(r) for r in self.security],
            "config_schema": self.config_schema,
            "output_schema": self.output_schema,
            "tags": list(self.tags),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        security = data.get("security")
        return cls(
            operation_id=str(data["operation_id"]),
            method=str(data["method"]),
            path=str(data["path"]),
            title=str(data.get("title", "")),
            description=str(data.get("description", "")),
            parameters=tuple(Parameter.from_dict(p) for p in data.get("parameters", ())),
            has_body=bool(data.get("has_body", False)),
            security=None if security is None else tuple(tuple(r) for r in security),
            config_schema=dict(data["config_schema"]),
            output_schema=dict(data.get("output_schema") or {}),
            tags=tuple(data.get("tags", ())),
        )


@dataclass(frozen=True, slots=True)
class AuthScheme:
    """A security scheme the connection can satisfy, and the connection fields it uses.

    `kind` is `api_key` (`location` header/query/cookie, `param` the name there), `bearer`,
    `basic`, or `oauth2_client_credentials` (the API obtains and refreshes the token and puts
    it in the `access_token` field; the node sends it as a bearer token)."""

    name: str  # the scheme's name in the document
    kind: str
    fields: tuple[str, ...]  # connection fields, the secret one last
    location: str = ""
    param: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "fields": list(self.fields),
            "location": self.location,
            "param": self.param,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthScheme:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            fields=tuple(str(f) for f in data.get("fields", ())),
            location=str(data.get("location", "")),
            param=str(data.get("param", "")),
        )
