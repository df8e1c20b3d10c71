"""The caller's organisation: read by all its members, changed by admins and owners."""

from __future__ import annotations

from flomation.db.session import Database
from tests.factories import Actor, make_actor, make_flow
from tests.live import LiveServer


async def test_members_read_their_organisation(api: LiveServer, database: Database) -> None:
    viewer = await make_actor(database, role="viewer")
    async with api.client(viewer.headers) as client:
        response = await client.get("/api/v1/organization")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == viewer.organization_id
    assert body["error_flow_id"] is None
    assert body["name"].startswith("Org ")


async def test_an_admin_renames_the_organisation(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    admin = await make_actor(database, role="admin", organization_id=owner.organization_id)
    async with api.client(admin.headers) as client:
        patched = await client.patch("/api/v1/organization", json={"name": "  Acme Ltd  "})
        empty = await client.patch("/api/v1/organization", json={"name": ""})
        unknown = await client.patch("/api/v1/organization", json={"plan": "gold"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "Acme Ltd"
    assert empty.status_code == 422
    assert unknown.status_code == 422
    async with api.client(owner.headers) as client:
        assert (await client.get("/api/v1/me")).json()["organization"]["name"] == "Acme Ltd"


async def test_the_error_flow_must_be_a_flow_of_the_organisation(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    stranger = await make_actor(database, role="owner")
    own_flow = await make_flow(database, owner.organization_id, name="On error")
    foreign_flow = await make_flow(database, stranger.organization_id, name="On error")
    async with api.client(owner.headers) as client:
        malformed = await client.patch("/api/v1/organization", json={"error_flow_id": "nope"})
        unknown = await client.patch(
            "/api/v1/organization",
            json={"error_flow_id": "01900000-0000-7000-8000-000000000000"},
        )
        foreign = await client.patch("/api/v1/organization", json={"error_flow_id": foreign_flow})
        accepted = await client.patch("/api/v1/organization", json={"error_flow_id": own_flow})
        renamed = await client.patch("/api/v1/organization", json={"name": "Keeps the flow"})
        cleared = await client.patch("/api/v1/organization", json={"error_flow_id": None})
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["loc"] == ["body", "error_flow_id"]
    assert unknown.status_code == foreign.status_code == 422
    assert foreign.json()["errors"][0]["loc"] == ["body", "error_flow_id"]
    assert accepted.status_code == 200
    assert accepted.json()["error_flow_id"] == own_flow
    assert renamed.json()["error_flow_id"] == own_flow
    assert cleared.status_code == 200
    assert cleared.json()["error_flow_id"] is None


async def test_each_organisation_sees_and_changes_only_itself(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    stranger = await make_actor(database, role="owner")
    async with api.client(owner.headers) as client:
        await client.patch("/api/v1/organization", json={"name": "Mine"})
    async with api.client(stranger.headers) as client:
        theirs = (await client.get("/api/v1/organization")).json()
    assert theirs["id"] == stranger.organization_id
    assert theirs["name"] != "Mine"
