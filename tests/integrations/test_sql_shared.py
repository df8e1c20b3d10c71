"""What the postgres and mysql connection types and query nodes do alike, against the real
servers: how they are registered; the probe gives up on a silent server and names a TLS
failure and a missing database; in a flow, an unreachable server is retried, bad SQL and a
missing database are not, a result past the step size limit and a statement past its timeout
fail with their own error types."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from flomation.engine.nodes.base import (
    Connection,
    ConnectionFailedError,
    EngineServices,
    ServiceError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations import mysql, postgres
from flomation.integrations.base import Probe
from flomation.integrations.registry import connection_types
from tests.integrations.common import unique
from tests.integrations.db_fixtures import (
    CLOSED_PORT,
    MYSQL_VALUES,
    PG_VALUES,
    mysql_connection,
    pg_connection,
    run_in_flow,
    silent_port_fixture,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.timeout(60)


@dataclass(frozen=True)
class Sql:
    name: str
    title: str
    tls_modes: tuple[str, ...]
    node_type: str
    probe: Probe
    values: dict[str, Any]
    connection: Callable[..., Connection]
    million_rows: str
    sleep_10_s: str


DIALECTS = [
    pytest.param(
        Sql(
            "postgres",
            "PostgreSQL",
            ("require", "verify-full"),
            "postgres.query",
            postgres.probe,
            PG_VALUES,
            pg_connection,
            "SELECT g FROM generate_series(1, 1000000) g",
            "SELECT pg_sleep(10)",
        ),
        id="postgres",
    ),
    pytest.param(
        Sql(
            "mysql",
            "MySQL",
            ("require",),
            "mysql.query",
            mysql.probe,
            MYSQL_VALUES,
            mysql_connection,
            "SELECT seq FROM seq_1_to_1000000",  # MariaDB's sequence engine
            "SELECT SLEEP(10)",
        ),
        id="mysql",
    ),
]


async def run(sql: Sql, statement: str, connection: Connection, **extra: Any) -> Any:
    config = {"connection": "db", "sql": statement, **extra.pop("config", {})}
    return await run_in_flow(sql.node_type, config, {"db": connection}, **extra)


@pytest.mark.parametrize("sql", DIALECTS)
def test_the_node_and_connection_types_are_registered(sql: Sql) -> None:
    node_type = default_registry().get(sql.node_type)
    assert node_type is not None
    assert node_type.describe()["connection_types"] == [sql.name]
    assert node_type.config_schema["required"] == ["connection", "sql"]
    kind = connection_types().get(sql.name)
    assert kind is not None
    assert kind.probe is not None
    assert kind.secret_fields == frozenset({"password"})
    assert kind.describe()["secret_fields"] == ["password"]
    assert set(kind.schema["properties"]) == {"host", "port", "database", "user", "password", "ssl"}


@pytest.mark.parametrize("sql", DIALECTS)
async def test_the_probe_gives_up_on_a_server_that_never_answers(
    sql: Sql, silent_port: int
) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectionFailedError) as caught:
        await sql.probe({**sql.values, "port": silent_port}, EngineServices(), 0.3)
    assert caught.value.message == (
        f"{sql.title} at 127.0.0.1:{silent_port} did not answer in time (connecting)"
    )
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("sql", DIALECTS)
async def test_the_probe_names_a_tls_failure(sql: Sql) -> None:
    # The local servers have TLS off, so asking for it fails as a misconfigured TLS would.
    for mode in sql.tls_modes:
        with pytest.raises(ConnectionFailedError) as caught:
            await sql.probe({**sql.values, "ssl": mode}, EngineServices(), 5.0)
        assert caught.value.message.startswith(
            f"TLS with {sql.title} at 127.0.0.1:{sql.values['port']} failed"
        )
        assert not caught.value.retryable


@pytest.mark.parametrize("sql", DIALECTS)
async def test_the_probe_says_the_database_is_missing(sql: Sql) -> None:
    name = unique("nodb")
    with pytest.raises(ServiceError) as caught:
        await sql.probe({**sql.values, "database": name}, EngineServices(), 5.0)
    assert f"database {name!r} does not exist" in caught.value.message


@pytest.mark.parametrize("sql", DIALECTS)
async def test_a_flow_retries_an_unreachable_server_but_not_bad_sql(sql: Sql) -> None:
    retry = {"max_attempts": 2, "delay_s": 0.01}
    unreachable = await run(sql, "SELECT 1", sql.connection(port=CLOSED_PORT), retry=retry)
    assert unreachable.step["error"]["type"] == "connection"
    assert unreachable.step["error"]["attempt"] == 2
    bad = await run(sql, "SELEC 1", sql.connection(), retry=retry)
    assert bad.step["error"]["type"] == "service"
    assert bad.step["error"]["attempt"] == 1
    missing = await run(sql, "SELECT 1", sql.connection(database=unique("nodb")))
    assert missing.step["error"]["type"] == "service"
    assert "does not exist" in missing.step["error"]["message"]


@pytest.mark.parametrize("sql", DIALECTS)
async def test_a_flow_fails_a_too_large_result_and_a_timeout_clearly(sql: Sql) -> None:
    big = await run(sql, sql.million_rows, sql.connection())
    assert big.step["error"]["type"] == "too_large"
    assert re.match(
        r"result too large \(\d+ rows so far\), use LIMIT", big.step["error"]["message"]
    )
    slow = await run(sql, sql.sleep_10_s, sql.connection(), config={"timeout_s": 0.3})
    assert slow.step["error"]["type"] == "timeout"
