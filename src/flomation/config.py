"""Settings, read from `FLOMATION_*` environment variables (and flags that override them).

One settings class for the control plane (API, Launch, `flomation up`); the runner has its own
in `flomation.runner.config` because it never sees the database or the secret key.
"""

from __future__ import annotations

import base64
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flomation.errors import ConfigurationError

SECRET_KEY_FILE = "secret.key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOMATION_", extra="ignore")

    data_dir: Path = Path(".flomation")
    database_url: str | None = None
    secret_key: str | None = None
    secret_key_previous: str | None = None

    host: str = "127.0.0.1"
    port: int = 8080
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # API processes serving one port (`flomation api --workers N`, PostgreSQL only).
    api_workers: int = Field(default=1, ge=1, le=64)
    # PostgreSQL connections each API process keeps open, and how many more it may open for a
    # burst (closed again when returned). The kept ones must cover ordinary concurrency: under
    # a steady load of a few clients and runners one API process uses 12-14 at once, and with
    # 10 kept it opened and closed 2 connections a second, each a server process started and
    # the codecs set up again.
    database_pool_size: int = Field(default=20, ge=1, le=1000)
    database_max_overflow: int = Field(default=10, ge=0, le=1000)
    public_url: str | None = None
    editor_dir: Path | None = None
    allowed_origins: list[str] = Field(default_factory=list)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto the API believes (addresses or
    # networks, comma-separated). Empty: none, so the client address is always the connection's
    # peer; trusting loopback by default would let any local client pick its own address and
    # step around the login throttle.
    trusted_proxies: str = ""

    admin_email: str | None = None
    admin_password: str | None = None
    signup: Literal["open", "closed"] = "closed"

    session_ttl_seconds: int = 7 * 24 * 3600
    # Failed logins (`flomation.auth.throttle`). Each (account, client address) pair has
    # `login_free_failures` tries, then waits that double from `login_delay_base_seconds` up to
    # `login_delay_max_seconds`; its failures count for `login_pair_window_seconds`. Never a
    # lock of the account: the same account from another address is not slowed. One address
    # failing on `login_address_max_accounts` accounts within `login_window_seconds` (spraying)
    # is refused until the oldest of those failures ages out.
    login_free_failures: int = Field(default=5, ge=1)
    login_delay_base_seconds: float = Field(default=1.0, gt=0)
    login_delay_max_seconds: float = Field(default=900.0, gt=0)
    login_pair_window_seconds: int = Field(default=3600, ge=1)
    login_address_max_accounts: int = Field(default=10, ge=1)
    login_window_seconds: int = Field(default=300, ge=1)
    max_body_bytes: int = 10 * 1024 * 1024
    webhook_max_body_bytes: int = 1024 * 1024
    # Request bodies (`flomation.api.bodies`, `flomation.api.middleware`): JSON nested deeper
    # than this is refused (400); a body must arrive whole within `body_read_timeout_s`, with no
    # gap between chunks longer than `body_read_idle_timeout_s` (else 408).
    json_max_depth: int = Field(default=64, ge=1, le=256)
    body_read_timeout_s: float = Field(default=30.0, gt=0)
    body_read_idle_timeout_s: float = Field(default=10.0, gt=0)
    # Request headers hidden from webhook input beyond the built-in credential headers
    # (`flomation.triggers.webhooks.HIDDEN_HEADERS`), comma-separated, any case.
    webhook_hidden_headers: Annotated[list[str], NoDecode] = Field(default_factory=list)

    lease_seconds: float = 60.0
    max_attempts: int = 3
    claim_wait_seconds: float = 25.0
    # A runner silent this long is listed offline (its heartbeats come thrice as often); one
    # that exits cleanly says goodbye and is offline at once.
    runner_offline_after_seconds: float = 30.0
    signature_max_skew_seconds: float = 300.0
    execution_retention_days: int = 30
    execution_timeout_margin_seconds: float = 30.0
    maintenance_interval_seconds: float = 5.0

    trigger_lease_seconds: float = 120.0
    trigger_claim_interval_seconds: float = 5.0
    # Launch's egress policy for event triggers (Git, S3 and any to come), the runners' presets
    # (`flomation.engine.egress`). None: `shared_cloud` when sign-up is open (tenants of a SaaS
    # must not reach the control plane's own network), `self_hosted` otherwise.
    launch_egress_policy: Literal["self_hosted", "shared_cloud"] | None = None
    launch_egress_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Git triggers on local repositories (file://) read this host's disk as Launch's user (often
    # root): refused unless the operator allows them (tests, single-machine use).
    launch_allow_local_git: bool = False
    metrics_token: str | None = None
    log_level: str = "INFO"

    @field_validator("launch_egress_allow", mode="before")
    @classmethod
    def _split_ranges(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("webhook_hidden_headers", mode="before")
    @classmethod
    def _split_headers(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().lower() for item in value.split(",") if item.strip()]
        if isinstance(value, list):
            return [str(item).strip().lower() for item in value if str(item).strip()]
        return value

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL, with the async driver the product picks for each database."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'flomation.db').resolve()}"
        return to_async_url(url)

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def secret_key_bytes(self) -> bytes:
        """The 32-byte key for secrets and signing; generated and kept in embedded mode."""
        key = self.secret_key
        if key is None:
            if not self.is_sqlite:
                raise ConfigurationError(
                    "FLOMATION_SECRET_KEY is required with PostgreSQL: set it to 32 random bytes "
                    "in URL-safe base64 (python -c 'import secrets,base64;"
                    "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')"
                )
            key = _embedded_secret_key(self.data_dir)
        return decode_key(key, "FLOMATION_SECRET_KEY")

    def previous_secret_key_bytes(self) -> bytes | None:
        if self.secret_key_previous is None:
            return None
        return decode_key(self.secret_key_previous, "FLOMATION_SECRET_KEY_PREVIOUS")


def decode_key(value: str, name: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not URL-safe base64") from exc
    if len(raw) != 32:
        raise ConfigurationError(f"{name} must decode to 32 bytes, it decodes to {len(raw)}")
    return raw


def _embedded_secret_key(data_dir: Path) -> str:
    """Read the key kept in the data directory, creating it (mode 0600) on first use."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def to_async_url(url: str) -> str:
    """Map a plain `postgresql://` or `sqlite:///` URL to the async driver we ship."""
    for prefix in (
        "postgresql://",
        "postgres://",
        "postgresql+psycopg://",
        "postgresql+asyncpg://",
    ):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///") or url.startswith("sqlite+aiosqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    scheme = url.split(":", 1)[0]
    raise ConfigurationError(
        f"FLOMATION_DATABASE_URL must start with postgresql:// or sqlite:///, got {scheme}:"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
