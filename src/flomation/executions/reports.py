"""What a runner reports: its executions' events folded into steps, logs and the event
stream, and their ends; the ends and requeues of executions by anyone (maintenance, cancels,
releases).

One path records every report, `record_reports`: a batch of items in a fixed number of
statements whatever its size, each item fenced on its own (a refused item changes nothing and
does not sink the others). `record_events` and `complete_execution` are that path for one item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from flomation.engine.steps import fold_step
from flomation.errors import FlomationError, ValidationFailed
from flomation.executions import metrics
from flomation.executions.errors import StaleAttempt
from flomation.executions.notifier import (
    CHANNEL,
    execution_topic,
    notify_payload,
    publish_after_commit,
    stage_after_commit,
    work_topic,
)
from flomation.executions.repository import reports as reports_repository
from flomation.executions.schemas import ExecutionSummary, LogView
from flomation.executions.views import event_payload, event_row, step_key, step_payload
from flomation.models.executions import Execution
from flomation.protocol import (
    EVENTS,
    FINAL_STATUSES,
    Event,
    EventKind,
    ExecutionStatus,
    FinalStatus,
    LogLine,
    NodeCancelled,
    NodeFailed,
    NodeRetrying,
    NodeSkipped,
    NodeStarted,
    NodeSucceeded,
)
from flomation.protocol.events import STEP_ENDS

_NODE_EVENTS = (NodeStarted, NodeRetrying, NodeSucceeded, NodeFailed, NodeSkipped, NodeCancelled)


@dataclass(frozen=True)
class Report:
    """One item of a runner's report: events of an attempt and, when `status` is set, its end.
    Its events and status are the protocol's, checked where they came in."""

    execution_id: str
    attempt: int
    events: Sequence[Event]
    status: FinalStatus | None = None
    output: Any = None
    error: dict[str, Any] | None = None


async def record_reports(
    session: AsyncSession, *, runner_id: str, reports: Sequence[Report]
) -> list[FlomationError | None]:
    """Record a runner's reports, in order. Answers, per report, None (recorded) or the error
    that refused it, which changed nothing: `StaleAttempt` for an attempt this runner no
    longer holds.

    A report's events are the protocol's (`flomation.protocol.events`), checked before they
    get here. Node events (`node.*`) are folded into steps (upserted by
    node, visit and iteration) and `log` events appended to the logs; other kinds are accepted
    and not stored (the execution's own status comes from its claim and its end). Each stored
    change is also appended to the event stream as a `step` or `log` event. Steps inside
    foreach iterations that begin and end within one report are stored packed: one
    `ExecutionStepPack` row, and their ends one stream row per run (see `_fold_events`).
    What is stored follows the execution's `save_data` (which the fence reads): nothing of its
    steps and logs under `none`, and an end that keeps none of them (`discards_at_end`)
    deletes those stored before, in this transaction. Events are FENCED:
    this runner must hold this attempt of the running execution. An end (`status`) is fenced by
    the queue row this runner holds for this attempt; it records the final status, output and
    error (`{node_id, type, message, attempt}` or None) and the `execution` and `end` events.

    The statements are fixed per batch (queue rows, fences, then one write per table); reports
    naming an execution that an earlier report of the batch names are recorded after it, in
    as many more rounds as the most often named execution needs.
    """
    outcomes: list[FlomationError | None] = [None] * len(reports)
    for indexes in _rounds(reports):
        recorded = await _record_round(
            session, runner_id=runner_id, reports=[reports[i] for i in indexes]
        )
        for index, outcome in zip(indexes, recorded, strict=True):
            outcomes[index] = outcome
    return outcomes


async def record_events(
    session: AsyncSession,
    *,
    runner_id: str,
    execution_id: str,
    attempt: int,
    events: Sequence[Mapping[str, Any]],
) -> None:
    """`record_reports` for one report of events as the engine emits them
    (`ExecutionEvent.to_dict()`), checked here because they do not come through the protocol:
    raises what refused it (`ValidationFailed` for malformed events, nothing stored)."""
    await _record_one(session, runner_id, Report(execution_id, attempt, _checked(events)))


