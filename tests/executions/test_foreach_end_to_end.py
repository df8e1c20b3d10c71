"""W3 of issue 18 end to end: a sync webhook, a real `flomation runner` process, a foreach over
1,000 items. The webhook answers the same under every `save_data` (each flow's setting, set with
`PATCH /api/v1/flows/{id}`); under `all` every iteration
is readable through the API (stored packed), under `errors` and `none` a succeeded execution
keeps its summary only. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flomation.db.session import Database
from tests.factories import Actor
from tests.live import LiveServer
from tests.runner.processes import runner_processes
from tests.runners.helpers import make_runner_token
from tests.triggers.factories import make_flow, make_trigger

ITEMS = list(range(1000))


def _w3() -> dict[str, Any]:
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "each", "type": "foreach", "config": {"items": "{{ input.body.items }}"}},
            {"id": "double", "type": "set", "config": {"values": {"v": "{{ item * 2 }}"}}},
            {
                "id": "out",
                "type": "return",
                "config": {
                    "value": {"sum": "{{ nodes.each.output.results | sum(attribute='v') }}"}
                },
            },
        ],
        "edges": [
            {"from": "start", "to": "each"},
            {"from": "each", "to": "double", "port": "each"},
            {"from": "each", "to": "out", "port": "done"},
        ],
    }


async def test_w3_answers_the_same_and_keeps_what_its_mode_says(
    api: LiveServer, owner: Actor, database: Database, tmp_path: Path
) -> None:
    org = owner.organization_id
    sync = {"respond": "sync", "sync_timeout_s": 60}
    modes = ("all", "errors", "none")
    mode_of: dict[str, str] = {}
    for mode in modes:
        flow_id = await make_flow(database, org, definition=_w3())
        async with api.client(owner.headers) as client:
            patched = await client.patch(f"/api/v1/flows/{flow_id}", json={"save_data": mode})
            assert patched.status_code == 200, patched.text
        mode_of[flow_id] = mode
        await make_trigger(database, org, flow_id, "webhook", {"path": f"w3-{mode}", **sync})
    token = await make_runner_token(database, org)

    views: dict[str, dict[str, Any]] = {}
    async with runner_processes(api.base_url, token, tmp_path), api.client() as hooks:
        for mode in modes:
            answer = await hooks.post(f"/hooks/w3-{mode}", json={"items": ITEMS})
            assert answer.status_code == 200, answer.text
            assert answer.json() == {"sum": 2 * sum(ITEMS)}
    async with api.client(owner.headers) as client:
        listed = (await client.get("/api/v1/executions")).json()["items"]
        assert len(listed) == len(modes)
        for item in listed:
            view = (await client.get(f"/api/v1/executions/{item['id']}")).json()
            views[mode_of[item["flow_id"]]] = view

    assert views["errors"]["steps"] == views["none"]["steps"] == []
    everything = views["all"]
    doubled = [s for s in everything["steps"] if s["node_id"] == "double"]
    assert [(s["iteration"], s["status"], s["output"]) for s in doubled] == [
        (i, "succeeded", {"v": 2 * i}) for i in ITEMS
    ]
    assert len(everything["steps"]) == len(ITEMS) + 3
    for view in views.values():
        assert view["status"] == "succeeded"
        assert view["output"] == {"sum": 2 * sum(ITEMS)}
        assert view["logs"] == []
