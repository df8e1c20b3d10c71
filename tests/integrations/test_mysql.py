"""The `mysql` connection type and the `mysql.query` node, against the real MariaDB server on
127.0.0.1:3306 (each test in a scratch database of its own), directly and through the engine."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncmy
import pytest

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
    ResultTooLargeError,
    ServiceError,
)
from flomation.integrations.mysql import probe
from tests.integrations.common import unique
from tests.integrations.db_fixtures import (
    CLOSED_PORT,
    MYSQL_VALUES,
    mysql_connection,
    mysql_database_fixture,  # noqa: F401 (a fixture)
    run_in_flow,
    run_node,
    silent_port_fixture,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.timeout(60)


async def sql(statement: str, args: Any = None, database: str | None = None) -> Any:
    """Runs a statement on the test server outside the node (setup and checks)."""
    connection = await asyncmy.connect(
        host="127.0.0.1", port=3306, user="root", database=database, autocommit=True
    )
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(statement, args)
            return await cursor.fetchall()
    finally:
        connection.close()


async def query(config: dict[str, Any], database: str = "mysql", **overrides: Any) -> Any:
    connection = mysql_connection(database=database, **overrides)
    outcome = await run_node("mysql.query", {"connection": "db", **config}, connection)
    return outcome.output


@pytest.fixture
async def mysql_user(mysql_database: str) -> AsyncIterator[tuple[str, str]]:
    """A user with a password, allowed the scratch database: (user, password)."""
    user = unique("flo_u")
    password = "pw" + unique("x").replace("_", "")
    await sql(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    await sql(f"GRANT ALL ON {mysql_database}.* TO '{user}'@'%'")
    yield user, password
    await sql(f"DROP USER '{user}'@'%'")


# --------------------------------------------------------------------------- probe
# (registration, a silent server, TLS and a missing database: test_sql_shared.py)


async def test_the_probe_answers_with_the_server_version() -> None:
    message = await probe(MYSQL_VALUES, EngineServices(), 5.0)
    assert re.fullmatch(r"connected to MariaDB \d+\.\d+\.\d+ as 'root', database 'mysql'", message)


async def test_the_probe_names_an_unreachable_host() -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        await probe({**MYSQL_VALUES, "port": CLOSED_PORT}, EngineServices(), 5.0)
    assert caught.value.message.startswith(f"cannot reach MySQL at 127.0.0.1:{CLOSED_PORT}")
    assert caught.value.retryable


async def test_the_probe_says_wrong_credentials_are_refused() -> None:
    # root has no password here: sending one is a wrong password.
    with pytest.raises(AuthenticationError) as wrong:
        await probe({**MYSQL_VALUES, "password": "not-roots"}, EngineServices(), 5.0)
    assert "refused the credentials: Access denied for user 'root'" in wrong.value.message
    assert "not-roots" not in wrong.value.message
    with pytest.raises(AuthenticationError):
        await probe({**MYSQL_VALUES, "user": "flo_nobody"}, EngineServices(), 5.0)


# --------------------------------------------------------------------------- the node


async def test_rows_come_back_json_safe(mysql_database: str) -> None:
    await sql(
        """CREATE TABLE t (
            id INT PRIMARY KEY, price DECIMAL(10, 2), name VARCHAR(50), born DATE,
            seen DATETIME(3), data BLOB, ok BOOLEAN, ratio DOUBLE, spent TIME, big BIGINT,
            doc JSON)""",
        database=mysql_database,
    )
    assert await query(
        {
            "sql": "INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            "params": [
                1,
                "12.5",
                "ünïcode",
                "2024-02-29",
                "2024-02-29 12:30:00.250",
                "hello",
                True,
                0.5,
                "01:02:03",
                2**62,
                {"a": [1, "two"]},
            ],
            "mode": "execute",
        },
        database=mysql_database,
    ) == {"row_count": 1}
    output = await query({"sql": "SELECT * FROM t"}, database=mysql_database)
    assert output == {
        "rows": [
            {
                "id": 1,
                "price": "12.50",
                "name": "ünïcode",
                "born": "2024-02-29",
                "seen": "2024-02-29T12:30:00.250000",
                "data": "aGVsbG8=",
                "ok": 1,
                "ratio": 0.5,
                "spent": "P0DT1H2M3S",
                "big": 2**62,
                "doc": '{"a": [1, "two"]}',
            }
        ],
        "row_count": 1,
    }
    json.dumps(output, allow_nan=False)


async def test_modes_one_and_execute(mysql_database: str) -> None:
    await sql("CREATE TABLE t (id INT, name VARCHAR(10))", database=mysql_database)

    async def q(config: dict[str, Any]) -> Any:
        return await query(config, database=mysql_database)

    assert await q(
        {"sql": "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')", "mode": "execute"}
    ) == {"row_count": 3}
    assert await q(
        {"sql": "SELECT * FROM t WHERE id >= %s ORDER BY id", "params": [2], "mode": "one"}
    ) == {"row": {"id": 2, "name": "b"}}
    assert await q({"sql": "SELECT * FROM t WHERE id > %s", "params": [9], "mode": "one"}) == {
        "row": None
    }
    assert await q({"sql": "UPDATE t SET name = %s WHERE id IN %s", "params": ["z", [1, 2]]}) == {
        "rows": [],
        "row_count": 2,
    }
    assert await q({"sql": "SELECT name FROM t ORDER BY id"}) == {
        "rows": [{"name": "z"}, {"name": "z"}, {"name": "c"}],
        "row_count": 3,
    }
    assert await q({"sql": "SELECT seq FROM seq_1_to_5000", "mode": "execute"}) == {
        "row_count": 5000
    }


async def test_params_are_bound_never_pasted_into_the_sql(mysql_database: str) -> None:
    await sql("CREATE TABLE t (name VARCHAR(100))", database=mysql_database)
    attacks = ["x'); DROP TABLE t; --", "x\\'); DROP TABLE t; --", "' OR '1'='1"]
    for attack in attacks:
        await query(
            {"sql": "INSERT INTO t VALUES (%s)", "params": [attack]}, database=mysql_database
        )
    assert await query({"sql": "SELECT name FROM t"}, database=mysql_database) == {
        "rows": [{"name": attack} for attack in attacks],
        "row_count": 3,
    }
    found = await query(
        {"sql": "SELECT name FROM t WHERE name = %s", "params": ["' OR '1'='1' -- "]},
        database=mysql_database,
    )
    assert found == {"rows": [], "row_count": 0}
    # Nor can a second statement ride along: the connection does not allow several at once.
    with pytest.raises(ServiceError) as stacked:
        await query({"sql": "SELECT 1; DROP TABLE t"}, database=mysql_database)
    assert "(error 1064, SQLSTATE 42000)" in stacked.value.message
    assert await query({"sql": "SELECT COUNT(*) AS n FROM t"}, database=mysql_database) == {
        "rows": [{"n": 3}],
        "row_count": 1,
    }


async def test_a_result_past_the_step_limit_fails_while_fetching() -> None:
    started = time.monotonic()
    with pytest.raises(ResultTooLargeError) as caught:
        await query({"sql": "SELECT seq, REPEAT('x', 100) AS pad FROM seq_1_to_1000000"})
    match = re.fullmatch(
        r"result too large \((\d+) rows so far\), use LIMIT: .*", caught.value.message
    )
    assert match is not None, caught.value.message
    assert 400 < int(match[1]) < 1000
    assert time.monotonic() - started < 10


async def test_a_too_large_result_of_a_write_leaves_nothing_behind(mysql_database: str) -> None:
    await sql("CREATE TABLE t (id INT, pad TEXT)", database=mysql_database)
    with pytest.raises(ResultTooLargeError):
        await query(
            {
                "sql": "INSERT INTO t SELECT seq, REPEAT('x', 100) FROM seq_1_to_5000 "
                "RETURNING id, pad"
            },
            database=mysql_database,
        )
    assert await query({"sql": "SELECT COUNT(*) AS n FROM t"}, database=mysql_database) == {
        "rows": [{"n": 0}],
        "row_count": 1,
    }


async def test_one_mode_commits_a_write_that_returns_rows(mysql_database: str) -> None:
    await sql("CREATE TABLE t (id INT)", database=mysql_database)
    assert await query(
        {"sql": "INSERT INTO t VALUES (1), (2) RETURNING id", "mode": "one"},
        database=mysql_database,
    ) == {"row": {"id": 1}}
    assert await sql("SELECT id FROM t ORDER BY id", database=mysql_database) == ((1,), (2,))


async def test_a_slow_statement_times_out_on_the_server() -> None:
    started = time.monotonic()
    with pytest.raises(NodeTimeoutError) as caught:
        await query({"sql": "SELECT SLEEP(10)", "timeout_s": 0.3})
    assert "max_statement_time exceeded" in caught.value.message
    assert time.monotonic() - started < 5


async def test_sql_errors_carry_the_servers_message_and_sqlstate(mysql_database: str) -> None:
    with pytest.raises(ServiceError) as caught:
        await query({"sql": "SELECT * FROM flo_no_such_table"}, database=mysql_database)
    assert caught.value.message == (
        f"MySQL answered: Table '{mysql_database}.flo_no_such_table' doesn't exist "
        "(error 1146, SQLSTATE 42S02)"
    )
    assert not caught.value.retryable


async def test_deadlocks_and_lock_wait_timeouts_are_retryable() -> None:
    for code in (1213, 1205):
        with pytest.raises(ServiceError) as caught:
            await query(
                {
                    "sql": "BEGIN NOT ATOMIC SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = "
                    f"{code}, MESSAGE_TEXT = 'try again'; END"
                }
            )
        assert caught.value.message == f"MySQL answered: try again (error {code}, SQLSTATE 40001)"
        assert caught.value.retryable


async def test_params_that_do_not_fit_are_config_errors() -> None:
    with pytest.raises(ConfigError) as count:
        await query({"sql": "SELECT %s + %s", "params": [1]})
    assert count.value.field == "params"
    with pytest.raises(ConfigError) as percent:
        await query({"sql": "SELECT 'a' LIKE 'a%' AND %s", "params": [1]})
    assert "write a literal % as %%" in percent.value.message
    # Without params a % is just a %.
    assert await query({"sql": "SELECT 'ab' LIKE 'a%' AS m"}) == {
        "rows": [{"m": 1}],
        "row_count": 1,
    }


# --------------------------------------------------------------------------- through the engine


async def test_a_flow_queries_and_the_password_is_masked(
    mysql_database: str, mysql_user: tuple[str, str]
) -> None:
    user, password = mysql_user
    await sql("CREATE TABLE t (id INT, name VARCHAR(10))", database=mysql_database)
    await sql("INSERT INTO t VALUES (1, 'one'), (2, 'two')", database=mysql_database)
    connection = mysql_connection(database=mysql_database, user=user, password=password)
    ran = await run_in_flow(
        "mysql.query",
        {
            "connection": "db",
            "sql": "SELECT id, name, %s AS echo FROM t WHERE id <= %s ORDER BY id",
            "params": [password, "{{ input.max }}"],
        },
        {"db": connection},
        input={"max": 2},
    )
    assert ran.document["status"] == "succeeded"
    assert ran.step["output"] == {
        "rows": [{"id": 1, "name": "one", "echo": "***"}, {"id": 2, "name": "two", "echo": "***"}],
        "row_count": 2,
    }
    assert password not in json.dumps(ran.document)

    failed = await run_in_flow(
        "mysql.query", {"connection": "db", "sql": f"SELECT {password}"}, {"db": connection}
    )
    assert failed.step["error"]["type"] == "service"
    assert failed.step["error"]["message"] == (
        "MySQL answered: Unknown column '***' in 'SELECT' (error 1054, SQLSTATE 42S22)"
    )
    assert password not in json.dumps(failed.document)

    wrong = await run_in_flow(
        "mysql.query",
        {"connection": "db", "sql": "SELECT 1"},
        {"db": mysql_connection(database=mysql_database, user=user, password=password + "x")},
    )
    assert wrong.step["error"]["type"] == "authentication"
    assert password not in json.dumps(wrong.document)
