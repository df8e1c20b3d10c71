"""Executions for the tests of executions, runners and what uses them, made through the
executions service; flows come from tests/factories.py."""

from __future__ import annotations

from typing import Any

from flomation.db.session import Database
from flomation.executions import claims as execution_claims
from flomation.executions import reports as execution_reports
from flomation.executions import requests as execution_requests
from flomation.executions import views as execution_views
from flomation.executions.schemas import ClaimedExecution, ExecutionView
from flomation.models.auth import Organization
from flomation.protocol import ExecutionStatus, FinalStatus
from tests.factories import make_flow


async def request(
    database: Database, organization_id: str, flow_id: str, **kwargs: Any
) -> ExecutionView:
    kwargs.setdefault("input", {"n": 21})
    kwargs.setdefault("trigger", {"type": "manual"})
    async with database.transaction() as session:
        return await execution_requests.request_execution(
            session, organization_id=organization_id, flow_id=flow_id, **kwargs
        )


async def claim(
    database: Database,
    organization_id: str,
    runner_id: str = "runner-1",
    *,
    labels: dict[str, str] | None = None,
    limit: int = 10,
    lease_seconds: float = 30.0,
) -> list[ClaimedExecution]:
    async with database.transaction() as session:
        return await execution_claims.claim_executions(
            session,
            organization_id=organization_id,
            runner_id=runner_id,
            labels=labels or {},
            limit=limit,
            lease_seconds=lease_seconds,
        )


async def get(database: Database, organization_id: str, execution_id: str) -> ExecutionView:
    async with database.transaction() as session:
        return await execution_views.get_execution(
            session, organization_id=organization_id, execution_id=execution_id
        )


async def complete(
    database: Database,
    claimed: ClaimedExecution,
    runner_id: str = "runner-1",
    *,
    status: FinalStatus = ExecutionStatus.SUCCEEDED,
    output: Any = None,
    error: dict[str, Any] | None = None,
) -> None:
    async with database.transaction() as session:
        await execution_reports.complete_execution(
            session,
            runner_id=runner_id,
            execution_id=claimed.id,
            attempt=claimed.attempt,
            status=status,
            output=output,
            error=error,
        )


async def make_error_flow(database: Database, organization_id: str) -> str:
    """A flow that does nothing, made the organisation's error flow; returns its id."""
    handler = await make_flow(
        database,
        organization_id,
        name="on failure",
        definition={"version": 1, "nodes": [{"id": "start", "type": "start"}], "edges": []},
    )
    async with database.transaction() as session:
        organization = await session.get(Organization, organization_id)
        assert organization is not None
        organization.error_flow_id = handler
    return handler
