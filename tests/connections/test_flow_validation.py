"""A node's `connection` checked when the flow is saved: a missing connection is a warning (a
runner may hold it), one of a type the node does not take an error naming node and field."""

from __future__ import annotations

from tests.connections.fakes import echo_flow
from tests.factories import Actor
from tests.live import LiveServer


async def test_an_unknown_connection_is_a_warning_and_the_flow_saves(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        checked = await client.post(
            "/api/v1/flows/validate", json={"definition": echo_flow("nowhere")}
        )
        assert checked.status_code == 200, checked.text
        assert checked.json()["valid"] is True
        assert {
            "loc": ["body", "definition", "nodes", 1, "config", "connection"],
            "msg": "connection 'nowhere' does not exist (a runner may hold it)",
            "node_id": "echo",
            "field": "connection",
        } in checked.json()["warnings"]
        saved = await client.post(
            "/api/v1/flows", json={"name": "f", "definition": echo_flow("nowhere")}
        )
        assert saved.status_code == 201, saved.text


async def test_a_connection_of_the_wrong_type_is_an_error_naming_node_and_field(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        other = {"type": "conntest_other", "values": {"url": "http://x"}}
        right = {"type": "conntest", "values": {"host": "h", "port": 1}}
        assert (await client.put("/api/v1/connections/wrong", json=other)).status_code == 200
        assert (await client.put("/api/v1/connections/right", json=right)).status_code == 200

        for call in (
            client.post("/api/v1/flows/validate", json={"definition": echo_flow("wrong")}),
            client.post("/api/v1/flows", json={"name": "f", "definition": echo_flow("wrong")}),
        ):
            refused = await call
            assert refused.status_code == 422, refused.text
            [error] = refused.json()["errors"]
            assert error["node_id"] == "echo"
            assert error["field"] == "connection"
            assert error["loc"] == ["body", "definition", "nodes", 1, "config", "connection"]
            assert "'conntest'" in error["msg"]
            assert "'conntest_other'" in error["msg"]

        created = await client.post(
            "/api/v1/flows", json={"name": "f", "definition": echo_flow("right")}
        )
        assert created.status_code == 201, created.text
        checked = await client.post(
            "/api/v1/flows/validate", json={"definition": echo_flow("right")}
        )
        assert checked.json()["warnings"] == []
        # Saving a new revision is checked the same way.
        flow = created.json()
        resaved = await client.put(
            f"/api/v1/flows/{flow['id']}",
            json={"definition": echo_flow("wrong"), "base_revision": flow["revision"]},
        )
        assert resaved.status_code == 422, resaved.text
        assert resaved.json()["errors"][0]["node_id"] == "echo"
