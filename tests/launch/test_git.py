"""Git triggers against real repositories made by the tests (file:// and a `git daemon` on
loopback): baseline, new commits with their files, force-pushes, failures; and how
credentials reach git without appearing on its command line."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flomation.clock import ManualClock
from flomation.config import Settings
from flomation.db.session import Database
from flomation.launch.sources.gitcli import git_environment, run_git
from tests.factories import make_actor
from tests.launch.conftest import MakeLaunch
from tests.triggers.factories import executions_of, get_trigger, make_flow, make_trigger

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada",
    "GIT_AUTHOR_EMAIL": "ada@example.test",
    "GIT_COMMITTER_NAME": "Ada",
    "GIT_COMMITTER_EMAIL": "ada@example.test",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": os.environ["PATH"],
    "HOME": "/nonexistent",
}


class Repo:
    """A working repository standing in for the remote."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=self.path, env=GIT_ENV, check=True, capture_output=True, text=True
        )
        return result.stdout.strip()

    def commit(self, message: str, **files: str) -> str:
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
            self.git("add", name)
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    @property
    def url(self) -> str:
        return f"file://{self.path}"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repository = Repo(tmp_path / "remote")
    repository.commit("initial", **{"README.md": "hello"})
    return repository


async def _git_trigger(
    database: Database, clock: ManualClock, url: str, branch: str = "main"
) -> tuple[str, str]:
    actor = await make_actor(database)
    flow_id = await make_flow(database, actor.organization_id)
    trigger = await make_trigger(
        database,
        actor.organization_id,
        flow_id,
        "git",
        {"url": url, "branch": branch, "interval_s": 5},
        now=clock.now(),
    )
    return actor.organization_id, trigger.id


async def _poll(launch: Any, clock: ManualClock) -> None:
    clock.advance(5)
    await launch.run_once()


async def test_baseline_then_new_commits_fire_once_with_their_files(
    database: Database, clock: ManualClock, make_launch: MakeLaunch, repo: Repo
) -> None:
    before = repo.git("rev-parse", "HEAD")
    org, trigger_id = await _git_trigger(database, clock, repo.url)
    launch = make_launch()
    await launch.run_once()
    assert await executions_of(database, org) == []
    assert (await get_trigger(database, org, trigger_id)).state.cursor == {"head": before}

    first = repo.commit("add app", **{"src/app.py": "print(1)"})
    second = repo.commit("docs\n\nlonger body", **{"docs/a.md": "a", "README.md": "changed"})
    await _poll(launch, clock)
    await _poll(launch, clock)
    [execution] = await executions_of(database, org)
    data = execution.input
    assert data["repository"] == repo.url
    assert data["branch"] == "main"
    assert data["before"] == before
    assert data["after"] == second
    assert data["forced"] is False
    assert [c["sha"] for c in data["commits"]] == [first, second]
    assert data["commits"][0]["files"] == ["src/app.py"]
    assert sorted(data["commits"][1]["files"]) == ["README.md", "docs/a.md"]
    assert data["commits"][1]["message"] == "docs\n\nlonger body"
    assert data["commits"][0]["author"] == "Ada <ada@example.test>"
    assert execution.trigger["type"] == "git"
    assert execution.dedupe_key == f"git:{trigger_id}:{second}"


async def test_a_force_push_reports_only_the_commits_the_branch_gained(
    database: Database, clock: ManualClock, make_launch: MakeLaunch, repo: Repo
) -> None:
    base = repo.commit("base", **{"a.txt": "1"})
    org, _ = await _git_trigger(database, clock, repo.url)
    launch = make_launch()
    await launch.run_once()
    dropped = repo.commit("to be rewritten", **{"b.txt": "2"})
    await _poll(launch, clock)

    repo.git("reset", "--quiet", "--hard", base)
    rewritten = repo.commit("rewritten", **{"c.txt": "3"})
    await _poll(launch, clock)
    executions = await executions_of(database, org)
    assert len(executions) == 2
    forced = executions[1].input
    assert forced["before"] == dropped
    assert forced["after"] == rewritten
    assert forced["forced"] is True
    assert [c["sha"] for c in forced["commits"]] == [rewritten]
    assert forced["commits"][0]["files"] == ["c.txt"]


