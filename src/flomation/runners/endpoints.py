"""Runner endpoints. `router` (authenticated users): runner tokens and the runners list.
`runner_router` (public, every call signed by the runner): the runner protocol, whose answers
are signed by the API (docs/runner-protocol.md)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from flomation.api.deps import (
    AdminPrincipal,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    ViewerPrincipal,
)
from flomation.connections.oauth_runner import refresh_for_runner
from flomation.connections.schemas import ConnectionRefreshRequest
from flomation.errors import Unauthorized
from flomation.executions.errors import StaleAttempt
from flomation.pagination import PageParams, page_query
from flomation.protocol import (
    ClaimedConnection,
    ClaimRequest,
    ClaimResponse,
    CompleteRequest,
    GoodbyeRequest,
    HeartbeatRequest,
    HeartbeatResponse,
    ProbeResult,
    RegisterRequest,
    RegisterResponse,
    ReleaseRequest,
    ReportRequest,
    ReportResponse,
    SubflowRequest,
    SubflowStarted,
    SubflowState,
)
from flomation.runners import protocol, service
from flomation.runners.schemas import (
    RunnerList,
    RunnerTokenCreate,
    RunnerTokenCreated,
    RunnerTokenList,
)
from flomation.runners.signatures import SignedRunner, signed_json, signed_path
from flomation.signing import (
    UNREGISTERED,
    SignatureInvalid,
    VerifyKey,
    parse_request_headers,
    verify_request,
)

router = APIRouter(tags=["runners"])
runner_router = APIRouter(prefix="/runner", tags=["runner protocol"])

RunnerTokenPages = Annotated[PageParams[str], Depends(page_query("runner tokens"))]
RunnerPages = Annotated[PageParams[str], Depends(page_query("runners"))]


# --------------------------------------------------------------------------- admin side


@router.post("/runner-tokens", status_code=201, operation_id="create_runner_token")
async def create_runner_token(
    body: RunnerTokenCreate, principal: AdminPrincipal, session: SessionDep
) -> RunnerTokenCreated:
    return await service.create_token(
        session,
        organization_id=principal.organization_id,
        created_by=principal.user_id,
        body=body,
    )


@router.get("/runner-tokens", operation_id="list_runner_tokens")
async def list_runner_tokens(
    principal: AdminPrincipal, session: SessionDep, page: RunnerTokenPages
) -> RunnerTokenList:
    items, next_cursor = await service.list_tokens(session, principal.organization_id, page)
    return RunnerTokenList(items=items, next_cursor=next_cursor)


@router.delete("/runner-tokens/{token_id}", status_code=204, operation_id="revoke_runner_token")
async def revoke_runner_token(
    token_id: str, principal: AdminPrincipal, session: SessionDep
) -> Response:
    await service.revoke_token(
        session, organization_id=principal.organization_id, token_id=token_id
    )
    return Response(status_code=204)


@router.get("/runners", operation_id="list_runners")
async def list_runners(
    principal: ViewerPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    page: RunnerPages,
) -> RunnerList:
    items, next_cursor = await service.list_runners(
        session,
        principal.organization_id,
        offline_after_s=settings.runner_offline_after_seconds,
        page=page,
    )
    return RunnerList(items=items, next_cursor=next_cursor)


@router.delete("/runners/{runner_id}", status_code=204, operation_id="delete_runner")
async def delete_runner(runner_id: str, principal: AdminPrincipal, session: SessionDep) -> Response:
    await service.delete_runner(
        session, organization_id=principal.organization_id, runner_id=runner_id
    )
    return Response(status_code=204)


# --------------------------------------------------------------------------- runner protocol


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@runner_router.post(
    "/register", operation_id="runner_register", response_model=RegisterResponse, status_code=200
)
async def register(
    body: RegisterRequest, request: Request, database: DatabaseDep, settings: SettingsDep
) -> Response:
    """Register a runner with a runner token. The request is signed with the key it registers
    (runner id `-`), proving the runner holds it."""
    token = body.token or _bearer(request)
    if not token:
        raise Unauthorized("Registration needs the runner token, in the body or as Bearer")
    signed = parse_request_headers(request.headers)
    if signed.runner_id != UNREGISTERED:
        raise SignatureInvalid(f"A registration is signed with runner id {UNREGISTERED!r}")
    verify_request(
        VerifyKey.from_base64(body.public_key),
        signed,
        method=request.method,
        path=signed_path(request),
        body=await request.body(),
        now=time.time(),
        max_skew_s=settings.signature_max_skew_seconds,
    )
    async with database.transaction() as session:
        registration = await service.register_runner(
            session,
            token=token,
            name=body.name,
            labels=body.labels,
            max_concurrent_executors=body.max_concurrent_executors,
            public_key=body.public_key,
            version=body.version,
            offline_after_s=settings.runner_offline_after_seconds,
        )
    answer = RegisterResponse(
        runner_id=registration.runner_id,
        organization_id=registration.organization_id,
        name=body.name,
        labels=registration.labels,
        api_public_key=service.api_signing_key(settings).public_key_base64(),
        lease_seconds=settings.lease_seconds,
        heartbeat_interval_s=service.heartbeat_interval_s(
            settings.lease_seconds, settings.runner_offline_after_seconds
        ),
        claim_wait_seconds=settings.claim_wait_seconds,
        signature_max_skew_seconds=settings.signature_max_skew_seconds,
        max_subflow_depth=service.MAX_SUBFLOW_DEPTH,
    )
    return signed_json(
        answer.model_dump(), settings=settings, runner_id=UNREGISTERED, request_nonce=signed.nonce
    )


def _notifier(request: Request) -> protocol.Notifier | None:
    return getattr(request.app.state, "work_notifier", None)


@runner_router.post("/claim", operation_id="runner_claim", response_model=ClaimResponse)
async def claim(
    body: ClaimRequest,
    runner: SignedRunner,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """Long poll for work: up to `free_slots` executions, and cancels for held ones."""
    answer = await protocol.claim(
        database,
        settings,
        _notifier(request),
        runner,
        body,
        disconnected=request.is_disconnected,
        stopping=request.app.state.stopping,
    )
    return _signed(answer, settings, runner)


@runner_router.post("/heartbeat", operation_id="runner_heartbeat", response_model=HeartbeatResponse)
async def heartbeat(
    body: HeartbeatRequest, runner: SignedRunner, database: DatabaseDep, settings: SettingsDep
) -> Response:
    return _signed(await protocol.heartbeat(database, settings, runner, body), settings, runner)


@runner_router.post("/events", operation_id="runner_events", response_model=ReportResponse)
async def events(
    body: ReportRequest, runner: SignedRunner, database: DatabaseDep, settings: SettingsDep
) -> Response:
    """Events (and ends) of one or several executions; each item is fenced by its attempt."""
    results = await protocol.report(database, runner, body.items)
    return _signed(ReportResponse(results=results), settings, runner)


@runner_router.post("/complete", operation_id="runner_complete", response_model=ReportResponse)
async def complete(
    body: CompleteRequest, runner: SignedRunner, database: DatabaseDep, settings: SettingsDep
) -> Response:
    """One execution's last events and its end. 409 when this attempt no longer holds it."""
    [result] = await protocol.report(database, runner, [body])
    if result.result == "stale":
        raise StaleAttempt(body.execution_id, body.attempt)
    return _signed(ReportResponse(results=[result]), settings, runner)


