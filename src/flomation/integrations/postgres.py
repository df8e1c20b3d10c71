"""The postgres integration: the `postgres` connection type (probe `SELECT 1`) and the
`postgres.query` node, through asyncpg (rules in `integrations.base`).

Each attempt opens its own connection and closes it at the end: the engine has no place for a
pool that outlives an execution, and a connection per attempt keeps one flow's session state
(settings, temporary tables, an aborted transaction) from reaching another's.

Parameters are bound by the server (`$1`, `$2`, ... in a prepared statement), never pasted into
the SQL. JSON values from a flow are fitted to the parameter types the server reports (a string
for a date, a number for a numeric, ...), since asyncpg itself accepts only the matching
Python type. Rows are read through a portal in chunks of `FETCH_CHUNK_ROWS`, and the result's
size is counted as they arrive, so a query without LIMIT fails early with `ResultTooLargeError`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime
import decimal
import functools
import json
import ssl
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeContext,
    NodeError,
    NodeOutcome,
    NodeTimeoutError,
    NodeType,
    ServiceError,
)
from flomation.integrations._sql import (
    FETCH_CHUNK_ROWS,
    ResultBudget,
    SqlConfig,
    SqlQueryNode,
    json_safe_value,
    row_count_of,
    sql_config_schema,
    sql_connection_schema,
)
from flomation.integrations.base import ConnectionType

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]

__all__ = ["CONNECTION_TYPES", "NODE_TYPES", "PostgresQueryNode", "probe"]

SSL_MODES = ("prefer", "disable", "require", "verify-ca", "verify-full")
DEFAULT_PORT = 5432
# The client waits this much longer than the server's statement_timeout, so that the server's
# own (clearer) cancellation normally comes first.
CLIENT_GRACE_S = 1.0
CLOSE_TIMEOUT_S = 2.0
# Serialization failure and deadlock: the server rolled the statement back and says trying
# again may succeed.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
QUERY_CANCELED = "57014"


# --------------------------------------------------------------------------- connecting


def _where(values: Mapping[str, Any]) -> str:
    return f"PostgreSQL at {values.get('host')}:{values.get('port') or DEFAULT_PORT}"


def _ssl_mode(value: Any) -> str | ssl.SSLContext:
    """asyncpg's `ssl` for the connection's mode; the verifying modes check the server's
    certificate against the system's CAs (asyncpg's own default looks in ~/.postgresql)."""
    mode = {True: "require", False: "disable", None: "prefer"}.get(value, value)
    if mode in ("verify-ca", "verify-full"):
        context = ssl.create_default_context()
        context.check_hostname = mode == "verify-full"
        return context
    return str(mode)


async def _connect(
    values: Mapping[str, Any], timeout_s: float, statement_timeout_s: float | None = None
) -> asyncpg.Connection:
    """An open connection, or the `NodeError` that says why there is none."""
    import asyncpg

    settings = {"application_name": "flomation"}
    if statement_timeout_s is not None:
        settings["statement_timeout"] = str(max(1, int(statement_timeout_s * 1000)))
    try:
        connection = await asyncpg.connect(
            host=values.get("host"),
            port=int(values.get("port") or DEFAULT_PORT),
            user=values.get("user"),
            password=values.get("password") or None,
            database=values.get("database"),
            ssl=_ssl_mode(values.get("ssl")),
            timeout=max(0.001, timeout_s),
            server_settings=settings,
            statement_cache_size=0,
        )
    except Exception as exc:
        raise _connect_error(exc, values) from None
    # json and jsonb as JSON values both ways (asyncpg passes them as text otherwise); built-in
    # types need no round trip to set up.
    try:
        for type_name in ("json", "jsonb"):
            await connection.set_type_codec(
                type_name, schema="pg_catalog", encoder=_dump_json, decoder=json.loads
            )
    except BaseException:
        connection.terminate()
        raise
    return connection


def _dump_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _connect_error(exc: Exception, values: Mapping[str, Any]) -> NodeError:
    import asyncpg

    where = _where(values)
    if isinstance(
        exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        return AuthenticationError(f"{where} refused the credentials: {exc}")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return ServiceError(f"{where}: database {values.get('database')!r} does not exist ({exc})")
    if isinstance(exc, asyncpg.TooManyConnectionsError | asyncpg.CannotConnectNowError):
        return ServiceError(f"{where} cannot take a connection now: {exc}", retryable=True)
    if isinstance(exc, asyncpg.PostgresError):
        return _service_error(exc)
    if isinstance(exc, ssl.SSLError) or "SSL" in str(exc):
        # A certificate or protocol mismatch stays one until someone changes a setting.
        return ConnectionFailedError(f"TLS with {where} failed: {exc}", retryable=False)
    if isinstance(exc, TimeoutError):
        return ConnectionFailedError(f"{where} did not answer in time (connecting)")
    if isinstance(exc, OSError):
        return ConnectionFailedError(f"cannot reach {where}: {exc.strerror or exc}")
    if isinstance(exc, asyncpg.InterfaceError | ValueError):
        return ConfigError(f"cannot connect to {where}: {exc}", field="connection")
    return ConnectionFailedError(f"cannot connect to {where}: {type(exc).__name__}: {exc}")


def _service_error(exc: asyncpg.PostgresError) -> NodeError:
    sqlstate = getattr(exc, "sqlstate", None) or "?"
    if sqlstate == QUERY_CANCELED:
        return NodeTimeoutError(f"PostgreSQL cancelled the statement: {exc} (SQLSTATE {sqlstate})")
    message = f"PostgreSQL answered: {exc} (SQLSTATE {sqlstate})"
    detail = getattr(exc, "detail", None)
    hint = getattr(exc, "hint", None)
    if detail:
        message += f"; detail: {detail}"
    if hint:
        message += f"; hint: {hint}"
    return ServiceError(message, retryable=sqlstate in RETRYABLE_SQLSTATES)


async def _close(connection: asyncpg.Connection) -> None:
    try:
        await connection.close(timeout=CLOSE_TIMEOUT_S)
    except Exception:
        connection.terminate()


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    """`SELECT 1` on a new connection; answers with the server's version."""
    connection = await _connect(values, timeout_s, statement_timeout_s=timeout_s)
    try:
        async with asyncio.timeout(timeout_s):
            await connection.fetchval("SELECT 1")
    except Exception as exc:
        connection.terminate()
        raise _statement_error(exc, values) from None
    version = str(connection.get_settings().server_version).split(" ")[0]
    await _close(connection)
    return (
        f"connected to PostgreSQL {version} as {values.get('user')!r}, "
        f"database {values.get('database')!r}"
    )


