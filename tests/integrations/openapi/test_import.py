"""Importing real documents: the connection type and node types, and their stored form."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator, ValidationError

from flomation.integrations.openapi import ImportedService, import_openapi

from .petstore import fixture_text


@pytest.fixture(scope="module")
def petstore() -> ImportedService:
    return import_openapi("petstore", fixture_text("petstore3.yaml"))


@pytest.fixture(scope="module")
def apisguru() -> ImportedService:
    return import_openapi("apisguru", fixture_text("apisguru-2.2.0.yaml").encode())


def apisguru_variant() -> dict[str, Any]:
    """The APIs.guru document changed in the ways real documents often are: no
    `operationId`s, a path item's own parameters, an API key in the query, `nullable`."""
    doc: dict[str, Any] = yaml.safe_load(fixture_text("apisguru-2.2.0.yaml"))
    for item in doc["paths"].values():
        for operation in item.values():
            operation.pop("operationId", None)
    provider = doc["paths"]["/{provider}.json"]
    provider["parameters"] = provider["get"].pop("parameters")
    doc["components"]["securitySchemes"] = {
        "apikey": {"type": "apiKey", "in": "query", "name": "token"}
    }
    doc["security"] = [{"apikey": []}]
    doc["components"]["schemas"]["Metrics"]["properties"]["issues"]["nullable"] = True
    return doc


def node(service: ImportedService, operation: str) -> dict[str, Any]:
    [found] = [n.describe() for n in service.node_types if n.type.endswith("." + operation)]
    return found


def test_petstore_makes_its_connection_type(petstore: ImportedService) -> None:
    described = petstore.connection_type.describe()

    assert described["type"] == "openapi.petstore"
    assert described["title"] == "Swagger Petstore - OpenAPI 3.0"
    assert described["secret_fields"] == ["api_key"]
    assert "auth" not in described
    schema = described["schema"]
    assert schema["properties"]["api_key"]["x-secret"] is True
    # The document's only server is relative (`/v3`): the user gives the full URL.
    assert schema["properties"]["base_url"]["examples"] == ["/v3"]
    assert "default" not in schema["properties"]["base_url"]
    assert schema["required"] == ["base_url"]
    assert any("petstore_auth" in note and "implicit" in note for note in petstore.notes)
    json.dumps(described)


def test_petstore_makes_one_node_type_per_operation_in_document_order(
    petstore: ImportedService,
) -> None:
    assert [n.type for n in petstore.node_types] == [
        f"openapi.petstore.{op}"
        for op in (
            "addPet",
            "updatePet",
            "findPetsByStatus",
            "findPetsByTags",
            "getPetById",
            "updatePetWithForm",
            "deletePet",
            "uploadFile",
            "getInventory",
            "placeOrder",
            "getOrderById",
            "deleteOrder",
            "createUser",
            "createUsersWithListInput",
            "loginUser",
            "logoutUser",
            "getUserByName",
            "updateUser",
            "deleteUser",
        )
    ]
    for node_type in petstore.node_types:
        described = node_type.describe()
        assert described["connection_types"] == ["openapi.petstore"]
        assert described["group"] == "openapi.petstore"
        assert described["config_schema"]["properties"]["connection"]["x-template"] is False
        Draft202012Validator.check_schema(described["config_schema"])
        Draft202012Validator.check_schema(described["output_schema"])
        json.dumps(described)


def test_get_pet_by_id_takes_the_path_parameter(petstore: ImportedService) -> None:
    described = node(petstore, "getPetById")

    assert described["title"] == "Find pet by ID"
    config = described["config_schema"]
    assert config["required"] == ["connection", "path"]
    assert config["properties"]["path"] == {
        "type": "object",
        "properties": {
            "petId": {"type": "integer", "format": "int64", "description": "ID of pet to return"}
        },
        "required": ["petId"],
        "additionalProperties": False,
    }
    assert set(config["properties"]) == {"connection", "path", "timeout_s"}
    output = described["output_schema"]
    assert output["required"] == ["status", "headers", "body"]
    assert output["properties"]["body"] == {"$ref": "#/$defs/Pet"}
    assert set(output["$defs"]) == {"Pet", "Category", "Tag"}


def test_add_pet_takes_the_json_body_as_its_schema_says(petstore: ImportedService) -> None:
    config = node(petstore, "addPet")["config_schema"]

    assert config["required"] == ["connection", "body"]
    assert config["properties"]["body"] == {
        "$ref": "#/$defs/Pet",
        "description": "Create a new pet in the store",
    }
    pet = config["$defs"]["Pet"]
    assert pet["required"] == ["name", "photoUrls"]
    assert "xml" not in pet
    assert "x-swagger-router-model" not in pet
    assert "example" not in pet["properties"]["id"]
    validator = Draft202012Validator(config)
    validator.validate({"connection": "c", "body": {"name": "Rex", "photoUrls": []}})
    with pytest.raises(ValidationError, match="'name' is a required property"):
        validator.validate({"connection": "c", "body": {"photoUrls": []}})
    with pytest.raises(ValidationError, match="is not of type 'integer'"):
        validator.validate(
            {"connection": "c", "body": {"name": "R", "photoUrls": [], "category": {"id": "x"}}}
        )


