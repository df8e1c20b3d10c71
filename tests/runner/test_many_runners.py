"""Several real runner processes at once (PostgreSQL: their claims race each other for real)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.runner.processes import (
    Api,
    Recorder,
    record_flow,
    runner_processes,
    start_runner,
    wait_for,
)

pytestmark = [
    pytest.mark.alone,
    pytest.mark.postgres_only,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


async def test_a_killed_runners_execution_is_requeued_and_finished_by_another(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    flow_id = await user.flow(record_flow(recorder.url, delay_s=3))
    token = await user.token()
    async with runner_processes(api.base_url, token, tmp_path) as [doomed]:
        execution_id = await user.run(flow_id)
        await wait_for(lambda: user.step_started(execution_id, "wait"), 20, "the delay node")
        first_runner = (await user.get(execution_id))["runner_id"]
        doomed.signal(signal.SIGKILL)
        await doomed.wait()
        survivor = await start_runner(api.base_url, token, tmp_path)
        try:
            done = await user.ended(execution_id, timeout_s=30)
        finally:
            assert await survivor.stop() == 0
    assert done["status"] == "succeeded", done
    assert done["attempt"] == 2
    assert done["runner_id"] != first_runner
    assert done["output"]["attempt"] == 2
    # The killed attempt never got past its delay: the side effect happened once, by attempt 2.
    assert recorder.bodies == [{"id": execution_id, "attempt": 2}]


async def test_a_frozen_runners_late_results_are_refused(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path
) -> None:
    flow_id = await user.flow(record_flow(recorder.url, delay_s=1))
    token = await user.token()
    async with runner_processes(api.base_url, token, tmp_path) as [frozen]:
        execution_id = await user.run(flow_id)
        await wait_for(lambda: user.step_started(execution_id, "wait"), 20, "the delay node")
        frozen_runner = (await user.get(execution_id))["runner_id"]
        frozen.signal(signal.SIGSTOP)
        other = await start_runner(api.base_url, token, tmp_path)
        try:
            done = await user.ended(execution_id, timeout_s=30)
            # Attempt 2 as a rule; 3 when the frozen runner's long poll, still open in the API,
            # claimed attempt 2 for it after attempt 1's lease ran out (that lease runs out too).
            assert done["attempt"] in (2, 3), done
            assert done["runner_id"] != frozen_runner
            frozen.signal(signal.SIGCONT)
            # The thawed runner finishes its stale attempt and reports; the API refuses it.

            async def refused() -> bool:
                return "refused" in frozen.logs() or "no longer ours" in frozen.logs()

            await wait_for(refused, 20, "the stale attempt to be refused")
            after = await user.get(execution_id)
        finally:
            assert await other.stop() == 0
        assert await frozen.stop() == 0
    assert after["status"] == "succeeded"
    assert after["attempt"] == done["attempt"]
    assert after["output"]["attempt"] == done["attempt"]
    assert after["runner_id"] == done["runner_id"]
    assert after["finished_at"] == done["finished_at"]
