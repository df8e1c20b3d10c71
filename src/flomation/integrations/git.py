"""The git integration: the `git` connection type and the `git.read` and `git.commit` nodes
(rules in `integrations.base`), through the git command line.

How git is run (with Launch's Git source's runner, `flomation.pinning.git`):

- Argument lists only, never a shell; the URL comes after `--`, and refs, branches and paths
  are checked first (`_check_ref`, `_check_path`), so no value from a flow can become an
  option. File paths and contents reach git on stdin, never on its command line.
- A private temporary directory per step (0700) holds the repository, the index and any key;
  it is removed afterwards. The environment is built from nothing: no user or system config,
  no prompts, no inherited credentials.
- A token reaches git through a credential helper that reads variables only this process sets
  (never the URL, which git may print, nor the command line, which `ps` shows); an ssh key is a
  0600 file named in GIT_SSH_COMMAND. A URL holding a password is refused.
- Only the network protocols are allowed (GIT_ALLOW_PROTOCOL), so no redirect reaches file://
  or ext::; local repositories (file://, paths) only when the runner's egress policy allows
  every destination (a self-hosted runner).
- Under an egress policy that blocks ranges, the host is resolved and every address checked,
  and git is pinned to the checked addresses (`pinned_access`), redirects off: git does not
  resolve the name again (DNS rebinding).
- Every command is bounded by the step's deadline and killed, with its helpers (its process
  group), when it passes or the step is cancelled.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flomation.engine.egress import pinning_policy
from flomation.engine.event_values import EVENT_VALUE_LIMIT
from flomation.engine.nodes.base import (
    AllowAllEgress,
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EgressPolicy,
    EngineServices,
    NodeContext,
    NodeError,
    NodeOutcome,
    NodeTimeoutError,
    NodeType,
    ResultTooLargeError,
    ServiceError,
)
from flomation.integrations.base import ConnectionType, IntegrationNode, connection_property
from flomation.pinning.git import (
    DEFAULT_PORTS,
    NETWORK_PROTOCOLS,
    SCP_LIKE,
    TOKEN_USERNAME,
    GitAccess,
    base_env,
    pinned_access,
    public_url,
    run_git,
    ssh_command,
    token_env,
    write_key,
)

__all__ = ["CONNECTION_TYPES", "NODE_TYPES", "glob_regex"]

REMOTE_TIMEOUT_S = 120.0
LOCAL_TIMEOUT_S = 30.0
DEFAULT_AUTHOR = {"name": "Flomation", "email": "flomation@localhost"}
MAX_FILES = 1000
_ZERO_OID = "0" * 40

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "url": {
            "type": "string",
            "minLength": 1,
            "title": "Repository URL",
            "description": "https://host/org/repo.git or git@host:org/repo.git",
        },
        "username": {
            "type": "string",
            "title": "Username",
            "description": f"For https with a token; default {TOKEN_USERNAME}.",
        },
        "token": {"type": "string", "title": "Token or password", "x-secret": True},
        "private_key": {"type": "string", "title": "SSH private key", "x-secret": True},
        "known_hosts": {
            "type": "string",
            "title": "SSH known_hosts lines",
            "description": "The server's host key; without it the key is accepted as seen.",
        },
    },
    "required": ["url"],
    "additionalProperties": False,
}

# --------------------------------------------------------------------------- checks

_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")


def _check_ref(value: str, field: str) -> str:
    """A branch, tag or commit id, refusing anything git could read as an option or as more
    than one ref (`-x`, `a:b`, `a..b`, `@{...}`, spaces)."""
    if (
        not _REF.match(value)
        or ".." in value
        or "//" in value
        or value.endswith(("/", ".", ".lock"))
        or len(value) > 255
    ):
        raise ConfigError(f"{field} {value!r} is not a branch, tag or commit id", field=field)
    return value


def _check_path(value: Any, field: str) -> str:
    path = str(value)
    parts = path.split("/")
    if (
        not path
        or "\0" in path
        or "\n" in path
        or path.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
        or any(part.lower() == ".git" for part in parts)
    ):
        raise ConfigError(
            f"{field}: {path!r} is not a relative path inside the repository", field=field
        )
    return path


@dataclass(frozen=True)
class _Remote:
    url: str
    host: str | None  # None for a local repository
    check_url: str | None  # what the egress policy is asked about
    protocols: str
    ssh: bool


def _remote(url: str, egress: EgressPolicy) -> _Remote:
    if not url or url.startswith("-") or any(ch in url for ch in "\0\n\r"):
        raise ConfigError(f"{url!r} is not a repository URL", field="connection")
    local_allowed = isinstance(egress, AllowAllEgress) or getattr(
        egress, "allows_everything", False
    )
    scp = SCP_LIKE.match(url)
    if scp is not None:
        return _Remote(url, scp["host"], f"ssh://{scp['host']}:22", NETWORK_PROTOCOLS, True)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(
            f"the repository URL cannot be read ({exc})", field="connection"
        ) from None
    scheme = parts.scheme.lower()
    if parts.password:
        raise ConfigError(
            "the repository URL holds a password: put it in the connection's `token`, "
            "where it stays secret",
            field="connection",
        )
    if scheme in ("https", "http", "ssh", "git") and parts.hostname:
        check = f"{scheme}://{parts.hostname}:{port or DEFAULT_PORTS[scheme]}"
        return _Remote(url, parts.hostname, check, NETWORK_PROTOCOLS, scheme == "ssh")
    if scheme in ("file", ""):
        if not local_allowed:
            raise ConfigError(
                "local repositories are not allowed on this runner (its egress policy "
                "limits destinations): use an https:// or ssh:// URL",
                field="connection",
            )
        return _Remote(url, None, None, NETWORK_PROTOCOLS + ":file", False)
    raise ConfigError(
        "only https://, http://, ssh://, git:// and user@host:path repository URLs are used",
        field="connection",
    )


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob as a regex: `*` and `?` stay within one directory, `**` crosses them
    (`docs/**/*.md` also matches `docs/a.md`), `[...]` is a character class."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


# --------------------------------------------------------------------------- running git


class _GitFailed(Exception):
    def __init__(self, command: str, stderr: str) -> None:
        super().__init__(stderr)
        self.command = command
        self.stderr = stderr


class _Git:
    """git in one private temporary directory, with the connection's credentials."""

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        remote: _Remote,
        access: GitAccess,
        deadline: float | None,
    ):
        self.workdir = workdir
        self.repo = workdir / "repo.git"
        self.env = env
        self.remote = remote
        self.access = access  # remote commands use its URL and settings (the pinned address)
        self.deadline = deadline

    def _timeout(self, limit: float) -> float:
        if self.deadline is None:
            return limit
        loop = asyncio.get_running_loop()
        return max(0.001, min(limit, self.deadline - loop.time()))

    async def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        remote: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> bytes:
        """Runs `git --git-dir=repo args...`; raises `_GitFailed` or a `NodeTimeoutError`."""
        timeout_s = self._timeout(REMOTE_TIMEOUT_S if remote else LOCAL_TIMEOUT_S)
        settings = ["gc.auto=0", "protocol.version=2", "core.hooksPath=/dev/null"]
        try:
            result = await run_git(
                [f"--git-dir={self.repo}", *args],
                env={**self.env, **(env or {})},
                timeout_s=timeout_s,
                cwd=self.workdir,
                stdin=stdin,
                config=[*settings, *(self.access.config if remote else ())],
            )
        except TimeoutError:
            raise NodeTimeoutError(f"git {args[0]} did not finish within {timeout_s:g} s") from None
        if result.returncode != 0:
            raise _GitFailed(args[0], result.stderr.decode(errors="replace").strip())
        return result.stdout


