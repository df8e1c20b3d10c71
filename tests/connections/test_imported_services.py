"""Imported OpenAPI services through the API, on SQLite and PostgreSQL: importing the Petstore
makes a connection type and node types for that organisation only, broken documents are
refused with the JSON pointer of the problem, connections of the imported type are checked
against its schema, a flow using `openapi.petstore.getPetById` runs on a runner (the claim
carries the service) against a Petstore on loopback, and a re-import without that operation
makes saving the flow fail naming it."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from flomation.db.session import Database
from flomation.engine.nodes.base import EngineServices
from flomation.protocol import ProbeRequest
from flomation.runner.local_secrets import LocalSecrets
from flomation.runner.probes import answer_probe
from tests.connections.test_connection_runs import runner, stored
from tests.factories import Actor, make_actor
from tests.integrations.openapi.petstore import (
    API_KEY,
    PetstoreServer,
    fixture_text,
    petstore_server,
)
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, runner_client

PETSTORE_TEXT = fixture_text("petstore3.yaml")
PETSTORE: dict[str, Any] = yaml.safe_load(PETSTORE_TEXT)
IMPORT = "/api/v1/connection-types/openapi"


@pytest.fixture(scope="module")
def shop() -> Iterator[PetstoreServer]:
    with petstore_server() as running:
        yield running


def without_get_pet_by_id() -> dict[str, Any]:
    doc = copy.deepcopy(PETSTORE)
    del doc["paths"]["/pet/{petId}"]["get"]
    return doc


def pet_flow(connection: str = "shop") -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "call",
                "type": "openapi.petstore.getPetById",
                "config": {"connection": connection, "path": {"petId": "{{ input.id }}"}},
            },
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.call.output }}"}},
        ],
        "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "out"}],
    }


async def import_petstore(client: httpx.AsyncClient, document: Any = PETSTORE_TEXT) -> Any:
    answer = await client.post(IMPORT, json={"name": "petstore", "document": document})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_import_makes_types_for_that_organisation_only(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    other = await make_actor(database, role="owner")
    async with api.client(owner.headers) as client, api.client(other.headers) as stranger:
        made = await import_petstore(client)
        assert made["connection_type"]["type"] == "openapi.petstore"
        assert made["connection_type"]["secret_fields"] == ["api_key"]
        types = {item["type"] for item in made["node_types"]}
        assert "openapi.petstore.getPetById" in types
        assert "openapi.petstore.addPet" in types
        # The Petstore's OAuth 2 scheme is an implicit flow: left out, and said so.
        assert any("petstore_auth" in note for note in made["notes"])

        mine = (await client.get("/api/v1/connection-types")).json()
        theirs = (await stranger.get("/api/v1/connection-types")).json()
        assert "openapi.petstore" in {item["type"] for item in mine}
        assert "openapi.petstore" not in {item["type"] for item in theirs}
        assert "postgres" in {item["type"] for item in theirs}

        my_nodes = (await client.get("/api/v1/node-types")).json()["items"]
        their_nodes = (await stranger.get("/api/v1/node-types")).json()["items"]
        assert "openapi.petstore.getPetById" in {item["type"] for item in my_nodes}
        assert not any(item["type"].startswith("openapi.") for item in their_nodes)
        assert "http" in {item["type"] for item in their_nodes}

        listed = (await client.get(IMPORT)).json()
        assert [(item["name"], item["type"]) for item in listed] == [
            ("petstore", "openapi.petstore")
        ]
        assert listed[0]["operation_count"] == len(types)
        assert (await stranger.get(IMPORT)).json() == []
        assert (await stranger.get(f"{IMPORT}/petstore")).status_code == 404
        one = await client.get(f"{IMPORT}/petstore")
        assert one.status_code == 200
        assert one.json()["connection_type"]["type"] == "openapi.petstore"


async def test_broken_documents_and_bad_names_are_refused(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    doc = copy.deepcopy(PETSTORE)
    del doc["paths"]["/pet/findByStatus"]["get"]["responses"]
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    async with api.client(owner.headers) as client, api.client(viewer.headers) as reader:
        answer = await client.post(IMPORT, json={"name": "petstore", "document": json.dumps(doc)})
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["pointer"] == "/paths/~1pet~1findByStatus/get/responses"
        [error] = problem["errors"]
        assert error["loc"] == ["body", "document"]
        assert error["pointer"] == "/paths/~1pet~1findByStatus/get/responses"

        not_yaml = await client.post(IMPORT, json={"name": "petstore", "document": "a: [b"})
        assert not_yaml.status_code == 422
        assert not_yaml.json()["pointer"] == ""

        bad_name = await client.post(IMPORT, json={"name": "pet-store", "document": PETSTORE_TEXT})
        assert bad_name.status_code == 422
        assert bad_name.json()["errors"][0]["loc"] == ["body", "name"]

        forbidden = await reader.post(IMPORT, json={"name": "petstore", "document": PETSTORE_TEXT})
        assert forbidden.status_code == 403
        # Nothing was stored by any of them.
        assert (await client.get(IMPORT)).json() == []


async def test_connections_of_the_imported_type_fit_its_schema(
    api: LiveServer, owner: Actor, shop: PetstoreServer
) -> None:
    async with api.client(owner.headers) as client:
        missing = await client.put(
            "/api/v1/connections/shop",
            json={"type": "openapi.petstore", "values": {"base_url": shop.base_url}},
        )
        assert missing.status_code == 422
        assert "Unknown connection type 'openapi.petstore'" in missing.json()["detail"]

        await import_petstore(client)
        wrong = await client.put(
            "/api/v1/connections/shop",
            json={"type": "openapi.petstore", "values": {"base_url": 5, "api_key": API_KEY}},
        )
        assert wrong.status_code == 422
        assert ["body", "values", "base_url"] in [e["loc"] for e in wrong.json()["errors"]]
        assert API_KEY not in wrong.text

        put = await client.put(
            "/api/v1/connections/shop",
            json={
                "type": "openapi.petstore",
                "values": {"base_url": shop.base_url, "api_key": API_KEY},
            },
        )
        assert put.status_code == 200, put.text
        # Only the secret field is masked: the base URL is an ordinary one.
        assert put.json()["values"] == {"base_url": shop.base_url, "api_key": "***"}
        listed = (await client.get("/api/v1/connections")).json()["items"]
        assert listed[0]["values"] == {"base_url": shop.base_url, "api_key": "***"}
        got = (await client.get("/api/v1/connections/shop")).json()
        assert got["values"] == {"base_url": shop.base_url, "api_key": "***"}


async def run_pet_flow(
    api: LiveServer, database: Database, owner: Actor, flow_id: str, pet_id: int
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Request the flow through the API and run it on a runner: (claim, execution, raw)."""
    async with api.client(owner.headers) as client:
        requested = await client.post(
            f"/api/v1/flows/{flow_id}/executions", json={"input": {"id": pet_id}}
        )
        assert requested.status_code in (200, 201, 202), requested.text
        execution_id = requested.json()["id"]
    async with runner(api, database, owner, LocalSecrets({})) as harness:
        [payload] = await harness.claim()
        await asyncio.wait_for(harness.start(payload), 20)
    execution, raw = await stored(api, owner, execution_id)
    return payload, execution, raw