@runner_router.post("/release", status_code=204, operation_id="runner_release")
async def release(body: ReleaseRequest, runner: SignedRunner, database: DatabaseDep) -> Response:
    """Hand executions back to the queue at once (the runner is shutting down)."""
    await protocol.release(database, runner, body)
    return Response(status_code=204)


@runner_router.post("/goodbye", status_code=204, operation_id="runner_goodbye")
async def goodbye(body: GoodbyeRequest, runner: SignedRunner, database: DatabaseDep) -> Response:
    """The runner is exiting: it is listed offline at once and its later requests are refused
    (a runner that dies without a goodbye is offline after `runner_offline_after_seconds`)."""
    await protocol.goodbye(database, runner)
    return Response(status_code=204)


@runner_router.post(
    "/subflows", status_code=201, operation_id="runner_start_subflow", response_model=SubflowStarted
)
async def start_subflow(
    body: SubflowRequest, runner: SignedRunner, database: DatabaseDep, settings: SettingsDep
) -> Response:
    started = await protocol.start_subflow(database, runner, body)
    return _signed(started, settings, runner, status=201)


@runner_router.get(
    "/subflows/{execution_id}", operation_id="runner_subflow_state", response_model=SubflowState
)
async def subflow_state(
    execution_id: str,
    runner: SignedRunner,
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    wait_s: Annotated[float, Query(ge=0, le=protocol.MAX_SUBFLOW_WAIT_S)] = 0.0,
) -> Response:
    """The child execution's state; with `wait_s`, answers when it ends or the wait is over."""
    state = await protocol.subflow_state(database, _notifier(request), runner, execution_id, wait_s)
    return _signed(state, settings, runner)


@runner_router.post("/probes/{probe_id}", status_code=204, operation_id="runner_probe_result")
async def probe_result(
    probe_id: str, body: ProbeResult, runner: SignedRunner, database: DatabaseDep
) -> Response:
    """The result of a connection test this runner took with a claim. 404 when the probe is
    not this runner's to answer (another took it, or it expired)."""
    await protocol.record_probe(database, runner, probe_id, body)
    return Response(status_code=204)


@runner_router.post(
    "/connections/{name}/refresh",
    operation_id="runner_refresh_connection",
    response_model=ClaimedConnection,
)
async def refresh_connection(
    name: str,
    body: ConnectionRefreshRequest,
    runner: SignedRunner,
    database: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    """A service refused an OAuth 2 connection's token (401): the connection with a new one,
    or `status` `needs_reconnect` (see `connections.oauth`). 409 for a stale attempt."""
    refreshed = await refresh_for_runner(
        database,
        organization_id=runner.organization_id,
        runner_id=runner.runner_id,
        name=name,
        body=body,
    )
    return _signed(refreshed, settings, runner)


def _signed(
    answer: BaseModel, settings: Any, runner: service.AuthenticatedRunner, *, status: int = 200
) -> Response:
    # Python mode, not JSON mode: the signed bytes are `canonical_json` of the values as they
    # are (JSON mode would rewrite some, e.g. a NaN as null).
    return signed_json(
        answer.model_dump(),
        settings=settings,
        runner_id=runner.runner_id,
        request_nonce=runner.nonce,
        status=status,
    )
