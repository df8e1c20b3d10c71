"""Claims read the database's clock as this process moves it: a claim's lease and deadline are
counted from the moved time, work queued at the moved time is claimable at once, and
maintenance expires leases and deadlines by it. On SQLite and PostgreSQL, through each claim
statement: the unlimited claim, the claim of a flow with a concurrency limit, the renewal."""

from __future__ import annotations

from datetime import datetime, timedelta

from flomation.config import Settings
from flomation.db.session import Database
from flomation.executions import claims as execution_claims
from flomation.executions.maintenance import Maintenance
from flomation.executions.schemas import ClaimedExecution
from tests.conftest import ProcessClock
from tests.executions.factories import claim, get, request
from tests.factories import echo_definition, make_actor, make_flow

# Far more than a claim takes on a loaded machine, far less than the hour the clock moves.
SLACK = timedelta(seconds=60)
DAY_S = 86400.0
LEASE_S = 300.0
TIMEOUT_S = 600


def _close(value: datetime | None, expected: datetime) -> bool:
    return value is not None and abs(value - expected) < SLACK


def _counted_from(claimed: ClaimedExecution, now: datetime) -> None:
    assert _close(claimed.lease_expires_at, now + timedelta(seconds=LEASE_S))
    assert _close(claimed.deadline_at, now + timedelta(seconds=TIMEOUT_S))


async def test_claims_lease_and_deadline_follow_the_moved_clock(
    database: Database, settings: Settings, db_clock: ProcessClock
) -> None:
    actor = await make_actor(database)
    org = actor.organization_id
    definition = echo_definition(timeout_s=TIMEOUT_S)
    free = await make_flow(database, org, definition=definition)
    limited = await make_flow(database, org, definition=definition, max_concurrent=1, name="lim")

    # Tomorrow, as far as this process's clocks go: queued now, claimable now.
    db_clock.advance(DAY_S)
    unlimited = await request(database, org, free)
    [claimed] = await claim(database, org, "runner-a", lease_seconds=LEASE_S)
    assert claimed.id == unlimited.id
    _counted_from(claimed, db_clock.now())

    in_limited = await request(database, org, limited)
    [claimed_limited] = await claim(database, org, "runner-b", lease_seconds=LEASE_S)
    assert claimed_limited.id == in_limited.id
    _counted_from(claimed_limited, db_clock.now())

    maintenance = Maintenance(database, settings)
    report = await maintenance.run_once()
    assert (report.requeued, report.timed_out) == (0, 0)

    # Past the leases, before the deadlines: the runner still holding one renews it from the
    # moved time; the other's is requeued.
    db_clock.advance(LEASE_S + 1)
    async with database.transaction() as session:
        renewal = await execution_claims.renew_leases(
            session,
            runner_id="runner-b",
            held=[(claimed_limited.id, claimed_limited.attempt)],
            lease_seconds=LEASE_S,
        )
    assert (renewal.lost, renewal.cancel) == ([], [])
    report = await maintenance.run_once()
    assert (report.requeued, report.timed_out) == (1, 0)
    assert (await get(database, org, unlimited.id)).status == "queued"
    assert (await get(database, org, in_limited.id)).status == "running"

    # Past the deadlines, counted from the first starts: the runner is told to stop, and
    # maintenance times both executions out, the requeued one included.
    db_clock.advance(TIMEOUT_S - LEASE_S)
    async with database.transaction() as session:
        renewal = await execution_claims.renew_leases(
            session,
            runner_id="runner-b",
            held=[(claimed_limited.id, claimed_limited.attempt)],
            lease_seconds=LEASE_S,
        )
    assert renewal.cancel == [claimed_limited.id]
    settings = settings.model_copy(update={"execution_timeout_margin_seconds": 0.0})
    report = await Maintenance(database, settings).run_once()
    assert report.timed_out == 2
    for execution in (unlimited, in_limited):
        assert (await get(database, org, execution.id)).status == "timed_out"
