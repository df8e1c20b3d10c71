"""What an execution keeps (`save_data`: the flow's setting, set with `PATCH
/api/v1/flows/{id}`, else the organisation's default), read through the API: its steps and logs
(`GET /api/v1/executions/{id}`) and its event stream, while it runs and once it ended. The
runner's side is the engine's own events for a real run, reported in two batches as a runner
does. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from flomation.db.session import Database
from flomation.engine.events import ListSink
from flomation.engine.executor import run_flow
from flomation.executions import reports as execution_reports
from flomation.executions.repository import queries as queries_repository
from flomation.executions.schemas import ClaimedExecution
from flomation.protocol import ExecutionStatus, FinalStatus
from tests.executions.factories import claim, complete
from tests.factories import Actor, make_actor, make_flow
from tests.live import LiveServer

ITEMS = [1, 2, 3]


def _definition() -> dict[str, Any]:
    """start -> note (a log line) -> each (foreach over `input.items`, body doubling the item)
    -> out (the doubled items)."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "note", "type": "log", "config": {"message": "got {{ input.items | length }}"}},
            {"id": "each", "type": "foreach", "config": {"items": "{{ input.items }}"}},
            {"id": "double", "type": "set", "config": {"values": {"v": "{{ item * 2 }}"}}},
            {
                "id": "out",
                "type": "return",
                "config": {"value": "{{ nodes.each.output.results | map(attribute='v') | list }}"},
            },
        ],
        "edges": [
            {"from": "start", "to": "note"},
            {"from": "note", "to": "each"},
            {"from": "each", "to": "double", "port": "each"},
            {"from": "each", "to": "out", "port": "done"},
        ],
    }


async def _patch(api: LiveServer, actor: Actor, flow_id: str, save_data: str | None) -> None:
    """Set the flow's `save_data` the way a user does; the answer shows it, no new revision."""
    async with api.client(actor.headers) as client:
        answer = await client.patch(f"/api/v1/flows/{flow_id}", json={"save_data": save_data})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["save_data"], answer.json()["revision"]) == (save_data, 1)


async def _flow(
    api: LiveServer, database: Database, actor: Actor, save_data: str | None = None
) -> str:
    """The flow of `_definition`, with `save_data` set through the API unless None."""
    flow_id = await make_flow(database, actor.organization_id, definition=_definition())
    if save_data is not None:
        await _patch(api, actor, flow_id, save_data)
    return flow_id


async def _engine_events() -> tuple[list[dict[str, Any]], Any]:
    """The events of a real run of the flow (its `save_data` changes nothing the engine
    does), and its output."""
    sink = ListSink()
    document = await run_flow(_definition(), {"items": ITEMS}, sink=sink)
    assert document["status"] == "succeeded"
    return [event.to_dict() for event in sink.events], document["output"]


async def _start(
    api: LiveServer, database: Database, actor: Actor, flow_id: str
) -> ClaimedExecution:
    async with api.client(actor.headers) as client:
        answer = await client.post(
            f"/api/v1/flows/{flow_id}/executions", json={"input": {"items": ITEMS}}
        )
        assert answer.status_code == 201, answer.text
    [held] = await claim(database, actor.organization_id)
    assert held.id == answer.json()["id"]
    return held


async def _report(database: Database, held: ClaimedExecution, events: list[dict[str, Any]]) -> None:
    async with database.transaction() as session:
        await execution_reports.record_events(
            session, runner_id="runner-1", execution_id=held.id, attempt=held.attempt, events=events
        )


async def _read(api: LiveServer, actor: Actor, execution_id: str) -> dict[str, Any]:
    async with api.client(actor.headers) as client:
        answer = await client.get(f"/api/v1/executions/{execution_id}")
        assert answer.status_code == 200, answer.text
        view: dict[str, Any] = answer.json()
        return view


async def _stream_types(database: Database, execution_id: str) -> list[str]:
    async with database.transaction() as session:
        return [e.type for e in await queries_repository.events_after(session, execution_id, 0)]