async def test_unreachable_repository_and_missing_branch_are_reported(
    database: Database, clock: ManualClock, make_launch: MakeLaunch, tmp_path: Path, repo: Repo
) -> None:
    org, missing_id = await _git_trigger(database, clock, f"file://{tmp_path}/nothing-here")
    org2, branch_id = await _git_trigger(database, clock, repo.url, branch="release")
    launch = make_launch()
    await launch.run_once()
    missing = (await get_trigger(database, org, missing_id)).state
    assert missing.last_error is not None
    assert "ls-remote failed" in missing.last_error
    assert missing.error_count == 1
    assert missing.next_fire_at == clock.now() + timedelta(seconds=10)
    no_branch = (await get_trigger(database, org2, branch_id)).state
    assert no_branch.last_error is not None
    assert "release does not exist" in no_branch.last_error

    # The branch appears: the first successful poll records the baseline and clears the error.
    repo.git("branch", "release")
    clock.advance(10)
    await launch.run_once()
    recovered = (await get_trigger(database, org2, branch_id)).state
    assert recovered.last_error is None
    assert recovered.cursor == {"head": repo.git("rev-parse", "release")}
    assert await executions_of(database, org2) == []


@pytest.fixture
def git_daemon(tmp_path: Path) -> Iterator[tuple[str, Repo]]:
    served = tmp_path / "served"
    repository = Repo(served / "project")
    repository.commit("initial", **{"x": "1"})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    daemon = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            f"--base-path={served}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(served),
        ],
        env=GIT_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"git://127.0.0.1:{port}/project"
    deadline = time.monotonic() + 10
    while subprocess.run(
        ["git", "ls-remote", url], env=GIT_ENV, capture_output=True, check=False
    ).returncode:
        if time.monotonic() > deadline:
            daemon.kill()
            pytest.fail("git daemon did not start")
        time.sleep(0.1)
    yield url, repository
    daemon.terminate()
    daemon.wait(timeout=10)


async def test_new_commits_over_the_git_protocol_fire(
    database: Database,
    clock: ManualClock,
    make_launch: MakeLaunch,
    git_daemon: tuple[str, Repo],
) -> None:
    url, repository = git_daemon
    org, _ = await _git_trigger(database, clock, url)
    launch = make_launch()
    await launch.run_once()
    new = repository.commit("over the wire", **{"y": "2"})
    await _poll(launch, clock)
    [execution] = await executions_of(database, org)
    assert execution.input["after"] == new
    assert execution.input["commits"][0]["files"] == ["y"]


async def test_an_https_token_reaches_git_through_the_environment_only(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    async with git_environment(
        "https://git.example.test/r.git", "deploy:tok-123", known_hosts=known_hosts
    ) as env:
        assert all("tok-123" not in value for key, value in env.items() if "PASSWORD" not in key)
        filled = await run_git(
            ["credential", "fill"],
            env=env,
            timeout_s=10,
            check=True,
            stdin=b"protocol=https\nhost=git.example.test\n\n",
        )
    lines = filled.stdout.decode().splitlines()
    assert "username=deploy" in lines
    assert "password=tok-123" in lines


async def test_an_ssh_key_is_a_private_file_that_is_removed_afterwards(tmp_path: Path) -> None:
    async with git_environment(
        "git@git.example.test:team/r.git", "-----BEGIN KEY-----\nabc\n", known_hosts=tmp_path / "kh"
    ) as env:
        command = env["GIT_SSH_COMMAND"]
        key_path = Path(command.split("-i ", 1)[1].strip())
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        assert key_path.read_text().startswith("-----BEGIN KEY-----")
        assert "IdentitiesOnly=yes" in command
    assert not key_path.exists()


async def test_a_force_push_seen_by_an_instance_without_the_old_commits_is_bounded(
    database: Database,
    clock: ManualClock,
    make_launch: MakeLaunch,
    repo: Repo,
    settings: Settings,
    tmp_path: Path,
) -> None:
    """After a lease move to a host whose cache never held the old head, the rewritten
    history cannot be compared: the latest commits of the new head are reported, forced."""
    base = repo.commit("base", **{"a.txt": "1"})
    org, _ = await _git_trigger(database, clock, repo.url)
    first = make_launch()
    await first.run_once()
    await first.release()

    repo.git("reset", "--quiet", "--hard", base)
    repo.git("commit", "--quiet", "--amend", "-m", "base, amended")
    rewritten = repo.commit("rewritten", **{"c.txt": "3"})
    other_host = settings.model_copy(update={"data_dir": tmp_path / "other-host"})
    second = make_launch(settings=other_host)
    await _poll(second, clock)
    [execution] = await executions_of(database, org)
    data = execution.input
    assert data["after"] == rewritten
    assert data["forced"] is True
    assert data["commits"][-1]["sha"] == rewritten
    assert len(data["commits"]) <= 20
