"""One place that renders every error as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from flomation.errors import FlomationError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("flomation.api")


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
        titles = {404: "Not found", 405: "Method not allowed"}
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

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None)
        log.exception("unhandled error (request %s)", request_id)
        return problem(
            500,
            "Internal error",
            f"An unexpected error occurred; quote request id {request_id} when reporting it",
            type_slug="internal",
        )
