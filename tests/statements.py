"""Recording the SQL statements a piece of work sends, to pin its round trips in tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from flomation.db.session import Database

# SQLite's transaction control, sent in-process: not what these tests count.
_SQLITE_TRANSACTION = frozenset({"BEGIN IMMEDIATE", "COMMIT"})


@contextmanager
def recorded_statements(database: Database) -> Iterator[list[str]]:
    """Every statement any session of `database` sends inside the block, white space folded."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        folded = " ".join(statement.split())
        if folded not in _SQLITE_TRANSACTION:
            statements.append(folded)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
