"""Hostile case: a poison pill, an execution during which its runner dies, must not be handed
to runner after runner until the fleet is gone. Real `flomation runner` processes against the
real API, on SQLite and PostgreSQL: the second runner lost while holding it fails it with
"runner lost while running this execution"; no third runner runs it; the organisation's error
flow still runs; the runner lost second, thawed, is refused and drops it. A flow with an
`on_error` node gets one recovery attempt that runs only that branch, then fails the same.

The API serves in this process, so where one lease is in play a runner's death is made to
outlast its lease by moving the clock (`db_clock`); the subflow's case holds the parent's lease
too, which the move would expire, so there leases are seconds long and run out in real time.
Runners whose lease the clock ends run one execution at a time: busy, they hold no claim open,
which the API could otherwise answer, after the move, with the requeued execution and a fresh
lease for a runner that is dead or frozen."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from flomation.config import Settings
from tests.conftest import SHORT_LEASES, ProcessClock, make_settings
from tests.live import LiveServer
from tests.runner.processes import Api, Recorder, record_flow, start_runner, wait_for

# Leases long enough that none runs out unless the test moves the clock; frequent maintenance,
# so a lease the clock ended is requeued at once.
LEASE_S = 30.0
CLOCK_LEASES: dict[str, object] = {**SHORT_LEASES, "lease_seconds": LEASE_S}


@pytest.fixture
def leases() -> dict[str, object]:
    return CLOCK_LEASES


@pytest.fixture
def settings(database_url: str, tmp_path: Path, leases: dict[str, object]) -> Settings:
    return make_settings(database_url, tmp_path / "data", **leases)


ONE_AT_A_TIME = ["--max-concurrent-executors", "1"]


def outlast_the_lease(db_clock: ProcessClock) -> None:
    """The lease a runner held when it died or froze (renewed at the latest now) is over."""
    db_clock.advance(LEASE_S + 1)


ERROR_FLOW = {
    "version": 1,
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "out",
            "type": "return",
            "config": {"value": {"failed": "{{ input.execution_id }}", "why": "{{ input.error }}"}},
        },
    ],
    "edges": [{"from": "start", "to": "out"}],
}


async def _running_attempt(user: Api, execution_id: str, attempt: int) -> bool:
    view = await user.get(execution_id)
    return bool(view["status"] == "running" and view["attempt"] == attempt)


async def _error_flow_runs(user: Api, flow_id: str) -> list[dict[str, Any]]:
    answer = await user.client.get("/api/v1/executions", params={"flow_id": flow_id})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def test_an_execution_whose_runner_dies_twice_fails_instead_of_killing_a_third(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path, db_clock: ProcessClock
) -> None:
    # Its delay holds the runner long enough for it to be killed mid-run, twice.
    flow_id = await user.flow(record_flow(recorder.url, delay_s=60))
    error_flow_id = await user.flow(ERROR_FLOW)
    patched = await user.client.patch("/api/v1/organization", json={"error_flow_id": error_flow_id})
    assert patched.status_code == 200, patched.text
    token = await user.token()

    first = await start_runner(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME)
    second = third = None
    try:
        execution_id = await user.run(flow_id)
        await wait_for(lambda: _running_attempt(user, execution_id, 1), 30, "attempt 1")
        first.signal(signal.SIGKILL)
        await first.wait()
        outlast_the_lease(db_clock)

        second = await start_runner(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME)
        await wait_for(lambda: _running_attempt(user, execution_id, 2), 30, "attempt 2")
        # Frozen, not killed: it must be refused when it comes back.
        second.signal(signal.SIGSTOP)
        outlast_the_lease(db_clock)

        third = await start_runner(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME)
        done = await user.ended(execution_id, timeout_s=30)
        assert done["status"] == "failed", done
        assert done["attempt"] == 2
        assert done["error"] == {
            "node_id": None,
            "type": "runner_lost",
            "message": "runner lost while running this execution",
            "attempt": 2,
        }

        async def error_flow_succeeded() -> bool:
            runs = await _error_flow_runs(user, error_flow_id)
            return any(run["status"] == "succeeded" for run in runs)

        await wait_for(error_flow_succeeded, 30, "the organisation's error flow to run")
        [handled] = await _error_flow_runs(user, error_flow_id)
        handled_view = await user.get(handled["id"])
        assert handled_view["trigger"] == {"type": "error_flow", "execution_id": execution_id}
        assert handled_view["output"]["failed"] == execution_id
        assert "runner lost while running this execution" in str(handled_view["output"]["why"])

        # The frozen runner comes back: its report is refused (or its heartbeat told the
        # execution is no longer its own), and it drops the execution.
        second.signal(signal.SIGCONT)

        async def dropped() -> bool:
            return any(
                execution_id in line and ("refused" in line or "no longer ours" in line)
                for line in second.logs().splitlines()
                if '"debug"' not in line
            )

        await wait_for(dropped, 30, "the thawed runner to drop the failed execution")
        after = await user.get(execution_id)
        assert (after["status"], after["attempt"], after["output"]) == ("failed", 2, None)
        assert await second.stop() == 0
        assert await third.stop() == 0
    finally:
        for runner in (first, second, third):
            if runner is not None and runner.process.returncode is None:
                runner.signal(signal.SIGKILL)
                await runner.process.wait()
    # No attempt got past the delay: the flow's side effect never happened.
    assert recorder.bodies == []


async def _child_of(user: Api, child_flow_id: str) -> str | None:
    items = await _error_flow_runs(user, child_flow_id)
    return str(items[0]["id"]) if items else None


@pytest.mark.parametrize("leases", [SHORT_LEASES], ids=["real-time-leases"])
async def test_a_subflow_whose_runner_dies_twice_takes_its_parents_error_port(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    # The child runs only on "child" runners, which die; the parent waits on a runner of its own.
    child = {**record_flow(recorder.url, delay_s=60), "runs_on": {"role": "child"}}
    child_flow_id = await user.flow(child)
    parent = {
        "version": 1,
        "runs_on": {"role": "parent"},
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "sub", "type": "subflow", "config": {"flow": child_flow_id, "input": {}}},
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.sub.output }}"}},
            {
                "id": "fallback",
                "type": "return",
                "config": {"value": {"recovered": True, "why": "{{ error.message }}"}},
            },
        ],
        "edges": [
            {"from": "start", "to": "sub"},
            {"from": "sub", "to": "out"},
            {"from": "sub", "to": "fallback", "port": "error"},
        ],
    }
    parent_flow_id = await user.flow(parent)
    token = await user.token()

    def labelled(role: str) -> list[str]:
        return ["--labels", f"role={role}"]

    started = [await start_runner(api.base_url, token, tmp_path, extra_args=labelled("parent"))]
    try:
        parent_id = await user.run(parent_flow_id)
        for attempt in (1, 2):
            doomed = await start_runner(api.base_url, token, tmp_path, extra_args=labelled("child"))
            started.append(doomed)

            async def running(attempt: int = attempt) -> bool:
                child_id = await _child_of(user, child_flow_id)
                return child_id is not None and await _running_attempt(user, child_id, attempt)

            await wait_for(running, 30, f"the child's attempt {attempt}")
            doomed.signal(signal.SIGKILL)
            await doomed.wait()
        # A third "child" runner is there, and never gets it.
        started.append(
            await start_runner(api.base_url, token, tmp_path, extra_args=labelled("child"))
        )
        done = await user.ended(parent_id, timeout_s=40)
        child_id = await _child_of(user, child_flow_id)
        assert child_id is not None
        child_view = await user.get(child_id)
    finally:
        for runner in started:
            if runner.process.returncode is None:
                runner.signal(signal.SIGKILL)
                await runner.process.wait()
    assert (child_view["status"], child_view["attempt"]) == ("failed", 2), child_view
    assert done["status"] == "succeeded", done
    assert done["output"]["recovered"] is True
    assert "runner lost while running this execution" in done["output"]["why"]
    assert recorder.bodies == []


def _recovering_flow(recorder_url: str) -> dict[str, Any]:
    """A main branch that holds its runner until it is killed, and an on_error branch with a
    side effect (a call to the recorder) and a `return`."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "hold", "type": "delay", "config": {"seconds": 60}},
            {"id": "oe", "type": "on_error"},
            {
                "id": "tell",
                "type": "http",
                "config": {
                    "method": "POST",
                    "url": recorder_url,
                    "json": {
                        "id": "{{ execution.id }}",
                        "attempt": "{{ execution.attempt }}",
                        "why": "{{ error.message }}",
                        "type": "{{ error.type }}",
                    },
                },
            },
            {"id": "out", "type": "return", "config": {"value": {"told": "{{ error.message }}"}}},
        ],
        "edges": [
            {"from": "start", "to": "hold"},
            {"from": "oe", "to": "tell"},
            {"from": "tell", "to": "out"},
        ],
    }


