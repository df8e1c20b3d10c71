"""Test databases: one migrated template per backend per test session, and a fresh copy of it
for every test (PostgreSQL `CREATE DATABASE ... TEMPLATE`, a file copy for SQLite), so tests
never share rows and never clean up by deleting."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy import text

import flomation.models  # noqa: F401  (registers every table)
from flomation.db.base import Base
from flomation.db.migrate import alembic_config
from flomation.db.session import Database

PG_ADMIN_DSN = os.environ.get(
    "FLOMATION_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


def pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def pg_admin(sql: str) -> None:
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {PG_ADMIN_DSN}: {exc}. The database tests run on both "
            "SQLite and PostgreSQL and never skip; start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`."
        ) from exc
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def build_schema(url: str) -> None:
    """Create every table from the models and stamp the newest migration (the migration tests
    prove that the migrations build the very same schema)."""
    database = Database(url, pool_size=1)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await database.dispose()

    def stamp() -> None:
        from alembic import command

        command.stamp(alembic_config(url), "head")

    await asyncio.to_thread(stamp)


class TemplateDatabases:
    """Owns the per-session templates and hands out per-test copies."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.session_tag = uuid.uuid4().hex[:8]
        self.pg_template = f"flomation_tpl_{self.session_tag}"
        self.sqlite_template = workdir / "template.db"
        self._ready: dict[str, bool] = {}
        self._lock = asyncio.Lock()
        self._pg_copies: list[str] = []

    async def _ensure(self, backend: str) -> None:
        async with self._lock:
            if self._ready.get(backend):
                return
            if backend == "postgresql":
                await pg_admin(f'CREATE DATABASE "{self.pg_template}"')
                await build_schema(pg_url(self.pg_template))
            else:
                await build_schema(f"sqlite:///{self.sqlite_template}")
            self._ready[backend] = True

    async def fresh_url(self, backend: str) -> str:
        await self._ensure(backend)
        name = f"flomation_t_{self.session_tag}_{uuid.uuid4().hex[:10]}"
        if backend == "postgresql":
            await pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_template}"')
            self._pg_copies.append(name)
            return pg_url(name)
        path = self.workdir / f"{name}.db"
        shutil.copyfile(self.sqlite_template, path)
        return f"sqlite:///{path}"

    async def drop(self, url: str) -> None:
        if url.startswith("postgresql"):
            name = url.rsplit("/", 1)[1]
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if name in self._pg_copies:
                self._pg_copies.remove(name)
        else:
            path = Path(url.split(":///", 1)[1])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    async def close(self) -> None:
        for name in list(self._pg_copies):
            await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if self._ready.get("postgresql"):
            await pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_template}" WITH (FORCE)')


async def table_names(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            rows = await connection.execute(
                text("SELECT name FROM sqlite_master WHERE type='table'")
            )
        else:
            rows = await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            )
        return {row[0] for row in rows}
