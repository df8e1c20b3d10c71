"""Opening a TCP socket to one of the addresses the egress policy checked (tried in order),
for clients that accept a connected socket or let their connect step be replaced (aiosmtplib,
imaplib, urllib3 under boto3). TLS is then wrapped around it with the hostname, so SNI and the
certificate check are about the name, not the address."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence

__all__ = ["connect", "connect_blocking"]


def connect_blocking(
    addresses: Sequence[str],
    port: int,
    open_one: Callable[[tuple[str, int]], socket.socket] = socket.create_connection,
) -> socket.socket:
    """A socket connected to the first of `addresses` that answers (blocking), opened by
    `open_one` (the client's own connect function, with its timeout and options); the last
    OSError when none does."""
    error: OSError | None = None
    for address in addresses:
        try:
            return open_one((address, port))
        except OSError as exc:
            error = exc
    raise error or OSError(f"no address to connect to on port {port}")


async def connect(addresses: Sequence[str], port: int) -> socket.socket:
    """`connect_blocking` for the event loop: a non-blocking socket, connected. The caller
    bounds the time."""
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for address in addresses:
        infos = await loop.getaddrinfo(address, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, sockaddr = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise error or OSError(f"no address to connect to on port {port}")
