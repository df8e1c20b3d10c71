"""`POST /connections/{name}/test`: the probe runs on a runner that takes it with its claim and
posts the result; the call answers within its wait, and the result is stored."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from flomation.connections import probes
from flomation.db.session import Database
from flomation.engine.nodes.base import EngineServices
from flomation.protocol import ProbeRequest
from flomation.runner.client import ApiClient, ApiRefused
from flomation.runner.config import RunnerSettings
from flomation.runner.probes import answer_probe, run_probe
from flomation.runner.process import Runner
from tests.connections.test_connections_api import PASSWORD, body
from tests.factories import Actor, make_actor
from tests.live import LiveServer
from tests.runners.helpers import make_runner_token, runner_client


async def a_runner(
    api: LiveServer, database: Database, organization_id: str, labels: dict[str, str] | None = None
) -> ApiClient:
    token = await make_runner_token(database, organization_id, labels=labels)
    client = runner_client(api.base_url, token, labels=labels)
    await client.register(labels=labels or {}, max_concurrent=1)
    return client


async def claim_probes(client: ApiClient, wait_s: float, *, probes: bool = True) -> list[Any]:
    answer = await client.call(
        "POST", "/claim", {"free_slots": 1, "wait_s": wait_s, "probes": probes}
    )
    assert answer["executions"] == []
    return list(answer["probes"])


async def test_a_probe_runs_on_a_runner_and_its_answer_is_stored(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    runner = await a_runner(api, database, owner.organization_id)
    async with api.client(owner.headers) as user:
        assert (
            await user.put("/api/v1/connections/db", json=body(password=PASSWORD))
        ).status_code == 200
        asked = asyncio.create_task(user.post("/api/v1/connections/db/test"))
        [probe] = await claim_probes(runner, wait_s=10)
        request = ProbeRequest.model_validate(probe)
        assert request.connection == "db"
        assert request.type == "conntest"
        assert request.values["password"] == PASSWORD  # the runner needs it to connect
        assert 0 < request.timeout_s < probes.WAIT_S
        await answer_probe(runner, request, EngineServices())
        answer = await asyncio.wait_for(asked, 20)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["ok"] is True
        assert result["message"] == "connected to db.internal:5432"
        assert result["duration_ms"] >= 0
        stored = (await user.get("/api/v1/connections/db")).json()
        assert stored["last_tested_at"] is not None
        assert stored["last_error"] is None
        # A second answer for the same probe is refused.
        with pytest.raises(ApiRefused):
            await runner.call(
                "POST", f"/probes/{request.id}", {"ok": True, "message": "", "duration_ms": 1}
            )
    await runner.aclose()


async def test_a_failed_probe_says_why_masked_and_is_stored_as_last_error(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    runner = await a_runner(api, database, owner.organization_id)
    async with api.client(owner.headers) as user:
        put = await user.put(
            "/api/v1/connections/db", json=body(host="unreachable", password=PASSWORD)
        )
        assert put.status_code == 200
        asked = asyncio.create_task(user.post("/api/v1/connections/db/test", json={}))
        [probe] = await claim_probes(runner, wait_s=10)
        await answer_probe(runner, ProbeRequest.model_validate(probe), EngineServices())
        answer = await asyncio.wait_for(asked, 20)
        assert answer.json()["ok"] is False
        assert answer.json()["message"] == "could not reach unreachable (tried with password ***)"
        stored = await user.get("/api/v1/connections/db")
        assert stored.json()["last_error"] == answer.json()["message"]
        assert PASSWORD not in answer.text + stored.text
    await runner.aclose()


async def test_without_a_runner_that_may_run_it_the_test_says_so_in_time(
    api: LiveServer, database: Database, owner: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probes, "WAIT_S", 1.0)
    onprem = {"zone": "onprem"}
    plain = await a_runner(api, database, owner.organization_id)
    async with api.client(owner.headers) as user:
        assert (await user.put("/api/v1/connections/db", json=body())).status_code == 200
        asked = asyncio.create_task(
            user.post("/api/v1/connections/db/test", json={"runs_on": onprem})
        )
        # A runner without the labels, or one that does not run probes, never gets it.
        assert await claim_probes(plain, wait_s=0.3) == []
        assert await claim_probes(plain, wait_s=0.3, probes=False) == []
        answer = await asyncio.wait_for(asked, 10)
        assert answer.status_code == 200
        result = answer.json()
        assert result["ok"] is False
        assert "no runner with labels {'zone': 'onprem'} answered within 1 s" in result["message"]
        assert result["duration_ms"] >= 1000
        stored = (await user.get("/api/v1/connections/db")).json()
        assert stored["last_error"] == result["message"]
        # The expired probe is not handed out later.
        labelled = await a_runner(api, database, owner.organization_id, labels=onprem)
        assert await claim_probes(labelled, wait_s=0) == []
    await plain.aclose()
    await labelled.aclose()


async def test_roles_organisations_and_unknown_connections(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    stranger = await make_actor(database)
    theirs = await a_runner(api, database, stranger.organization_id)
    async with api.client(owner.headers) as user:
        assert (await user.put("/api/v1/connections/db", json=body())).status_code == 200
        missing = await user.post("/api/v1/connections/nope/test")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
    async with api.client(viewer.headers) as client:
        assert (await client.post("/api/v1/connections/db/test")).status_code == 403
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        assert (await anonymous.post("/api/v1/connections/db/test")).status_code == 401
    async with api.client(stranger.headers) as client:
        assert (await client.post("/api/v1/connections/db/test")).status_code == 404
    # Another organisation's runner never sees this organisation's probes.
    async with api.client(owner.headers) as user:
        probes_wait = probes.WAIT_S
        asked = asyncio.create_task(user.post("/api/v1/connections/db/test"))
        assert await claim_probes(theirs, wait_s=0.5) == []
        mine = await a_runner(api, database, owner.organization_id)
        [probe] = await claim_probes(mine, wait_s=10)
        # ...nor can it answer one.
        with pytest.raises(ApiRefused):
            await theirs.call(
                "POST", f"/probes/{probe['id']}", {"ok": True, "message": "", "duration_ms": 1}
            )
        await answer_probe(mine, ProbeRequest.model_validate(probe), EngineServices())
        assert (await asyncio.wait_for(asked, probes_wait + 5)).json()["ok"] is True
    await theirs.aclose()
    await mine.aclose()


@pytest.mark.parametrize(
    ("type_name", "host", "expected"),
    [
        ("conntest", "broken", "RuntimeError: the probe itself has a bug"),
        ("conntest_other", "x", "connection type 'conntest_other' cannot be tested"),
        ("not_here", "x", "this runner does not know connection type 'not_here'"),
    ],
)
async def test_a_probe_that_cannot_run_is_a_failed_result_saying_why(
    type_name: str, host: str, expected: str
) -> None:
    request = ProbeRequest(
        id="p", connection="c", type=type_name, values={"host": host}, timeout_s=5
    )
    result = await run_probe(request, EngineServices())
    assert result.ok is False
    assert result.message.startswith(expected)


async def test_the_runner_process_takes_probes_with_its_claims(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    """The runner's own loop (in this process, so that the test's type is known to it)."""
    token = await make_runner_token(database, owner.organization_id)
    settings = RunnerSettings(api=api.base_url, token=token, name="probe-runner", claim_wait_s=5)
    runner = Runner(settings)
    running = asyncio.create_task(runner.run())
    try:
        async with api.client(owner.headers) as user:
            put = await user.put("/api/v1/connections/db", json=body(password=PASSWORD))
            assert put.status_code == 200
            answer = await asyncio.wait_for(user.post("/api/v1/connections/db/test"), 20)
        assert answer.status_code == 200, answer.text
        assert answer.json()["ok"] is True
        assert answer.json()["message"] == "connected to db.internal:5432"
    finally:
        runner.request_stop()
        assert await asyncio.wait_for(running, 30) == 0
