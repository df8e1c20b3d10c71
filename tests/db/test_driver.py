"""Hot statements on asyncpg itself: the same rows and errors as SQLAlchemy's path, inside the
session's own transaction, and SQLAlchemy's path wherever the driver may not go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from flomation.db.driver import DriverStatement
from flomation.db.session import Database
from flomation.ids import new_id
from flomation.models.auth import Organization
from tests.statements import recorded_statements

_INSERT_ORGANIZATION = DriverStatement(
    # Every column with a Python-side default is given: the driver path runs the compiled
    # statement as it is, without SQLAlchemy filling in defaults.
    insert(Organization).values(
        id=bindparam("id"),
        name=bindparam("name"),
        save_data=literal("all"),
        created_at=bindparam("created_at"),
    )
)
_ORGANIZATION = DriverStatement(
    select(Organization.id, Organization.name, Organization.created_at).where(
        Organization.id == bindparam("id")
    )
)
_ORGANIZATION_COUNT = DriverStatement(select(func.count()).select_from(Organization))


def _organization(name: str = "Acme") -> dict[str, object]:
    return {"id": new_id(), "name": name, "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)}


async def _count(database: Database) -> int:
    async with database.transaction() as session:
        return int((await session.execute(_ORGANIZATION_COUNT.statement)).scalar_one())


async def test_a_statement_returns_the_rows_sqlalchemy_would(database: Database) -> None:
    row = _organization()
    async with database.transaction() as session:
        await _INSERT_ORGANIZATION.fetch(session, row)
        through_driver = await _ORGANIZATION.first(session, {"id": row["id"]})
        through_sqlalchemy = (
            await session.execute(_ORGANIZATION.statement, {"id": row["id"]})
        ).one()

    assert through_driver is not None
    assert tuple(through_driver) == tuple(through_sqlalchemy)
    assert through_driver[2] == row["created_at"]


async def test_first_is_none_when_nothing_matches(database: Database) -> None:
    async with database.transaction() as session:
        assert await _ORGANIZATION.first(session, {"id": new_id()}) is None


async def test_a_timestamp_crosses_through_its_types_bind_processor(database: Database) -> None:
    # A non-UTC offset: UTCDateTime converts it, so the same instant is stored.
    row = _organization()
    row["created_at"] = datetime(2026, 1, 2, 7, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    async with database.transaction() as session:
        await _INSERT_ORGANIZATION.fetch(session, row)
    async with database.transaction() as session:
        stored = await _ORGANIZATION.first(session, {"id": row["id"]})

    assert stored is not None
    assert stored[2] == datetime(2026, 1, 2, 5, 4, 5, tzinfo=UTC)


async def test_parameters_the_statement_carries_itself_need_not_be_given(
    database: Database,
) -> None:
    statement = DriverStatement(select(literal(7), bindparam("given")))
    async with database.transaction() as session:
        row = await statement.first(session, {"given": "x"})

    assert row is not None
    assert tuple(row) == (7, "x")


def test_a_missing_parameter_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(KeyError, match="name"):
        _INSERT_ORGANIZATION.arguments({"id": new_id(), "created_at": datetime.now(UTC)})


async def test_a_duplicate_key_raises_sqlalchemys_integrity_error(database: Database) -> None:
    row = _organization()
    async with database.transaction() as session:
        await _INSERT_ORGANIZATION.fetch(session, row)

    async def insert_again() -> None:
        async with database.transaction() as session:
            await session.execute(select(1))  # the transaction has begun: the driver's turn
            await _INSERT_ORGANIZATION.fetch(session, row)

    with pytest.raises(IntegrityError):
        await insert_again()


async def test_a_rolled_back_transaction_undoes_the_driver_statements_in_it(
    database: Database,
) -> None:
    before = await _count(database)

    async def insert_two_then_fail() -> None:
        async with database.transaction() as session:
            # The first statement (before SQLAlchemy's lazy BEGIN) and a later one.
            await _INSERT_ORGANIZATION.fetch(session, _organization("first"))
            await _INSERT_ORGANIZATION.fetch(session, _organization("second"))
            assert await _ORGANIZATION_COUNT.first(session, {}) == (before + 2,)
            raise RuntimeError("roll it back")

    with pytest.raises(RuntimeError, match="roll it back"):
        await insert_two_then_fail()

    assert await _count(database) == before


async def test_a_savepoint_rolled_back_undoes_only_what_followed_it(database: Database) -> None:
    kept, undone = _organization("kept"), _organization("undone")
    async with database.transaction() as session:

        async def insert_twice_in_a_savepoint() -> None:
            async with session.begin_nested():
                await _INSERT_ORGANIZATION.fetch(session, undone)
                await _INSERT_ORGANIZATION.fetch(session, undone)

        await _INSERT_ORGANIZATION.fetch(session, kept)
        with pytest.raises(IntegrityError):
            await insert_twice_in_a_savepoint()
        assert await _ORGANIZATION.first(session, {"id": kept["id"]}) is not None
        assert await _ORGANIZATION.first(session, {"id": undone["id"]}) is None


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_an_autocommit_session_commits_each_statement_on_its_own(
    database: Database,
) -> None:
    row = _organization()
    async with database.statements() as session:
        await _INSERT_ORGANIZATION.fetch(session, row)
        # Seen from another connection before this session ends.
        async with database.transaction() as other:
            assert await _ORGANIZATION.first(other, {"id": row["id"]}) is not None


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_jsonb_values_are_encoded_and_decoded(database: Database) -> None:
    document = {"a": [1, 2.5, None, True], "b": {"c": "é"}}
    statement = DriverStatement(select(bindparam("document", type_=JSONB)))
    async with database.transaction() as session:
        await session.execute(select(1))
        row = await statement.first(session, {"document": document})

    assert row is not None
    assert row[0] == document


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_statement_watchers_see_what_goes_through_the_driver(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(select(1))
        with recorded_statements(database) as statements:
            await _ORGANIZATION.first(session, {"id": "x"})

    assert statements == [" ".join(_ORGANIZATION.sql.split())]
    assert "$1" in _ORGANIZATION.sql


async def test_a_naive_timestamp_is_refused_as_sqlalchemy_would(database: Database) -> None:
    row = _organization()
    row["created_at"] = datetime(2026, 1, 2, 3, 4, 5)
    async with database.transaction() as session:
        await session.execute(select(1))
        with pytest.raises(Exception, match="naive datetime"):
            await _INSERT_ORGANIZATION.fetch(session, row)