@asynccontextmanager
async def _git(
    values: Mapping[str, Any], egress: EgressPolicy, timeout_s: float | None
) -> AsyncIterator[_Git]:
    remote = _remote(str(values.get("url") or ""), egress)
    access = await _access(remote, egress)
    workdir = Path(tempfile.mkdtemp(prefix="flomation-git-"))
    try:
        os.chmod(workdir, 0o700)
        env = base_env(workdir, GIT_ALLOW_PROTOCOL=remote.protocols)
        key, token = values.get("private_key"), values.get("token")
        if key and remote.ssh:
            env["GIT_SSH_COMMAND"] = _ssh_command(workdir, str(key), values.get("known_hosts"))
        elif token:
            env.update(token_env(str(values.get("username") or TOKEN_USERNAME), str(token)))
        if access.ssh_options:
            env["GIT_SSH_COMMAND"] += " " + " ".join(access.ssh_options)
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        git = _Git(workdir, env, remote, access, deadline)
        try:
            await git.run("init", "--bare", "--quiet", str(git.repo))
        except _GitFailed as exc:
            raise ServiceError(f"git init failed: {exc.stderr}") from None
        try:
            yield git
        except _GitFailed as exc:  # a step's own command failed: say what git printed
            raise _failure(remote, exc) from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def _access(remote: _Remote, egress: EgressPolicy) -> GitAccess:
    """The egress policy's verdict on the remote (BlockedError), resolution failures as
    ConnectionFailedError; under an address policy, git pinned to the checked addresses."""
    if remote.check_url is None:
        return GitAccess(url=remote.url)
    policy = pinning_policy(egress)
    try:
        if policy is not None:
            return await pinned_access(remote.url, policy.resolve, {})
        await egress.check_url(remote.check_url)
    except NodeError:
        raise
    except Exception as exc:
        raise ConnectionFailedError(f"{public_url(remote.url)}: {exc}") from None
    return GitAccess(url=remote.url)


