"""End to end: real `flomation runner` processes against the real API server.

Single-runner behaviour runs on SQLite and PostgreSQL; several runners at once (their claims
racing each other) run on PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from tests.factories import Actor
from tests.live import LiveServer
from tests.runner.processes import (
    Api,
    Recorder,
    free_port,
    record_flow,
    runner_processes,
    start_runner,
    wait_for,
)
from tests.runner.restart import restartable

POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


SLEEPY_PYTHON = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "py",
            "type": "python",
            "config": {
                "code": "import time\n\ndef main(ctx):\n    time.sleep(120)\n    return 1\n"
            },
        },
    ],
    "edges": [{"from": "start", "to": "py"}],
}


async def test_an_execution_requested_through_the_api_runs_on_a_runner_and_succeeds(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    flow_id = await user.flow(record_flow(recorder.url))
    token = await user.token()
    port = free_port()
    async with runner_processes(
        api.base_url, token, tmp_path, extra_args=["--metrics-port", str(port)]
    ) as [runner]:
        execution_id = await user.run(flow_id, {"n": 7})
        done = await user.ended(execution_id)
        async with httpx.AsyncClient() as scraper:
            metrics = (await scraper.get(f"http://127.0.0.1:{port}/metrics")).text
        assert await runner.stop() == 0, runner.logs()[-3000:]
    assert "flomation_runner_slots 4.0" in metrics
    assert 'flomation_runner_finished_executions_total{status="succeeded"} 1.0' in metrics
    assert done["status"] == "succeeded", done
    assert done["output"] == {"attempt": 1, "n": 7}
    assert [step["node_id"] for step in done["steps"]] == ["start", "wait", "call", "out"]
    assert all(step["status"] == "succeeded" for step in done["steps"])
    assert recorder.calls[execution_id] == 1
    [listed] = (await user.client.get("/api/v1/runners")).json()["items"]
    assert listed["id"] == done["runner_id"]


async def test_a_runner_without_the_required_labels_never_claims(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    flow_id = await user.flow(record_flow(recorder.url))
    async with runner_processes(api.base_url, await user.token(), tmp_path) as [plain]:
        execution_id = await user.run(flow_id, runs_on={"location": "onprem"})
        await asyncio.sleep(3)  # a few claim rounds of the plain runner
        assert (await user.get(execution_id))["status"] == "queued"
        onprem_token = await user.token({"location": "onprem"})
        onprem = await start_runner(api.base_url, onprem_token, tmp_path)
        try:
            done = await user.ended(execution_id)
        finally:
            assert await onprem.stop() == 0
        assert await plain.stop() == 0
    assert done["status"] == "succeeded"
    assert done["runner_id"] != ""
    assert recorder.calls[execution_id] == 1


async def test_cancel_reaches_a_running_python_node_within_seconds(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    flow_id = await user.flow(SLEEPY_PYTHON)
    async with runner_processes(api.base_url, await user.token(), tmp_path) as [runner]:
        execution_id = await user.run(flow_id, {})

        async def python_running() -> bool:
            steps = (await user.get(execution_id))["steps"]
            return any(s["node_id"] == "py" and s["status"] == "running" for s in steps)

        await wait_for(python_running, 20, "the python node to start")
        answer = await user.client.post(f"/api/v1/executions/{execution_id}/cancel")
        assert answer.status_code == 202
        done = await user.ended(execution_id, timeout_s=10)
        assert await runner.stop() == 0
    assert done["status"] == "cancelled", done
    [py] = [s for s in done["steps"] if s["node_id"] == "py"]
    assert py["status"] == "cancelled"


async def test_sigterm_lets_running_work_finish_then_exits_zero(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    flow_id = await user.flow(record_flow(recorder.url, delay_s=1.5))
    async with runner_processes(api.base_url, await user.token(), tmp_path) as [runner]:
        execution_id = await user.run(flow_id)
        await wait_for(lambda: user.step_started(execution_id, "wait"), 20, "the delay node")
        runner.signal(signal.SIGTERM)
        assert await runner.wait(20) == 0, runner.logs()[-3000:]
    done = await user.get(execution_id)
    assert done["status"] == "succeeded", done
    assert recorder.calls[execution_id] == 1


async def test_sigterm_past_the_grace_period_hands_work_back_to_the_queue(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    flow_id = await user.flow(record_flow(recorder.url, delay_s=60))
    token = await user.token()
    async with runner_processes(
        api.base_url, token, tmp_path, extra_args=["--shutdown-grace-s", "0.5"]
    ) as [runner]:
        execution_id = await user.run(flow_id)
        await wait_for(lambda: user.step_started(execution_id, "wait"), 20, "the delay node")
        runner.signal(signal.SIGTERM)
        assert await runner.wait(20) == 0, runner.logs()[-3000:]
    # Released at once, not after the lease: queued again for the next runner.
    handed_back = await user.get(execution_id)
    assert handed_back["status"] == "queued", handed_back
    assert recorder.calls[execution_id] == 0


async def test_results_buffered_while_the_api_is_down_are_reported_after_it_returns(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    """The API goes away while a runner runs an execution and long-polls: the runner keeps
    going, buffers, reconnects with backoff and reports; nothing is lost."""
    flow_id = await user.flow(record_flow(recorder.url, delay_s=1))
    token = await user.token()
    # Leases longer than the outage: the runner keeps what it holds (a longer outage would
    # requeue it and another attempt would run it again, as the kill -9 test shows).
    async with (
        restartable(api, lease_seconds=10.0) as control,
        runner_processes(control.base_url, token, tmp_path) as [runner],
    ):
        first = await user.run(flow_id, {"n": 1})
        await wait_for(lambda: user.step_started(first, "wait"), 20, "the first start")
        await control.stop()
        await asyncio.sleep(2)  # the delay ends, the end is buffered, claims fail
        await control.start()
        second = await user.run(flow_id, {"n": 2})
        done_first = await user.ended(first, timeout_s=30)
        done_second = await user.ended(second, timeout_s=30)
        assert await runner.stop() == 0
    assert done_first["status"] == "succeeded", done_first
    assert done_first["attempt"] == 1
    assert done_second["status"] == "succeeded", done_second
    assert recorder.calls[first] == 1
    assert recorder.calls[second] == 1


async def test_a_runner_local_secret_is_used_and_never_stored(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    """Hybrid deployments: the credential lives on the runner's host; the API never holds it."""
    flow = record_flow(recorder.url)
    call = next(node for node in flow["nodes"] if node["id"] == "call")
    call["config"]["json"]["token"] = "{{ secrets.HYBRID_TOKEN }}"
    flow_id = await user.flow(flow)
    async with runner_processes(
        api.base_url,
        await user.token(),
        tmp_path,
        env={"FLOMATION_SECRET_HYBRID_TOKEN": "only-on-the-runner"},
    ) as [runner]:
        execution_id = await user.run(flow_id)
        done = await user.ended(execution_id)
        assert await runner.stop() == 0
    assert done["status"] == "succeeded", done
    assert recorder.bodies[0]["token"] == "only-on-the-runner"
    assert "only-on-the-runner" not in str(done)
    [step] = [s for s in done["steps"] if s["node_id"] == "call"]
    assert step["input"]["json"]["token"] == "***"


