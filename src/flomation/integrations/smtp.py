"""The smtp integration: the `smtp` connection type and the `email.send` node (rules in
`integrations.base`), through aiosmtplib.

Sending mail is not idempotent, so `email.send` is retried only when the server cannot have
taken the message: the connection, TLS or login failed, or the server refused the sender, the
recipients or the content with a temporary (4xx) answer. A connection that breaks off while
the message is being sent is not retried: the server may have accepted it already.

`tls_context` is shared with the imap connection type (same `tls_verify` and `ca_cert`).

Under an egress policy that limits destinations, the client is given a socket connected to an
address the policy checked (`integrations.egress.checked_addresses`), never the name to resolve
again (DNS rebinding); TLS and STARTTLS still check the certificate against the name.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import socket
import ssl
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import Any

from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    ConnectionFailedError,
    EgressPolicy,
    EngineServices,
    NodeContext,
    NodeError,
    NodeOutcome,
    NodeTimeoutError,
    NodeType,
    ServiceError,
)
from flomation.integrations.base import (
    HOST_PROPERTY,
    PASSWORD_PROPERTY,
    ConnectionType,
    IntegrationNode,
    connection_property,
    port_property,
)
from flomation.integrations.egress import checked_addresses
from flomation.integrations.messages import time_budget_s
from flomation.pinning.tcp import connect

__all__ = ["CONNECTION_TYPES", "NODE_TYPES", "tls_context"]

DEFAULT_TIMEOUT_S = 30.0
SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}

TLS_FIELDS: dict[str, Any] = {
    "tls_verify": {
        "type": "boolean",
        "default": True,
        "title": "Verify the server's certificate",
    },
    "ca_cert": {
        "type": "string",
        "title": "CA certificate (PEM)",
        "description": "Trust this certificate authority (a private CA or self-signed server).",
    },
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "host": HOST_PROPERTY,
        "port": port_property(description="Default: 587 for starttls, 465 for tls, 25 for none."),
        "security": {"enum": ["starttls", "tls", "none"], "default": "starttls"},
        "username": {"type": "string", "title": "Username"},
        "password": PASSWORD_PROPERTY,
        "from": {"type": "string", "title": "From", "description": "Ada <ada@example.com>"},
        **TLS_FIELDS,
    },
    "required": ["host"],
    "additionalProperties": False,
}


def tls_context(values: Mapping[str, Any]) -> ssl.SSLContext:
    """The TLS settings of a mail connection: the system's CAs (plus `ca_cert`), hostnames
    checked, unless `tls_verify` is false."""
    try:
        context = ssl.create_default_context(cadata=values.get("ca_cert") or None)
    except ssl.SSLError as exc:
        raise ConfigError(f"ca_cert is not a PEM certificate: {exc}", field="ca_cert") from None
    if values.get("tls_verify", True) is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _endpoint(values: Mapping[str, Any]) -> tuple[str, int, str]:
    security = str(values.get("security") or "starttls")
    if security not in SECURITY_PORTS:
        raise ConfigError(f"security must be starttls, tls or none, not {security!r}")
    host = str(values.get("host") or "")
    if not host:
        raise ConfigError("the smtp connection has no host")
    return host, int(values.get("port") or SECURITY_PORTS[security]), security


async def _open(values: Mapping[str, Any], egress: EgressPolicy, timeout_s: float) -> Any:
    """A connected client (EHLO done, STARTTLS or TLS as configured, logged in)."""
    import aiosmtplib

    host, port, security = _endpoint(values)
    where = f"SMTP server {host}:{port}"
    addresses = await checked_addresses(egress, "smtp", host, port)
    sock = None if addresses is None else await _pinned_socket(where, addresses, port, timeout_s)
    client = aiosmtplib.SMTP(
        hostname=host,  # with `sock`, what TLS checks the certificate against
        port=port if sock is None else None,
        sock=sock,
        use_tls=security == "tls",
        start_tls=security == "starttls",
        tls_context=tls_context(values) if security != "none" else None,
        timeout=timeout_s,
        # aiosmtplib would otherwise look up this host's FQDN, a blocking DNS call.
        local_hostname=socket.gethostname(),
    )
    try:
        await client.connect()
        if values.get("username"):
            await client.login(str(values["username"]), str(values.get("password") or ""))
    except BaseException as exc:
        client.close()
        if isinstance(exc, Exception):
            raise _connect_error(where, exc) from None
        raise
    return client


async def _pinned_socket(
    where: str, addresses: list[str], port: int, timeout_s: float
) -> socket.socket:
    try:
        async with asyncio.timeout(timeout_s):
            return await connect(addresses, port)
    except TimeoutError:
        raise NodeTimeoutError(f"{where} did not answer in time (connecting)") from None
    except OSError as exc:
        raise ConnectionFailedError(f"{where}: could not connect ({exc})") from None


def _connect_error(where: str, exc: Exception) -> NodeError:
    """What failed before anything was sent (so retrying cannot send twice)."""
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return AuthenticationError(f"{where} refused the login: {exc.code} {exc.message}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or "STARTTLS extension" in str(exc):
        # No STARTTLS where it was asked for: TLS cannot be had, whatever retries do.
        return ConnectionFailedError(f"{where}: {exc}", retryable=False)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return NodeTimeoutError(f"{where} did not answer in time ({exc})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return ServiceError(f"{where} answered {exc.code} {exc.message}", retryable=exc.code < 500)
    if isinstance(exc, ssl.SSLError) or isinstance(exc.__cause__, ssl.SSLError):
        return ConnectionFailedError(f"{where}: TLS failed ({exc})", retryable=False)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError | OSError):
        return ConnectionFailedError(f"{where}: could not connect ({exc})")
    # The rest are refusals of the configuration (no AUTH offered to log in with, ...).
    return ServiceError(f"{where}: {exc}")


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    host, port, security = _endpoint(values)
    try:
        # aiosmtplib's timeout is per exchange; the test as a whole must end within its time.
        async with asyncio.timeout(timeout_s):
            client = await _open(values, services.egress, timeout_s)
    except TimeoutError:
        raise NodeTimeoutError(
            f"SMTP server {host}:{port} did not finish EHLO and login within {timeout_s:g} s"
        ) from None
    try:
        who = f", logged in as {values['username']}" if values.get("username") else ""
        tls = {"starttls": " with STARTTLS", "tls": " over TLS", "none": ""}[security]
        return f"{host}:{port} answered EHLO{tls}{who}"
    finally:
        await _quit(client)


async def _quit(client: Any) -> None:
    try:
        await client.quit()
    except Exception:
        client.close()  # a QUIT that fails changes nothing for the message


CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    ConnectionType(
        type="smtp",
        title="SMTP (send email)",
        schema=SCHEMA,
        probe=probe,
        icon="mail",
        description="An SMTP server that sends mail for email.send.",
    ),
)

# --------------------------------------------------------------------------- email.send

_ADDRESSES = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string", "minLength": 1}},
    ]
}


class EmailSendNode(IntegrationNode):
    type = "email.send"
    title = "Send email"
    description = "Sends an email (text and/or HTML, with attachments) through an SMTP server."
    icon = "mail"
    group = "email"
    retryable = True
    connection_types = ("smtp",)
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "to": _ADDRESSES,
            "cc": _ADDRESSES,
            "bcc": _ADDRESSES,
            "subject": {"type": "string", "default": ""},
            "text": {"type": "string", "title": "Text body"},
            "html": {"type": "string", "title": "HTML body"},
            "attachments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "filename": {"type": "string", "minLength": 1},
                        "content_base64": {"type": "string"},
                        "content_type": {"type": "string"},
                    },
                    "required": ["filename", "content_base64"],
                    "additionalProperties": False,
                },
            },
            "timeout_s": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULT_TIMEOUT_S},
        },
        "required": ["connection", "to"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "message_id": {"type": "string"},
            "refused": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["message_id"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        values = connection.values
        message, recipients = build_message(ctx.config, values)
        timeout_s = time_budget_s(ctx, DEFAULT_TIMEOUT_S)
        host, port, _ = _endpoint(values)
        where = f"SMTP server {host}:{port}"
        client = await _open(values, ctx.services.egress, timeout_s)
        try:
            sender = message["From"].addresses[0].addr_spec
            refused = await _send(client, where, message, sender, recipients)
        finally:
            await _quit(client)
        if refused:
            ctx.log("warning", f"{where} refused some recipients: {refused}")
        return NodeOutcome({"message_id": str(message["Message-ID"]), "refused": refused})


async def _send(
    client: Any, where: str, message: EmailMessage, sender: str, recipients: list[str]
) -> dict[str, str]:
    import aiosmtplib

    try:
        errors, _ = await client.send_message(message, sender=sender, recipients=recipients)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        answers = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        temporary = all(r.code < 500 for r in exc.recipients)
        raise ServiceError(
            f"{where} refused every recipient: {answers}", retryable=temporary
        ) from None
    except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
        what = "the sender" if isinstance(exc, aiosmtplib.SMTPSenderRefused) else "the message"
        # Refused before it was queued: nothing was sent, so a temporary refusal can be retried.
        raise ServiceError(
            f"{where} refused {what}: {exc.code} {exc.message}", retryable=exc.code < 500
        ) from None
    except aiosmtplib.SMTPException as exc:
        # Broke off mid-send: the server may have queued the message; sending again could
        # deliver it twice.
        raise ServiceError(
            f"{where}: sending failed ({exc}); the message may or may not have been delivered",
            retryable=False,
        ) from None
    return {address: f"{code} {text}" for address, (code, text) in errors.items()}


def _addresses(value: Any, field: str) -> list[Address]:
    """Parsed addresses: a display name with a comma or non-ASCII letters is quoted or
    encoded in the header by the email package, never pasted in as written."""
    items = [value] if isinstance(value, str) else list(value or [])
    found: list[Address] = []
    for item in items:
        if "\r" in item or "\n" in item:
            raise ConfigError(f"{field}: an address may not hold a line break", field=field)
        for name, address in getaddresses([item]):
            if "@" not in address or address.startswith("-"):
                raise ConfigError(f"{field}: {item!r} is not an email address", field=field)
            try:
                found.append(Address(display_name=name, addr_spec=address))
            except (ValueError, IndexError):
                raise ConfigError(
                    f"{field}: {item!r} is not an email address", field=field
                ) from None
    return found


def build_message(
    config: Mapping[str, Any], values: Mapping[str, Any]
) -> tuple[EmailMessage, list[str]]:
    """The message and its envelope recipients (to, cc and bcc; bcc is not in the headers)."""
    sender = values.get("from") or values.get("username")
    if not sender:
        raise ConfigError("the smtp connection has no `from` address", field="connection")
    senders = _addresses(sender, "from")
    to = _addresses(config.get("to"), "to")
    cc = _addresses(config.get("cc"), "cc")
    bcc = _addresses(config.get("bcc"), "bcc")
    if not to and not cc and not bcc:
        raise ConfigError("give at least one recipient", field="to")
    message = EmailMessage()
    try:
        message["From"] = senders[0]
        if to:
            message["To"] = to
        if cc:
            message["Cc"] = cc
        message["Subject"] = str(config.get("subject") or "")
    except ValueError as exc:  # a line break in a header: header injection
        raise ConfigError(f"a header is not valid: {exc}", field="subject") from None
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=senders[0].domain)
    text, html = config.get("text"), config.get("html")
    message.set_content(str(text) if text is not None else "" if html is None else _plain(html))
    if html is not None:
        message.add_alternative(str(html), subtype="html")
    for index, attachment in enumerate(config.get("attachments") or []):
        _attach(message, attachment, index)
    recipients = [address.addr_spec for address in (*to, *cc, *bcc)]
    return message, list(dict.fromkeys(recipients))


def _plain(html: str) -> str:
    """The text part of an HTML-only message: readers without HTML see this much."""
    return "This message is in HTML; open it in a mail reader that shows HTML."


def _attach(message: EmailMessage, attachment: Mapping[str, Any], index: int) -> None:
    field = f"attachments[{index}]"
    try:
        data = base64.b64decode(str(attachment["content_base64"]), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{field}.content_base64 is not base64", field="attachments") from None
    content_type = str(attachment.get("content_type") or "application/octet-stream")
    maintype, _, subtype = content_type.partition("/")
    if not maintype or not subtype or "\n" in content_type:
        raise ConfigError(f"{field}.content_type {content_type!r} is not a media type")
    filename = str(attachment["filename"])
    if "\r" in filename or "\n" in filename:
        raise ConfigError(f"{field}.filename may not hold a line break", field="attachments")
    message.add_attachment(
        data, maintype=maintype, subtype=subtype.split(";")[0].strip(), filename=filename
    )


NODE_TYPES: tuple[type[NodeType], ...] = (EmailSendNode,)
