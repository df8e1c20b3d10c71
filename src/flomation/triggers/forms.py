"""Form ingress: `GET /forms/{path}` serves a form trigger's page, `POST /forms/{path}` takes a
submission (a public route, like a public webhook: anyone with the URL may submit).

A submission is form-encoded (a browser: answered with HTML, the page again with its field
errors) or JSON (an API client: answered with JSON, 422 problem+json with `errors`). Every
submission is counted in the trigger's state: accepted (`events_total`) or rejected
(`rejected_total`); an accepted one starts its execution in the same transaction as its count,
before the answer. `respond: sync` waits for the flow's output as a sync webhook does.

Cross-site posts: the route reads no cookie, session or other ambient credential, so a
submission made from another site can do nothing a visitor could not do by opening the form
themselves; a CSRF token would protect nothing. The page instead carries a per-render
submission id (hidden field) used as the execution's dedupe key, so a double click or a
reload after posting starts no second execution (JSON clients may send `Idempotency-Key`).
The page is self-contained and served with a strict CSP (no scripts, its one style by nonce,
posts only to itself, never framed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from contextlib import ExitStack
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from flomation.api.bodies import NOT_PARSED, JsonBodyRejected, parse_json, parsed_json_body
from flomation.api.deps import DatabaseDep, SettingsDep
from flomation.api.problems import problem
from flomation.clock import utcnow
from flomation.db.session import Database
from flomation.errors import Conflict, NotFound, ValidationFailed
from flomation.executions.notifier import Subscription
from flomation.protocol.statuses import ExecutionStatus
from flomation.triggers import service
from flomation.triggers.config import FormConfig
from flomation.triggers.form_page import (
    Checked,
    check_form_encoded,
    check_json,
    parse_form_encoded,
    render_done,
    render_form,
)
from flomation.triggers.schemas import ExecutionState, WebhookTarget
from flomation.triggers.webhooks import MAX_DELIVERY_KEY, sync_answer, wait_for_end

log = logging.getLogger("flomation.forms")
router = APIRouter(tags=["forms"])

# A form's fields are small: more than this is refused (413) before it is parsed.
FORM_MAX_BODY_BYTES = 64 * 1024
_FORM_TYPE = "application/x-www-form-urlencoded"


def _headers(nonce: str) -> dict[str, str]:
    csp = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Frame-Options": "DENY",
    }


def _html(body: str, nonce: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=_headers(nonce))


async def _target(database: Database, path: str) -> WebhookTarget:
    path = path.strip("/")
    # A lone read goes statement by statement (no BEGIN and COMMIT round trips).
    async with database.statements() as session:
        target = await service.find_form(session, path) if path else None
    if target is None or not target.enabled:
        raise NotFound(f"No form at /forms/{path[:300]}")
    return target


async def show_form(path: str, database: DatabaseDep) -> HTMLResponse:
    target = await _target(database, path)
    nonce = secrets.token_urlsafe(16)
    return _html(render_form(target.config, nonce=nonce), nonce)


async def _count(database: Database, trigger_id: str, *, rejected: bool) -> None:
    try:
        async with database.transaction() as session:
            await service.record_event(session, trigger_id, utcnow(), rejected=rejected)
    except Exception:  # best effort: the answer does not depend on the count
        log.warning("could not count a rejected submission of form %s", trigger_id, exc_info=True)


def _rejected_json(checked: Checked) -> Response:
    errors = [
        {"loc": ["body", name] if name else ["body"], "msg": message}
        for name, message in checked.errors.items()
    ]
    return problem(
        422,
        "Validation failed",
        "The submission does not match the form's fields",
        type_slug="validation",
        errors=errors,
    )


def _shown_output(output: Any) -> str | None:
    if output is None:
        return None
    if isinstance(output, str):
        return output
    return json.dumps(output, indent=2, ensure_ascii=False)


def _answer_browser(config: FormConfig, status: ExecutionState | None) -> HTMLResponse:
    """Thanks; with `respond: sync`, the flow's output, or a 502 page when it failed (its
    error stays with the flow's owners). Past the sync timeout (None): thanks."""
    nonce = secrets.token_urlsafe(16)
    thanks = "Thank you. Your response was received."
    if status is not None and status.status != ExecutionStatus.SUCCEEDED:
        page = render_done(
            config, nonce=nonce, message="Sorry, your response could not be handled.", output=None
        )
        return _html(page, nonce, status_code=502)
    output = _shown_output(status.output) if status is not None else None
    return _html(render_done(config, nonce=nonce, message=thanks, output=output), nonce)


