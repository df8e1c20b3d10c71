"""Each trigger type's configuration, validated with Pydantic (unknown fields refused).

`parse_config(type, raw)` is the one entry point: it returns the typed config or raises
`ValidationFailed` with every problem located under `["body", "config", ...]`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flomation.errors import ValidationFailed

TriggerType = Literal[
    "schedule",
    "webhook",
    "s3",
    "git",
    "form",
    "amqp",
    "redis_stream",
    "postgres_notify",
    "nats",
    "mqtt",
]
TRIGGER_TYPES: tuple[str, ...] = (
    "schedule",
    "webhook",
    "s3",
    "git",
    "form",
    "amqp",
    "redis_stream",
    "postgres_notify",
    "nats",
    "mqtt",
)

SECRET_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
SecretName = Annotated[str, Field(pattern=SECRET_NAME)]

# A webhook path: one or more segments of RFC 3986 unreserved characters.
_SEGMENT = r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*"
WEBHOOK_PATH = re.compile(rf"^{_SEGMENT}(/{_SEGMENT})*$")
WEBHOOK_PATH_MAX = 300
WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScheduleConfig(_Config):
    cron: str
    timezone: str = "UTC"
    catch_up: Literal["none", "one", "all"] = "none"
    overlap: Literal["allow", "skip", "queue"] = "allow"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        value = " ".join(value.split())
        fields = len(value.split(" ")) if value else 0
        if fields not in (5, 6):
            raise ValueError(
                f"a cron expression has 5 fields (minute hour day month weekday) or 6 with "
                f"seconds first; this one has {fields}"
            )
        if not croniter.is_valid(value, second_at_beginning=fields == 6):
            raise ValueError(f"'{value}' is not a valid cron expression")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone '{value}'; use an IANA name such as 'Europe/Berlin'"
            ) from exc
        return value

    @property
    def has_seconds(self) -> bool:
        return len(self.cron.split(" ")) == 6


class WebhookAuth(_Config):
    hmac_secret: SecretName | None = None
    hmac_scheme: Literal["standard-webhooks", "github"] = "standard-webhooks"
    token: SecretName | None = None


class WebhookConfig(_Config):
    path: str
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    auth: WebhookAuth | None = None
    respond: Literal["async", "sync"] = "async"
    sync_timeout_s: float = Field(default=30.0, gt=0, le=300)

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _safe_path(cls, value: str) -> str:
        value = value.strip("/")
        if not value or len(value) > WEBHOOK_PATH_MAX or not WEBHOOK_PATH.match(value):
            raise ValueError(
                "a webhook path is one or more segments separated by '/', each of letters, "
                f"digits and '-._~' (not starting with '.'), at most {WEBHOOK_PATH_MAX} characters"
            )
        return value


class S3Config(_Config):
    bucket: str = Field(min_length=3, max_length=255)
    prefix: str = ""
    endpoint_url: str | None = Field(default=None, pattern=r"^https?://")
    region: str | None = None
    credentials: SecretName | None = None
    interval_s: float = Field(default=60.0, ge=1)


# Git URLs that reach this host's own disk or programs rather than a server. The config only
# accepts file:// of these (the rest are refused as unsupported), but Launch checks them all:
# a trigger stored by an older version, or a URL git reads in another way, must not get by.
_LOCAL_GIT = re.compile(r"^(file:|ext::|fd::|/|\.|~)", re.IGNORECASE)
ALLOW_LOCAL_GIT_SETTING = "FLOMATION_LAUNCH_ALLOW_LOCAL_GIT"


class GitConfig(_Config):
    url: str = Field(min_length=1, max_length=2000)
    branch: str = Field(default="main", min_length=1, max_length=250)
    credentials: SecretName | None = None
    interval_s: float = Field(default=60.0, ge=1)

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        if value.startswith("-") or any(ch.isspace() for ch in value):
            raise ValueError("a repository URL may not start with '-' or contain spaces")
        schemes = ("https://", "http://", "ssh://", "git://", "file://")
        scp_like = re.match(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:", value)
        if not value.startswith(schemes) and not scp_like:
            raise ValueError(
                "use an https://, ssh://, git:// or file:// URL, or user@host:path for ssh"
            )
        return value

    @field_validator("branch")
    @classmethod
    def _valid_branch(cls, value: str) -> str:
        bad = value.startswith(("-", "/")) or ".." in value or value.endswith((".lock", "/"))
        if bad or re.search(r"[\s~^:?*\[\\]", value):
            raise ValueError(f"'{value}' is not a valid branch name")
        return value


# --- form trigger (issue 20; see `flomation.triggers.forms`) --------------------------------

FORM_FIELD_TYPES = ("string", "number", "integer", "boolean")
FORM_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
FORM_MAX_FIELDS = 50
FORM_TITLE_MAX = 200


def _form_field_problem(name: str, field: Any) -> str | None:
    """Why one property of a form's schema cannot be shown as an input (None when it can)."""
    if not FORM_FIELD_NAME.match(name):
        return f"field name '{name[:64]}' must be a letter, then letters, digits and '_'"
    if not isinstance(field, dict):
        return f"field '{name}' must be an object (a JSON schema)"
    enum = field.get("enum")
    if enum is not None:
        if not isinstance(enum, list) or not enum or len(enum) > 200:
            return f"field '{name}': enum must be a list of 1 to 200 values"
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in enum):
            return f"field '{name}': enum values must be strings or numbers"
        return None
    if field.get("type") not in FORM_FIELD_TYPES:
        return f"field '{name}' needs a type of {', '.join(FORM_FIELD_TYPES)}, or an enum"
    return None


