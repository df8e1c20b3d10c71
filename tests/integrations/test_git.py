"""The git nodes and probe against real repositories: a bare repository on disk (file://)
and the same behind `git http-backend` with basic auth. Reading by glob at a branch, tag or
commit, committing and pushing (new branches, empty repositories, nothing to change),
refusing values that could become options or leave the repository, and masking."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flomation.engine.egress import AddressPolicy
from flomation.engine.event_values import EVENT_VALUE_LIMIT
from flomation.engine.nodes.base import (
    AuthenticationError,
    BlockedError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
    ResultTooLargeError,
    ServiceError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations import git as git_module
from flomation.integrations.git import GitCommitNode, GitReadNode, glob_regex, probe
from flomation.integrations.registry import connection_types
from tests.integrations import files_fixtures
from tests.integrations.files_fixtures import (
    GitHttpServer,
    Repo,
    SilentServer,
    flow,
    free_port,
    make_bare_repo,
    push,
    read_remote,
    run_engine,
    run_node,
)

bare_repo = files_fixtures.bare_repo
git_http = files_fixtures.git_http
silent_server = files_fixtures.silent_server

AUTHOR = {"name": "Grace Hopper", "email": "grace@example.test"}


def url_of(bare: Path) -> dict[str, str]:
    return {"url": f"file://{bare}"}


@pytest.fixture
def seeded(bare_repo: tuple[Repo, Path]) -> tuple[Repo, Path]:
    work, bare = bare_repo
    work.commit(
        "seed",
        **{
            "README.md": "hello",
            "docs/a.md": "# A",
            "docs/sub/b.md": "# B",
            "docs/c.txt": "not markdown",
            "src/x.py": "print(1)",
        },
    )
    (work.path / "logo.bin").write_bytes(b"\x00\x01\xfe\xff")
    work.git("add", "logo.bin")
    work.git("commit", "--quiet", "-m", "binary")
    work.git("tag", "v1")
    push(work)
    work.git("push", "--quiet", "origin", "v1")
    return work, bare


def test_git_types_are_registered() -> None:
    registry = default_registry()
    for name in ("git.read", "git.commit"):
        node_type = registry.get(name)
        assert node_type is not None
        assert node_type.connection_types == ("git",)
    git = connection_types().get("git")
    assert git is not None
    assert git.secret_fields == {"token", "private_key"}


def test_globs() -> None:
    assert glob_regex("docs/**/*.md").match("docs/a.md")
    assert glob_regex("docs/**/*.md").match("docs/x/y/z.md")
    assert not glob_regex("docs/*.md").match("docs/x/y.md")
    assert glob_regex("**").match("any/path/at/all")
    assert glob_regex("src/?.py").match("src/x.py")
    assert not glob_regex("src/?.py").match("src/xy.py")
    assert glob_regex("[!a]*.md").match("b.md")
    assert not glob_regex("[!a]*.md").match("a.md")


async def test_read_by_glob_at_the_default_branch(seeded: tuple[Repo, Path]) -> None:
    work, bare = seeded
    run = await run_node(GitReadNode, {"paths": ["docs/**/*.md", "README.md"]}, "git", url_of(bare))
    assert run.outcome["commit"] == work.git("rev-parse", "HEAD")
    assert run.outcome["files"] == [
        {"path": "README.md", "content": "hello"},
        {"path": "docs/a.md", "content": "# A"},
        {"path": "docs/sub/b.md", "content": "# B"},
    ]


async def test_read_binary_files_as_base64(seeded: tuple[Repo, Path]) -> None:
    _, bare = seeded
    run = await run_node(GitReadNode, {"paths": ["*.bin"]}, "git", url_of(bare))
    assert run.outcome["files"] == [
        {"path": "logo.bin", "content": None, "content_base64": "AAH+/w=="}
    ]


async def test_read_at_a_tag_a_branch_and_a_commit(seeded: tuple[Repo, Path]) -> None:
    work, bare = seeded
    tagged = work.git("rev-parse", "HEAD")
    work.git("checkout", "--quiet", "-b", "feature")
    work.commit("feature", **{"docs/a.md": "# A on feature"})
    push(work, "feature")
    on_branch = await run_node(
        GitReadNode, {"ref": "feature", "paths": ["docs/a.md"]}, "git", url_of(bare)
    )
    assert on_branch.outcome["files"] == [{"path": "docs/a.md", "content": "# A on feature"}]
    on_tag = await run_node(GitReadNode, {"ref": "v1", "paths": ["docs/a.md"]}, "git", url_of(bare))
    assert on_tag.outcome["commit"] == tagged
    assert on_tag.outcome["files"] == [{"path": "docs/a.md", "content": "# A"}]
    by_id = await run_node(
        GitReadNode, {"ref": tagged, "paths": ["docs/a.md"]}, "git", url_of(bare)
    )
    assert by_id.outcome["commit"] == tagged


async def test_read_of_a_missing_ref_says_so(seeded: tuple[Repo, Path]) -> None:
    _, bare = seeded
    with pytest.raises(ServiceError, match="has no 'nope'") as caught:
        await run_node(GitReadNode, {"ref": "nope"}, "git", url_of(bare))
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    "ref", ["--upload-pack=touch /tmp/flomation-pwned", "-h", "a..b", "main:evil", "x y", "@{-1}"]
)
async def test_refs_that_could_be_options_are_refused(
    seeded: tuple[Repo, Path], ref: str, tmp_path: Path
) -> None:
    _, bare = seeded
    with pytest.raises(ConfigError, match="is not a branch, tag or commit id"):
        await run_node(GitReadNode, {"ref": ref}, "git", url_of(bare))
    with pytest.raises(ConfigError):
        await run_node(
            GitCommitNode,
            {"branch": ref, "message": "m", "files": [{"path": "a", "content": "b"}]},
            "git",
            url_of(bare),
        )
    assert not Path("/tmp/flomation-pwned").exists()


async def test_reading_past_the_step_size_limit_fails(bare_repo: tuple[Repo, Path]) -> None:
    work, bare = bare_repo
    work.commit("big", **{"big.txt": "x" * (EVENT_VALUE_LIMIT + 1), "small.txt": "ok"})
    push(work)
    with pytest.raises(ResultTooLargeError, match="narrow `paths`"):
        await run_node(GitReadNode, {}, "git", url_of(bare))
    small = await run_node(GitReadNode, {"paths": ["small.txt"]}, "git", url_of(bare))
    assert small.outcome["files"] == [{"path": "small.txt", "content": "ok"}]


async def test_commit_writes_deletes_and_pushes(seeded: tuple[Repo, Path]) -> None:
    work, bare = seeded
    before = work.git("rev-parse", "HEAD")
    run = await run_node(
        GitCommitNode,
        {
            "branch": "main",
            "message": "Update docs\n\nFrom a flow.",
            "files": [
                {"path": "docs/a.md", "content": "# A, updated"},
                {"path": "new/dir/file.json", "content": '{"n": 1}'},
                {"path": "bin/data", "content_base64": "AAEC"},
                {"path": "src/x.py", "delete": True},
            ],
            "author": AUTHOR,
        },
        "git",
        url_of(bare),
    )
    commit = run.outcome["commit"]
    assert run.outcome["changed"] is True
    assert read_remote(bare, "rev-parse", "refs/heads/main") == commit
    assert read_remote(bare, "rev-parse", f"{commit}^") == before
    assert read_remote(bare, "show", f"{commit}:docs/a.md") == "# A, updated"
    assert read_remote(bare, "show", f"{commit}:new/dir/file.json") == '{"n": 1}'
    assert read_remote(bare, "cat-file", "-s", f"{commit}:bin/data") == "3"
    files = read_remote(bare, "ls-tree", "-r", "--name-only", commit).splitlines()
    assert "src/x.py" not in files
    assert "docs/sub/b.md" in files  # untouched files stay
    assert read_remote(bare, "log", "-1", "--format=%an <%ae>|%cn|%B", commit) == (
        "Grace Hopper <grace@example.test>|Grace Hopper|Update docs\n\nFrom a flow."
    )

    # The same contents again: nothing to commit, nothing pushed.
    again = await run_node(
        GitCommitNode,
        {
            "branch": "main",
            "message": "again",
            "files": [{"path": "docs/a.md", "content": "# A, updated"}],
        },
        "git",
        url_of(bare),
    )
    assert again.outcome == {"commit": commit, "changed": False}
    assert read_remote(bare, "rev-parse", "refs/heads/main") == commit


async def test_commit_to_a_new_branch_starts_at_the_default_one(seeded: tuple[Repo, Path]) -> None:
    work, bare = seeded
    run = await run_node(
        GitCommitNode,
        {
            "branch": "flows/report",
            "message": "report",
            "files": [{"path": "report.md", "content": "r"}],
        },
        "git",
        url_of(bare),
    )
    assert read_remote(bare, "rev-parse", "refs/heads/flows/report") == run.outcome["commit"]
    assert read_remote(bare, "rev-parse", f"{run.outcome['commit']}^") == work.git(
        "rev-parse", "HEAD"
    )
    assert read_remote(bare, "rev-parse", "refs/heads/main") == work.git("rev-parse", "HEAD")


async def test_commit_to_an_empty_repository(bare_repo: tuple[Repo, Path]) -> None:
    _, bare = bare_repo
    run = await run_node(
        GitCommitNode,
        {"branch": "main", "message": "first", "files": [{"path": "a.txt", "content": "a"}]},
        "git",
        url_of(bare),
    )
    assert read_remote(bare, "rev-list", "--count", "main") == "1"
    assert read_remote(bare, "show", f"{run.outcome['commit']}:a.txt") == "a"
    # Reading an empty repository says there is nothing.
    _, empty = make_bare_repo(bare.parent / "empty")
    with pytest.raises(ServiceError, match="has no commits"):
        await run_node(GitReadNode, {}, "git", url_of(empty))


@pytest.mark.parametrize(
    "path",
    ["../outside", "/etc/passwd", ".git/config", "a/../../b", "a//b", "sub/.GIT/hooks/x", ""],
)
async def test_commit_paths_must_stay_in_the_repository(
    seeded: tuple[Repo, Path], path: str
) -> None:
    _, bare = seeded
    before = read_remote(bare, "rev-parse", "refs/heads/main")
    with pytest.raises(ConfigError, match="relative path inside the repository"):
        await run_node(
            GitCommitNode,
            {"branch": "main", "message": "m", "files": [{"path": path, "content": "x"}]},
            "git",
            url_of(bare),
        )
    assert read_remote(bare, "rev-parse", "refs/heads/main") == before


async def test_a_refused_push_says_what_the_remote_answered(seeded: tuple[Repo, Path]) -> None:
    _, bare = seeded
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch: use a merge request' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(ServiceError, match="protected branch") as caught:
        await run_node(
            GitCommitNode,
            {"branch": "main", "message": "m", "files": [{"path": "a", "content": "b"}]},
            "git",
            url_of(bare),
        )
    assert caught.value.retryable is False


async def test_over_http_with_a_token(seeded: tuple[Repo, Path], git_http: GitHttpServer) -> None:
    _, bare = seeded
    values = {"url": git_http.url, "username": git_http.username, "token": git_http.token}
    read = await run_node(GitReadNode, {"paths": ["README.md"]}, "git", values)
    assert read.outcome["files"] == [{"path": "README.md", "content": "hello"}]
    assert any(a.startswith("Basic ") for a in git_http.authorizations)

    pushed = await run_node(
        GitCommitNode,
        {"branch": "main", "message": "over http", "files": [{"path": "h.txt", "content": "h"}]},
        "git",
        values,
    )
    assert read_remote(bare, "rev-parse", "refs/heads/main") == pushed.outcome["commit"]
    assert any(r.startswith("POST /remote.git/git-receive-pack") for r in git_http.requests)

    message = await probe(values, EngineServices(), 15)
    assert "is reachable: main at " in message
    assert git_http.token not in message


async def test_over_http_a_wrong_token_is_an_authentication_error(
    seeded: tuple[Repo, Path], git_http: GitHttpServer
) -> None:
    values = {"url": git_http.url, "username": git_http.username, "token": "wrong-token"}
    with pytest.raises(AuthenticationError) as caught:
        await run_node(GitReadNode, {}, "git", values)
    assert caught.value.retryable is False
    assert "wrong-token" not in caught.value.message
    with pytest.raises(AuthenticationError):
        await probe({"url": git_http.url}, EngineServices(), 15)


async def test_probe(seeded: tuple[Repo, Path], bare_repo: tuple[Repo, Path]) -> None:
    _, bare = seeded
    assert "is reachable: main at " in await probe(url_of(bare), EngineServices(), 15)
    with pytest.raises(ConnectionFailedError):
        await probe({"url": f"http://127.0.0.1:{free_port()}/r.git"}, EngineServices(), 15)
    with pytest.raises(ServiceError):
        await probe({"url": f"file://{bare.parent}/missing.git"}, EngineServices(), 15)


async def test_urls_that_are_refused(bare_repo: tuple[Repo, Path]) -> None:
    _, bare = bare_repo
    with pytest.raises(ConfigError, match="holds a password"):
        await probe({"url": "https://ada:hunter2@example.test/r.git"}, EngineServices(), 15)
    with pytest.raises(ConfigError, match="not a repository URL"):
        await probe({"url": "--upload-pack=touch /tmp/x"}, EngineServices(), 15)
    with pytest.raises(ConfigError, match="only https://"):
        await probe({"url": "ext::sh -c touch% /tmp/x"}, EngineServices(), 15)
    # A runner whose egress policy limits destinations reads no local repositories, and
    # reaches no loopback servers.
    limited = EngineServices(egress=AddressPolicy.preset("shared_cloud"))
    with pytest.raises(ConfigError, match="local repositories are not allowed"):
        await probe(url_of(bare), limited, 15)
    with pytest.raises(BlockedError):
        await probe({"url": "http://127.0.0.1:9/r.git"}, limited, 15)


async def test_secret_values_are_masked_in_stored_steps(seeded: tuple[Repo, Path]) -> None:
    _, bare = seeded
    token = "ghp_flomationSecretToken0123456789"
    doc = flow(
        {
            "id": "write",
            "type": "git.commit",
            "config": {
                "connection": "conn",
                "branch": "main",
                "message": "m",
                "files": [{"path": "leak.txt", "content": token}],
            },
        },
        {"id": "read", "type": "git.read", "config": {"connection": "conn", "paths": ["leak.txt"]}},
    )
    document = await run_engine(doc, "git", {**url_of(bare), "token": token})
    assert document["status"] == "succeeded"
    read = next(step for step in document["steps"] if step["node_id"] == "read")
    assert read["output"]["files"][0]["path"] == "leak.txt"
    assert token not in json.dumps(document)
    assert read_remote(bare, "show", "main:leak.txt") == token


async def test_a_branch_that_moved_on_is_retried_on_the_new_tip(
    seeded: tuple[Repo, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone pushes between the node's fetch and its push: the push is refused as
    retryable, and the retry applies the files on top of their commit."""
    work, bare = seeded
    real_push = git_module._push
    raced: list[str] = []

    async def push_after_someone_else(git: Any, commit: str, branch: str) -> None:
        if not raced:
            raced.append(work.commit("someone else", **{"other.txt": "theirs"}))
            push(work)
        await real_push(git, commit, branch)

    monkeypatch.setattr(git_module, "_push", push_after_someone_else)
    config = {"branch": "main", "message": "ours", "files": [{"path": "ours.txt", "content": "o"}]}
    with pytest.raises(ServiceError, match="moved on") as caught:
        await run_node(GitCommitNode, config, "git", url_of(bare))
    assert caught.value.retryable is True
    assert read_remote(bare, "rev-parse", "refs/heads/main") == raced[0]

    retried = await run_node(GitCommitNode, config, "git", url_of(bare))
    commit = retried.outcome["commit"]
    assert read_remote(bare, "rev-parse", f"{commit}^") == raced[0]
    assert read_remote(bare, "show", f"{commit}:other.txt") == "theirs"
    assert read_remote(bare, "show", f"{commit}:ours.txt") == "o"


