"""`flomation admin create-user` as a real process, and the first-admin bootstrap."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from flomation.api.app import create_app
from flomation.auth.passwords import verify_password
from flomation.auth.service import ensure_first_admin
from flomation.db.session import Database
from flomation.errors import ConfigurationError
from flomation.models.auth import Membership, Organization, User
from tests.auth.conftest import login
from tests.conftest import make_settings
from tests.factories import Actor
from tests.live import LiveServer, serve

FLOMATION = str(Path(sys.executable).parent / "flomation")
PASSWORD = "operator password"


async def _run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("FLOMATION_")}
    process = await asyncio.create_subprocess_exec(
        FLOMATION,
        *args,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_create_user_on_a_fresh_data_dir_then_log_in(tmp_path: Path, backend: str) -> None:
    data_dir = tmp_path / "fresh"
    code, out, err = await _run_cli(
        "admin",
        "create-user",
        "--email",
        "Ada@Example.test",
        "--password",
        PASSWORD,
        "--org",
        "Analytical Engines",
        "--name",
        "Ada Lovelace",
        env={"FLOMATION_DATA_DIR": str(data_dir)},
    )
    assert code == 0, err
    assert "ada@example.test" in out
    assert "owner" in out  # the organisation is new, so its first user owns it
    url = f"sqlite:///{data_dir / 'flomation.db'}"
    database = Database(url)
    settings = make_settings(url, data_dir)
    async with (
        serve(create_app(settings, database=database)) as server,
        server.client() as client,
    ):
        logged_in = await login(client, "ada@example.test", PASSWORD)
        me = await client.get("/api/v1/me")
    assert logged_in.status_code == 200, logged_in.text
    assert me.json()["name"] == "Ada Lovelace"
    assert me.json()["role"] == "owner"
    assert me.json()["organization"]["name"] == "Analytical Engines"


async def test_create_user_joins_the_first_organisation_on_either_database(
    api: LiveServer, owner: Actor, database_url: str
) -> None:
    env = {"FLOMATION_DATABASE_URL": database_url}
    code, _, err = await _run_cli(
        "admin", "create-user", "--email", "ops@example.test", "--password", PASSWORD, env=env
    )
    assert code == 0, err
    taken = await _run_cli(
        "admin",
        "create-user",
        "--email",
        owner.email.upper(),
        "--password",
        PASSWORD,
        "--role",
        "viewer",
        env=env,
    )
    async with api.client(owner.headers) as client:
        users = (await client.get("/api/v1/users")).json()["items"]
        logged_in = await login(client, "ops@example.test", PASSWORD)
    # The organisation has an owner already, so the default role is admin.
    assert {user["email"]: user["role"] for user in users} == {
        owner.email: "owner",
        "ops@example.test": "admin",
    }
    assert logged_in.status_code == 200
    assert taken[0] == 1
    assert "already exists" in taken[2]


async def test_create_user_refuses_bad_input_before_touching_a_database(tmp_path: Path) -> None:
    env = {"FLOMATION_DATA_DIR": str(tmp_path / "untouched")}
    short = await _run_cli(
        "admin", "create-user", "--email", "x@example.test", "--password", "short", env=env
    )
    bad_role = await _run_cli(
        "admin",
        "create-user",
        "--email",
        "y@example.test",
        "--password",
        PASSWORD,
        "--role",
        "god",
        env=env,
    )
    assert short[0] == 2
    assert "8 characters" in short[2]
    assert bad_role[0] == 2
    assert not (tmp_path / "untouched").exists()


async def test_first_admin_is_the_owner_of_default_and_made_once(database: Database) -> None:
    async with database.transaction() as session:
        created = await ensure_first_admin(session, "Root@Example.test", "given password")
    async with database.transaction() as session:
        again = await ensure_first_admin(session, "other@example.test", "given password")
        rows = (
            await session.execute(
                select(User, Membership, Organization)
                .join(Membership, Membership.user_id == User.id)
                .join(Organization, Organization.id == Membership.organization_id)
            )
        ).all()
    assert created == ("root@example.test", "given password")
    assert again is None
    assert len(rows) == 1
    user, membership, organization = rows[0]
    assert user.email == "root@example.test"
    assert membership.role == "owner"
    assert organization.name == "Default"
    assert verify_password(user.password_hash, "given password")


async def test_first_admin_without_a_password_gets_a_generated_one(database: Database) -> None:
    async with database.transaction() as session:
        created = await ensure_first_admin(session, None, None)
    assert created is not None
    email, password = created
    assert email == "admin@localhost"
    assert len(password) >= 16
    async with database.transaction() as session:
        stored = await session.scalar(select(User.password_hash).where(User.email == email))
    assert stored is not None
    assert verify_password(stored, password)


async def test_first_admin_is_not_made_when_users_exist(owner: Actor, database: Database) -> None:
    async with database.transaction() as session:
        assert await ensure_first_admin(session, "late@example.test", None) is None
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_first_admin_refuses_an_unusable_configured_password(database: Database) -> None:
    with pytest.raises(ConfigurationError, match="FLOMATION_ADMIN_PASSWORD"):
        async with database.transaction() as session:
            await ensure_first_admin(session, "root@example.test", "short")


async def test_processes_starting_together_make_one_first_admin(
    database_url: str, database: Database
) -> None:
    others = [Database(database_url, pool_size=1) for _ in range(2)]

    async def bootstrap(db: Database) -> tuple[str, str] | None:
        async with db.transaction() as session:
            return await ensure_first_admin(session, "root@example.test", "given password")

    try:
        results = await asyncio.gather(*(bootstrap(db) for db in others))
    finally:
        for db in others:
            await db.dispose()
    assert sorted(results, key=lambda result: result is None) == [
        ("root@example.test", "given password"),
        None,
    ]
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
