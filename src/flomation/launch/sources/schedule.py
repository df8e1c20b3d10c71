"""Schedule triggers: cron slots in a time zone, with catch-up and overlap policies.

The cursor remembers the last slot handled (`last_slot`), the execution fired last
(`last_execution_id`, for the overlap policy), slots waiting for a running execution to end
(`queued`) and how many slots were skipped (`skipped`). Each fire's dedupe key is the trigger id
plus the slot, so a slot can never start two executions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flomation.launch.sources.base import SourceContext, report
from flomation.timeutil import isoformat, parse_rfc3339
from flomation.triggers import firing
from flomation.triggers.config import ScheduleConfig
from flomation.triggers.cron import CronSchedule
from flomation.triggers.schemas import Fire, Outcome, TriggerWork

# catch_up "all" fires at most this many missed slots (the latest ones).
CATCH_UP_LIMIT = 100
# With catch_up "none", a slot this late still counts as on time (Launch's own tick lag);
# anything later was missed while no instance ran, and is skipped.
ON_TIME_GRACE = timedelta(seconds=60)
# Slots waiting for the previous execution to end (overlap "queue"), at most.
QUEUE_LIMIT = 100
# While something is queued, look again this often for the previous execution's end.
QUEUE_RECHECK = timedelta(seconds=1)


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return parse_rfc3339(value)


def dedupe_key(trigger_id: str, slot: datetime) -> str:
    return f"schedule:{trigger_id}:{isoformat(slot)}"


def _fire(trigger_id: str, slot: datetime, now: datetime) -> Fire:
    times = {"scheduled_at": isoformat(slot), "fired_at": isoformat(now)}
    return Fire(input=dict(times), dedupe_key=dedupe_key(trigger_id, slot), trigger_data=times)


def plan(
    trigger_id: str,
    config: ScheduleConfig,
    cursor: dict[str, Any] | None,
    now: datetime,
    *,
    previous_running: bool,
) -> Outcome:
    """Decide which slots fire now and when to look next. Pure: no clock, no database."""
    cursor = dict(cursor or {})
    schedule = CronSchedule(config.cron, config.timezone)
    last = _parse(cursor.get("last_slot")) or now
    limit = CATCH_UP_LIMIT if config.catch_up == "all" else 1
    due = schedule.latest_slots(last, now, limit=limit)
    # A clock that jumped back leaves `last` ahead of now: nothing is due until it passes.
    handled_up_to = due[-1] if due else last
    if config.catch_up == "none" and due and now - due[-1] > ON_TIME_GRACE:
        cursor["missed"] = int(cursor.get("missed", 0)) + 1
        due = []

    queued = [slot for slot in (_parse(v) for v in cursor.get("queued", [])) if slot]
    to_fire: list[datetime] = []
    if config.overlap == "allow":
        to_fire = due
    elif config.overlap == "skip":
        if previous_running and due:
            cursor["skipped"] = int(cursor.get("skipped", 0)) + len(due)
            cursor["last_skipped_at"] = isoformat(due[-1])
        else:
            to_fire = due
    else:
        queued = (queued + due)[-QUEUE_LIMIT:]
        if queued and not previous_running:
            to_fire = [queued.pop(0)]

    cursor["last_slot"] = isoformat(handled_up_to)
    cursor["queued"] = [isoformat(slot) for slot in queued]
    if not cursor["queued"]:
        del cursor["queued"]
    next_fire = schedule.next_after(max(handled_up_to, last))
    if queued:
        next_fire = min(next_fire, now + QUEUE_RECHECK)
    return Outcome(
        cursor=cursor,
        next_fire_at=next_fire,
        fires=[_fire(trigger_id, slot, now) for slot in to_fire],
        fired_at=now if to_fire else None,
    )


class ScheduleSource:
    def __init__(self, context: SourceContext) -> None:
        self.context = context

    async def run(self, work: TriggerWork) -> None:
        config = work.config
        assert isinstance(config, ScheduleConfig)
        now = self.context.clock.now()
        cursor = work.cursor or {}
        # One transaction: the overlap check, the fenced advance and the fires.
        async with self.context.database.transaction() as session:
            running = config.overlap != "allow" and await firing.execution_running(
                session,
                organization_id=work.organization_id,
                execution_id=cursor.get("last_execution_id"),
            )
            outcome = plan(work.id, config, cursor, now, previous_running=running)
            applied = await firing.apply_outcome(
                session,
                owner=self.context.owner,
                work=work,
                outcome=outcome,
                lease_s=self.context.lease_s,
            )
        report(work, applied)
