"""Small ASGI helpers shared by the API's middlewares."""

from __future__ import annotations

from starlette.types import Message, Send


class TrackedSend:
    """An ASGI `send` that notes when the response has started: from then on a middleware can
    no longer answer with a problem of its own, only close the connection."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)
