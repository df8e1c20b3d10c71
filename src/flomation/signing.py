"""Ed25519 signing of the runner protocol, shared by the API and the runner.

Every request a runner sends after registering is signed with the runner's key over a
canonical string (method, path with query, runner id, timestamp, nonce, SHA-256 of the body);
every answer the API gives a runner is signed with the API's key over the status, the request's
nonce and the SHA-256 of the body, so a runner acts only on what the API really said in reply
to what it really asked. docs/runner-protocol.md describes the format.

This module imports nothing from the database, the models or the domains: the runner uses it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from flomation.errors import Unauthorized

__all__ = [
    "API_KEY_CONTEXT",
    "HEADER_NONCE",
    "HEADER_RUNNER",
    "HEADER_SIGNATURE",
    "HEADER_TIMESTAMP",
    "REQUEST_SCHEME",
    "RESPONSE_SCHEME",
    "UNREGISTERED",
    "SignatureInvalid",
    "SignedRequest",
    "SigningKey",
    "VerifyKey",
    "body_digest",
    "canonical_json",
    "canonical_request",
    "canonical_response",
    "derive_signing_key",
    "new_nonce",
    "parse_request_headers",
    "sign_request",
    "sign_response",
    "verify_request",
    "verify_response",
]

HEADER_RUNNER = "X-Flomation-Runner"
HEADER_TIMESTAMP = "X-Flomation-Timestamp"
HEADER_NONCE = "X-Flomation-Nonce"
HEADER_SIGNATURE = "X-Flomation-Signature"

REQUEST_SCHEME = "FLOMATION-RUNNER-REQUEST-V1"
RESPONSE_SCHEME = "FLOMATION-API-RESPONSE-V1"
# The HKDF context of the API's signing key: every API process with the same secret key derives
# the same signing key, and no other use of the secret key can collide with it.
API_KEY_CONTEXT = b"flomation/api-runner-signing-key/v1"

# A registration is signed before the runner has an id.
UNREGISTERED = "-"
_NONCE_MIN, _NONCE_MAX = 16, 64


class SignatureInvalid(Unauthorized):
    """A signature is missing, malformed, stale, replayed or does not verify."""

    type_slug = "bad-signature"


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise SignatureInvalid(f"{what} is not valid base64") from exc


class VerifyKey:
    """An Ed25519 public key, exchanged as standard base64 of its 32 raw bytes."""

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key

    @classmethod
    def from_base64(cls, value: str) -> VerifyKey:
        raw = _b64decode(value.strip(), "the public key")
        if len(raw) != 32:
            raise SignatureInvalid(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
        return cls(Ed25519PublicKey.from_public_bytes(raw))

    def to_base64(self) -> str:
        return _b64encode(self._key.public_bytes(Encoding.Raw, PublicFormat.Raw))

    def verify(self, signature_b64: str, message: bytes) -> bool:
        try:
            signature = base64.b64decode(signature_b64.encode("ascii"), validate=True)
            self._key.verify(signature, message)
        except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other.to_base64() == self.to_base64()

    def __hash__(self) -> int:
        return hash(self.to_base64())


class SigningKey:
    """An Ed25519 private key. Runners make theirs in memory and never write or send it."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.verify_key = VerifyKey(key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    def public_key_base64(self) -> str:
        return self.verify_key.to_base64()

    def sign(self, message: bytes) -> str:
        return _b64encode(self._key.sign(message))

    def __repr__(self) -> str:  # never show key material in logs or tracebacks
        return f"SigningKey(public={self.public_key_base64()})"


def derive_signing_key(secret: bytes, context: bytes = API_KEY_CONTEXT) -> SigningKey:
    """The API's signing key: HKDF-SHA256 of the server secret under a fixed context label."""
    return SigningKey(Ed25519PrivateKey.from_private_bytes(_derive_seed(secret, context)))


@lru_cache(maxsize=8)
def _derive_seed(secret: bytes, context: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=context).derive(secret)


