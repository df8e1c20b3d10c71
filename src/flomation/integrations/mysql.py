"""The mysql integration: the `mysql` connection type (MySQL and MariaDB; probe `SELECT 1`)
and the `mysql.query` node, through asyncmy (rules in `integrations.base`).

Each attempt opens its own connection and closes it at the end (see `integrations.postgres`
for why). Values go in `params` and reach the server through the driver's own escaping of
each value for the `%s` placeholders (MySQL's text protocol, the only one that streams a
result), never through string building in the node. Rows are read through an unbuffered
cursor in chunks and counted as they arrive, so a query without LIMIT fails early with
`ResultTooLargeError`; closing the connection then abandons the rest on the server.

The statement runs in a transaction committed only when the node succeeds: a statement that
writes and returns rows (MariaDB's `INSERT ... RETURNING`) leaves nothing behind when its
result is refused as too large.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping, Sequence
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
    sql_config_schema,
    sql_connection_schema,
)
from flomation.integrations.base import ConnectionType

if TYPE_CHECKING:
    import asyncmy

__all__ = ["CONNECTION_TYPES", "NODE_TYPES", "MysqlQueryNode", "probe"]

SSL_MODES = ("disable", "require", "verify-ca", "verify-full")
DEFAULT_PORT = 3306
CLIENT_GRACE_S = 1.0

# Server error numbers (https://mariadb.com/kb/en/mariadb-error-codes/).
ER_ACCESS_DENIED = 1045
ER_ACCESS_DENIED_NO_PASSWORD = 1698
ER_DBACCESS_DENIED = 1044
ER_BAD_DB = 1049
ER_TOO_MANY_CONNECTIONS = 1040
ER_LOCK_WAIT_TIMEOUT = 1205
ER_LOCK_DEADLOCK = 1213
ER_STATEMENT_TIMEOUT_MARIADB = 1969
ER_QUERY_TIMEOUT_MYSQL = 3024
# The server rolled the statement back and says trying again may succeed.
RETRYABLE_ERRORS = frozenset({ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT})
# Client error numbers below 2100 (CR_*): the connection could not be made or broke.
CLIENT_ERRORS = range(2000, 2100)


# --------------------------------------------------------------------------- connecting


def _where(values: Mapping[str, Any]) -> str:
    return f"MySQL at {values.get('host')}:{values.get('port') or DEFAULT_PORT}"


def _ssl_context(value: Any) -> ssl.SSLContext | None:
    """asyncmy's `ssl` for the connection's mode: none, TLS without checking the certificate,
    or TLS checked against the system's CAs (and the host name for verify-full)."""
    mode = {True: "require", False: "disable", None: "disable"}.get(value, value)
    if mode == "disable":
        return None
    context = ssl.create_default_context()
    if mode == "require":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context.check_hostname = mode == "verify-full"
    return context


def _is_mariadb(connection: asyncmy.Connection) -> bool:
    return "mariadb" in str(connection.get_server_info()).lower()


async def _connect(
    values: Mapping[str, Any], timeout_s: float, statement_timeout_s: float | None = None
) -> asyncmy.Connection:
    """An open connection (in a transaction, not autocommitting), or the `NodeError` that
    says why there is none."""
    import asyncmy
    from asyncmy.constants.CLIENT import MULTI_STATEMENTS

    connection = asyncmy.Connection(  # type: ignore[no-untyped-call]
        host=values.get("host"),
        port=int(values.get("port") or DEFAULT_PORT),
        user=values.get("user"),
        password=values.get("password") or "",
        database=values.get("database"),
        ssl=_ssl_context(values.get("ssl")),
        connect_timeout=max(1, int(timeout_s + 0.999)),
        charset="utf8mb4",
        autocommit=False,
    )
    # asyncmy always asks for several statements per query; one node runs one statement (as
    # on PostgreSQL), so nothing can ride along after it, whatever the SQL holds.
    connection._client_flag &= ~MULTI_STATEMENTS  # type: ignore[attr-defined]
    try:
        async with asyncio.timeout(timeout_s):
            await connection.connect()
    except Exception as exc:
        connection.close()
        raise _connect_error(exc, values) from None
    if statement_timeout_s is not None:
        try:
            async with asyncio.timeout(timeout_s), connection.cursor() as cursor:
                # MariaDB bounds every statement (seconds); MySQL only SELECTs (milliseconds).
                if _is_mariadb(connection):
                    await cursor.execute(
                        "SET SESSION max_statement_time = %s", (round(statement_timeout_s, 3),)
                    )
                else:
                    await cursor.execute(
                        "SET SESSION max_execution_time = %s",
                        (max(1, int(statement_timeout_s * 1000)),),
                    )
        except Exception as exc:
            connection.close()
            raise _statement_error(exc, values) from None
    return connection


