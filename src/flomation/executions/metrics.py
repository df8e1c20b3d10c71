"""Prometheus metrics of the queue, and `GET /metrics` (root router) for every metric of the
process. The endpoint needs `Authorization: Bearer <FLOMATION_METRICS_TOKEN>`; without a
configured token it does not exist (404)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from flomation.auth.tokens import constant_time_equals
from flomation.config import Settings
from flomation.errors import NotFound, Unauthorized

QUEUE_DEPTH = Gauge(
    "flomation_queue_depth",
    "Executions waiting for a runner, by the labels they need",
    ["labels"],
)
CLAIMS = Counter("flomation_claims_total", "Executions claimed by runners")
CLAIM_LATENCY = Histogram(
    "flomation_claim_latency_seconds",
    "Time from an execution being queued to a runner claiming it",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
EXECUTIONS_FINISHED = Counter(
    "flomation_executions_finished_total", "Executions that ended, by final status", ["status"]
)
LEASE_EXPIRIES = Counter(
    "flomation_lease_expiries_total", "Leases that ran out (runner lost or too slow to renew)"
)


def labels_key(labels: dict[str, object]) -> str:
    """A stable label-set name: `k=v,k2=v2` sorted, or `none`."""
    if not labels:
        return "none"
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels))


def set_queue_depth(depths: dict[str, int]) -> None:
    """Replace the gauge's label sets with these (sets that emptied drop to 0 then vanish)."""
    QUEUE_DEPTH.clear()
    for key, count in depths.items():
        QUEUE_DEPTH.labels(labels=key).set(count)


router = APIRouter(tags=["metrics"], include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    expected = settings.metrics_token
    if not expected:
        raise NotFound("Metrics are off: set FLOMATION_METRICS_TOKEN to expose them")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not constant_time_equals(token.strip(), expected):
        raise Unauthorized("GET /metrics needs 'Authorization: Bearer <FLOMATION_METRICS_TOKEN>'")
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