async def _run(
    api: LiveServer,
    database: Database,
    actor: Actor,
    flow_id: str,
    *,
    status: FinalStatus = ExecutionStatus.SUCCEEDED,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """One execution reported in two batches, then ended with `status`: the API's view of it
    after the first batch, after its end, and the types of its stored stream events."""
    events, output = await _engine_events()
    held = await _start(api, database, actor, flow_id)
    half = len(events) // 2
    await _report(database, held, events[:half])
    running = await _read(api, actor, held.id)
    await _report(database, held, events[half:])
    error = None
    if status != ExecutionStatus.SUCCEEDED:
        error = {"node_id": "out", "type": "node", "message": "boom", "attempt": 1}
        output = None
    await complete(database, held, status=status, output=output, error=error)
    return running, await _read(api, actor, held.id), await _stream_types(database, held.id)


def _details(view: dict[str, Any]) -> tuple[int, int]:
    return len(view["steps"]), len(view["logs"])


# Steps of the whole run: start, note, each, 3 iterations of double, out; one log line.
EVERYTHING = (len(ITEMS) + 4, 1)


async def test_all_keeps_every_step_and_log(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner, "all")

    running, ended, stream = await _run(api, database, owner, flow_id)

    assert _details(running) != (0, 0)
    assert _details(ended) == EVERYTHING
    assert ended["output"] == [2, 4, 6]
    iterations = [s for s in ended["steps"] if s["node_id"] == "double"]
    assert [(s["iteration"], s["status"], s["output"]) for s in iterations] == [
        (0, "succeeded", {"v": 2}),
        (1, "succeeded", {"v": 4}),
        (2, "succeeded", {"v": 6}),
    ]
    assert {"step", "log", "execution", "end"} <= set(stream)


async def test_errors_drops_the_details_of_a_succeeded_execution_at_its_end(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner, "errors")

    running, ended, stream = await _run(api, database, owner, flow_id)

    # Stored while it ran (the outcome was not known), gone with its end.
    assert _details(running) != (0, 0)
    assert _details(ended) == (0, 0)
    assert (ended["status"], ended["input"], ended["output"], ended["error"]) == (
        "succeeded",
        {"items": ITEMS},
        [2, 4, 6],
        None,
    )
    assert ended["started_at"] is not None
    assert ended["finished_at"] is not None
    assert set(stream) == {"execution", "end"}
    assert stream[-1] == "end"


async def test_errors_keeps_the_details_of_a_failed_execution(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner, "errors")

    _, ended, stream = await _run(api, database, owner, flow_id, status=ExecutionStatus.FAILED)

    assert ended["status"] == "failed"
    assert ended["error"]["message"] == "boom"
    assert _details(ended) == EVERYTHING
    assert {"step", "log"} <= set(stream)


async def test_none_never_stores_steps_or_logs(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner, "none")

    running, ended, stream = await _run(api, database, owner, flow_id)

    assert _details(running) == (0, 0)
    assert running["status"] == "running"
    assert _details(ended) == (0, 0)
    assert (ended["status"], ended["input"], ended["output"]) == (
        "succeeded",
        {"items": ITEMS},
        [2, 4, 6],
    )
    assert set(stream) <= {"execution", "end"}
    assert stream[-1] == "end"


async def test_none_keeps_the_summary_of_a_failed_execution_only(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner, "none")

    _, ended, _ = await _run(api, database, owner, flow_id, status=ExecutionStatus.FAILED)

    assert (ended["status"], ended["error"]["message"]) == ("failed", "boom")
    assert _details(ended) == (0, 0)


async def _set_default(client: httpx.AsyncClient, save_data: str) -> dict[str, Any]:
    answer = await client.patch("/api/v1/organization", json={"defaults": {"save_data": save_data}})
    assert answer.status_code == 200, answer.text
    organization: dict[str, Any] = answer.json()
    return organization


async def test_the_organisation_default_applies_unless_the_flow_says(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    unset = await _flow(api, database, owner)
    keeps = await _flow(api, database, owner, "all")
    # Set, then handed back to the organisation with a null.
    handed_back = await _flow(api, database, owner, "all")
    await _patch(api, owner, handed_back, None)
    async with api.client(owner.headers) as client:
        shown = (await client.get("/api/v1/organization")).json()
        assert shown["defaults"] == {"save_data": "all"}
        assert (await _set_default(client, "none"))["defaults"] == {"save_data": "none"}
        assert (await client.get("/api/v1/organization")).json()["defaults"]["save_data"] == "none"
        assert (await client.get(f"/api/v1/flows/{handed_back}")).json()["save_data"] is None

    _, by_default, _ = await _run(api, database, owner, unset)
    _, overridden, _ = await _run(api, database, owner, keeps)
    _, back_to_default, _ = await _run(api, database, owner, handed_back)

    assert _details(by_default) == (0, 0)
    assert _details(overridden) == EVERYTHING
    assert _details(back_to_default) == (0, 0)


async def test_only_admins_change_the_default_and_only_to_a_mode(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    editor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    async with api.client(editor.headers) as client:
        refused = await client.patch(
            "/api/v1/organization", json={"defaults": {"save_data": "none"}}
        )
        assert refused.status_code == 403
    async with api.client(owner.headers) as client:
        wrong = await client.patch("/api/v1/organization", json={"defaults": {"save_data": "some"}})
        assert wrong.status_code == 422
        assert wrong.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/api/v1/organization")).json()["defaults"]["save_data"] == "all"


async def test_a_default_changed_to_none_while_it_runs_leaves_nothing_at_the_end(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner)
    events, output = await _engine_events()
    held = await _start(api, database, owner, flow_id)
    await _report(database, held, events[: len(events) // 2])
    assert _details(await _read(api, owner, held.id)) != (0, 0)

    async with api.client(owner.headers) as client:
        await _set_default(client, "none")
    await _report(database, held, events[len(events) // 2 :])
    await complete(database, held, output=output)

    ended = await _read(api, owner, held.id)
    assert _details(ended) == (0, 0)
    assert ended["output"] == [2, 4, 6]
    assert set(await _stream_types(database, held.id)) == {"execution", "end"}


async def test_patch_sets_each_mode_without_a_new_revision(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner)
    url = f"/api/v1/flows/{flow_id}"
    async with api.client(owner.headers) as client:
        before = (await client.get(url)).json()
        assert before["save_data"] is None
        for mode in ("all", "errors", "none", None):
            answer = await client.patch(url, json={"save_data": mode})
            assert answer.status_code == 200, answer.text
            shown = (await client.get(url)).json()
            assert (shown["save_data"], shown["revision"], shown["hash"]) == (
                mode,
                1,
                before["hash"],
            )
            assert shown["definition"] == before["definition"]
        # Other settings sent alone leave it as it is.
        await client.patch(url, json={"save_data": "errors"})
        renamed = (await client.patch(url, json={"name": "renamed"})).json()
        assert (renamed["name"], renamed["save_data"]) == ("renamed", "errors")
        listed = (await client.get("/api/v1/flows")).json()["items"]
        assert [item["save_data"] for item in listed if item["id"] == flow_id] == ["errors"]
        revisions = (await client.get(f"{url}/revisions")).json()["items"]
        assert [item["revision"] for item in revisions] == [1]


async def test_a_bad_mode_is_a_422_naming_the_field(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await _flow(api, database, owner, "errors")
    url = f"/api/v1/flows/{flow_id}"
    async with api.client(owner.headers) as client:
        for bad in ("sometimes", "", "ALL", 1, ["all"]):
            answer = await client.patch(url, json={"save_data": bad})
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert [item["loc"] for item in answer.json()["errors"]] == [["body", "save_data"]]
        assert (await client.get(url)).json()["save_data"] == "errors"


async def test_a_viewer_cannot_change_it(api: LiveServer, database: Database, owner: Actor) -> None:
    flow_id = await _flow(api, database, owner, "all")
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    async with api.client(viewer.headers) as client:
        answer = await client.patch(f"/api/v1/flows/{flow_id}", json={"save_data": "none"})
        assert answer.status_code == 403
        assert (await client.get(f"/api/v1/flows/{flow_id}")).json()["save_data"] == "all"


async def test_a_running_execution_follows_the_setting_at_its_end(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    """The setting is read when an execution reports, not when it was requested: a change
    applies to the executions that end after it, those already running included."""
    events, output = await _engine_events()
    half = len(events) // 2
    dropped = await _flow(api, database, owner, "all")
    kept = await _flow(api, database, owner, "errors")
    held = {flow_id: await _start(api, database, owner, flow_id) for flow_id in (dropped, kept)}
    for execution in held.values():
        await _report(database, execution, events[:half])
        assert _details(await _read(api, owner, execution.id)) != (0, 0)

    await _patch(api, owner, dropped, "none")
    await _patch(api, owner, kept, "all")
    for execution in held.values():
        await _report(database, execution, events[half:])
        await complete(database, execution, output=output)

    emptied = await _read(api, owner, held[dropped].id)
    assert (emptied["status"], emptied["output"]) == ("succeeded", [2, 4, 6])
    assert _details(emptied) == (0, 0)
    assert set(await _stream_types(database, held[dropped].id)) == {"execution", "end"}
    # Under `errors` a success would have dropped them; `all` at its end keeps them.
    assert _details(await _read(api, owner, held[kept].id)) == EVERYTHING


async def test_a_definition_carrying_save_data_is_ignored_with_a_warning(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    """Where the setting was before it became a flow setting: an unknown top-level field of
    the document now, kept like any other and read by nothing; validation warns about it."""
    stale = {**_definition(), "save_data": "none"}
    async with api.client(owner.headers) as client:
        created = await client.post("/api/v1/flows", json={"name": "stale", "definition": stale})
        assert created.status_code == 201, created.text
        assert created.json()["save_data"] is None
        assert created.json()["definition"]["save_data"] == "none"
        checked = await client.post("/api/v1/flows/validate", json={"definition": stale})
        assert checked.status_code == 200, checked.text
        warned = [item for item in checked.json()["warnings"] if item["loc"][-1] == "save_data"]
        assert len(warned) == 1
        assert "PATCH /api/v1/flows/{id}" in warned[0]["msg"]

    _, ended, _ = await _run(api, database, owner, created.json()["id"])
    assert _details(ended) == EVERYTHING


async def test_an_end_recorded_by_the_api_itself_keeps_what_the_mode_says(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    """Ends that no runner reports (a timeout, a cancel, a lost runner) go through
    `end_executions`: an execution that keeps nothing has its details removed there too."""
    flow_id = await _flow(api, database, owner)
    events, _ = await _engine_events()
    first = await _start(api, database, owner, flow_id)
    second = await _start(api, database, owner, flow_id)
    for held in (first, second):
        await _report(database, held, events[: len(events) // 2])

    async with api.client(owner.headers) as client:
        await _set_default(client, "errors")
    async with database.transaction() as session:
        await execution_reports.end_executions(
            session, [first.id], status=ExecutionStatus.TIMED_OUT, output=None, error=None
        )
    async with api.client(owner.headers) as client:
        await _set_default(client, "none")
    async with database.transaction() as session:
        await execution_reports.end_executions(
            session, [second.id], status=ExecutionStatus.TIMED_OUT, output=None, error=None
        )

    timed_out = await _read(api, owner, first.id)
    assert timed_out["status"] == "timed_out"
    assert _details(timed_out) != (0, 0)
    emptied = await _read(api, owner, second.id)
    assert emptied["status"] == "timed_out"
    assert _details(emptied) == (0, 0)
    assert set(await _stream_types(database, second.id)) == {"execution", "end"}
