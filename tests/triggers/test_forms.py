"""Form triggers over the real API server: the page (fields, escaping, CSP), submissions as a
browser (form-encoded, HTML answers) and as an API client (JSON), rejections counted in the
trigger's state, sync answers, one namespace of paths across organisations, disabled forms."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest

from flomation.db.session import Database
from flomation.errors import ValidationFailed
from flomation.protocol import ExecutionStatus, FinalStatus
from flomation.triggers.config import FormConfig, parse_config
from tests.factories import Actor, make_actor
from tests.live import LiveServer
from tests.triggers.factories import (
    archive_flow,
    end_all,
    executions_of,
    get_trigger,
    make_flow,
    make_trigger,
    open_definition,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Your name", "maxLength": 50},
        "age": {"type": "integer", "title": "Age", "minimum": 0},
        "score": {"type": "number", "description": "Any number"},
        "subscribe": {"type": "boolean", "title": "Send me news"},
        "plan": {"enum": ["free", "pro"], "title": "Plan"},
    },
    "required": ["name", "plan"],
}
FORM = "application/x-www-form-urlencoded"


async def _form(
    database: Database, actor: Actor, path: str = "contact", **config: Any
) -> tuple[str, str]:
    flow_id = await make_flow(database, actor.organization_id)
    trigger = await make_trigger(
        database,
        actor.organization_id,
        flow_id,
        "form",
        {"path": path, "title": "Contact us", "schema": SCHEMA, **config},
    )
    return flow_id, trigger.id


def _submission_id(page: str) -> str:
    found = re.search(r'name="_submission" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def test_the_page_shows_every_field_with_labels_and_a_strict_csp(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _form(database, owner)
    async with api.client() as client:
        page = await client.get("/forms/contact")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert "script-src" not in csp
    html = page.text
    assert "<h1>Contact us</h1>" in html
    assert '<label for="f-name">Your name <span class="req"' in html
    assert 'id="f-age" name="age"' in html
    assert 'inputmode="numeric"' in html
    assert 'type="checkbox" id="f-subscribe"' in html
    assert '<option value="pro"' in html
    assert "Any number" in html
    assert '<button type="submit">Submit</button>' in html
    assert "<script" not in html
    assert "http" not in html.split("<body>")[1]


async def test_a_hostile_title_and_description_are_escaped(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    hostile = '<script>alert("x")</script>'
    schema = {
        "type": "object",
        "properties": {"q": {"type": "string", "title": hostile, "description": hostile}},
    }
    flow_id = await make_flow(database, owner.organization_id)
    await make_trigger(
        database,
        owner.organization_id,
        flow_id,
        "form",
        {"path": "evil", "title": hostile, "description": hostile, "schema": schema},
    )
    async with api.client() as client:
        html = (await client.get("/forms/evil")).text
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 4


async def test_a_browser_post_starts_the_execution_and_shows_thanks(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    _, trigger_id = await _form(database, owner)
    async with api.client() as client:
        page = (await client.get("/forms/contact")).text
        data = {
            "_submission": _submission_id(page),
            "name": "Ada",
            "age": "36",
            "score": "2.5",
            "subscribe": "on",
            "plan": "pro",
        }
        answer = await client.post("/forms/contact", data=data)
        again = await client.post("/forms/contact", data=data)  # a double click
    assert answer.status_code == 200, answer.text
    assert "Thank you" in answer.text
    assert again.status_code == 200
    [execution] = await executions_of(database, owner.organization_id)
    assert execution.input == {
        "name": "Ada",
        "age": 36,
        "score": 2.5,
        "subscribe": True,
        "plan": "pro",
    }
    assert execution.trigger == {"type": "form", "id": trigger_id, "path": "contact"}
    state = (await get_trigger(database, owner.organization_id, trigger_id)).state
    assert state.events_total == 1
    assert state.rejected_total == 0
    assert state.last_event_at is not None


async def test_a_json_post_starts_the_execution_with_the_fields(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _form(database, owner)
    async with api.client() as client:
        answer = await client.post("/forms/contact", json={"name": "Bo", "plan": "free"})
        key = {"Idempotency-Key": "retry-1"}
        first = await client.post("/forms/contact", json={"name": "Cy", "plan": "pro"}, headers=key)
        retried = await client.post(
            "/forms/contact", json={"name": "Cy", "plan": "pro"}, headers=key
        )
    assert answer.status_code == 202, answer.text
    assert retried.json() == first.json()
    execution, _ = await executions_of(database, owner.organization_id)
    assert answer.json() == {"execution_id": execution.id}
    assert execution.input == {"name": "Bo", "plan": "free"}


async def test_missing_extra_and_wrong_fields_are_rejected_and_counted(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    _, trigger_id = await _form(database, owner)
    async with api.client() as client:
        missing = await client.post("/forms/contact", json={"plan": "free"})
        extra = await client.post(
            "/forms/contact", json={"name": "A", "plan": "free", "admin": True}
        )
        wrong = await client.post("/forms/contact", json={"name": "A", "plan": "gold", "age": "x"})
        not_object = await client.post("/forms/contact", json=[1])
        browser = await client.post(
            "/forms/contact", data={"name": "", "age": "old", "plan": "free", "hack": "1"}
        )
        text = await client.post(
            "/forms/contact", content=b"hi", headers={"Content-Type": "text/plain"}
        )
        broken = await client.post(
            "/forms/contact", content=b"{not json", headers={"Content-Type": "application/json"}
        )
    for answer in (missing, extra, wrong, not_object):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert {"loc": ["body", "name"], "msg": "is required"} in missing.json()["errors"]
    assert {"loc": ["body", "admin"], "msg": "is not a field of this form"} in extra.json()[
        "errors"
    ]
    wrong_locs = {tuple(item["loc"]) for item in wrong.json()["errors"]}
    assert wrong_locs == {("body", "plan"), ("body", "age")}
    assert browser.status_code == 422
    assert browser.headers["content-type"].startswith("text/html")
    assert "Your name is required" in browser.text
    assert "Age must be a whole number" in browser.text
    assert '<p class="error">hack is not a field of this form</p>' in browser.text
    assert 'value="old"' in browser.text  # what was typed is kept
    assert text.status_code == 415
    assert broken.status_code == 400
    assert broken.headers["content-type"].startswith("application/problem+json")
    assert await executions_of(database, owner.organization_id) == []
    state = (await get_trigger(database, owner.organization_id, trigger_id)).state
    assert state.rejected_total == 6
    assert state.events_total == 0


async def _end_when_queued(
    database: Database, organization_id: str, status: FinalStatus = ExecutionStatus.SUCCEEDED
) -> None:
    """Play the runner: end the execution once the form has queued it (bounded wait)."""
    for _ in range(200):
        if await end_all(database, organization_id, status=status):
            return
        await asyncio.sleep(0.05)


async def test_sync_respond_answers_the_flows_output(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _form(database, owner, respond="sync", sync_timeout_s=20)
    async with api.client() as client:
        runner = asyncio.create_task(_end_when_queued(database, owner.organization_id))
        as_json = await client.post("/forms/contact", json={"name": "A", "plan": "free"})
        await runner
        runner = asyncio.create_task(_end_when_queued(database, owner.organization_id))
        as_page = await client.post("/forms/contact", data={"name": "A", "plan": "free"})
        await runner
        runner = asyncio.create_task(
            _end_when_queued(database, owner.organization_id, ExecutionStatus.FAILED)
        )
        failed_json = await client.post("/forms/contact", json={"name": "B", "plan": "free"})
        await runner
        runner = asyncio.create_task(
            _end_when_queued(database, owner.organization_id, ExecutionStatus.FAILED)
        )
        failed_page = await client.post("/forms/contact", data={"name": "B", "plan": "free"})
        await runner
    assert as_json.status_code == 200, as_json.text
    assert as_json.json() == {"done": True}
    assert as_page.status_code == 200
    assert "&#34;done&#34;: true" in as_page.text
    assert failed_json.status_code == 502
    assert failed_json.json()["error"]["message"] == "it broke"
    assert failed_page.status_code == 502
    assert "could not be handled" in failed_page.text
    assert "it broke" not in failed_page.text  # the flow's error stays with its owners


async def test_form_paths_are_one_namespace_and_each_org_sees_its_own(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    other = await make_actor(database)
    _, mine = await _form(database, owner, path="shared")
    other_flow = await make_flow(database, other.organization_id)
    async with api.client({"Authorization": f"Bearer {other.token}"}) as client:
        taken = await client.post(
            f"/api/v1/flows/{other_flow}/triggers",
            json={"type": "form", "config": {"path": "shared", "schema": SCHEMA}},
        )
        hidden = await client.get(f"/api/v1/triggers/{mine}")
        # A webhook may use the same path: /hooks/shared and /forms/shared differ.
        hook = await client.post(
            f"/api/v1/flows/{other_flow}/triggers",
            json={"type": "webhook", "config": {"path": "shared"}},
        )
        submitted = await client.post("/forms/shared", json={"name": "A", "plan": "free"})
    assert taken.status_code == 409, taken.text
    assert "form path 'shared'" in taken.json()["detail"]
    assert hidden.status_code == 404
    assert hook.status_code == 201, hook.text
    assert submitted.status_code == 202
    assert await executions_of(database, other.organization_id) == []
    [execution] = await executions_of(database, owner.organization_id)
    assert execution.trigger["id"] == mine


async def test_disabled_and_unknown_forms_are_404(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    await make_trigger(
        database,
        owner.organization_id,
        flow_id,
        "form",
        {"path": "off", "schema": SCHEMA},
        enabled=False,
    )
    async with api.client() as client:
        for path in ("/forms/off", "/forms/nowhere", "/forms/"):
            assert (await client.get(path)).status_code == 404, path
        posted = await client.post("/forms/off", json={"name": "A", "plan": "free"})
    assert posted.status_code == 404
    assert await executions_of(database, owner.organization_id) == []


async def test_the_api_creates_a_form_and_shows_its_url_and_refuses_bad_schemas(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client({"Authorization": f"Bearer {owner.token}"}) as client:
        created = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={"type": "form", "config": {"path": "/signup/", "schema": SCHEMA}},
        )
        nested = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={
                "type": "form",
                "config": {
                    "path": "x",
                    "schema": {"type": "object", "properties": {"a": {"type": "object"}}},
                },
            },
        )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["hook_url_path"] == "/forms/signup"
    assert body["public"] is True
    assert body["config"]["schema"] == SCHEMA
    assert body["state"]["events_total"] == 0
    assert nested.status_code == 422
    assert nested.json()["errors"][0]["loc"][:3] == ["body", "config", "schema"]


async def test_oversized_submissions_are_refused(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    await _form(database, owner)
    async with api.client() as client:
        big = await client.post("/forms/contact", json={"name": "x" * 70_000, "plan": "free"})
    assert big.status_code == 413
    assert await executions_of(database, owner.organization_id) == []


async def test_input_the_flow_refuses_is_rejected_and_counted(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    """The start node's own input_schema is stricter than the form: its refusal is counted."""
    strict = open_definition(
        input_schema={
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 5}},
        }
    )
    flow_id = await make_flow(database, owner.organization_id, definition=strict)
    trigger = await make_trigger(
        database, owner.organization_id, flow_id, "form", {"path": "strict", "schema": SCHEMA}
    )
    async with api.client() as client:
        as_json = await client.post("/forms/strict", json={"name": "Al", "plan": "free"})
        as_page = await client.post("/forms/strict", data={"name": "Al", "plan": "free"})
    assert as_json.status_code == 422
    assert as_json.json()["errors"][0]["loc"][:2] == ["body", "name"]
    assert as_page.status_code == 422
    assert 'id="name-error"' in as_page.text
    assert await executions_of(database, owner.organization_id) == []
    state = (await get_trigger(database, owner.organization_id, trigger.id)).state
    assert state.rejected_total == 2


