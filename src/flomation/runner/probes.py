"""Connection tests on a runner: a claim answer may carry `ProbeRequest`s (the runner said it
runs them); each runs its connection type's probe, bounded by the request's `timeout_s`, and
the result goes back on the signed `POST /probes/{id}`. A probe's message is masked of the
connection's secret values (and their encodings) before it leaves the runner."""

from __future__ import annotations

import asyncio
import logging
import time

from flomation.engine.masking import Masker
from flomation.engine.nodes.base import EngineServices, NodeError
from flomation.integrations.base import ConnectionType
from flomation.integrations.registry import connection_types, make_connection
from flomation.protocol import ProbeRequest, ProbeResult
from flomation.protocol.probes import MAX_PROBE_MESSAGE
from flomation.runner.client import ApiClient, ApiError
from flomation.runner.imported_services import claimed_services
from flomation.signing import SignatureInvalid

log = logging.getLogger("flomation.runner.probes")


async def run_probe(request: ProbeRequest, services: EngineServices) -> ProbeResult:
    """What the probe says; never raises (a failing probe is a failed result saying why)."""
    started = time.monotonic()
    try:
        kind = _kind(request)
    except ValueError as exc:
        kind = None
        ok, message = False, f"the imported service of this connection cannot be read: {exc}"
    else:
        ok, message = await _probe(request, kind, services)
    connection = (
        kind.connection(request.connection, request.values)
        if kind is not None
        else make_connection(request.connection, request.type, request.values)
    )
    secrets = connection.secret_values()
    masked = Masker(secrets).text(message) if secrets else message
    if len(masked) > MAX_PROBE_MESSAGE:
        masked = masked[: MAX_PROBE_MESSAGE - 1] + "…"
    took_ms = int((time.monotonic() - started) * 1000)
    return ProbeResult(ok=ok, message=masked, duration_ms=took_ms)


def _kind(request: ProbeRequest) -> ConnectionType | None:
    """The connection's type: an imported service's (the request carries it), or one this
    runner knows."""
    if request.imported_service is not None:
        for service in claimed_services([request.imported_service]).services:
            if service.connection_type.type == request.type:
                return service.connection_type
    return connection_types().get(request.type)


async def _probe(
    request: ProbeRequest, kind: ConnectionType | None, services: EngineServices
) -> tuple[bool, str]:
    if kind is None:
        return False, (
            f"this runner does not know connection type {request.type!r} "
            "(is the plugin that provides it installed here?)"
        )
    if kind.probe is None:
        return False, f"connection type {request.type!r} cannot be tested"
    try:
        async with asyncio.timeout(request.timeout_s):
            return True, await kind.probe(request.values, services, request.timeout_s)
    except TimeoutError:
        return False, f"no answer within {request.timeout_s:.1f} s"
    except NodeError as exc:
        return False, exc.message
    except Exception as exc:  # a bug in the type's probe: say what, never crash the runner
        return False, f"{type(exc).__name__}: {exc}"


async def answer_probe(client: ApiClient, request: ProbeRequest, services: EngineServices) -> None:
    """Run one probe and post its result; a result the API no longer wants (the caller gave up
    waiting) is dropped."""
    result = await run_probe(request, services)
    try:
        await client.call("POST", f"/probes/{request.id}", result.model_dump(), timeout_s=10.0)
    except (ApiError, SignatureInvalid) as exc:
        log.warning("the result of connection test %s was not taken: %s", request.id, exc)
