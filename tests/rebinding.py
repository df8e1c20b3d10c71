"""A name whose DNS answer changes between the egress check and the connect (DNS rebinding),
for the tests of Launch's sources and of the nodes that pin their connections."""

from __future__ import annotations

import socket
from typing import Any

import pytest

PUBLIC_ADDRESS = "203.0.113.10"  # TEST-NET-3: what the check sees


def rebind_to_loopback(monkeypatch: pytest.MonkeyPatch, name: str, port: int) -> None:
    """`name` answers a public address to its first lookup and 127.0.0.1 to every later one."""
    real_getaddrinfo = socket.getaddrinfo
    answers = [PUBLIC_ADDRESS]

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != name:
            return real_getaddrinfo(host, *args, **kwargs)
        address = answers.pop() if answers else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
