"""Hostile case 3 (issue 25): Launch fetched anything. A real `flomation launch` process polls
triggers an editor made: a `file://` repository on the control-plane host, and Git and S3
triggers aimed at a service on loopback. Refused by default (the local repository) and under
the SaaS policy (loopback), with the reason in the trigger's last_error as the API shows it;
the loopback service sees no request. An operator who allows them gets them polled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flomation.clock import utcnow
from flomation.config import Settings
from flomation.db.session import Database
from tests.conftest import TEST_SECRET_KEY
from tests.factories import Actor
from tests.launch.servers import RecordingServer, recording_server
from tests.launch.test_git import Repo
from tests.live import LiveServer
from tests.runner.processes import FLOMATION
from tests.triggers.factories import executions_of, make_flow, make_trigger, put_secret

WAIT_S = 60.0  # a cold interpreter on a busy 2-core machine takes seconds to start


@contextmanager
def launch_process(database_url: str, data_dir: Path, **env: str) -> Iterator[None]:
    """`flomation launch` with `env` on top of the test database's settings."""
    data_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(data_dir),
        "FLOMATION_DATABASE_URL": database_url,
        "FLOMATION_SECRET_KEY": TEST_SECRET_KEY,
        "FLOMATION_DATA_DIR": str(data_dir),
        "FLOMATION_TRIGGER_LEASE_SECONDS": "3",
        "FLOMATION_TRIGGER_CLAIM_INTERVAL_SECONDS": "0.5",
        "FLOMATION_LOG_LEVEL": "WARNING",
        **env,
    }
    with (data_dir / "launch.log").open("wb") as log:
        process = subprocess.Popen(
            [FLOMATION, "launch"], env=environment, stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        yield
    finally:
        # SIGTERM: it releases its leases, so the next process takes the triggers at once.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _state_when(
    client: Any, trigger_id: str, ready: Any, timeout_s: float = WAIT_S
) -> dict[str, Any]:
    """The trigger's state as the API shows it, once `ready(state)` holds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        answer = await client.get(f"/api/v1/triggers/{trigger_id}")
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()["state"]
        if ready(state):
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"trigger {trigger_id} never got there: {state}")
        await asyncio.sleep(0.2)


async def _requests_when(server: RecordingServer, wanted: int) -> list[str]:
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while len(server.requests) < wanted and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
    return server.requests


async def test_a_file_git_trigger_is_refused_at_the_door_and_by_launch(
    api: LiveServer,
    owner: Actor,
    database: Database,
    database_url: str,
    tmp_path: Path,
) -> None:
    secret = Repo(tmp_path / "root-only")
    secret.commit("the root password is hunter2", **{"etc/shadow": "root:$6$..."})
    flow_id = await make_flow(database, owner.organization_id)
    async with api.client(owner.headers) as client:
        refused = await client.post(
            f"/api/v1/flows/{flow_id}/triggers",
            json={"type": "git", "config": {"url": secret.url, "interval_s": 1}},
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "config", "url"]

        # One stored while the operator allowed local repositories: Launch refuses it now.
        stored = await make_trigger(
            database,
            owner.organization_id,
            flow_id,
            "git",
            {"url": secret.url, "interval_s": 1},
            now=utcnow(),
            allow_local_git=True,
        )
        with launch_process(database_url, tmp_path / "launch"):
            state = await _state_when(client, stored.id, lambda s: s["last_error"])
            secret.commit("more", **{"root/.ssh/id_ed25519": "PRIVATE KEY"})
            await asyncio.sleep(2)  # a poll or two more: still nothing read
            state = await _state_when(client, stored.id, lambda s: s["last_error"])
    assert "local repositories" in state["last_error"]
    assert "FLOMATION_LAUNCH_ALLOW_LOCAL_GIT" in state["last_error"]
    assert state["cursor"] is None
    assert await executions_of(database, owner.organization_id) == []


async def _loopback_triggers(
    database: Database, settings: Settings, organization_id: str, server: RecordingServer
) -> tuple[str, str]:
    flow_id = await make_flow(database, organization_id)
    git = await make_trigger(
        database,
        organization_id,
        flow_id,
        "git",
        {"url": f"{server.url}/internal.git", "interval_s": 1},
        now=utcnow(),
    )
    await put_secret(
        database,
        settings,
        organization_id,
        "S3_KEYS",
        '{"access_key_id": "a", "secret_access_key": "b"}',
    )
    s3 = await make_trigger(
        database,
        organization_id,
        flow_id,
        "s3",
        {
            "bucket": "internal",
            "endpoint_url": server.url,
            "credentials": "S3_KEYS",
            "interval_s": 1,
        },
        now=utcnow(),
    )
    return git.id, s3.id


async def test_git_and_s3_triggers_on_loopback_are_refused_when_sign_up_is_open(
    api: LiveServer,
    owner: Actor,
    database: Database,
    database_url: str,
    tmp_path: Path,
) -> None:
    with recording_server() as internal:
        git_id, s3_id = await _loopback_triggers(
            database, api.app.state.settings, owner.organization_id, internal
        )
        async with api.client(owner.headers) as client:
            with launch_process(database_url, tmp_path / "saas", FLOMATION_SIGNUP="open"):
                states = [
                    await _state_when(client, trigger_id, lambda s: s["last_error"])
                    for trigger_id in (git_id, s3_id)
                ]
            assert internal.requests == []
            for state in states:
                assert "Launch's egress policy (shared_cloud)" in state["last_error"]
                assert "127.0.0.1" in state["last_error"]
                assert "blocked range 127.0.0.0/8" in state["last_error"]
                assert state["cursor"] is None

            # The operator allows this address: both triggers now reach the service.
            with launch_process(
                database_url,
                tmp_path / "allowed",
                FLOMATION_SIGNUP="open",
                FLOMATION_LAUNCH_EGRESS_ALLOW="127.0.0.1/32",
            ):
                for trigger_id in (git_id, s3_id):
                    await _state_when(
                        client,
                        trigger_id,
                        lambda s: s["last_error"] and "egress policy" not in s["last_error"],
                    )
                requests = await _requests_when(internal, 2)
    assert "GET /internal.git/info/refs?service=git-upload-pack" in requests
    assert any(request.startswith("GET /internal?") for request in requests)
