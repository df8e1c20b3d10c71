"""The error tree. Every error a user can cause maps to one problem+json answer.

Services raise these; the API renders them in one handler (`flomation.api.problems`). Each
carries what the caller needs to fix the cause.
"""

from __future__ import annotations

from typing import Any


class FlomationError(Exception):
    """Base of every error the product raises on purpose."""

    status: int = 500
    title: str = "Internal error"
    type_slug: str = "internal"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra or {}


class ConfigurationError(FlomationError):
    title = "Configuration error"
    type_slug = "configuration"


class BadRequest(FlomationError):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"


class ValidationFailed(FlomationError):
    status = 422
    title = "Validation failed"
    type_slug = "validation"


class Unauthorized(FlomationError):
    status = 401
    title = "Unauthorized"
    type_slug = "unauthorized"


class Forbidden(FlomationError):
    status = 403
    title = "Forbidden"
    type_slug = "forbidden"


class NotFound(FlomationError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(FlomationError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class PayloadTooLarge(FlomationError):
    status = 413
    title = "Payload too large"
    type_slug = "payload-too-large"


class TooManyRequests(FlomationError):
    status = 429
    title = "Too many requests"
    type_slug = "too-many-requests"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(FlomationError):
    status = 503
    title = "Service unavailable"
    type_slug = "unavailable"