def test_query_and_header_parameters(petstore: ImportedService) -> None:
    by_status = node(petstore, "findPetsByStatus")["config_schema"]
    assert by_status["required"] == ["connection"]
    assert by_status["properties"]["query"]["properties"]["status"] == {
        "type": "string",
        "enum": ["available", "pending", "sold"],
        "default": "available",
        "description": "Status values that need to be considered for filter",
    }
    delete = node(petstore, "deletePet")["config_schema"]
    assert delete["properties"]["headers"]["properties"] == {"api_key": {"type": "string"}}
    assert delete["properties"]["path"]["required"] == ["petId"]


def test_a_request_body_that_is_not_json_is_left_out(petstore: ImportedService) -> None:
    upload = node(petstore, "uploadFile")["config_schema"]

    assert "body" not in upload["properties"]
    assert any("uploadFile" in note and "octet-stream" in note for note in petstore.notes)


def test_json_and_yaml_of_one_document_import_the_same(petstore: ImportedService) -> None:
    as_json = json.dumps(yaml.safe_load(fixture_text("petstore3.yaml")))

    assert import_openapi("petstore", as_json).to_dict() == petstore.to_dict()


def test_the_stored_form_rebuilds_the_same_types(petstore: ImportedService) -> None:
    stored = json.loads(json.dumps(petstore.to_dict()))

    rebuilt = ImportedService.from_dict(stored)

    assert rebuilt.to_dict() == petstore.to_dict()
    assert rebuilt.connection_type.describe() == petstore.connection_type.describe()
    assert [n.describe() for n in rebuilt.node_types] == [n.describe() for n in petstore.node_types]


def test_a_stored_form_of_another_format_is_refused(petstore: ImportedService) -> None:
    with pytest.raises(ValueError, match="format 99"):
        ImportedService.from_dict({**petstore.to_dict(), "format": 99})


def test_the_apisguru_document_imports(apisguru: ImportedService) -> None:
    assert apisguru.notes == ()
    assert (apisguru.title, apisguru.version, apisguru.openapi) == ("APIs.guru", "2.2.0", "3.0")
    schema = apisguru.connection_type.schema
    assert schema["properties"]["base_url"]["default"] == "https://api.apis.guru/v2"
    assert "required" not in schema
    # `security: []`: no credentials at all.
    assert apisguru.schemes == ()
    assert apisguru.connection_type.secret_fields == frozenset()
    assert all(op.security == () for op in apisguru.operations)
    names = [n.type.removeprefix("openapi.apisguru.") for n in apisguru.node_types]
    assert names == [
        "listAPIs",
        "getMetrics",
        "getProviders",
        "getAPI",
        "getServiceAPI",
        "getProvider",
        "getServices",
    ]


def test_apisguru_parameters_from_components_and_the_operation(apisguru: ImportedService) -> None:
    config = node(apisguru, "getServiceAPI")["config_schema"]

    path = config["properties"]["path"]
    assert path["required"] == ["provider", "service", "api"]
    assert path["properties"]["provider"] == {"maxLength": 255, "minLength": 1, "type": "string"}
    assert config["required"] == ["connection", "path"]
    assert set(config["properties"]) == {"connection", "path", "timeout_s"}


def test_apisguru_output_schemas_follow_the_refs(apisguru: ImportedService) -> None:
    output = node(apisguru, "listAPIs")["output_schema"]

    assert output["properties"]["body"] == {"$ref": "#/$defs/APIs"}
    assert set(output["$defs"]) == {"APIs", "API", "ApiVersion"}
    validator = Draft202012Validator(output)
    entry = {
        "added": "2015-02-22T20:00:45.000Z",
        "preferred": "v3",
        "versions": {
            "v3": {
                "added": "2015-12-12T00:25:13.000Z",
                "updated": "2016-06-17T00:21:44.000Z",
                "info": {"title": "Drive"},
                "openapiVer": "2.0",
                "swaggerUrl": "https://example.com/s.json",
                "swaggerYamlUrl": "https://example.com/s.yaml",
            }
        },
    }
    validator.validate({"status": 200, "headers": {}, "body": {"googleapis.com:drive": entry}})
    with pytest.raises(ValidationError):
        validator.validate({"status": 200, "headers": {}, "body": {"x": {"preferred": "v3"}}})


def test_operations_without_ids_get_them_from_method_and_path() -> None:
    service = import_openapi("apisguru", json.dumps(apisguru_variant(), default=str))

    names = [n.type.removeprefix("openapi.apisguru.") for n in service.node_types]
    assert names == [
        "get_list_json",
        "get_metrics_json",
        "get_providers_json",
        "get_specs_provider_api_json",
        "get_specs_provider_service_api_json",
        "get_provider_json",
        "get_provider_services_json",
    ]
    assert len(set(names)) == len(names)
    # The path item's own parameters apply to its operations.
    config = node(service, "get_provider_json")["config_schema"]
    assert config["properties"]["path"]["required"] == ["provider"]