# --------------------------------------------------------------------------- parameters


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "t", "yes", "on", "1"):
        return True
    if lowered in ("false", "f", "no", "off", "0"):
        return False
    raise ValueError(text)


def _to_int(value: Any) -> Any:
    if isinstance(value, str):
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_float(value: Any) -> Any:
    if isinstance(value, str):
        return float(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _to_decimal(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return decimal.Decimal(str(value).strip())
    return value


def _to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _from_text(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda value: parse(value) if isinstance(value, str) else value


def _to_bytes(value: Any) -> Any:
    if isinstance(value, str):
        return base64.b64decode(value, validate=True)
    return value


_COERCE: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("int2", "int4", "int8", "oid"), _to_int),
    **dict.fromkeys(("float4", "float8"), _to_float),
    "numeric": _to_decimal,
    "bool": _from_text(_parse_bool),
    **dict.fromkeys(("text", "varchar", "bpchar", "name", "char"), _to_text),
    "date": _from_text(datetime.date.fromisoformat),
    "timestamp": _from_text(datetime.datetime.fromisoformat),
    "timestamptz": _from_text(datetime.datetime.fromisoformat),
    "time": _from_text(datetime.time.fromisoformat),
    "uuid": _from_text(uuid.UUID),
    "bytea": _to_bytes,
}


def _bind_values(params: list[Any], types: tuple[Any, ...]) -> list[Any]:
    """JSON values fitted to the statement's parameter types (as the server reports them)."""
    if len(params) != len(types):
        raise ConfigError(
            f"the statement has {len(types)} parameter(s) ($1 ... ${len(types)}) "
            f"but params has {len(params)} value(s)",
            field="params",
        )
    bound: list[Any] = []
    for index, (value, pg_type) in enumerate(zip(params, types, strict=True)):
        coerce = _COERCE.get(pg_type.name)
        if value is None or coerce is None:
            bound.append(value)
            continue
        try:
            bound.append(coerce(value))
        except (ValueError, TypeError, ArithmeticError, binascii.Error):
            expected = "base64 text" if pg_type.name == "bytea" else pg_type.name
            raise ConfigError(
                f"params[{index}] (${index + 1}) is not a valid {expected}: {value!r}",
                field="params",
            ) from None
    return bound


# --------------------------------------------------------------------------- the node


@functools.cache
def _asyncpg_types() -> tuple[Any, Any]:
    from asyncpg import BitString, Range

    return Range, BitString


def _row(record: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in record.items()}


def _value(value: Any) -> Any:
    """A value as JSON, with asyncpg's own types first: a range as its bounds, a bit string
    as its digits; then as every SQL node's values (`json_safe_value`)."""
    Range, BitString = _asyncpg_types()  # noqa: N806 (classes)
    if isinstance(value, Range):
        return {
            "lower": _value(value.lower),
            "upper": _value(value.upper),
            "lower_inc": value.lower_inc,
            "upper_inc": value.upper_inc,
            "empty": value.isempty,
        }
    if isinstance(value, BitString):
        return value.as_string()
    if isinstance(value, list | tuple):  # arrays, composite values, geometric types
        return [_value(item) for item in value]
    return json_safe_value(value)


async def _run_statement(connection: asyncpg.Connection, config: SqlConfig) -> dict[str, Any]:
    statement = await connection.prepare(config.sql)
    args = _bind_values(config.params, statement.get_parameters())
    if not statement.get_attributes():
        # No columns (INSERT/UPDATE/DDL without RETURNING): run it outside any transaction of
        # ours (VACUUM and CREATE INDEX CONCURRENTLY refuse one) and read the command tag.
        await statement.fetch(*args)
        count = row_count_of(statement.get_statusmsg())
        if config.mode == "one":
            return {"row": None}
        if config.mode == "execute":
            return {"row_count": count}
        return {"rows": [], "row_count": count}
    if config.mode == "one":
        # The portal is asked for one row: the rest are never sent.
        record = await statement.fetchrow(*args)
        row = None if record is None else _row(record)
        ResultBudget().add(row)
        return {"row": row}
    budget = ResultBudget()
    rows: list[dict[str, Any]] = []
    count = 0
    # A portal needs a transaction; it also makes a failed rows query (too large) leave
    # nothing behind when the statement writes (INSERT ... RETURNING).
    async with connection.transaction():
        async for record in statement.cursor(*args, prefetch=FETCH_CHUNK_ROWS):
            count += 1
            if config.mode == "rows":
                row = _row(record)
                budget.add(row)
                rows.append(row)
    if config.mode == "execute":
        return {"row_count": count}
    return {"rows": rows, "row_count": count}


def _statement_error(exc: Exception, values: Mapping[str, Any]) -> NodeError:
    import asyncpg

    if isinstance(exc, NodeError):
        return exc
    if isinstance(exc, asyncpg.PostgresError):
        return _service_error(exc)
    if isinstance(exc, asyncpg.DataError):
        return ConfigError(f"params do not fit the statement: {exc}", field="params")
    if isinstance(exc, TimeoutError):
        return NodeTimeoutError(f"{_where(values)} did not finish the statement in time")
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError | OSError):
        # Whether a write took effect before the connection broke is unknown: not retried.
        return ConnectionFailedError(
            f"the connection to {_where(values)} broke during the statement: {exc}",
            retryable=False,
        )
    if isinstance(exc, asyncpg.InterfaceError):
        return ServiceError(f"{_where(values)}: {exc}")
    raise exc


