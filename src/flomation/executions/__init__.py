"""Executions: the work queue, leases, execution history and its event stream.

The rules are in one module per responsibility: `views`, `requests`, `actions` (cancel,
retry), `claims` (a runner's claims and leases), `reports` (what a runner reports, and the
ends of executions), `maintenance` (time-driven changes); all SQL is in `repository`.

Every function takes an `AsyncSession` whose transaction the caller owns; none commits.
Waiting runners are woken after the caller's commit (PostgreSQL: `pg_notify` inside the
transaction; both: an after-commit hook that wakes this process's waiters).
"""