async def test_a_new_path_moves_the_form_and_an_archived_flow_refuses_it(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    flow_id, trigger_id = await _form(database, owner, path="before")
    async with api.client({"Authorization": f"Bearer {owner.token}"}) as client:
        sent = await client.post("/forms/before", json={"name": "A", "plan": "free"})
        assert sent.status_code == 202
        moved = await client.patch(
            f"/api/v1/triggers/{trigger_id}",
            json={"config": {"path": "after", "schema": SCHEMA}},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["hook_url_path"] == "/forms/after"
        assert (await client.get("/forms/before")).status_code == 404
        assert (await client.get("/forms/after")).status_code == 200
        await archive_flow(database, owner.organization_id, flow_id)
        archived = await client.post("/forms/after", json={"name": "A", "plan": "free"})
    assert archived.status_code == 409
    assert len(await executions_of(database, owner.organization_id)) == 1
    # The counts survive the edit (a form keeps them in its cursor, which an edit keeps).
    state = (await get_trigger(database, owner.organization_id, trigger_id)).state
    assert state.rejected_total == 1
    assert state.events_total == 1


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "array"}, "type: object"),
        ({"type": "object", "properties": {}}, "needs 'properties'"),
        ({"properties": {"_x": {"type": "string"}}}, "must be a letter"),
        ({"properties": {"a": {"type": "array"}}}, "needs a type of"),
        ({"properties": {"a": {"enum": []}}}, "enum must be a list"),
        ({"properties": {"a": {"enum": [{"x": 1}]}}}, "strings or numbers"),
        ({"properties": {"a": {"type": "string"}}, "required": ["b"]}, "'required' must list"),
        ({"properties": {"a": {"type": "string", "minLength": -1}}}, "not a valid JSON schema"),
    ],
)
def test_form_schemas_that_cannot_be_a_page_are_refused(
    schema: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_config("form", {"path": "p", "schema": schema})
    [error] = refused.value.errors or []
    assert error["loc"][:3] == ["body", "config", "schema"]
    assert message in error["msg"]


def test_a_form_path_is_checked_like_a_webhook_path() -> None:
    config = parse_config("form", {"path": "/a/b/", "schema": SCHEMA})
    assert isinstance(config, FormConfig)
    assert config.path == "a/b"
    assert config.reserved_path == "form:a/b"
    for bad in ("", "../x", "a b", "a:b"):
        with pytest.raises(ValidationFailed):
            parse_config("form", {"path": bad, "schema": SCHEMA})


async def test_a_burst_of_submissions_is_all_started_and_counted(
    api: LiveServer, owner: Actor, database: Database
) -> None:
    _, trigger_id = await _form(database, owner)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as client:
        answers = await asyncio.gather(
            *(
                client.post("/forms/contact", json={"name": f"n{i}", "plan": "free"})
                for i in range(20)
            ),
            *(client.post("/forms/contact", json={"name": "x"}) for _ in range(5)),
        )
    assert sorted(a.status_code for a in answers) == [202] * 20 + [422] * 5
    executions = await executions_of(database, owner.organization_id)
    assert sorted(e.input["name"] for e in executions) == sorted(f"n{i}" for i in range(20))
    state = (await get_trigger(database, owner.organization_id, trigger_id)).state
    assert state.events_total == 20
    assert state.rejected_total == 5
