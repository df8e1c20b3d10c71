"""One place that renders every error as RFC 9457 problem+json."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from flomation.api.asgi import TrackedSend
from flomation.api.openapi import component_ref
from flomation.errors import FlomationError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("flomation.api")


class ProblemError(BaseModel):
    """One cause of a problem: where (`loc`, as a path into the request) and what."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    node_id: str | None = Field(default=None, description="The node, in a flow definition")
    field: str | None = Field(default=None, description="The node's config field")


class Problem(BaseModel):
    """An error answer (RFC 9457 problem+json), as `problem` renders it. Some errors add
    fields of their own (a save refused as stale carries `current_revision`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="https://flomation.dev/problems/<slug>")
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


# Every route may answer these (the app gives them to all its routes). The body is described
# as a reference rather than a `model`, which FastAPI would file under `application/json`; the
# app adds `Problem` to the components (`flomation.api.openapi.document_components`).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": component_ref("Problem")}},
    }
    for code, description in (
        ("4XX", "The request cannot be served as it is"),
        ("5XX", "The server failed"),
    )
}


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_slug: str,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://flomation.dev/problems/{type_slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> tuple[int, str, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    malformed = False
    for item in exc.errors():
        if item.get("type") == "json_invalid":
            malformed = True
        errors.append({"loc": list(item.get("loc", ())), "msg": str(item.get("msg", ""))})
    if malformed:
        return 400, "The request body is not valid JSON", errors
    return 422, "The request does not match the expected shape", errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(FlomationError)
    async def _flomation_error(request: Request, exc: FlomationError) -> JSONResponse:
        if exc.status >= 500:
            log.error("internal error: %s", exc.detail)
        headers = None
        retry_after = getattr(exc, "retry_after_s", None)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            type_slug=exc.type_slug,
            errors=exc.errors,
            extra=exc.extra,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, detail, errors = _validation_errors(exc)
        slug = "malformed-json" if status == 400 else "validation"
        title = "Malformed JSON" if status == 400 else "Validation failed"
        return problem(status, title, detail, type_slug=slug, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 408: "Request timeout"}
        title = titles.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        if exc.status_code == 404:
            detail = f"No resource at {request.url.path}"
        return problem(
            exc.status_code,
            title,
            detail,
            type_slug=title.lower().replace(" ", "-"),
            headers=getattr(exc, "headers", None),
        )


# Modules whose exceptions describe a database error: their text may quote the statement or the
# values it was given (a driver's "invalid input for query argument $1: '...'"), so only their
# class and error code are logged.
_DATABASE_MODULES = frozenset({"sqlalchemy", "asyncpg", "sqlite3", "aiosqlite"})


def _describe(error: BaseException) -> str:
    if type(error).__module__.split(".", 1)[0] not in _DATABASE_MODULES:
        return "".join(traceback.format_exception_only(error)).rstrip()
    code = None
    for source in (error, getattr(error, "orig", None)):
        for name in ("sqlstate", "pgcode", "sqlite_errorname"):
            code = code or getattr(source, name, None)
    constraint = getattr(error, "constraint_name", None)
    described = f"{type(error).__module__}.{type(error).__qualname__}"
    if code:
        described += f" (code {code})"
    if constraint:
        described += f" (constraint {constraint})"
    return described + " [message withheld: it may quote the statement or its values]"


def loggable_traceback(error: BaseException) -> str:
    """The traceback of `error` and its causes, as Python prints it, except that database
    errors are named by class and code only. Frames show code lines, never values."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts: list[str] = []
    for position, item in enumerate(reversed(chain)):
        if position:
            parts.append("\nThe above exception led to the following exception:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        parts.append(_describe(item) + "\n")
    return "".join(parts).rstrip()


class UnexpectedErrorMiddleware:
    """Answers 500 problem+json for any exception nothing else handled, and logs it once, with
    database errors stripped of their statement and values (`loggable_traceback`).

    A middleware rather than an `Exception` handler: Starlette hands those to its outermost
    layer, which answers and then raises the exception again for the server to log, and uvicorn
    logs it in full, SQL and all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            request_id = (scope.get("state") or {}).get("request_id")
            log.error("unhandled error (request %s)\n%s", request_id, loggable_traceback(exc))
            if tracked.started:
                return
            response = problem(
                500,
                "Internal error",
                f"An unexpected error occurred; quote request id {request_id} when reporting it",
                type_slug="internal",
            )
            await response(scope, receive, send)
