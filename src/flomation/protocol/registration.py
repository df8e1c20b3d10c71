"""A runner's registration: the first call, signed with the key it registers."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from flomation.protocol.base import Strict, check_labels


class RegisterRequest(Strict):
    token: str | None = Field(
        default=None, description="The runner token (or send it as 'Authorization: Bearer')"
    )
    name: str = Field(min_length=1, max_length=200)
    labels: dict[str, str] = Field(default_factory=dict)
    max_concurrent_executors: int = Field(ge=1, le=1000)
    public_key: str = Field(min_length=40, max_length=64, description="Ed25519, base64")
    version: str = Field(min_length=1, max_length=64)

    _labels = field_validator("labels")(check_labels)


class RegisterResponse(BaseModel):
    runner_id: str
    organization_id: str
    name: str
    labels: dict[str, str]
    api_public_key: str
    lease_seconds: float
    heartbeat_interval_s: float
    claim_wait_seconds: float
    signature_max_skew_seconds: float
    max_subflow_depth: int
