"""Executions endpoints over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from flomation.config import Settings
from flomation.db.session import Database
from tests.executions.factories import claim, complete
from tests.factories import Actor, make_actor, make_flow
from tests.live import LiveServer


async def test_run_get_list_filter_and_paginate(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_a = await make_flow(database, owner.organization_id, name="a")
    flow_b = await make_flow(database, owner.organization_id, name="b")
    async with api.client(owner.headers) as client:
        made = []
        for flow_id in (flow_a, flow_b, flow_a, flow_a):
            answer = await client.post(
                f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 1}}
            )
            assert answer.status_code == 201, answer.text
            assert answer.json()["status"] == "queued"
            made.append(answer.json()["id"])

        one = (await client.get(f"/api/v1/executions/{made[0]}")).json()
        assert (one["flow_id"], one["input"], one["trigger"]["type"]) == (
            flow_a,
            {"n": 1},
            "manual",
        )
        assert (one["steps"], one["logs"]) == ([], [])

        listed = (await client.get("/api/v1/executions")).json()
        assert [item["id"] for item in listed["items"]] == made[::-1]
        assert listed["next_cursor"] is None

        only_a = (await client.get("/api/v1/executions", params={"flow_id": flow_a})).json()
        assert [item["id"] for item in only_a["items"]] == [made[3], made[2], made[0]]

        pages: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 3, "flow_id": flow_a}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/api/v1/executions", params=params)).json()
            pages.append(",".join(item["id"] for item in page["items"]))
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert pages == [",".join([made[3], made[2], made[0]])]

        two = (await client.get("/api/v1/executions", params={"limit": 2})).json()
        rest = (
            await client.get(
                "/api/v1/executions", params={"limit": 2, "cursor": two["next_cursor"]}
            )
        ).json()
        assert [i["id"] for i in two["items"] + rest["items"]] == made[::-1]
        assert rest["next_cursor"] is None

    held = await claim(database, owner.organization_id, limit=1)
    await complete(database, held[0])
    async with api.client(owner.headers) as client:
        done = (await client.get("/api/v1/executions", params={"status": "succeeded"})).json()
        assert [i["id"] for i in done["items"]] == [made[0]]
        bad = await client.get("/api/v1/executions", params={"status": "sleeping"})
        assert bad.status_code == 422


async def test_idempotency_key_replays_or_conflicts(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    url = f"/api/v1/flows/{flow_id}/executions"
    async with api.client({**owner.headers, "Idempotency-Key": "order-17"}) as client:
        first = await client.post(url, json={"input": {"n": 1}})
        again = await client.post(url, json={"input": {"n": 1}})
        other = await client.post(url, json={"input": {"n": 2}})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert len(await claim(database, owner.organization_id)) == 1


async def test_bad_input_archived_flow_and_runs_on(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        url = f"/api/v1/flows/{flow_id}/executions"
        bad = await client.post(url, json={"input": {"n": "twenty-one"}})
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["body", "input", "n"]

        labelled = await client.post(
            f"/api/v1/flows/{flow_id}/executions",
            json={"input": {"n": 1}, "runs_on": {"location": "onprem"}},
        )
        assert labelled.status_code == 201
        assert labelled.json()["runs_on"] == {"location": "onprem"}
        assert labelled.json()["status_detail"] == "waiting for a runner with location=onprem"

        assert (await client.delete(f"/api/v1/flows/{flow_id}")).status_code == 204
        archived = await client.post(
            f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 1}}
        )
        assert archived.status_code == 409
    assert await claim(database, owner.organization_id) == []
    assert len(await claim(database, owner.organization_id, labels={"location": "onprem"})) == 1


async def test_cancel_and_retry_over_http(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        queued = (
            await client.post(f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 1}})
        ).json()
        cancel = await client.post(f"/api/v1/executions/{queued['id']}/cancel")
        assert cancel.status_code == 202
        assert cancel.json()["status"] == "cancelled"
        assert (await client.post(f"/api/v1/executions/{queued['id']}/cancel")).status_code == 409

        retry = await client.post(f"/api/v1/executions/{queued['id']}/retry", json={})
        assert retry.status_code == 201
        retried = retry.json()
        assert (retried["retry_of"], retried["trigger"]["type"]) == (queued["id"], "retry")
        assert (await client.post(f"/api/v1/executions/{retried['id']}/retry")).status_code == 409

        held = await claim(database, owner.organization_id)
        assert [h.id for h in held] == [retried["id"]]
        cancel = await client.post(f"/api/v1/executions/{retried['id']}/cancel")
        assert cancel.status_code == 202
        assert cancel.json()["status"] == "running"
        assert cancel.json()["cancel_requested_at"] is not None
        bad_node = await client.post(
            f"/api/v1/executions/{queued['id']}/retry", json={"from_node": "nope"}
        )
        assert bad_node.status_code == 422


async def test_other_organisation_sees_404_and_viewers_cannot_run(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    stranger = await make_actor(database)
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    async with api.client(owner.headers) as client:
        made = (
            await client.post(f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 1}})
        ).json()
    async with api.client(stranger.headers) as client:
        for method, path in (
            ("GET", f"/api/v1/executions/{made['id']}"),
            ("POST", f"/api/v1/executions/{made['id']}/cancel"),
            ("POST", f"/api/v1/executions/{made['id']}/retry"),
            ("GET", f"/api/v1/executions/{made['id']}/events"),
            ("POST", f"/api/v1/flows/{flow_id}/executions"),
        ):
            body = {"input": {"n": 1}} if path.endswith("/executions") else None
            answer = await client.request(method, path, json=body)
            assert answer.status_code == 404, (method, path, answer.status_code)
        assert (await client.get("/api/v1/executions")).json()["items"] == []
    async with api.client(viewer.headers) as client:
        assert (await client.get(f"/api/v1/executions/{made['id']}")).status_code == 200
        refused = await client.post(f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 1}})
        assert refused.status_code == 403
        assert (await client.post(f"/api/v1/executions/{made['id']}/cancel")).status_code == 403
    async with api.client() as client:
        assert (await client.get(f"/api/v1/executions/{made['id']}")).status_code == 401
        assert (await client.get(f"/api/v1/executions/{made['id']}/events")).status_code == 401


async def test_metrics_need_the_token(database: Database, settings: Settings, owner: Actor) -> None:
    from flomation.api.app import create_app
    from tests.live import serve

    async with serve(create_app(settings, database=database)) as server, server.client() as client:
        assert (await client.get("/metrics")).status_code == 404
    with_token = settings.model_copy(update={"metrics_token": "scrape-me"})
    flow_id = await make_flow(database, owner.organization_id)
    async with serve(create_app(with_token, database=database)) as server:
        async with server.client(owner.headers) as client:
            await client.post(f"/api/v1/flows/{flow_id}/executions", json={"input": {"n": 1}})
        await claim(database, owner.organization_id)
        async with server.client() as client:
            assert (await client.get("/metrics")).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await client.get("/metrics", headers=wrong)).status_code == 401
            scraped = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200
    assert "flomation_claims_total" in scraped.text
    assert "flomation_claim_latency_seconds_bucket" in scraped.text
