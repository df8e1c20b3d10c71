"""Issue 25: the hostile cases that held, kept so that they keep holding.

An attacker with an account (an editor's, or an owner's of another organisation) tried these
against a real API and real runners. Each test below is one of them, against a real uvicorn
server on SQLite and PostgreSQL, a real `flomation runner` process where a runner acts, and
`flomation run` for the template sandbox:

1. another organisation's objects answer 404 exactly like ids that do not exist, lists show
   none of them, and its webhook does not take our credentials;
2. viewers cannot write, editors cannot administer (`flomation.auth.roles`);
3. path tricks in ids answer 404/422 problem+json, never 500; the editor's files route serves
   nothing outside its directory;
4. a cookie session changes nothing without its `X-CSRF-Token` header;
5. unsigned, impostor-signed, tampered and replayed runner requests are refused (401
   `bad-signature`), and a runner of another organisation can neither claim nor report;
6. a `--egress-policy shared_cloud` runner's http node reaches no loopback or metadata address;
7. template escapes fail their node with a `template` error and leak nothing;
8. bodies over the limit answer 413 problem+json before any handler writes;
9. a runner reporting for an attempt it no longer holds is answered `stale`, nothing changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from flomation.config import Settings
from flomation.db.session import Database
from flomation.ids import new_id
from flomation.runner.client import ApiRefused
from flomation.signing import SigningKey
from tests.auth.conftest import login, raw_request
from tests.conftest import SHORT_LEASES, make_settings
from tests.executions.factories import get, request
from tests.factories import Actor, echo_definition, make_actor, make_flow
from tests.flows.conftest import create_flow
from tests.live import LiveServer
from tests.runner.processes import FLOMATION, Api, Recorder, runner_processes
from tests.runners.helpers import make_runner_token, raw_call, runner_client, signed_headers

V1 = "/api/v1"
BODY_LIMIT = 200_000
WEBHOOK_BODY_LIMIT = 50_000
EDITOR_PAGE = "<!doctype html><title>Flomation editor</title>"
OUTSIDE = "canary-outside-the-editor"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Small body limits, short leases, and an editor directory with files around it that a
    path trick would reach: `site/pyproject.toml` and `outside.txt`."""
    editor = tmp_path / "site" / "editor"
    (editor / "assets").mkdir(parents=True)
    (editor / "index.html").write_text(EDITOR_PAGE)
    (editor / "assets" / "app.js").write_text("console.log('editor')")
    (tmp_path / "site" / "pyproject.toml").write_text(f'[project]\nname = "{OUTSIDE}"\n')
    (tmp_path / "outside.txt").write_text(OUTSIDE)
    return make_settings(
        database_url,
        tmp_path / "data",
        **SHORT_LEASES,
        runner_offline_after_seconds=10.0,
        max_body_bytes=BODY_LIMIT,
        webhook_max_body_bytes=WEBHOOK_BODY_LIMIT,
        editor_dir=editor,
    )


