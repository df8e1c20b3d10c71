"""ASGI middleware: request ids with structured access logs, the request body size limit and
the body read timeout. (The JSON check of bodies is `flomation.api.bodies`.)"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flomation.api.asgi import TrackedSend
from flomation.api.bodies import send_problem

access_log = logging.getLogger("flomation.access")


class RequestIdMiddleware:
    """Gives each request an id (or keeps a sane incoming `X-Request-ID`), returns it in the
    response, and logs one JSON line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else ""
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, int] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    json.dumps(
                        {
                            "request_id": request_id,
                            "method": scope["method"],
                            "path": scope["path"],
                            "status": status_holder.get("status"),
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    )
                )


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413, by Content-Length or while streaming, before any
    handler sees them. Webhook and form paths get their own (smaller) limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, webhook_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.webhook_max_bytes = webhook_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        public = scope["path"].startswith(("/hooks/", "/forms/"))
        limit = self.webhook_max_bytes if public else self.max_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False
            if too_large:
                await _send_413(send, limit)
                return
        received = 0
        rejected = False

        async def limited_receive() -> Message:
            nonlocal received, rejected
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    rejected = True
                    raise _BodyTooLarge
            return message

        tracked = TrackedSend(send)

        try:
            await self.app(scope, limited_receive, tracked)
        except _BodyTooLarge:
            if not tracked.started:
                await _send_413(send, limit)
        except Exception:
            if rejected and not tracked.started:
                await _send_413(send, limit)
                return
            raise


class _BodyTooLarge(Exception):
    pass


async def _send_413(send: Send, limit: int) -> None:
    body: dict[str, Any] = {
        "type": "https://flomation.dev/problems/payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"The request body is larger than the limit of {limit} bytes",
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyReadTimeout(HTTPException):
    """The client did not send its body in time. An HTTPException, so that wherever the body is
    read (FastAPI's body parsing, a handler, an outer middleware) it becomes the 408 answer and
    never a 400 or a 500."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail, headers={"Connection": "close"})


class BodyReadTimeoutMiddleware:
    """Bounds how long a request body may take: all of it within `timeout_s` of the request's
    start, and no gap longer than `idle_timeout_s` between chunks. Otherwise 408 problem+json and
    the connection is closed, so a client sending a byte now and then (slowloris) cannot hold a
    connection and a handler open. Only the body is timed: once it has arrived, waiting on
    `receive` means listening for a disconnect (event streams, long polls), which may last."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        timeout_s: float,
        idle_timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = self.clock() + self.timeout_s
        body_done = False
        tracked = TrackedSend(send)

        async def timed_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            remaining = deadline - self.clock()
            wait_s = min(self.idle_timeout_s, remaining)
            try:
                async with asyncio.timeout(max(wait_s, 0.0)):
                    message = await receive()
            except TimeoutError:
                whole = remaining <= self.idle_timeout_s
                raise BodyReadTimeout(
                    f"The request body did not arrive within {self.timeout_s:g} seconds"
                    if whole
                    else f"The request body stalled for {self.idle_timeout_s:g} seconds"
                ) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        try:
            await self.app(scope, timed_receive, tracked)
        except BodyReadTimeout as exc:
            if tracked.started:
                return  # the answer is out; the client's own slowness is not an error of ours
            await send_problem(
                send, 408, "Request timeout", exc.detail, "request-timeout", close=True
            )