async def complete_execution(
    session: AsyncSession,
    *,
    runner_id: str,
    execution_id: str,
    attempt: int,
    status: FinalStatus,
    output: Any,
    error: dict[str, Any] | None,
) -> None:
    """`record_reports` for one report of an end: raises what refused it. The status is checked
    here because this end does not come through the protocol."""
    if status not in FINAL_STATUSES:
        raise ValidationFailed(
            f"status must be one of {', '.join(sorted(FINAL_STATUSES))}",
            errors=[{"loc": ["body", "status"], "msg": "not a final status"}],
        )
    await _record_one(session, runner_id, Report(execution_id, attempt, [], status, output, error))


def _checked(events: Sequence[Mapping[str, Any]]) -> list[Event]:
    try:
        return EVENTS.validate_python(list(events))
    except ValidationError as refused:
        problems = [
            {"loc": ["body", "events", *error["loc"]], "msg": error["msg"]}
            for error in refused.errors(include_url=False)
        ]
        raise ValidationFailed("Some events cannot be recorded", errors=problems) from None


async def _record_one(session: AsyncSession, runner_id: str, report: Report) -> None:
    [refused] = await record_reports(session, runner_id=runner_id, reports=[report])
    if refused is not None:
        raise refused


def _rounds(reports: Sequence[Report]) -> list[list[int]]:
    """The indexes of `reports` in rounds that name each execution at most once: a set-based
    round cannot keep two reports of one execution apart, and they must land in order."""
    rounds: list[list[int]] = []
    named: dict[str, int] = {}
    for index, report in enumerate(reports):
        times = named.get(report.execution_id, 0)
        named[report.execution_id] = times + 1
        if times == len(rounds):
            rounds.append([])
        rounds[times].append(index)
    return rounds


async def _record_round(
    session: AsyncSession, *, runner_id: str, reports: Sequence[Report]
) -> list[FlomationError | None]:
    """`record_reports` for reports of distinct executions."""
    outcomes: list[FlomationError | None] = [None] * len(reports)
    ending = [
        (report.execution_id, report.attempt)
        for report, outcome in zip(reports, outcomes, strict=True)
        if outcome is None and report.status is not None
    ]
    # Queue rows first (the lock order); taking an ending execution's row is its fence.
    taken = await reports_repository.take_held_queue_rows(session, runner_id=runner_id, held=ending)
    fences: list[reports_repository.Fence] = []
    for index, report in enumerate(reports):
        if outcomes[index] is not None or (not report.events and report.status is None):
            continue
        if report.status is not None and report.execution_id not in taken:
            outcomes[index] = StaleAttempt(report.execution_id, report.attempt)
            continue
        row = taken.get(report.execution_id)
        fences.append(_fence(report, limited=row is not None and row["max_concurrent"] is not None))
    passed = await reports_repository.fence_batch(
        session,
        runner_id=runner_id,
        fences=fences,
        channel=CHANNEL,
        execution_prefix=notify_payload(execution_topic("")),
        work_prefix=notify_payload(work_topic("")),
    )
    # Rows out of step (the queue row held, the execution row refusing the fence): the refused
    # end must not cost the execution its queue row.
    untaken: list[dict[str, Any]] = []
    for index, report in enumerate(reports):
        if outcomes[index] is None and report.execution_id not in passed:
            if report.execution_id in taken:
                untaken.append(taken[report.execution_id])
            if report.events or report.status is not None:
                outcomes[index] = StaleAttempt(report.execution_id, report.attempt)
    await reports_repository.restore_queue_rows(session, untaken)
    landed = [
        (report, passed[report.execution_id])
        for report, outcome in zip(reports, outcomes, strict=True)
        if outcome is None and report.execution_id in passed
    ]
    await _write_reports(session, landed)
    _stage_report_wakeups(session, fences, passed)
    return outcomes


def _fence(report: Report, *, limited: bool) -> reports_repository.Fence:
    ends = report.status is not None
    stream_count = _stream_count(report.events)
    return reports_repository.Fence(
        execution_id=report.execution_id,
        attempt=report.attempt,
        # An end takes two more numbers: its `execution` and `end` events.
        count=stream_count + (2 if ends else 0),
        # Events need this runner to hold this attempt of the running execution; an end alone
        # was fenced by its queue row, and its execution only must not have ended yet.
        strict=bool(report.events),
        ends=ends,
        status=report.status,
        output=report.output,
        error=report.error,
        wakes=stream_count > 0 or ends,
        frees=ends and limited,
    )


