"""Git triggers on local repositories are refused when they are saved (422 naming config.url)
unless the operator allows them; network URLs are accepted here and checked by Launch."""

from __future__ import annotations

from pathlib import Path

from flomation.api.app import create_app
from flomation.db.session import Database
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import LiveServer, serve
from tests.triggers.factories import make_flow, make_trigger

LOCAL_URLS = ["file:///root/secret.git", "FILE:///root/secret.git", "/root/secret.git"]


async def test_a_local_git_repository_is_refused_on_create_and_update_by_default(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        refused = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={"type": "git", "config": {"url": "file:///root/secret.git"}},
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        [error] = refused.json()["errors"]
        assert error["loc"] == ["body", "config", "url"]
        assert "FLOMATION_LAUNCH_ALLOW_LOCAL_GIT" in error["msg"]

        # Network URLs pass here, loopback included: Launch checks their addresses when it
        # polls, after resolving them, under the policy in force then.
        created = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={"type": "git", "config": {"url": "https://127.0.0.1/team/r.git"}},
        )
        assert created.status_code == 201, created.text
        trigger_id = created.json()["id"]
        for url in LOCAL_URLS:
            edited = await client.patch(
                f"/api/v1/triggers/{trigger_id}", json={"config": {"url": url}}
            )
            assert edited.status_code == 422, (url, edited.text)
        unchanged = await client.get(f"/api/v1/triggers/{trigger_id}")
        assert unchanged.json()["config"]["url"] == "https://127.0.0.1/team/r.git"


async def test_a_stored_local_trigger_cannot_be_re_enabled_once_the_operator_forbids_them(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    stored = await make_trigger(
        database,
        owner.organization_id,
        flow_id,
        "git",
        {"url": "file:///srv/repo.git"},
        enabled=False,
        allow_local_git=True,
    )
    async with api.client(owner.headers) as client:
        enabled = await client.patch(f"/api/v1/triggers/{stored.id}", json={"enabled": True})
        assert enabled.status_code == 422, enabled.text
        assert enabled.json()["errors"][0]["loc"] == ["body", "config", "url"]


async def test_the_operator_may_allow_local_repositories(
    owner: Actor, database: Database, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path / "data", launch_allow_local_git=True)
    flow_id = await make_flow(database, owner.organization_id)
    async with (
        serve(create_app(settings, database=database)) as api,
        api.client(owner.headers) as client,
    ):
        created = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={"type": "git", "config": {"url": "file:///srv/repo.git"}},
        )
        assert created.status_code == 201, created.text
