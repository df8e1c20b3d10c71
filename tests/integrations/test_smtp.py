"""The email.send node and the smtp probe against real SMTP servers on loopback (aiosmtpd):
plain, STARTTLS with AUTH and implicit TLS, with a self-signed certificate trusted through
the connection's `ca_cert`. What the server received (envelope, headers, parts,
attachments), what it refused, which failures are retried, and masking."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flomation.engine.egress import AddressPolicy
from flomation.engine.nodes.base import (
    AuthenticationError,
    BlockedError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeTimeoutError,
    ServiceError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations.imap import probe as imap_probe
from flomation.integrations.registry import connection_types
from flomation.integrations.smtp import EmailSendNode, probe
from tests.integrations import files_fixtures
from tests.integrations.files_fixtures import (
    REFUSED_PERMANENTLY,
    REFUSED_TEMPORARILY,
    SMTP_PASSWORD,
    SMTP_USER,
    Certificate,
    Mailbox,
    SilentServer,
    flow,
    free_port,
    run_engine,
    run_node,
)

certificate = files_fixtures.certificate
smtp_plain = files_fixtures.smtp_plain
smtp_starttls = files_fixtures.smtp_starttls
smtp_tls = files_fixtures.smtp_tls
silent_server = files_fixtures.silent_server

SENDER = "Flomation Reports <reports@example.test>"


def plain(mailbox: Mailbox) -> dict[str, Any]:
    return {"host": mailbox.host, "port": mailbox.port, "security": "none", "from": SENDER}


def secured(mailbox: Mailbox, certificate: Certificate, security: str) -> dict[str, Any]:
    return {
        "host": "localhost",  # the certificate's name
        "port": mailbox.port,
        "security": security,
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "from": SENDER,
        "ca_cert": certificate.cert_pem,
    }


def test_smtp_types_are_registered() -> None:
    node_type = default_registry().get("email.send")
    assert node_type is not None
    assert node_type.connection_types == ("smtp",)
    for name in ("smtp", "imap"):
        connection_type = connection_types().get(name)
        assert connection_type is not None
        assert connection_type.secret_fields == {"password"}
        assert connection_type.probe is not None


async def test_send_with_everything(smtp_plain: Mailbox) -> None:
    pdf = b"%PDF-1.4 fake\x00\xff"
    run = await run_node(
        EmailSendNode,
        {
            "to": ["Ada <ada@example.test>", "bob@example.test"],
            "cc": "carol@example.test",
            "bcc": ["dave@example.test"],
            "subject": "Rapport quotidien — 3 lignes",
            "text": "Bonjour,\nvoici le rapport.",
            "html": "<p>Bonjour, voici le <b>rapport</b>.</p>",
            "attachments": [
                {
                    "filename": "report.pdf",
                    "content_base64": base64.b64encode(pdf).decode(),
                    "content_type": "application/pdf",
                },
                {
                    "filename": "rows.csv",
                    "content_base64": base64.b64encode(b"a,b\n1,2\n").decode(),
                },
            ],
        },
        "smtp",
        plain(smtp_plain),
    )
    mail_from, rcpt_tos, message = smtp_plain.only()
    assert mail_from == "reports@example.test"
    assert rcpt_tos == [
        "ada@example.test",
        "bob@example.test",
        "carol@example.test",
        "dave@example.test",
    ]
    assert run.outcome == {"message_id": message["Message-ID"], "refused": {}}
    assert run.outcome["message_id"].endswith("@example.test>")
    assert message["From"] == SENDER
    assert message["To"] == "Ada <ada@example.test>, bob@example.test"
    assert message["Cc"] == "carol@example.test"
    assert message["Bcc"] is None  # blind copies are only in the envelope
    assert message["Subject"] == "Rapport quotidien — 3 lignes"
    assert message["Date"]
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content() == "Bonjour,\nvoici le rapport.\n"
    html = message.get_body(("html",))
    assert html is not None
    assert "<b>rapport</b>" in html.get_content()
    attachments = list(message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("report.pdf", "application/pdf"),
        ("rows.csv", "application/octet-stream"),
    ]
    assert attachments[0].get_content() == pdf
    assert attachments[1].get_content() == b"a,b\n1,2\n"


async def test_send_over_starttls_with_login(
    smtp_starttls: Mailbox, certificate: Certificate
) -> None:
    run = await run_node(
        EmailSendNode,
        {"to": "ada@example.test", "subject": "over STARTTLS", "text": "hi"},
        "smtp",
        secured(smtp_starttls, certificate, "starttls"),
    )
    _, rcpt_tos, message = smtp_starttls.only()
    assert rcpt_tos == ["ada@example.test"]
    assert message["Subject"] == "over STARTTLS"
    assert run.outcome["message_id"] == message["Message-ID"]
    assert smtp_starttls.logins == [SMTP_USER]


async def test_send_over_implicit_tls(smtp_tls: Mailbox, certificate: Certificate) -> None:
    await run_node(
        EmailSendNode,
        {"to": "ada@example.test", "subject": "over TLS", "html": "<p>hi</p>"},
        "smtp",
        secured(smtp_tls, certificate, "tls"),
    )
    _, _, message = smtp_tls.only()
    assert smtp_tls.logins == [SMTP_USER]
    html = message.get_body(("html",))
    assert html is not None
    assert html.get_content().strip() == "<p>hi</p>"


async def test_a_wrong_password_is_an_authentication_error(
    smtp_starttls: Mailbox, certificate: Certificate
) -> None:
    values = {**secured(smtp_starttls, certificate, "starttls"), "password": "wrong"}
    with pytest.raises(AuthenticationError, match="refused the login: 535") as caught:
        await run_node(EmailSendNode, {"to": "ada@example.test", "text": "x"}, "smtp", values)
    assert caught.value.retryable is False
    assert smtp_starttls.envelopes == []
    with pytest.raises(AuthenticationError):
        await probe(values, EngineServices(), 15)


async def test_an_untrusted_certificate_is_refused(
    smtp_starttls: Mailbox, certificate: Certificate
) -> None:
    values = secured(smtp_starttls, certificate, "starttls")
    del values["ca_cert"]
    with pytest.raises(ConnectionFailedError, match="certificate") as caught:
        await run_node(EmailSendNode, {"to": "ada@example.test", "text": "x"}, "smtp", values)
    assert caught.value.retryable is False
    assert smtp_starttls.envelopes == []


async def test_refused_recipients(smtp_plain: Mailbox) -> None:
    values = plain(smtp_plain)
    with pytest.raises(ServiceError, match="refused every recipient") as permanent:
        await run_node(EmailSendNode, {"to": REFUSED_PERMANENTLY, "text": "x"}, "smtp", values)
    assert "550 5.1.1 no such user here" in permanent.value.message
    assert permanent.value.retryable is False
    with pytest.raises(ServiceError) as temporary:
        await run_node(EmailSendNode, {"to": REFUSED_TEMPORARILY, "text": "x"}, "smtp", values)
    assert "451" in temporary.value.message
    assert temporary.value.retryable is True  # nothing was sent: sending again is safe
    assert smtp_plain.envelopes == []

    partly = await run_node(
        EmailSendNode,
        {"to": ["ada@example.test", REFUSED_PERMANENTLY], "text": "x"},
        "smtp",
        values,
    )
    assert partly.outcome["refused"] == {REFUSED_PERMANENTLY: "550 5.1.1 no such user here"}
    _, rcpt_tos, _ = smtp_plain.only()
    assert rcpt_tos == ["ada@example.test"]
    assert any(level == "warning" and REFUSED_PERMANENTLY in text for level, text in partly.logs)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"to": "ada@example.test", "subject": "hi\r\nBcc: eve@example.test"}, "subject"),
        ({"to": "ada@example.test\r\nBcc: eve@example.test"}, "to"),
        ({"to": "not an address"}, "to"),
        ({"to": []}, "to"),
        (
            {"to": "ada@example.test", "attachments": [{"filename": "a", "content_base64": "%"}]},
            "attachments",
        ),
    ],
)
async def test_bad_messages_are_config_errors(
    smtp_plain: Mailbox, config: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        await run_node(EmailSendNode, config, "smtp", plain(smtp_plain))
    assert caught.value.field == field
    assert smtp_plain.envelopes == []


async def test_an_unreachable_server_is_a_retryable_connection_error() -> None:
    values = {"host": "127.0.0.1", "port": free_port(), "security": "none", "from": SENDER}
    with pytest.raises(ConnectionFailedError) as caught:
        await run_node(EmailSendNode, {"to": "ada@example.test", "text": "x"}, "smtp", values)
    assert caught.value.retryable is True
    with pytest.raises(ConnectionFailedError):
        await probe(values, EngineServices(), 15)


async def test_probe(smtp_plain: Mailbox, smtp_starttls: Mailbox, certificate: Certificate) -> None:
    assert await probe(plain(smtp_plain), EngineServices(), 15) == (
        f"127.0.0.1:{smtp_plain.port} answered EHLO"
    )
    message = await probe(secured(smtp_starttls, certificate, "starttls"), EngineServices(), 15)
    assert (
        message
        == f"localhost:{smtp_starttls.port} answered EHLO with STARTTLS, logged in as {SMTP_USER}"
    )
    assert smtp_starttls.logins == [SMTP_USER]
    assert smtp_plain.envelopes == []
    assert smtp_starttls.envelopes == []


async def test_secret_values_are_masked_in_stored_steps(
    smtp_starttls: Mailbox, certificate: Certificate
) -> None:
    """The password sent as a body and named in a refused address: the stored document holds
    neither, while the server got the real text."""
    doc = flow(
        {
            "id": "send",
            "type": "email.send",
            "config": {"connection": "conn", "to": "ada@example.test", "text": SMTP_PASSWORD},
        },
        {
            "id": "refused",
            "type": "email.send",
            "config": {
                "connection": "conn",
                "to": f"refuse-{SMTP_PASSWORD}@example.test",
                "text": "x",
            },
        },
    )
    document = await run_engine(doc, "smtp", secured(smtp_starttls, certificate, "starttls"))
    assert document["status"] == "failed"
    steps = {step["node_id"]: step for step in document["steps"]}
    assert steps["send"]["status"] == "succeeded"
    assert "is not wanted here" in steps["refused"]["error"]["message"]
    assert SMTP_PASSWORD not in json.dumps(document)
    _, _, message = smtp_starttls.only()
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == SMTP_PASSWORD


async def test_what_the_server_does_not_offer(smtp_plain: Mailbox) -> None:
    """STARTTLS asked of a server without it, and a login on a server without AUTH: both
    fail before anything is sent, and neither is retried."""
    no_starttls = {**plain(smtp_plain), "security": "starttls"}
    with pytest.raises(ConnectionFailedError, match="STARTTLS") as caught:
        await run_node(EmailSendNode, {"to": "ada@example.test", "text": "x"}, "smtp", no_starttls)
    assert caught.value.retryable is False
    no_auth = {**plain(smtp_plain), "username": "u", "password": "p"}
    with pytest.raises(ServiceError, match="AUTH") as refused:
        await probe(no_auth, EngineServices(), 15)
    assert refused.value.retryable is False
    assert smtp_plain.envelopes == []


async def test_the_egress_policy_is_asked_first(smtp_plain: Mailbox) -> None:
    limited = EngineServices(egress=AddressPolicy.preset("shared_cloud"))
    with pytest.raises(BlockedError, match=r"127\.0\.0\.1"):
        await run_node(
            EmailSendNode,
            {"to": "ada@example.test", "text": "x"},
            "smtp",
            plain(smtp_plain),
            services=limited,
        )
    with pytest.raises(BlockedError):
        await imap_probe({"host": "127.0.0.1", "username": "u"}, limited, 15)
    assert smtp_plain.envelopes == []


def test_schemas_are_valid_and_take_the_tests_values(
    smtp_plain: Mailbox, certificate: Certificate
) -> None:
    smtp = connection_types().get("smtp")
    assert smtp is not None
    Draft202012Validator.check_schema(smtp.schema)
    for security in ("starttls", "tls"):
        values = secured(smtp_plain, certificate, security)
        assert not list(Draft202012Validator(smtp.schema).iter_errors(values))
    Draft202012Validator.check_schema(EmailSendNode.config_schema)
    imap = connection_types().get("imap")
    assert imap is not None
    Draft202012Validator.check_schema(imap.schema)


async def test_display_names_are_quoted_or_encoded(smtp_plain: Mailbox) -> None:
    await run_node(
        EmailSendNode,
        {"to": ['"Lovelace, Ada" <ada@example.test>', "Zoë Çelik <zoe@example.test>"], "text": "x"},
        "smtp",
        plain(smtp_plain),
    )
    _, rcpt_tos, message = smtp_plain.only()
    assert rcpt_tos == ["ada@example.test", "zoe@example.test"]
    to = message["To"]
    assert [(a.display_name, a.addr_spec) for a in to.addresses] == [
        ("Lovelace, Ada", "ada@example.test"),
        ("Zoë Çelik", "zoe@example.test"),
    ]


async def test_a_server_that_never_answers_times_out(silent_server: SilentServer) -> None:
    values = {"host": "127.0.0.1", "port": silent_server.port, "security": "none", "from": SENDER}
    started = time.monotonic()
    with pytest.raises(NodeTimeoutError, match="did not answer in time") as caught:
        await run_node(
            EmailSendNode, {"to": "ada@example.test", "text": "x", "timeout_s": 0.5}, "smtp", values
        )
    assert caught.value.retryable is True  # nothing was sent
    assert time.monotonic() - started < 5