# The kinds stored in the event stream: node events (as `step` events) and log lines.
_STREAM_KINDS = frozenset(EventKind) - {EventKind.EXECUTION_STARTED, EventKind.EXECUTION_FINISHED}


def _stream_count(events: Sequence[Event]) -> int:
    """How many event numbers the events take: one per node event and per log line."""
    return sum(1 for event in events if event.kind in _STREAM_KINDS)


async def _write_reports(
    session: AsyncSession, landed: Sequence[tuple[Report, dict[str, Any]]]
) -> None:
    """The steps, log lines and stream events of the reports that passed their fences, one
    statement per table for the whole batch; what `save_data` does not keep is not written,
    and an ending execution's earlier steps and logs that it does not keep are deleted."""
    kept = [(report, row) for report, row in landed if keeps_details(row["save_data"])]
    discarded = [
        report.execution_id
        for report, row in landed
        if report.status is not None and discards_at_end(row["save_data"], report.status)
    ]
    wanted = [
        (report.execution_id, report.attempt, number)
        for report, row in kept
        if not _ends_discarding(report, row)
        for number in _steps_begun_earlier(report.events)
    ]
    known: dict[str, dict[int, dict[str, Any]]] = {}
    for step in await reports_repository.steps_by_keys(session, wanted):
        known.setdefault(str(step["execution_id"]), {})[int(step["step"])] = step
    steps: list[dict[str, Any]] = []
    packs: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    stream: list[dict[str, Any]] = []
    for report, row in landed:
        last = int(row["last_seq"])
        ends = report.status is not None
        first = last - _stream_count(report.events) - (2 if ends else 0)
        if report.events and keeps_details(row["save_data"]) and not _ends_discarding(report, row):
            folded = _StoredSteps(
                report.execution_id,
                report.attempt,
                known.get(report.execution_id, {}),
                packed=_iterations_begun_and_ended(report.events),
            )
            _fold_events(folded, report.events, first, logs, stream)
            steps.extend(folded.rows())
            pack = folded.pack()
            if pack is not None:
                packs.append(pack)
        if ends:
            payload = _summary_payload(row)
            stream.append(_event_row_of(report.execution_id, last - 1, "execution", payload))
            stream.append(_event_row_of(report.execution_id, last, "end", payload))
            metrics.EXECUTIONS_FINISHED.labels(status=str(report.status)).inc()
    # Before this batch's rows: it keeps the `execution` and `end` events it adds.
    await reports_repository.discard_details(session, discarded)
    await reports_repository.upsert_steps(session, steps)
    await reports_repository.upsert_packs(session, packs)
    await reports_repository.insert_logs(session, logs)
    await reports_repository.insert_events(session, stream)


def keeps_details(save_data: str | None) -> bool:
    """Whether steps and logs are stored while the execution runs: not under `none`."""
    return save_data != "none"


def discards_at_end(save_data: str | None, status: str) -> bool:
    """Whether an execution ending with `status` keeps no steps and logs: always under `none`
    (in case the organisation's default changed while it ran), under `errors` when it
    succeeded."""
    return save_data == "none" or (save_data == "errors" and status == ExecutionStatus.SUCCEEDED)


def _ends_discarding(report: Report, row: Mapping[str, Any]) -> bool:
    return report.status is not None and discards_at_end(row["save_data"], report.status)


def _steps_begun_earlier(events: Sequence[Event]) -> set[int]:
    """The steps these node events change that began in an earlier batch: only those can be
    stored already. The engine announces each step of an attempt with one `node.started`, so a
    step whose `node.started` is in this batch is new (or, if a lost answer made the runner
    send the batch again, is rebuilt from the same events; the upsert keeps its first `seq`).
    A short flow's steps begin and end in one batch and need no look-up at all."""
    touched: set[int] = set()
    begun_here: set[int] = set()
    for event in events:
        if isinstance(event, _NODE_EVENTS):
            touched.add(event.step)
            if isinstance(event, NodeStarted):
                begun_here.add(event.step)
    return touched - begun_here


