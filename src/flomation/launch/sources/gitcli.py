"""Running `git` safely for the Git source.

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

import asyncio
import ipaddress
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from flomation.launch.egress import EgressRefused, LaunchEgress
from flomation.triggers.config import local_git_refusal

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


_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@(?P<host>[A-Za-z0-9.-]+):")
DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
NETWORK_PROTOCOLS = "https:http:ssh:git"


def is_ssh_url(url: str) -> bool:
    return url.startswith("ssh://") or _SCP_LIKE.match(url) is not None


@dataclass(frozen=True)
class GitAccess:
    """How git is run against one URL under the egress policy."""

    url: str  # what git is given: git:// is pinned to the checked address
    config: tuple[str, ...] = ()  # `-c` settings for commands that reach the remote
    env: dict[str, str] = field(default_factory=dict)
    ssh_options: tuple[str, ...] = ()  # appended to GIT_SSH_COMMAND


def _host_port(url: str) -> tuple[str, str, int]:
    """The scheme, host and port a network Git URL contacts."""
    scp = _SCP_LIKE.match(url)
    if scp is not None:
        return "ssh", scp["host"], DEFAULT_PORTS["ssh"]
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError as exc:
        raise EgressRefused(f"the repository URL cannot be read ({exc})") from None
    if scheme not in DEFAULT_PORTS or not host:
        raise EgressRefused(
            "only https://, http://, ssh://, git:// and user@host:path URLs are fetched"
        )
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _bracketed(address: str) -> str:
    return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address


async def git_access(egress: LaunchEgress, url: str) -> GitAccess:
    """Check `url` against the policy (EgressRefused says why not) and say how to run git."""
    egress.check_git_url(url)
    protocols = NETWORK_PROTOCOLS + (":file" if egress.allow_local_git else "")
    env = {"GIT_ALLOW_PROTOCOL": protocols}
    if local_git_refusal(url) is not None or not egress.checks_addresses:
        return GitAccess(url=url, env=env)
    scheme, host, port = _host_port(url)
    addresses = await egress.resolve(host, port)
    if scheme in ("http", "https"):
        config = ["http.followRedirects=false"]  # also turns off http-alternates
        if addresses != [host.strip("[]")]:
            pinned = ",".join(_bracketed(address) for address in addresses)
            config.append(f"http.curloptResolve={host}:{port}:{pinned}")
        return GitAccess(url=url, config=tuple(config), env=env)
    if scheme == "ssh":
        # ssh connects to the checked address; the host key is still looked up by name.
        options = (f"-o HostName={addresses[0]}", f"-o HostKeyAlias={shlex.quote(host)}")
        return GitAccess(url=url, env=env, ssh_options=options)
    parts = urlsplit(url)
    pinned_url = urlunsplit(parts._replace(netloc=f"{_bracketed(addresses[0])}:{port}"))
    return GitAccess(url=pinned_url, env=env)


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
    config: Sequence[str] = (),
) -> GitResult:
    """Run git; `config` are `-c name=value` settings (a `GitAccess`'s for remote commands)."""
    settings = [arg for item in ("gc.auto=0", *config) for arg in ("-c", item)]
    process = await asyncio.create_subprocess_exec(
        "git",
        *settings,
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
