"""Prometheus metrics of one runner process, served on `--metrics-port` when given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class RunnerMetrics:
    """Slots, running executions, claims and how long executions take. Its own registry, so
    that several runners in one test process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.slots_total = Gauge(
            "flomation_runner_slots", "Execution slots of this runner", registry=self.registry
        )
        self.slots_free = Gauge(
            "flomation_runner_slots_free", "Free execution slots", registry=self.registry
        )
        self.running = Gauge(
            "flomation_runner_running_executions",
            "Executions this runner holds (running or waiting for a subflow)",
            registry=self.registry,
        )
        self.claimed = Counter(
            "flomation_runner_claimed_executions", "Executions claimed", registry=self.registry
        )
        self.finished = Counter(
            "flomation_runner_finished_executions",
            "Executions that ended on this runner, by status",
            ["status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "flomation_runner_execution_duration_seconds",
            "Time from claim to the end of an execution on this runner",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
            registry=self.registry,
        )
        self.api_errors = Counter(
            "flomation_runner_api_errors", "Failed calls to the API", registry=self.registry
        )
        self.side_task_failures = Counter(
            "flomation_runner_side_task_failures",
            "Failures of the runner's own tasks (reporting, heartbeats), each restarted",
            ["task"],
            registry=self.registry,
        )

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)