def _iterations_begun_and_ended(events: Sequence[Event]) -> set[int]:
    """The steps inside foreach iterations that begin and end within these events: they are
    stored packed (`ExecutionStepPack`), and their stream keeps only their end. Nothing can
    change them later (an ended step has no more events), so the pack is written once."""
    begun: set[int] = set()
    ended: set[int] = set()
    for event in events:
        if isinstance(event, NodeStarted):
            if event.iteration is not None:
                begun.add(event.step)
        elif isinstance(event, _NODE_EVENTS) and event.kind in STEP_ENDS:
            ended.add(event.step)
    return begun & ended


class _StoredSteps:
    """An attempt's steps as this domain stores them: folded by the engine's rule
    (`fold_step`), with the columns of a stored step added when a step begins. The steps of
    `packed` go into one pack instead of a row each."""

    def __init__(
        self,
        execution_id: str,
        attempt: int,
        known: dict[int, dict[str, Any]],
        packed: set[int],
    ) -> None:
        self.execution_id = execution_id
        self.attempt = attempt
        self.steps = known
        self.packed = packed
        self.changed: dict[int, dict[str, Any]] = {}
        # The packed steps as the stream shows their ends (`step_payload`), by step number.
        self.ended: dict[int, dict[str, Any]] = {}

    def fold(self, event: Event, seq: int) -> dict[str, Any]:
        # The fields it was sent with only: the fold tells "no output" from "output null".
        # Read as they are (a dump would copy every input and output once more).
        data = {name: getattr(event, name) for name in event.model_fields_set}
        begins = data["step"] not in self.steps
        step = fold_step(self.steps, event.kind, data, event.at)
        if begins:
            key = step_key(step["node_id"], step["visit"], step["iteration"])
            step.update(
                execution_id=self.execution_id, step_key=key, run_attempt=self.attempt, seq=seq
            )
            step.setdefault("port", None)
            step.setdefault("reused", False)
            step.setdefault("output_truncated", False)
        self.changed[step["step"]] = step
        return step

    def rows(self) -> list[dict[str, Any]]:
        return [
            {name: step[name] for name in reports_repository.STEP_ROW_COLUMNS}
            for number, step in self.changed.items()
            if number not in self.packed
        ]

    def pack(self) -> dict[str, Any] | None:
        """The packed steps as one `ExecutionStepPack` row: each as the stream shows its end,
        with its step number, `seq`, `parent_step` and `output_truncated`."""
        members = []
        for number, shown in self.ended.items():
            step = self.changed[number]
            members.append(
                {
                    **shown,
                    "step": number,
                    "seq": step["seq"],
                    "parent_step": step["parent_step"],
                    "output_truncated": step["output_truncated"],
                }
            )
        if not members:
            return None
        return {
            "execution_id": self.execution_id,
            "pack_key": f"{self.attempt}:{members[0]['step']}",
            "run_attempt": self.attempt,
            "seq": members[0]["seq"],
            "steps": members,
        }


def _fold_events(
    steps: _StoredSteps,
    events: Sequence[Event],
    seq: int,
    logs: list[dict[str, Any]],
    stream: list[dict[str, Any]],
) -> None:
    """Fold checked events numbered from `seq` + 1 into `steps`, appending log rows to `logs`
    and `step`/`log` stream events to `stream`. A packed step's stream keeps its end only (the
    state a reader folds to; the numbers of its earlier events are left unused), and the ends
    of packed steps that follow each other in the stream are stored as one row
    (`PACKED_STEP_EVENTS`)."""
    execution_id = steps.execution_id
    packed = steps.packed
    run: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, _NODE_EVENTS):
            seq += 1
            step = steps.fold(event, seq)
            if event.step in packed:
                if event.kind in STEP_ENDS:
                    payload = step_payload(step)
                    steps.ended[event.step] = payload
                    run.append({"seq": seq, "data": payload})
                continue
            _end_run(execution_id, run, stream)
            payload = step_payload(step)
            stream.append(_event_row_of(execution_id, seq, "step", payload))
        elif isinstance(event, LogLine):
            seq += 1
            _end_run(execution_id, run, stream)
            log = {
                "execution_id": execution_id,
                "seq": seq,
                "at": event.at,
                "node_id": event.node_id,
                "level": event.level,
                "message": event.message,
            }
            logs.append(log)
            payload = LogView.model_validate(log).model_dump(mode="json")
            stream.append(_event_row_of(execution_id, seq, "log", payload))
    _end_run(execution_id, run, stream)


