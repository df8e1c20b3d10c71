"""Hot statements sent through asyncpg itself, on the session's own connection.

SQLAlchemy spends about four times a raw asyncpg call's CPU on each statement it executes
(its execution context, result set-up, events, the greenlet hops), which on the paths every
execution takes (a request's token and flow, its insert, a claim's events) costs more than the
database's work. A `DriverStatement` is a Core statement compiled once for PostgreSQL and sent
with `asyncpg.Connection.fetch` on the connection the session already holds, so it is part of
the session's transaction and sees and is seen by its other statements. Everything else keeps
the ordinary path: SQLite, and a transactional session that has sent nothing yet (its BEGIN is
sent lazily by SQLAlchemy with its first statement, so the driver must not go first).

Values cross as SQLAlchemy would send them: each bind parameter goes through its type's bind
processor (UTC timestamps, for one); jsonb values are encoded and decoded by the codecs
SQLAlchemy's asyncpg dialect installs on every connection. Rows come back as asyncpg records
(indexable like SQLAlchemy rows); a constraint violation is raised as SQLAlchemy's
`IntegrityError`, as the ordinary path would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from flomation.db.session import is_autocommit

_DIALECT = PGDialect_asyncpg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class DriverStatement:
    """`statement` (named bind parameters only) compiled once for asyncpg."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        # An INSERT, UPDATE or DELETE without RETURNING has no rows to give (a SELECT with
        # data-modifying CTEs is a SELECT).
        self._returns_rows = bool(compiled.effective_returning) or not statement.is_dml
        names = compiled.positiontup or []
        self._names: tuple[str, ...] = tuple(names)
        self._processors: tuple[Callable[[Any], Any] | None, ...] = tuple(
            compiled.binds[name].type.bind_processor(_DIALECT) for name in names
        )
        # Parameters the statement carries itself (`literal(1)`): the caller names none of them.
        # A value computed when the statement runs (the database clock's offset) is read then.
        carried = [(name, compiled.binds[name]) for name in names]
        self._fixed = {
            name: bind.value
            for name, bind in carried
            if not bind.required and bind.callable is None
        }
        self._computed = tuple(
            (name, bind.callable) for name, bind in carried if bind.callable is not None
        )

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for `params` (a missing parameter is a KeyError)."""
        fixed = self._fixed
        if self._computed:
            fixed = {**fixed, **{name: compute() for name, compute in self._computed}}
        values = (
            params[name] if name in params or name not in fixed else fixed[name]
            for name in self._names
        )
        return [
            value if processor is None else processor(value)
            for value, processor in zip(values, self._processors, strict=True)
        ]

    async def fetch(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row of the statement run with `params`, in `session`'s transaction."""
        connection = await _connection_for_driver(session)
        if connection is None:
            result = await session.execute(self.statement, dict(params))
            return list(result) if self._returns_rows else []
        arguments = self.arguments(params)
        # Tools that watch SQLAlchemy's statements (tracing, the tests' statement recorder)
        # still see this one; with nobody listening this costs one truth test.
        announce = connection.dispatch.before_cursor_execute
        if announce:
            for listener in announce:
                listener(connection, None, self.sql, arguments, None, False)
        driver: asyncpg.Connection = connection.connection.driver_connection
        try:
            rows: list[Any] = await driver.fetch(self.sql, *arguments)
        except asyncpg.IntegrityConstraintViolationError as error:
            raise exc.IntegrityError(self.sql, None, error) from error
        return rows

    async def first(self, session: AsyncSession, params: Mapping[str, Any]) -> Any | None:
        rows = await self.fetch(session, params)
        return rows[0] if rows else None


async def _connection_for_driver(session: AsyncSession) -> Connection | None:
    """`session`'s (sync) connection, when a statement may be sent on its driver directly."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    connection = (await session.connection()).sync_connection
    if connection is None:
        return None
    driver = connection.connection.driver_connection
    if driver is not None and (is_autocommit(session) or driver.is_in_transaction()):
        return connection
    return None