async def test_an_execution_whose_runner_dies_twice_still_runs_its_on_error_branch(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path, db_clock: ProcessClock
) -> None:
    flow_id = await user.flow(_recovering_flow(recorder.url))
    error_flow_id = await user.flow(ERROR_FLOW)
    patched = await user.client.patch("/api/v1/organization", json={"error_flow_id": error_flow_id})
    assert patched.status_code == 200, patched.text
    token = await user.token()

    started = [await start_runner(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME)]
    try:
        execution_id = await user.run(flow_id)
        await wait_for(lambda: _running_attempt(user, execution_id, 1), 30, "attempt 1")
        started[0].signal(signal.SIGKILL)
        await started[0].wait()
        outlast_the_lease(db_clock)

        started.append(await start_runner(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME))
        await wait_for(lambda: _running_attempt(user, execution_id, 2), 30, "attempt 2")
        started[1].signal(signal.SIGKILL)
        await started[1].wait()
        outlast_the_lease(db_clock)

        # The next runner gets a recovery attempt: the on_error branch only.
        started.append(await start_runner(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME))
        done = await user.ended(execution_id, timeout_s=30)

        async def error_flow_succeeded() -> bool:
            runs = await _error_flow_runs(user, error_flow_id)
            return any(run["status"] == "succeeded" for run in runs)

        await wait_for(error_flow_succeeded, 30, "the organisation's error flow to run")
        runs = await _error_flow_runs(user, error_flow_id)
        assert await started[2].stop() == 0
    finally:
        for runner in started:
            if runner.process.returncode is None:
                runner.signal(signal.SIGKILL)
                await runner.process.wait()
    assert (done["status"], done["attempt"]) == ("failed", 3), done
    assert done["error"] == {
        "node_id": None,
        "type": "runner_lost",
        "message": "runner lost while running this execution",
        "attempt": 2,
    }
    assert done["output"] == {"told": "runner lost while running this execution"}
    # The branch's side effect happened once, in the recovery attempt; the main graph's
    # delay never finished anywhere.
    assert recorder.bodies == [
        {
            "id": execution_id,
            "attempt": 3,
            "why": "runner lost while running this execution",
            "type": "runner_lost",
        }
    ]
    view = await user.get(execution_id)
    ran = {step["node_id"]: step["status"] for step in view["steps"] if step["status"] != "running"}
    assert ran.get("hold") != "succeeded"
    assert (ran["oe"], ran["tell"], ran["out"]) == ("succeeded",) * 3
    # The organisation's error flow ran once, for the end.
    [handled] = runs
    assert (await user.get(handled["id"]))["trigger"] == {
        "type": "error_flow",
        "execution_id": execution_id,
    }
