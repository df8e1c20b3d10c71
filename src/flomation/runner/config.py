"""The runner's settings: `FLOMATION_RUNNER_*` environment variables, overridden by flags."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_LABEL = re.compile(r"^[A-Za-z0-9_.\-/]{1,63}$")


def parse_labels(value: str) -> dict[str, str]:
    """`k=v,k2=v2` as given to `--labels`."""
    labels: dict[str, str] = {}
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, item = part.partition("=")
        key, item = key.strip(), item.strip()
        if not sep or not _LABEL.match(key):
            raise ValueError(f"label {part!r} is not key=value (key: letters, digits, _.-/)")
        if key in labels and labels[key] != item:
            raise ValueError(f"label {key!r} is given twice with different values")
        labels[key] = item
    return labels


class RunnerSettings(BaseSettings):
    """One runner process's settings. Units are in the names."""

    model_config = SettingsConfigDict(env_prefix="FLOMATION_RUNNER_", extra="ignore")

    api: str = Field(description="The API's base URL, e.g. https://flomation.example.com")
    token: SecretStr = Field(description="A runner token (flo_r_...)")
    name: str = Field(default_factory=socket.gethostname, min_length=1, max_length=200)
    labels: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    max_concurrent_executors: int = Field(default=4, ge=1, le=1000)
    api_public_key: str | None = None
    secrets_file: Path | None = None
    ca_cert: Path | None = None
    allow_unisolated_code: bool = False
    sandbox_user: str = "nobody"
    # The interpreter user code runs with: the sandbox user must be able to read it (a Python
    # installed under /root is out of its reach). None: the code runner picks the first of this
    # interpreter, /usr/bin/python3, /usr/local/bin/python3 whose standard library it can read.
    code_python: str | None = None
    egress_policy: Literal["self_hosted", "shared_cloud"] = "self_hosted"
    egress_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)

    log_level: str = "INFO"
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    request_timeout_s: float = Field(default=30.0, gt=0)
    # Events are sent in batches: whichever comes first, this interval or this many events.
    event_flush_interval_ms: float = Field(default=50.0, gt=0)
    event_batch_max: int = Field(default=500, ge=1)
    # How long one claim may wait on the API for work (the API bounds it too); None: its own.
    claim_wait_s: float | None = Field(default=None, ge=0)
    backoff_initial_s: float = Field(default=0.2, gt=0)
    backoff_max_s: float = Field(default=15.0, gt=0)
    # How often a waiting subflow node asks for its child's state (long poll, bounded).
    subflow_poll_s: float = Field(default=20.0, gt=0)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: object) -> object:
        return parse_labels(value) if isinstance(value, str) else value

    @field_validator("egress_allow", mode="before")
    @classmethod
    def _ranges(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("api")
    @classmethod
    def _api(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("the API URL must start with http:// or https://")
        return value.rstrip("/")
