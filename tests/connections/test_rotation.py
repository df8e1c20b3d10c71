"""`flomation admin rotate-key` re-encrypts connections with the secrets (the real command on a
SQLite database)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from flomation.config import decode_key
from flomation.connections import service
from flomation.db.session import Database
from flomation.errors import ConfigurationError
from flomation.models.connections import Connection
from flomation.secrets.crypto import Keyring
from tests.factories import make_actor
from tests.secrets.test_rotate_key import NEW, OLD, _cli


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_rotate_key_reencrypts_every_connection_once(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    old = Keyring(decode_key(OLD, "old"))
    only_new = Keyring(decode_key(NEW, "new"))
    one = await make_actor(database)
    two = await make_actor(database)
    async with database.transaction() as session:
        for actor, host in ((one, "alpha"), (two, "beta")):
            await service.put_connection(
                session,
                organization_id=actor.organization_id,
                name="db",
                type_name="conntest",
                values={"host": host, "port": 1, "password": f"{host}-password"},
                keyring=old,
            )
    async with database.transaction() as session:
        with pytest.raises(ConfigurationError, match="cannot be decrypted"):
            await service.get_connection(
                session, organization_id=one.organization_id, name="db", keyring=only_new
            )

    rotated = await asyncio.to_thread(
        _cli, database_url, tmp_path, FLOMATION_SECRET_KEY=NEW, FLOMATION_SECRET_KEY_PREVIOUS=OLD
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-encrypted 2 connection(s); 0 already under the current key" in rotated.stdout

    async with database.transaction() as session:
        found = await service.resolve_for_runner(
            session, two.organization_id, ["db"], keyring=only_new
        )
        assert found["db"].values == {"host": "beta", "port": 1, "password": "beta-password"}
        versions = [row.key_version for row in (await session.scalars(select(Connection))).all()]
    assert versions == [2, 2]

    again = await asyncio.to_thread(
        _cli, database_url, tmp_path, FLOMATION_SECRET_KEY=NEW, FLOMATION_SECRET_KEY_PREVIOUS=OLD
    )
    assert again.returncode == 0, again.stderr
    assert "Re-encrypted 0 connection(s); 2 already under the current key" in again.stdout
    # A connection stored after the rotation gets the rotated key version.
    async with database.transaction() as session:
        await service.put_connection(
            session,
            organization_id=one.organization_id,
            name="later",
            type_name="conntest",
            values={"host": "h", "port": 1},
            keyring=only_new,
        )
        later = await session.get(Connection, (one.organization_id, "later"))
        assert later is not None
        assert later.key_version == 2


async def test_rotation_reencrypts_connections_on_both_databases(database: Database) -> None:
    """The service the command calls, on SQLite and PostgreSQL: values survive, each row is
    re-encrypted once, and ciphertext stays bound to its organisation and name."""
    old = Keyring(decode_key(OLD, "old"))
    both = Keyring(decode_key(NEW, "new"), previous=decode_key(OLD, "old"))
    only_new = Keyring(decode_key(NEW, "new"))
    actor = await make_actor(database)
    async with database.transaction() as session:
        await service.put_connection(
            session,
            organization_id=actor.organization_id,
            name="db",
            type_name="conntest",
            values={"host": "h", "port": 1, "password": "rotated-password"},
            keyring=old,
        )
        before = await session.get(Connection, (actor.organization_id, "db"))
        assert before is not None
        old_ciphertext = bytes(before.ciphertext)
    async with database.transaction() as session:
        assert await service.rotate_key(session, both) == (1, 0)
    async with database.transaction() as session:
        assert await service.rotate_key(session, both) == (0, 1)
        view = await service.get_connection(
            session, organization_id=actor.organization_id, name="db", keyring=only_new
        )
        assert view.values == {"host": "h", "port": 1, "password": "***"}
        after = await session.get(Connection, (actor.organization_id, "db"))
        assert after is not None
        assert bytes(after.ciphertext) != old_ciphertext
        # Bound to the organisation and to "connection:<name>": not openable as another's.
        assert (
            only_new.open_with_current(
                actor.organization_id, "connection:other", after.nonce, after.ciphertext
            )
            is None
        )
        assert (
            only_new.open_with_current(actor.organization_id, "db", after.nonce, after.ciphertext)
            is None
        )
