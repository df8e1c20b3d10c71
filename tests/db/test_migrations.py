"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from flomation.db.base import Base
from flomation.db.migrate import current_revision, head_revision, upgrade
from flomation.db.session import Database
from tests.databases import pg_admin, pg_url


@pytest.fixture
async def empty_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"flomation_mig_{uuid.uuid4().hex[:10]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url(name)
    finally:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_build_the_schema_of_the_models(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    database = Database(empty_database_url, pool_size=1)
    try:
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            revision = await connection.run_sync(current_revision)
    finally:
        await database.dispose()
    assert differences == [], "models and migrations disagree: run `make migration`"
    assert revision == head_revision()


async def test_upgrading_twice_changes_nothing(empty_database_url: str) -> None:
    await asyncio.to_thread(upgrade, empty_database_url)
    await asyncio.to_thread(upgrade, empty_database_url)
    database = Database(empty_database_url, pool_size=1)
    try:
        async with database.engine.connect() as connection:
            assert await connection.run_sync(current_revision) == head_revision()
    finally:
        await database.dispose()
