"""Variables and secrets over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from flomation.config import decode_key
from flomation.db.session import Database
from flomation.secrets import service
from flomation.secrets.crypto import Keyring
from tests.conftest import TEST_SECRET_KEY
from tests.executions.factories import claim, request
from tests.factories import Actor, echo_definition, make_actor, make_flow
from tests.live import LiveServer

PLAINTEXT = "hunter2-very-secret-value"


async def test_variables_crud_with_any_json_and_name_rules(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    viewer = await make_actor(database, role="viewer", organization_id=owner.organization_id)
    async with api.client(owner.headers) as client:
        put = await client.put("/api/v1/variables/region", json={"value": {"eu": [1, 2]}})
        assert put.status_code == 200
        assert put.json()["value"] == {"eu": [1, 2]}
        await client.put("/api/v1/variables/region", json={"value": "eu-west-1"})
        await client.put("/api/v1/variables/count", json={"value": 3})
        listed = (await client.get("/api/v1/variables")).json()["items"]
        assert [(v["name"], v["value"]) for v in listed] == [("count", 3), ("region", "eu-west-1")]
        assert (await client.get("/api/v1/variables/region")).json()["value"] == "eu-west-1"
        for bad in ("1abc", "has-dash", "x" * 65):
            answer = await client.put(f"/api/v1/variables/{bad}", json={"value": 1})
            assert answer.status_code == 422, bad
        assert (await client.delete("/api/v1/variables/count")).status_code == 204
        assert (await client.get("/api/v1/variables/count")).status_code == 404
        assert (await client.delete("/api/v1/variables/count")).status_code == 404
    async with api.client(viewer.headers) as client:
        assert (await client.get("/api/v1/variables/region")).status_code == 200
        refused = await client.put("/api/v1/variables/region", json={"value": 1})
        assert refused.status_code == 403


async def test_secret_values_are_never_returned_and_stored_encrypted(
    api: LiveServer, database: Database, owner: Actor
) -> None:
    editor = await make_actor(database, role="editor", organization_id=owner.organization_id)
    stranger = await make_actor(database)
    answers: list[str] = []
    async with api.client(owner.headers) as client:
        put = await client.put("/api/v1/secrets/API_TOKEN", json={"value": PLAINTEXT})
        assert put.status_code == 200
        assert set(put.json()) == {"name", "created_at", "updated_at"}
        answers.append(put.text)
        listed = await client.get("/api/v1/secrets")
        assert [s["name"] for s in listed.json()["items"]] == ["API_TOKEN"]
        answers.append(listed.text)
        assert (await client.get("/api/v1/secrets/API_TOKEN")).status_code in (404, 405)
        answers.append((await client.get("/api/v1/openapi.json")).text)
        bad = await client.put("/api/v1/secrets/not-ok", json={"value": "x"})
        assert bad.status_code == 422
    async with api.client(editor.headers) as client:
        refused = await client.put("/api/v1/secrets/API_TOKEN", json={"value": "overwrite"})
        assert refused.status_code == 403
        assert (await client.delete("/api/v1/secrets/API_TOKEN")).status_code == 403
    async with api.client(stranger.headers) as client:
        assert (await client.get("/api/v1/secrets")).json()["items"] == []
        assert (await client.delete("/api/v1/secrets/API_TOKEN")).status_code == 404
    assert all(PLAINTEXT not in answer for answer in answers)

    async with database.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM secrets"))).all()
    assert len(rows) == 1
    assert PLAINTEXT.encode() not in b"".join(
        value if isinstance(value, bytes) else str(value).encode() for value in rows[0]
    )
    async with database.transaction() as session:
        value = await service.get_secret_value(
            session, owner.organization_id, "API_TOKEN", keyring=_keyring()
        )
    assert value == PLAINTEXT


async def test_claim_carries_only_referenced_variables_and_secrets(
    database: Database, owner: Actor
) -> None:
    keyring = _keyring()
    async with database.transaction() as session:
        for name in ("USED", "UNUSED"):
            await service.put_secret(
                session,
                organization_id=owner.organization_id,
                name=name,
                value=f"s-{name}",
                keyring=keyring,
            )
            await service.put_variable(
                session, organization_id=owner.organization_id, name=name.lower(), value=name
            )
    definition = echo_definition()
    definition["nodes"][1]["config"]["values"]["auth"] = "{{ secrets.USED }} {{ vars.used }}"
    flow_id = await make_flow(database, owner.organization_id, definition=definition)
    await request(database, owner.organization_id, flow_id)
    async with database.transaction() as session:
        from flomation.executions import service as executions

        held = await executions.claim_executions(
            session,
            organization_id=owner.organization_id,
            runner_id="runner-1",
            labels={},
            limit=1,
            lease_seconds=30,
            keyring=keyring,
        )
    assert held[0].secrets == {"USED": "s-USED"}
    assert held[0].variables == {"used": "USED"}
    assert await claim(database, owner.organization_id) == []


async def test_ciphertext_is_bound_to_its_name_and_organisation(database: Database) -> None:
    keyring = _keyring()
    nonce, ciphertext = keyring.encrypt("org-a", "TOKEN", "value")
    assert keyring.decrypt("org-a", "TOKEN", nonce, ciphertext) == "value"
    assert keyring.open_with_current("org-b", "TOKEN", nonce, ciphertext) is None
    assert keyring.open_with_current("org-a", "OTHER", nonce, ciphertext) is None
    assert len(nonce) == 12
    assert keyring.encrypt("org-a", "TOKEN", "value")[0] != nonce


def _keyring() -> Keyring:
    return Keyring(decode_key(TEST_SECRET_KEY, "test key"))
