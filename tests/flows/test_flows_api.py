"""Flows over the real API: create, list, get, save, history, diff, restore, archive."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from tests.factories import Actor, echo_definition
from tests.flows.conftest import FLOWS, create_flow, edited, save_flow


def canonical_sha256(definition: dict[str, Any]) -> str:
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def test_create_flow_stores_revision_1_and_get_returns_it(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    definition = echo_definition(runs_on={"location": "onprem"}, timeout_s=60)
    created = await create_flow(
        client, name="  Echo  ", description="doubles n", definition=definition, message="first"
    )

    assert created["name"] == "Echo"
    assert created["description"] == "doubles n"
    assert created["revision"] == 1
    assert created["definition"] == definition
    assert created["hash"] == canonical_sha256(definition)
    assert created["runs_on"] == {"location": "onprem"}
    assert created["created_by"] == owner.user_id
    assert created["archived_at"] is None
    assert created["max_concurrent_executions"] is None
    assert created["save_data"] is None
    assert created["created_at"].endswith("Z")

    response = await client.get(f"{FLOWS}/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created


async def test_list_is_newest_first_paginated_and_without_definitions(
    client: httpx.AsyncClient,
) -> None:
    ids = [(await create_flow(client, name=f"Flow {n}"))["id"] for n in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(FLOWS, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        assert all("definition" not in item for item in page["items"])
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(ids))
    assert pages == 3
    default = (await client.get(FLOWS)).json()
    assert [item["id"] for item in default["items"]] == list(reversed(ids))
    assert default["next_cursor"] is None


async def test_list_searches_names_case_insensitively_and_literally(
    client: httpx.AsyncClient,
) -> None:
    await create_flow(client, name="Invoice sync")
    await create_flow(client, name="Nightly report")
    await create_flow(client, name="invoices at 50%")
    await create_flow(client, name="a500 b")

    async def names(q: str) -> set[str]:
        response = await client.get(FLOWS, params={"q": q})
        assert response.status_code == 200
        return {item["name"] for item in response.json()["items"]}

    assert await names("INVOICE") == {"Invoice sync", "invoices at 50%"}
    assert await names("50%") == {"invoices at 50%"}
    assert await names("_") == set()
    assert await names("nothing like it") == set()


async def test_invalid_cursor_and_limit_are_refused_with_their_location(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(FLOWS, params={"cursor": "not-a-cursor"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]

    response = await client.get(FLOWS, params={"limit": 501})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


async def test_three_saves_make_a_history_and_restore_appends_an_equal_revision(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    first = echo_definition()
    flow = await create_flow(client, definition=first, message="initial")
    flow_id = flow["id"]
    second = edited(first)
    second["nodes"][1]["config"]["values"]["tag"] = "v2"
    await save_flow(client, flow_id, second, base=1, message="tag v2")
    third = edited(second)
    third["timeout_s"] = 30
    saved = await save_flow(client, flow_id, third, base=2)
    assert saved["revision"] == 3
    assert saved["definition"] == third

    listing = (await client.get(f"{FLOWS}/{flow_id}/revisions")).json()
    assert [item["revision"] for item in listing["items"]] == [3, 2, 1]
    assert [item["message"] for item in listing["items"]] == [None, "tag v2", "initial"]
    assert [item["hash"] for item in listing["items"]] == [
        canonical_sha256(d) for d in (third, second, first)
    ]
    author = listing["items"][0]["author"]
    assert author["id"] == owner.user_id
    assert author["name"]
    assert listing["next_cursor"] is None

    revision_2 = (await client.get(f"{FLOWS}/{flow_id}/revisions/2")).json()
    assert revision_2["revision"] == 2
    assert revision_2["definition"] == second
    assert revision_2["message"] == "tag v2"
    assert revision_2["hash"] == canonical_sha256(second)

    response = await client.post(f"{FLOWS}/{flow_id}/revisions/1/restore", json={})
    assert response.status_code == 200, response.text
    restored = response.json()
    assert restored["revision"] == 4
    assert restored["definition"] == first
    assert restored["hash"] == listing["items"][2]["hash"]

    listing = (await client.get(f"{FLOWS}/{flow_id}/revisions")).json()
    assert listing["items"][0]["revision"] == 4
    assert listing["items"][0]["message"] == "Restored revision 1"
    assert listing["items"][0]["hash"] == listing["items"][3]["hash"]

    # An empty body works as well as {}, and a message replaces the default.
    response = await client.post(
        f"{FLOWS}/{flow_id}/revisions/3/restore", json={"message": "back to 3"}
    )
    assert response.json()["revision"] == 5
    revision_5 = (await client.get(f"{FLOWS}/{flow_id}/revisions/5")).json()
    assert revision_5["message"] == "back to 3"
    assert revision_5["definition"] == third
    response = await client.post(f"{FLOWS}/{flow_id}/revisions/2/restore")
    assert response.status_code == 200, response.text
    assert response.json()["revision"] == 6


async def test_revision_list_pages_with_a_cursor(client: httpx.AsyncClient) -> None:
    flow = await create_flow(client)
    definition = echo_definition()
    for base in range(1, 5):
        definition["nodes"][1]["config"]["values"]["tag"] = f"v{base + 1}"
        await save_flow(client, flow["id"], definition, base=base)

    numbers: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{FLOWS}/{flow['id']}/revisions", params=params)).json()
        numbers.extend(item["revision"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert numbers == [5, 4, 3, 2, 1]


async def test_diff_lists_node_edge_and_setting_changes_but_not_moves(
    client: httpx.AsyncClient,
) -> None:
    before = echo_definition(timeout_s=60, runs_on={"location": "onprem"})
    flow = await create_flow(client, definition=before)
    after = edited(before)
    nodes = {node["id"]: node for node in after["nodes"]}
    nodes["start"]["position"] = {"x": 999, "y": -5}  # moved only: not a change
    nodes["double"]["position"] = {"x": 1, "y": 1}
    nodes["double"]["config"]["values"]["tag"] = "changed"
    nodes["double"]["name"] = "Double it"
    after["nodes"] = [
        nodes["start"],
        nodes["double"],
        {"id": "note", "type": "log", "config": {"message": "hi"}},
    ]
    after["edges"] = [
        {"from": "start", "to": "double", "port": "success"},  # same edge, explicit port
        {"from": "double", "to": "note"},
    ]
    after["timeout_s"] = 120
    del after["runs_on"]
    await save_flow(client, flow["id"], after, base=1)

    response = await client.get(f"{FLOWS}/{flow['id']}/diff", params={"from": 1, "to": 2})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "nodes": {
            "added": ["note"],
            "removed": ["out"],
            "changed": [{"id": "double", "fields": ["config", "name"]}],
        },
        "edges": {
            "added": [{"from": "double", "to": "note", "port": "success"}],
            "removed": [{"from": "double", "to": "out", "port": "success"}],
            "reordered": False,
        },
        "settings": {"changed": ["runs_on", "timeout_s"]},
    }

    backwards = (await client.get(f"{FLOWS}/{flow['id']}/diff?from=2&to=1")).json()
    assert backwards["nodes"]["added"] == ["out"]
    assert backwards["nodes"]["removed"] == ["note"]
    same = (await client.get(f"{FLOWS}/{flow['id']}/diff?from=2&to=2")).json()
    assert same["nodes"] == {"added": [], "removed": [], "changed": []}
    assert same["settings"] == {"changed": []}


async def test_save_on_a_stale_base_answers_409_with_the_current_revision(
    client: httpx.AsyncClient,
) -> None:
    flow = await create_flow(client)
    definition = echo_definition(timeout_s=5)
    await save_flow(client, flow["id"], definition, base=1)

    response = await client.put(
        f"{FLOWS}/{flow['id']}", json={"definition": echo_definition(), "base_revision": 1}
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["current_revision"] == 2
    assert (await client.get(f"{FLOWS}/{flow['id']}")).json()["definition"] == definition

    response = await client.put(
        f"{FLOWS}/{flow['id']}", json={"definition": echo_definition(), "base_revision": 7}
    )
    assert response.status_code == 409
    assert response.json()["current_revision"] == 2


async def test_save_can_rename_and_copies_runs_on_from_the_definition(
    client: httpx.AsyncClient,
) -> None:
    flow = await create_flow(client, name="Old", description="d")
    saved = await save_flow(
        client,
        flow["id"],
        echo_definition(runs_on={"gpu": "yes"}),
        base=1,
        name="New",
    )
    assert saved["name"] == "New"
    assert saved["description"] == "d"
    assert saved["runs_on"] == {"gpu": "yes"}
    assert saved["updated_at"] >= flow["updated_at"]


async def test_patch_changes_settings_without_a_new_revision(client: httpx.AsyncClient) -> None:
    flow = await create_flow(client, name="Before")
    url = f"{FLOWS}/{flow['id']}"

    response = await client.patch(url, json={"name": "After", "max_concurrent_executions": 2})
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["name"] == "After"
    assert patched["max_concurrent_executions"] == 2
    assert patched["revision"] == 1
    assert patched["description"] == ""

    response = await client.patch(url, json={"max_concurrent_executions": None})
    assert response.json()["max_concurrent_executions"] is None
    assert response.json()["name"] == "After"

    listing = (await client.get(f"{url}/revisions")).json()
    assert [item["revision"] for item in listing["items"]] == [1]

    bad_bodies = (
        {"name": None},
        {"max_concurrent_executions": 0},
        {"revision": 3},
        {"save_data": "some"},
    )
    for bad in bad_bodies:
        response = await client.patch(url, json=bad)
        assert response.status_code == 422, bad


async def test_archived_flow_stays_readable_leaves_the_list_and_refuses_changes(
    client: httpx.AsyncClient,
) -> None:
    kept = await create_flow(client, name="Kept")
    flow = await create_flow(client, name="Archived")
    url = f"{FLOWS}/{flow['id']}"

    response = await client.delete(url)
    assert response.status_code == 204
    assert response.content == b""

    shown = (await client.get(url)).json()
    assert shown["archived_at"] is not None
    assert shown["definition"] == flow["definition"]
    assert (await client.get(f"{url}/revisions/1")).status_code == 200

    default = (await client.get(FLOWS)).json()
    assert [item["id"] for item in default["items"]] == [kept["id"]]
    everything = (await client.get(FLOWS, params={"include_archived": "true"})).json()
    assert {item["id"] for item in everything["items"]} == {kept["id"], flow["id"]}

    response = await client.put(url, json={"definition": echo_definition(), "base_revision": 1})
    assert response.status_code == 409
    assert "archived" in response.json()["detail"]
    assert (await client.post(f"{url}/revisions/1/restore", json={})).status_code == 409
    assert (await client.patch(url, json={"name": "x"})).status_code == 409

    # Archiving again changes nothing.
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).json()["archived_at"] == shown["archived_at"]
    assert (await client.get(url)).json()["revision"] == 1


async def test_revisions_out_of_range_answer_404(client: httpx.AsyncClient) -> None:
    flow = await create_flow(client)
    url = f"{FLOWS}/{flow['id']}"
    for path in (
        f"{url}/revisions/0",
        f"{url}/revisions/2",
        f"{url}/revisions/-1",
        f"{url}/revisions/99999999999999999999",
        f"{url}/diff?from=1&to=2",
        f"{url}/diff?from=0&to=1",
    ):
        response = await client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    response = await client.post(f"{url}/revisions/5/restore", json={})
    assert response.status_code == 404
    assert (await client.get(f"{url}/revisions/1")).status_code == 200
