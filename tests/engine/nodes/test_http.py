"""The http node and the egress policy, against real HTTP(S) servers on loopback."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from flomation.engine.egress import AddressPolicy, build_http_client
from flomation.engine.nodes.base import (
    AllowAllEgress,
    BlockedError,
    ConfigError,
    ConnectionFailedError,
    EgressPolicy,
    EngineServices,
    ExecutionInfo,
    HttpStatusError,
    NodeContext,
    NodeTimeoutError,
)
from flomation.engine.nodes.http import (
    MAX_RESPONSE_BYTES,
    ExpectedStatus,
    HttpNode,
    ResponseTooLargeError,
)

# --------------------------------------------------------------------------- a real server


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if url.path == "/json":
            self._answer(200, b'{"hello": "world", "n": [1, 2]}', "application/json")
        elif url.path == "/text":
            self._answer(200, b"plain words", "text/plain; charset=utf-8")
        elif url.path.startswith("/status/"):
            status = int(url.path.rsplit("/", 1)[1])
            self._answer(status, b'{"error": "nope"}', "application/json")
        elif url.path == "/big":
            self._answer(200, b"x" * (MAX_RESPONSE_BYTES + 1), "text/plain")
        elif url.path == "/redirect":
            self._answer(302, b"", "text/plain", Location=query["to"][0])
        elif url.path == "/echo":
            echoed = {
                "method": self.command,
                "host": self.headers.get("Host"),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "query": query,
                "body": body,
            }
            self._answer(200, json.dumps(echoed).encode(), "application/json")
        else:
            self._answer(404, b"not here", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _route  # noqa: N815


def serve(server: ThreadingHTTPServer) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    """host:port of a plain HTTP server on loopback."""
    yield from serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler))


@pytest.fixture(scope="module")
def tls_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """host:port of an HTTPS server whose certificate names only `localhost`, and its CA."""
    directory = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    for address in serve(server):
        yield address, cert_file


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --------------------------------------------------------------------------- running the node

SELF_HOSTED = AddressPolicy.preset("self_hosted")
SHARED_CLOUD = AddressPolicy.preset("shared_cloud")
# Shared cloud, but the test server on 127.0.0.1 is reachable (an operator's allow list).
SHARED_CLOUD_BUT_ORIGIN = AddressPolicy.preset("shared_cloud", allow=["127.0.0.1/32"])


@pytest.fixture(scope="module")
async def clients() -> AsyncIterator[dict[AddressPolicy, httpx.AsyncClient]]:
    made = {
        policy: build_http_client(policy)
        for policy in (SELF_HOSTED, SHARED_CLOUD, SHARED_CLOUD_BUT_ORIGIN)
    }
    yield made
    for client in made.values():
        await client.aclose()


async def run_http(
    config: dict[str, Any],
    *,
    client: httpx.AsyncClient,
    egress: EgressPolicy,
) -> Any:
    ctx = NodeContext(
        node_id="call",
        node_type="http",
        config=config,
        raw_config=config,
        execution=ExecutionInfo(),
        attempt=1,
        log=lambda level, message: None,
        services=EngineServices(http_client=client, egress=egress),
    )
    outcome = await HttpNode().run(ctx)
    assert outcome.port == "success"
    return outcome.output


@pytest.fixture
def self_hosted(clients: dict[AddressPolicy, httpx.AsyncClient]) -> Any:
    async def run(config: dict[str, Any]) -> Any:
        return await run_http(config, client=clients[SELF_HOSTED], egress=SELF_HOSTED)

    return run


@pytest.fixture
def shared_cloud(clients: dict[AddressPolicy, httpx.AsyncClient]) -> Any:
    """Shared-cloud policy where only the test origin 127.0.0.1 is allowed."""

    async def run(config: dict[str, Any]) -> Any:
        policy = SHARED_CLOUD_BUT_ORIGIN
        return await run_http(config, client=clients[policy], egress=policy)

    return run


# --------------------------------------------------------------------------- requests


async def test_get_parses_a_json_body(self_hosted: Any, origin: str) -> None:
    output = await self_hosted({"url": f"http://{origin}/json"})
    assert output["status"] == 200
    assert output["body"] == {"hello": "world", "n": [1, 2]}
    assert output["headers"]["content-type"] == "application/json"


async def test_a_text_body_stays_text(self_hosted: Any, origin: str) -> None:
    output = await self_hosted({"url": f"http://{origin}/text"})
    assert output["body"] == "plain words"


async def test_method_headers_query_and_json_are_sent(self_hosted: Any, origin: str) -> None:
    output = await self_hosted(
        {
            "method": "POST",
            "url": f"http://{origin}/echo",
            "headers": {"X-Trace": "abc"},
            "query": {"page": 2, "tag": ["a", "b"], "flag": True},
            "json": {"name": "flo"},
        }
    )
    echoed = output["body"]
    assert echoed["method"] == "POST"
    assert echoed["headers"]["x-trace"] == "abc"
    assert echoed["headers"]["content-type"] == "application/json"
    assert echoed["query"] == {"page": ["2"], "tag": ["a", "b"], "flag": ["true"]}
    assert json.loads(echoed["body"]) == {"name": "flo"}


async def test_a_text_body_is_sent_as_is(self_hosted: Any, origin: str) -> None:
    output = await self_hosted({"method": "PUT", "url": f"http://{origin}/echo", "body": "raw"})
    assert output["body"]["body"] == "raw"


async def test_an_unexpected_status_is_a_retryable_http_status_error(
    self_hosted: Any, origin: str
) -> None:
    with pytest.raises(HttpStatusError) as failure:
        await self_hosted({"url": f"http://{origin}/status/503?token=secret"})
    assert failure.value.type == "http_status"
    assert failure.value.retryable
    assert "answered 503" in failure.value.message
    assert "expected 200-299" in failure.value.message
    assert '{"error": "nope"}' in failure.value.message
    assert "secret" not in failure.value.message  # the query is not repeated


@pytest.mark.parametrize(
    ("expect", "status"),
    [(404, 404), ("404", 404), ("400-499", 418), ("4xx", 410), ([200, "5xx"], 500)],
)
async def test_expect_status_accepts_other_statuses(
    self_hosted: Any, origin: str, expect: Any, status: int
) -> None:
    output = await self_hosted({"url": f"http://{origin}/status/{status}", "expect_status": expect})
    assert output["status"] == status
    assert output["body"] == {"error": "nope"}


async def test_expect_status_also_rejects_success(self_hosted: Any, origin: str) -> None:
    with pytest.raises(HttpStatusError, match="expected 201"):
        await self_hosted({"url": f"http://{origin}/json", "expect_status": 201})


def test_expect_status_forms() -> None:
    assert 204 in ExpectedStatus.parse("200-299")
    assert 301 not in ExpectedStatus.parse("200-299")
    assert ExpectedStatus.parse([200, "3xx", "404"]).text == "200, 300-399, 404"
    assert 201 in ExpectedStatus.parse("200,201")
    for bad in ("ok", "299-200", "700", [], [True]):
        with pytest.raises(ValueError, match="expect_status"):
            ExpectedStatus.parse(bad)


def test_config_rules_are_checked_before_running() -> None:
    problems = dict(
        HttpNode().check_config({"url": "ftp://x", "json": {}, "body": "", "expect_status": "2xxx"})
    )
    assert set(problems) == {"url", "body", "expect_status"}
    templated = {"url": "{{ input.url }}", "expect_status": "{{ input.expect }}"}
    assert HttpNode().check_config(templated) == []


async def test_a_bad_expect_status_at_run_time_is_a_config_error(
    self_hosted: Any, origin: str
) -> None:
    with pytest.raises(ConfigError) as failure:
        await self_hosted({"url": f"http://{origin}/json", "expect_status": "maybe"})
    assert failure.value.field == "expect_status"
    assert not failure.value.retryable


async def test_a_head_request_has_an_empty_body(self_hosted: Any, origin: str) -> None:
    output = await self_hosted({"method": "HEAD", "url": f"http://{origin}/json"})
    assert output["status"] == 200
    assert output["body"] == ""


async def test_an_oversized_answer_is_refused(self_hosted: Any, origin: str) -> None:
    with pytest.raises(ResponseTooLargeError) as failure:
        await self_hosted({"url": f"http://{origin}/big"})
    assert not failure.value.retryable
    assert f"larger than {MAX_RESPONSE_BYTES} bytes" in failure.value.message


async def test_redirects_are_followed(self_hosted: Any, origin: str) -> None:
    output = await self_hosted({"url": f"http://{origin}/redirect?to=/json"})
    assert output["body"] == {"hello": "world", "n": [1, 2]}


async def test_redirects_can_be_left_alone(self_hosted: Any, origin: str) -> None:
    output = await self_hosted(
        {
            "url": f"http://{origin}/redirect?to=/json",
            "follow_redirects": False,
            "expect_status": 302,
        }
    )
    assert output["headers"]["location"] == "/json"


async def test_connection_refused_is_a_retryable_connection_error(
    self_hosted: Any, closed_port: int
) -> None:
    with pytest.raises(ConnectionFailedError) as failure:
        await self_hosted({"url": f"http://127.0.0.1:{closed_port}/"})
    assert failure.value.type == "connection"
    assert failure.value.retryable
    assert "could not connect" in failure.value.message


async def test_a_slow_answer_is_a_timeout(clients: dict[AddressPolicy, httpx.AsyncClient]) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(NodeTimeoutError, match=r"no answer within 0\.2 s"):
            await run_http(
                {"url": f"http://127.0.0.1:{port}/", "timeout_s": 0.2},
                client=clients[SELF_HOSTED],
                egress=SELF_HOSTED,
            )


# --------------------------------------------------------------------------- egress


async def test_self_hosted_reaches_loopback_by_name(self_hosted: Any, origin: str) -> None:
    port = origin.rsplit(":", 1)[1]
    output = await self_hosted({"url": f"http://localhost:{port}/echo"})
    assert output["body"]["host"] == f"localhost:{port}"


async def test_shared_cloud_blocks_a_name_that_resolves_to_loopback(
    clients: dict[AddressPolicy, httpx.AsyncClient], origin: str
) -> None:
    port = origin.rsplit(":", 1)[1]
    with pytest.raises(BlockedError) as failure:
        await run_http(
            {"url": f"http://localhost:{port}/json"},
            client=clients[SHARED_CLOUD],
            egress=SHARED_CLOUD,
        )
    assert failure.value.type == "blocked"
    assert not failure.value.retryable
    assert "localhost resolves to it" in failure.value.message
    assert "127.0.0.0/8" in failure.value.message


async def test_the_connection_itself_is_checked_not_only_the_url(
    clients: dict[AddressPolicy, httpx.AsyncClient], origin: str
) -> None:
    # The node-level check lets everything through; the client's transport still resolves
    # the name itself and refuses the loopback address it would connect to.
    port = origin.rsplit(":", 1)[1]
    with pytest.raises(BlockedError, match=r"blocks connections to 127\.0\.0\.1"):
        await run_http(
            {"url": f"http://localhost:{port}/json"},
            client=clients[SHARED_CLOUD],
            egress=AllowAllEgress(),
        )


async def test_a_redirect_to_the_metadata_service_is_blocked(
    shared_cloud: Any, origin: str
) -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(BlockedError, match=r"169\.254\.169\.254"):
        await shared_cloud({"url": f"http://{origin}/redirect?to={target}"})


async def test_a_redirect_is_blocked_by_the_transport_too(
    clients: dict[AddressPolicy, httpx.AsyncClient], origin: str
) -> None:
    target = "http://127.0.0.2:1/"  # loopback, outside the allowed 127.0.0.1/32
    with pytest.raises(BlockedError, match=r"127\.0\.0\.2"):
        await run_http(
            {"url": f"http://{origin}/redirect?to={target}"},
            client=clients[SHARED_CLOUD_BUT_ORIGIN],
            egress=AllowAllEgress(),
        )


async def test_an_allowed_origin_is_still_reachable_under_shared_cloud(
    shared_cloud: Any, origin: str
) -> None:
    output = await shared_cloud({"url": f"http://{origin}/json"})
    assert output["status"] == 200


async def test_tls_keeps_the_hostname_for_sni_and_the_certificate(
    tls_origin: tuple[str, Path],
) -> None:
    # The certificate names only "localhost": verification succeeds only if the TLS layer
    # still uses the hostname although the socket was connected to the checked IP.
    address, ca = tls_origin
    port = address.rsplit(":", 1)[1]
    policy = AddressPolicy.preset("shared_cloud", allow=["127.0.0.1"])
    client = build_http_client(policy, verify=ssl.create_default_context(cafile=ca))
    try:
        output = await run_http(
            {"url": f"https://localhost:{port}/echo"}, client=client, egress=policy
        )
    finally:
        await client.aclose()
    assert output["body"]["host"] == f"localhost:{port}"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 form of 169.254.169.254
        "2002:7f00:1::",  # 6to4 form of 127.0.0.1
    ],
)
def test_shared_cloud_blocks_internal_ranges(address: str) -> None:
    assert SHARED_CLOUD.blocking_range(ipaddress.ip_address(address)) is not None
    assert SELF_HOSTED.blocking_range(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_shared_cloud_allows_public_addresses(address: str) -> None:
    assert SHARED_CLOUD.blocking_range(ipaddress.ip_address(address)) is None


def test_explicit_lists_refine_the_presets() -> None:
    policy = AddressPolicy.preset("shared_cloud", allow=["10.1.0.0/16"])
    assert policy.blocking_range(ipaddress.ip_address("10.1.2.3")) is None
    assert policy.blocking_range(ipaddress.ip_address("10.2.0.1")) is not None
    strict_home = AddressPolicy.preset("self_hosted", deny=["192.168.0.0/16"])
    assert strict_home.blocking_range(ipaddress.ip_address("192.168.1.1")) is not None
    assert strict_home.blocking_range(ipaddress.ip_address("10.0.0.1")) is None


def test_bad_policy_settings_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"egress allow: '10\.0\.0\.0/33'"):
        AddressPolicy.preset("shared_cloud", allow=["10.0.0.0/33"])
    with pytest.raises(ValueError, match="unknown egress preset 'cloud'"):
        AddressPolicy.preset("cloud")


# --------------------------------------------------------------------------- kept-alive connections


class DropsReusedConnections:
    """A keep-alive server that answers the first request on each connection and, like a server
    closing an idle connection at the moment the client reuses it, reads the second one and
    hangs up without an answer."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.requests: list[tuple[int, str]] = []  # (connection number, request line)
        self._connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self._connections += 1
            threading.Thread(
                target=self._serve, args=(connection, self._connections), daemon=True
            ).start()

    def _serve(self, connection: socket.socket, number: int) -> None:
        with connection, connection.makefile("rb") as reader:
            for answered in (False, True):
                head = [reader.readline()]
                while head[-1] not in (b"\r\n", b""):
                    head.append(reader.readline())
                if head[0] == b"":
                    return
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                reader.read(length)
                self.requests.append((number, head[0].decode().strip()))
                if answered:
                    return  # hang up on the reused connection
                body = b'{"ok": true}'
                connection.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(body), body)
                )

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def dropping_server() -> Iterator[DropsReusedConnections]:
    server = DropsReusedConnections()
    yield server
    server.close()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_an_idempotent_request_on_a_dropped_kept_alive_connection_is_sent_again(
    dropping_server: DropsReusedConnections, method: str
) -> None:
    url = f"http://127.0.0.1:{dropping_server.port}/thing"
    async with build_http_client(SELF_HOSTED) as client:
        for _ in range(2):
            output = await run_http(
                {"method": method, "url": url, "json": {"n": 1}}
                if method == "PUT"
                else {"method": method, "url": url},
                client=client,
                egress=SELF_HOSTED,
            )
            assert output["body"] == {"ok": True}
    assert [number for number, _ in dropping_server.requests] == [1, 1, 2]


async def test_a_post_on_a_dropped_kept_alive_connection_is_not_sent_twice(
    dropping_server: DropsReusedConnections,
) -> None:
    url = f"http://127.0.0.1:{dropping_server.port}/orders"
    async with build_http_client(SELF_HOSTED) as client:
        await run_http(
            {"method": "POST", "url": url, "json": {}}, client=client, egress=SELF_HOSTED
        )
        with pytest.raises(ConnectionFailedError) as failure:
            await run_http(
                {"method": "POST", "url": url, "json": {}}, client=client, egress=SELF_HOSTED
            )
    assert failure.value.retryable
    assert "the connection failed" in failure.value.message
    assert dropping_server.requests == [(1, "POST /orders HTTP/1.1"), (1, "POST /orders HTTP/1.1")]
