"""The imap connection type's probe against Debian's dovecot on loopback (TLS from the first
byte, and STARTTLS), and its failures: a refused login, an untrusted certificate, nothing
listening, a server that never answers."""

from __future__ import annotations

import time

import pytest

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
)
from flomation.integrations.imap import probe
from flomation.integrations.registry import make_connection
from tests.integrations import files_fixtures
from tests.integrations.files_fixtures import (
    IMAP_PASSWORD,
    IMAP_USER,
    Certificate,
    Dovecot,
    SilentServer,
    free_port,
)

certificate = files_fixtures.certificate
dovecot = files_fixtures.dovecot
silent_server = files_fixtures.silent_server


def imaps(dovecot: Dovecot, certificate: Certificate, **extra: object) -> dict[str, object]:
    return {
        "host": "localhost",
        "port": dovecot.imaps_port,
        "tls": True,
        "username": IMAP_USER,
        "password": IMAP_PASSWORD,
        "ca_cert": certificate.cert_pem,
        **extra,
    }


async def test_login_over_tls(dovecot: Dovecot, certificate: Certificate) -> None:
    message = await probe(imaps(dovecot, certificate), EngineServices(), 15)
    assert message.startswith(f"logged in to localhost:{dovecot.imaps_port} as {IMAP_USER} (TLS;")
    assert "IMAP4REV1" in message


async def test_login_with_starttls(dovecot: Dovecot, certificate: Certificate) -> None:
    values = imaps(dovecot, certificate, tls=False, port=dovecot.imap_port)
    message = await probe(values, EngineServices(), 15)
    assert message.startswith(f"logged in to localhost:{dovecot.imap_port} as {IMAP_USER} (TLS;")


async def test_a_wrong_password_is_an_authentication_error(
    dovecot: Dovecot, certificate: Certificate
) -> None:
    with pytest.raises(AuthenticationError, match="AUTHENTICATIONFAILED") as caught:
        await probe(imaps(dovecot, certificate, password="wrong-pw"), EngineServices(), 15)
    assert caught.value.retryable is False
    assert "wrong-pw" not in caught.value.message


async def test_an_untrusted_certificate_is_refused(
    dovecot: Dovecot, certificate: Certificate
) -> None:
    values = imaps(dovecot, certificate)
    del values["ca_cert"]
    with pytest.raises(ConnectionFailedError, match="TLS failed") as caught:
        await probe(values, EngineServices(), 15)
    assert caught.value.retryable is False
    # Told not to verify, it connects (for servers with certificates nobody can check).
    assert "logged in" in await probe({**values, "tls_verify": False}, EngineServices(), 15)


async def test_nothing_listening_is_a_connection_error() -> None:
    values = {"host": "127.0.0.1", "port": free_port(), "tls": False, "username": "u"}
    with pytest.raises(ConnectionFailedError, match="could not connect") as caught:
        await probe(values, EngineServices(), 15)
    assert caught.value.retryable is True


async def test_a_server_that_never_answers_times_out(silent_server: SilentServer) -> None:
    values = {"host": "127.0.0.1", "port": silent_server.port, "tls": False, "username": "u"}
    started = time.monotonic()
    with pytest.raises(NodeTimeoutError, match=r"did not answer within 0\.5 s"):
        await probe(values, EngineServices(), 0.5)
    assert time.monotonic() - started < 5


async def test_the_password_is_secret() -> None:
    connection = make_connection(
        "mail", "imap", {"host": "h", "username": IMAP_USER, "password": IMAP_PASSWORD}
    )
    assert connection.secret_values() == [IMAP_PASSWORD]
