"""The runner's settings: `FLOMATION_RUNNER_*` environment variables, overridden by flags."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flomation.engine.isolation import IsolationSettings
from flomation.engine.isolation.limits import Ceilings

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


def parse_uid_range(value: str) -> tuple[int, int]:
    """`first-last` as given to FLOMATION_RUNNER_CODE_UID_RANGE."""
    first, sep, last = value.partition("-")
    try:
        if not sep:
            raise ValueError
        low, high = int(first), int(last)
    except ValueError:
        raise ValueError(f"uid range {value!r} is not first-last (e.g. 2000000-2000999)") from None
    if not 0 < low <= high:
        raise ValueError(f"uid range {value!r} must have 1 <= first <= last")
    return low, high


def _uid_range_setting(value: str) -> tuple[int, int] | Literal["auto"] | None:
    if value == "auto":
        return "auto"
    return None if value == "off" else parse_uid_range(value)


class RunnerSettings(BaseSettings):
    """One runner process's settings. Units are in the names."""

    model_config = SettingsConfigDict(env_prefix="FLOMATION_RUNNER_", extra="ignore")

    api: str = Field(description="The API's base URL, e.g. https://flomation.example.com")
    # From FLOMATION_RUNNER_TOKEN or read from `token_file`: a token on the command line is
    # visible to every process of the host in /proc/<pid>/cmdline.
    token: SecretStr = Field(description="A runner token (flo_r_...)")
    token_file: Path | None = None
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
    # The code sandbox (bubblewrap): "auto" uses it where it works and otherwise says in the
    # startup log what is not isolated; "require" refuses python/shell nodes without it.
    code_sandbox: Literal["auto", "require", "off"] = "auto"
    # Whether python/shell code may use the network. None: not on a shared_cloud runner (its
    # egress policy must hold for code, which could otherwise open any socket), yes on a
    # self-hosted one.
    code_network: bool | None = None
    # Root runners only. "auto": each run gets a uid of its own from 2000000-2000999 where the
    # host maps those uids and no account has one (runs then share no process limit), else
    # `sandbox_user`; "first-last": that range (unused on the host); "off": `sandbox_user`.
    code_uid_range: str = "auto"
    # Where runs' working directories are made without the sandbox (default: the system's
    # temporary directory); sandboxed runs have theirs in memory.
    code_work_root: Path | None = None
    # Ceilings no flow can raise: a node's larger limits are lowered to these.
    code_max_memory_mb: int = Field(default=1024, ge=32)
    code_max_timeout_s: float = Field(default=900.0, gt=0)
    code_max_cpu_s: int = Field(default=900, ge=1)
    code_max_output_bytes: int = Field(default=10_000_000, ge=1024)
    code_max_disk_mb: int = Field(default=256, ge=1)
    # Sandboxed python interpreters kept started ahead of their runs (each used by one run
    # only): a python node takes one instead of waiting for an interpreter to start. 0: none.
    code_spares: int = Field(default=2, ge=0, le=16)
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

    @model_validator(mode="before")
    @classmethod
    def _token_from_file(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        if values.get("token_file") in (None, ""):
            if values.get("token") in (None, ""):
                raise ValueError(
                    "a runner token is required: set FLOMATION_RUNNER_TOKEN or give --token-file"
                )
            return values
        if values.get("token") not in (None, ""):
            raise ValueError("give the runner token or a token file, not both")
        path = Path(values["token_file"])
        try:
            token = path.read_text().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the token file {str(path)!r}: {exc.strerror}") from exc
        if not token:
            raise ValueError(f"the token file {str(path)!r} is empty")
        return {**values, "token": token}

    @field_validator("code_uid_range")
    @classmethod
    def _uid_range(cls, value: str) -> str:
        if value not in ("auto", "off"):
            parse_uid_range(value)
        return value

    @property
    def code_may_use_network(self) -> bool:
        if self.code_network is not None:
            return self.code_network
        return self.egress_policy != "shared_cloud"

    def isolation_settings(self) -> IsolationSettings:
        """How the code runner isolates python and shell code on this runner."""
        return IsolationSettings(
            sandbox_user=self.sandbox_user,
            allow_unisolated=self.allow_unisolated_code,
            uid_range=_uid_range_setting(self.code_uid_range),
            isolate_network=not self.code_may_use_network,
            work_root=str(self.code_work_root) if self.code_work_root else None,
            python_executable=self.code_python,
            sandbox=self.code_sandbox,
            hidden_paths=tuple(
                str(path) for path in (self.token_file, self.secrets_file) if path is not None
            ),
            ceilings=Ceilings(
                memory_mb=self.code_max_memory_mb,
                timeout_s=self.code_max_timeout_s,
                cpu_s=self.code_max_cpu_s,
                output_bytes=self.code_max_output_bytes,
                disk_mb=self.code_max_disk_mb,
            ),
            spares=self.code_spares,
        )

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