def canonical_json(value: Any) -> bytes:
    """JSON with sorted keys and no spaces: the bytes the API signs and sends."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(16)


def canonical_request(
    *, method: str, path: str, runner_id: str, timestamp: str, nonce: str, body: bytes
) -> bytes:
    """The string a runner signs. `path` is the path as sent, with its query string."""
    lines = [REQUEST_SCHEME, method.upper(), path, runner_id, timestamp, nonce, body_digest(body)]
    return "\n".join(lines).encode()


def canonical_response(*, status: int, runner_id: str, request_nonce: str, body: bytes) -> bytes:
    """The string the API signs for each answer to a runner."""
    lines = [RESPONSE_SCHEME, str(status), runner_id, request_nonce, body_digest(body)]
    return "\n".join(lines).encode()


def sign_request(
    key: SigningKey,
    *,
    runner_id: str,
    method: str,
    path: str,
    body: bytes,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The four headers that authenticate one request."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or new_nonce()
    message = canonical_request(
        method=method, path=path, runner_id=runner_id, timestamp=stamp, nonce=nonce, body=body
    )
    return {
        HEADER_RUNNER: runner_id,
        HEADER_TIMESTAMP: stamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: key.sign(message),
    }


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The signature headers of a request, parsed but not yet verified."""

    runner_id: str
    timestamp: int
    nonce: str
    signature: str


def parse_request_headers(headers: Mapping[str, str]) -> SignedRequest:
    """Read the signature headers (case-insensitive mapping) or refuse the request."""
    missing = [
        name
        for name in (HEADER_RUNNER, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
        if not headers.get(name)
    ]
    if missing:
        raise SignatureInvalid(
            "This endpoint needs a signed request; missing header(s): " + ", ".join(missing)
        )
    runner_id = headers[HEADER_RUNNER].strip()
    nonce = headers[HEADER_NONCE].strip()
    stamp = headers[HEADER_TIMESTAMP].strip()
    if not stamp.isdigit() or len(stamp) > 12:
        raise SignatureInvalid(f"{HEADER_TIMESTAMP} must be Unix seconds, got {stamp[:20]!r}")
    if not (_NONCE_MIN <= len(nonce) <= _NONCE_MAX) or not nonce.isalnum() or not nonce.isascii():
        raise SignatureInvalid(f"{HEADER_NONCE} must be {_NONCE_MIN}-{_NONCE_MAX} letters/digits")
    if len(runner_id) > 64:
        raise SignatureInvalid(f"{HEADER_RUNNER} is too long")
    return SignedRequest(runner_id, int(stamp), nonce, headers[HEADER_SIGNATURE].strip())


def verify_request(
    key: VerifyKey,
    signed: SignedRequest,
    *,
    method: str,
    path: str,
    body: bytes,
    now: float,
    max_skew_s: float,
) -> None:
    """Check freshness and the signature. Replay (a nonce seen before) is the caller's check:
    it needs storage shared by every API process."""
    skew = abs(now - signed.timestamp)
    if skew > max_skew_s:
        raise SignatureInvalid(
            f"The request timestamp is {skew:.0f} s away from the server's clock (at most "
            f"{max_skew_s:.0f} s allowed); check the runner host's clock"
        )
    message = canonical_request(
        method=method,
        path=path,
        runner_id=signed.runner_id,
        timestamp=str(signed.timestamp),
        nonce=signed.nonce,
        body=body,
    )
    if not key.verify(signed.signature, message):
        raise SignatureInvalid("The request signature does not verify")


def sign_response(
    key: SigningKey, *, status: int, runner_id: str, request_nonce: str, body: bytes
) -> str:
    return key.sign(
        canonical_response(
            status=status, runner_id=runner_id, request_nonce=request_nonce, body=body
        )
    )


def verify_response(
    key: VerifyKey,
    signature: str | None,
    *,
    status: int,
    runner_id: str,
    request_nonce: str,
    body: bytes,
) -> None:
    if not signature:
        raise SignatureInvalid(f"The API's answer carries no {HEADER_SIGNATURE} header")
    message = canonical_response(
        status=status, runner_id=runner_id, request_nonce=request_nonce, body=body
    )
    if not key.verify(signature, message):
        raise SignatureInvalid("The API's answer is not signed by the expected API key")
