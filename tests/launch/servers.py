"""A loopback HTTP server that records every request it gets: stands in for a service on the
control plane's private network that a trigger must not reach (or, told to, redirects)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class RecordingServer:
    url: str
    requests: list[str] = field(default_factory=list)  # "METHOD path", in order
    hosts: list[str] = field(default_factory=list)  # the Host header of each


@contextmanager
def recording_server(
    address: str = "127.0.0.1", redirect_to: str | None = None
) -> Iterator[RecordingServer]:
    """Answers 404 to everything (or 302 to `redirect_to` + the path), after recording it."""
    record = RecordingServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            record.requests.append(f"{self.command} {self.path}")
            record.hosts.append(self.headers.get("Host", ""))
            if redirect_to is not None:
                self.send_response(302)
                self.send_header("Location", redirect_to + self.path)
            else:
                self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_HEAD = do_PUT = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test reads `requests`

    server = ThreadingHTTPServer((address, 0), Handler)
    record.url = f"http://{address}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
