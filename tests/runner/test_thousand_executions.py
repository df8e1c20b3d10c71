"""Four real runner processes drain a thousand executions (PostgreSQL: their claims race)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flomation.config import Settings
from flomation.db.session import Database
from flomation.executions import requests as execution_requests
from flomation.executions import views as execution_views
from flomation.pagination import PageParams
from flomation.protocol import ExecutionStatus
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import LiveServer
from tests.runner.processes import Api, Recorder, quick_flow, runner_processes, wait_for

pytestmark = [
    pytest.mark.alone,
    pytest.mark.postgres_only,
    pytest.mark.parametrize("backend", ["postgresql"], indirect=True),
]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # Leases long enough that a loaded test machine never lets one expire: every execution
    # runs exactly once here, so each side effect must be seen exactly once.
    return make_settings(database_url, tmp_path / "data", lease_seconds=30.0)


async def test_four_runners_drain_a_thousand_executions_each_side_effect_exactly_once(
    api: LiveServer,
    user: Api,
    owner: Actor,
    database: Database,
    recorder: Recorder,
    tmp_path: Path,
) -> None:
    flow_id = await user.flow(quick_flow(recorder.url))
    ids: list[str] = []
    for _ in range(10):
        async with database.transaction() as session:
            for n in range(100):
                view = await execution_requests.request_execution(
                    session,
                    organization_id=owner.organization_id,
                    flow_id=flow_id,
                    input={"n": n},
                    trigger={"type": "manual"},
                )
                ids.append(view.id)
    token = await user.token()
    async with runner_processes(
        api.base_url, token, tmp_path, count=4, extra_args=["--max-concurrent-executors", "16"]
    ) as runners:

        async def all_recorded() -> bool:
            # A failed execution never records: say why at once instead of timing out.
            async with database.transaction() as session:
                failed = await execution_views.list_executions(
                    session,
                    organization_id=owner.organization_id,
                    page=PageParams("executions", 3),
                    status=ExecutionStatus.FAILED,
                )
            assert failed == [], [(item.id, item.error) for item in failed]
            return len(recorder.calls) >= len(ids)

        await wait_for(all_recorded, 60, "every execution's side effect")

        async def all_ended() -> bool:
            async with database.transaction() as session:
                for status in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING):
                    if await execution_views.list_executions(
                        session,
                        organization_id=owner.organization_id,
                        page=PageParams("executions", 1),
                        status=status,
                    ):
                        return False
            return True

        await wait_for(all_ended, 30, "every execution to end")
        statuses = await asyncio.gather(*(runner.stop() for runner in runners))
    assert statuses == [0, 0, 0, 0]
    assert set(recorder.calls) == set(ids)
    assert all(count == 1 for count in recorder.calls.values())
    async with database.transaction() as session:
        for status in (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING, ExecutionStatus.FAILED):
            left = await execution_views.list_executions(
                session,
                organization_id=owner.organization_id,
                page=PageParams("executions", 10),
                status=status,
            )
            assert left == [], status