def _flow_field_errors(exc: ValidationFailed) -> dict[str, str]:
    """The start node's refusal, by field: its errors are located under the input
    (`["body", "input", <field>, ...]`), which is the form's fields."""
    errors: dict[str, str] = {}
    for item in exc.errors or []:
        loc = [str(part) for part in item.get("loc") or []]
        rest = loc[2:] if loc[:2] == ["body", "input"] else loc[1:]
        errors.setdefault(rest[0] if rest else "", str(item.get("msg") or "is not accepted"))
    return errors or {"": exc.detail}


def _idempotency_key(request: Request) -> str | None:
    """A JSON client's own dedupe key (`Idempotency-Key`), hashed when long or odd."""
    value = request.headers.get("idempotency-key", "").strip()
    if not value:
        return None
    if len(value) > MAX_DELIVERY_KEY or not value.isprintable():
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    return value


async def submit_form(
    path: str, request: Request, database: DatabaseDep, settings: SettingsDep
) -> Response:
    target = await _target(database, path)
    config: FormConfig = target.config
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    browser = content_type == _FORM_TYPE
    if not browser and not (content_type == "application/json" or content_type.endswith("+json")):
        return problem(
            415,
            "Unsupported media type",
            f"Post the form as {_FORM_TYPE} or application/json",
            type_slug="unsupported-media-type",
        )
    body = await request.body()
    if len(body) > FORM_MAX_BODY_BYTES:
        await _count(database, target.id, rejected=True)
        return problem(
            413,
            "Payload too large",
            f"A form submission is at most {FORM_MAX_BODY_BYTES} bytes",
            type_slug="payload-too-large",
        )
    posted: dict[str, str] = {}
    if browser:
        posted, encoding_errors = parse_form_encoded(body)
        checked = check_form_encoded(config, dict(posted))
        checked.errors = {**encoding_errors, **checked.errors}
        if encoding_errors:
            checked.values = {}
    else:
        parsed = parsed_json_body(request)
        if parsed is NOT_PARSED:
            try:
                parsed = parse_json(body, max_depth=settings.json_max_depth) if body else None
            except JsonBodyRejected:
                await _count(database, target.id, rejected=True)
                raise
        checked = check_json(config, parsed)
        checked.submission = _idempotency_key(request)
    if checked.errors:
        await _count(database, target.id, rejected=True)
        if not browser:
            return _rejected_json(checked)
        nonce = secrets.token_urlsafe(16)
        page = render_form(config, nonce=nonce, values=posted, errors=checked.errors)
        return _html(page, nonce, status_code=422)
    dedupe = f"form:{target.id}:{checked.submission}" if checked.submission else None
    with ExitStack() as watching:
        changes: Subscription | None = None
        try:
            async with database.transaction() as session:
                started = await service.start_execution(
                    session,
                    organization_id=target.organization_id,
                    flow_id=target.flow_id,
                    trigger={"type": "form", "id": target.id, "path": config.path},
                    input=checked.values,
                    dedupe_key=dedupe,
                )
                if started.created:
                    await service.record_event(session, target.id, utcnow(), rejected=False)
                if config.respond == "sync":
                    # Before the commit, as a sync webhook: it cannot end before we listen.
                    changes = watching.enter_context(service.watch_execution(started.execution_id))
        except (ValidationFailed, Conflict) as exc:
            # The flow refused it (its start node's input_schema, or it is archived): still
            # an event of this form, counted as rejected.
            await _count(database, target.id, rejected=True)
            if isinstance(exc, Conflict):
                raise
            refused = Checked(values={}, errors=_flow_field_errors(exc))
            if not browser:
                return _rejected_json(refused)
            nonce = secrets.token_urlsafe(16)
            page = render_form(config, nonce=nonce, values=posted, errors=refused.errors)
            return _html(page, nonce, status_code=422)
        status: ExecutionState | None = None
        if changes is not None:
            status = await wait_for_end(
                database,
                target.organization_id,
                started.execution_id,
                config.sync_timeout_s,
                changes,
                look_first=not started.created,
            )
    if browser:
        return _answer_browser(config, status)
    if changes is not None:
        return sync_answer(status, started.execution_id)
    return JSONResponse({"execution_id": started.execution_id}, status_code=202)


router.add_api_route(
    "/forms/{path:path}",
    show_form,
    methods=["GET"],
    operation_id="show_form",
    response_class=HTMLResponse,
    responses={200: {"description": "the form's HTML page", "content": {"text/html": {}}}},
)
router.add_api_route(
    "/forms/{path:path}",
    submit_form,
    methods=["POST"],
    operation_id="submit_form",
    responses={
        202: {"description": "accepted (JSON clients): {execution_id}"},
        200: {"description": "HTML thank-you page, or the flow's output (respond: sync)"},
    },
)