def _end_run(execution_id: str, run: list[dict[str, Any]], stream: list[dict[str, Any]]) -> None:
    """Store the `step` events in `run` (consecutive in the stream) as one row, and empty it."""
    if len(run) == 1:
        stream.append(_event_row_of(execution_id, run[0]["seq"], "step", run[0]["data"]))
    elif run:
        packed = _event_row_of(
            execution_id,
            run[-1]["seq"],
            reports_repository.PACKED_STEP_EVENTS,
            {"steps": list(run)},
        )
        stream.append(packed)
    run.clear()


def _summary_payload(row: Mapping[str, Any]) -> dict[str, Any]:
    values = {**row, "runs_on": row["runs_on"] or {}}
    return ExecutionSummary.model_validate(values).model_dump(mode="json")


def _event_row_of(execution_id: str, seq: int, kind: str, payload: Any) -> dict[str, Any]:
    return {"execution_id": execution_id, "seq": seq, "type": kind, "payload": payload}


def _stage_report_wakeups(
    session: AsyncSession,
    fences: Sequence[reports_repository.Fence],
    passed: Mapping[str, Any],
) -> None:
    """This process's waiters, woken at commit; PostgreSQL's were notified by the fence."""
    topics: list[str] = []
    for fence in fences:
        row = passed.get(fence.execution_id)
        if row is None:
            continue
        if fence.wakes:
            topics.append(execution_topic(fence.execution_id))
        if fence.frees:
            topics.append(work_topic(str(row["organization_id"])))
    if topics:
        stage_after_commit(session, *topics)


async def end_executions(
    session: AsyncSession,
    execution_ids: Sequence[str],
    *,
    status: str,
    output: Any,
    error: dict[str, Any] | None,
) -> list[Execution]:
    """Record the end of executions whose queue rows the caller already removed (not a runner:
    maintenance, a cancel): final status, `execution` and `end` events, metrics, wake-ups of
    their streams and of idle runners (the end may let a waiting execution of a flow with a
    concurrency limit start)."""
    ended = await reports_repository.finish(
        session, execution_ids, status=status, output=output, error=error
    )
    modes = await reports_repository.save_data_of(session, [e.id for e in ended])
    await reports_repository.discard_details(
        session, [e.id for e in ended if discards_at_end(modes.get(e.id), status)]
    )
    rows = []
    for execution in ended:
        payload = event_payload(execution)
        rows.append(event_row(execution, execution.last_seq - 1, "execution", payload))
        rows.append(event_row(execution, execution.last_seq, "end", payload))
    await reports_repository.insert_events(session, rows)
    wakeups: list[str] = []
    for execution in ended:
        metrics.EXECUTIONS_FINISHED.labels(status=status).inc()
        wakeups.append(execution_topic(execution.id))
        wakeups.append(work_topic(execution.organization_id))
    if wakeups:
        await publish_after_commit(session, *wakeups)
    return ended


async def release_executions(session: AsyncSession, *, runner_id: str, ids: list[str]) -> None:
    """Hand executions this runner holds back to the queue at once (runner shutting down).
    The next claim takes a new attempt, so anything the old attempt still sends is refused."""
    released = await reports_repository.release(session, runner_id=runner_id, execution_ids=ids)
    await requeue_executions(session, released, detail="released by its runner")


async def requeue_executions(
    session: AsyncSession, execution_ids: Sequence[str], *, detail: str | None
) -> None:
    """Executions whose queue rows were unleased become `queued` again, with an event."""
    requeued = await reports_repository.mark_requeued(session, execution_ids, detail)
    await reports_repository.insert_events(
        session, [event_row(e, e.last_seq, "execution", event_payload(e)) for e in requeued]
    )
    for execution in requeued:
        await publish_after_commit(
            session, execution_topic(execution.id), work_topic(execution.organization_id)
        )
