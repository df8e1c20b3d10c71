"""The egress policy as the integration nodes whose clients open their own sockets ask it:
`check_egress` for clients that can only be given a name (the brokers' clients: the name is
resolved again when they connect, so rebinding is not caught), `checked_addresses` for those
that can be given a connected socket (smtp, imap: connect to what the policy checked), and
`blocking_resolver` for boto3's worker threads (s3)."""

from __future__ import annotations

from collections.abc import Callable

import httpcore

from flomation.engine.egress import AddressPolicy, pinning_policy
from flomation.engine.nodes.base import ConnectionFailedError, EgressPolicy, NodeError

__all__ = ["blocking_resolver", "check_egress", "checked_addresses"]


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


async def checked_addresses(
    egress: EgressPolicy, scheme: str, host: str, port: int
) -> list[str] | None:
    """The policy's verdict on `host:port` (BlockedError; a name that does not resolve is a
    ConnectionFailedError): the checked addresses to connect to when the policy limits
    destinations, None when the client may connect by name."""
    policy = pinning_policy(egress)
    try:
        if policy is not None:
            return await policy.resolve(host, port)
        await egress.check_url(f"{scheme}://{_host_in_url(host)}:{port}")
    except NodeError:
        raise
    except Exception as exc:
        raise ConnectionFailedError(f"{host}:{port}: {exc}") from None
    return None


async def check_egress(egress: EgressPolicy, scheme: str, host: str, port: int) -> None:
    """`checked_addresses` for a client that connects by name: only the early check."""
    await checked_addresses(egress, scheme, host, port)


def blocking_resolver(policy: AddressPolicy) -> Callable[[str, int], list[str]]:
    """The policy's resolver for a worker thread, a name that does not resolve as a
    ConnectionFailedError."""

    def resolve(host: str, port: int) -> list[str]:
        try:
            return policy.resolve_blocking(host, port)
        except httpcore.ConnectError as exc:
            raise ConnectionFailedError(str(exc)) from None

    return resolve
