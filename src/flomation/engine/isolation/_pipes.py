"""Non-blocking pipe I/O on the event loop, for the pipes of a sandboxed child."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable


async def wait_ready(fd: int, *, writable: bool) -> None:
    """Waits until `fd` can be read (or written) without blocking."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    if writable:
        loop.add_writer(fd, wake)
    else:
        loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        if writable:
            loop.remove_writer(fd)
        else:
            loop.remove_reader(fd)


async def write_and_close(fd: int, data: bytes) -> None:
    """Writes all of `data` to the pipe `fd`, then closes it (the reader sees EOF).

    A reader that goes away early (the child died or closed stdin) ends the write quietly.
    """
    os.set_blocking(fd, False)
    view = memoryview(data)
    try:
        while view:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                await wait_ready(fd, writable=True)
            except (BrokenPipeError, ConnectionResetError):
                return
    finally:
        os.close(fd)


class PipeReader:
    """Reads a pipe to its end, keeping at most `limit` bytes.

    Past the limit it stops reading, closes the pipe and calls `on_overflow` (the caller
    kills the child). `on_line` receives each complete line as it arrives, for streaming logs.
    """

    def __init__(
        self,
        fd: int,
        limit: int,
        *,
        on_overflow: Callable[[], None],
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.fd = fd
        self.limit = limit
        self.overflowed = False
        self._on_overflow = on_overflow
        self._on_line = on_line
        self._chunks: list[bytes] = []
        self._size = 0
        self._partial = b""
        os.set_blocking(fd, False)

    @property
    def data(self) -> bytes:
        return b"".join(self._chunks)

    async def read_to_end(self) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self.fd, 65536)
                except BlockingIOError:
                    await wait_ready(self.fd, writable=False)
                    continue
                if not chunk:
                    self._emit_lines(final=True)
                    return
                self._size += len(chunk)
                if self._size > self.limit:
                    self.overflowed = True
                    self._on_overflow()
                    return
                self._chunks.append(chunk)
                self._emit_lines(chunk)
        finally:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1

    def _emit_lines(self, chunk: bytes = b"", *, final: bool = False) -> None:
        if self._on_line is None:
            return
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        if final and self._partial:
            lines.append(self._partial)
            self._partial = b""
        for line in lines:
            self._on_line(line.decode("utf-8", errors="replace").rstrip("\r"))
