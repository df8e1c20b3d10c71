"""boto3 clients that connect only to addresses the egress policy checked, shared by Launch's
S3 source and the s3 integration nodes.

Every request the client sends (each page of a listing, any redirect botocore follows, to the
endpoint or to a bucket's virtual host) first has its host resolved and every address checked
(`before-send`); a refusal ends the call with the resolver's error. Each new connection then
resolves and checks the name again and connects to a checked address (`_PinnedConnection`),
so a DNS answer that changes between the two (rebinding) is refused too rather than connected
to. TLS (SNI, certificate) still uses the hostname.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import (
    AWSHTTPConnection,
    AWSHTTPConnectionPool,
    AWSHTTPSConnection,
    AWSHTTPSConnectionPool,
)
from urllib3.exceptions import NewConnectionError
from urllib3.util import connection

from flomation.pinning.tcp import connect_blocking

__all__ = ["BlockingResolver", "pin_client"]

# `(host, port) -> checked addresses`, raising the caller's refusal; called in boto3's thread.
BlockingResolver = Callable[[str, int], list[str]]


def _check_request(resolve: BlockingResolver, request: Any, **_: Any) -> None:
    """botocore's `before-send` hook: refuse a request whose host the policy blocks. Raising
    here ends the call (botocore retries only its own connection errors)."""
    parts = urlsplit(request.url)
    if parts.hostname:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        resolve(parts.hostname, port)


class _PinnedConnection:
    """urllib3's connect step, made to a checked address: the name is resolved and every
    address checked here, in the connection itself, and the socket opened to one of those.
    TLS (SNI, certificate) still uses the hostname, which urllib3 takes from `host`."""

    resolve: BlockingResolver
    _dns_host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any

    def _new_conn(self) -> Any:
        def open_one(address: tuple[str, int]) -> Any:
            return connection.create_connection(
                address,
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )

        try:
            return connect_blocking(
                type(self).resolve(self._dns_host, self.port), self.port, open_one
            )
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc  # type: ignore[arg-type]


def pin_client(client: Any, resolve: BlockingResolver, *, service: str = "s3") -> None:
    """Make `client` check every request's host and open only pinned connections. botocore
    offers no public way to choose its connection classes, so its session's pool table is
    replaced."""
    client.meta.events.register(
        f"before-send.{service}", lambda request, **kw: _check_request(resolve, request, **kw)
    )
    pinned = {"resolve": staticmethod(resolve)}
    http = type("PinnedHTTP", (_PinnedConnection, AWSHTTPConnection), pinned)
    https = type("PinnedHTTPS", (_PinnedConnection, AWSHTTPSConnection), pinned)
    pools = {
        "http": type("PinnedHTTPPool", (AWSHTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("PinnedHTTPSPool", (AWSHTTPSConnectionPool,), {"ConnectionCls": https}),
    }
    session = client._endpoint.http_session
    session._pool_classes_by_scheme = pools
    session._manager.pool_classes_by_scheme = pools
