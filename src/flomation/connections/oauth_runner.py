"""`POST /runner/connections/{name}/refresh`: a runner whose node got 401 with an OAuth 2
connection's token asks for a new one (once per request; the node retries once).

Fenced like every call about an execution: the runner must hold this attempt, still running,
and the execution's flow must reference the connection (a runner gets only the connections
its executions use, as with a claim)."""

from __future__ import annotations

from flomation.connections import oauth
from flomation.connections.references import referenced_connections
from flomation.connections.schemas import ConnectionRefreshRequest
from flomation.db.session import Database
from flomation.errors import NotFound
from flomation.executions import views as execution_views
from flomation.executions.errors import StaleAttempt
from flomation.flows import service as flows_service
from flomation.protocol import ClaimedConnection

__all__ = ["refresh_for_runner"]


async def refresh_for_runner(
    database: Database,
    *,
    organization_id: str,
    runner_id: str,
    name: str,
    body: ConnectionRefreshRequest,
) -> ClaimedConnection:
    async with database.transaction() as session:
        execution = await execution_views.get_summary(
            session, organization_id=organization_id, execution_id=body.execution_id
        )
        if (
            execution.runner_id != runner_id
            or execution.attempt != body.attempt
            or execution.status != "running"
        ):
            raise StaleAttempt(body.execution_id, body.attempt)
        flow = await flows_service.get_flow_revision(
            session, organization_id, execution.flow_id, execution.revision
        )
        if name not in referenced_connections(flow.definition):
            raise NotFound(f"Execution {execution.id}'s flow does not use connection {name!r}")
        return await oauth.refresh_after_refusal(
            session,
            organization_id=organization_id,
            name=name,
            refused_token_sha256=body.refused_token_sha256,
        )
