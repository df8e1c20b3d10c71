"""Testing a connection on a runner, where the network that matters is.

`POST /connections/{name}/test` writes a pending probe and wakes the organisation's idle
runners; a runner that claims work and runs probes (`ClaimRequest.probes`) takes it with its
claim (`take_for_runner`), runs the type's probe and posts the result (`record_result`), which
wakes the waiting call. The call waits at most `WAIT_S`; a probe nobody answered by then ends
`expired` with a message saying so. Each answer is stored on the connection
(`last_tested_at`, `last_error`).

The waits hold no transaction: on SQLite a transaction holds the write lock, which the
runner's claim needs to take the probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from flomation.clock import utcnow
from flomation.connections import imported, repository
from flomation.connections.service import values_for_runner
from flomation.db.session import Database
from flomation.errors import NotFound
from flomation.executions.notifier import HUB, publish_after_commit, work_topic
from flomation.ids import new_id
from flomation.integrations.base import PROBE_TIMEOUT_S
from flomation.models.connections import ConnectionProbe
from flomation.protocol import ProbeRequest, ProbeResult
from flomation.secrets.crypto import Keyring
from flomation.secrets.service import check_name

__all__ = ["WAIT_S", "ProbeOutcome", "probe_connection", "record_result", "take_for_runner"]

# How long the API call waits for a runner's answer; the probe itself gets a little less, so
# that its answer arrives within the wait.
WAIT_S = PROBE_TIMEOUT_S
_PROBE_MARGIN_S = 1.5


def probe_topic(probe_id: str) -> str:
    return f"p:{probe_id}"


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    ok: bool
    message: str
    duration_ms: int


async def probe_connection(
    database: Database,
    *,
    organization_id: str,
    name: str,
    runs_on: dict[str, str],
    wait_s: float | None = None,
) -> ProbeOutcome:
    """Ask a runner to probe the connection; its answer, or a failed outcome saying that no
    runner answered within `wait_s` (default `WAIT_S`)."""
    check_name(name, "Connection")
    wait_s = WAIT_S if wait_s is None else wait_s
    probe_id = new_id()
    started = time.monotonic()
    # Subscribed before the probe exists, so an answer cannot slip between write and wait.
    with HUB.subscribe([probe_topic(probe_id)]) as subscription:
        async with database.transaction() as session:
            if await repository.get(session, organization_id, name) is None:
                raise NotFound(f"No connection {name!r}")
            await repository.insert_probe(
                session,
                probe_id=probe_id,
                organization_id=organization_id,
                name=name,
                runs_on=runs_on,
                expires_at=utcnow() + timedelta(seconds=wait_s),
            )
            await publish_after_commit(session, work_topic(organization_id))
        while True:
            async with database.transaction() as session:
                probe = await repository.get_probe(session, probe_id)
            if probe is not None and probe.status == "done":
                return _outcome(probe)
            remaining = wait_s - (time.monotonic() - started)
            if remaining <= 0:
                break
            await subscription.wait(remaining)
    took_ms = int((time.monotonic() - started) * 1000)
    where = f" with labels {runs_on}" if runs_on else ""
    message = (
        f"no runner{where} answered within {wait_s:g} s: is one running and idle? "
        "(connections are tested on runners, whose network is the one that matters)"
    )
    async with database.transaction() as session:
        expired = await repository.finish_probe(
            session,
            probe_id,
            runner_id=None,
            status="expired",
            ok=False,
            message=message,
            duration_ms=took_ms,
        )
        if expired is None:  # the answer came in just now
            probe = await repository.get_probe(session, probe_id)
            assert probe is not None
            return _outcome(probe)
        await repository.record_test(
            session, organization_id, name, tested_at=utcnow(), error=message
        )
    return ProbeOutcome(ok=False, message=message, duration_ms=took_ms)


def _outcome(probe: ConnectionProbe) -> ProbeOutcome:
    return ProbeOutcome(
        ok=bool(probe.ok), message=probe.message or "", duration_ms=probe.duration_ms or 0
    )


async def take_for_runner(
    session: AsyncSession,
    *,
    organization_id: str,
    runner_id: str,
    labels: dict[str, str],
    keyring: Keyring | None = None,
) -> list[ProbeRequest]:
    """The pending probes this runner may run (its labels cover their `runs_on`), now its
    own, each with the connection's decrypted values."""
    taken = await repository.take_probes(session, organization_id, runner_id, labels)
    if not taken:
        return []
    rows = {
        row.name: row
        for row in await repository.named(
            session, organization_id, {probe.connection_name for probe in taken}
        )
    }
    now = utcnow()
    requests: list[ProbeRequest] = []
    for probe in taken:
        row = rows.get(probe.connection_name)
        if row is None:  # deleted since: nothing to test
            await repository.finish_probe(
                session,
                probe.id,
                runner_id=runner_id,
                status="done",
                ok=False,
                message=f"connection {probe.connection_name!r} was deleted",
                duration_ms=0,
            )
            continue
        left_s = (probe.expires_at - now).total_seconds() - _PROBE_MARGIN_S
        requests.append(
            ProbeRequest(
                id=probe.id,
                connection=row.name,
                type=row.type,
                # An OAuth 2 connection is tested with a valid token (obtained if due).
                values=await values_for_runner(session, row, keyring),
                timeout_s=max(left_s, 0.5),
                imported_service=await imported.probed_service(session, organization_id, row.type),
            )
        )
    return requests


async def record_result(
    session: AsyncSession,
    *,
    organization_id: str,
    runner_id: str,
    probe_id: str,
    result: ProbeResult,
) -> None:
    """A runner's answer for a probe it took: stored on the probe and the connection, and the
    waiting call woken (at commit). NotFound when the probe is not this runner's to answer."""
    probe = await repository.get_probe(session, probe_id)
    if probe is None or probe.organization_id != organization_id:
        raise NotFound(f"No probe {probe_id!r}")
    finished = await repository.finish_probe(
        session,
        probe_id,
        runner_id=runner_id,
        status="done",
        ok=result.ok,
        message=result.message,
        duration_ms=result.duration_ms,
    )
    if finished is None:
        raise NotFound(f"Probe {probe_id!r} has ended or is not this runner's")
    await repository.record_test(
        session,
        organization_id,
        probe.connection_name,
        tested_at=utcnow(),
        error=None if result.ok else result.message,
    )
    await publish_after_commit(session, probe_topic(probe_id))
