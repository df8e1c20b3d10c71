"""The database clock follows this process's offset, in statements built with `db_now` (sent by
SQLAlchemy or through asyncpg itself) and in statements written as text; a statement compiled
and cached before the offset moved reads the new offset when it runs; the application's
`utcnow()` moves with it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.sql.expression import TextualSelect

from flomation import clock
from flomation.db.base import UTCDateTime
from flomation.db.clock import db_now, db_now_plus, now_sql, with_clock
from flomation.db.driver import DriverStatement
from flomation.db.session import Database
from tests.conftest import ProcessClock

# Generous bounds: the statements run on a loaded machine, the real time moves meanwhile.
SLACK = timedelta(seconds=5)
HOUR_S = 3600.0

_NOW = select(db_now(), db_now_plus(10))
# Compiled once and sent through asyncpg itself (on PostgreSQL).
_DRIVER_NOW = DriverStatement(_NOW)


def _text_now(dialect: str) -> TextualSelect:
    return with_clock(
        text(f"SELECT {now_sql(dialect)} AS now, {now_sql(dialect, ':plus_s')} AS later")
    ).columns(now=UTCDateTime(), later=UTCDateTime())


async def _now(database: Database) -> tuple[datetime, datetime]:
    async with database.transaction() as session:
        now, later = (await session.execute(_NOW)).one()
    return now, later


async def _driver(database: Database) -> tuple[datetime, datetime]:
    async with database.transaction() as session:
        await session.execute(select(1))  # the transaction has begun: the driver's turn
        row = await _DRIVER_NOW.first(session, {})
    assert row is not None
    now, later = row
    return now, later


async def _text(database: Database) -> tuple[datetime, datetime]:
    async with database.transaction() as session:
        statement = _text_now(session.get_bind().dialect.name)
        now, later = (await session.execute(statement, {"plus_s": 10})).one()
    return now, later


def _close(value: datetime, expected: datetime) -> bool:
    return abs(value - expected) < SLACK


async def test_the_database_clock_moves_with_the_offset(
    database: Database, db_clock: ProcessClock
) -> None:
    for read in (_now, _driver, _text):
        real = clock.utcnow()
        now, later = await read(database)
        assert _close(now, real)
        assert later - now == timedelta(seconds=10)

    # The same statements, compiled and cached above, read the offset when they run.
    db_clock.advance(HOUR_S)
    for read in (_now, _driver, _text):
        moved = clock.utcnow()
        assert _close(moved, real + timedelta(seconds=HOUR_S))
        now, later = await read(database)
        assert _close(now, moved)
        assert later - now == timedelta(seconds=10)
