"""Who may do what: viewers read, editors and up write, and another organisation's flows do
not exist for the caller (404 exactly like an unknown id) on every flow endpoint."""

from __future__ import annotations

from typing import Any

import httpx

from flomation.db.session import Database
from flomation.ids import new_id
from tests.factories import Actor, echo_definition, make_actor
from tests.flows.conftest import FLOWS, create_flow
from tests.live import LiveServer


def flow_calls(flow_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every endpoint that takes a flow id, with a body that is valid in itself."""
    url = f"{FLOWS}/{flow_id}"
    return [
        ("GET", url, None),
        ("PUT", url, {"definition": echo_definition(), "base_revision": 1}),
        ("PATCH", url, {"name": "taken over"}),
        ("DELETE", url, None),
        ("GET", f"{url}/revisions", None),
        ("GET", f"{url}/revisions/1", None),
        ("GET", f"{url}/diff?from=1&to=1", None),
        ("POST", f"{url}/revisions/1/restore", {}),
    ]


WRITES = {"PUT", "PATCH", "DELETE", "POST"}


async def test_viewer_reads_everything_and_writes_nothing(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    async with api.client(owner.headers) as owner_client, api.client(viewer.headers) as client:
        flow = await create_flow(owner_client)
        for method, url, body in flow_calls(flow["id"]):
            response = await client.request(method, url, json=body)
            expected = 403 if method in WRITES else 200
            assert response.status_code == expected, (method, url, response.text)
        assert (await client.get(FLOWS)).json()["items"][0]["id"] == flow["id"]
        response = await client.post(f"{FLOWS}/validate", json={"definition": echo_definition()})
        assert response.status_code == 200
        assert (await client.get("/api/v1/node-types")).status_code == 200
        response = await client.post(FLOWS, json={"name": "x", "definition": echo_definition()})
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")

        # Nothing the viewer tried changed the flow.
        after = (await owner_client.get(f"{FLOWS}/{flow['id']}")).json()
        assert after == flow


async def test_editors_write(api: LiveServer, owner: Actor, database: Database) -> None:
    # Editor is the least role that writes (owners write in every other test).
    actor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    async with api.client(actor.headers) as client:
        flow = await create_flow(client)
        for method, url, body in flow_calls(flow["id"]):
            if method == "DELETE":
                continue  # archiving would make the later writes 409
            response = await client.request(method, url, json=body)
            assert response.status_code == 200, (method, url, response.text)
        assert (await client.delete(f"{FLOWS}/{flow['id']}")).status_code == 204


async def test_another_organisations_flow_answers_404_like_an_unknown_id(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    stranger = await make_actor(database, role="owner")
    unknown_id = new_id()
    async with api.client(owner.headers) as mine, api.client(stranger.headers) as theirs:
        flow = await create_flow(mine)
        for (method, url, body), (_, unknown_url, _) in zip(
            flow_calls(flow["id"]), flow_calls(unknown_id), strict=True
        ):
            response = await theirs.request(method, url, json=body)
            unknown = await theirs.request(method, unknown_url, json=body)
            assert response.status_code == 404, (method, url, response.text)
            assert unknown.status_code == 404
            shown = response.json()
            assert shown == {
                **unknown.json(),
                "detail": unknown.json()["detail"].replace(unknown_id, flow["id"]),
            }
        assert (await theirs.get(FLOWS)).json()["items"] == []

        # The owner's flow is untouched by all of it.
        after = (await mine.get(f"{FLOWS}/{flow['id']}")).json()
        assert after == flow


async def test_ids_that_cannot_exist_answer_404_not_500(client: httpx.AsyncClient) -> None:
    for flow_id in ("%00", "x" * 5000, "..%2F..", "%E2%82%AC"):
        response = await client.get(f"{FLOWS}/{flow_id}")
        # A NUL is refused before routing, for every path (flomation.api.bodies).
        assert response.status_code == (400 if flow_id == "%00" else 404), (flow_id, response.text)


async def test_requests_without_credentials_are_refused(api: LiveServer) -> None:
    async with api.client() as client:
        assert (await client.get(FLOWS)).status_code == 401
        assert (await client.get("/api/v1/node-types")).status_code == 401
        response = await client.post(FLOWS, json={"name": "x", "definition": echo_definition()})
        assert response.status_code == 401
