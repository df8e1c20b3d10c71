"""Flows, secrets, triggers and execution endings for the triggers and Launch tests, made
through the domains' own services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from flomation.config import Settings
from flomation.db.session import Database
from flomation.executions import claims as execution_claims
from flomation.executions import reports as execution_reports
from flomation.flows import service as flows
from flomation.models.executions import Execution
from flomation.models.triggers import Trigger
from flomation.protocol import ExecutionStatus, FinalStatus
from flomation.secrets import service as secrets
from flomation.secrets.crypto import Keyring
from flomation.triggers import service
from flomation.triggers.schemas import TriggerCreate, TriggerOut
from tests import factories


def open_definition(**start_config: Any) -> dict[str, Any]:
    """start -> out, returning the input; `start_config` may set an input_schema."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start", "config": start_config},
            {"id": "out", "type": "return", "config": {"value": "{{ input }}"}},
        ],
        "edges": [{"from": "start", "to": "out"}],
    }


async def make_flow(
    database: Database, organization_id: str, *, definition: dict[str, Any] | None = None
) -> str:
    """The shared flow factory with this suite's default: the open flow, which returns the
    input a trigger gives it."""
    return await factories.make_flow(
        database, organization_id, name="triggered", definition=definition or open_definition()
    )


async def archive_flow(database: Database, organization_id: str, flow_id: str) -> None:
    async with database.transaction() as session:
        await flows.archive_flow(session, organization_id=organization_id, flow_id=flow_id)


async def put_secret(
    database: Database, settings: Settings, organization_id: str, name: str, value: str
) -> None:
    async with database.transaction() as session:
        await secrets.put_secret(
            session,
            organization_id=organization_id,
            name=name,
            value=value,
            keyring=Keyring.from_settings(settings),
        )


async def make_trigger(
    database: Database,
    organization_id: str,
    flow_id: str,
    trigger_type: str,
    config: dict[str, Any],
    *,
    now: datetime | None = None,
    enabled: bool = True,
    allow_local_git: bool = True,
) -> TriggerOut:
    """`allow_local_git`: as an operator who set FLOMATION_LAUNCH_ALLOW_LOCAL_GIT (the Launch
    tests watch file:// repositories); tests of the refusal pass False."""
    async with database.transaction() as session:
        return await service.create_trigger(
            session,
            organization_id=organization_id,
            flow_id=flow_id,
            body=TriggerCreate(type=trigger_type, config=config, enabled=enabled),
            now=now,
            allow_local_git=allow_local_git,
        )


async def get_trigger(database: Database, organization_id: str, trigger_id: str) -> TriggerOut:
    async with database.transaction() as session:
        return await service.get_trigger(
            session, organization_id=organization_id, trigger_id=trigger_id
        )


async def trigger_rows(database: Database) -> list[Trigger]:
    async with database.transaction() as session:
        return list((await session.execute(select(Trigger).order_by(Trigger.id))).scalars())


async def executions_of(database: Database, organization_id: str) -> list[Execution]:
    """Every execution of the organisation, oldest first."""
    async with database.transaction() as session:
        rows = await session.execute(
            select(Execution)
            .where(Execution.organization_id == organization_id)
            .order_by(Execution.queued_at, Execution.id)
        )
        return list(rows.scalars())


async def end_all(
    database: Database, organization_id: str, *, status: FinalStatus = ExecutionStatus.SUCCEEDED
) -> int:
    """Claim every queued execution as a runner would and end it with `status`."""
    async with database.transaction() as session:
        claimed = await execution_claims.claim_executions(
            session,
            organization_id=organization_id,
            runner_id="test-runner",
            labels={},
            limit=500,
            lease_seconds=60,
        )
        for item in claimed:
            await execution_reports.complete_execution(
                session,
                runner_id="test-runner",
                execution_id=item.id,
                attempt=item.attempt,
                status=status,
                output={"done": True} if status == ExecutionStatus.SUCCEEDED else None,
                error=None
                if status == ExecutionStatus.SUCCEEDED
                else {"node_id": "out", "type": "Boom", "message": "it broke", "attempt": 1},
            )
    return len(claimed)