def _ssh_command(workdir: Path, key: str, known_hosts: Any) -> str:
    hosts_path = workdir / "known_hosts"
    hosts_path.write_text(str(known_hosts or ""))
    return ssh_command(write_key(workdir, key), hosts_path, strict=bool(known_hosts))


_AUTH_SIGNS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "permission denied (publickey",
    "http 401",
    "http 403",
    "requested url returned error: 401",
    "requested url returned error: 403",
    "invalid username or password",
    "access denied",
)
_CONNECTION_SIGNS = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "failed to connect",
    "network is unreachable",
    "no route to host",
    "ssl certificate",
    "ssl connect error",
    "gnutls",
    "the remote end hung up unexpectedly",
    "connection reset",
)


def _failure(remote: _Remote, exc: _GitFailed) -> NodeError:
    """What a failed git command means, with the last lines git printed."""
    lines = [
        line.strip()
        for line in exc.stderr.splitlines()
        if line.strip() and not line.startswith(("hint:", "To "))
    ]
    # What the server printed (`remote: ...`, a hook's reason) comes first, then git's verdict.
    server = [line.removeprefix("remote:").strip() for line in lines if line.startswith("remote:")]
    others = [line for line in lines if not line.startswith("remote:")]
    said = " / ".join([*server[-5:], *others[-3:]]) or "no message"
    message = f"git {exc.command} of {public_url(remote.url)} failed: {said}"
    lowered = exc.stderr.lower()
    if any(sign in lowered for sign in _AUTH_SIGNS):
        return AuthenticationError(message)
    if any(sign in lowered for sign in _CONNECTION_SIGNS):
        return ConnectionFailedError(message)
    return ServiceError(message)


# --------------------------------------------------------------------------- probe


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    async with _git(values, services.egress, timeout_s) as git:
        try:
            out = await git.run("ls-remote", "--symref", "--", git.access.url, "HEAD", remote=True)
        except _GitFailed as exc:
            raise _failure(git.remote, exc) from None
    text = out.decode(errors="replace")
    branch = re.search(r"^ref: refs/heads/(\S+)\s+HEAD$", text, re.MULTILINE)
    commit = re.search(r"^([0-9a-f]{40,64})\s+HEAD$", text, re.MULTILINE)
    if commit is None:
        return f"{public_url(git.remote.url)} is reachable (an empty repository)"
    on = f"{branch[1]} at " if branch else ""
    return f"{public_url(git.remote.url)} is reachable: {on}{commit[1][:12]}"


CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    ConnectionType(
        type="git",
        title="Git repository",
        schema=SCHEMA,
        probe=probe,
        icon="git",
        description="A Git repository over https (token) or ssh (private key).",
    ),
)

# --------------------------------------------------------------------------- git.read


async def _fetch(git: _Git, ref: str) -> str | None:
    """Fetches `ref` (one commit deep); its commit id, or None when the remote has no such
    ref. Other failures raise."""
    try:
        await git.run(
            "fetch", "--depth=1", "--no-tags", "--quiet", "--", git.access.url, ref, remote=True
        )
    except _GitFailed as exc:
        lowered = exc.stderr.lower()
        if "couldn't find remote ref" in lowered or "not our ref" in lowered:
            return None
        raise _failure(git.remote, exc) from None
    out = await git.run("rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}")
    return out.decode().strip()


