"""Shared fixtures: every database test runs on SQLite and on the real PostgreSQL server, each
test on its own fresh copy of a migrated template."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from flomation import clock
from flomation.api.app import create_app
from flomation.config import Settings
from flomation.db.session import Database
from tests.databases import BACKENDS, TemplateDatabases
from tests.factories import Actor, make_actor
from tests.live import LiveServer, serve
from tests.runner.processes import Api, Recorder

TEST_SECRET_KEY = base64.urlsafe_b64encode(b"k" * 32).decode()


@pytest.fixture(scope="session")
async def templates(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TemplateDatabases]:
    databases = TemplateDatabases(tmp_path_factory.mktemp("databases"))
    yield databases
    await databases.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(templates: TemplateDatabases, backend: str) -> AsyncIterator[str]:
    url = await templates.fresh_url(backend)
    yield url
    await templates.drop(url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=5)
    yield db
    await db.dispose()


class ProcessClock:
    """This process's clock: the database's as its statements read it (leases, deadlines,
    expiries) and the application's `utcnow()`, which move together."""

    def now(self) -> datetime:
        return clock.utcnow()

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass at once: a lease or deadline within them is over, on both sides."""
        clock.set_offset_s(clock.offset_s() + seconds)


@pytest.fixture
def db_clock() -> Iterator[ProcessClock]:
    """The clock leases and deadlines are measured on, which a test moves instead of sleeping.
    Processes a test starts keep their own clock."""
    yield ProcessClock()
    clock.set_offset_s(0)


# Leases of seconds and frequent maintenance: a lost runner's work comes back within a test.
SHORT_LEASES: dict[str, object] = {
    "lease_seconds": 2.0,
    "claim_wait_seconds": 2.0,
    "maintenance_interval_seconds": 0.3,
}


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": TEST_SECRET_KEY,
        "lease_seconds": 3.0,
        "claim_wait_seconds": 2.0,
        "trigger_lease_seconds": 3.0,
        "maintenance_interval_seconds": 0.5,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "data")


@pytest.fixture
async def api(settings: Settings, database: Database) -> AsyncIterator[LiveServer]:
    """The real API, served by uvicorn on a loopback port."""
    async with serve(create_app(settings, database=database)) as server:
        yield server


@pytest.fixture
async def owner(database: Database) -> Actor:
    return await make_actor(database, role="owner")


@pytest.fixture
async def user(api: LiveServer, owner: Actor) -> AsyncIterator[Api]:
    """The owner, signed in to the live API."""
    client = Api(api, owner)
    yield client
    await client.aclose()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    """A loopback HTTP server that records what flows send it."""
    async with Recorder().running() as running:
        yield running
