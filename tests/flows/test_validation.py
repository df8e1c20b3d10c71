"""Bad input never writes and never crashes: every problem of a definition at once with its
location, malformed JSON 400, unknown fields and wrong types 422, huge bodies 413."""

from __future__ import annotations

from typing import Any

import httpx

from flomation.config import Settings
from tests.factories import echo_definition
from tests.flows.conftest import FLOWS, create_flow

VALIDATE = f"{FLOWS}/validate"


def broken_definition() -> dict[str, Any]:
    definition = echo_definition()
    definition["nodes"][1]["id"] = "Double-It"  # breaks the id pattern
    definition["nodes"][2]["retry"] = {"max_attempts": 0}  # below the minimum
    definition["nodes"].append({"id": "start", "type": "log"})  # duplicate id
    definition["edges"].append({"from": "out", "to": "nowhere"})  # unknown node
    return definition


def locations(response: httpx.Response) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(error["loc"]): error for error in response.json()["errors"]}


async def test_validate_accepts_a_good_definition(client: httpx.AsyncClient) -> None:
    response = await client.post(VALIDATE, json={"definition": echo_definition()})
    assert response.status_code == 200, response.text
    assert response.json() == {"valid": True, "warnings": []}


async def test_validate_reports_every_problem_with_its_location(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(VALIDATE, json={"definition": broken_definition()})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    found = locations(response)
    prefix = ("body", "definition")

    bad_id = found[(*prefix, "nodes", 1, "id")]
    assert bad_id["node_id"] == "Double-It"
    assert bad_id["field"] == "id"
    retry = found[(*prefix, "nodes", 2, "retry", "max_attempts")]
    assert retry["node_id"] == "out"
    assert retry["field"] == "retry.max_attempts"
    duplicate = found[(*prefix, "nodes", 3, "id")]
    assert duplicate["node_id"] == "start"
    assert "duplicate" in duplicate["msg"]
    assert (*prefix, "edges", 2, "to") in found
    assert all(error["msg"] for error in found.values())


async def test_engine_rules_are_reported_with_the_shape_problems(
    client: httpx.AsyncClient,
) -> None:
    definition = echo_definition()
    definition["nodes"][0]["id"] = "Begin!"  # shape: bad id
    definition["nodes"].append({"id": "mystery", "type": "no_such_type"})
    definition["nodes"].append({"id": "check", "type": "condition", "config": {}})
    definition["edges"].append({"from": "out", "to": "double"})  # return has no ports
    response = await client.post(VALIDATE, json={"definition": definition})
    assert response.status_code == 422
    found = locations(response)
    prefix = ("body", "definition")
    assert found[(*prefix, "nodes", 0, "id")]["node_id"] == "Begin!"
    assert found[(*prefix, "nodes", 3, "type")]["node_id"] == "mystery"
    assert found[(*prefix, "edges", 2, "port")]["node_id"] == "out"
    assert any(error.get("node_id") == "check" for error in found.values())


async def test_a_secret_the_organisation_does_not_hold_is_a_warning_not_an_error(
    client: httpx.AsyncClient,
) -> None:
    definition = echo_definition()
    definition["nodes"][1]["config"]["values"]["key"] = "{{ secrets.API_KEY }}"
    response = await client.post(VALIDATE, json={"definition": definition})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is True
    assert [warning["loc"] for warning in body["warnings"]] == [
        ["body", "definition", "secrets", "API_KEY"]
    ]

    assert (await client.put("/api/v1/secrets/API_KEY", json={"value": "s3cret"})).is_success
    response = await client.post(VALIDATE, json={"definition": definition})
    assert response.json() == {"valid": True, "warnings": []}
    # The same definition saves fine either way.
    await create_flow(client, definition=definition)


async def test_shapes_that_are_not_flows_are_problems_not_crashes(
    client: httpx.AsyncClient,
) -> None:
    cases: list[tuple[Any, tuple[Any, ...]]] = [
        ({"version": 2, "nodes": [], "edges": []}, ("version",)),
        ({"nodes": [], "edges": []}, ("version",)),
        ({"version": 1, "nodes": "many", "edges": []}, ("nodes",)),
        ({"version": 1, "nodes": [7], "edges": []}, ("nodes", 0)),
        ({"version": 1, "nodes": [], "edges": [{"to": "x"}]}, ("edges", 0, "from")),
        ({"version": 1, "timeout_s": -1, "nodes": [], "edges": []}, ("timeout_s",)),
    ]
    for definition, loc in cases:
        response = await client.post(VALIDATE, json={"definition": definition})
        assert response.status_code == 422, definition
        assert ("body", "definition", *loc) in locations(response), response.text


async def test_values_the_database_cannot_store_are_refused(client: httpx.AsyncClient) -> None:
    nul = echo_definition()
    nul["nodes"][1]["config"]["values"]["tag"] = "a\u0000b"
    deep: Any = "leaf"
    for _ in range(150):
        deep = [deep]
    too_deep = echo_definition()
    too_deep["nodes"][1]["config"]["values"]["tag"] = deep
    # Refused for every body before the handler (flomation.api.bodies): 400 with where.
    for definition, loc in ((nul, [1, "config", "values", "tag"]), (too_deep, None)):
        response = await client.post(FLOWS, json={"name": "x", "definition": definition})
        assert response.status_code == 400, response.text
        if loc is not None:
            assert response.json()["errors"][0]["loc"] == ["body", "definition", "nodes", *loc]
    # Python's JSON reader accepts NaN; neither database stores it.
    content = (
        b'{"name": "x", "definition": {"version": 1, "timeout_s": NaN, "nodes": [], "edges": []}}'
    )
    response = await client.post(
        FLOWS, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    response = await client.post(FLOWS, json={"name": "a\u0000b", "definition": echo_definition()})
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["body", "name"]
    # A lone surrogate is valid JSON but not UTF-8: refused in a definition and in a message.
    unpaired = (
        b'{"name": "x", "message": "\\ud800", "definition": {"version": 1, "edges": [], '
        b'"nodes": [{"id": "start", "type": "start", "name": "\\udfff"}]}}'
    )
    response = await client.post(
        FLOWS, content=unpaired, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert {tuple(error["loc"]) for error in response.json()["errors"]} == {
        ("body", "message"),
    }
    response = await client.post(
        FLOWS,
        content=unpaired.replace(b'"\\ud800"', b'"ok"'),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "definition", "nodes", 0, "name"]
    assert (await client.get(FLOWS)).json()["items"] == []


async def test_bad_definitions_never_write(client: httpx.AsyncClient) -> None:
    response = await client.post(FLOWS, json={"name": "x", "definition": broken_definition()})
    assert response.status_code == 422
    assert len(response.json()["errors"]) >= 4
    assert (await client.get(FLOWS, params={"include_archived": True})).json()["items"] == []

    flow = await create_flow(client)
    response = await client.put(
        f"{FLOWS}/{flow['id']}",
        json={"definition": broken_definition(), "base_revision": 1, "name": "renamed"},
    )
    assert response.status_code == 422
    assert (await client.get(f"{FLOWS}/{flow['id']}")).json() == flow


async def test_malformed_json_unknown_fields_and_wrong_types(client: httpx.AsyncClient) -> None:
    response = await client.post(
        FLOWS,
        content=b'{"name": "x", "definition": {',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")

    response = await client.post(
        FLOWS, json={"name": "x", "definition": echo_definition(), "nmae": "typo"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "nmae"]

    flow = await create_flow(client)
    response = await client.put(
        f"{FLOWS}/{flow['id']}", json={"definition": echo_definition(), "base_revision": "two"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "base_revision"]

    response = await client.post(FLOWS, json={"name": 5, "definition": []})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", "name"),
        ("body", "definition"),
    }

    response = await client.put(f"{FLOWS}/{flow['id']}", json={"definition": echo_definition()})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "base_revision"]

    response = await client.get(f"{FLOWS}/{flow['id']}/diff", params={"to": 1})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "from"]
    response = await client.get(f"{FLOWS}/{flow['id']}/diff")
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("query", "from"),
        ("query", "to"),
    }
    response = await client.get(f"{FLOWS}/{flow['id']}/revisions/two")
    assert response.status_code == 422

    response = await client.post(
        f"{FLOWS}/{flow['id']}/revisions/1/restore", json={"message": "m", "extra": 1}
    )
    assert response.status_code == 422
    assert (await client.get(f"{FLOWS}/{flow['id']}")).json()["revision"] == 1


async def test_a_huge_definition_is_cut_off_by_the_body_limit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    definition = echo_definition()
    definition["nodes"][1]["config"]["values"]["blob"] = "x" * (settings.max_body_bytes + 1)
    response = await client.post(FLOWS, json={"name": "big", "definition": definition})
    assert response.status_code == 413
    assert (await client.get(FLOWS)).json()["items"] == []


async def test_node_types_lists_the_registry_with_ports_and_schemas(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/node-types")
    assert response.status_code == 200
    items = {item["type"]: item for item in response.json()["items"]}
    assert {"start", "set", "condition", "switch", "foreach", "return", "fail"} <= set(items)
    for item in items.values():
        assert set(item) >= {
            "type",
            "title",
            "description",
            "icon",
            "group",
            "ports",
            "config_schema",
            "output_schema",
        }
    assert set(items["condition"]["ports"]) >= {"true", "false", "error"}
    assert items["return"]["ports"] == []
    assert items["set"]["config_schema"]["type"] == "object"
