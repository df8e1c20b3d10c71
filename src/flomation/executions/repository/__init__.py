"""All SQL of the executions domain, one module per responsibility: `queries` (reads for
views), `requests` (queueing an execution), `claims` (leasing and starting queued executions,
renewing leases), `reports` (what a runner reports: fences, steps, logs, events, ends),
`actions` (a user's cancel) and `maintenance` (time-driven changes).

Lock order, everywhere: a queue row before its execution row. Claims, completions, requeues
and cancellations all follow it, so PostgreSQL never has to break a deadlock between them.
"""
