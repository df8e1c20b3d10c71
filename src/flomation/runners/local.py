"""The local runner of `flomation up`: one `flomation runner` subprocess beside the API, with a
fresh runner token of the first organisation and the API's key pinned.

Use it as a LifespanHook: `create_app(settings, lifespan_hooks=[local_runner_lifespan])`. Each
start revokes the previous local token (its secret is gone with the old process) and makes a
new one, handed to the child through its environment, never on the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from flomation.config import Settings
from flomation.db.session import Database
from flomation.runners import repository, service
from flomation.runners.schemas import RunnerTokenCreate

log = logging.getLogger("flomation.runners.local")

LOCAL_TOKEN_NAME = "local runner (flomation up)"
_STOP_GRACE_S = 35.0


async def local_runner_token(database: Database) -> str | None:
    """A new token for the local runner, in the first organisation (None when there is none)."""
    async with database.transaction() as session:
        organization_id = await repository.first_organization_id(session)
        if organization_id is None:
            return None
        await repository.revoke_tokens_named(session, organization_id, LOCAL_TOKEN_NAME)
        created = await service.create_token(
            session,
            organization_id=organization_id,
            created_by=None,
            body=RunnerTokenCreate(name=LOCAL_TOKEN_NAME),
        )
    return created.token


def local_runner_environment(settings: Settings, token: str) -> dict[str, str]:
    """The child's settings: this API's address, the token, the API key pinned, and the API's
    own certificate as the CA when it serves HTTPS."""
    tls = settings.tls_cert is not None and settings.tls_key is not None
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOMATION_")}
    env.update(
        {
            "FLOMATION_RUNNER_API": f"{'https' if tls else 'http'}://{host}:{settings.port}",
            "FLOMATION_RUNNER_TOKEN": token,
            "FLOMATION_RUNNER_NAME": "local",
            "FLOMATION_RUNNER_API_PUBLIC_KEY": service.api_signing_key(
                settings
            ).public_key_base64(),
            "FLOMATION_RUNNER_LOG_LEVEL": settings.log_level,
        }
    )
    if tls and settings.tls_cert is not None:
        env["FLOMATION_RUNNER_CA_CERT"] = str(Path(settings.tls_cert).resolve())
    return env


@asynccontextmanager
async def local_runner_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    database: Database = app.state.database
    token = await local_runner_token(database)
    if token is None:
        log.warning("no organisation yet: the local runner is not started")
        yield
        return
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from flomation.cli import main; main()",
        "runner",
        env=local_runner_environment(settings, token),
        stdin=asyncio.subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=_STOP_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
