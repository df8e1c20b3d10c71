"""A database error is logged without its SQL and without the values it was given: not by our
error handler, not by the server, not in the exception's own text."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from flomation.api.app import create_app
from flomation.api.deps import SessionDep
from flomation.config import Settings
from flomation.db.session import Database
from tests.live import LiveServer, serve

SECRET = "param-value-7f3a"


def _failing_statement(database: Database) -> str:
    # On PostgreSQL the server's own message quotes the value (invalid input syntax for type
    # integer: "param-value-7f3a"); SQLite names the missing table.
    if database.is_postgres:
        return "SELECT CAST(:value AS integer)"
    return "SELECT * FROM no_such_table WHERE x = :value"


@pytest.fixture
async def failing_api(settings: Settings, database: Database) -> AsyncIterator[LiveServer]:
    app = create_app(settings, database=database)
    statement = _failing_statement(database)

    async def fail(session: SessionDep) -> None:
        await session.execute(text(statement), {"value": SECRET})

    app.add_api_route("/test/database-error", fail, methods=["POST"])
    # Ahead of the editor's catch-all.
    app.router.routes.insert(0, app.router.routes.pop())
    async with serve(app) as server:
        yield server


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


async def test_a_database_error_answers_500_and_logs_no_sql_nor_values(
    failing_api: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with failing_api.client() as client:
        response = await client.post("/test/database-error")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    request_id = response.headers["x-request-id"]
    logged = _everything_logged(caplog)
    assert f"unhandled error (request {request_id})" in logged
    assert "Traceback" in logged  # still debuggable: where it failed
    assert "message withheld" in logged
    for leak in (SECRET, "SELECT", "no_such_table", "[SQL", "CAST"):
        assert leak not in logged, f"{leak!r} reached the log:\n{logged}"
    # Logged once, by us: the server does not log the exception again, in full.
    assert "Exception in ASGI application" not in logged


async def test_a_database_error_text_has_neither_statement_nor_parameters(
    database: Database,
) -> None:
    with pytest.raises(Exception) as caught:
        async with database.transaction() as session:
            await session.execute(text(_failing_statement(database)), {"value": SECRET})
    message = str(caught.value)
    assert "[SQL" not in message
    assert "SELECT" not in message
    assert "parameters" not in message
