"""Running `git` safely for the Git source, with the runner shared with the git integration
nodes (`flomation.pinning.git`).

- Every command has a timeout and is killed when it passes.
- The environment is built from nothing: no inherited credentials, no user or system config,
  no terminal prompts.
- An https token reaches git through a credential helper reading environment variables (never
  the command line, which `ps` shows to everyone); an ssh key is written to a 0600 file in a
  private temporary directory and named in GIT_SSH_COMMAND.
- Launch's egress policy (`flomation.launch.egress`) decides what git may contact
  (`git_access`): local repositories only when the operator allows them, only the network
  protocols otherwise (GIT_ALLOW_PROTOCOL, so no redirect or alternate reaches file:// or
  ext::); under a policy that blocks ranges, the host is resolved and every address checked
  first, then git is pinned to those addresses (curl's resolve list for http(s), ssh's
  HostName, the address itself for git://) with redirects and alternates off, so git cannot
  resolve the name again to something else (DNS rebinding) or be sent elsewhere.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from flomation.launch.egress import EgressRefused, LaunchEgress
from flomation.pinning import git as shared
from flomation.pinning.git import (
    NETWORK_PROTOCOLS,
    TOKEN_USERNAME,
    GitAccess,
    GitResult,
    base_env,
    public_url,
    ssh_command,
    token_env,
    write_key,
)
from flomation.triggers.config import local_git_refusal

__all__ = [
    "FETCH_TIMEOUT_S",
    "LOCAL_TIMEOUT_S",
    "LS_REMOTE_TIMEOUT_S",
    "GitAccess",
    "GitError",
    "GitResult",
    "git_access",
    "git_environment",
    "is_ssh_url",
    "public_url",
    "run_git",
]

LS_REMOTE_TIMEOUT_S = 30.0
FETCH_TIMEOUT_S = 120.0
LOCAL_TIMEOUT_S = 30.0


class GitError(Exception):
    """A git command failed or timed out; the message is safe to show (no credentials)."""


def is_ssh_url(url: str) -> bool:
    return url.startswith("ssh://") or shared.SCP_LIKE.match(url) is not None


async def git_access(egress: LaunchEgress, url: str) -> GitAccess:
    """Check `url` against the policy (EgressRefused says why not) and say how to run git."""
    egress.check_git_url(url)
    protocols = NETWORK_PROTOCOLS + (":file" if egress.allow_local_git else "")
    env = {"GIT_ALLOW_PROTOCOL": protocols}
    if local_git_refusal(url) is not None or not egress.checks_addresses:
        return GitAccess(url=url, env=env)
    try:
        return await shared.pinned_access(url, egress.resolve, env)
    except ValueError as exc:
        raise EgressRefused(str(exc)) from None


@asynccontextmanager
async def git_environment(
    url: str, secret: str | None, *, known_hosts: Path
) -> AsyncIterator[dict[str, str]]:
    """The environment for git commands against `url`, with the credentials in `secret`
    (a token, `username:token`, or an ssh private key). Temporary files are removed after."""
    workdir = Path(tempfile.mkdtemp(prefix="flomation-git-"))
    try:
        os.chmod(workdir, 0o700)
        env = base_env(workdir)
        if secret is not None and is_ssh_url(url):
            key_path = write_key(workdir, secret)
            known_hosts.parent.mkdir(parents=True, exist_ok=True)
            env["GIT_SSH_COMMAND"] = ssh_command(key_path, known_hosts, strict=False)
        elif secret is not None:
            username, sep, token = secret.strip().partition(":")
            if not sep:
                username, token = TOKEN_USERNAME, secret.strip()
            env.update(token_env(username, token))
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
    config: Sequence[str] = (),
) -> GitResult:
    """Run git; `config` are `-c name=value` settings (a `GitAccess`'s for remote commands)."""
    try:
        result = await shared.run_git(
            args, env=env, timeout_s=timeout_s, cwd=cwd, stdin=stdin, config=("gc.auto=0", *config)
        )
    except TimeoutError:
        raise GitError(f"git {args[0]} did not finish within {timeout_s:g} s") from None
    if check and result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {' / '.join(message[-3:]) or 'no message'}")
    return result
