"""Real services for the S3, Git, SMTP and IMAP integration tests: moto's S3 server, bare
repositories on disk and behind `git http-backend` (basic auth), aiosmtpd (with STARTTLS,
TLS and AUTH) and Debian's dovecot, all on loopback, plus a self-signed certificate made with
`cryptography`. Test modules import the fixtures they use from here."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import itertools
import json
import logging
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from flomation.engine.executor import run_flow
from flomation.engine.nodes.base import EngineServices, NodeType
from flomation.integrations.registry import make_connection
from tests.integrations.common import free_port, node_context, serve_http, unique, wait_for_port
from tests.launch.test_git import GIT_ENV, Repo

__all__ = [
    "GIT_ENV",
    "Repo",
    "free_port",
]

# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class Certificate:
    cert_pem: str
    key_pem: str
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for localhost and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    # Outside pytest's 0700 temp tree: dovecot reads these as root, but keep them plain files.
    directory = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_text(cert_pem)
    (directory / "key.pem").write_text(key_pem)
    return Certificate(cert_pem, key_pem, directory / "cert.pem", directory / "key.pem")


# --------------------------------------------------------------------------- S3


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on a loopback port (also Launch's S3 trigger tests')."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_endpoint() as endpoint:
        yield endpoint


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """A new, empty bucket of this test's own."""
    name = unique("flo-int", "-")[:63]
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


# --------------------------------------------------------------------------- Git


def make_bare_repo(root: Path) -> tuple[Repo, Path]:
    """A bare repository (the remote the nodes use, as file://) and a working repository
    the test writes through and pushes from: `(work, bare)`."""
    bare = root / "remote.git"
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)],
        env=GIT_ENV,
        check=True,
    )
    work = Repo(root / "work")
    work.git("remote", "add", "origin", str(bare))
    return work, bare


@pytest.fixture
def bare_repo(tmp_path: Path) -> tuple[Repo, Path]:
    return make_bare_repo(tmp_path)


def push(work: Repo, branch: str = "main") -> None:
    work.git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")


def read_remote(bare: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", f"--git-dir={bare}", *args], env=GIT_ENV, check=True, capture_output=True
    )
    return result.stdout.decode().strip()


@dataclass
class GitHttpServer:
    url: str  # the repository's URL
    username: str
    token: str
    requests: list[str] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)


@pytest.fixture
def git_http(bare_repo: tuple[Repo, Path]) -> Iterator[GitHttpServer]:
    """`git http-backend` behind a loopback HTTP server that wants basic auth: the bare
    repository of `bare_repo` served as /remote.git, pushes allowed."""
    _, bare = bare_repo
    record = GitHttpServer(url="", username="ada", token=unique("tok", "-"))
    expected = "Basic " + base64.b64encode(f"ada:{record.token}".encode()).decode()
    read_remote(bare, "config", "http.receivepack", "true")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self) -> None:
            path, _, query = self.path.partition("?")
            record.requests.append(f"{self.command} {path}")
            body = self._body() if self.command == "POST" else b""
            authorization = self.headers.get("Authorization", "")
            record.authorizations.append(authorization)
            if authorization != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            env = {
                "PATH": os.environ["PATH"],
                "GIT_PROJECT_ROOT": str(bare.parent),
                "GIT_HTTP_EXPORT_ALL": "1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "REMOTE_USER": "ada",
                "REMOTE_ADDR": "127.0.0.1",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
            }
            for name, value in self.headers.items():
                env["HTTP_" + name.upper().replace("-", "_")] = value
            result = subprocess.run(
                ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
            )
            head, _, content = result.stdout.partition(b"\r\n\r\n")
            status = 200
            headers: list[tuple[str, str]] = []
            for line in head.decode().split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_http(Handler) as url:
        record.url = f"{url}/{bare.name}"
        yield record


# --------------------------------------------------------------------------- SMTP


@dataclass
class Mailbox:
    """What an aiosmtpd server received."""

    host: str
    port: int
    envelopes: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    def only(self) -> tuple[str, list[str], EmailMessage]:
        assert len(self.envelopes) == 1, self.envelopes
        return self.envelopes[0]


class _Handler:
    def __init__(self, mailbox: Mailbox, refuse: dict[str, str]) -> None:
        self.mailbox = mailbox
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        if address.startswith("refuse-"):
            return f"550 5.1.1 <{address}> is not wanted here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content.replace(b"\r\n", b"\n")
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.mailbox.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        self.mailbox.received.set()
        return "250 Message accepted for delivery"


REFUSED_PERMANENTLY = "nobody@example.test"
REFUSED_TEMPORARILY = "busy@example.test"
SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-smtp-password"