async def test_a_flow_of_imported_nodes_runs_and_a_reimport_can_break_it(
    api: LiveServer, database: Database, owner: Actor, shop: PetstoreServer
) -> None:
    async with api.client(owner.headers) as client:
        await import_petstore(client)
        put = await client.put(
            "/api/v1/connections/shop",
            json={
                "type": "openapi.petstore",
                "values": {"base_url": shop.base_url, "api_key": API_KEY},
            },
        )
        assert put.status_code == 200, put.text
        created = await client.post(
            "/api/v1/flows", json={"name": "pets", "definition": pet_flow()}
        )
        assert created.status_code == 201, created.text
        flow_id = created.json()["id"]

    claim, execution, raw = await run_pet_flow(api, database, owner, flow_id, 2)
    # The claim carried the service (only it) and the connection.
    assert [service["name"] for service in claim["imported_services"]] == ["petstore"]
    assert claim["connections"]["shop"]["type"] == "openapi.petstore"
    assert execution["status"] == "succeeded", execution
    output = execution["output"]
    assert output["status"] == 200
    assert output["body"]["name"] == "Tom"
    assert output["body"]["status"] == "sold"
    # The server answered with the key it was given: masked in every stored trace.
    assert output["body"]["seen_key"] == "***"
    assert API_KEY not in raw
    assert any(seen.path == "/v3/pet/2" for seen in shop.requests)

    # A 404 from the service fails the node naming the operation and what it said.
    _, missing, _ = await run_pet_flow(api, database, owner, flow_id, 99)
    assert missing["status"] == "failed"
    assert "getPetById" in missing["error"]["message"]
    assert "Pet not found" in missing["error"]["message"]

    async with api.client(owner.headers) as client:
        # Deleting the service is refused while the flow uses it.
        refused = await client.delete(f"{IMPORT}/petstore")
        assert refused.status_code == 409
        assert refused.json()["flows"] == [{"id": flow_id, "name": "pets"}]

        await import_petstore(client, without_get_pet_by_id())
        saved = await client.put(
            f"/api/v1/flows/{flow_id}", json={"definition": pet_flow(), "base_revision": 1}
        )
        assert saved.status_code == 422
        assert "openapi.petstore.getPetById" in saved.text
        validated = await client.post("/api/v1/flows/validate", json={"definition": pet_flow()})
        assert validated.status_code == 422
        assert "openapi.petstore.getPetById" in validated.text

        # Brought back, the flow saves again; forced, the delete goes through.
        await import_petstore(client)
        again = await client.put(
            f"/api/v1/flows/{flow_id}", json={"definition": pet_flow(), "base_revision": 1}
        )
        assert again.status_code == 200, again.text
        forced = await client.delete(f"{IMPORT}/petstore", params={"force": "true"})
        assert forced.status_code == 204
        assert (await client.get(IMPORT)).json() == []
        gone = await client.delete(f"{IMPORT}/petstore")
        assert gone.status_code == 404


