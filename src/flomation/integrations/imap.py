"""The imap integration: the `imap` connection type and its probe (the `email` trigger that
reads mailboxes builds on it; rules in `integrations.base`).

The standard library's imaplib is blocking, so it runs in a worker thread with a socket
timeout. `tls` true: TLS from the first byte (port 993); false: STARTTLS when the server
offers it, plain text otherwise (port 143). Under an egress policy that limits destinations,
the socket is opened to an address the policy checked (`integrations.egress.checked_addresses`),
never to what the name resolves to later (DNS rebinding); TLS still checks the name.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeError,
    NodeTimeoutError,
    NodeType,
    ServiceError,
)
from flomation.integrations.base import (
    HOST_PROPERTY,
    PASSWORD_PROPERTY,
    ConnectionType,
    port_property,
)
from flomation.integrations.egress import checked_addresses
from flomation.integrations.smtp import TLS_FIELDS, tls_context
from flomation.pinning.tcp import connect_blocking

__all__ = ["CONNECTION_TYPES", "NODE_TYPES", "login"]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": HOST_PROPERTY,
        "port": port_property(description="Default: 993 with tls, 143 without."),
        "tls": {
            "type": "boolean",
            "default": True,
            "title": "TLS",
            "description": "Off: STARTTLS when the server offers it, plain text otherwise.",
        },
        "username": {"type": "string", "minLength": 1, "title": "Username"},
        "password": PASSWORD_PROPERTY,
        **TLS_FIELDS,
    },
    "required": ["host", "username"],
    "additionalProperties": False,
}


def _endpoint(values: Mapping[str, Any]) -> tuple[str, int, bool]:
    host = str(values.get("host") or "")
    if not host:
        raise ConfigError("the imap connection has no host")
    use_tls = values.get("tls", True) is not False
    return host, int(values.get("port") or (993 if use_tls else 143)), use_tls


def _login(values: Mapping[str, Any], timeout_s: float, addresses: list[str] | None) -> str:
    """Connects (to one of `addresses` when given) and logs in, then out (blocking); the
    server's greeting and capabilities."""
    import imaplib

    def pinned_socket(port: int, timeout: float | None) -> socket.socket:
        assert addresses is not None
        return connect_blocking(
            addresses, port, lambda address: socket.create_connection(address, timeout)
        )

    class PinnedIMAP4(imaplib.IMAP4):
        def _create_socket(self, timeout: float | None) -> socket.socket:
            return pinned_socket(self.port, timeout)

    class PinnedIMAP4SSL(imaplib.IMAP4_SSL):
        def _create_socket(self, timeout: float | None) -> socket.socket:
            sock = pinned_socket(self.port, timeout)
            wrapped: socket.socket = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
            return wrapped

    host, port, use_tls = _endpoint(values)
    context = tls_context(values)
    client: imaplib.IMAP4
    if use_tls:
        tls_class = imaplib.IMAP4_SSL if addresses is None else PinnedIMAP4SSL
        client = tls_class(host, port, ssl_context=context, timeout=timeout_s)
    else:
        plain_class = imaplib.IMAP4 if addresses is None else PinnedIMAP4
        client = plain_class(host, port, timeout=timeout_s)
    try:
        secured = use_tls
        if not use_tls and "STARTTLS" in client.capabilities:
            client.starttls(ssl_context=context)
            secured = True
        client.login(str(values.get("username") or ""), str(values.get("password") or ""))
        capabilities = " ".join(client.capabilities)
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            client.shutdown()
    return f"{'TLS' if secured else 'no TLS'}; {capabilities}"


async def login(values: Mapping[str, Any], egress: Any, timeout_s: float) -> str:
    """Logs in to the server of `values` and out again, as the probe does; raises the
    `NodeError` saying what failed."""
    import imaplib

    host, port, _ = _endpoint(values)
    where = f"IMAP server {host}:{port}"
    addresses = await checked_addresses(egress, "imap", host, port)
    try:
        async with asyncio.timeout(timeout_s + 1):
            return await asyncio.to_thread(_login, values, timeout_s, addresses)
    except (TimeoutError, imaplib.IMAP4.abort) as exc:
        if isinstance(exc, TimeoutError):
            raise NodeTimeoutError(f"{where} did not answer within {timeout_s:g} s") from None
        raise ConnectionFailedError(f"{where} broke off the connection: {exc}") from None
    except imaplib.IMAP4.error as exc:
        said = str(exc).strip("b'\"")
        if "AUTHENTICATIONFAILED" in said.upper() or "LOGIN" in said.upper():
            raise AuthenticationError(f"{where} refused the login: {said}") from None
        raise ServiceError(f"{where} answered: {said}") from None
    except ssl.SSLError as exc:
        raise ConnectionFailedError(f"{where}: TLS failed ({exc})", retryable=False) from None
    except NodeError:
        raise
    except OSError as exc:
        raise ConnectionFailedError(f"{where}: could not connect ({exc})") from None


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    host, port, _ = _endpoint(values)
    details = await login(values, services.egress, timeout_s)
    return f"logged in to {host}:{port} as {values.get('username')} ({details})"


CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    ConnectionType(
        type="imap",
        title="IMAP (read email)",
        schema=SCHEMA,
        probe=probe,
        icon="mail",
        description="A mailbox the email trigger reads.",
    ),
)
NODE_TYPES: tuple[type[NodeType], ...] = ()
