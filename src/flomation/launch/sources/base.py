"""What every source shares: the context it runs in and the way it ends a pass."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from flomation.clock import Clock
from flomation.db.session import Database
from flomation.launch.egress import LaunchEgress
from flomation.secrets.crypto import Keyring
from flomation.triggers import firing, service
from flomation.triggers.schemas import Applied, Outcome, TriggerWork

log = logging.getLogger("flomation.launch")

# How many executions one transaction starts at most (an S3 poll finding thousands of new
# objects commits them in batches, each advancing the cursor).
FIRE_BATCH = 100


@dataclass(frozen=True)
class SourceContext:
    database: Database
    owner: str
    clock: Clock
    data_dir: Path
    keyring: Keyring
    lease_s: float
    # What the source may contact: every source's network access goes through it.
    egress: LaunchEgress

    async def secret(self, organization_id: str, name: str) -> str | None:
        async with self.database.transaction() as session:
            return await service.secret_value(session, organization_id, name, keyring=self.keyring)


class Source(Protocol):
    async def run(self, work: TriggerWork) -> None:
        """Handle one due trigger: decide what fires and apply it fenced."""
        ...


async def apply(context: SourceContext, work: TriggerWork, outcome: Outcome) -> Applied | None:
    """Apply an outcome in its own transaction; None when the lease or state moved on."""
    async with context.database.transaction() as session:
        applied = await firing.apply_outcome(
            session, owner=context.owner, work=work, outcome=outcome, lease_s=context.lease_s
        )
    report(work, applied)
    return applied


def report(work: TriggerWork, applied: Applied | None) -> None:
    if applied is None:
        log.info("trigger %s: lease lost or state changed; nothing fired", work.id)
    elif applied.refused:
        log.warning("trigger %s: %s", work.id, applied.refused[-1])


async def fail(context: SourceContext, work: TriggerWork, error: str, *, interval_s: float) -> None:
    """Record a failed poll: last_error, and the next try after an exponential backoff."""
    log.warning("trigger %s: %s", work.id, error)
    async with context.database.transaction() as session:
        await firing.record_error(
            session,
            owner=context.owner,
            work=work,
            error=error,
            interval_s=interval_s,
            now=context.clock.now(),
            lease_s=context.lease_s,
        )


def next_poll(context: SourceContext, interval_s: float) -> datetime:
    return context.clock.now() + timedelta(seconds=interval_s)
