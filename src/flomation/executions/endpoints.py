"""Executions endpoints (thin: the rules are in `views`, `requests` and `actions`).

`router` is authenticated by the app like every protected router. `stream_router` holds the
event stream, which authenticates in its own short transaction instead: a stream lasts as long
as the execution, and must not hold a database transaction (on SQLite, the write lock) open.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from flomation.api.deps import (
    EditorPrincipal,
    SessionDep,
    ViewerPrincipal,
    get_principal,
    one_statement_writes,
)
from flomation.api.openapi import component_ref
from flomation.auth.principal import Principal
from flomation.db.session import Database
from flomation.errors import ValidationFailed
from flomation.executions import actions as execution_actions
from flomation.executions import requests as execution_requests
from flomation.executions import views as execution_views
from flomation.executions.notifier import HUB, execution_topic
from flomation.executions.repository import queries as queries_repository
from flomation.executions.schemas import (
    CancelAccepted,
    ExecutionRequest,
    ExecutionStatus,
    ExecutionSummary,
    ExecutionView,
    RetryRequest,
)
from flomation.pagination import Page, PageParams, make_page, page_query
from flomation.protocol.statuses import FINAL_STATUSES

router = APIRouter(tags=["executions"])
stream_router = APIRouter(tags=["executions"])

ExecutionPages = Annotated[PageParams[str], Depends(page_query("executions"))]

KEEPALIVE_S = 15.0
MAX_IDEMPOTENCY_KEY = 300


def _request_hash(flow_id: str, body: ExecutionRequest) -> str:
    canonical = json.dumps(
        {"flow_id": flow_id, **body.model_dump(mode="json")}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@router.post(
    "/flows/{flow_id}/executions",
    operation_id="request_execution",
    status_code=201,
    response_model=ExecutionView,
    responses={200: {"description": "The execution an earlier request with this key made"}},
)
@one_statement_writes  # the execution, its queue row and first event: one statement
async def request_execution(
    flow_id: str,
    principal: EditorPrincipal,
    session: SessionDep,
    body: Annotated[ExecutionRequest | None, Body()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    body = body or ExecutionRequest()
    if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "wrong length"}],
        )
    view, created = await execution_requests.request_execution_once(
        session,
        organization_id=principal.organization_id,
        flow_id=flow_id,
        input=body.input,
        trigger={"type": "manual", "user_id": principal.user_id},
        revision=body.revision,
        runs_on=body.runs_on,
        idempotency_key=idempotency_key,
        request_hash=_request_hash(flow_id, body) if idempotency_key is not None else None,
    )
    # Serialised here, once: returning the model would have FastAPI validate it all again.
    return Response(
        content=view.model_dump_json(),
        status_code=201 if created else 200,
        media_type="application/json",
    )


@router.get("/executions", operation_id="list_executions")
async def list_executions(
    principal: ViewerPrincipal,
    session: SessionDep,
    page: ExecutionPages,
    flow_id: Annotated[str | None, Query(max_length=36)] = None,
    status: Annotated[ExecutionStatus | None, Query()] = None,
) -> Page[ExecutionSummary]:
    """Newest first."""
    rows = await execution_views.list_executions(
        session,
        organization_id=principal.organization_id,
        page=page,
        flow_id=flow_id,
        status=status,
    )
    return make_page(rows, page, key=lambda row: row.id, item=lambda row: row)


@router.get("/executions/{execution_id}", operation_id="get_execution")
async def get_execution(
    execution_id: str, principal: ViewerPrincipal, session: SessionDep
) -> ExecutionView:
    return await execution_views.get_execution(
        session, organization_id=principal.organization_id, execution_id=execution_id
    )


@router.post("/executions/{execution_id}/cancel", operation_id="cancel_execution", status_code=202)
async def cancel_execution(
    execution_id: str, principal: EditorPrincipal, session: SessionDep
) -> CancelAccepted:
    return await execution_actions.cancel_execution(
        session, organization_id=principal.organization_id, execution_id=execution_id
    )


@router.post("/executions/{execution_id}/retry", operation_id="retry_execution", status_code=201)
async def retry_execution(
    execution_id: str,
    principal: EditorPrincipal,
    session: SessionDep,
    body: Annotated[RetryRequest | None, Body()] = None,
) -> ExecutionView:
    return await execution_actions.retry_execution(
        session,
        organization_id=principal.organization_id,
        execution_id=execution_id,
        from_node=(body or RetryRequest()).from_node,
    )


# --------------------------------------------------------------------------- event stream


async def _stream_principal(request: Request) -> Principal:
    """Authenticate like every protected route, in a transaction that ends before streaming."""
    database: Database = request.app.state.database
    async with database.transaction() as session:
        return await get_principal(request, session)


StreamPrincipal = Annotated[Principal, Depends(_stream_principal)]


def _last_event_id(header: str | None) -> int:
    if header is None or not header.strip():
        return 0
    try:
        value = int(header.strip())
    except ValueError:
        raise ValidationFailed(
            "Last-Event-ID must be the id of an event of this stream",
            errors=[{"loc": ["header", "Last-Event-ID"], "msg": "not an event id"}],
        ) from None
    return max(value, 0)


def _sse(seq: int, kind: str, payload: Any) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    return f"id: {seq}\nevent: {kind}\ndata: {data}\n\n".encode()


@stream_router.get(
    "/executions/{execution_id}/events",
    operation_id="stream_execution_events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events; each message is one `ExecutionStreamEvent`",
            "content": {"text/event-stream": {"schema": component_ref("ExecutionStreamEvent")}},
        }
    },
)
async def stream_execution_events(
    execution_id: str,
    request: Request,
    principal: StreamPrincipal,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events: `step`, `log`, `execution` and `end`, each with its sequence number
    as `id`. What happened so far first, then live; `Last-Event-ID` resumes after that event.
    The stream closes after `end`."""
    after = _last_event_id(last_event_id)
    database: Database = request.app.state.database
    async with database.transaction() as session:
        await execution_views.get_summary(
            session, organization_id=principal.organization_id, execution_id=execution_id
        )
    return StreamingResponse(
        _events(request, database, execution_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, database: Database, execution_id: str, after: int
) -> AsyncIterator[bytes]:
    # Subscribe before reading, so an event committed between the read and the wait wakes us.
    with HUB.subscribe([execution_topic(execution_id)]) as subscription:
        while True:
            async with database.transaction() as session:
                events = await queries_repository.events_after(session, execution_id, after)
                execution = await queries_repository.get_execution_any_org(session, execution_id)
            for event in events:
                after = event.seq
                yield _sse(event.seq, event.type, event.payload)
                if event.type == "end":
                    return
            if events:
                continue
            if execution is None or (
                execution.status in FINAL_STATUSES and after >= execution.last_seq
            ):
                return  # pruned, or resumed after the end
            if await request.is_disconnected():
                return
            if not await subscription.wait(KEEPALIVE_S):
                yield b": keepalive\n\n"
            await asyncio.sleep(0)