def test_the_variants_api_key_in_the_query_and_nullable() -> None:
    service = import_openapi("apisguru", json.dumps(apisguru_variant(), default=str))

    [scheme] = service.schemes
    assert (scheme.kind, scheme.location, scheme.param) == ("api_key", "query", "token")
    assert service.connection_type.secret_fields == frozenset({"apikey"})
    assert all(op.security == (("apikey",),) for op in service.operations)
    output = node(service, "get_metrics_json")["output_schema"]
    assert output["$defs"]["Metrics"]["properties"]["issues"]["type"] == ["integer", "null"]
    Draft202012Validator(output).validate(
        {
            "status": 200,
            "headers": {},
            "body": {"numSpecs": 1, "numAPIs": 1, "numEndpoints": 1, "issues": None},
        }
    )


OPENAPI_31 = {
    "openapi": "3.1.0",
    "info": {"title": "Tree service", "version": "2"},
    "servers": [
        {"url": "https://{region}.trees.example/api", "variables": {"region": {"default": "eu"}}}
    ],
    "security": [{"bearer": []}, {}],
    "paths": {
        "/trees/{tree-id}": {
            "put": {
                "parameters": [
                    {
                        "name": "tree-id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {"name": "trace", "in": "cookie", "schema": {"type": "string"}},
                    {
                        "name": "tags",
                        "in": "query",
                        "explode": False,
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/merge-patch+json": {
                            "schema": {
                                "$ref": "#/components/schemas/Node",
                                "description": "the root",
                            }
                        }
                    },
                },
            }
        }
    },
    "components": {
        "schemas": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": ["string", "null"]},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                },
            }
        },
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "partner": {"type": "apiKey", "in": "cookie", "name": "partner"},
            "machine": {
                "type": "oauth2",
                "flows": {
                    "clientCredentials": {
                        "tokenUrl": "https://auth.example/token",
                        "scopes": {"trees:write": "", "trees:read": ""},
                    }
                },
            },
        },
    },
}


def test_openapi_31_with_a_recursive_schema_and_every_kind_of_credential() -> None:
    service = import_openapi("trees", json.dumps(OPENAPI_31))

    assert service.openapi == "3.1"
    assert service.default_base_url == "https://eu.trees.example/api"
    assert service.connection_type.auth == "oauth2"
    properties = service.connection_type.schema["properties"]
    assert properties["token_url"]["default"] == "https://auth.example/token"
    assert properties["scopes"]["default"] == "trees:write trees:read"
    assert service.connection_type.secret_fields == frozenset(
        {"bearer_token", "basic_password", "partner", "client_secret", "access_token"}
    )
    assert [s.kind for s in service.schemes] == [
        "bearer",
        "basic",
        "api_key",
        "oauth2_client_credentials",
    ]
    [operation] = service.operations
    assert operation.operation_id == "put_trees_tree-id"
    assert operation.security == (("bearer",), ())
    assert [(p.name, p.location, p.style, p.explode) for p in operation.parameters] == [
        ("tree-id", "path", "simple", False),
        ("tags", "query", "form", False),
    ]
    config = operation.config_schema
    assert config["properties"]["body"] == {"$ref": "#/$defs/Node", "description": "the root"}
    assert config["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    deep = {"name": "a", "children": [{"name": None, "children": [{"name": "c", "children": []}]}]}
    validator = Draft202012Validator(config)
    validator.validate({"connection": "c", "path": {"tree-id": "t"}, "body": deep})
    with pytest.raises(ValidationError):
        validator.validate(
            {"connection": "c", "path": {"tree-id": "t"}, "body": {"children": [{"name": 3}]}}
        )


def test_the_stored_form_holds_each_shared_schema_once(petstore: ImportedService) -> None:
    stored = petstore.to_dict()

    assert list(stored["schemas"]) == ["Pet", "Category", "Tag", "ApiResponse", "Order", "User"]
    add_pet = next(o for o in stored["operations"] if o["operation_id"] == "addPet")
    assert "$defs" not in add_pet["config_schema"]
    assert add_pet["config_schema_defs"] == ["Pet", "Category", "Tag"]
    assert add_pet["output_schema_defs"] == ["Pet", "Category", "Tag"]


def test_many_operations_sharing_a_large_schema_store_it_once() -> None:
    big = {"type": "object", "properties": {f"field{i}": {"type": "string"} for i in range(300)}}
    paths = {
        f"/things{i}": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Big"}}
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
        for i in range(300)
    }
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "Many", "version": "1"},
        "paths": paths,
        "components": {"schemas": {"Big": big}},
    }

    service = import_openapi("many", json.dumps(doc))

    assert len(service.node_types) == 300
    stored = json.dumps(service.to_dict())
    assert stored.count('"field299"') == 1
    # Each operation adds its own small schemas, never another copy of the big one.
    assert len(stored) < len(json.dumps(big)) + 300 * 1_000
    # In memory the node types share the one converted schema.
    first, last = service.node_types[0], service.node_types[-1]
    assert first.config_schema["$defs"]["Big"] is last.config_schema["$defs"]["Big"]