def problem(response: httpx.Response, status: int, slug: str | None = None) -> dict[str, Any]:
    """The problem+json body of `response`, asserting its status (and type)."""
    assert response.status_code == status, (response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if slug is not None:
        assert body["type"] == f"https://flomation.dev/problems/{slug}", body
    return body


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


# ------------------------------------------------------------------ 1. cross-organisation


async def test_another_organisations_objects_answer_404_like_ids_that_do_not_exist(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    # Organisation A (the owner's) has one of everything.
    async with api.client(owner.headers) as a:
        flow_id = (await create_flow(a))["id"]
        await created(await a.put(f"{V1}/secrets/HOOK_TOKEN", json={"value": "hook-token-a"}))
        await created(await a.put(f"{V1}/variables/REGION", json={"value": "eu-a"}))
        hook = {"path": "org-a/hook", "auth": {"token": "HOOK_TOKEN"}}
        trigger_id = (
            await created(
                await a.post(
                    f"{V1}/flows/{flow_id}/triggers", json={"type": "webhook", "config": hook}
                )
            )
        )["id"]
        execution_id = (
            await created(await a.post(f"{V1}/flows/{flow_id}/executions", json={"input": {}}))
        )["id"]
        runner_token = await created(await a.post(f"{V1}/runner-tokens", json={"name": "a"}))
    runner = runner_client(api.base_url, runner_token["token"])
    await runner.register(labels={}, max_concurrent=1)
    await runner.aclose()
    real = {
        "flow": flow_id,
        "execution": execution_id,
        "trigger": trigger_id,
        "runner_token": runner_token["id"],
        "runner": str(runner.runner_id),
        "user": owner.user_id,
        "secret": "HOOK_TOKEN",
        "variable": "REGION",
    }
    # B is an owner, so nothing below is refused for want of a role: only for the scope.
    b = await make_actor(database, role="owner")
    echo = echo_definition()
    attempts: list[tuple[str, str, str, Any]] = [
        ("GET", "/flows/{}", "flow", None),
        ("PUT", "/flows/{}", "flow", {"definition": echo, "base_revision": 1}),
        ("PATCH", "/flows/{}", "flow", {"name": "stolen"}),
        ("DELETE", "/flows/{}", "flow", None),
        ("GET", "/flows/{}/revisions", "flow", None),
        ("GET", "/flows/{}/revisions/1", "flow", None),
        ("POST", "/flows/{}/revisions/1/restore", "flow", {}),
        ("GET", "/flows/{}/diff?from=1&to=1", "flow", None),
        ("POST", "/flows/{}/executions", "flow", {"input": {}}),
        ("GET", "/flows/{}/triggers", "flow", None),
        ("POST", "/flows/{}/triggers", "flow", {"type": "webhook", "config": {"path": "b"}}),
        ("GET", "/executions/{}", "execution", None),
        ("POST", "/executions/{}/cancel", "execution", None),
        ("POST", "/executions/{}/retry", "execution", {}),
        ("GET", "/triggers/{}", "trigger", None),
        ("PATCH", "/triggers/{}", "trigger", {"enabled": False}),
        ("DELETE", "/triggers/{}", "trigger", None),
        ("DELETE", "/runner-tokens/{}", "runner_token", None),
        ("DELETE", "/runners/{}", "runner", None),
        ("GET", "/users/{}", "user", None),
        ("PATCH", "/users/{}", "user", {"name": "stolen"}),
        ("DELETE", "/users/{}", "user", None),
        ("DELETE", "/secrets/{}", "secret", None),
        ("GET", "/variables/{}", "variable", None),
        ("DELETE", "/variables/{}", "variable", None),
    ]
    async with api.client(b.headers) as client:
        for method, path, kind, body in attempts:
            fake = "NO_SUCH_NAME" if kind in ("secret", "variable") else new_id()
            theirs = await client.request(method, V1 + path.format(real[kind]), json=body)
            nothing = await client.request(method, V1 + path.format(fake), json=body)
            # 404, and word for word the answer for an id that does not exist.
            leak = problem(theirs, 404, "not-found")
            assert problem(nothing, 404, "not-found") == {
                **leak,
                "detail": leak["detail"].replace(real[kind], fake),
            }, (method, path)
        async with client.stream("GET", f"{V1}/executions/{execution_id}/events") as stream:
            await stream.aread()
            problem(stream, 404, "not-found")
        listed = []
        for path in (
            "/flows",
            "/flows?include_archived=true",
            "/executions",
            f"/executions?flow_id={flow_id}",
            "/secrets",
            "/variables",
            "/runner-tokens",
            "/runners",
            "/users",
            "/tokens",
        ):
            answer = await client.get(V1 + path)
            assert answer.status_code == 200, (path, answer.text)
            listed.append(answer.text)
        # B's own credentials open nothing of A's webhook either (its own token auth).
        b_hook = await client.post("/hooks/org-a/hook", json={"read": "anything"})
        # Taking A's webhook path for B's own flow: a conflict that names nothing of A's.
        b_flow = (await create_flow(client))["id"]
        taken = await client.post(
            f"{V1}/flows/{b_flow}/triggers",
            json={"type": "webhook", "config": {"path": "org-a/hook"}},
        )
        listed.append(json.dumps(problem(taken, 409, "conflict")))
    seen = "\n".join(listed)
    for value in [*real.values(), owner.email, "eu-a"]:
        assert value not in seen
    problem(b_hook, 401, "unauthorized")

    # A's side: nothing changed, and its webhook takes its own token (the control).
    async with api.client() as anonymous:
        a_hook = await anonymous.post(
            "/hooks/org-a/hook", json={}, headers={"Authorization": "Bearer hook-token-a"}
        )
    assert a_hook.status_code == 202, a_hook.text
    async with api.client(owner.headers) as a:
        flow = (await a.get(f"{V1}/flows/{flow_id}")).json()
        assert (flow["revision"], flow["name"], flow.get("archived_at")) == (1, "Echo", None)
        assert (await a.get(f"{V1}/executions/{execution_id}")).json()["status"] == "queued"
        executions = (await a.get(f"{V1}/executions")).json()["items"]
        assert {item["trigger"]["type"] for item in executions} == {"manual", "webhook"}
        assert len(executions) == 2
        assert (await a.get(f"{V1}/triggers/{trigger_id}")).json()["enabled"] is True
        [token] = (await a.get(f"{V1}/runner-tokens")).json()["items"]
        assert token["id"] == runner_token["id"]
        assert token.get("revoked_at") is None
        assert [r["id"] for r in (await a.get(f"{V1}/runners")).json()["items"]] == [real["runner"]]
        assert [s["name"] for s in (await a.get(f"{V1}/secrets")).json()["items"]] == ["HOOK_TOKEN"]
        assert (await a.get(f"{V1}/variables/REGION")).json()["value"] == "eu-a"
        assert (await a.get(f"{V1}/users/{owner.user_id}")).status_code == 200
    async with api.client(b.headers) as client:
        assert [f["id"] for f in (await client.get(f"{V1}/flows")).json()["items"]] == [b_flow]
        assert (await client.get(f"{V1}/executions")).json()["items"] == []
        assert (await client.get(f"{V1}/flows/{b_flow}/triggers")).json()["items"] == []


# ------------------------------------------------------------------ 2. roles


async def test_viewers_cannot_write_and_editors_cannot_administer(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    org = owner.organization_id
    viewer = await make_actor(database, role="viewer", organization_id=org)
    editor = await make_actor(database, role="editor", organization_id=org)
    async with api.client(owner.headers) as admin:
        flow_id = (await create_flow(admin))["id"]
        secret = await created(await admin.put(f"{V1}/secrets/API_KEY", json={"value": "v1"}))
        token = await created(await admin.post(f"{V1}/runner-tokens", json={"name": "t"}))
        organization = (await admin.get(f"{V1}/organization")).json()
    runner = runner_client(api.base_url, token["token"])
    await runner.register(labels={}, max_concurrent=1)
    await runner.aclose()
    echo = echo_definition()
    hook = {"type": "webhook", "config": {"path": "viewer-hook"}}
    viewer_writes = [
        ("POST", "/flows", {"name": "x", "definition": echo}),
        ("PUT", f"/flows/{flow_id}", {"definition": echo, "base_revision": 1}),
        ("PATCH", f"/flows/{flow_id}", {"name": "renamed"}),
        ("DELETE", f"/flows/{flow_id}", None),
        ("POST", f"/flows/{flow_id}/executions", {"input": {}}),
        ("POST", f"/flows/{flow_id}/triggers", hook),
        ("PUT", "/variables/REGION", {"value": "x"}),
        ("PUT", "/secrets/OTHER", {"value": "x"}),
        ("DELETE", "/secrets/API_KEY", None),
    ]
    editor_admin = [
        ("PUT", "/secrets/API_KEY", {"value": "overwritten"}),
        ("DELETE", "/secrets/API_KEY", None),
        (
            "POST",
            "/users",
            {"email": "new@example.test", "name": "N", "password": "p" * 12, "role": "owner"},
        ),
        ("DELETE", f"/users/{viewer.user_id}", None),
        ("PATCH", f"/users/{viewer.user_id}", {"role": "admin"}),
        ("PATCH", "/organization", {"name": "taken over"}),
        ("GET", "/runner-tokens", None),
        ("POST", "/runner-tokens", {"name": "mine"}),
        ("DELETE", f"/runner-tokens/{token['id']}", None),
        ("DELETE", f"/runners/{runner.runner_id}", None),
    ]
    async with api.client(viewer.headers) as client:
        for method, path, body in viewer_writes:
            refused = problem(await client.request(method, V1 + path, json=body), 403, "forbidden")
            wanted = "admin" if path.startswith("/secrets") else "editor"
            assert refused["detail"] == f"This needs the {wanted} role or higher", path
        assert (await client.get(f"{V1}/flows/{flow_id}")).status_code == 200  # reading is fine
    async with api.client(editor.headers) as client:
        for method, path, body in editor_admin:
            answer = await client.request(method, V1 + path, json=body)
            assert "admin" in problem(answer, 403, "forbidden")["detail"], path
        own_role = await client.patch(f"{V1}/users/{editor.user_id}", json={"role": "owner"})
        assert "own role" in problem(own_role, 403, "forbidden")["detail"]
        # What an editor may do, it may (the control).
        await created(await client.post(f"{V1}/flows", json={"name": "mine", "definition": echo}))
        await created(await client.put(f"{V1}/variables/REGION", json={"value": "eu"}))

    async with api.client(owner.headers) as admin:
        assert (await admin.get(f"{V1}/secrets")).json()["items"] == [secret]
        roles = {u["id"]: u["role"] for u in (await admin.get(f"{V1}/users")).json()["items"]}
        assert roles == {owner.user_id: "owner", viewer.user_id: "viewer", editor.user_id: "editor"}
        [listed] = (await admin.get(f"{V1}/runner-tokens")).json()["items"]
        assert listed.get("revoked_at") is None
        assert len((await admin.get(f"{V1}/runners")).json()["items"]) == 1
        assert (await admin.get(f"{V1}/organization")).json() == organization
        flows = (await admin.get(f"{V1}/flows")).json()["items"]
        assert sorted(flow["name"] for flow in flows) == ["Echo", "mine"]
        assert (await admin.get(f"{V1}/flows/{flow_id}")).json()["revision"] == 1
        assert (await admin.get(f"{V1}/executions")).json()["items"] == []
        assert (await admin.get(f"{V1}/flows/{flow_id}/triggers")).json()["items"] == []


# ------------------------------------------------------------------ 3. path tricks


async def test_path_tricks_in_ids_answer_404_or_422_problems_never_500(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        flow_id = (await create_flow(client))["id"]
    huge = "9" * 30
    ids = [
        "..%2F..%2Fusers",
        "..%2f..%2fme",
        "%2e%2e%2f%2e%2e%2forganization",
        "..%252F..%252Fme",
        "..%5C..%5Cme",
        f"{flow_id}%2F..%2F..%2Fusers",
        f"{flow_id}%2f",
        "%27%20OR%20%271%27%3D%271",
        "%22%3B%20DROP%20TABLE%20flows%3B--",
        "not-a-uuid",
        "0",
        "-1",
        huge,
        "a" * 5_000,
        "%C3%A9%E2%80%AE%F0%9F%92%A5",
        "%FF%FE",
        "%25",
        "{}",
    ]
    targets = []
    for bad in ids:
        targets += [
            f"{V1}/flows/{bad}",
            f"{V1}/flows/{bad}/revisions",
            f"{V1}/executions/{bad}",
            f"{V1}/triggers/{bad}",
            f"{V1}/users/{bad}",
            f"{V1}/variables/{bad}",
        ]
    targets += [
        f"{V1}/flows/{flow_id}/revisions/{huge}",
        f"{V1}/flows/{flow_id}/revisions/-1",
        f"{V1}/flows/{flow_id}/revisions/1e3",
        f"{V1}/flows/{flow_id}/diff?from=1&to={huge}",
        f"{V1}/flows/{flow_id}/diff?from=-{huge}&to=1",
    ]
    answers: dict[str, int] = {}
    for target in targets:
        for method in ("GET", "DELETE"):
            response = await raw_request(api.base_url, method, target, owner.headers)
            answers[f"{method} {target[:80]}"] = response.status
            assert "content-type: application/problem+json" in response.head.lower(), target
            assert owner.email not in response.body, target
    unexpected = {key: status for key, status in answers.items() if status not in (404, 405, 422)}
    assert unexpected == {}
    # Filters and cursors of lists: an empty page or 422, never another organisation's rows.
    for target in (
        f"{V1}/executions?flow_id=..%2F..%2Fusers",
        f"{V1}/executions?flow_id={'a' * 5_000}",
        f"{V1}/executions?status=%27%20OR%201%3D1",
        f"{V1}/flows?cursor=..%2F..%2F{huge}",
        f"{V1}/flows?limit={huge}",
        f"{V1}/flows?q=%25%27%20OR%201%3D1--",
    ):
        response = await raw_request(api.base_url, "GET", target, owner.headers)
        if response.status == 200:
            assert json.loads(response.body)["items"] == [], target
        else:
            assert response.status == 422, (target, response.status, response.body)
            assert "content-type: application/problem+json" in response.head.lower()
    # The real id still answers (the tricks above were refused for what they are).
    assert (
        await raw_request(api.base_url, "GET", f"{V1}/flows/{flow_id}", owner.headers)
    ).status == 200


async def test_the_editor_route_serves_no_file_outside_its_directory(
    api: LiveServer, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    targets = [
        "/..%2f..%2fpyproject.toml",
        "/..%2fpyproject.toml",
        "/..%2F..%2Foutside.txt",
        "/%2e%2e/%2e%2e/outside.txt",
        "/%2e%2e%2f%2e%2e%2foutside.txt",
        "/assets/..%2f..%2fpyproject.toml",
        "/assets/..%2f..%2f..%2foutside.txt",
        "/..%252f..%252foutside.txt",
        "/..%5c..%5coutside.txt",
        "/../../outside.txt",
        "/assets/../../../outside.txt",
        f"/{outside}",
        f"//{outside}",
        f"/%2F{str(outside).lstrip('/')}",
        "/%2fetc%2fpasswd",
        "/..%2f..%2f..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/....//....//outside.txt",
    ]
    for target in targets:
        response = await raw_request(api.base_url, "GET", target)
        assert OUTSIDE not in response.body, target
        assert "root:x:0:0" not in response.body, target
        if response.status == 200:  # the single-page app's fallback, nothing else
            assert response.body.endswith(EDITOR_PAGE), (target, response.body[:200])
        else:
            assert response.status in (400, 404), (target, response.status)
            assert "content-type: application/problem+json" in response.head.lower()
    # The control: a file inside the directory is served.
    served = await raw_request(api.base_url, "GET", "/assets/app.js")
    assert served.status == 200
    assert "console.log('editor')" in served.body


# ------------------------------------------------------------------ 4. CSRF


async def test_a_cookie_session_changes_nothing_without_its_csrf_token(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client() as other:
        other_csrf = (await login(other, owner.email)).cookies["flomation_csrf"]
    async with api.client() as browser:
        signed_in = await login(browser, owner.email)
        assert signed_in.status_code == 200, signed_in.text
        csrf = signed_in.cookies["flomation_csrf"]
        session_cookie = next(
            line
            for line in signed_in.headers.get_list("set-cookie")
            if line.startswith("flomation_session=")
        ).lower()
        assert "httponly" in session_cookie
        assert "samesite=lax" in session_cookie
        body = {"name": "forged", "definition": echo_definition()}
        forged = {
            "no header": {},
            "a guess": {"X-CSRF-Token": "guess"},
            "another session's": {"X-CSRF-Token": other_csrf},
            "the cookie's name": {"X-CSRF-Token": "flomation_csrf"},
            "a cross-site origin": {
                "Origin": "https://evil.example",
                "Referer": "https://evil.example/",
            },
        }
        for why, headers in forged.items():
            for method, path, json_body in (
                ("POST", "/flows", body),
                ("PUT", "/secrets/STOLEN", {"value": "x"}),
                ("POST", "/tokens", {"name": "for me"}),
                ("PATCH", "/organization", {"name": "taken over"}),
            ):
                answer = await browser.request(method, V1 + path, json=json_body, headers=headers)
                detail = problem(answer, 403, "forbidden")["detail"]
                assert "X-CSRF-Token" in detail, (why, path)
        # Reading needs no token; writing with the right one works (the control).
        assert (await browser.get(f"{V1}/flows")).json()["items"] == []
        made = await browser.post(f"{V1}/flows", json=body, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        flow_id = made.json()["id"]
        archive = await browser.delete(f"{V1}/flows/{flow_id}")
        problem(archive, 403, "forbidden")
    async with api.client(owner.headers) as client:
        assert [f["id"] for f in (await client.get(f"{V1}/flows")).json()["items"]] == [flow_id]
        assert (await client.get(f"{V1}/secrets")).json()["items"] == []
        tokens = (await client.get(f"{V1}/tokens")).json()["items"]
        assert [token["name"] for token in tokens] == ["test token"]


# ------------------------------------------------------------------ 5. runner protocol


async def test_unsigned_impostor_tampered_and_replayed_runner_requests_are_refused(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    key = SigningKey.generate()
    runner = runner_client(
        api.base_url, await make_runner_token(database, owner.organization_id), key=key
    )
    await runner.register(labels={}, max_concurrent=4)
    await runner.aclose()
    runner_id = str(runner.runner_id)
    # Another runner of the same organisation, with its own key.
    other_key = SigningKey.generate()
    other = runner_client(
        api.base_url, await make_runner_token(database, owner.organization_id), key=other_key
    )
    await other.register(labels={}, max_concurrent=4)
    await other.aclose()
    claim_path, claim = f"{V1}/runner/claim", {"free_slots": 4, "wait_s": 0}

    async with api.client() as plain:
        unsigned = await plain.post(claim_path, json=claim)
        problem(unsigned, 401, "bad-signature")
        content, headers = signed_headers(key, runner_id, "POST", claim_path, claim)
        tampered = await plain.post(
            claim_path,
            content=content.replace(b'"free_slots":4', b'"free_slots":1'),
            headers=headers,
        )
        problem(tampered, 401, "bad-signature")
        other_path = await plain.post(f"{V1}/runner/release", content=content, headers=headers)
        problem(other_path, 401, "bad-signature")
    # Signed with the other runner's (registered, valid) key, in this runner's name.
    impostor = await raw_call(api.base_url, other_key, runner_id, claim_path, claim)
    problem(impostor, 401, "bad-signature")
    # None of those claimed anything.
    assert (await get(database, owner.organization_id, execution_id)).status == "queued"

    # A replay: the same signed request (nonce and timestamp) sent twice.
    now, nonce = int(time.time()), "f" * 32
    first = await raw_call(
        api.base_url, key, runner_id, claim_path, claim, timestamp=now, nonce=nonce
    )
    assert first.status_code == 200, first.text
    assert [item["id"] for item in first.json()["executions"]] == [execution_id]
    second_id = (await request(database, owner.organization_id, flow_id)).id
    replayed = await raw_call(
        api.base_url, key, runner_id, claim_path, claim, timestamp=now, nonce=nonce
    )
    assert "sent before" in problem(replayed, 401, "bad-signature")["detail"]
    assert (await get(database, owner.organization_id, second_id)).status == "queued"
    held = [{"execution_id": execution_id, "attempt": 1}]
    replayed_elsewhere = await raw_call(
        api.base_url,
        key,
        runner_id,
        f"{V1}/runner/heartbeat",
        {"held": held, "running": 1},
        timestamp=now,
        nonce=nonce,
    )
    problem(replayed_elsewhere, 401, "bad-signature")


async def test_a_runner_of_another_organisation_cannot_claim_or_report_an_execution(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    other = await make_actor(database, role="owner")
    intruder = runner_client(api.base_url, await make_runner_token(database, other.organization_id))
    await intruder.register(labels={}, max_concurrent=4)
    nothing = await intruder.call("POST", "/claim", {"free_slots": 4, "wait_s": 0})
    assert nothing["executions"] == []
    assert (await get(database, owner.organization_id, execution_id)).status == "queued"
    # Once A's own runner holds it, the intruder can neither keep it alive nor end it.
    mine = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await mine.register(labels={}, max_concurrent=1)
    [claimed] = (await mine.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    held = {"execution_id": execution_id, "attempt": claimed["attempt"]}
    beat = await intruder.call("POST", "/heartbeat", {"held": [held], "running": 1})
    assert beat["renewed"] == []
    assert beat["lost"] == [execution_id]
    end = {"status": "succeeded", "output": {"stolen": True}, "error": None}
    answer = await intruder.call("POST", "/events", {"items": [{**held, "complete": end}]})
    assert [item["result"] for item in answer["results"]] == ["stale"]
    await intruder.aclose()
    await mine.aclose()
    state = await get(database, owner.organization_id, execution_id)
    assert (state.status, state.output, state.runner_id) == ("running", None, mine.runner_id)


# ------------------------------------------------------------------ 9. fencing


async def test_a_runner_reporting_for_an_attempt_it_no_longer_holds_is_answered_stale(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    # The mechanism of tests/runners/test_protocol.py (fencing by attempt), as an attacker
    # holding an old attempt would use it: the release hands the execution to a new attempt.
    flow_id = await make_flow(database, owner.organization_id)
    execution_id = (await request(database, owner.organization_id, flow_id)).id
    old = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await old.register(labels={}, max_concurrent=1)
    [first] = (await old.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    held = {"execution_id": execution_id, "attempt": first["attempt"]}
    assert await old.call("POST", "/release", {"executions": [held]}) is None
    new = runner_client(api.base_url, await make_runner_token(database, owner.organization_id))
    await new.register(labels={}, max_concurrent=1)
    [second] = (await new.call("POST", "/claim", {"free_slots": 1, "wait_s": 0}))["executions"]
    assert second["attempt"] == first["attempt"] + 1
    event = {
        "seq": 1,
        "kind": "log",
        "at": "2026-01-01T00:00:00Z",
        "node_id": "start",
        "step": 1,
        "level": "info",
        "message": "from the old attempt",
    }
    end = {"status": "succeeded", "output": {"m": "forged"}, "error": None}
    late = await old.call(
        "POST", "/events", {"items": [{**held, "events": [event], "complete": end}]}
    )
    assert [item["result"] for item in late["results"]] == ["stale"]
    with pytest.raises(ApiRefused) as refused:
        await old.call("POST", "/complete", {**held, "complete": end})
    assert refused.value.status == 409
    assert refused.value.problem["type"] == "https://flomation.dev/problems/stale-attempt"
    beat = await old.call("POST", "/heartbeat", {"held": [held], "running": 1})
    assert beat["lost"] == [execution_id]
    await old.aclose()
    await new.aclose()
    state = await get(database, owner.organization_id, execution_id)
    assert (state.status, state.attempt, state.output) == ("running", second["attempt"], None)
    assert state.runner_id == new.runner_id
    assert state.steps == []
    assert state.logs == []


# ------------------------------------------------------------------ 8. body limits


async def test_bodies_over_the_limit_answer_413_problems_and_write_nothing(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        flow_id = (await create_flow(client))["id"]
        hook = {"type": "webhook", "config": {"path": "public/hook"}}
        await created(await client.post(f"{V1}/flows/{flow_id}/triggers", json=hook))

        def padded(size: int, **fields: Any) -> bytes:
            base = json.dumps({**fields, "pad": ""}).encode()
            return base.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(base)) + b'"')

        async def chunks(data: bytes) -> Any:
            for start in range(0, len(data), 16_384):
                yield data[start : start + 16_384]

        json_header = {"Content-Type": "application/json"}
        flow_body = padded(BODY_LIMIT + 1, name="huge", definition=echo_definition())
        hook_body = padded(WEBHOOK_BODY_LIMIT + 1)
        refused = {
            "a flow, declared": await client.post(
                f"{V1}/flows", content=flow_body, headers=json_header
            ),
            "a flow, streamed": await client.post(
                f"{V1}/flows", content=chunks(flow_body), headers=json_header
            ),
            "a variable": await client.put(
                f"{V1}/variables/BIG", content=padded(BODY_LIMIT + 1, value=1), headers=json_header
            ),
            "a webhook, declared": await client.post(
                "/hooks/public/hook", content=hook_body, headers=json_header
            ),
            "a webhook, streamed": await client.post(
                "/hooks/public/hook", content=chunks(hook_body), headers=json_header
            ),
        }
        for what, answer in refused.items():
            body = problem(answer, 413, "payload-too-large")
            limit = WEBHOOK_BODY_LIMIT if "webhook" in what else BODY_LIMIT
            assert str(limit) in body["detail"], what
        # Just under the limits both are taken (the control).
        under = await client.post(
            "/hooks/public/hook", content=padded(WEBHOOK_BODY_LIMIT - 1), headers=json_header
        )
        assert under.status_code == 202, under.text
        assert [f["id"] for f in (await client.get(f"{V1}/flows")).json()["items"]] == [flow_id]
        assert (await client.get(f"{V1}/variables")).json()["items"] == []
        [only] = (await client.get(f"{V1}/executions")).json()["items"]
        assert only["id"] == under.json()["execution_id"]


# ------------------------------------------------------------------ 6. SSRF


def fetch_flow() -> dict[str, Any]:
    """start -> POST {execution id} to the input's URL -> return what came back."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "call",
                "type": "http",
                "config": {
                    "method": "POST",
                    "url": "{{ input.url }}",
                    "json": {"id": "{{ execution.id }}"},
                },
            },
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.call.output }}"}},
        ],
        "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "out"}],
    }


async def test_a_shared_cloud_runner_fails_http_nodes_to_loopback_and_metadata_as_blocked(
    api: LiveServer, owner: Actor, tmp_path: Path
) -> None:
    user = Api(api, owner)
    try:
        async with Recorder().running() as recorder:
            port = recorder.url.split(":")[2].split("/")[0]
            urls = [
                f"http://127.0.0.1:{port}/record",
                f"http://localhost:{port}/record",  # a name that resolves to loopback
                f"http://127.1:{port}/record",
                f"http://2130706433:{port}/record",  # 127.0.0.1 as one number
                f"http://[::ffff:127.0.0.1]:{port}/record",
                f"http://[::1]:{port}/record",
                f"http://0.0.0.0:{port}/record",
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
                "http://[fd00:ec2::254]/latest/meta-data/",
            ]
            flow_id = await user.flow(fetch_flow())
            token = await user.token()
            async with runner_processes(
                api.base_url, token, tmp_path, extra_args=["--egress-policy", "shared_cloud"]
            ) as [runner]:
                started = {url: await user.run(flow_id, {"url": url}) for url in urls}
                ended = {
                    url: await user.ended(execution_id) for url, execution_id in started.items()
                }
                assert await runner.stop() == 0, runner.logs()[-3000:]
            assert sum(recorder.calls.values()) == 0, recorder.bodies
            # The control: the recorder does count what reaches it.
            async with httpx.AsyncClient() as direct:
                await direct.post(recorder.url, json={"id": "control"})
            assert dict(recorder.calls) == {"control": 1}
    finally:
        await user.aclose()
    for url, done in ended.items():
        assert done["status"] == "failed", (url, done)
        assert done["error"]["type"] == "blocked", (url, done["error"])
        assert done["error"]["node_id"] == "call"
        assert done["output"] is None


# ------------------------------------------------------------------ 7. template sandbox

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].environ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self }}",
    "{{ cycler }}",
    "{{ secrets.__class__.__init__.__globals__ }}",
    "{{ secrets.API_KEY.__class__.__base__.__subclasses__() }}",
    "{{ input | attr('__class__') | attr('__mro__') }}",
    "{{ '{0.__class__.__mro__}'.format(input) }}",
    "{{ '{0.__globals__}'.format(cycler.next) }}",
    "{{ input['__class__'] }}",
    "{{ vars.__class__ }}",
    "{{ range.__self__ }}",
    "{{ dict.__init__.__globals__ }}",
    "{% set g = cycler.__init__.__globals__ %}{{ g }}",
    "{{ config }}",
]


def test_template_sandbox_escapes_fail_their_node_with_a_template_error_and_leak_nothing(
    tmp_path: Path,
) -> None:
    # One flow tries every escape: each set node's error port leads to the next one, so one
    # `flomation run` (the engine the runners run) tries them all.
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "start"}]
    edges: list[dict[str, Any]] = []
    previous = "start"
    for number, template in enumerate(ESCAPES):
        node_id = f"escape{number}"
        nodes.append({"id": node_id, "type": "set", "config": {"values": {"v": template}}})
        port = {} if previous == "start" else {"port": "error"}
        edges.append({"from": previous, "to": node_id, **port})
        previous = node_id
    nodes.append({"id": "out", "type": "return", "config": {"value": "tried them all"}})
    edges.append({"from": previous, "to": "out", "port": "error"})
    path = tmp_path / "escapes.json"
    path.write_text(json.dumps({"version": 1, "nodes": nodes, "edges": edges}))
    secret, canary = "s3cr3t-value-of-api-key", "canary-in-the-environment"
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("FLOMATION_")
    }
    environment.update(
        {"FLOMATION_SECRET_API_KEY": secret, "FLOMATION_VAR_REGION": "eu", "CANARY": canary}
    )
    done = subprocess.run(
        [FLOMATION, "run", str(path), "--input", '{"n": 1}'],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        cwd=tmp_path,
    )
    document = json.loads(done.stdout)
    assert document["status"] == "succeeded", document
    assert document["output"] == "tried them all"
    steps = {step["node_id"]: step for step in document["steps"]}
    for number, template in enumerate(ESCAPES):
        step = steps[f"escape{number}"]
        assert step["status"] == "failed", (template, step)
        assert step["error"]["type"] == "template", (template, step["error"])
        assert step["output"] is None
    everything = done.stdout + done.stderr
    for leak in (
        secret,
        canary,
        "<class",
        "<function",
        "<module",
        "__builtins__",
        "site-packages",
        str(Path(os.__file__).parent),
        "uid=",
    ):
        assert leak not in everything, leak
