"""Fixtures for the messaging and web-API integration tests: running a node with a
connection, unique names on the shared brokers, brokers with passwords started for a test,
and small fakes of Slack's Web API and of an OpenAI-compatible server on loopback that speak
their documented HTTP APIs and record what they were sent."""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import pytest

from flomation.engine.nodes.base import (
    Connection,
    EngineServices,
    NodeOutcome,
    NodeType,
)
from flomation.integrations.registry import make_connection
from tests.integrations.common import free_port, node_context, serve_http, wait_for_port

AMQP_URL = "amqp://guest@127.0.0.1:5672/"
AMQP_PASSWORD = "guest"
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883
NATS_SERVERS = "nats://127.0.0.1:4222"


async def run_node(
    node_type: NodeType,
    config: dict[str, Any],
    connection: Connection | None = None,
    *,
    services: EngineServices | None = None,
    timeout_s: float | None = None,
) -> NodeOutcome:
    """Runs one attempt of a node with `connection` available as `config["connection"]`."""
    connections = {connection.name: connection} if connection is not None else {}
    deadline = time.monotonic() + timeout_s if timeout_s is not None else None
    ctx = node_context(
        node_type.type,
        config,
        connections,
        services=services or EngineServices(),
        deadline=deadline,
    )
    try:
        return await node_type.run(ctx)
    finally:
        if services is None:
            await ctx.services.aclose()


def connection(type_name: str, values: dict[str, Any], name: str = "c") -> Connection:
    return make_connection(name, type_name, values)


def single_node_flow(node_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """start -> the node -> return its output (an error takes the flow's failure path)."""
    return {
        "version": 1,
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": node_type, "config": config},
            {"id": "out", "type": "return", "config": {"value": "{{ nodes.call.output }}"}},
        ],
        "edges": [{"from": "start", "to": "call"}, {"from": "call", "to": "out"}],
    }


@dataclass(frozen=True)
class PasswordBroker:
    host: str
    port: int
    username: str
    password: str


def _spawn(args: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def mosquitto_with_password(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PasswordBroker]:
    """A Mosquitto of its own that refuses anonymous and wrong logins (the shared one on
    1883 lets anyone in, so it cannot show a refusal)."""
    mosquitto, passwd = shutil.which("mosquitto"), shutil.which("mosquitto_passwd")
    assert mosquitto, "mosquitto is installed on this machine"
    assert passwd, "mosquitto_passwd is installed on this machine"
    directory = tmp_path_factory.mktemp("mosquitto")
    password_file = directory / "passwords"
    subprocess.run([passwd, "-c", "-b", str(password_file), "alice", "s3cret-mq"], check=True)
    password_file.chmod(0o600)
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {password_file}\npersistence false\n"
        # Started as root, Mosquitto would switch to its own user, who cannot read here.
        f"user {getpass.getuser()}\n"
    )
    for _ in _spawn([mosquitto, "-c", str(config)], port):
        yield PasswordBroker("127.0.0.1", port, "alice", "s3cret-mq")


@pytest.fixture(scope="module")
def nats_with_password(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PasswordBroker]:
    """A NATS server of its own with a user and password (the shared one takes anyone), who
    may not publish under `forbidden.>`."""
    server = shutil.which("nats-server")
    assert server, "nats-server is installed on this machine"
    port = free_port()
    config = tmp_path_factory.mktemp("nats") / "nats.conf"
    config.write_text(
        f"host: 127.0.0.1\nport: {port}\n"
        "authorization { users = [ { user: bob, password: s3cret-nats,\n"
        '  permissions: { publish: { deny: ["forbidden.>"] } } } ] }\n'
    )
    for _ in _spawn([server, "-c", str(config)], port):
        yield PasswordBroker("127.0.0.1", port, "bob", "s3cret-nats")


@dataclass(frozen=True)
class RestrictedJetStream:
    """A NATS server with JetStream where `admin` may do anything and `carol` may not use
    the JetStream API (`$JS.API.>`)."""

    url: str
    admin_password: str = "admin-pw"
    carol_password: str = "carol-pw"


@pytest.fixture(scope="module")
def nats_restricted_jetstream(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RestrictedJetStream]:
    server = shutil.which("nats-server")
    assert server, "nats-server is installed on this machine"
    directory = tmp_path_factory.mktemp("nats_js")
    port = free_port()
    config = directory / "nats.conf"
    config.write_text(
        f"host: 127.0.0.1\nport: {port}\n"
        f'jetstream {{ store_dir: "{directory / "store"}" }}\n'
        "authorization { users = [ { user: admin, password: admin-pw },\n"
        "  { user: carol, password: carol-pw,\n"
        '    permissions: { publish: { deny: ["$JS.API.>"] } } } ] }\n'
    )
    for _ in _spawn([server, "-c", str(config)], port):
        yield RestrictedJetStream(f"nats://127.0.0.1:{port}")


