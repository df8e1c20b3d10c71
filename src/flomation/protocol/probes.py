"""Connection tests run on runners: a claim answer carries the probes a runner may run, and the
runner posts each result back on a signed route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flomation.protocol.base import Strict

MAX_PROBE_MESSAGE = 2000


class ProbeRequest(BaseModel):
    """Test connection `connection` (its type and decrypted values) within `timeout_s`."""

    id: str
    connection: str
    type: str
    values: dict[str, Any]
    timeout_s: float = Field(gt=0)
    imported_service: dict[str, Any] | None = Field(
        default=None,
        description="For a connection of an imported OpenAPI type: the service, as stored",
    )


class ProbeResult(Strict):
    """What the probe said: `ok` and a short message for the user (masked of the values)."""

    ok: bool
    message: str = Field(max_length=MAX_PROBE_MESSAGE)
    duration_ms: int = Field(ge=0)
