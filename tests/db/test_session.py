"""The connection pool: a connection the server closed is never handed out again."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from flomation.db.session import Database
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