CHILD = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "out", "type": "return", "config": {"value": {"doubled": "{{ input.n * 2 }}"}}},
    ],
    "edges": [{"from": "start", "to": "out"}],
}


async def test_a_subflow_runs_as_its_own_execution_even_on_a_single_slot_runner(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    child_id = await user.flow(CHILD)
    parent = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "child",
                "type": "subflow",
                "config": {"flow": child_id, "input": {"n": "{{ input.n }}"}},
            },
            {
                "id": "out",
                "type": "return",
                "config": {"value": "{{ nodes.child.output }}"},
            },
        ],
        "edges": [{"from": "start", "to": "child"}, {"from": "child", "to": "out"}],
    }
    parent_id = await user.flow(parent)
    # One slot: the parent gives it back while it waits, or the child could never run.
    async with runner_processes(
        api.base_url, await user.token(), tmp_path, extra_args=["--max-concurrent-executors", "1"]
    ) as [runner]:
        execution_id = await user.run(parent_id, {"n": 21})
        done = await user.ended(execution_id)
        assert await runner.stop() == 0
    assert done["status"] == "succeeded", done
    assert done["output"] == {"doubled": 42}
    children = await user.client.get("/api/v1/executions", params={"flow_id": child_id})
    [child] = children.json()["items"]
    assert child["status"] == "succeeded"
    assert child["trigger"]["type"] == "subflow"


async def test_the_local_runner_of_flomation_up_runs_work_with_the_api_key_pinned(
    api: LiveServer, user: Api, owner: Actor
) -> None:
    from flomation.runners.local import local_runner_lifespan

    flow_id = await user.flow(CHILD)
    async with (
        restartable(api, hooks=[local_runner_lifespan]) as control,
        control.user(owner) as local_user,
    ):
        execution_id = await local_user.run(flow_id, {"n": 4})
        done = await local_user.ended(execution_id)
        runners = (await local_user.client.get("/api/v1/runners")).json()["items"]
    assert done["status"] == "succeeded", done
    assert done["output"] == {"doubled": 8}
    assert [runner["name"] for runner in runners] == ["local"]
    tokens = (await user.client.get("/api/v1/runner-tokens")).json()["items"]
    assert [token["name"] for token in tokens] == ["local runner (flomation up)"]


async def test_a_shared_cloud_runner_blocks_loopback_destinations(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    flow_id = await user.flow(record_flow(recorder.url))
    async with runner_processes(
        api.base_url, await user.token(), tmp_path, extra_args=["--egress-policy", "shared_cloud"]
    ) as [runner]:
        execution_id = await user.run(flow_id)
        done = await user.ended(execution_id)
        assert await runner.stop() == 0, runner.logs()[-3000:]
    assert done["status"] == "failed", done
    assert done["error"]["type"] == "blocked"
    assert done["error"]["node_id"] == "call"
    assert recorder.calls[execution_id] == 0
    # The operator sees why on the runner too, not only through the API.
    assert f"execution {execution_id} attempt 1 ended failed at node call: " in runner.logs()


async def test_a_runner_deleted_by_an_admin_stops_with_status_1(
    api: LiveServer, user: Api, tmp_path: Path
) -> None:
    async with runner_processes(api.base_url, await user.token(), tmp_path) as [runner]:

        async def registered() -> bool:
            answer = await user.client.get("/api/v1/runners")
            return bool(answer.json()["items"])

        await wait_for(registered, 20, "the runner to register")
        [item] = (await user.client.get("/api/v1/runners")).json()["items"]
        assert (await user.client.delete(f"/api/v1/runners/{item['id']}")).status_code == 204
        assert await runner.wait(20) == 1
    assert "no longer knows this runner" in runner.logs()
