"""The triggers API over the real server: create, list, read, edit, delete; validation with
locations; roles; organisation isolation; one webhook namespace; archived flows stop."""

from __future__ import annotations

from datetime import datetime

from flomation.db.session import Database
from tests.factories import Actor, make_actor
from tests.live import LiveServer
from tests.triggers.factories import archive_flow, make_flow

SCHEDULE = {"cron": "0 9 * * *", "timezone": "Europe/Berlin"}


async def test_create_list_get_patch_delete_a_schedule(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        created = await client.post(
            f"/api/v1/flows/{flow_id}/triggers", json={"type": "schedule", "config": SCHEDULE}
        )
        assert created.status_code == 201, created.text
        trigger = created.json()
        assert trigger["enabled"] is True
        assert trigger["config"] == {**SCHEDULE, "catch_up": "none", "overlap": "allow"}
        state = trigger["state"]
        assert set(state) >= {
            "last_fired_at",
            "next_fire_at",
            "cursor",
            "owner",
            "lease_expires_at",
            "last_error",
        }
        first_next = datetime.fromisoformat(state["next_fire_at"])
        assert first_next.astimezone().utcoffset() is not None

        listed = await client.get(f"/api/v1/flows/{flow_id}/triggers")
        assert listed.status_code == 200
        assert [item["id"] for item in listed.json()["items"]] == [trigger["id"]]
        assert listed.json()["next_cursor"] is None

        fetched = await client.get(f"/api/v1/triggers/{trigger['id']}")
        assert fetched.json()["id"] == trigger["id"]

        edited = await client.patch(
            f"/api/v1/triggers/{trigger['id']}",
            # Half past: never the same instant as the first schedule's 09:00, whatever the hour.
            json={"config": {"cron": "30 */2 * * *", "timezone": "UTC"}},
        )
        assert edited.status_code == 200, edited.text
        new_next = datetime.fromisoformat(edited.json()["state"]["next_fire_at"])
        assert new_next.minute == 30
        assert new_next.hour % 2 == 0
        assert new_next != first_next

        disabled = await client.patch(f"/api/v1/triggers/{trigger['id']}", json={"enabled": False})
        assert disabled.json()["state"]["next_fire_at"] is None
        enabled = await client.patch(f"/api/v1/triggers/{trigger['id']}", json={"enabled": True})
        assert enabled.json()["state"]["next_fire_at"] is not None

        deleted = await client.delete(f"/api/v1/triggers/{trigger['id']}")
        assert deleted.status_code == 204
        gone = await client.get(f"/api/v1/triggers/{trigger['id']}")
        assert gone.status_code == 404


async def test_bad_configs_answer_422_with_locations(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        bad_cron = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={"type": "schedule", "config": {"cron": "99 * * * *", "timezone": "Nowhere/X"}},
        )
        assert bad_cron.status_code == 422
        assert bad_cron.headers["content-type"].startswith("application/problem+json")
        locs = sorted(tuple(error["loc"]) for error in bad_cron.json()["errors"])
        assert locs == [("body", "config", "cron"), ("body", "config", "timezone")]

        bad_type = await client.post(
            f"/api/v1/flows/{flow_id}/triggers", json={"type": "email", "config": {}}
        )
        assert bad_type.status_code == 422
        assert bad_type.json()["errors"][0]["loc"] == ["body", "type"]

        created = await client.post(
            f"/api/v1/flows/{flow_id}/triggers", json={"type": "schedule", "config": SCHEDULE}
        )
        bad_edit = await client.patch(
            f"/api/v1/triggers/{created.json()['id']}", json={"config": {"cron": "* *"}}
        )
        assert bad_edit.status_code == 422
        assert bad_edit.json()["errors"][0]["loc"] == ["body", "config", "cron"]


async def test_webhook_paths_are_one_namespace_across_organisations(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    other = await make_actor(database)
    mine = await make_flow(database, owner.organization_id)
    theirs = await make_flow(database, other.organization_id)
    async with api.client(owner.headers) as client:
        first = await client.post(
            f"/api/v1/flows/{mine}/triggers",
            json={"type": "webhook", "config": {"path": "orders/new"}},
        )
        assert first.status_code == 201, first.text
        assert first.json()["public"] is True
        assert first.json()["hook_url_path"] == "/hooks/orders/new"
    async with api.client(other.headers) as client:
        taken = await client.post(
            f"/api/v1/flows/{theirs}/triggers",
            json={"type": "webhook", "config": {"path": "/orders/new/"}},
        )
        assert taken.status_code == 409
        assert owner.organization_id not in taken.text
        assert mine not in taken.text
        own = await client.post(
            f"/api/v1/flows/{theirs}/triggers",
            json={"type": "webhook", "config": {"path": "orders/other"}},
        )
        assert own.status_code == 201
        # Renaming onto a taken path is refused the same way.
        moved = await client.patch(
            f"/api/v1/triggers/{own.json()['id']}",
            json={"config": {"path": "orders/new"}},
        )
        assert moved.status_code == 409


async def test_viewers_read_editors_write_and_other_organisations_see_nothing(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    editor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    stranger = await make_actor(database)
    flow_id = await make_flow(database, owner.organization_id)
    body = {"type": "schedule", "config": SCHEDULE}
    async with api.client(viewer.headers) as client:
        refused = await client.post(f"/api/v1/flows/{flow_id}/triggers", json=body)
        assert refused.status_code == 403
    async with api.client(editor.headers) as client:
        created = await client.post(f"/api/v1/flows/{flow_id}/triggers", json=body)
        assert created.status_code == 201
    trigger_id = created.json()["id"]
    async with api.client(viewer.headers) as client:
        assert (await client.get(f"/api/v1/triggers/{trigger_id}")).status_code == 200
        assert (await client.get(f"/api/v1/flows/{flow_id}/triggers")).status_code == 200
        patch = await client.patch(f"/api/v1/triggers/{trigger_id}", json={"enabled": False})
        assert patch.status_code == 403
        assert (await client.delete(f"/api/v1/triggers/{trigger_id}")).status_code == 403
    async with api.client(stranger.headers) as client:
        assert (await client.get(f"/api/v1/triggers/{trigger_id}")).status_code == 404
        assert (await client.get(f"/api/v1/flows/{flow_id}/triggers")).status_code == 404
        assert (
            await client.post(f"/api/v1/flows/{flow_id}/triggers", json=body)
        ).status_code == 404
        patch = await client.patch(f"/api/v1/triggers/{trigger_id}", json={"enabled": False})
        assert patch.status_code == 404
        assert (await client.delete(f"/api/v1/triggers/{trigger_id}")).status_code == 404
    async with api.client() as anonymous:
        assert (await anonymous.get(f"/api/v1/triggers/{trigger_id}")).status_code == 401


async def test_an_archived_flow_takes_no_new_triggers(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    await archive_flow(database, owner.organization_id, flow_id)
    async with api.client(owner.headers) as client:
        refused = await client.post(
            f"/api/v1/flows/{flow_id}/triggers", json={"type": "schedule", "config": SCHEDULE}
        )
        assert refused.status_code == 409


async def test_list_pages_with_cursor(api: LiveServer, owner: Actor, database: Database) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        ids = []
        for _ in range(3):
            created = await client.post(
                f"/api/v1/flows/{flow_id}/triggers", json={"type": "schedule", "config": SCHEDULE}
            )
            ids.append(created.json()["id"])
        first = (await client.get(f"/api/v1/flows/{flow_id}/triggers?limit=2")).json()
        assert [item["id"] for item in first["items"]] == ids[:2]
        second = await client.get(
            f"/api/v1/flows/{flow_id}/triggers?limit=2&cursor={first['next_cursor']}"
        )
        assert [item["id"] for item in second.json()["items"]] == ids[2:]
        assert second.json()["next_cursor"] is None
