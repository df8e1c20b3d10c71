"""An imported service: its connection type and node types, and the JSON that carries them.

`to_dict()` is what the API stores for an organisation and what a runner's claim can carry;
`from_dict()` rebuilds the same types without the document (nor parsing it again). The named
schemas the node types share are stored once (`schemas`), each operation naming the ones its
config and output schemas use, so the stored form grows with the document, not with the
number of operations times the schemas they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from flomation.integrations.base import ConnectionType
from flomation.integrations.openapi.model import AuthScheme, Operation
from flomation.integrations.openapi.node import OpenApiOperationNode, operation_node_type
from flomation.integrations.openapi.probe import probe_service

__all__ = ["FORMAT", "ImportedService"]

# The version of `to_dict()`'s shape; `from_dict` refuses others.
FORMAT = 1


@dataclass(frozen=True)
class ImportedService:
    """What `import_openapi` made of a document."""

    name: str
    title: str
    description: str
    version: str  # the document's `info.version`
    openapi: str  # "3.0" or "3.1"
    default_base_url: str
    connection_schema: dict[str, Any]
    auth: str | None  # "oauth2" when the API obtains the tokens (client credentials)
    schemes: tuple[AuthScheme, ...]
    operations: tuple[Operation, ...]
    # What the import left out and why (an implicit OAuth flow, an XML-only request body).
    notes: tuple[str, ...] = ()
    connection_type: ConnectionType = field(init=False, repr=False, compare=False)
    node_types: tuple[OpenApiOperationNode, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        type_name = f"openapi.{self.name}"
        object.__setattr__(
            self,
            "connection_type",
            ConnectionType(
                type=type_name,
                title=self.title,
                schema=self.connection_schema,
                probe=partial(probe_service, self.schemes, self.default_base_url),
                auth=self.auth,
                icon="plug",
                description=self.description,
            ),
        )
        object.__setattr__(
            self,
            "node_types",
            tuple(
                operation_node_type(
                    self.name, type_name, operation, self.schemes, self.default_base_url
                )
                for operation in self.operations
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        shared: dict[str, Any] = {}
        operations = []
        for operation in self.operations:
            stored = operation.to_dict()
            for key in ("config_schema", "output_schema"):
                stored[key], stored[f"{key}_defs"] = _split_defs(stored[key], shared)
            operations.append(stored)
        return {
            "format": FORMAT,
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "version": self.version,
            "openapi": self.openapi,
            "default_base_url": self.default_base_url,
            "connection_schema": self.connection_schema,
            "auth": self.auth,
            "schemes": [scheme.to_dict() for scheme in self.schemes],
            "schemas": shared,
            "operations": operations,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImportedService:
        if data.get("format") != FORMAT:
            raise ValueError(
                f"an imported service of format {data.get('format')!r}; this version reads "
                f"format {FORMAT}"
            )
        return cls(
            name=str(data["name"]),
            title=str(data["title"]),
            description=str(data.get("description", "")),
            version=str(data.get("version", "")),
            openapi=str(data.get("openapi", "")),
            default_base_url=str(data.get("default_base_url", "")),
            connection_schema=dict(data["connection_schema"]),
            auth=data.get("auth"),
            schemes=tuple(AuthScheme.from_dict(s) for s in data.get("schemes", ())),
            operations=tuple(
                Operation.from_dict(_join_defs(stored, data.get("schemas") or {}))
                for stored in data.get("operations", ())
            ),
            notes=tuple(str(n) for n in data.get("notes", ())),
        )


def _split_defs(
    schema: Mapping[str, Any], shared: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The schema without its `$defs`, which go into `shared`, and their names."""
    own = dict(schema)
    defs = own.pop("$defs", None) or {}
    shared.update(defs)
    return own, list(defs)


def _join_defs(stored: Mapping[str, Any], shared: Mapping[str, Any]) -> dict[str, Any]:
    """A stored operation with its schemas' `$defs` put back from `shared`."""
    operation = dict(stored)
    for key in ("config_schema", "output_schema"):
        names = operation.pop(f"{key}_defs", None) or []
        if names:
            missing = [name for name in names if name not in shared]
            if missing:
                raise ValueError(
                    f"stored operation {operation.get('operation_id')!r} uses "
                    f"schemas that are not stored: {', '.join(missing)}"
                )
            operation[key] = {**operation[key], "$defs": {name: shared[name] for name in names}}
    return operation
