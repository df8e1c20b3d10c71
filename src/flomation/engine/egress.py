"""Egress policy: which network addresses nodes may connect to.

The policy is checked on the address a connection is actually made to: `EgressNetworkBackend`
(an httpcore network backend) resolves the host itself, checks every address it resolves to,
and connects to the checked IP, while TLS SNI, certificate checks and the Host header keep
using the hostname (httpcore takes those from the request, not from the socket). Every new
connection passes through it, including those made to follow a redirect, so neither a DNS
answer that changes between a check and the connect (DNS rebinding) nor a redirect to
169.254.169.254 gets through.

Use one client per runner process::

    policy = AddressPolicy.preset("shared_cloud", allow=["10.1.0.0/16"])
    client = build_http_client(policy)
    services = EngineServices(http_client=client, egress=policy)

Presets: `self_hosted` (the default: everything allowed) and `shared_cloud` (private,
loopback, link-local, CGNAT, multicast and reserved ranges blocked, IPv4 and IPv6). Explicit
`deny` ranges are added to the preset's; explicit `allow` ranges win over both.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpcore
import httpx

from flomation.engine.nodes.base import BlockedError

__all__ = [
    "PRESETS",
    "SHARED_CLOUD_BLOCKED",
    "AddressPolicy",
    "EgressNetworkBackend",
    "EgressTransport",
    "PresetName",
    "build_http_client",
    "pinning_policy",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PresetName = Literal["self_hosted", "shared_cloud"]

SHARED_CLOUD_BLOCKED: tuple[str, ...] = (
    "0.0.0.0/8",  # "this network"; connecting to 0.0.0.0 reaches the local host
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, incl. the cloud metadata service 169.254.169.254
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, incl. broadcast
    "::/128",  # unspecified
    "::1/128",  # loopback
    "fc00::/7",  # unique local (ULA), incl. AWS's fd00:ec2::254
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated)
    "ff00::/8",  # multicast
)

PRESETS: dict[str, tuple[str, ...]] = {"self_hosted": (), "shared_cloud": SHARED_CLOUD_BLOCKED}

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def parse_networks(ranges: Iterable[str], *, setting: str) -> tuple[IPNetwork, ...]:
    """Parses CIDR ranges (a bare address is a single-address range)."""
    networks = []
    for text in ranges:
        try:
            networks.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{setting}: {text!r} is not an address range ({exc})") from None
    return tuple(networks)


def effective_address(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), else itself: so
    ::ffff:127.0.0.1 is judged as 127.0.0.1."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Blocks connections to denied ranges unless an allowed range contains the address.

    Implements the engine's `EgressPolicy` protocol (`check_url`). `owner` names whose policy
    it is in the refusal (the runner's, or Launch's for event triggers).
    """

    name: str
    deny: tuple[IPNetwork, ...] = ()
    allow: tuple[IPNetwork, ...] = ()
    owner: str = "the runner"

    @classmethod
    def preset(
        cls,
        name: str,
        *,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        owner: str = "the runner",
    ) -> AddressPolicy:
        if name not in PRESETS:
            raise ValueError(f"unknown egress preset {name!r}; choose one of {sorted(PRESETS)}")
        return cls(
            name=name,
            deny=parse_networks((*PRESETS[name], *deny), setting="egress deny"),
            allow=parse_networks(allow, setting="egress allow"),
            owner=owner,
        )

    @property
    def allows_everything(self) -> bool:
        return not self.deny

    def blocking_range(self, address: IPAddress) -> IPNetwork | None:
        """The denied range that blocks `address`, or None when it is allowed."""
        candidates = {address, effective_address(address)}
        if any(a in net for a in candidates for net in self.allow if a.version == net.version):
            return None
        for net in self.deny:
            if any(a.version == net.version and a in net for a in candidates):
                return net
        return None

    def check_address(self, host: str, address: IPAddress) -> None:
        blocked_by = self.blocking_range(address)
        if blocked_by is not None:
            via = "" if _literal_address(host) == address else f" ({host} resolves to it)"
            raise BlockedError(
                f"{self.owner}'s egress policy ({self.name}) blocks connections to "
                f"{address}{via}: it lies in the blocked range {blocked_by}"
            )

    async def resolve(self, host: str, port: int) -> list[str]:
        """Resolves `host` and checks every address; returns them (as text) when all pass.

        One blocked address blocks the host: a name that resolves to a public and a private
        address is what DNS rebinding looks like.
        """
        literal = _literal_address(host)
        if literal is not None:
            self.check_address(host, literal)
            return [str(literal)]
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc.strerror}") from exc
        return self._checked(host, infos)

    def resolve_blocking(self, host: str, port: int) -> list[str]:
        """`resolve` for code that runs in a worker thread (blocking clients such as boto3)."""
        literal = _literal_address(host)
        if literal is not None:
            self.check_address(host, literal)
            return [str(literal)]
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc.strerror}") from exc
        return self._checked(host, infos)

    def _checked(self, host: str, infos: Iterable[tuple[Any, ...]]) -> list[str]:
        addresses: list[str] = []
        for *_, sockaddr in infos:
            text = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
            self.check_address(host, ipaddress.ip_address(text))
            if text not in addresses:
                addresses.append(text)
        return addresses

    async def check_url(self, url: str) -> None:
        """Fails early, before any connection, when the URL's host is blocked."""
        if self.allows_everything:
            return
        parsed = httpx.URL(url)
        if parsed.host:
            await self.resolve(
                parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
            )


