"""Sync webhooks end to end: the real API and a real `flomation runner` process run the flow,
and the caller gets its output (200) or its error (502)."""

from __future__ import annotations

from pathlib import Path

from flomation.db.session import Database
from tests.factories import Actor
from tests.live import LiveServer
from tests.runner.processes import runner_processes
from tests.runners.helpers import make_runner_token
from tests.triggers.factories import make_flow, make_trigger

GREET = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"hello": "{{ input.body.name }}", "via": "{{ input.method }}"}},
        },
    ],
    "edges": [{"from": "start", "to": "out"}],
}
BROKEN = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "boom", "type": "fail", "config": {"message": "no stock for {{ input.body.sku }}"}},
    ],
    "edges": [{"from": "start", "to": "boom"}],
}


async def test_sync_webhook_answers_the_flows_output_or_its_error(
    api: LiveServer, owner: Actor, database: Database, tmp_path: Path
) -> None:
    org = owner.organization_id
    greet = await make_flow(database, org, definition=GREET)
    broken = await make_flow(database, org, definition=BROKEN)
    sync = {"respond": "sync", "sync_timeout_s": 60}
    await make_trigger(database, org, greet, "webhook", {"path": "greet", **sync})
    await make_trigger(database, org, broken, "webhook", {"path": "order", **sync})
    token = await make_runner_token(database, org)
    async with runner_processes(api.base_url, token, tmp_path), api.client() as client:
        ok = await client.post("/hooks/greet", json={"name": "Ada"})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"hello": "Ada", "via": "POST"}

        failed = await client.post("/hooks/order", json={"sku": "A-1"})
    assert failed.status_code == 502
    problem = failed.json()
    assert problem["status"] == 502
    assert problem["execution_status"] == "failed"
    assert problem["error"]["message"] == "no stock for A-1"
    assert problem["execution_id"]
