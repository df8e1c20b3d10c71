"""Wake-ups without polling: "work may be available in organisation X" (idle runners' long
polls) and "execution Y has new events" (event streams).

Publishing happens at commit, never before (a released savepoint is not a commit), so a woken
waiter always finds what woke it:
- PostgreSQL: `pg_notify` inside the writing transaction (delivered at commit to every API
  process); each process keeps one dedicated asyncpg connection LISTENing (`WorkNotifier`).
- Both databases: an after-commit hook on the writing session wakes this process's waiters
  directly (the only path on SQLite, where one process owns the database).
- So a process's listener skips the notifications it sent itself (each payload names its
  sender, `notify_payload`): its waiters were woken at commit, and a second wake-up would
  have every idle runner's long poll in this process claim once more, for nothing.

A waiter subscribes BEFORE it looks for work, then waits: a notification that arrives between
"found nothing" and "wait" is not lost (`WorkNotifier.subscribe`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from flomation.db.session import Database

log = logging.getLogger("flomation.executions.notifier")

CHANNEL = "flomation_executions"
_PENDING_KEY = "flomation_notify_topics"
_RECONNECT_DELAY_S = 1.0
# Names this process in the notifications it sends (`notify_payload`).
_ORIGIN = secrets.token_hex(8)


def notify_payload(topic: str) -> str:
    """The `pg_notify` payload for `topic`: "<sender> <topic>" (topics hold no spaces)."""
    return f"{_ORIGIN} {topic}"


def topic_of_payload(payload: str) -> str | None:
    """The topic a notification from another process carries; None for this process's own.
    A payload without a sender (another tool's `pg_notify`) is a topic by itself."""
    origin, separator, topic = payload.partition(" ")
    if not separator:
        return payload
    return None if origin == _ORIGIN else topic


_WORK_PREFIX = "w:"


def work_topic(organization_id: str) -> str:
    return f"{_WORK_PREFIX}{organization_id}"


def execution_topic(execution_id: str) -> str:
    return f"e:{execution_id}"


def runner_topic(runner_id: str) -> str:
    """Published when something the runner holds needs it (a cancel was requested)."""
    return f"r:{runner_id}"


class Subscription:
    """Topics one waiter listens to. `wait` returns True as soon as any was published since
    the subscription began (or since the previous `wait` returned True)."""

    def __init__(self, hub: _Hub, topics: tuple[str, ...]) -> None:
        self._hub = hub
        self.topics = topics
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def _wake(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)

    def published(self) -> int:
        """A stamp of the latest publication of any of the topics (0: none yet), increasing
        with every publication, read before looking for work: whatever was committed before
        a publication stamped at most this is visible to a statement that starts afterwards."""
        return self._hub.last_published(self.topics)

    async def wait(self, timeout_s: float) -> bool:
        """True when woken by a publication, False when `timeout_s` passed first."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout=max(timeout_s, 0.0))
        except TimeoutError:
            return False
        self._event.clear()
        return True


class _Hub:
    """This process's waiters, by topic."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[Subscription]] = {}
        # Publications are stamped from one counter, so a topic's stamp only ever grows, even
        # when its entry is dropped with its last waiter and made again later.
        self._stamp = 0
        self._last_published: dict[str, int] = {}

    @contextmanager
    def subscribe(self, topics: Iterable[str]) -> Iterator[Subscription]:
        subscription = Subscription(self, tuple(topics))
        for topic in subscription.topics:
            self._waiters.setdefault(topic, set()).add(subscription)
        try:
            yield subscription
        finally:
            for topic in subscription.topics:
                waiters = self._waiters.get(topic)
                if waiters is not None:
                    waiters.discard(subscription)
                    if not waiters:
                        del self._waiters[topic]
                        if not topic.startswith(_WORK_PREFIX):
                            self._last_published.pop(topic, None)

    def last_published(self, topics: Iterable[str]) -> int:
        return max((self._last_published.get(topic, 0) for topic in topics), default=0)

    def publish(self, topic: str) -> None:
        waiters = self._waiters.get(topic)
        # A work topic is stamped even with nobody waiting: a runner's next long poll compares
        # its stamp with what its claim group covered to skip a claim (`claim_groups`), so a
        # publication between two long polls must show. Work topics are few (one per
        # organisation); the others' stamps go with their last waiter.
        if not waiters and not topic.startswith(_WORK_PREFIX):
            return
        self._stamp += 1
        self._last_published[topic] = self._stamp
        for subscription in list(waiters or ()):
            subscription._wake()

    def publish_all(self) -> None:
        """Wake everyone, and stamp every work topic (after a lost LISTEN connection:
        notifications may have been missed)."""
        for topic in {*self._waiters, *self._last_published}:
            self.publish(topic)


HUB = _Hub()


async def publish_after_commit(session: AsyncSession, *topics: str) -> None:
    """Publish `topics` when the session's transaction commits; dropped when the transaction,
    or the savepoint they were published in, rolls back."""
    fresh = stage_after_commit(session, *topics)
    if fresh and session.get_bind().dialect.name == "postgresql":
        # One round trip for all of them; PostgreSQL delivers them at commit.
        await session.execute(
            select(*(func.pg_notify(CHANNEL, notify_payload(topic)) for topic in fresh))
        )


def stage_after_commit(session: AsyncSession, *topics: str) -> list[str]:
    """`publish_after_commit` without the round trip: this process's waiters are woken at
    commit, and the topics returned (those not staged before in this transaction) are for the
    caller to `pg_notify` on `CHANNEL` inside one of its own statements (PostgreSQL), each as
    its `notify_payload`."""
    sync_session = session.sync_session
    pending: list[tuple[SessionTransaction, str]] | None = sync_session.info.get(_PENDING_KEY)
    if pending is None:
        pending = []
        sync_session.info[_PENDING_KEY] = pending
    current = sync_session.get_nested_transaction() or sync_session.get_transaction()
    if current is None:
        return []
    fresh = unstaged(session, *topics)
    pending.extend((current, topic) for topic in fresh)
    return fresh


def unstaged(session: AsyncSession, *topics: str) -> list[str]:
    """The topics `stage_after_commit` would return now, without staging them: for a write
    that may turn out to write nothing, staged only once it did."""
    pending: list[tuple[SessionTransaction, str]] | None = session.sync_session.info.get(
        _PENDING_KEY
    )
    already = {topic for _, topic in pending or ()}
    return [topic for topic in dict.fromkeys(topics) if topic not in already]


# Listened to on the Session class, once: listening on each session that stages a topic costs
# about a hundred Python calls per request (SQLAlchemy copies a session's event dispatch on its
# first instance-level listener). Sessions that staged nothing return at once.
@event.listens_for(Session, "after_commit")
def _after_commit(sync_session: Session) -> None:
    pending: list[tuple[SessionTransaction, str]] | None = sync_session.info.get(_PENDING_KEY)
    if not pending:
        return
    if sync_session.in_nested_transaction():
        # SQLAlchemy dispatches `after_commit` for a released savepoint too, and that is no
        # commit: a waiter woken now would look before the outer transaction commits, find
        # nothing, and (its claim group counting that look) wait out its long poll. What the
        # savepoint published stays pending, dropped if the outer transaction rolls back.
        return
    topics = list(dict.fromkeys(topic for _, topic in pending))
    pending.clear()
    for topic in topics:
        HUB.publish(topic)


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _after_soft_rollback(sync_session: Session, previous: SessionTransaction) -> None:
    pending: list[tuple[SessionTransaction, str]] | None = sync_session.info.get(_PENDING_KEY)
    if pending:
        pending[:] = [(tx, topic) for tx, topic in pending if not _within(tx, previous)]


class WorkNotifier:
    """Per API process (on `app.state.work_notifier`). On PostgreSQL it LISTENs on a dedicated
    connection and forwards notifications to this process's waiters; on SQLite the writers'
    after-commit hooks reach the waiters directly."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._stopping = asyncio.Event()
        self.listening = asyncio.Event()

    async def start(self) -> None:
        if not self._database.is_postgres:
            self.listening.set()
            return
        self._task = asyncio.create_task(self._listen_forever(), name="work-notifier")
        # Wait (bounded) for the first LISTEN so that work requested right after start wakes us.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), timeout=5)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_connection()

    def subscribe_work(
        self, organization_id: str
    ) -> contextlib.AbstractContextManager[Subscription]:
        """Subscribe before claiming, wait after finding nothing: no wake-up is lost."""
        return HUB.subscribe([work_topic(organization_id)])

    def subscribe_runner(self, runner_id: str) -> contextlib.AbstractContextManager[Subscription]:
        """For a runner's long-poll: wakes when one of its executions is to be cancelled."""
        return HUB.subscribe([runner_topic(runner_id)])

    def subscribe_execution(
        self, execution_id: str
    ) -> contextlib.AbstractContextManager[Subscription]:
        return HUB.subscribe([execution_topic(execution_id)])

    async def wait_for_work(self, organization_id: str, timeout_s: float) -> bool:
        """Wait until work may be available in the organisation (True) or `timeout_s` passes
        (False). Prefer `subscribe_work` around claim-then-wait to close the gap between them."""
        with self.subscribe_work(organization_id) as subscription:
            return await subscription.wait(timeout_s)

    # --- PostgreSQL LISTEN connection -----------------------------------------------------

    def _dsn(self) -> str:
        url = self._database.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _listen_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                connection = await asyncpg.connect(self._dsn(), timeout=10)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(CHANNEL, self._on_notification)
                self._connection = connection
                self.listening.set()
                # Anything published while we were not listening was missed: everyone rechecks.
                HUB.publish_all()
                await lost.wait()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("LISTEN connection failed (%s); retrying", exc)
            finally:
                self.listening.clear()
                await self._close_connection()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=_RECONNECT_DELAY_S)

    def _on_notification(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        topic = topic_of_payload(payload)
        if topic is not None:
            HUB.publish(topic)

    async def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await connection.close(timeout=2)
