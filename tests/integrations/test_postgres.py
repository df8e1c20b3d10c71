"""The `postgres` connection type and the `postgres.query` node, against the real PostgreSQL
server on 127.0.0.1:5432 (each test on a scratch table of its own), directly and through the
engine. The server trusts loopback, so a wrong password is shown with a small loopback server
that speaks the start of PostgreSQL's protocol and refuses the password as a server does."""

from __future__ import annotations

import asyncio
import json
import re
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
    ResultTooLargeError,
    ServiceError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.engine.validation import InvalidDefinitionError
from flomation.integrations.postgres import probe
from tests.integrations.common import unique
from tests.integrations.db_fixtures import (
    CLOSED_PORT,
    PG_VALUES,
    context,
    pg_connection,
    pg_table_fixture,  # noqa: F401 (a fixture)
    run_in_flow,
    run_node,
    silent_port_fixture,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.timeout(60)


async def sql(statement: str, *args: Any) -> Any:
    """Runs a statement on the test server outside the node (setup and checks)."""
    connection = await asyncpg.connect(**{k: v for k, v in PG_VALUES.items() if k != "ssl"})
    try:
        return await connection.fetch(statement, *args)
    finally:
        await connection.close()


async def query(config: dict[str, Any], **overrides: Any) -> Any:
    outcome = await run_node(
        "postgres.query", {"connection": "db", **config}, pg_connection(**overrides)
    )
    return outcome.output


# --------------------------------------------------------------------------- probe
# (registration, a silent server, TLS and a missing database: test_sql_shared.py)


class FakePasswordServer:
    """Asks for a cleartext password, then refuses it with SQLSTATE 28P01 (as PostgreSQL does
    for a wrong password)."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.passwords: list[bytes] = []

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            await reader.readexactly(length - 4)  # the startup message
            writer.write(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            await writer.drain()
            kind = await reader.readexactly(1)
            (length,) = struct.unpack("!i", await reader.readexactly(4))
            payload = await reader.readexactly(length - 4)
            if kind == b"p":
                self.passwords.append(payload.rstrip(b"\0"))
            fields = b"".join(
                code + text + b"\0"
                for code, text in (
                    (b"S", b"FATAL"),
                    (b"V", b"FATAL"),
                    (b"C", b"28P01"),
                    (b"M", b'password authentication failed for user "postgres"'),
                )
            )
            body = fields + b"\0"
            writer.write(b"E" + struct.pack("!i", len(body) + 4) + body)
            await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def fake_password_server() -> AsyncIterator[FakePasswordServer]:
    fake = FakePasswordServer()
    fake.server = await asyncio.start_server(fake.handle, "127.0.0.1", 0)
    yield fake
    fake.server.close()
    await fake.server.wait_closed()


async def test_the_probe_answers_with_the_server_version() -> None:
    message = await probe(PG_VALUES, EngineServices(), 5.0)
    assert re.fullmatch(
        r"connected to PostgreSQL \d+\.\d+ as 'postgres', database 'postgres'", message
    )


async def test_the_probe_names_an_unreachable_host() -> None:
    with pytest.raises(ConnectionFailedError) as caught:
        await probe({**PG_VALUES, "port": CLOSED_PORT}, EngineServices(), 5.0)
    assert f"cannot reach PostgreSQL at 127.0.0.1:{CLOSED_PORT}" in caught.value.message
    assert caught.value.retryable


async def test_the_probe_says_an_unknown_role_is_refused() -> None:
    with pytest.raises(AuthenticationError) as caught:
        await probe({**PG_VALUES, "user": "flo_nobody"}, EngineServices(), 5.0)
    assert 'role "flo_nobody" does not exist' in caught.value.message


async def test_the_probe_says_a_wrong_password_is_refused(
    fake_password_server: FakePasswordServer,
) -> None:
    values = {**PG_VALUES, "port": fake_password_server.port, "password": "wrong-one"}
    with pytest.raises(AuthenticationError) as caught:
        await probe(values, EngineServices(), 5.0)
    assert "refused the credentials: password authentication failed" in caught.value.message
    assert "wrong-one" not in caught.value.message
    assert fake_password_server.passwords == [b"wrong-one"]


# --------------------------------------------------------------------------- the node


async def test_rows_come_back_json_safe(pg_table: str) -> None:
    await sql(
        f"""CREATE TABLE {pg_table} (
            id int PRIMARY KEY, price numeric(10, 2), name text, born date, seen timestamptz,
            data bytea, ref uuid, doc jsonb, ok bool, ratio float8, spent interval, addr inet,
            tags text[], big bigint)"""
    )
    # JSON values from a flow, fitted to the column types the server reports.
    inserted = await query(
        {
            "sql": f"INSERT INTO {pg_table} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
            "'1 day 2 hours 3.5 seconds', '10.0.0.1', $11, $12) RETURNING id",
            "params": [
                "1",
                12.5,
                7,
                "2024-02-29",
                "2024-02-29T12:30:00Z",
                "aGVsbG8=",
                "12345678-1234-5678-1234-567812345678",
                {"a": [1, "two"]},
                "true",
                1,
                ["x", "y"],
                2**62,
            ],
        }
    )
    assert inserted == {"rows": [{"id": 1}], "row_count": 1}
    output = await query({"sql": f"SELECT * FROM {pg_table}"})
    assert output == {
        "rows": [
            {
                "id": 1,
                "price": "12.50",
                "name": "7",
                "born": "2024-02-29",
                "seen": "2024-02-29T12:30:00+00:00",
                "data": "aGVsbG8=",
                "ref": "12345678-1234-5678-1234-567812345678",
                "doc": {"a": [1, "two"]},
                "ok": True,
                "ratio": 1.0,
                "spent": "P1DT2H0M3.5S",
                "addr": "10.0.0.1",
                "tags": ["x", "y"],
                "big": 2**62,
            }
        ],
        "row_count": 1,
    }
    json.dumps(output, allow_nan=False)


async def test_ranges_bits_composites_and_special_floats_are_json_too() -> None:
    output = await query(
        {
            "sql": "SELECT int4range(1, 5) AS r, 'empty'::int4range AS e, "
            "tsrange('2024-01-01', NULL) AS t, B'1010' AS b, ROW(1, 'a') AS c, "
            "point(1, 2) AS p, 'NaN'::float8 AS f, '-Infinity'::float8 AS g",
            "mode": "one",
        }
    )
    assert output == {
        "row": {
            "r": {"lower": 1, "upper": 5, "lower_inc": True, "upper_inc": False, "empty": False},
            "e": {
                "lower": None,
                "upper": None,
                "lower_inc": False,
                "upper_inc": False,
                "empty": True,
            },
            "t": {
                "lower": "2024-01-01T00:00:00",
                "upper": None,
                "lower_inc": True,
                "upper_inc": False,
                "empty": False,
            },
            "b": "1010",
            "c": [1, "a"],
            "p": [1.0, 2.0],
            "f": "NaN",
            "g": "-Infinity",
        }
    }
    json.dumps(output, allow_nan=False)


async def test_modes_one_and_execute(pg_table: str) -> None:
    await sql(f"CREATE TABLE {pg_table} (id int, name text)")
    assert await query(
        {"sql": f"INSERT INTO {pg_table} VALUES (1, 'a'), (2, 'b'), (3, 'c')", "mode": "execute"}
    ) == {"row_count": 3}
    assert await query(
        {
            "sql": f"SELECT * FROM {pg_table} WHERE id >= $1 ORDER BY id",
            "params": [2],
            "mode": "one",
        }
    ) == {"row": {"id": 2, "name": "b"}}
    assert await query(
        {"sql": f"SELECT * FROM {pg_table} WHERE id > $1", "params": [9], "mode": "one"}
    ) == {"row": None}
    assert await query(
        {"sql": f"UPDATE {pg_table} SET name = $1 WHERE id <= $2", "params": ["z", 2]}
    ) == {"rows": [], "row_count": 2}
    assert await query({"sql": f"SELECT * FROM {pg_table}", "mode": "execute"}) == {"row_count": 3}
    # A big result in execute mode is only counted, never kept.
    assert await query({"sql": "SELECT g FROM generate_series(1, 5000) g", "mode": "execute"}) == {
        "row_count": 5000
    }


async def test_utility_statements_and_array_params(pg_table: str) -> None:
    # Statements without result columns run outside any transaction of the node's, which
    # VACUUM and CREATE INDEX CONCURRENTLY require.
    for statement in (
        f"CREATE TABLE {pg_table} (id int)",
        f"VACUUM {pg_table}",
        f"CREATE INDEX CONCURRENTLY {pg_table}_id ON {pg_table} (id)",
    ):
        assert await query({"sql": statement}) == {"rows": [], "row_count": 0}
    assert await query(
        {"sql": "SELECT 3 = ANY($1::int[]) AS hit", "params": [[1, 2, 3]], "mode": "one"}
    ) == {"row": {"hit": True}}


async def test_params_are_bound_never_pasted_into_the_sql(pg_table: str) -> None:
    await sql(f"CREATE TABLE {pg_table} (name text)")
    attack = f"x'); DROP TABLE {pg_table}; --"
    await query({"sql": f"INSERT INTO {pg_table} VALUES ($1)", "params": [attack]})
    assert await query({"sql": f"SELECT name FROM {pg_table}"}) == {
        "rows": [{"name": attack}],
        "row_count": 1,
    }
    found = await query(
        {"sql": f"SELECT name FROM {pg_table} WHERE name = $1", "params": ["' OR '1'='1"]}
    )
    assert found == {"rows": [], "row_count": 0}
    # Nor can a second statement ride along: a prepared statement holds exactly one.
    with pytest.raises(ServiceError) as stacked:
        await query({"sql": f"SELECT 1; DROP TABLE {pg_table}"})
    assert "cannot insert multiple commands into a prepared statement" in stacked.value.message
    assert await query({"sql": f"SELECT count(*) AS n FROM {pg_table}"}) == {
        "rows": [{"n": 1}],
        "row_count": 1,
    }


def test_a_template_in_the_sql_is_refused_at_save() -> None:
    node_type = default_registry().get("postgres.query")
    assert node_type is not None
    problems = node_type.check_config(
        {"connection": "db", "sql": "SELECT * FROM t WHERE id = {{ input.id }}"}
    )
    assert [field for field, _ in problems] == ["sql"]
    assert "params" in problems[0][1]
    assert node_type.check_config({"connection": "db", "sql": "SELECT $1", "params": ["x"]}) == []


async def test_a_flow_with_a_template_in_its_sql_is_refused_before_it_runs() -> None:
    with pytest.raises(InvalidDefinitionError) as caught:
        await run_in_flow(
            "postgres.query",
            {"connection": "db", "sql": "SELECT * FROM t WHERE id = {{ input.id }}"},
            {"db": pg_connection()},
        )
    assert str(caught.value) == (
        "invalid flow definition: nodes.1.config.sql: the SQL is not a template (values "
        "pasted into SQL are an injection risk): write placeholders and pass the values in params"
    )


async def test_a_result_past_the_step_limit_fails_while_fetching() -> None:
    started = time.monotonic()
    with pytest.raises(ResultTooLargeError) as caught:
        await query({"sql": "SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 1000000) g"})
    match = re.fullmatch(
        r"result too large \((\d+) rows so far\), use LIMIT: .*", caught.value.message
    )
    assert match is not None, caught.value.message
    # Stopped within a chunk of the limit, long before a million rows.
    assert 400 < int(match[1]) < 1000
    assert time.monotonic() - started < 10
    assert not caught.value.retryable


async def test_a_too_large_result_of_a_write_leaves_nothing_behind(pg_table: str) -> None:
    await sql(f"CREATE TABLE {pg_table} (id int, pad text)")
    with pytest.raises(ResultTooLargeError):
        await query(
            {
                "sql": f"INSERT INTO {pg_table} SELECT g, repeat('x', 100) "
                "FROM generate_series(1, 5000) g RETURNING id, pad"
            }
        )
    assert await query({"sql": f"SELECT count(*) AS n FROM {pg_table}"}) == {
        "rows": [{"n": 0}],
        "row_count": 1,
    }
    assert await query(
        {"sql": f"INSERT INTO {pg_table} VALUES (1, 'a'), (2, 'b') RETURNING id", "mode": "one"}
    ) == {"row": {"id": 1}}
    assert await query({"sql": f"SELECT count(*) AS n FROM {pg_table}"}) == {
        "rows": [{"n": 2}],
        "row_count": 1,
    }


async def test_a_slow_statement_times_out_on_the_server() -> None:
    started = time.monotonic()
    with pytest.raises(NodeTimeoutError) as caught:
        await query({"sql": "SELECT pg_sleep(10)", "timeout_s": 0.3})
    assert "statement timeout" in caught.value.message
    assert time.monotonic() - started < 5


async def test_the_attempt_deadline_bounds_the_statement() -> None:
    node_type = default_registry().get("postgres.query")
    assert node_type is not None
    ctx = context(
        "postgres.query",
        {"connection": "db", "sql": "SELECT pg_sleep(10)"},
        {"db": pg_connection()},
        deadline=time.monotonic() + 0.5,
    )
    started = time.monotonic()
    with pytest.raises(NodeTimeoutError):
        await node_type.run(ctx)
    assert time.monotonic() - started < 5


async def test_sql_errors_carry_the_servers_message_and_sqlstate() -> None:
    with pytest.raises(ServiceError) as caught:
        await query({"sql": "SELECT * FROM flo_no_such_table"})
    assert caught.value.message == (
        'PostgreSQL answered: relation "flo_no_such_table" does not exist (SQLSTATE 42P01)'
    )
    assert not caught.value.retryable
    with pytest.raises(ServiceError) as syntax:
        await query({"sql": "SELEC 1"})
    assert "(SQLSTATE 42601)" in syntax.value.message


async def test_serialization_failures_and_deadlocks_are_retryable() -> None:
    for sqlstate in ("40001", "40P01"):
        with pytest.raises(ServiceError) as caught:
            await query(
                {
                    "sql": "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '"
                    + sqlstate
                    + "', MESSAGE = 'try again'; END $$"
                }
            )
        assert caught.value.message == f"PostgreSQL answered: try again (SQLSTATE {sqlstate})"
        assert caught.value.retryable


async def test_params_that_do_not_fit_are_config_errors() -> None:
    with pytest.raises(ConfigError) as count:
        await query({"sql": "SELECT $1::int + $2::int", "params": [1]})
    assert "2 parameter(s)" in count.value.message
    assert count.value.field == "params"
    with pytest.raises(ConfigError) as value:
        await query({"sql": "SELECT $1::int AS n", "params": ["seven"]})
    assert value.value.message == "params[0] ($1) is not a valid int4: 'seven'"


async def test_a_connection_of_another_type_or_a_missing_one_fails_the_node() -> None:
    with pytest.raises(ConfigError, match="is of type 'mysql'"):
        await run_node(
            "postgres.query",
            {"connection": "db", "sql": "SELECT 1"},
            pg_connection().__class__(name="db", type="mysql", values={}),
        )
    with pytest.raises(ConfigError, match="not available"):
        await run_node("postgres.query", {"connection": "db", "sql": "SELECT 1"})


# --------------------------------------------------------------------------- through the engine


async def test_a_flow_queries_and_the_password_is_masked(pg_table: str) -> None:
    # The server trusts loopback, so any password connects; it must never be shown.
    password = "pw" + unique("x").replace("_", "")
    connection = pg_connection(password=password)
    await sql(f"CREATE TABLE {pg_table} (id int, name text)")
    await sql(f"INSERT INTO {pg_table} VALUES (1, 'one'), (2, 'two')")
    ran = await run_in_flow(
        "postgres.query",
        {
            "connection": "db",
            "sql": f"SELECT id, name, $2::text AS echo FROM {pg_table} WHERE id <= $1 ORDER BY id",
            "params": ["{{ input.max }}", password],
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
        "postgres.query", {"connection": "db", "sql": f'SELECT "{password}"'}, {"db": connection}
    )
    assert failed.document["status"] == "failed"
    assert failed.step["error"]["type"] == "service"
    assert failed.step["error"]["message"] == (
        'PostgreSQL answered: column "***" does not exist (SQLSTATE 42703)'
    )
    assert password not in json.dumps(failed.document)


async def test_a_flow_fails_a_wrong_password_without_showing_it(
    fake_password_server: FakePasswordServer,
) -> None:
    password = "pw" + unique("x").replace("_", "")
    ran = await run_in_flow(
        "postgres.query",
        {"connection": "db", "sql": "SELECT 1"},
        {"db": pg_connection(port=fake_password_server.port, password=password)},
        retry={"max_attempts": 3, "delay_s": 0.01},
    )
    assert ran.step["error"]["type"] == "authentication"
    assert ran.step["error"]["attempt"] == 1
    assert "password authentication failed" in ran.step["error"]["message"]
    assert password not in json.dumps(ran.document)
    assert fake_password_server.passwords == [password.encode()]


async def test_a_flow_queries_then_builds_csv_from_the_rows(pg_table: str) -> None:
    await sql(f"CREATE TABLE {pg_table} (id int, name text, price numeric(6, 2))")
    await sql(f"INSERT INTO {pg_table} VALUES (1, 'tea', 2.50), (2, 'cake, large', 4)")
    doc = {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "q",
                "type": "postgres.query",
                "config": {"connection": "db", "sql": f"SELECT * FROM {pg_table} ORDER BY id"},
            },
            {"id": "csv", "type": "csv.build", "config": {"rows": "{{ nodes.q.output.rows }}"}},
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.csv.output.text }}"}},
        ],
        "edges": [
            {"from": "start", "to": "q"},
            {"from": "q", "to": "csv"},
            {"from": "csv", "to": "out"},
        ],
    }
    document = await run_flow(doc, None, connections={"db": pg_connection()})
    assert document["status"] == "succeeded"
    assert document["output"] == 'id,name,price\n1,tea,2.50\n2,"cake, large",4.00\n'
