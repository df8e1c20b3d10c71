"""The nodes whose clients open their own connections (git, boto3, aiosmtplib, imaplib) connect
to the address the egress policy checked, never to what their client would resolve the name to
(DNS rebinding): a name that does not resolve at all still reaches the address the policy
answered, a name that answers a public address to the check and loopback to the connect
reaches nothing, and TLS still checks the certificate against the name."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from flomation.engine.egress import AddressPolicy, parse_networks
from flomation.engine.nodes.base import (
    BlockedError,
    ConnectionFailedError,
    EngineServices,
    ServiceError,
)
from flomation.integrations.git import GitReadNode
from flomation.integrations.imap import probe as imap_probe
from flomation.integrations.s3 import S3ListNode
from flomation.integrations.smtp import EmailSendNode
from tests.integrations import files_fixtures
from tests.integrations.files_fixtures import (
    IMAP_PASSWORD,
    IMAP_USER,
    Certificate,
    Dovecot,
    GitHttpServer,
    Mailbox,
    Repo,
    run_node,
    s3_client,
)
from tests.rebinding import rebind_to_loopback

bare_repo = files_fixtures.bare_repo
git_http = files_fixtures.git_http
s3_endpoint = files_fixtures.s3_endpoint
s3_bucket = files_fixtures.s3_bucket
smtp_plain = files_fixtures.smtp_plain
certificate = files_fixtures.certificate
dovecot = files_fixtures.dovecot

PINNED = "flomation-pinned.invalid"  # .invalid never resolves (RFC 6761)
# moto reads a bucket from the Host of any other name than localhost...
S3_PINNED = "localhost.flomation-pinned.invalid"


@dataclass(frozen=True)
class NamedPolicy(AddressPolicy):
    """The shared_cloud policy with loopback allowed, whose resolver knows `names` (a private
    DNS the system resolver does not share)."""

    names: tuple[tuple[str, str], ...] = ()

    def _known(self, host: str) -> list[str] | None:
        for name, address in self.names:
            if host == name:
                self.check_address(host, ipaddress.ip_address(address))
                return [address]
        return None

    async def resolve(self, host: str, port: int) -> list[str]:
        known = self._known(host)
        return known if known is not None else await AddressPolicy.resolve(self, host, port)

    def resolve_blocking(self, host: str, port: int) -> list[str]:
        known = self._known(host)
        return known if known is not None else AddressPolicy.resolve_blocking(self, host, port)


def services(*names: tuple[str, str]) -> EngineServices:
    base = AddressPolicy.preset("shared_cloud")
    policy = NamedPolicy(
        name=base.name,
        deny=base.deny,
        allow=parse_networks(["127.0.0.0/8"], setting="test"),
        names=names,
    )
    return EngineServices(egress=policy)


@pytest.mark.parametrize("name", [PINNED, S3_PINNED])
def test_the_names_do_not_resolve(name: str) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(name, 80)


async def test_git_reads_from_the_checked_address(
    bare_repo: tuple[Repo, Path], git_http: GitHttpServer
) -> None:
    work, _ = bare_repo
    work.commit("seed", **{"README.md": "hello"})
    work.git("push", "--quiet", "origin", "HEAD:refs/heads/main")
    port = git_http.url.split(":")[2].split("/")[0]
    values = {
        "url": f"http://{PINNED}:{port}/remote.git",
        "username": git_http.username,
        "token": git_http.token,
    }
    read = await run_node(
        GitReadNode,
        {"paths": ["README.md"]},
        "git",
        values,
        services=services((PINNED, "127.0.0.1")),
    )
    assert read.outcome["files"] == [{"path": "README.md", "content": "hello"}]
    assert git_http.requests

    # Without the policy's answer, the name is not found: git asked no resolver of its own.
    with pytest.raises(ConnectionFailedError, match="cannot resolve"):
        await run_node(GitReadNode, {}, "git", values, services=services())


async def test_git_refuses_an_address_the_policy_blocks(git_http: GitHttpServer) -> None:
    values = {"url": f"http://{PINNED}/remote.git"}
    with pytest.raises(BlockedError, match=r"169\.254\.169\.254"):
        await run_node(
            GitReadNode, {}, "git", values, services=services((PINNED, "169.254.169.254"))
        )
    assert git_http.requests == []


async def test_s3_lists_from_the_checked_address(s3_endpoint: str, s3_bucket: str) -> None:
    s3_client(s3_endpoint).put_object(Bucket=s3_bucket, Key="a.txt", Body=b"a")
    port = s3_endpoint.rsplit(":", 1)[1]
    values = {
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "endpoint_url": f"http://{S3_PINNED}:{port}",
    }
    pinned = services((S3_PINNED, "127.0.0.1"))
    run = await run_node(S3ListNode, {"bucket": s3_bucket}, "s3", values, services=pinned)
    assert [item["key"] for item in run.outcome["objects"]] == ["a.txt"]


async def test_s3_does_not_follow_a_name_that_rebinds_to_loopback(
    s3_endpoint: str, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check sees a public address, the connect would see loopback: each connection
    resolves and checks again itself, so the request never reaches the (loopback) server."""
    port = int(s3_endpoint.rsplit(":", 1)[1])
    rebind_to_loopback(monkeypatch, "rebind.test", port)
    values = {
        "access_key_id": "testing",
        "secret_access_key": "testing",
        "endpoint_url": f"http://rebind.test:{port}",
    }
    limited = EngineServices(egress=AddressPolicy.preset("shared_cloud"))
    with pytest.raises((BlockedError, ServiceError), match=r"blocked range 127\.0\.0\.0/8"):
        await run_node(S3ListNode, {"bucket": s3_bucket}, "s3", values, services=limited)


async def test_email_is_sent_to_the_checked_address(smtp_plain: Mailbox) -> None:
    values = {"host": PINNED, "port": smtp_plain.port, "security": "none", "from": "a@b.test"}
    config = {"to": ["ada@example.test"], "subject": "s", "text": "t"}
    pinned = services((PINNED, "127.0.0.1"))
    await run_node(EmailSendNode, config, "smtp", values, services=pinned)
    assert smtp_plain.only()[1] == ["ada@example.test"]

    with pytest.raises(BlockedError, match=r"169\.254\.169\.254"):
        await run_node(
            EmailSendNode, config, "smtp", values, services=services((PINNED, "169.254.169.254"))
        )


def imaps(dovecot: Dovecot, certificate: Certificate, host: str) -> dict[str, object]:
    return {
        "host": host,
        "port": dovecot.imaps_port,
        "tls": True,
        "username": IMAP_USER,
        "password": IMAP_PASSWORD,
        "ca_cert": certificate.cert_pem,
    }


async def test_imap_logs_in_at_the_checked_address_and_tls_checks_the_name(
    dovecot: Dovecot, certificate: Certificate
) -> None:
    pinned = services((PINNED, "127.0.0.1"), ("localhost", "127.0.0.1"))
    message = await imap_probe(imaps(dovecot, certificate, "localhost"), pinned, 15)
    assert message.startswith("logged in to localhost:")
    # The address is reached, but the certificate (for localhost and 127.0.0.1) is checked
    # against the name connected for, not against the address connected to.
    with pytest.raises(ConnectionFailedError, match="TLS failed"):
        await imap_probe(imaps(dovecot, certificate, PINNED), pinned, 15)
