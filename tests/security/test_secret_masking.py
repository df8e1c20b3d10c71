"""Hostile case: a secret transformed in a template (`|reverse`, `|upper`, `|list`, a slice, hex)
must not be recorded anywhere. The real API and a real `flomation runner` process, on SQLite and
PostgreSQL: a flow makes each transform, logs one, returns them and fails with one, through a
public sync webhook; the stored steps, the logs, the event stream, the execution's output and
error, every table of the database, the runner's log, the server's log and the webhook's answers
hold none of them, while the flow did use the real values."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import flomation.models  # noqa: F401 (every table registered on the metadata)
from flomation.db.base import Base
from flomation.db.session import Database
from tests.factories import Actor
from tests.live import LiveServer
from tests.runner.processes import runner_processes
from tests.runners.helpers import make_runner_token
from tests.triggers.factories import make_flow, make_trigger

SECRET = "Sup3r-Secret_v4lue-9e1f"

TRANSFORMS = {
    "reverse": "{{ secrets.T|reverse }}",
    "upper": "{{ secrets.T|upper }}",
    "list": "{{ secrets.T|list }}",
    "slice": "{{ secrets.T[1:] }}",
    "hex": "{{ secrets.T.encode().hex() }}",
    "header": "Bearer {{ secrets.T|lower }}",
    # Proof that the runner had the real value (a length is not the secret).
    "length": "{{ secrets.T|length }}",
}

# Every form the transforms give, as they could be written anywhere.
LEAKS = [
    SECRET,
    SECRET[::-1],
    SECRET.upper(),
    SECRET.lower(),
    SECRET[1:],
    SECRET.encode().hex(),
    SECRET[::-1].upper(),
    ", ".join(json.dumps(c) for c in SECRET),
    ",".join(json.dumps(c) for c in SECRET),
]


def transforms_flow() -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "made", "type": "set", "config": {"values": TRANSFORMS}},
            {
                "id": "say",
                "type": "log",
                # A second transform, in a later node, of a value an earlier one made.
                "config": {"message": "twice: {{ nodes.made.output.reverse|reverse|upper }}"},
            },
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.made.output }}"}},
        ],
        "edges": [
            {"from": "start", "to": "made"},
            {"from": "made", "to": "say"},
            {"from": "say", "to": "out"},
        ],
    }


FAILING_FLOW = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "boom",
            "type": "fail",
            "config": {"message": "no luck with {{ secrets.T|reverse }}"},
        },
    ],
    "edges": [{"from": "start", "to": "boom"}],
}


async def _database_text(database: Database) -> str:
    """Every row of every table, as text."""
    rows: list[str] = []
    async with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                rows.append(repr(tuple(row)))
    return "\n".join(rows)


async def _execution_ids(client: Any, flow_id: str) -> list[str]:
    answer = await client.get("/api/v1/executions", params={"flow_id": flow_id})
    assert answer.status_code == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def _found(haystack: str) -> list[str]:
    return [leak for leak in LEAKS if leak in haystack]


async def test_no_transform_of_a_secret_is_recorded_or_answered(
    api: LiveServer,
    owner: Actor,
    database: Database,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    org = owner.organization_id
    made = await make_flow(database, org, definition=transforms_flow())
    failing = await make_flow(database, org, definition=FAILING_FLOW)
    sync = {"respond": "sync", "sync_timeout_s": 60}
    await make_trigger(database, org, made, "webhook", {"path": "transforms", **sync})
    await make_trigger(database, org, failing, "webhook", {"path": "failing", **sync})
    token = await make_runner_token(database, org)
    async with (
        api.client(owner.headers) as client,
        api.client() as public,  # nobody signs in to call the webhooks
        runner_processes(api.base_url, token, tmp_path) as runners,
    ):
        put = await client.put("/api/v1/secrets/T", json={"value": SECRET})
        assert put.status_code == 200, put.text

        answered = await public.post("/hooks/transforms", json={})
        assert answered.status_code == 200, answered.text
        output = answered.json()
        assert output["length"] == len(SECRET)  # the flow had the real secret...
        for name in TRANSFORMS.keys() - {"length", "list", "header"}:
            assert output[name] == "***", name  # ...and the answer masks what it made of it
        assert set(output["list"]) == {"***"}
        assert output["header"] == "Bearer ***"

        refused = await public.post("/hooks/failing", json={})
        assert refused.status_code == 502, refused.text
        assert refused.json()["error"]["message"] == "no luck with ***"

        recorded: list[str] = [answered.text, refused.text]
        for flow_id in (made, failing):
            (execution_id,) = await _execution_ids(client, flow_id)
            view = await client.get(f"/api/v1/executions/{execution_id}")
            assert view.json()["status"] in ("succeeded", "failed")
            recorded.append(view.text)
            async with client.stream("GET", f"/api/v1/executions/{execution_id}/events") as stream:
                recorded.append((await stream.aread()).decode())
            assert "event: end" in recorded[-1]
        steps = json.loads(recorded[2])["steps"]
        assert [step["node_id"] for step in steps] == ["start", "made", "say", "out"]
        assert "twice: ***" in recorded[2]
        await runners[0].stop()

    recorded.append(await _database_text(database))
    recorded.append(runners[0].logs())
    recorded.append(caplog.text)
    assert [(i, _found(text)) for i, text in enumerate(recorded) if _found(text)] == []
