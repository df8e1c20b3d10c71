"""Launch's egress policy: what event triggers (Git, S3 and any to come) may reach.

Launch runs on the control plane, often as root and next to the database, so a trigger that
could name any address would let a tenant read the host's disk (a `file://` repository) or its
private network (loopback services, the cloud metadata endpoint). The policy is the runners'
(`flomation.engine.egress.AddressPolicy`, same presets and ranges), checked on every address a
trigger's host resolves to, at the moment of the poll:

- `shared_cloud` when sign-up is open (a SaaS), `self_hosted` (everything allowed) otherwise,
  unless the operator names one (FLOMATION_LAUNCH_EGRESS_POLICY) and adds allowed ranges
  (FLOMATION_LAUNCH_EGRESS_ALLOW);
- local Git repositories only when the operator allows them (FLOMATION_LAUNCH_ALLOW_LOCAL_GIT).

Every source gets a `LaunchEgress` in its `SourceContext`; a refusal is an `EgressRefused`,
which `LaunchService` records as the trigger's `last_error` (so it does not fire) even when a
source does not catch it. An HTTP-based source should use `http_client()`, whose connections
are checked and pinned to the checked address by the runners' transport.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpcore
import httpx

from flomation.config import Settings
from flomation.engine.egress import AddressPolicy, PresetName, build_http_client
from flomation.engine.nodes.base import BlockedError
from flomation.errors import ConfigurationError
from flomation.triggers.config import local_git_refusal

__all__ = ["EgressRefused", "LaunchEgress", "policy_name"]


class EgressRefused(Exception):
    """The policy refuses what a trigger would contact; the message says why (last_error)."""


def policy_name(settings: Settings) -> PresetName:
    """The operator's policy, else `shared_cloud` when anyone may sign up."""
    if settings.launch_egress_policy is not None:
        return settings.launch_egress_policy
    return "shared_cloud" if settings.signup == "open" else "self_hosted"


@dataclass(frozen=True, slots=True)
class LaunchEgress:
    policy: AddressPolicy
    allow_local_git: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> LaunchEgress:
        """ConfigurationError (`flomation launch` exits 2 with it) for a range that is none."""
        try:
            policy = AddressPolicy.preset(
                policy_name(settings), allow=settings.launch_egress_allow, owner="Launch"
            )
        except ValueError as exc:
            raise ConfigurationError(f"FLOMATION_LAUNCH_EGRESS_ALLOW: {exc}") from None
        return cls(policy=policy, allow_local_git=settings.launch_allow_local_git)

    @property
    def checks_addresses(self) -> bool:
        return not self.policy.allows_everything

    def check_git_url(self, url: str) -> None:
        if not self.allow_local_git:
            reason = local_git_refusal(url)
            if reason is not None:
                raise EgressRefused(reason)

    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to, each checked; connect only to these."""
        try:
            return await self.policy.resolve(host, port)
        except (BlockedError, httpcore.ConnectError) as exc:
            raise EgressRefused(str(exc)) from None

    def resolve_blocking(self, host: str, port: int) -> list[str]:
        """`resolve` for a worker thread (boto3)."""
        try:
            return self.policy.resolve_blocking(host, port)
        except (BlockedError, httpcore.ConnectError) as exc:
            raise EgressRefused(str(exc)) from None

    def http_client(self, *, timeout_s: float = 30.0) -> httpx.AsyncClient:
        """A client whose every connection (redirects included) is checked and made to the
        checked address, as the runners' is. Redirects are off: follow them by hand."""
        return build_http_client(self.policy, timeout_s=timeout_s)
