"""Async engine and sessions for PostgreSQL (asyncpg) and SQLite (aiosqlite).

The caller owns the transaction: the API's request edge, a Launch tick or a maintenance pass
opens one with `Database.transaction()`; repositories and services never commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from flomation.config import Settings, to_async_url
from flomation.db import jsoncodec

# Every JSON column, on both databases, goes through one codec (see `jsoncodec`). A statement's
# parameters hold user data (inputs, outputs, secrets' ciphertexts): they never appear in an
# error's text, so no log line carries them.
_ENGINE_OPTIONS: dict[str, Any] = {
    "json_serializer": jsoncodec.dumps,
    "json_deserializer": jsoncodec.loads,
    "hide_parameters": True,
}


def _drop_statements_from_errors(engine: AsyncEngine) -> None:
    """Errors name what failed, not the SQL: SQLAlchemy puts the whole statement into the
    exception's text, and whoever logs the exception (our error handler, uvicorn, a loop's
    warning) then writes it out, pages of it for a large insert."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: Any) -> None:
        error = context.sqlalchemy_exception
        if error is not None:
            error.statement = None
            error.params = None


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (the driver's implicit transactions are unreliable).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction can never fail
        # to upgrade its lock, and two claims can never interleave.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> AsyncEngine:
    url = to_async_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, poolclass=NullPool if path == ":memory:" else None, **_ENGINE_OPTIONS
        )
        _configure_sqlite(engine)
        _drop_statements_from_errors(engine)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        **_ENGINE_OPTIONS,
    )
    _discard_closed_connections(engine)
    _drop_statements_from_errors(engine)
    return engine


def _discard_closed_connections(engine: AsyncEngine) -> None:
    """Never hand out a pooled connection the server has closed (a restart, an idle timeout).

    asyncpg notices a closed socket on its own, so the check costs no round trip, unlike
    `pool_pre_ping`, which sends three statements on every checkout (every transaction). A
    connection that breaks while in use is still invalidated by SQLAlchemy's disconnect
    handling, so the pool does not hand it out again either.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver_connection = getattr(dbapi_connection, "driver_connection", None)
        is_closed = getattr(driver_connection, "is_closed", None)
        if is_closed is not None and is_closed():
            # The pool discards this connection and checks out (or opens) another one.
            raise exc.DisconnectionError("the server closed this pooled connection")


AUTOCOMMIT = "flomation_autocommit"


def is_autocommit(session: AsyncSession) -> bool:
    """Whether each statement of `session` commits on its own (`Database.statements`)."""
    return bool(session.info.get(AUTOCOMMIT))


class Database:
    """One engine and its session factory."""

    @classmethod
    def for_api(cls, settings: Settings) -> Database:
        """An API process's database, pooled as the settings say."""
        return cls(
            settings.resolved_database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int | None = None) -> None:
        self.url = to_async_url(url)
        self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=max_overflow)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        # The same pool, with no BEGIN and no COMMIT: each statement commits on its own.
        self._autocommit_sessions = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"),
            expire_on_commit=False,
            autoflush=False,
            info={AUTOCOMMIT: True},
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith("postgresql")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed when the block ends, rolled back on error."""
        async with self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[AsyncSession]:
        """A session whose statements each commit on their own (PostgreSQL's autocommit), for
        work whose writes are each one statement, atomic by itself: it saves the BEGIN and
        COMMIT round trips of `transaction()`. After-commit hooks (wake-ups) still run when the
        block ends. SQLite, whose writers need `BEGIN IMMEDIATE`, gets `transaction()`.
        `is_autocommit(session)` tells the two apart (a savepoint needs a transaction)."""
        if not self.is_postgres:
            async with self.transaction() as session:
                yield session
            return
        async with self._autocommit_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