async def test_a_connection_of_the_imported_type_is_tested_on_a_runner(
    api: LiveServer, database: Database, owner: Actor, shop: PetstoreServer
) -> None:
    wrong_key = "wrong-key-7c1d2e"
    client_runner = runner_client(
        api.base_url, await make_runner_token(database, owner.organization_id)
    )
    await client_runner.register(labels={}, max_concurrent=1)
    try:
        async with api.client(owner.headers) as client:
            await import_petstore(client)
            results = []
            for key in (API_KEY, wrong_key):
                values = {"base_url": shop.base_url, "api_key": key}
                put = await client.put(
                    "/api/v1/connections/shop", json={"type": "openapi.petstore", "values": values}
                )
                assert put.status_code == 200, put.text
                asked = asyncio.create_task(client.post("/api/v1/connections/shop/test"))
                answer = await client_runner.call(
                    "POST", "/claim", {"free_slots": 1, "wait_s": 10, "probes": True}
                )
                [probe] = answer["probes"]
                request = ProbeRequest.model_validate(probe)
                # The probe carries the service, so a runner that never saw it can test it.
                assert request.imported_service is not None
                assert request.imported_service["name"] == "petstore"
                await answer_probe(client_runner, request, EngineServices())
                tested = await asyncio.wait_for(asked, 20)
                assert tested.status_code == 200, tested.text
                results.append(tested.json())
        accepted, refused = results
        assert accepted["ok"] is True, accepted
        assert refused["ok"] is False, refused
        assert wrong_key not in refused["message"]
    finally:
        await client_runner.aclose()


async def test_two_imports_of_one_name_at_once_leave_one_service(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        first, second = await asyncio.gather(
            client.post(IMPORT, json={"name": "petstore", "document": PETSTORE_TEXT}),
            client.post(
                IMPORT,
                json={"name": "petstore", "document": json.dumps(without_get_pet_by_id())},
            ),
        )
        assert (first.status_code, second.status_code) == (200, 200), first.text + second.text
        listed = (await client.get(IMPORT)).json()
        assert [item["name"] for item in listed] == ["petstore"]
        counts = {len(first.json()["node_types"]), len(second.json()["node_types"])}
        assert listed[0]["operation_count"] in counts


async def test_an_imported_node_refuses_a_connection_of_another_type(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        await import_petstore(client)
        put = await client.put(
            "/api/v1/connections/shop",
            json={"type": "conntest", "values": {"host": "db.internal", "port": 5432}},
        )
        assert put.status_code == 200, put.text
        created = await client.post(
            "/api/v1/flows", json={"name": "pets", "definition": pet_flow()}
        )
        assert created.status_code == 422
        [error] = created.json()["errors"]
        assert error["node_id"] == "call"
        assert error["field"] == "connection"
        assert "'openapi.petstore'" in error["msg"]
        assert "'conntest'" in error["msg"]
