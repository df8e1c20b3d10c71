"""Schemas the OpenAPI document names without a route's model to carry them: bodies FastAPI
would file under the wrong media type (problem+json, Server-Sent Events)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

_REF = "#/components/schemas/{model}"


def component_ref(name: str) -> dict[str, str]:
    """A reference to the component `name` (added by `document_components`)."""
    return {"$ref": _REF.format(model=name)}


def document_components(app: FastAPI, types: Mapping[str, Any]) -> None:
    """Add each of `types` (a model or any type Pydantic describes) to the app's OpenAPI
    components under its name, with the schemas it refers to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        document = build()  # built once, then kept by the app
        if fresh:
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, type_ in types.items():
                schema = TypeAdapter(type_).json_schema(ref_template=_REF, mode="serialization")
                for referred, definition in schema.pop("$defs", {}).items():
                    schemas.setdefault(referred, definition)
                schemas[name] = schema
        return document

    app.openapi = openapi  # type: ignore[method-assign]
