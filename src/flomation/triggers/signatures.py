"""Webhook authentication: bearer tokens and HMAC signatures (Standard Webhooks, GitHub).

Every comparison is constant-time. Each check returns None when the request is authentic, or
the reason it is not (for the log; the caller answers a plain 401).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

STANDARD_TOLERANCE_S = 300


def check_bearer(headers: Mapping[str, str], expected: str) -> str | None:
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return "no bearer token"
    if not hmac.compare_digest(value.strip().encode(), expected.encode()):
        return "wrong bearer token"
    return None


def standard_webhooks_key(secret: str) -> bytes:
    """A `whsec_`-prefixed secret is base64 of the key; any other is used as its bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            pass
    return secret.encode()


def sign_standard(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """The `v1,<base64>` signature of a message (also what tests and senders use)."""
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    digest = hmac.new(standard_webhooks_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_standard(
    headers: Mapping[str, str], body: bytes, secret: str, *, now_s: float
) -> str | None:
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not message_id or not timestamp or not signatures:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "webhook-timestamp is not an integer"
    if abs(now_s - sent_at) > STANDARD_TOLERANCE_S:
        return "webhook-timestamp is outside the tolerance"
    expected = sign_standard(secret, message_id, timestamp, body).encode()
    # The header may carry several space-separated signatures (key rotation).
    matched = False
    for candidate in signatures.split(" "):
        if candidate.startswith("v1,") and hmac.compare_digest(candidate.encode(), expected):
            matched = True
    return None if matched else "no matching v1 signature"


def sign_github(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_github(headers: Mapping[str, str], body: bytes, secret: str) -> str | None:
    sent = headers.get("x-hub-signature-256", "")
    if not sent:
        return "missing X-Hub-Signature-256"
    if not hmac.compare_digest(sent.encode(), sign_github(secret, body).encode()):
        return "X-Hub-Signature-256 does not match"
    return None