def test_an_ssh_key_is_a_private_file_named_in_the_ssh_command(tmp_path: Path) -> None:
    command = git_module._ssh_command(tmp_path, "-----BEGIN KEY-----\nabc\n", None)
    key = tmp_path / "key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_text() == "-----BEGIN KEY-----\nabc\n"
    assert f"-i {key}" in command
    assert "StrictHostKeyChecking=accept-new" in command
    assert "BatchMode=yes" in command
    (tmp_path / "x").mkdir()
    pinned = git_module._ssh_command(tmp_path / "x", "k", "host ssh-ed25519 AAAA")
    assert "StrictHostKeyChecking=yes" in pinned
    assert (tmp_path / "x" / "known_hosts").read_text() == "host ssh-ed25519 AAAA"


def test_schemas_are_valid() -> None:
    git = connection_types().get("git")
    assert git is not None
    Draft202012Validator.check_schema(git.schema)
    for node_type in (GitReadNode, GitCommitNode):
        Draft202012Validator.check_schema(node_type.config_schema)


async def test_paths_that_are_not_utf8_stay_json(bare_repo: tuple[Repo, Path]) -> None:
    work, bare = bare_repo
    (work.path / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name")
    work.git("add", "-A")
    work.git("commit", "--quiet", "-m", "latin-1")
    push(work)
    run = await run_node(GitReadNode, {"paths": ["caf*"]}, "git", url_of(bare))
    assert run.outcome["files"] == [{"path": "caf\ufffd.txt", "content": "latin-1 name"}]


async def test_a_remote_that_never_answers_is_killed_at_the_deadline(
    silent_server: SilentServer,
) -> None:
    values = {"url": f"git://127.0.0.1:{silent_server.port}/r.git"}
    started = time.monotonic()
    with pytest.raises(NodeTimeoutError, match="git fetch did not finish within"):
        await run_node(GitReadNode, {}, "git", values, timeout_s=1.0)
    assert time.monotonic() - started < 5