# --------------------------------------------------------------------------- fake web APIs


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeServer:
    """A loopback HTTP server whose `answer(received)` gives `(status, headers, json_body)`;
    every request it got is in `requests`."""

    answer: Callable[[Received], tuple[int, dict[str, str], Any]]
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def last(self, path_end: str) -> Received:
        matching = [r for r in self.requests if r.path.endswith(path_end)]
        assert matching, f"no request to {path_end}: {[r.path for r in self.requests]}"
        return matching[-1]


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _route(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            received = Received(
                self.command,
                urlsplit(self.path).path,
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            received.headers["x-query"] = urlsplit(self.path).query
            server.requests.append(received)
            status, headers, answer = server.answer(received)
            content = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", headers.pop("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(content)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _route  # noqa: N815

    return Handler


def serve_fake(server: FakeServer, path: str = "") -> Iterator[FakeServer]:
    with serve_http(_handler(server)) as url:
        server.url = url + path
        yield server


# --------------------------------------------------------------------------- Slack

SLACK_TOKEN = "xoxb-1234567890-abcdefSECRET"
SLACK_CHANNELS = {"C0GENERAL": "general", "C0ALERTS": "alerts"}


class FakeSlack:
    """Slack's Web API as documented (https://api.slack.com/methods/chat.postMessage,
    /methods/auth.test): HTTP 200 with `ok`, errors as `{"ok": false, "error": ...}`, 429 with
    Retry-After when `rate_limited`. A channel called `echo-token` answers
    `channel_not_found` with the token in its `detail`, to show errors are masked."""

    def __init__(self, token: str = SLACK_TOKEN) -> None:
        self.token = token
        self.rate_limited = False
        self.posted: list[dict[str, Any]] = []
        self.server = FakeServer(self.answer)

    def answer(self, received: Received) -> tuple[int, dict[str, str], Any]:
        if self.rate_limited:
            return 429, {"Retry-After": "3"}, {"ok": False, "error": "ratelimited"}
        if received.headers.get("authorization") != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        method = received.path.rsplit("/", 1)[-1]
        if method == "auth.test":
            return 200, {}, {"ok": True, "team": "Flomation Test", "user": "flobot"}
        if method != "chat.postMessage":
            return 200, {}, {"ok": False, "error": "unknown_method"}
        body = received.body if isinstance(received.body, dict) else {}
        channel = str(body.get("channel", ""))
        channel_id = next(
            (cid for cid, name in SLACK_CHANNELS.items() if channel in (cid, name, f"#{name}")),
            None,
        )
        if channel == "echo-token":
            detail = f"token {self.token} cannot see channel {channel}"
            return 200, {}, {"ok": False, "error": "channel_not_found", "detail": detail}
        if channel_id is None:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return 200, {}, {"ok": False, "error": "no_text"}
        ts = f"1700000000.{len(self.posted):06d}"
        self.posted.append(body)
        return 200, {}, {"ok": True, "channel": channel_id, "ts": ts, "message": body}


@pytest.fixture(scope="module")
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack()
    for _ in serve_fake(slack.server, "/api"):
        yield slack


# --------------------------------------------------------------------------- OpenAI

OPENAI_KEY = "sk-test-0123456789SECRETKEY"
OPENAI_MODELS = ("gpt-test-mini", "gpt-test-large")


class FakeOpenAI:
    """An OpenAI-compatible server as documented (GET /v1/models, POST /v1/chat/completions):
    Bearer key, error objects `{"error": {"message", "type", "code"}}`. The next answer's
    content (or tool calls, or an error status) is set by the test."""

    def __init__(self, key: str = OPENAI_KEY) -> None:
        self.key = key
        self.content: str | None = "Hello from the fake model."
        self.tool_calls: list[dict[str, Any]] | None = None
        self.error: tuple[int, dict[str, Any]] | None = None
        self.server = FakeServer(self.answer)

    def answer(self, received: Received) -> tuple[int, dict[str, str], Any]:
        if received.headers.get("authorization") != f"Bearer {self.key}":
            return 401, {}, _openai_error("Incorrect API key provided.", "invalid_api_key")
        if received.method == "GET" and received.path.endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in OPENAI_MODELS]
            return 200, {}, {"object": "list", "data": data}
        if not received.path.endswith("/chat/completions"):
            return 404, {}, _openai_error("Unknown request URL", None)
        if self.error is not None:
            return self.error[0], {}, self.error[1]
        body = received.body if isinstance(received.body, dict) else {}
        if body.get("model") not in OPENAI_MODELS:
            return (
                404,
                {},
                _openai_error(f"The model `{body.get('model')}` does not exist", "model_not_found"),
            )
        message: dict[str, Any] = {"role": "assistant", "content": self.content}
        finish = "stop"
        if self.tool_calls is not None:
            message = {"role": "assistant", "content": None, "tool_calls": self.tool_calls}
            finish = "tool_calls"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        return (
            200,
            {},
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1700000000,
                "model": f"{body['model']}-2024-01-01",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": 7,
                    "total_tokens": prompt_tokens + 7,
                },
            },
        )


def _openai_error(message: str, code: str | None, kind: str = "invalid_request_error") -> Any:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """Per test: each one sets the next answer."""
    server = FakeOpenAI()
    for _ in serve_fake(server.server, "/v1"):
        yield server


@pytest.fixture
def silent_server() -> Iterator[FakeServer]:
    """A server that takes requests and answers none until the test ends (to show what a
    timeout after sending means for each node)."""
    release = threading.Event()

    def answer(received: Received) -> tuple[int, dict[str, str], Any]:
        release.wait(30)
        return 503, {}, {"error": "too late"}

    serving = serve_fake(FakeServer(answer))
    yield next(serving)
    release.set()
    next(serving, None)
