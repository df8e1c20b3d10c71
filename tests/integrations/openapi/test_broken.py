"""Documents that cannot be imported are refused, naming the first broken place."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from flomation.integrations.openapi import MAX_DOCUMENT_BYTES, OpenApiDocumentError, import_openapi

from .petstore import fixture_text

PETSTORE: dict[str, Any] = yaml.safe_load(fixture_text("petstore3.yaml"))
PET_BY_ID = "/paths/~1pet~1{petId}"


def broken(change: Callable[[dict[str, Any]], None]) -> str:
    doc = copy.deepcopy(PETSTORE)
    change(doc)
    return json.dumps(doc)


def refused(document: bytes | str) -> OpenApiDocumentError:
    with pytest.raises(OpenApiDocumentError) as caught:
        import_openapi("petstore", document)
    return caught.value


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _delete(path: list[str | int]) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _parameter_cycle(doc: dict[str, Any]) -> None:
    doc["components"]["parameters"] = {
        "a": {"$ref": "#/components/parameters/b"},
        "b": {"$ref": "#/components/parameters/a"},
    }
    doc["paths"]["/pet/findByStatus"]["get"]["parameters"] = [{"$ref": "#/components/parameters/a"}]


CASES = {
    "responses missing": (
        _delete(["paths", "/pet/findByStatus", "get", "responses"]),
        "/paths/~1pet~1findByStatus/get/responses",
        "missing",
    ),
    "schema $ref that does not resolve": (
        _set(["components", "schemas", "Pet", "properties", "category"], {"$ref": "#/nope/Cat"}),
        "/components/schemas/Pet/properties/category/$ref",
        "does not resolve",
    ),
    "parameter $ref that does not resolve": (
        _set(["paths", "/pet/{petId}", "get", "parameters", 0], {"$ref": "#/components/x"}),
        f"{PET_BY_ID}/get/parameters/0/$ref",
        "does not resolve",
    ),
    "$ref outside the document": (
        _set(["paths", "/pet", "post", "requestBody"], {"$ref": "bodies.yaml#/Pet"}),
        "/paths/~1pet/post/requestBody/$ref",
        "outside the document",
    ),
    "$ref chain that comes back": (
        _parameter_cycle,
        "/components/parameters/b/$ref",
        "refers back to itself",
    ),
    "OpenAPI 3.2": (_set(["openapi"], "3.2.0"), "/openapi", "only 3.0 and 3.1"),
    "Swagger 2": (
        lambda doc: (doc.pop("openapi"), doc.update(swagger="2.0")),
        "/swagger",
        "Swagger 2.0",
    ),
    "info without a title": (_delete(["info", "title"]), "/info/title", "missing"),
    "path that does not start with /": (
        lambda doc: doc["paths"].update({"pets": doc["paths"].pop("/pet")}),
        "/paths/pets",
        "must start with '/'",
    ),
    "path parameter not described": (
        _set(["paths", "/pet/{petId}", "get", "parameters"], []),
        f"{PET_BY_ID}/get/parameters",
        "'petId'",
    ),
    "path parameter not required": (
        _set(["paths", "/pet/{petId}", "get", "parameters", 0, "required"], False),
        f"{PET_BY_ID}/get/parameters/0/required",
        "must be required",
    ),
    "parameter in an unknown place": (
        _set(["paths", "/pet/findByStatus", "get", "parameters", 0, "in"], "body"),
        "/paths/~1pet~1findByStatus/get/parameters/0/in",
        "query, header, path, cookie",
    ),
    "duplicate operationId": (
        _set(["paths", "/pet/findByTags", "get", "operationId"], "findPetsByStatus"),
        "/paths/~1pet~1findByTags/get/operationId",
        "also used at /paths/~1pet~1findByStatus/get",
    ),
    "schema that is not a schema": (
        _set(["components", "schemas", "Pet", "properties", "name", "type"], "text"),
        "/components/schemas/Pet/properties/name/type",
        "not a valid schema",
    ),
    "unknown security scheme": (
        _set(["paths", "/pet", "put", "security"], [{"oauth": []}]),
        "/paths/~1pet/put/security/0/oauth",
        "not in /components/securitySchemes",
    ),
    "api key scheme without a place": (
        _delete(["components", "securitySchemes", "api_key", "in"]),
        "/components/securitySchemes/api_key/in",
        "query, header or cookie",
    ),
    "header parameter whose name is not a header name": (
        _set(["paths", "/pet/{petId}", "delete", "parameters", 0, "name"], "api key:"),
        f"{PET_BY_ID}/delete/parameters/0/name",
        "is not a header name",
    ),
    "api key header whose name is not a header name": (
        _set(["components", "securitySchemes", "api_key", "name"], "api\nkey"),
        "/components/securitySchemes/api_key/name",
        "is not a header name",
    ),
    "server without a url": (
        _set(["servers"], [{"description": "x"}]),
        "/servers/0/url",
        "missing",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_broken_document_is_refused_at_its_first_broken_place(case: str) -> None:
    change, where, what = CASES[case]

    error = refused(broken(change))

    assert error.pointer == where
    assert what in error.message
    assert str(error).startswith(where + ": ")


def test_the_first_of_two_problems_is_named() -> None:
    def two(doc: dict[str, Any]) -> None:
        del doc["paths"]["/pet/findByTags"]["get"]["responses"]
        del doc["paths"]["/store/inventory"]["get"]["responses"]

    assert refused(broken(two)).pointer == "/paths/~1pet~1findByTags/get/responses"


def test_a_document_past_5_mib_is_refused() -> None:
    error = refused(b"{" + b" " * MAX_DOCUMENT_BYTES + b"}")

    assert (error.pointer, "at most 5242880" in error.message) == ("", True)


@pytest.mark.parametrize(
    ("document", "what"),
    [
        (b"{'openapi': [", "neither JSON nor YAML: did not find expected node content (line"),
        ("just words", "not a JSON or YAML object"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (
            "openapi: !!python/object/apply:os.system ['true']",
            "neither JSON nor YAML: could not determine a constructor",
        ),
    ],
)
def test_what_is_not_json_or_yaml_is_refused(document: bytes | str, what: str) -> None:
    error = refused(document)

    assert error.pointer == ""
    assert what in error.message


def test_a_bad_service_name_is_refused() -> None:
    with pytest.raises(ValueError, match="service name"):
        import_openapi("pet store", fixture_text("petstore3.yaml"))


@pytest.mark.parametrize(
    "document",
    [
        "[" * 100_000 + "]" * 100_000,
        "openapi: " + "[" * 5_000 + "]" * 5_000,
    ],
)
def test_a_document_nested_too_deeply_to_read_is_refused(document: str) -> None:
    error = refused(document)

    assert error.pointer == ""
    # Python's parsers recurse until they cannot; libyaml's stops at 1000 levels itself.
    assert error.message in (
        "the document is nested too deeply",
        "the document is neither JSON nor YAML: exceeded maximum nesting depth (line 1, "
        "column 1009)",
    )


def test_a_schema_nested_too_deeply_to_convert_is_refused() -> None:
    deep = '{"type": "string"}'
    for _ in range(450):
        deep = '{"type": "object", "properties": {"a": ' + deep + "}}"

    def deep_body(doc: dict[str, Any]) -> None:
        doc["components"]["schemas"]["Pet"] = "DEEP"

    error = refused(broken(deep_body).replace('"DEEP"', deep))

    assert (error.pointer, error.message) == ("", "the document is nested too deeply")
