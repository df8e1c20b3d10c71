"""Connections over real HTTP, on SQLite and PostgreSQL: CRUD, schema errors naming the field,
write-only secret fields, roles and organisations."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from flomation.config import decode_key
from flomation.connections import service
from flomation.db.session import Database
from flomation.secrets.crypto import Keyring
from tests.conftest import TEST_SECRET_KEY
from tests.factories import Actor, make_actor
from tests.live import LiveServer

PASSWORD = "pg-password-very-secret-1"
TOKEN = "tok-also-very-secret-2"


def keyring() -> Keyring:
    return Keyring(decode_key(TEST_SECRET_KEY, "test key"))


def body(**values: object) -> dict[str, object]:
    return {"type": "conntest", "values": {"host": "db.internal", "port": 5432, **values}}


async def stored_values(database: Database, organization_id: str, name: str) -> dict[str, object]:
    async with database.transaction() as session:
        found = await service.resolve_for_runner(
            session, organization_id, [name], keyring=keyring()
        )
    return found[name].values


async def test_connection_types_are_listed_with_their_schema_and_secret_fields(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        answer = await client.get("/api/v1/connection-types")
    assert answer.status_code == 200
    [item] = [item for item in answer.json() if item["type"] == "conntest"]
    assert item["title"] == "Test service"
    assert item["secret_fields"] == ["password", "token"]
    assert item["schema"]["properties"]["password"]["x-secret"] is True
    assert "auth" not in item or item["auth"] is None


async def test_crud_keeps_secret_fields_write_only_and_encrypted(
    api: LiveServer, database: Database, owner: Actor, backend: str, database_url: str
) -> None:
    answers: list[str] = []
    async with api.client(owner.headers) as client:
        put = await client.put("/api/v1/connections/warehouse", json=body(password=PASSWORD))
        assert put.status_code == 200, put.text
        answers.append(put.text)
        created = put.json()
        assert created["name"] == "warehouse"
        assert created["type"] == "conntest"
        # Set secret fields read "***"; unset ones are not there at all.
        assert created["values"] == {"host": "db.internal", "port": 5432, "password": "***"}
        assert created["status"] == "ok"
        assert created["last_tested_at"] is None
        assert created["last_error"] is None
        assert set(created) == {
            "name",
            "type",
            "values",
            "status",
            "updated_at",
            "last_tested_at",
            "last_error",
        }

        got = await client.get("/api/v1/connections/warehouse")
        assert got.status_code == 200
        assert got.json() == created
        answers.append(got.text)
        listed = await client.get("/api/v1/connections")
        assert [item["name"] for item in listed.json()["items"]] == ["warehouse"]
        assert listed.json()["next_cursor"] is None
        answers.append(listed.text)

        # "***" keeps the stored password while the host changes.
        kept = await client.put(
            "/api/v1/connections/warehouse",
            json={"type": "conntest", "values": {"host": "db2", "port": 5433, "password": "***"}},
        )
        assert kept.status_code == 200, kept.text
        answers.append(kept.text)
        assert kept.json()["values"] == {"host": "db2", "port": 5433, "password": "***"}
        assert await stored_values(database, owner.organization_id, "warehouse") == {
            "host": "db2",
            "port": 5433,
            "password": PASSWORD,
        }
        # "***" for a secret field that was never set has nothing to keep.
        nothing = await client.put(
            "/api/v1/connections/warehouse", json=body(password="***", token="***")
        )
        assert nothing.status_code == 422
        assert nothing.headers["content-type"].startswith("application/problem+json")
        assert [e["loc"] for e in nothing.json()["errors"]] == [["body", "values", "token"]]
        answers.append(nothing.text)

        # A new value replaces it.
        replaced = await client.put("/api/v1/connections/warehouse", json=body(token=TOKEN))
        assert replaced.json()["values"] == {"host": "db.internal", "port": 5432, "token": "***"}
        answers.append(replaced.text)
        assert await stored_values(database, owner.organization_id, "warehouse") == {
            "host": "db.internal",
            "port": 5432,
            "token": TOKEN,
        }
        answers.append((await client.get("/api/v1/openapi.json")).text)

        # The database holds neither value in clear, in any column.
        await client.put("/api/v1/connections/other", json=body(password=PASSWORD))
        async with database.engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM connections"))).all()
        assert len(rows) == 2
        dump = b"".join(
            value if isinstance(value, bytes) else str(value).encode()
            for row in rows
            for value in row
        )
        assert PASSWORD.encode() not in dump
        assert TOKEN.encode() not in dump
        assert b"db.internal" not in dump  # plain fields are encrypted too
        if backend == "sqlite":
            # Every byte on disk: the database file and its write-ahead log (disposing the
            # engine instead would orphan connections the live API still has checked out).
            path = Path(database_url.removeprefix("sqlite:///"))
            raw = b"".join(
                part.read_bytes()
                for part in (path, path.with_name(path.name + "-wal"))
                if part.exists()
            )
            assert PASSWORD.encode() not in raw
            assert TOKEN.encode() not in raw

        assert (await client.delete("/api/v1/connections/warehouse")).status_code == 204
        assert (await client.get("/api/v1/connections/warehouse")).status_code == 404
        assert (await client.delete("/api/v1/connections/warehouse")).status_code == 404
    assert all(PASSWORD not in answer and TOKEN not in answer for answer in answers)


async def test_values_that_break_the_schema_get_422_naming_the_field(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:

        async def refused(name: str, payload: dict[str, object]) -> dict[str, object]:
            answer = await client.put(f"/api/v1/connections/{name}", json=payload)
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert PASSWORD not in answer.text
            problem: dict[str, object] = answer.json()
            return problem

        bad_port = await refused("c1", body(port="five"))
        assert bad_port["errors"] == [
            {"loc": ["body", "values", "port"], "msg": "'five' is not of type 'integer'"}
        ]
        assert "port" in str(bad_port["detail"])

        missing = await refused("c1", {"type": "conntest", "values": {"port": 1}})
        assert missing["errors"] == [{"loc": ["body", "values", "host"], "msg": "is required"}]

        # A secret field's problem never quotes its value.
        short = await refused("c1", body(password=PASSWORD[:5]))
        assert short["errors"] == [
            {"loc": ["body", "values", "password"], "msg": "does not fit the schema (minLength)"}
        ]
        assert PASSWORD[:5] not in str(short)

        extra = await refused("c1", body(surprise=1))
        assert extra["errors"][0]["loc"] == ["body", "values"]  # type: ignore[index]
        assert "surprise" in extra["errors"][0]["msg"]  # type: ignore[index]

        unknown = await refused("c1", {"type": "no_such_type", "values": {}})
        assert unknown["errors"][0]["loc"] == ["body", "type"]  # type: ignore[index]

        for name in ("1abc", "has-dash", "x" * 65):
            await refused(name, body())
        await refused("c1", {"type": "conntest"})  # no values at all
        assert (await client.get("/api/v1/connections")).json()["items"] == []


async def test_roles_and_organisations_are_enforced(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    editor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    stranger = await make_actor(database)
    async with api.client(editor.headers) as client:
        put = await client.put("/api/v1/connections/shared", json=body(password=PASSWORD))
        assert put.status_code == 200
    async with api.client(viewer.headers) as client:
        assert (await client.get("/api/v1/connections/shared")).status_code == 200
        assert (await client.get("/api/v1/connection-types")).status_code == 200
        assert (await client.put("/api/v1/connections/shared", json=body())).status_code == 403
        assert (await client.delete("/api/v1/connections/shared")).status_code == 403
    async with api.client(stranger.headers) as client:
        assert (await client.get("/api/v1/connections")).json()["items"] == []
        assert (await client.get("/api/v1/connections/shared")).status_code == 404
        assert (await client.delete("/api/v1/connections/shared")).status_code == 404
        # The same name in another organisation is another connection, and "***" there
        # cannot reach the first organisation's password.
        borrowed = await client.put("/api/v1/connections/shared", json=body(password="***"))
        assert borrowed.status_code == 422
        mine = await client.put("/api/v1/connections/shared", json=body(host="elsewhere"))
        assert mine.status_code == 200
        assert mine.json()["values"] == {"host": "elsewhere", "port": 5432}
    assert await stored_values(database, owner.organization_id, "shared") == {
        "host": "db.internal",
        "port": 5432,
        "password": PASSWORD,
    }
    async with api.client(owner.headers) as client:
        assert (await client.delete("/api/v1/connections/shared")).status_code == 204
    assert await stored_values(database, stranger.organization_id, "shared") == {
        "host": "elsewhere",
        "port": 5432,
    }


async def test_the_list_pages_by_name(api: LiveServer, owner: Actor) -> None:
    async with api.client(owner.headers) as client:
        for name in ("c_three", "a_one", "b_two"):
            assert (await client.put(f"/api/v1/connections/{name}", json=body())).status_code == 200
        first = (await client.get("/api/v1/connections", params={"limit": 2})).json()
        assert [item["name"] for item in first["items"]] == ["a_one", "b_two"]
        rest = (
            await client.get(
                "/api/v1/connections", params={"limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        assert [item["name"] for item in rest["items"]] == ["c_three"]
        assert rest["next_cursor"] is None
        bad = await client.get("/api/v1/connections", params={"cursor": "made-up"})
        assert bad.status_code == 422
