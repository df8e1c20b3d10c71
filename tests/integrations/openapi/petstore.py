"""A loopback server that implements a few Petstore operations the way petstore3.swagger.io
does, records every request it gets, and checks the `api_key` header."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "special-key-5a1e0c9d"

PETS = [
    {"id": 1, "name": "Rex", "photoUrls": [], "status": "available"},
    {"id": 2, "name": "Tom", "photoUrls": ["https://example.com/tom.png"], "status": "sold"},
    {"id": 3, "name": "Kit", "photoUrls": [], "status": "sold"},
]


@dataclass
class Seen:
    method: str
    path: str  # as sent, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class PetstoreServer:
    origin: str
    requests: list[Seen] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://{self.origin}/v3"


def _handler(server: PetstoreServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.requests.append(Seen(self.command, url.path, parse_qs(url.query), headers, body))
            if url.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "http://elsewhere.invalid/steal")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if url.path.startswith("/echo/"):
                self._answer(
                    200,
                    {
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "headers": headers,
                        "body": body,
                    },
                )
                return
            if headers.get("api_key") != API_KEY:
                self._answer(401, {"code": 401, "message": "API key missing or wrong"})
                return
            route = (self.command, url.path)
            if route == ("GET", "/v3/pet/findByStatus"):
                wanted = parse_qs(url.query).get("status", ["available"])
                self._answer(200, [p for p in PETS if p["status"] in wanted])
            elif route == ("POST", "/v3/pet"):
                if headers.get("content-type") != "application/json":
                    self._answer(415, {"message": "send JSON"})
                elif not isinstance(body, dict) or "name" not in body:
                    self._answer(400, {"message": "Invalid input"})
                else:
                    self._answer(200, {"id": 10, **body})
            elif self.command == "GET" and url.path.startswith("/v3/pet/"):
                pet_id = url.path.rsplit("/", 1)[1]
                pet = next((p for p in PETS if str(p["id"]) == pet_id), None)
                if pet is None:
                    self._answer(404, {"code": 404, "message": "Pet not found"})
                else:
                    # Answers with the key it was given, as a careless service might.
                    self._answer(200, {**pet, "seen_key": headers.get("api_key")})
            elif self.command == "GET" and url.path.startswith("/v3/user/"):
                self._answer(200, {"username": url.path[len("/v3/user/") :]})
            else:
                self._answer(404, {"message": f"no route {self.command} {url.path}"})

        do_GET = do_POST = do_PUT = do_DELETE = _route  # noqa: N815

    return Handler


@contextmanager
def petstore_server() -> Iterator[PetstoreServer]:
    state = PetstoreServer(origin="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.origin = f"127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")
