"""Running `git` safely, shared by Launch's Git source and the git integration nodes.

- Argument lists only, never a shell; every command has a timeout and is killed, with its
  helpers (its own process group: ssh, remote helpers), when it passes or is cancelled.
- The environment is built from nothing (`base_env`): no inherited credentials, no user or
  system config, no terminal prompts.
- A token reaches git through a credential helper reading variables only this process sets
  (`token_env`; never the command line, which `ps` shows to everyone); an ssh key is a 0600
  file (`write_key`) named in GIT_SSH_COMMAND.
- `pinned_access`: under a policy that blocks ranges, the host is resolved and every address
  checked first, then git is pinned to those addresses (curl's resolve list for http(s), ssh's
  HostName, the address itself for git://) with redirects and alternates off, so git cannot
  resolve the name again to something else (DNS rebinding) or be sent elsewhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import shlex
import signal
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "CREDENTIAL_HELPER",
    "DEFAULT_PORTS",
    "NETWORK_PROTOCOLS",
    "SCP_LIKE",
    "TOKEN_USERNAME",
    "GitAccess",
    "GitResult",
    "base_env",
    "host_port",
    "pinned_access",
    "public_url",
    "run_git",
    "ssh_command",
    "token_env",
    "write_key",
]

TOKEN_USERNAME = "x-access-token"
NETWORK_PROTOCOLS = "https:http:ssh:git"
DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@(?P<host>[A-Za-z0-9.-]+):(?!//)")

# The helper prints what git asks for from variables only this process sets.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'echo "username=$FLOMATION_GIT_USERNAME"; echo "password=$FLOMATION_GIT_PASSWORD"; }; f'
)

Resolver = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class GitResult:
    returncode: int
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class GitAccess:
    """How git is run against one URL under the egress policy."""

    url: str  # what git is given: git:// is pinned to the checked address
    config: tuple[str, ...] = ()  # `-c` settings for commands that reach the remote
    env: dict[str, str] = field(default_factory=dict)
    ssh_options: tuple[str, ...] = ()  # appended to GIT_SSH_COMMAND


def public_url(url: str) -> str:
    """The URL without any user:password part, for inputs, logs and errors."""
    return re.sub(r"^(\w+://)[^/@]*@", r"\1", url)


def base_env(home: Path, **extra: str) -> dict[str, str]:
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
        **extra,
    }


def token_env(username: str, token: str) -> dict[str, str]:
    """What makes git answer an https login with `username` and `token` (see the helper)."""
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "credential.helper",
        "GIT_CONFIG_VALUE_0": CREDENTIAL_HELPER,
        "FLOMATION_GIT_USERNAME": username,
        "FLOMATION_GIT_PASSWORD": token,
    }


def write_key(workdir: Path, key: str) -> Path:
    """An ssh private key as a 0600 file in the (private) `workdir`."""
    key_path = workdir / "key"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.strip() + "\n")
    return key_path


def ssh_command(key_path: Path, known_hosts: Path, *, strict: bool) -> str:
    return " ".join(
        [
            "ssh -o BatchMode=yes -o IdentitiesOnly=yes",
            f"-o StrictHostKeyChecking={'yes' if strict else 'accept-new'}",
            f"-o UserKnownHostsFile={shlex.quote(str(known_hosts))}",
            f"-i {shlex.quote(str(key_path))}",
        ]
    )


def host_port(url: str) -> tuple[str, str, int]:
    """The scheme, host and port a network Git URL contacts; ValueError says why there are
    none (a local path, another scheme, an unreadable URL)."""
    scp = SCP_LIKE.match(url)
    if scp is not None:
        return "ssh", scp["host"], DEFAULT_PORTS["ssh"]
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError as exc:
        raise ValueError(f"the repository URL cannot be read ({exc})") from None
    if scheme not in DEFAULT_PORTS or not host:
        raise ValueError(
            "only https://, http://, ssh://, git:// and user@host:path URLs are fetched"
        )
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _bracketed(address: str) -> str:
    return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address


async def pinned_access(url: str, resolve: Resolver, env: dict[str, str]) -> GitAccess:
    """How to run git against the network URL `url` so that it connects only to the addresses
    `resolve` checked (it raises its caller's refusal). ValueError for a URL with no host."""
    scheme, host, port = host_port(url)
    addresses = await resolve(host, port)
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


async def run_git(
    args: Sequence[str],
    *,
    env: dict[str, str],
    timeout_s: float,
    cwd: Path | None = None,
    stdin: bytes | None = None,
    config: Sequence[str] = (),
) -> GitResult:
    """Runs git with `-c` `config` settings; TimeoutError (the process group killed) when it
    does not finish within `timeout_s`. A cancelled caller kills it too."""
    settings = [arg for item in config for arg in ("-c", item)]
    process = await asyncio.create_subprocess_exec(
        "git",
        *settings,
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own group: killing it kills ssh and remote helpers
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), timeout_s)
    except BaseException:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        raise
    return GitResult(process.returncode or 0, stdout, stderr)