def _connect_error(exc: Exception, values: Mapping[str, Any]) -> NodeError:
    import asyncmy

    where = _where(values)
    if isinstance(exc, asyncmy.errors.MySQLError) and exc.args:
        code = exc.args[0]
        message = exc.args[1] if len(exc.args) > 1 else str(exc)
        if code in (ER_ACCESS_DENIED, ER_ACCESS_DENIED_NO_PASSWORD):
            return AuthenticationError(f"{where} refused the credentials: {message}")
        if code == ER_DBACCESS_DENIED:
            return AuthenticationError(
                f"{where} refused the database {values.get('database')!r} to this user "
                f"(or it does not exist): {message}"
            )
        if code == ER_BAD_DB:
            return ServiceError(
                f"{where}: database {values.get('database')!r} does not exist ({message})"
            )
        if code == ER_TOO_MANY_CONNECTIONS:
            return ServiceError(f"{where} cannot take a connection now: {message}", retryable=True)
        if isinstance(code, int) and code in CLIENT_ERRORS:
            if "ssl" in str(message).lower() or isinstance(exc.__cause__, ssl.SSLError):
                return ConnectionFailedError(f"TLS with {where} failed: {message}", retryable=False)
            return ConnectionFailedError(f"cannot reach {where}: {message}")
        return _service_error(exc)
    if isinstance(exc, ssl.SSLError):
        return ConnectionFailedError(f"TLS with {where} failed: {exc}", retryable=False)
    if isinstance(exc, TimeoutError):
        return ConnectionFailedError(f"{where} did not answer in time (connecting)")
    if isinstance(exc, OSError):
        return ConnectionFailedError(f"cannot reach {where}: {exc.strerror or exc}")
    return ConnectionFailedError(f"cannot connect to {where}: {type(exc).__name__}: {exc}")


def _service_error(exc: Exception) -> NodeError:
    code = exc.args[0] if exc.args else None
    message = exc.args[1] if len(exc.args) > 1 else str(exc)
    sqlstate = getattr(exc, "sqlstate", None) or "?"
    if code in (ER_STATEMENT_TIMEOUT_MARIADB, ER_QUERY_TIMEOUT_MYSQL):
        return NodeTimeoutError(f"MySQL stopped the statement: {message} (error {code})")
    return ServiceError(
        f"MySQL answered: {message} (error {code}, SQLSTATE {sqlstate})",
        retryable=code in RETRYABLE_ERRORS,
    )


def _statement_error(exc: Exception, values: Mapping[str, Any]) -> NodeError:
    import asyncmy

    if isinstance(exc, NodeError):
        return exc
    if isinstance(exc, TimeoutError):
        return NodeTimeoutError(f"{_where(values)} did not finish the statement in time")
    if isinstance(exc, asyncmy.errors.MySQLError):
        code = exc.args[0] if exc.args else None
        if isinstance(code, int) and code in CLIENT_ERRORS:
            # Whether a write took effect before the connection broke is unknown: not retried.
            return ConnectionFailedError(
                f"the connection to {_where(values)} broke during the statement: {exc}",
                retryable=False,
            )
        return _service_error(exc)
    if isinstance(exc, OSError):
        return ConnectionFailedError(
            f"the connection to {_where(values)} broke during the statement: {exc}",
            retryable=False,
        )
    raise exc


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    """`SELECT 1` on a new connection; answers with the server's name and version."""
    connection = await _connect(values, timeout_s)
    try:
        async with asyncio.timeout(timeout_s), connection.cursor() as cursor:
            await cursor.execute("SELECT 1")
            await cursor.fetchall()
        info = str(connection.get_server_info())
    except Exception as exc:
        raise _statement_error(exc, values) from None
    finally:
        connection.close()
    server = f"MySQL {info}"
    if "mariadb" in info.lower():
        # MariaDB announces itself as `5.5.5-10.11.6-MariaDB-...` to old clients.
        server = f"MariaDB {info.removeprefix('5.5.5-').split('-')[0]}"
    return f"connected to {server} as {values.get('user')!r}, database {values.get('database')!r}"