def _smtp_server(
    *, tls: Certificate | None = None, implicit_tls: bool = False, auth: bool = False
) -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    port = free_port()
    mailbox = Mailbox("127.0.0.1", port)
    refuse = {
        REFUSED_PERMANENTLY: "550 5.1.1 no such user here",
        REFUSED_TEMPORARILY: "451 4.3.0 mailbox busy, try later",
    }

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            mailbox.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)  # handled=True would leave 535 unsaid

    kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": port}
    if implicit_tls and tls is not None:
        kwargs["ssl_context"] = tls.server_context()
    elif tls is not None:
        kwargs["tls_context"] = tls.server_context()
        kwargs["require_starttls"] = True
    if auth:
        kwargs["authenticator"] = authenticator
        # aiosmtpd counts only STARTTLS as TLS for AUTH: over implicit TLS it must be told
        # not to require it (and then not to require AUTH, or it warns that this is unsafe).
        kwargs["auth_require_tls"] = not implicit_tls
        kwargs["auth_required"] = not implicit_tls
    controller = Controller(_Handler(mailbox, refuse), **kwargs)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_plain() -> Iterator[Mailbox]:
    """An SMTP server without TLS or AUTH (security `none`)."""
    yield from _smtp_server()


@pytest.fixture
def smtp_starttls(certificate: Certificate) -> Iterator[Mailbox]:
    """STARTTLS required, then AUTH required (as a submission server on 587)."""
    yield from _smtp_server(tls=certificate, auth=True)


@pytest.fixture
def smtp_tls(certificate: Certificate) -> Iterator[Mailbox]:
    """TLS from the first byte (as on 465), AUTH offered."""
    yield from _smtp_server(tls=certificate, implicit_tls=True, auth=True)


# --------------------------------------------------------------------------- IMAP

IMAP_USER = "ada"
IMAP_PASSWORD = "imap-password-42"


@dataclass(frozen=True)
class Dovecot:
    host: str
    imap_port: int  # STARTTLS offered
    imaps_port: int  # TLS from the first byte


@pytest.fixture(scope="session")
def dovecot(certificate: Certificate) -> Iterator[Dovecot]:
    """Debian's dovecot on loopback with one user in a passwd file."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    root = Path(tempfile.mkdtemp(prefix="flomation-dovecot-"))
    os.chmod(root, 0o755)
    try:
        (root / "run").mkdir()
        (root / "mail").mkdir(mode=0o777)
        os.chmod(root / "mail", 0o777)
        (root / "passwd").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}::::::\n")
        shutil.copy(certificate.cert_path, root / "cert.pem")
        shutil.copy(certificate.key_path, root / "key.pem")
        imap_port, imaps_port = free_port(), free_port()
        (root / "dovecot.conf").write_text(
            f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/mail/%u
}}
mail_location = maildir:{root}/mail/%u/Maildir
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
"""
        )
        (root / "state").mkdir()
        process = subprocess.Popen(
            [binary, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # it logs to log_path
        )
        try:
            wait_for_port(imap_port, process)
            wait_for_port(imaps_port, process)
            yield Dovecot("127.0.0.1", imap_port, imaps_port)
        finally:
            process.terminate()
            process.wait(timeout=15)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class SilentServer:
    """A loopback socket that accepts connections and says nothing (or one line)."""

    port: int
    greeting: bytes | None


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    record = SilentServer(listener.getsockname()[1], None)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)
            if record.greeting is not None:
                connection.sendall(record.greeting)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        listener.close()


# --------------------------------------------------------------------------- running nodes


@dataclass
class NodeRun:
    outcome: Any
    logs: list[tuple[str, str]]


async def run_node(
    node_type: type[NodeType],
    config: dict[str, Any],
    connection_type: str,
    values: dict[str, Any],
    *,
    services: EngineServices | None = None,
    timeout_s: float | None = 30.0,
) -> NodeRun:
    """One attempt of one node, as the engine would make it, with connection `conn`."""
    logs: list[tuple[str, str]] = []
    config = {"connection": "conn", **config}
    ctx = node_context(
        node_type.type,
        config,
        {"conn": make_connection("conn", connection_type, values)},
        services=services,
        deadline=None if timeout_s is None else time.monotonic() + timeout_s,
        log=lambda level, message: logs.append((level, message)),
    )
    outcome = await node_type().run(ctx)
    # JSON-safe, as the engine needs: no NaN, no lone surrogates (which cannot become UTF-8).
    json.dumps(outcome.output, allow_nan=False, ensure_ascii=False).encode()
    return NodeRun(outcome.output, logs)


def flow(*nodes: dict[str, Any]) -> dict[str, Any]:
    """start -> nodes... in a line, each on the previous one's success port."""
    ids = ["start", *(n["id"] for n in nodes)]
    return {
        "version": 1,
        "nodes": [{"id": "start", "type": "start"}, *nodes],
        "edges": [{"from": a, "to": b} for a, b in itertools.pairwise(ids)],
    }


async def run_engine(
    doc: dict[str, Any], connection_type: str, values: dict[str, Any]
) -> dict[str, Any]:
    """The execution document (steps, logs, errors) as the engine records it."""
    return await run_flow(
        doc, {}, connections={"conn": make_connection("conn", connection_type, values)}
    )
