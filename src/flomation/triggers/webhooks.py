"""Webhook ingress: `/hooks/{path}` (a public route; each webhook has its own auth).

The handler never holds a transaction while it waits: it looks the hook up, authenticates it,
requests the execution in one short transaction, and (for `respond: sync`) then waits for the
execution to end, reading its status only when woken: by the executions' change notifications
(this process's after-commit wake-ups; PostgreSQL's NOTIFY from other API processes, forwarded
by the `WorkNotifier`), never by polling. Every end publishes its execution's topic (a runner's
report, maintenance, a cancel), and a lost LISTEN connection wakes every waiter once it is back.
The waiter subscribes before the request's commit, so no end can come before it listens.
The execution is committed before any answer, and a client that hangs up cancels nothing.
The body size limit is the API middleware's (`webhook_max_body_bytes`, 413).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from contextlib import ExitStack
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from flomation.api.bodies import NOT_PARSED, check_value, parse_json, parsed_json_body
from flomation.api.deps import DatabaseDep, SettingsDep
from flomation.api.problems import problem
from flomation.clock import utcnow
from flomation.config import Settings
from flomation.db.session import Database
from flomation.errors import NotFound, Unauthorized
from flomation.executions.notifier import Subscription
from flomation.protocol.statuses import ExecutionStatus
from flomation.secrets.crypto import Keyring
from flomation.triggers import service, signatures
from flomation.triggers.config import WEBHOOK_METHODS, WebhookConfig
from flomation.triggers.schemas import ExecutionState, WebhookTarget

log = logging.getLogger("flomation.webhooks")
router = APIRouter(tags=["webhooks"])

# Headers that carry credentials never reach the flow (nor its stored input, steps and logs):
# the webhook's own auth has used them already. The operator adds more with
# FLOMATION_WEBHOOK_HIDDEN_HEADERS.
HIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "webhook-signature",
        "x-hub-signature",
        "x-hub-signature-256",
    }
)
DEDUPE_HEADERS = ("idempotency-key", "webhook-id", "x-github-delivery")
MAX_DELIVERY_KEY = 200
# Update a webhook's last_fired_at at most this often per trigger, outside the request's
# transaction, so a burst on one hook does not queue on that one row.
_TOUCH_EVERY_S = 1.0
_last_touch: dict[str, float] = {}


def _not_found(path: str) -> NotFound:
    return NotFound(f"No webhook at /hooks/{path}")


async def _authenticate(
    database: Database,
    keyring: Keyring,
    target: WebhookTarget,
    headers: dict[str, str],
    body: bytes,
) -> None:
    config: WebhookConfig = target.config
    auth = config.auth
    if auth is None or (auth.token is None and auth.hmac_secret is None):
        return  # a public webhook, shown as such in the editor
    async with database.transaction() as session:
        token = (
            await service.secret_value(session, target.organization_id, auth.token, keyring=keyring)
            if auth.token
            else None
        )
        hmac_secret = (
            await service.secret_value(
                session, target.organization_id, auth.hmac_secret, keyring=keyring
            )
            if auth.hmac_secret
            else None
        )
    problems: list[str] = []
    if auth.token is not None:
        if token is None:
            problems.append(f"secret {auth.token} is not set")
        else:
            problems.append(signatures.check_bearer(headers, token) or "")
    if auth.hmac_secret is not None:
        if hmac_secret is None:
            problems.append(f"secret {auth.hmac_secret} is not set")
        elif auth.hmac_scheme == "github":
            problems.append(signatures.check_github(headers, body, hmac_secret) or "")
        else:
            problems.append(
                signatures.check_standard(headers, body, hmac_secret, now_s=time.time()) or ""
            )
    reasons = [reason for reason in problems if reason]
    if reasons:
        log.info("webhook %s refused: %s", target.id, "; ".join(reasons))
        raise Unauthorized("The webhook's token or signature is missing or wrong")


def _parse_body(request: Request, body: bytes, settings: Settings) -> Any:
    if not body:
        return None
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        # Parsed and checked once, by the API's body guard, for every JSON request.
        parsed = parsed_json_body(request)
        if parsed is not NOT_PARSED:
            return parsed
        return parse_json(body, max_depth=settings.json_max_depth)
    return body.decode("utf-8", errors="replace")


def _visible_headers(headers: dict[str, str], settings: Settings) -> dict[str, str]:
    hidden = HIDDEN_HEADERS.union(settings.webhook_hidden_headers)
    return {name: value for name, value in headers.items() if name not in hidden}


def _webhook_input(
    request: Request, path: str, headers: dict[str, str], body: bytes, settings: Settings
) -> dict[str, Any]:
    """The execution's input. Checked as a JSON body is (the query and a text body can hold a
    NUL too), so that what the database cannot store is a 400 here, not a failed insert."""
    webhook_input = {
        "method": request.method,
        "path": path,
        "query": _query(request),
        "headers": _visible_headers(headers, settings),
        "body": _parse_body(request, body, settings),
    }
    # One level more than a body may have: the body sits inside the input.
    check_value(
        webhook_input,
        max_depth=settings.json_max_depth + 1,
        subject="The webhook's input",
        loc_root=(),
    )
    return webhook_input


def _query(request: Request) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        query[key] = values[0] if len(values) == 1 else values
    return query


def _dedupe_key(trigger_id: str, config: WebhookConfig, headers: dict[str, str]) -> str | None:
    """The delivery's own id, so a retried delivery answers the first execution again. With
    Standard Webhooks signing, the signed `webhook-id` wins: an unsigned Idempotency-Key must
    not let a replayed message through as a new one."""
    auth = config.auth
    signed_id = auth is not None and auth.hmac_secret and auth.hmac_scheme == "standard-webhooks"
    names = ("webhook-id",) if signed_id else DEDUPE_HEADERS
    for name in names:
        value = headers.get(name, "").strip()
        if value:
            if len(value) > MAX_DELIVERY_KEY or not value.isprintable():
                value = "sha256:" + hashlib.sha256(value.encode()).hexdigest()
            return f"webhook:{trigger_id}:{value}"
    return None


async def _touch(database: Database, trigger_id: str) -> None:
    now = time.monotonic()
    if now - _last_touch.get(trigger_id, 0.0) < _TOUCH_EVERY_S:
        return
    _last_touch[trigger_id] = now
    try:
        async with database.transaction() as session:
            await service.record_webhook_fired(session, trigger_id, utcnow())
    except Exception:  # best effort: the execution is already committed
        log.warning("could not record last_fired_at of webhook %s", trigger_id, exc_info=True)


async def wait_for_end(
    database: Database,
    organization_id: str,
    execution_id: str,
    timeout_s: float,
    changes: Subscription,
    *,
    look_first: bool,
) -> ExecutionState | None:
    """Wait for the execution to end, reading its status only when `changes` (subscribed
    before the execution's request committed) brings a publication newer than those it held
    on entry (the request's own), and once more when `timeout_s` is over; None when it has not
    ended by then. `look_first`: read before the first wait (the execution existed before the
    subscription: a repeated delivery's)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    seen = changes.published()
    look = look_first
    while True:
        remaining = deadline - loop.time()
        if look or remaining <= 0:
            async with database.statements() as session:
                status = await service.execution_status(
                    session, organization_id=organization_id, execution_id=execution_id
                )
            if status.ended:
                return status
            if remaining <= 0:
                return None
        woken = await changes.wait(remaining)
        # Read the stamp before the status: a change published during the read wakes again.
        latest = changes.published()
        look = woken and latest > seen
        seen = max(seen, latest)


def sync_answer(status: ExecutionState | None, execution_id: str) -> Response:
    if status is None:
        return JSONResponse({"execution_id": execution_id}, status_code=202)
    if status.status == ExecutionStatus.SUCCEEDED:
        return JSONResponse(status.output, status_code=200)
    message = (status.error or {}).get("message") if isinstance(status.error, dict) else None
    return problem(
        502,
        "Flow failed",
        message or f"The execution ended {status.status}",
        type_slug="flow-failed",
        extra={
            "execution_id": execution_id,
            "execution_status": status.status,
            "error": status.error,
        },
    )


async def call_webhook(
    path: str, request: Request, database: DatabaseDep, settings: SettingsDep
) -> Response:
    path = path.strip("/")
    body = await request.body()
    # Lone reads go statement by statement (no BEGIN and COMMIT round trips on PostgreSQL).
    async with database.statements() as session:
        target = await service.find_webhook(session, path) if path else None
    if target is None or not target.enabled:
        raise _not_found(path)
    config: WebhookConfig = target.config
    if request.method != config.method:
        raise HTTPException(405, headers={"Allow": config.method})
    headers = {key.lower(): value for key, value in request.headers.items()}
    await _authenticate(database, Keyring.from_settings(settings), target, headers, body)
    webhook_input = _webhook_input(request, path, headers, body, settings)
    with ExitStack() as watching:
        changes: Subscription | None = None
        async with database.transaction() as session:
            started = await service.start_execution(
                session,
                organization_id=target.organization_id,
                flow_id=target.flow_id,
                trigger={"type": "webhook", "id": target.id, "path": path},
                input=webhook_input,
                dedupe_key=_dedupe_key(target.id, config, headers),
                savepoint=False,  # the request is all this transaction holds
            )
            if config.respond == "sync":
                # Before the commit: the execution cannot end before its waiter listens.
                changes = watching.enter_context(service.watch_execution(started.execution_id))
        await _touch(database, target.id)
        if changes is not None:
            status = await wait_for_end(
                database,
                target.organization_id,
                started.execution_id,
                config.sync_timeout_s,
                changes,
                look_first=not started.created,
            )
            return sync_answer(status, started.execution_id)
    return JSONResponse({"execution_id": started.execution_id}, status_code=202)


# One route per method, each with its own OpenAPI operation id.
for _method in WEBHOOK_METHODS:
    router.add_api_route(
        "/hooks/{path:path}",
        call_webhook,
        methods=[_method],
        operation_id=f"call_webhook_{_method.lower()}",
        responses={202: {"description": "accepted: {execution_id}"}},
    )
