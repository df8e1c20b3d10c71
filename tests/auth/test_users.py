"""Users of an organisation: who may create, change and remove whom."""

from __future__ import annotations

import pytest

from flomation.db.session import Database
from tests.auth.conftest import login
from tests.factories import DEFAULT_PASSWORD, Actor, make_actor
from tests.live import LiveServer

NEW_PASSWORD = "a brand new password"
UNKNOWN_ID = "01900000-0000-7000-8000-000000000000"


def _new_user(role: str = "viewer", email: str = "new.user@example.test") -> dict[str, str]:
    return {"email": email, "name": "New User", "password": DEFAULT_PASSWORD, "role": role}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("viewer", False), ("editor", False), ("admin", True), ("owner", True)],
)
async def test_user_and_organisation_writes_need_admin(
    api: LiveServer, database: Database, role: str, allowed: bool
) -> None:
    owner = await make_actor(database, role="owner")
    caller = (
        owner
        if role == "owner"
        else await make_actor(database, role=role, organization_id=owner.organization_id)
    )
    target = await make_actor(database, role="editor", organization_id=owner.organization_id)
    async with api.client(caller.headers) as client:
        answers = {
            "create": await client.post("/api/v1/users", json=_new_user()),
            "update": await client.patch(
                f"/api/v1/users/{target.user_id}", json={"name": "Renamed", "role": "viewer"}
            ),
            "organization": await client.patch(
                "/api/v1/organization", json={"name": "Renamed Org"}
            ),
            "delete": await client.delete(f"/api/v1/users/{target.user_id}"),
            # Reading is for everyone in the organisation.
            "list": await client.get("/api/v1/users"),
            "read": await client.get(f"/api/v1/users/{owner.user_id}"),
            "read organization": await client.get("/api/v1/organization"),
        }
    expected = {
        "create": 201 if allowed else 403,
        "update": 200 if allowed else 403,
        "organization": 200 if allowed else 403,
        "delete": 204 if allowed else 403,
        "list": 200,
        "read": 200,
        "read organization": 200,
    }
    assert {name: answer.status_code for name, answer in answers.items()} == expected


async def test_created_user_can_log_in_with_its_role(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        created = await client.post(
            "/api/v1/users", json=_new_user("editor", email="Mixed.Case@Example.test")
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["email"] == "mixed.case@example.test"
        assert body["role"] == "editor"
        fetched = await client.get(f"/api/v1/users/{body['id']}")
        logged_in = await login(client, "mixed.case@example.test")
    assert fetched.json() == body
    assert logged_in.status_code == 200
    assert logged_in.json()["user"]["role"] == "editor"


async def test_only_an_owner_grants_the_owner_role(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    admin = await make_actor(database, role="admin", organization_id=owner.organization_id)
    editor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    async with api.client(admin.headers) as client:
        create_owner = await client.post("/api/v1/users", json=_new_user("owner"))
        promote = await client.patch(f"/api/v1/users/{editor.user_id}", json={"role": "owner"})
        promote_to_admin = await client.patch(
            f"/api/v1/users/{editor.user_id}", json={"role": "admin"}
        )
    assert create_owner.status_code == 403
    assert promote.status_code == 403
    assert "owner" in promote.json()["detail"]
    assert promote_to_admin.status_code == 200
    async with api.client(owner.headers) as client:
        promoted = await client.patch(f"/api/v1/users/{editor.user_id}", json={"role": "owner"})
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "owner"


async def test_admins_cannot_modify_or_remove_owners(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    admin = await make_actor(database, role="admin", organization_id=owner.organization_id)
    async with api.client(admin.headers) as client:
        rename = await client.patch(f"/api/v1/users/{owner.user_id}", json={"name": "Hacked"})
        demote = await client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "viewer"})
        password = await client.patch(
            f"/api/v1/users/{owner.user_id}", json={"password": NEW_PASSWORD}
        )
        remove = await client.delete(f"/api/v1/users/{owner.user_id}")
        still = await client.get(f"/api/v1/users/{owner.user_id}")
    assert [r.status_code for r in (rename, demote, password, remove)] == [403] * 4
    assert still.json()["role"] == "owner"
    assert still.json()["name"] != "Hacked"


async def test_nobody_changes_their_own_role(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    admin = await make_actor(database, role="admin", organization_id=owner.organization_id)
    async with api.client(owner.headers) as client:
        owner_self = await client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "admin"})
        unchanged = await client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "owner"})
    async with api.client(admin.headers) as client:
        admin_self = await client.patch(f"/api/v1/users/{admin.user_id}", json={"role": "owner"})
    assert owner_self.status_code == 403
    assert "own role" in owner_self.json()["detail"]
    assert unchanged.status_code == 200  # sending the role one already has changes nothing
    assert admin_self.status_code == 403


