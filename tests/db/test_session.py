"""The connection pool: a connection the server closed is never handed out again, and an API
process keeps as many connections as its settings say."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from flomation.db.session import Database
from tests.conftest import make_settings
from tests.databases import pg_admin


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_pooled_connection_the_server_closed_is_replaced_on_checkout(
    database: Database,
) -> None:
    async with database.transaction() as session:
        first = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    await pg_admin(f"SELECT pg_terminate_backend({int(first)})")
    await asyncio.sleep(0.2)  # the closed socket reaches the pooled connection

    async with database.transaction() as session:
        second = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()

    assert second != first


async def _backend_pids_at_once(database: Database, count: int) -> set[int]:
    """The server processes of `count` sessions held open at the same time."""
    all_open = asyncio.Barrier(count)

    async def one() -> int:
        async with database.transaction() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await all_open.wait()
            return int(pid)

    return set(await asyncio.gather(*(one() for _ in range(count))))


async def _open_connections_settled(database: Database, *, expected: int) -> int:
    """The server's count of connections to this database, once it has come to `expected`
    (a closed connection leaves pg_stat_activity a moment later) or after 5 s."""
    count = -1
    for _ in range(50):
        async with database.transaction() as session:
            count = (
                await session.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
                )
            ).scalar_one()
        if count == expected:
            break
        await asyncio.sleep(0.1)
    return int(count)


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_an_api_process_keeps_the_pool_its_settings_size_and_closes_only_the_overflow(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, database_pool_size=4, database_max_overflow=2)
    database = Database.for_api(settings)
    try:
        burst = await _backend_pids_at_once(database, 6)
        kept_after_burst = await _open_connections_settled(database, expected=4)
        ordinary = await _backend_pids_at_once(database, 4)
        again = await _backend_pids_at_once(database, 4)
    finally:
        await database.dispose()

    assert len(burst) == 6
    assert kept_after_burst == 4
    # The four kept connections serve ordinary concurrency with no new server process.
    assert ordinary <= burst
    assert again == ordinary
