"""Generated Petstore nodes run in real flows against a Petstore on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from flomation.engine.executor import run_flow
from flomation.engine.nodes.registry import NodeRegistry
from flomation.engine.plan import FlowPlan
from flomation.engine.validation import InvalidDefinitionError
from flomation.integrations.openapi import ImportedService, import_openapi, node_registry

from .petstore import API_KEY, PetstoreServer, fixture_text, petstore_server


@pytest.fixture(scope="module")
def petstore() -> ImportedService:
    return import_openapi("petstore", fixture_text("petstore3.yaml"))


@pytest.fixture(scope="module")
def server() -> Iterator[PetstoreServer]:
    with petstore_server() as running:
        yield running


@pytest.fixture
def seen(server: PetstoreServer) -> PetstoreServer:
    server.requests.clear()
    return server


def registry_with(service: ImportedService) -> NodeRegistry:
    return node_registry([service])


def one_call(operation: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": f"openapi.petstore.{operation}", "config": config},
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.call.output }}"}},
        ],
        "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "out"}],
    }


async def run(
    service: ImportedService,
    server: PetstoreServer,
    operation: str,
    config: dict[str, Any],
    input: Any = None,
    api_key: str = API_KEY,
) -> dict[str, Any]:
    plan = FlowPlan.from_document(
        one_call(operation, {"connection": "shop", **config}), registry=registry_with(service)
    )
    connection = service.connection_type.connection(
        "shop", {"base_url": server.base_url, "api_key": api_key}
    )
    return await run_flow(plan, input, connections={"shop": connection})


def step(execution: dict[str, Any], node_id: str = "call") -> dict[str, Any]:
    return next(s for s in execution["steps"] if s["node_id"] == node_id)


async def test_get_pet_by_id_sends_the_path_and_the_api_key(petstore, seen) -> None:
    execution = await run(
        petstore, seen, "getPetById", {"path": {"petId": "{{ input.id }}"}}, {"id": 2}
    )

    assert execution["status"] == "succeeded", execution.get("error")
    output = execution["output"]
    assert output["status"] == 200
    assert output["body"]["name"] == "Tom"
    assert output["headers"]["content-type"] == "application/json"
    [request] = seen.requests
    assert (request.method, request.path) == ("GET", "/v3/pet/2")
    assert request.headers["api_key"] == API_KEY
    assert request.body is None


async def test_add_pet_sends_the_json_body(petstore, seen) -> None:
    pet = {"name": "Bo", "photoUrls": ["https://example.com/bo.png"], "status": "pending"}

    execution = await run(petstore, seen, "addPet", {"body": pet})

    assert execution["status"] == "succeeded", execution.get("error")
    assert execution["output"]["body"] == {"id": 10, **pet}
    [request] = seen.requests
    assert (request.method, request.path) == ("POST", "/v3/pet")
    assert request.headers["content-type"] == "application/json"
    assert request.body == pet
    # addPet asks for petstore_auth (an implicit flow the import cannot use): the connection's
    # API key goes along and the service decides.
    assert request.headers["api_key"] == API_KEY


async def test_find_by_status_sends_the_query(petstore, seen) -> None:
    execution = await run(petstore, seen, "findPetsByStatus", {"query": {"status": "sold"}})

    assert execution["status"] == "succeeded", execution.get("error")
    assert [p["name"] for p in execution["output"]["body"]] == ["Tom", "Kit"]
    [request] = seen.requests
    assert (request.method, request.path, request.query) == (
        "GET",
        "/v3/pet/findByStatus",
        {"status": ["sold"]},
    )


async def test_path_values_are_quoted_into_one_segment(petstore, seen) -> None:
    execution = await run(petstore, seen, "getUserByName", {"path": {"username": "../a/b c?d"}})

    assert execution["status"] == "succeeded", execution.get("error")
    [request] = seen.requests
    assert request.path == "/v3/user/..%2Fa%2Fb%20c%3Fd"
    assert request.query == {}


async def test_a_not_found_fails_the_node_with_the_services_message(petstore, seen) -> None:
    execution = await run(petstore, seen, "getPetById", {"path": {"petId": 99}})

    assert execution["status"] == "failed"
    error = step(execution)["error"]
    assert error["type"] == "http_status"
    assert error["message"] == "getPetById (GET /pet/{petId}) answered 404: Pet not found"
    assert error["attempt"] == 1  # a 404 is not retried


async def test_a_wrong_key_is_refused_with_what_the_service_said(petstore, seen) -> None:
    execution = await run(petstore, seen, "getPetById", {"path": {"petId": 1}}, api_key="nope")

    assert execution["status"] == "failed"
    error = step(execution)["error"]
    assert error["type"] == "authentication"
    assert error["message"] == (
        "getPetById (GET /pet/{petId}) answered 401: API key missing or wrong "
        "(check connection 'shop')"
    )


async def test_the_api_key_is_masked_in_what_is_recorded(petstore, seen) -> None:
    # The server echoes the key in its answer: the node uses it, the records must not hold it.
    execution = await run(petstore, seen, "getPetById", {"path": {"petId": 1}})

    assert execution["status"] == "succeeded", execution.get("error")
    assert seen.requests[0].headers["api_key"] == API_KEY
    recorded = json.dumps(execution)
    assert API_KEY not in recorded
    assert step(execution)["output"]["body"]["seen_key"] == "***"
    assert execution["output"]["body"]["seen_key"] == "***"


async def test_a_bad_config_is_refused_when_the_flow_is_validated(petstore) -> None:
    doc = one_call("getPetById", {"connection": "shop", "path": {"petId": "one"}})

    with pytest.raises(InvalidDefinitionError, match="petId"):
        FlowPlan.from_document(doc, registry=registry_with(petstore))


async def test_a_missing_path_parameter_is_refused_when_the_flow_is_validated(petstore) -> None:
    doc = one_call("getPetById", {"connection": "shop", "path": {}})

    with pytest.raises(InvalidDefinitionError, match="petId"):
        FlowPlan.from_document(doc, registry=registry_with(petstore))


async def test_a_connection_of_another_type_fails_the_node(petstore, seen) -> None:
    other = import_openapi("other", fixture_text("petstore3.yaml"))
    plan = FlowPlan.from_document(
        one_call("getPetById", {"connection": "shop", "path": {"petId": 1}}),
        registry=registry_with(petstore),
    )
    connection = other.connection_type.connection(
        "shop", {"base_url": seen.base_url, "api_key": API_KEY}
    )

    execution = await run_flow(plan, None, connections={"shop": connection})

    assert execution["status"] == "failed"
    assert step(execution)["error"]["type"] == "config"
    assert "openapi.petstore" in step(execution)["error"]["message"]
    assert seen.requests == []


async def test_types_rebuilt_from_the_stored_form_run_the_same(petstore, seen) -> None:
    stored = json.loads(json.dumps(petstore.to_dict()))
    rebuilt = ImportedService.from_dict(stored)

    execution = await run(rebuilt, seen, "findPetsByStatus", {"query": {"status": "available"}})

    assert execution["status"] == "succeeded", execution.get("error")
    assert [p["name"] for p in execution["output"]["body"]] == ["Rex"]


async def test_a_flow_using_an_operation_that_a_new_import_dropped_fails_validation() -> None:
    document = yaml.safe_load(fixture_text("petstore3.yaml"))
    del document["paths"]["/pet/{petId}"]["get"]
    reimported = import_openapi("petstore", json.dumps(document))
    doc = one_call("getPetById", {"connection": "shop", "path": {"petId": 1}})

    with pytest.raises(
        InvalidDefinitionError, match=r"unknown node type 'openapi\.petstore\.getPetById'"
    ):
        FlowPlan.from_document(doc, registry=registry_with(reimported))