@dataclass(frozen=True)
class _Entry:
    mode: str
    kind: str
    oid: str
    size: int
    path: str


async def _tree(git: _Git, commit: str) -> list[_Entry]:
    out = await git.run("ls-tree", "-r", "-z", "-l", "--full-tree", commit)
    entries: list[_Entry] = []
    # A path that is not UTF-8 is shown with replacement characters (outputs are JSON text).
    for record in out.decode(errors="replace").split("\0"):
        if not record:
            continue
        meta, _, path = record.partition("\t")
        mode, kind, oid, size = meta.split()
        if kind == "blob":
            entries.append(_Entry(mode, kind, oid, int(size), path))
    return entries


async def _blobs(git: _Git, oids: Sequence[str]) -> list[bytes]:
    if not oids:
        return []
    out = await git.run("cat-file", "--batch", stdin=("\n".join(oids) + "\n").encode())
    blobs: list[bytes] = []
    position = 0
    for _ in oids:
        header_end = out.index(b"\n", position)
        size = int(out[position:header_end].split()[2])
        blobs.append(out[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
    return blobs


def _file(path: str, data: bytes) -> dict[str, Any]:
    if b"\0" not in data:
        try:
            return {"path": path, "content": data.decode()}
        except UnicodeDecodeError:
            pass
    return {"path": path, "content": None, "content_base64": base64.b64encode(data).decode()}


class _GitNode(IntegrationNode):
    icon = "git"
    group = "git"
    connection_types = ("git",)


class GitReadNode(_GitNode):
    type = "git.read"
    title = "Git: read files"
    description = (
        "Reads the files matching `paths` (globs; `**` crosses directories) at a branch, tag "
        "or commit. Text files come as `content`, binary ones as `content_base64`."
    )
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "ref": {
                "type": "string",
                "title": "Branch, tag or commit",
                "description": "Default: the repository's default branch.",
            },
            "paths": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "default": ["**"],
                "title": "Paths (globs)",
            },
        },
        "required": ["connection"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "commit": {"type": "string"},
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "content": {"type": ["string", "null"]},
                        "content_base64": {"type": "string"},
                    },
                },
            },
        },
        "required": ["commit", "files"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        ref = ctx.config.get("ref") or "HEAD"
        if ref != "HEAD":
            _check_ref(str(ref), "ref")
        patterns = [glob_regex(str(p)) for p in ctx.config.get("paths") or ["**"]]
        async with _git(connection.values, ctx.services.egress, ctx.remaining_s()) as git:
            commit = await _fetch(git, str(ref))
            if commit is None:
                what = "commits" if ref == "HEAD" else repr(ref)
                raise ServiceError(f"{public_url(git.remote.url)} has no {what}")
            entries = [
                entry
                for entry in await _tree(git, commit)
                if any(pattern.match(entry.path) for pattern in patterns)
            ]
            total = sum(entry.size for entry in entries)
            if total > EVENT_VALUE_LIMIT:
                raise ResultTooLargeError(
                    f"the {len(entries)} matching files hold {total} bytes, more than the step "
                    f"size limit ({EVENT_VALUE_LIMIT} bytes): narrow `paths`"
                )
            blobs = await _blobs(git, [entry.oid for entry in entries])
        files = [_file(entry.path, blob) for entry, blob in zip(entries, blobs, strict=True)]
        return NodeOutcome({"commit": commit, "files": files})


# --------------------------------------------------------------------------- git.commit


class GitCommitNode(_GitNode):
    type = "git.commit"
    title = "Git: commit and push"
    description = (
        "Writes files (whole contents) on a branch in one commit and pushes it. A branch that "
        "does not exist yet starts at the default branch. When nothing changes, nothing is "
        "committed. If the branch moved on meanwhile, the push is refused and the node is "
        "retried (the files are applied again on the new tip)."
    )
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "branch": {"type": "string", "minLength": 1, "title": "Branch"},
            "message": {"type": "string", "minLength": 1, "title": "Commit message"},
            "files": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_FILES,
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "minLength": 1},
                        "content": {"type": "string"},
                        "content_base64": {"type": "string"},
                        "delete": {"type": "boolean", "default": False},
                    },
                    "required": ["path"],
                    "additionalProperties": False,
                },
            },
            "author": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "email": {"type": "string", "minLength": 1},
                },
                "required": ["name", "email"],
                "additionalProperties": False,
            },
        },
        "required": ["connection", "branch", "message", "files"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"commit": {"type": "string"}, "changed": {"type": "boolean"}},
        "required": ["commit"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        config = ctx.config
        branch = _check_ref(str(config["branch"]), "branch")
        files = [_commit_file(item, index) for index, item in enumerate(config["files"])]
        author = _author(config.get("author"))
        async with _git(connection.values, ctx.services.egress, ctx.remaining_s()) as git:
            parent = await _fetch(git, f"refs/heads/{branch}")
            if parent is None:
                parent = await _fetch(git, "HEAD")  # a new branch starts at the default one
            index_env = {"GIT_INDEX_FILE": str(git.workdir / "index")}
            if parent is not None:
                await git.run("read-tree", parent, env=index_env)
            lines: list[str] = []
            for path, data in files:
                if data is None:
                    lines.append(f"0 {_ZERO_OID}\t{path}")
                    continue
                oid = await git.run("hash-object", "-w", "--stdin", stdin=data)
                lines.append(f"100644 {oid.decode().strip()}\t{path}")
            await git.run(
                "update-index",
                "-z",
                "--index-info",
                stdin="\0".join(lines).encode() + b"\0",
                env=index_env,
            )
            tree = (await git.run("write-tree", env=index_env)).decode().strip()
            if parent is not None:
                parent_tree = (await git.run("rev-parse", f"{parent}^{{tree}}")).decode().strip()
                if parent_tree == tree:
                    return NodeOutcome({"commit": parent, "changed": False})
            commit = await _commit_tree(git, tree, parent, str(config["message"]), author)
            await _push(git, commit, branch)
        return NodeOutcome({"commit": commit, "changed": True})


def _commit_file(item: Mapping[str, Any], index: int) -> tuple[str, bytes | None]:
    field = f"files[{index}]"
    path = _check_path(item.get("path"), f"{field}.path")
    if item.get("delete"):
        return path, None
    if "content_base64" in item:
        try:
            return path, base64.b64decode(str(item["content_base64"]), validate=True)
        except ValueError:
            raise ConfigError(f"{field}.content_base64 is not base64", field="files") from None
    if "content" not in item:
        raise ConfigError(f"{field} needs content, content_base64 or delete", field="files")
    return path, str(item["content"]).encode()


def _author(value: Any) -> dict[str, str]:
    author = dict(value or DEFAULT_AUTHOR)
    for key in ("name", "email"):
        text = str(author.get(key) or "")
        if not text or any(ch in text for ch in "<>\n\r\0"):
            raise ConfigError(f"author.{key} {text!r} is not usable in a commit", field="author")
    return {"name": str(author["name"]), "email": str(author["email"])}


async def _commit_tree(
    git: _Git, tree: str, parent: str | None, message: str, author: Mapping[str, str]
) -> str:
    env = {
        "GIT_AUTHOR_NAME": author["name"],
        "GIT_AUTHOR_EMAIL": author["email"],
        "GIT_COMMITTER_NAME": author["name"],
        "GIT_COMMITTER_EMAIL": author["email"],
    }
    parents = ["-p", parent] if parent else []
    out = await git.run("commit-tree", tree, *parents, "-F", "-", stdin=message.encode(), env=env)
    return out.decode().strip()


async def _push(git: _Git, commit: str, branch: str) -> None:
    try:
        await git.run(
            "push",
            "--",
            git.access.url,
            f"{commit}:refs/heads/{branch}",
            remote=True,
        )
    except _GitFailed as exc:
        lowered = exc.stderr.lower()
        if "non-fast-forward" in lowered or "fetch first" in lowered or "[rejected]" in lowered:
            # The branch moved on since the fetch. The files are whole contents, so applying
            # them again on the new tip is safe: a retry does exactly that.
            raise ServiceError(
                f"the push to {branch!r} of {public_url(git.remote.url)} was refused: the branch "
                "moved on meanwhile",
                retryable=True,
            ) from None
        raise _failure(git.remote, exc) from None


NODE_TYPES: tuple[type[NodeType], ...] = (GitReadNode, GitCommitNode)