async def test_the_last_owner_cannot_leave(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    async with api.client(owner.headers) as client:
        alone = await client.delete(f"/api/v1/users/{owner.user_id}")
    assert alone.status_code == 409
    assert "at least one owner" in alone.json()["detail"]
    second = await make_actor(database, role="owner", organization_id=owner.organization_id)
    async with api.client(second.headers) as client:
        demoted = await client.patch(f"/api/v1/users/{owner.user_id}", json={"role": "admin"})
        last_leaves = await client.delete(f"/api/v1/users/{second.user_id}")
    assert demoted.status_code == 200
    assert last_leaves.status_code == 409


async def test_a_viewer_changes_their_own_name_and_password_only(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    async with api.client() as client:
        other_session = (await login(client, viewer.email)).json()["token"]
    async with api.client(viewer.headers) as client:
        renamed = await client.patch(
            f"/api/v1/users/{viewer.user_id}", json={"name": "Vi", "password": NEW_PASSWORD}
        )
        still_in = await client.get("/api/v1/me")
        others = await client.patch(f"/api/v1/users/{owner.user_id}", json={"name": "x"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Vi"
    assert still_in.status_code == 200  # the token making the change keeps working
    assert others.status_code == 403
    async with api.client() as client:
        old_session = await client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {other_session}"}
        )
        old_password = await login(client, viewer.email)
        new_password = await login(client, viewer.email, NEW_PASSWORD)
    assert old_session.status_code == 401  # a new password ends the other sessions
    assert old_password.status_code == 401
    assert new_password.status_code == 200


async def test_deleting_a_user_revokes_their_tokens_and_frees_the_email(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    editor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    async with api.client(owner.headers) as client:
        assert (await client.delete(f"/api/v1/users/{editor.user_id}")).status_code == 204
        gone = await client.get(f"/api/v1/users/{editor.user_id}")
        again = await client.delete(f"/api/v1/users/{editor.user_id}")
        listed = await client.get("/api/v1/users")
        recreated = await client.post("/api/v1/users", json=_new_user("viewer", email=editor.email))
    assert gone.status_code == 404
    assert again.status_code == 404
    assert editor.user_id not in [item["id"] for item in listed.json()["items"]]
    assert recreated.status_code == 201
    async with api.client(editor.headers) as client:
        assert (await client.get("/api/v1/me")).status_code == 401


async def test_an_email_is_unique_across_organisations(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    stranger = await make_actor(database, role="owner")
    async with api.client(owner.headers) as client:
        response = await client.post("/api/v1/users", json=_new_user(email=stranger.email.upper()))
    assert response.status_code == 409
    assert stranger.organization_id not in response.text


async def test_users_of_another_organisation_answer_404_like_unknown_ids(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    stranger = await make_actor(database, role="viewer")
    async with api.client(owner.headers) as client:
        answers = {
            target: [
                await client.get(f"/api/v1/users/{target}"),
                await client.patch(f"/api/v1/users/{target}", json={"name": "x"}),
                await client.delete(f"/api/v1/users/{target}"),
            ]
            for target in (stranger.user_id, UNKNOWN_ID)
        }
        listed = await client.get("/api/v1/users")
    for stranger_answer, unknown_answer in zip(
        answers[stranger.user_id], answers[UNKNOWN_ID], strict=True
    ):
        assert stranger_answer.status_code == unknown_answer.status_code == 404
        assert stranger_answer.json()["detail"].replace(stranger.user_id, "?") == (
            unknown_answer.json()["detail"].replace(UNKNOWN_ID, "?")
        )
    assert [item["id"] for item in listed.json()["items"]] == [owner.user_id]
    async with api.client(stranger.headers) as client:
        assert (await client.get("/api/v1/me")).json()["name"] != "x"


async def test_the_user_list_pages_and_validates_its_parameters(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    for _ in range(2):
        await make_actor(database, role="viewer", organization_id=owner.organization_id)
    async with api.client(owner.headers) as client:
        first = (await client.get("/api/v1/users", params={"limit": 2})).json()
        second = (
            await client.get("/api/v1/users", params={"limit": 2, "cursor": first["next_cursor"]})
        ).json()
        bad = [
            await client.get("/api/v1/users", params={"limit": 0}),
            await client.get("/api/v1/users", params={"limit": 501}),
            await client.get("/api/v1/users", params={"limit": "many"}),
            await client.get("/api/v1/users", params={"cursor": "%%%not-a-cursor"}),
        ]
        everything = (await client.get("/api/v1/users", params={"limit": 500})).json()
    assert len(first["items"]) == 2
    assert first["next_cursor"] is not None
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    assert [item["id"] for item in everything["items"]] == ids
    assert [response.status_code for response in bad] == [422] * 4
    assert bad[3].json()["errors"][0]["loc"] == ["query", "cursor"]
