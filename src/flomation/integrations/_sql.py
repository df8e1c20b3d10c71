"""What the SQL nodes (`postgres.query`, `mysql.query`) share: their config schema, turning a
driver's values into JSON-safe ones, and bounding a result to the step size limit while it is
fetched (rows are counted as they arrive, so a million-row answer fails after the first few
hundred rows instead of filling the runner's memory)."""

from __future__ import annotations

import base64
import datetime
import decimal
import ipaddress
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flomation.engine.event_values import EVENT_VALUE_LIMIT
from flomation.engine.expressions import is_template
from flomation.engine.nodes.base import ConfigError, NodeContext, ResultTooLargeError
from flomation.integrations.base import (
    HOST_PROPERTY,
    PASSWORD_PROPERTY,
    IntegrationNode,
    connection_property,
    port_property,
)

__all__ = [
    "DEFAULT_SQL_TIMEOUT_S",
    "FETCH_CHUNK_ROWS",
    "MODES",
    "ResultBudget",
    "SqlConfig",
    "SqlQueryNode",
    "check_sql_config",
    "json_safe_value",
    "row_count_of",
    "sql_config_schema",
    "sql_connection_schema",
    "sql_output_schema",
]

MODES = ("rows", "one", "execute")
DEFAULT_SQL_TIMEOUT_S = 30.0
# Rows asked of the server at a time: enough to keep round trips few, few enough that the
# budget stops a runaway query after one chunk past the limit.
FETCH_CHUNK_ROWS = 200


def sql_connection_schema(
    title: str, default_port: int, ssl_modes: Sequence[str]
) -> dict[str, Any]:
    """The values schema of a `postgres` or `mysql` connection."""
    return {
        "type": "object",
        "title": title,
        "properties": {
            "host": HOST_PROPERTY,
            "port": port_property(default=default_port),
            "database": {"type": "string", "title": "Database", "minLength": 1},
            "user": {"type": "string", "title": "User", "minLength": 1},
            "password": PASSWORD_PROPERTY,
            "ssl": {
                "title": "TLS",
                "description": "disable: plain TCP; require: TLS without checking the "
                "certificate; verify-ca / verify-full: TLS with the system's CAs (and the "
                "host name).",
                "enum": list(ssl_modes),
                "default": ssl_modes[0],
            },
        },
        "required": ["host", "database", "user"],
        "additionalProperties": False,
    }


def sql_config_schema(dialect: str, placeholder: str) -> dict[str, Any]:
    """The config schema of an SQL query node."""
    return {
        "type": "object",
        "properties": {
            "connection": connection_property(f"{dialect} connection"),
            "sql": {
                "type": "string",
                "title": "SQL",
                "minLength": 1,
                "description": f"One statement; values go in params as {placeholder}, never "
                "into the SQL text.",
                # Written as is: a template here would paste values into the SQL text.
                "x-template": False,
            },
            "params": {
                "type": "array",
                "title": "Parameters",
                "description": f"Values bound to the statement's {placeholder} placeholders, "
                "in order.",
                "default": [],
            },
            "mode": {
                "enum": list(MODES),
                "title": "Mode",
                "default": "rows",
                "description": "rows: every row; one: the first row (null when none); "
                "execute: only the number of rows affected.",
            },
            "timeout_s": {
                "type": "number",
                "title": "Timeout (s)",
                "exclusiveMinimum": 0,
                "maximum": 3600,
                "default": DEFAULT_SQL_TIMEOUT_S,
            },
        },
        "required": ["connection", "sql"],
        "additionalProperties": False,
    }


def sql_output_schema() -> dict[str, Any]:
    row = {"type": "object"}
    return {
        "type": "object",
        "properties": {
            "rows": {"type": "array", "items": row},
            "row": {"anyOf": [row, {"type": "null"}]},
            "row_count": {"type": "integer"},
        },
    }


@dataclass(frozen=True, slots=True)
class SqlConfig:
    """An SQL node's rendered config, checked; `timeout_s` already bounded by the attempt's
    deadline."""

    sql: str
    params: list[Any]
    mode: str
    timeout_s: float

    @classmethod
    def read(cls, ctx: NodeContext) -> SqlConfig:
        config = ctx.config
        sql = config.get("sql")
        if not isinstance(sql, str) or not sql.strip():
            raise ConfigError("sql must be a non-empty statement", field="sql")
        params = config.get("params", [])
        if params is None:
            params = []
        if not isinstance(params, list):
            raise ConfigError(
                f"params must be a list of values, got {type(params).__name__}", field="params"
            )
        mode = config.get("mode", "rows")
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}", field="mode")
        timeout_s = float(config.get("timeout_s", DEFAULT_SQL_TIMEOUT_S))
        remaining = ctx.remaining_s()
        if remaining is not None:
            timeout_s = min(timeout_s, remaining)
        return cls(sql, params, str(mode), max(0.001, timeout_s))


def check_sql_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Save-time rules of the SQL nodes beyond their schema."""
    sql = config.get("sql")
    if isinstance(sql, str) and is_template(sql):
        return [
            (
                "sql",
                "the SQL is not a template (values pasted into SQL are an injection risk): "
                "write placeholders and pass the values in params",
            )
        ]
    return []


class SqlQueryNode(IntegrationNode):
    """What `postgres.query` and `mysql.query` share: the output and the config checks. Each
    keeps its own `run`, since the drivers abandon a connection differently."""

    icon = "database"
    output_schema = sql_output_schema()

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        return check_sql_config(config)


def row_count_of(status: str | None) -> int:
    """The row count of a command tag (`INSERT 0 3`, `UPDATE 5`, `SELECT 2`); 0 without."""
    last = (status or "").rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def json_safe_value(value: Any) -> Any:
    """A database value as JSON: dates and times ISO 8601, decimals as strings (exact),
    bytes base64, UUIDs and addresses as strings, non-finite floats as strings; containers
    converted item by item; anything else unknown as its `str`."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        # JSON has no NaN or infinities: the names PostgreSQL and JavaScript write.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return _iso_duration(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): json_safe_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe_value(item) for item in value]
    return str(value)


def _iso_duration(delta: datetime.timedelta) -> str:
    """`P1DT2H3M4.5S` (ISO 8601); a negative interval gets a leading minus."""
    sign = "-" if delta < datetime.timedelta(0) else ""
    delta = abs(delta)
    seconds = delta.seconds + delta.microseconds / 1_000_000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}P{delta.days}DT{int(hours)}H{int(minutes)}M"
    secs_text = f"{secs:.6f}".rstrip("0").rstrip(".")
    return f"{text}{secs_text}S"


class ResultBudget:
    """Counts a result's size as JSON while rows arrive; raises `ResultTooLargeError` as soon
    as the rows so far would make an output past `limit` characters."""

    __slots__ = ("limit", "rows", "used")

    def __init__(self, limit: int = EVENT_VALUE_LIMIT) -> None:
        self.limit = limit
        self.used = len('{"rows": [], "row_count": 0000000000}')
        self.rows = 0

    def add(self, row: Any) -> None:
        self.rows += 1
        self.used += _json_size(row) + 2  # ", " between rows
        if self.used > self.limit:
            raise ResultTooLargeError(
                f"result too large ({self.rows} rows so far), use LIMIT: a step's output "
                f"may be at most {self.limit // 1024} KiB as JSON"
            )


def _json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": ")))
