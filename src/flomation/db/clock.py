"""The database's clock, so that leases and deadlines never depend on a host's clock.

`db_now()` and `db_now_plus(seconds)` compile to each dialect's own expression; on SQLite they
produce text in the same fixed format as `UTCDateTime` stores, so comparisons stay correct.
Statements written as text take the same expressions from `now_sql` and their parameter from
`with_clock`.

Both add this process's clock offset (`flomation.clock`, zero outside tests) as a bound
parameter read when the statement runs: the compiled SQL, and so SQLAlchemy's cache of it,
stays the same whatever the offset, and a test moves the offset without a new statement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, bindparam, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement, TextClause

from flomation import clock
from flomation.db.base import UTCDateTime

_SQLITE_FORMAT = "'%Y-%m-%d %H:%M:%f'"

# One parameter object for every statement (the same object may appear several times in one).
OFFSET_PARAM = "flomation_clock_offset_s"
_OFFSET = bindparam(OFFSET_PARAM, callable_=clock.offset_s, type_=Float())


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


def now_sql(dialect: str, plus_seconds: str | None = None) -> str:
    """`db_now()`, or `db_now_plus(plus_seconds)` where `plus_seconds` is SQL (a parameter or a
    column), for a statement written as text; its offset parameter comes from `with_clock`."""
    if dialect == "postgresql":
        return _pg_now_plus_offset(f":{OFFSET_PARAM}", plus_seconds)
    if dialect == "sqlite":
        return _sqlite_now_plus_offset(f":{OFFSET_PARAM}", plus_seconds)
    raise ValueError(f"No database clock for the {dialect} dialect")


def with_clock(statement: TextClause) -> TextClause:
    """A text statement written with `now_sql`, its offset read when it runs."""
    return statement.bindparams(_OFFSET)


def _pg_now_plus_offset(offset: str, seconds: str | None = None) -> str:
    secs = f"CAST({offset} AS double precision)"
    if seconds is not None:
        secs = f"CAST({seconds} AS double precision) + {secs}"
    return f"(now() + make_interval(secs => {secs}))"


def _sqlite_now_plus_offset(offset: str, seconds: str | None = None) -> str:
    secs = f"CAST({offset} AS REAL)"
    if seconds is not None:
        secs = f"CAST({seconds} AS REAL) + {secs}"
    # SQLite gives milliseconds; pad to the microseconds SQLAlchemy writes so text sorts right.
    return f"(strftime({_SQLITE_FORMAT}, 'now', printf('%+.3f seconds', {secs})) || '000')"


@compiles(db_now, "postgresql")
def _pg_now(element: db_now, compiler: Any, **kw: Any) -> str:
    return _pg_now_plus_offset(compiler.process(_OFFSET, **kw))


@compiles(db_now, "sqlite")
def _sqlite_now(element: db_now, compiler: Any, **kw: Any) -> str:
    return _sqlite_now_plus_offset(compiler.process(_OFFSET, **kw))


@compiles(db_now_plus, "postgresql")
def _pg_now_plus(element: db_now_plus, compiler: Any, **kw: Any) -> str:
    seconds = compiler.process(element.clauses, **kw)
    return _pg_now_plus_offset(compiler.process(_OFFSET, **kw), seconds)


@compiles(db_now_plus, "sqlite")
def _sqlite_now_plus(element: db_now_plus, compiler: Any, **kw: Any) -> str:
    seconds = compiler.process(element.clauses, **kw)
    return _sqlite_now_plus_offset(compiler.process(_OFFSET, **kw), seconds)
