"""Executions: the work queue, leases, execution history and its event stream."""
