"""Webhook ingress over the real API server: auth per webhook, dedupe of retried deliveries,
the input a flow receives, every error answer, and sync responses."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx

from flomation.config import Settings
from flomation.db.session import Database
from flomation.protocol import ExecutionStatus, FinalStatus
from flomation.triggers.signatures import sign_github, sign_standard
from tests.factories import Actor
from tests.live import LiveServer
from tests.triggers.factories import (
    archive_flow,
    end_all,
    executions_of,
    make_flow,
    make_trigger,
    open_definition,
    put_secret,
)


async def _hook(
    database: Database, actor: Actor, config: dict[str, Any], **flow: Any
) -> tuple[str, str]:
    flow_id = await make_flow(database, actor.organization_id, **flow)
    trigger = await make_trigger(database, actor.organization_id, flow_id, "webhook", config)
    return flow_id, trigger.id


async def test_async_webhook_queues_an_execution_with_the_request_as_input(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    _, trigger_id = await _hook(database, owner, {"path": "orders/new"})
    async with api.client() as client:
        answer = await client.post(
            "/hooks/orders/new?source=shop&tag=a&tag=b",
            json={"order": 7},
            headers={"Authorization": "Bearer leak", "Cookie": "s=1", "X-Custom": "yes"},
        )
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["execution_id"]
    [execution] = await executions_of(database, owner.organization_id)
    assert execution.id == execution_id
    assert execution.status == "queued"
    assert execution.trigger["type"] == "webhook"
    assert execution.trigger["id"] == trigger_id
    data = execution.input
    assert data["method"] == "POST"
    assert data["path"] == "orders/new"
    assert data["query"] == {"source": "shop", "tag": ["a", "b"]}
    assert data["body"] == {"order": 7}
    assert data["headers"]["x-custom"] == "yes"
    assert "authorization" not in data["headers"]
    assert "cookie" not in data["headers"]


async def test_text_bodies_arrive_as_text_and_bad_json_is_400(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, {"path": "plain"})
    async with api.client() as client:
        text = await client.post(
            "/hooks/plain", content=b"hello=1", headers={"Content-Type": "text/plain"}
        )
        assert text.status_code == 202
        broken = await client.post(
            "/hooks/plain", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert broken.status_code == 400
        assert broken.headers["content-type"].startswith("application/problem+json")
    executions = await executions_of(database, owner.organization_id)
    assert [e.input["body"] for e in executions] == ["hello=1"]


async def test_unknown_disabled_and_wrong_method_are_refused(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    await make_trigger(
        database, owner.organization_id, flow_id, "webhook", {"path": "off"}, enabled=False
    )
    await make_trigger(
        database, owner.organization_id, flow_id, "webhook", {"path": "put-only", "method": "PUT"}
    )
    async with api.client() as client:
        assert (await client.post("/hooks/nothing/here", json={})).status_code == 404
        assert (await client.post("/hooks/off", json={})).status_code == 404
        wrong = await client.post("/hooks/put-only", json={})
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "PUT"
        assert (await client.put("/hooks/put-only", json={})).status_code == 202
    assert len(await executions_of(database, owner.organization_id)) == 1


async def test_oversized_bodies_are_413_and_schema_breaking_input_is_422(
    api: LiveServer, owner: Actor, settings: Settings, database: Database
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "body": {
                "type": "object",
                "properties": {"n": {"type": "integer"}},
                "required": ["n"],
            }
        },
    }
    await _hook(database, owner, {"path": "typed"}, definition=open_definition(input_schema=schema))
    async with api.client() as client:
        big = b"x" * (settings.webhook_max_body_bytes + 1)
        too_large = await client.post(
            "/hooks/typed", content=big, headers={"Content-Type": "text/plain"}
        )
        assert too_large.status_code == 413
        wrong = await client.post("/hooks/typed", json={"n": "seven"})
        assert wrong.status_code == 422
        assert wrong.json()["errors"]
        right = await client.post("/hooks/typed", json={"n": 7})
        assert right.status_code == 202
    assert len(await executions_of(database, owner.organization_id)) == 1


async def test_bearer_token_webhook(
    api: LiveServer, owner: Actor, settings: Settings, database: Database
) -> None:
    await put_secret(database, settings, owner.organization_id, "HOOK_TOKEN", "s3cret-token")
    _, trigger_id = await _hook(database, owner, {"path": "tok", "auth": {"token": "HOOK_TOKEN"}})
    async with api.client() as client:
        assert (await client.post("/hooks/tok", json={})).status_code == 401
        wrong = await client.post("/hooks/tok", json={}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await client.post(
            "/hooks/tok", json={}, headers={"Authorization": "Bearer s3cret-token"}
        )
        assert right.status_code == 202
        shown = await client.get(f"/api/v1/triggers/{trigger_id}", headers=owner.headers)
        assert shown.json()["public"] is False
    assert len(await executions_of(database, owner.organization_id)) == 1


def _standard_headers(secret: str, message_id: str, body: bytes, at: int) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(at),
        "webhook-signature": sign_standard(secret, message_id, str(at), body),
        "Content-Type": "application/json",
    }


async def test_standard_webhooks_signature_replay_and_tolerance(
    api: LiveServer, owner: Actor, settings: Settings, database: Database
) -> None:
    secret = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
    await put_secret(database, settings, owner.organization_id, "SIGNING", secret)
    await _hook(database, owner, {"path": "std", "auth": {"hmac_secret": "SIGNING"}})
    body = json.dumps({"event": "paid"}).encode()
    now = int(time.time())
    async with api.client() as client:
        good = await client.post(
            "/hooks/std", content=body, headers=_standard_headers(secret, "msg_1", body, now)
        )
        assert good.status_code == 202, good.text
        replayed = await client.post(
            "/hooks/std", content=body, headers=_standard_headers(secret, "msg_1", body, now)
        )
        assert replayed.status_code == 202
        assert replayed.json()["execution_id"] == good.json()["execution_id"]
        # An unsigned Idempotency-Key does not turn a replay into a new delivery.
        disguised = {**_standard_headers(secret, "msg_1", body, now), "Idempotency-Key": "new"}
        again = await client.post("/hooks/std", content=body, headers=disguised)
        assert again.json()["execution_id"] == good.json()["execution_id"]

        tampered = _standard_headers(secret, "msg_2", body, now)
        bad = await client.post("/hooks/std", content=body + b" ", headers=tampered)
        assert bad.status_code == 401
        other_key = _standard_headers(
            "whsec_" + base64.b64encode(b"k" * 32).decode(), "m3", body, now
        )
        assert (await client.post("/hooks/std", content=body, headers=other_key)).status_code == 401
        old = _standard_headers(secret, "msg_4", body, now - 600)
        assert (await client.post("/hooks/std", content=body, headers=old)).status_code == 401
        unsigned = await client.post("/hooks/std", content=body)
        assert unsigned.status_code == 401
    executions = await executions_of(database, owner.organization_id)
    assert len(executions) == 1
    assert "webhook-signature" not in executions[0].input["headers"]


async def test_github_signature_and_delivery_dedupe(
    api: LiveServer, owner: Actor, settings: Settings, database: Database
) -> None:
    await put_secret(database, settings, owner.organization_id, "GH", "gh-secret")
    await _hook(
        database,
        owner,
        {"path": "gh/push", "auth": {"hmac_secret": "GH", "hmac_scheme": "github"}},
    )
    body = b'{"ref": "refs/heads/main"}'

    def headers(signature: str, delivery: str) -> dict[str, str]:
        return {
            "X-Hub-Signature-256": signature,
            "X-GitHub-Delivery": delivery,
            "Content-Type": "application/json",
        }

    async with api.client() as client:
        good = await client.post(
            "/hooks/gh/push", content=body, headers=headers(sign_github("gh-secret", body), "d1")
        )
        assert good.status_code == 202
        again = await client.post(
            "/hooks/gh/push", content=body, headers=headers(sign_github("gh-secret", body), "d1")
        )
        assert again.json() == good.json()
        bad = await client.post(
            "/hooks/gh/push", content=body, headers=headers(sign_github("wrong", body), "d2")
        )
        assert bad.status_code == 401
    executions = await executions_of(database, owner.organization_id)
    assert len(executions) == 1
    assert "x-hub-signature-256" not in executions[0].input["headers"]
    assert executions[0].input["body"] == {"ref": "refs/heads/main"}


async def test_idempotency_key_answers_the_same_execution(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, {"path": "idem"})
    async with api.client() as client:
        answers = [
            await client.post("/hooks/idem", json={"n": i}, headers={"Idempotency-Key": "k-1"})
            for i in range(3)
        ]
        other = await client.post("/hooks/idem", json={}, headers={"Idempotency-Key": "k-2"})
    assert {a.json()["execution_id"] for a in answers} == {answers[0].json()["execution_id"]}
    assert other.json()["execution_id"] != answers[0].json()["execution_id"]
    assert len(await executions_of(database, owner.organization_id)) == 2


async def test_archived_flow_refuses_webhook_calls(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id, _ = await _hook(database, owner, {"path": "old"})
    await archive_flow(database, owner.organization_id, flow_id)
    async with api.client() as client:
        assert (await client.post("/hooks/old", json={})).status_code == 409
    assert await executions_of(database, owner.organization_id) == []


async def test_sync_webhook_without_a_runner_answers_202_after_the_timeout(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, {"path": "wait", "respond": "sync", "sync_timeout_s": 0.5})
    async with api.client() as client:
        started = time.monotonic()
        answer = await client.post("/hooks/wait", json={})
        waited = time.monotonic() - started
    assert answer.status_code == 202
    assert waited >= 0.5
    [execution] = await executions_of(database, owner.organization_id)
    assert answer.json() == {"execution_id": execution.id}


async def _end_when_queued(database: Database, organization_id: str, status: FinalStatus) -> None:
    for _ in range(200):
        if await end_all(database, organization_id, status=status):
            return
        await asyncio.sleep(0.05)


async def test_sync_webhook_answers_the_output_or_502_with_the_error(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, {"path": "sync", "respond": "sync", "sync_timeout_s": 20})
    async with api.client() as client:
        # The runner's part (claim, complete) is played through the executions service.
        runner = asyncio.create_task(
            _end_when_queued(database, owner.organization_id, ExecutionStatus.SUCCEEDED)
        )
        ok = await client.post("/hooks/sync", json={})
        await runner
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"done": True}

        runner = asyncio.create_task(
            _end_when_queued(database, owner.organization_id, ExecutionStatus.FAILED)
        )
        failed = await client.post("/hooks/sync", json={})
        await runner
    assert failed.status_code == 502
    assert failed.headers["content-type"].startswith("application/problem+json")
    problem = failed.json()
    assert problem["error"]["message"] == "it broke"
    ids = {e.id for e in await executions_of(database, owner.organization_id)}
    assert problem["execution_id"] in ids


async def test_a_burst_of_calls_is_all_accepted(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _hook(database, owner, {"path": "burst"})
    async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as client:
        answers = await asyncio.gather(
            *(client.post("/hooks/burst", json={"i": i}) for i in range(40))
        )
    assert [a.status_code for a in answers] == [202] * 40
    executions = await executions_of(database, owner.organization_id)
    assert sorted(e.input["body"]["i"] for e in executions) == list(range(40))
