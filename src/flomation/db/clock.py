"""The database's clock, so that leases and deadlines never depend on a host's clock.

`db_now()` and `db_now_plus(seconds)` compile to each dialect's own expression; on SQLite they
produce text in the same fixed format as `UTCDateTime` stores, so comparisons stay correct.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from flomation.db.base import UTCDateTime

_SQLITE_FORMAT = "'%Y-%m-%d %H:%M:%f'"


class db_now(FunctionElement[Any]):  # noqa: N801 - reads as a SQL function
    """The current time on the database server."""

    type = UTCDateTime()
    inherit_cache = True


class db_now_plus(FunctionElement[Any]):  # noqa: N801
    """The database's current time plus a number of seconds (a float or a column)."""

    type = UTCDateTime()
    inherit_cache = True

    def __init__(self, seconds: float | ColumnElement[Any]) -> None:
        value = seconds if isinstance(seconds, ColumnElement) else literal(float(seconds))
        super().__init__(value)


@compiles(db_now, "postgresql")
def _pg_now(element: db_now, compiler: Any, **kw: Any) -> str:
    return "now()"


@compiles(db_now, "sqlite")
def _sqlite_now(element: db_now, compiler: Any, **kw: Any) -> str:
    # SQLite gives milliseconds; pad to the microseconds SQLAlchemy writes so text sorts right.
    return f"(strftime({_SQLITE_FORMAT}, 'now') || '000')"


@compiles(db_now_plus, "postgresql")
def _pg_now_plus(element: db_now_plus, compiler: Any, **kw: Any) -> str:
    seconds = compiler.process(element.clauses, **kw)
    return f"(now() + make_interval(secs => CAST({seconds} AS double precision)))"


@compiles(db_now_plus, "sqlite")
def _sqlite_now_plus(element: db_now_plus, compiler: Any, **kw: Any) -> str:
    seconds = compiler.process(element.clauses, **kw)
    return (
        f"(strftime({_SQLITE_FORMAT}, 'now', "
        f"printf('%+.3f seconds', CAST({seconds} AS REAL))) || '000')"
    )