class FormConfig(_Config):
    """A form served by the API at `/forms/{path}`; its submissions start the flow with the
    fields as input. `schema` is the JSON schema of an object whose properties are the fields."""

    path: str
    title: str = Field(default="Form", min_length=1, max_length=FORM_TITLE_MAX)
    description: str | None = Field(default=None, max_length=2000)
    form_schema: dict[str, Any] = Field(alias="schema")
    respond: Literal["async", "sync"] = "async"
    sync_timeout_s: float = Field(default=30.0, gt=0, le=300)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("path")
    @classmethod
    def _safe_path(cls, value: str) -> str:
        value = value.strip("/")
        if not value or len(value) > WEBHOOK_PATH_MAX - 10 or not WEBHOOK_PATH.match(value):
            raise ValueError(
                "a form path is one or more segments separated by '/', each of letters, "
                f"digits and '-._~' (not starting with '.'), at most {WEBHOOK_PATH_MAX - 10} "
                "characters"
            )
        return value

    @field_validator("form_schema")
    @classmethod
    def _form_schema(cls, value: dict[str, Any]) -> dict[str, Any]:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        if value.get("type", "object") != "object":
            raise ValueError("a form's schema is an object schema (type: object)")
        properties = value.get("properties")
        if not isinstance(properties, dict) or not properties:
            raise ValueError("a form's schema needs 'properties': one entry per field")
        if len(properties) > FORM_MAX_FIELDS:
            raise ValueError(f"a form has at most {FORM_MAX_FIELDS} fields")
        for name, field in properties.items():
            problem = _form_field_problem(str(name), field)
            if problem:
                raise ValueError(problem)
        required = value.get("required", [])
        if not isinstance(required, list) or any(name not in properties for name in required):
            raise ValueError("'required' must list names of the schema's properties")
        try:
            Draft202012Validator.check_schema(value)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        return value

    @property
    def reserved_path(self) -> str:
        """Its key in the one namespace of public paths: ':' is never in a webhook path, so a
        form's and a webhook's paths never collide."""
        return f"form:{self.path}"


# --- end of form trigger ---------------------------------------------------------------------


# --- event triggers (Launch consumers: amqp, redis_stream, postgres_notify, nats) -----------
# A connection is named, as nodes name theirs; the API checks that it exists and is of the
# type in EVENT_CONNECTION_TYPES when the trigger is saved.

CONNECTION_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
ConnectionName = Annotated[str, Field(pattern=CONNECTION_NAME)]
# Broker names: printable, no control characters; the brokers check the rest.
_BROKER_NAME = r"^[^\x00-\x1f\x7f]{1,255}$"
# Largest message body an event trigger takes; a larger one is rejected (dead letter).
EVENT_BODY_MAX = 1_000_000


class _EventConfig(_Config):
    connection: ConnectionName
    # Dead-man's switch: no event for this long (or failing to connect for this long) starts
    # the organisation's error flow, once per incident.
    alert_after_s: float | None = Field(default=None, ge=1, le=90 * 86400)


class AmqpTriggerConfig(_EventConfig):
    queue: str = Field(pattern=_BROKER_NAME)
    prefetch: int = Field(default=10, ge=1, le=1000)