# --------------------------------------------------------------------------- the node


def _bound_params(params: list[Any]) -> tuple[Any, ...] | None:
    """The driver's arguments: JSON objects as JSON text (for JSON columns); lists as tuples,
    which the driver writes as `(a, b, c)` for `IN %s`. None without params, so that a `%`
    in the SQL needs no escaping then."""
    if not params:
        return None
    return tuple(_bound_value(value) for value in params)


def _bound_value(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return tuple(_bound_value(item) for item in value)
    return value


async def _run_statement(connection: asyncmy.Connection, config: SqlConfig) -> dict[str, Any]:
    from asyncmy.cursors import SSCursor

    cursor = connection.cursor(SSCursor)
    try:
        affected = await cursor.execute(config.sql, _bound_params(config.params))
    except (TypeError, ValueError, KeyError) as exc:
        # The driver's `%` formatting: the placeholder count, or a literal % not written %%.
        raise ConfigError(
            f"params do not fit the statement's %s placeholders ({exc}); with params, write a "
            "literal % as %%",
            field="params",
        ) from None
    description: Sequence[Any] | None = cursor.description
    if description is None:
        # No result set (INSERT/UPDATE/DDL): the server says how many rows it changed.
        count = int(affected or 0)
        await connection.commit()
        if config.mode == "one":
            return {"row": None}
        if config.mode == "execute":
            return {"row_count": count}
        return {"rows": [], "row_count": count}
    names = [str(column[0]) for column in description]
    budget = ResultBudget()
    if config.mode == "one":
        first = await cursor.fetchone()
        row = None if first is None else _row(names, first)
        budget.add(row)
        output: dict[str, Any] = {"row": row}
        # The server sends the whole result whatever is read: the rest is read and dropped
        # (within the timeout) before the commit can be sent. LIMIT 1 spares that.
        await cursor.close()
        await connection.commit()
    else:
        rows: list[dict[str, Any]] = []
        count = 0
        while chunk := await cursor.fetchmany(FETCH_CHUNK_ROWS):
            count += len(chunk)
            if config.mode == "rows":
                for values in chunk:
                    row = _row(names, values)
                    budget.add(row)
                    rows.append(row)
        output = (
            {"row_count": count} if config.mode == "execute" else {"rows": rows, "row_count": count}
        )
        await cursor.close()
        await connection.commit()
    return output


def _row(names: list[str], values: Sequence[Any]) -> dict[str, Any]:
    return {name: json_safe_value(value) for name, value in zip(names, values, strict=True)}


class MysqlQueryNode(SqlQueryNode):
    type = "mysql.query"
    title = "MySQL / MariaDB query"
    description = (
        "Runs one SQL statement on a MySQL or MariaDB connection with %s placeholders bound to "
        "params; returns the rows, the first row, or the number of rows affected."
    )
    group = "mysql"
    connection_types = ("mysql",)
    config_schema = sql_config_schema("MySQL", "%s")

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        values = self.connect(ctx).values
        config = SqlConfig.read(ctx)
        connection = await _connect(values, config.timeout_s, config.timeout_s)
        try:
            async with asyncio.timeout(config.timeout_s + CLIENT_GRACE_S):
                output = await _run_statement(connection, config)
        except Exception as exc:
            raise _statement_error(exc, values) from None
        finally:
            # Closing (not QUIT) also abandons an unread result and rolls back what was not
            # committed.
            connection.close()
        return NodeOutcome(output)


CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    ConnectionType(
        type="mysql",
        title="MySQL / MariaDB",
        schema=sql_connection_schema("MySQL / MariaDB", DEFAULT_PORT, SSL_MODES),
        probe=probe,
        icon="database",
        description="A MySQL or MariaDB server.",
    ),
)
NODE_TYPES: tuple[type[NodeType], ...] = (MysqlQueryNode,)
