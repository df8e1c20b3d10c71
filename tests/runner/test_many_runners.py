"""Several real runner processes at once (PostgreSQL: their claims race each other for real).

The API serves in this process: a killed or frozen runner's lease is made to run out by moving
the clock (`db_clock`), not by waiting for it, so the tests keep no deadline of their own but
the generous waits for runners to start on a loaded machine. The runner that dies or freezes
runs one execution at a time: busy, it holds no claim open, which the API could otherwise
answer, after the move, with the requeued execution and a fresh lease for a runner that cannot
run it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from flomation.config import Settings
from tests.conftest import SHORT_LEASES, ProcessClock, make_settings
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
    pytest.mark.postgres_only,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]

# Long enough that no live runner's lease runs out between its heartbeats on a loaded machine.
LEASE_S = 30.0
ONE_AT_A_TIME = ["--max-concurrent-executors", "1"]
# A runner starting on a loaded machine (two cores, many processes) takes 13 s and more.
START_WITHIN_S = 40.0
# A runner's start, then the flow's delay. An in-flight heartbeat from the runner that died,
# renewed after the move, costs a real lease more at worst.
END_WITHIN_S = START_WITHIN_S + LEASE_S


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        tmp_path / "data",
        **{**SHORT_LEASES, "lease_seconds": LEASE_S},
        runner_offline_after_seconds=10.0,
    )


def outlast_the_lease(db_clock: ProcessClock) -> None:
    """The lease a runner held when it died or froze (renewed at the latest now) is over."""
    db_clock.advance(LEASE_S + 1)


async def test_a_killed_runners_execution_is_requeued_and_finished_by_another(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path, db_clock: ProcessClock
) -> None:
    flow_id = await user.flow(record_flow(recorder.url, delay_s=3))
    token = await user.token()
    async with runner_processes(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME) as [
        doomed
    ]:
        execution_id = await user.run(flow_id)
        await wait_for(
            lambda: user.step_started(execution_id, "wait"), START_WITHIN_S, "the delay node"
        )
        first_runner = (await user.get(execution_id))["runner_id"]
        doomed.signal(signal.SIGKILL)
        await doomed.wait()
        outlast_the_lease(db_clock)
        survivor = await start_runner(api.base_url, token, tmp_path)
        try:
            done = await user.ended(execution_id, timeout_s=END_WITHIN_S)
        finally:
            assert await survivor.stop() == 0
    assert done["status"] == "succeeded", done
    assert done["attempt"] == 2
    assert done["runner_id"] != first_runner
    assert done["output"]["attempt"] == 2
    # The killed attempt never got past its delay: the side effect happened once, by attempt 2.
    assert recorder.bodies == [{"id": execution_id, "attempt": 2}]


async def test_a_frozen_runners_late_results_are_refused(
    api: LiveServer, user: Api, recorder: Recorder, tmp_path: Path, db_clock: ProcessClock
) -> None:
    flow_id = await user.flow(record_flow(recorder.url, delay_s=1))
    token = await user.token()
    async with runner_processes(api.base_url, token, tmp_path, extra_args=ONE_AT_A_TIME) as [
        frozen
    ]:
        execution_id = await user.run(flow_id)
        await wait_for(
            lambda: user.step_started(execution_id, "wait"), START_WITHIN_S, "the delay node"
        )
        frozen_runner = (await user.get(execution_id))["runner_id"]
        frozen.signal(signal.SIGSTOP)
        outlast_the_lease(db_clock)
        other = await start_runner(api.base_url, token, tmp_path)
        try:
            done = await user.ended(execution_id, timeout_s=END_WITHIN_S)
            assert done["attempt"] == 2, done
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