class RedisStreamTriggerConfig(_EventConfig):
    stream: str = Field(pattern=_BROKER_NAME)
    group: str = Field(default="flomation", pattern=_BROKER_NAME)


class PostgresNotifyTriggerConfig(_EventConfig):
    # An identifier LISTEN takes quoted: at most 63 bytes, no double quote.
    channel: str = Field(pattern=r'^[^"\x00-\x1f\x7f]{1,63}$')


class NatsTriggerConfig(_EventConfig):
    """A JetStream pull consumer: `durable` (default `flomation-<trigger id>`) on `stream`,
    filtered to `subject`; an unacknowledged message is redelivered after `ack_wait_s`."""

    stream: str = Field(pattern=r"^[^\s.*>]{1,255}$")
    subject: str = Field(pattern=r"^[^\s]{1,255}$")
    durable: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,200}$")
    ack_wait_s: float = Field(default=30.0, ge=1, le=3600)


class MqttTriggerConfig(_EventConfig):
    """A persistent session (client id `flomation-<trigger id>`) subscribed to `topic`."""

    topic: str = Field(pattern=r"^[^\x00]{1,1000}$")
    qos: Literal[1, 2] = 1


EventConfig = (
    AmqpTriggerConfig
    | RedisStreamTriggerConfig
    | PostgresNotifyTriggerConfig
    | NatsTriggerConfig
    | MqttTriggerConfig
)
EVENT_CONNECTION_TYPES: dict[str, str] = {
    "amqp": "amqp",
    "redis_stream": "redis",
    "postgres_notify": "postgres",
    "nats": "nats",
    "mqtt": "mqtt",
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_CONNECTION_TYPES)

# --- end of event triggers ------------------------------------------------------------------


TriggerConfig = ScheduleConfig | WebhookConfig | S3Config | GitConfig | FormConfig | EventConfig
CONFIG_MODELS: dict[str, type[_Config]] = {
    "schedule": ScheduleConfig,
    "webhook": WebhookConfig,
    "s3": S3Config,
    "git": GitConfig,
    "form": FormConfig,
    "amqp": AmqpTriggerConfig,
    "redis_stream": RedisStreamTriggerConfig,
    "postgres_notify": PostgresNotifyTriggerConfig,
    "nats": NatsTriggerConfig,
    "mqtt": MqttTriggerConfig,
}


def parse_config(trigger_type: str, raw: Any) -> TriggerConfig:
    """The typed config of a trigger type, or ValidationFailed listing every problem."""
    model = CONFIG_MODELS.get(trigger_type)
    if model is None:
        raise ValidationFailed(
            "Unknown trigger type",
            errors=[
                {
                    "loc": ["body", "type"],
                    "msg": f"'{trigger_type}' is not one of {', '.join(TRIGGER_TYPES)}",
                }
            ],
        )
    try:
        config = model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        errors = [
            {"loc": ["body", "config", *item["loc"]], "msg": _message(item)}
            for item in exc.errors()
        ]
        detail = f"The {trigger_type} trigger's config is invalid"
        raise ValidationFailed(detail, errors=errors) from None
    assert isinstance(
        config, ScheduleConfig | WebhookConfig | S3Config | GitConfig | FormConfig | EventConfig
    )
    return config


def _message(item: Any) -> str:
    message = str(item.get("msg", ""))
    return message.removeprefix("Value error, ")


def local_git_refusal(url: str) -> str | None:
    """Why a Git URL naming a local repository (file://, a path, ext::, fd::) is refused
    while the operator has not allowed local repositories; None for a network URL."""
    if not _LOCAL_GIT.match(url):
        return None
    return (
        "local repositories (file://, paths, ext::, fd::) are refused: they read the "
        f"control plane's own disk; the operator may allow them with {ALLOW_LOCAL_GIT_SETTING}"
    )


def check_git_egress(config: TriggerConfig, *, allow_local_git: bool) -> None:
    """ValidationFailed (422, naming `config.url`) for a Git trigger on a local repository the
    operator has not allowed: known when the trigger is saved, so refused then, not at its
    first poll. Addresses of network URLs are checked by Launch after DNS resolution."""
    if not isinstance(config, GitConfig) or allow_local_git:
        return
    reason = local_git_refusal(config.url)
    if reason is not None:
        raise ValidationFailed(
            "The git trigger's repository URL is refused",
            errors=[{"loc": ["body", "config", "url"], "msg": reason}],
        )