class PostgresQueryNode(SqlQueryNode):
    type = "postgres.query"
    title = "PostgreSQL query"
    description = (
        "Runs one SQL statement on a PostgreSQL connection with $1, $2, ... bound to params; "
        "returns the rows, the first row, or the number of rows affected."
    )
    group = "postgres"
    connection_types = ("postgres",)
    config_schema = sql_config_schema("PostgreSQL", "$1, $2, ...")

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        values = self.connect(ctx).values
        config = SqlConfig.read(ctx)
        connection = await _connect(values, config.timeout_s, config.timeout_s)
        try:
            async with asyncio.timeout(config.timeout_s + CLIENT_GRACE_S):
                output = await _run_statement(connection, config)
        except BaseException as exc:
            connection.terminate()
            if isinstance(exc, Exception):
                raise _statement_error(exc, values) from None
            raise
        await _close(connection)
        return NodeOutcome(output)


CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    ConnectionType(
        type="postgres",
        title="PostgreSQL",
        schema=sql_connection_schema("PostgreSQL", DEFAULT_PORT, SSL_MODES),
        probe=probe,
        icon="database",
        description="A PostgreSQL server (or one that speaks its protocol).",
    ),
)
NODE_TYPES: tuple[type[NodeType], ...] = (PostgresQueryNode,)
