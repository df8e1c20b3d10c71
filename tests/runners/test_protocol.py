"""The signed runner protocol against the real API, on SQLite and PostgreSQL: registration,
signatures, replay, claim long-poll, heartbeats, fenced events and completion."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from flomation.db.session import Database
from flomation.runner.client import ApiClient, ApiRefused, RunnerUnknown
from flomation.signing import HEADER_SIGNATURE, SignatureInvalid, SigningKey, derive_signing_key
from tests.conftest import TEST_SECRET_KEY
from tests.executions.factories import get, request
from tests.factories import Actor, make_flow
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, raw_call, runner_client

HELD: list[dict[str, Any]] = []


async def registered(
    api: LiveServer,
    database: Database,
    owner: Actor,
    *,
    token_labels: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    key: SigningKey | None = None,
    **extra: Any,
) -> ApiClient:
    token = await make_runner_token(database, owner.organization_id, labels=token_labels)
    client = runner_client(api.base_url, token, key=key, **extra)
    await client.register(labels=labels or {}, max_concurrent=4)
    return client


# --------------------------------------------------------------------------- registration


async def test_labels_are_the_tokens_plus_the_runners_own(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    token = await make_runner_token(database, owner.organization_id, labels={"location": "onprem"})
    client = runner_client(api.base_url, token)
    answer = await client.register(labels={"gpu": "yes", "location": "onprem"}, max_concurrent=2)
    await client.aclose()
    assert answer.labels == {"location": "onprem", "gpu": "yes"}
    assert answer.lease_seconds == 3.0
    assert answer.heartbeat_interval_s == pytest.approx(1.0)


async def test_a_label_contradicting_the_token_is_a_conflict(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    token = await make_runner_token(database, owner.organization_id, labels={"location": "onprem"})
    client = runner_client(api.base_url, token)
    with pytest.raises(ApiRefused) as refused:
        await client.register(labels={"location": "cloud"}, max_concurrent=2)
    await client.aclose()
    assert refused.value.status == 409
    assert "location" in refused.value.problem["detail"]


async def test_the_api_key_is_derived_from_the_secret_and_can_be_pinned(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    import base64

    expected = derive_signing_key(base64.urlsafe_b64decode(TEST_SECRET_KEY)).public_key_base64()
    client = await registered(api, database, owner, api_public_key=expected)
    await client.aclose()
    assert client.api_key is not None
    assert client.api_key.to_base64() == expected
    wrong_pin = SigningKey.generate().public_key_base64()
    token = await make_runner_token(database, owner.organization_id)
    pinned = runner_client(api.base_url, token, api_public_key=wrong_pin)
    with pytest.raises(SignatureInvalid, match="pinned"):
        await pinned.register(labels={}, max_concurrent=1)
    await pinned.aclose()


# --------------------------------------------------------------------------- signatures


async def test_unsigned_tampered_stale_and_replayed_requests_are_refused(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    key = SigningKey.generate()
    client = await registered(api, database, owner, key=key)
    runner_id = client.runner_id
    assert runner_id is not None
    await client.aclose()
    path = "/api/v1/runner/heartbeat"
    body = {"held": [], "running": 0}

    good = await raw_call(api.base_url, key, runner_id, path, body, nonce="a" * 32)
    assert good.status_code == 200, good.text
    assert good.headers[HEADER_SIGNATURE]

    replay = await raw_call(api.base_url, key, runner_id, path, body, nonce="a" * 32)
    assert replay.status_code == 401
    assert "sent before" in replay.json()["detail"]

    stale = await raw_call(
        api.base_url, key, runner_id, path, body, timestamp=int(time.time()) - 3600
    )
    assert stale.status_code == 401
    assert "clock" in stale.json()["detail"]

    impostor = await raw_call(api.base_url, SigningKey.generate(), runner_id, path, body)
    assert impostor.status_code == 401
    assert impostor.headers["content-type"].startswith("application/problem+json")

    async with api.client() as plain:
        unsigned = await plain.post(path, json=body)
        assert unsigned.status_code == 401
        assert "signed" in unsigned.json()["detail"]
        from tests.runners.helpers import signed_headers

        content, headers = signed_headers(key, runner_id, "POST", path, body)
        tampered = await plain.post(path, content=content.replace(b"0", b"1"), headers=headers)
        assert tampered.status_code == 401
        other_path = await plain.post("/api/v1/runner/claim", content=content, headers=headers)
        assert other_path.status_code == 401


async def test_a_deleted_runner_is_refused_from_then_on(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    client = await registered(api, database, owner)
    await client.call("POST", "/heartbeat", {"held": [], "running": 0})
    async with api.client(owner.headers) as admin:
        assert (await admin.delete(f"/api/v1/runners/{client.runner_id}")).status_code == 204
        assert (await admin.get("/api/v1/runners")).json()["items"] == []
    with pytest.raises(RunnerUnknown):
        await client.call("POST", "/heartbeat", {"held": [], "running": 0})
    await client.aclose()


async def test_the_runner_refuses_an_answer_not_signed_by_the_api(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    client = await registered(api, database, owner)
    # Pretend the API's key is another: every genuine answer must now fail to verify.
    client.api_key = SigningKey.generate().verify_key
    with pytest.raises(SignatureInvalid):
        await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0})
    await client.aclose()


# --------------------------------------------------------------------------- claims


async def test_a_claim_returns_work_with_its_definition_and_a_signed_payload(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id, input={"n": 2})).id
    client = await registered(api, database, owner)
    answer = await client.call("POST", "/claim", {"free_slots": 2, "wait_s": 0})
    await client.aclose()
    [claimed] = answer["executions"]
    assert claimed["id"] == execution_id
    assert claimed["attempt"] == 1
    assert claimed["input"] == {"n": 2}
    assert claimed["definition"]["nodes"][0]["id"] == "start"
    assert (await get(database, owner.organization_id, execution_id)).status == "running"


async def test_a_long_poll_claim_returns_promptly_when_work_arrives(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    client = await registered(api, database, owner)
    claim = asyncio.create_task(client.call("POST", "/claim", {"free_slots": 1, "wait_s": 30}))
    await asyncio.sleep(0.5)
    assert not claim.done()
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    # The wait is bounded by the API's claim_wait_seconds (2 s in tests): well before that,
    # the notifier wakes the poll and the claim carries the new execution.
    answer = await asyncio.wait_for(claim, timeout=10)
    await client.aclose()
    assert [item["id"] for item in answer["executions"]] == [execution_id]


async def test_a_runner_without_the_flows_labels_never_claims_it(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    await request(database, owner.organization_id, flow_id, runs_on={"location": "onprem"})
    plain = await registered(api, database, owner)
    nothing = await plain.call("POST", "/claim", {"free_slots": 4, "wait_s": 0})
    await plain.aclose()
    assert nothing["executions"] == []
    onprem = await registered(api, database, owner, labels={"location": "onprem"})
    found = await onprem.call("POST", "/claim", {"free_slots": 4, "wait_s": 0})
    await onprem.aclose()
    assert len(found["executions"]) == 1


async def test_runners_only_claim_their_own_organisations_work(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    from tests.factories import make_actor

    other = await make_actor(database, role="owner")
    flow_id = await make_flow(database, other.organization_id)
    await request(database, other.organization_id, flow_id)
    client = await registered(api, database, owner)
    answer = await client.call("POST", "/claim", {"free_slots": 4, "wait_s": 0})
    await client.aclose()
    assert answer["executions"] == []


# --------------------------------------------------------------------------- heartbeats, events


async def test_heartbeat_renews_and_relays_a_cancel(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    client = await registered(api, database, owner)
    [claimed] = (await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    held = [{"execution_id": execution_id, "attempt": claimed["attempt"]}]
    beat = await client.call("POST", "/heartbeat", {"held": held, "running": 1})
    assert beat == {"renewed": [execution_id], "cancel": [], "lost": []}
    async with api.client(owner.headers) as user:
        cancelled = await user.post(f"/api/v1/executions/{execution_id}/cancel")
        assert cancelled.status_code == 202
    beat = await client.call("POST", "/heartbeat", {"held": held, "running": 1})
    assert beat["cancel"] == [execution_id]
    lost = await client.call(
        "POST", "/heartbeat", {"held": [{"execution_id": "nope", "attempt": 1}], "running": 0}
    )
    await client.aclose()
    assert lost["lost"] == ["nope"]


async def test_events_and_completion_are_fenced_by_attempt(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    client = await registered(api, database, owner)
    [claimed] = (await client.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    attempt = claimed["attempt"]
    at = "2026-01-01T00:00:00Z"
    events = [
        {
            "seq": 1,
            "kind": "node.started",
            "at": at,
            "step": 1,
            "node_id": "start",
            "visit": 1,
            "iteration": None,
            "parent_step": None,
            "attempt": 1,
            "input": None,
        },
        {
            "seq": 2,
            "kind": "node.succeeded",
            "at": at,
            "step": 1,
            "node_id": "start",
            "attempts": 1,
            "output": {"n": 21},
            "port": "success",
        },
        {
            "seq": 3,
            "kind": "log",
            "at": at,
            "node_id": "start",
            "step": 1,
            "level": "info",
            "message": "hello",
        },
    ]
    stale_item = {"execution_id": execution_id, "attempt": attempt + 1, "events": events}
    good_item = {
        "execution_id": execution_id,
        "attempt": attempt,
        "events": events,
        "complete": {"status": "succeeded", "output": {"m": 42}, "error": None},
    }
    answer = await client.call("POST", "/events", {"items": [stale_item, good_item]})
    assert [r["result"] for r in answer["results"]] == ["stale", "ok"]
    done = await get(database, owner.organization_id, execution_id)
    assert done.status == "succeeded"
    assert done.output == {"m": 42}
    assert [step.node_id for step in done.steps] == ["start"]
    assert [line.message for line in done.logs] == ["hello"]
    late = await client.call("POST", "/events", {"items": [{**good_item, "complete": None}]})
    assert late["results"][0]["result"] == "stale"
    with pytest.raises(ApiRefused) as refused:
        await client.call("POST", "/complete", good_item)
    await client.aclose()
    assert refused.value.status == 409


async def test_release_hands_an_execution_back_and_refuses_the_old_attempt(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    first = await registered(api, database, owner)
    [claimed] = (await first.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    held = {"execution_id": execution_id, "attempt": claimed["attempt"]}
    assert await first.call("POST", "/release", {"executions": [held]}) is None
    assert (await get(database, owner.organization_id, execution_id)).status == "queued"
    second = await registered(api, database, owner)
    [again] = (await second.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    assert again["attempt"] == claimed["attempt"] + 1
    refused = await first.call(
        "POST",
        "/events",
        {"items": [{**held, "complete": {"status": "succeeded", "output": 1, "error": None}}]},
    )
    await first.aclose()
    await second.aclose()
    assert refused["results"][0]["result"] == "stale"


async def test_malformed_protocol_bodies_are_problems(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    client = await registered(api, database, owner)
    with pytest.raises(ApiRefused) as refused:
        await client.call("POST", "/claim", {"free_slots": -1})
    assert refused.value.status == 422
    with pytest.raises(ApiRefused) as refused:
        await client.call("POST", "/events", {"items": [{"execution_id": "x"}]})
    await client.aclose()
    assert refused.value.status == 422
