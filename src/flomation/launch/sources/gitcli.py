"""Running `git` safely for the Git source.

- Every command has a timeout and is killed when it passes.
- The environment is built from nothing: no inherited credentials, no user or system config,
  no terminal prompts.
- An https token reaches git through a credential helper reading environment variables (never
  the command line, which `ps` shows to everyone); an ssh key is written to a 0600 file in a
  private temporary directory and named in GIT_SSH_COMMAND.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

LS_REMOTE_TIMEOUT_S = 30.0
FETCH_TIMEOUT_S = 120.0
LOCAL_TIMEOUT_S = 30.0
TOKEN_USERNAME = "x-access-token"

# The helper prints what git asks for from variables only this process sets.
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'echo "username=$FLOMATION_GIT_USERNAME"; echo "password=$FLOMATION_GIT_PASSWORD"; }; f'
)


class GitError(Exception):
    """A git command failed or timed out; the message is safe to show (no credentials)."""


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: bytes


def is_ssh_url(url: str) -> bool:
    return (
        url.startswith("ssh://") or re.match(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:", url) is not None
    )


def public_url(url: str) -> str:
    """The URL without any user:password part, for inputs, logs and errors."""
    return re.sub(r"^(\w+://)[^/@]*@", r"\1", url)


def _base_env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C",
        "LC_ALL": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ASKPASS": "true",
        "SSH_ASKPASS": "true",
        "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
    }


@asynccontextmanager
async def git_environment(
    url: str, secret: str | None, *, known_hosts: Path
) -> AsyncIterator[dict[str, str]]:
    """The environment for git commands against `url`, with the credentials in `secret`
    (a token, `username:token`, or an ssh private key). Temporary files are removed after."""
    workdir = Path(tempfile.mkdtemp(prefix="flomation-git-"))
    try:
        os.chmod(workdir, 0o700)
        env = _base_env(workdir)
        if secret is not None and is_ssh_url(url):
            key_path = workdir / "key"
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secret.strip() + "\n")
            known_hosts.parent.mkdir(parents=True, exist_ok=True)
            env["GIT_SSH_COMMAND"] = " ".join(
                [
                    "ssh -o BatchMode=yes -o IdentitiesOnly=yes",
                    "-o StrictHostKeyChecking=accept-new",
                    f"-o UserKnownHostsFile={shlex.quote(str(known_hosts))}",
                    f"-i {shlex.quote(str(key_path))}",
                ]
            )
        elif secret is not None:
            username, sep, token = secret.strip().partition(":")
            if not sep:
                username, token = TOKEN_USERNAME, secret.strip()
            env.update(
                {
                    "GIT_CONFIG_COUNT": "1",
                    "GIT_CONFIG_KEY_0": "credential.helper",
                    "GIT_CONFIG_VALUE_0": _CREDENTIAL_HELPER,
                    "FLOMATION_GIT_USERNAME": username,
                    "FLOMATION_GIT_PASSWORD": token,
                }
            )
        yield env
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


async def run_git(
    args: list[str],
    *,
    env: dict[str, str],
    timeout_s: float,
    cwd: Path | None = None,
    check: bool = True,
    stdin: bytes | None = None,
) -> GitResult:
    process = await asyncio.create_subprocess_exec(
        "git",
        "-c",
        "gc.auto=0",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), timeout_s)
    except (TimeoutError, asyncio.CancelledError):
        with suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise GitError(f"git {args[0]} did not finish within {timeout_s:g} s") from None
    result = GitResult(process.returncode or 0, stdout, stderr)
    if check and result.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {' / '.join(message[-3:]) or 'no message'}")
    return result
