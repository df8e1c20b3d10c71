"""OpenAPI schema objects as JSON Schema 2020-12."""

from __future__ import annotations

from typing import Any

import pytest

from flomation.integrations.openapi.document import OpenApiDocumentError, Resolver
from flomation.integrations.openapi.schemas import SchemaConverter

COMPONENTS = {
    "components": {
        "schemas": {
            "Id": {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
            "Named": {"$ref": "#/components/schemas/Id"},
            "Count": {"type": "integer"},
        }
    }
}


def convert(schema: Any, version: str = "3.0") -> tuple[Any, dict[str, Any]]:
    converter = SchemaConverter(Resolver(COMPONENTS), version)
    uses: set[str] = set()
    converted = converter.convert(schema, "/here", uses)
    return converted, converter.defs_for(uses)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        (
            {"type": "string", "enum": ["a", "b"], "nullable": True},
            {"type": ["string", "null"], "enum": ["a", "b", None]},
        ),
        ({"nullable": True}, {}),
        (
            {"type": "number", "minimum": 1, "exclusiveMinimum": True, "maximum": 9},
            {"type": "number", "exclusiveMinimum": 1, "maximum": 9},
        ),
        (
            {"type": "number", "maximum": 9, "exclusiveMaximum": False},
            {"type": "number", "maximum": 9},
        ),
        ({"type": "file"}, {"type": "string"}),
        (
            {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        ),
        (
            {"type": "object", "x-internal": True, "xml": {"name": "o"}, "example": {"a": 1}},
            {"type": "object"},
        ),
        # Data is copied as written, even when it looks like a reference.
        ({"enum": [{"$ref": "#/nowhere"}]}, {"enum": [{"$ref": "#/nowhere"}]}),
        ({"default": {"$ref": "#/nowhere"}}, {"default": {"$ref": "#/nowhere"}}),
    ],
)
def test_the_30_dialect_becomes_2020_12(schema: Any, expected: Any) -> None:
    assert convert(schema)[0] == expected


def test_a_ref_becomes_a_def_and_brings_what_it_refers_to() -> None:
    converted, defs = convert({"properties": {"id": {"$ref": "#/components/schemas/Named"}}})

    assert converted == {"properties": {"id": {"$ref": "#/$defs/Named"}}}
    assert defs == {
        "Named": {"$ref": "#/$defs/Id"},
        "Id": {"type": "integer", "exclusiveMinimum": 0},
    }


def test_beside_a_ref_30_ignores_what_31_keeps() -> None:
    schema = {"$ref": "#/components/schemas/Count", "description": "how many"}

    assert convert(schema, "3.0")[0] == {"$ref": "#/$defs/Count"}
    assert convert(schema, "3.1")[0] == {"$ref": "#/$defs/Count", "description": "how many"}


@pytest.mark.parametrize(
    ("schema", "where", "what"),
    [
        ({"type": "text"}, "/here/type", "is not a type"),
        ({"type": ["string", "string"]}, "/here/type", "distinct types"),
        ({"required": True}, "/here/required", "list of property names"),
        ({"enum": "a"}, "/here/enum", "must be a list"),
        ({"minLength": -1}, "/here/minLength", "0 or more"),
        ({"maximum": "9"}, "/here/maximum", "must be a number"),
        ({"multipleOf": 0}, "/here/multipleOf", "more than 0"),
        ({"pattern": "(["}, "/here/pattern", "not a regular expression"),
        ({"properties": []}, "/here/properties", "must be an object"),
        ({"allOf": {}}, "/here/allOf", "must be a list"),
        ({"properties": {"a": {"items": 3}}}, "/here/properties/a/items", "must be an object"),
    ],
)
def test_what_would_break_validation_is_refused_where_it_is(
    schema: Any, where: str, what: str
) -> None:
    with pytest.raises(OpenApiDocumentError) as caught:
        convert(schema)

    assert caught.value.pointer == where
    assert what in caught.value.message
