"""`flomation admin rotate-key`, run as the real command on a SQLite database."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from flomation.config import decode_key
from flomation.db.session import Database
from flomation.models.secrets import Secret
from flomation.secrets import service
from flomation.secrets.crypto import Keyring
from tests.factories import make_actor

OLD = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW = base64.urlsafe_b64encode(b"n" * 32).decode()


def _cli(database_url: str, data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLOMATION_")},
        "FLOMATION_DATABASE_URL": database_url,
        "FLOMATION_DATA_DIR": str(data_dir),
        **env,
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "flomation"), "admin", "rotate-key"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_rotate_key_reencrypts_every_secret_once(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    old = Keyring(decode_key(OLD, "old"))
    new = Keyring(decode_key(NEW, "new"), previous=decode_key(OLD, "old"))
    one = await make_actor(database)
    two = await make_actor(database)
    async with database.transaction() as session:
        await service.put_secret(
            session, organization_id=one.organization_id, name="A", value="alpha", keyring=old
        )
        await service.put_secret(
            session, organization_id=two.organization_id, name="B", value="beta", keyring=old
        )
    # While both keys are set, reads work before the rotation too.
    async with database.transaction() as session:
        assert (
            await service.get_secret_value(session, one.organization_id, "A", keyring=new)
            == "alpha"
        )

    refused = await asyncio.to_thread(_cli, database_url, tmp_path, FLOMATION_SECRET_KEY=NEW)
    assert refused.returncode == 2
    assert "FLOMATION_SECRET_KEY_PREVIOUS" in refused.stderr

    rotated = await asyncio.to_thread(
        _cli, database_url, tmp_path, FLOMATION_SECRET_KEY=NEW, FLOMATION_SECRET_KEY_PREVIOUS=OLD
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "Re-encrypted 2 secret(s)" in rotated.stdout

    only_new = Keyring(decode_key(NEW, "new"))
    async with database.transaction() as session:
        assert (
            await service.get_secret_value(session, one.organization_id, "A", keyring=only_new)
            == "alpha"
        )
        assert (
            await service.get_secret_value(session, two.organization_id, "B", keyring=only_new)
            == "beta"
        )
        versions = {s.name: s.key_version for s in (await session.scalars(select(Secret))).all()}
    assert versions == {"A": 2, "B": 2}

    again = await asyncio.to_thread(
        _cli, database_url, tmp_path, FLOMATION_SECRET_KEY=NEW, FLOMATION_SECRET_KEY_PREVIOUS=OLD
    )
    assert again.returncode == 0, again.stderr
    assert "Re-encrypted 0 secret(s); 2 already under the current key" in again.stdout
    async with database.transaction() as session:
        versions = {s.name: s.key_version for s in (await session.scalars(select(Secret))).all()}
    assert versions == {"A": 2, "B": 2}