def pinning_policy(egress: object) -> AddressPolicy | None:
    """The policy whose checked addresses a client that opens its own sockets (git, boto3,
    smtp) must connect to, or None when there is nothing to pin (everything allowed, or a
    policy that only answers `check_url`)."""
    if isinstance(egress, AddressPolicy) and not egress.allows_everything:
        return egress
    return None


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class EgressNetworkBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows, by IP, after checking every one."""

    def __init__(
        self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy = policy
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.policy.allows_everything:
            return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.policy.resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host!r} took over {timeout} s") from None
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None  # getaddrinfo never answers with an empty list
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedError(f"the egress policy does not allow unix sockets ({path})")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


# How long a pooled connection may sit idle before it is dropped instead of reused: below the
# shortest keep-alive timeout common servers use (gunicorn 2 s; uvicorn, Node.js and Apache
# 5 s). A connection reused when it has been idle nearly as long as the server's timeout is
# closed by the server just as the request goes out, and the request fails with a read error
# that no retry policy can safely repeat for a POST. httpx's default (5 s) equals uvicorn's and
# Node's, which made that race real: a few of a thousand flows failed that way under load.
IDLE_CONNECTION_EXPIRY_S = 1.0


class EgressTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool built on `EgressNetworkBackend`."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        limits: httpx.Limits | None = None,
        verify: ssl.SSLContext | bool = True,
        http2: bool = False,
    ) -> None:
        limits = limits or httpx.Limits(
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=IDLE_CONNECTION_EXPIRY_S,
        )
        ssl_context = httpx.create_ssl_context(verify=verify, trust_env=False)
        super().__init__(verify=ssl_context, limits=limits, http2=http2, trust_env=False)
        # httpx offers no way to hand its pool a network backend, so the pool is built again
        # with the same settings plus ours; httpx's request and error mapping stay as they are.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            network_backend=EgressNetworkBackend(policy),
        )


def build_http_client(
    policy: AddressPolicy,
    *,
    timeout_s: float = 30.0,
    limits: httpx.Limits | None = None,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """The one shared client of a runner process, enforcing `policy` on every connection.

    Redirects are off by default: the http node follows them itself, checking each hop.
    Proxy variables from the environment are ignored (a proxy would hide the destination).
    """
    return httpx.AsyncClient(
        transport=EgressTransport(policy, limits=limits, verify=verify),
        timeout=timeout_s,
        follow_redirects=False,
        trust_env=False,
    )
