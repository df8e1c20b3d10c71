"""AES-256-GCM for secrets at rest.

Each value is encrypted with a random 96-bit nonce and the organisation id and secret name as
associated data, so a ciphertext copied onto another secret or organisation does not decrypt.
Decryption tries the current key, then the previous one (`FLOMATION_SECRET_KEY_PREVIOUS`) while
`flomation admin rotate-key` re-encrypts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flomation.config import Settings, get_settings
from flomation.errors import ConfigurationError

NONCE_BYTES = 12


class SecretDecryptionFailed(ConfigurationError):
    """Neither the current nor the previous key opens a stored secret."""

    title = "Secret cannot be decrypted"
    type_slug = "secret-key"


def associated_data(organization_id: str, name: str) -> bytes:
    return f"flomation-secret\x00{organization_id}\x00{name}".encode()


@dataclass(frozen=True)
class Keyring:
    """The current key (encrypts) and optionally the previous one (decrypts only)."""

    current: bytes
    previous: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Keyring:
        return cls(settings.secret_key_bytes(), settings.previous_secret_key_bytes())

    def encrypt(self, organization_id: str, name: str, value: str) -> tuple[bytes, bytes]:
        """(nonce, ciphertext) of `value` under the current key."""
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(self.current).encrypt(
            nonce, value.encode(), associated_data(organization_id, name)
        )
        return nonce, ciphertext

    def open_with_current(
        self, organization_id: str, name: str, nonce: bytes, ciphertext: bytes
    ) -> str | None:
        return _open(self.current, organization_id, name, nonce, ciphertext)

    def decrypt(self, organization_id: str, name: str, nonce: bytes, ciphertext: bytes) -> str:
        for key in (self.current, self.previous):
            if key is None:
                continue
            value = _open(key, organization_id, name, nonce, ciphertext)
            if value is not None:
                return value
        raise SecretDecryptionFailed(
            f"Secret {name!r} cannot be decrypted with FLOMATION_SECRET_KEY"
            + (" or FLOMATION_SECRET_KEY_PREVIOUS" if self.previous else "")
            + ": the key changed; set FLOMATION_SECRET_KEY_PREVIOUS to the old key and run "
            "`flomation admin rotate-key`, or set the secret again"
        )


def _open(
    key: bytes, organization_id: str, name: str, nonce: bytes, ciphertext: bytes
) -> str | None:
    try:
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, associated_data(organization_id, name))
    except InvalidTag:
        return None
    return plaintext.decode()


_default: Keyring | None = None


def set_default_keyring(keyring: Keyring | None) -> None:
    """The API process sets its keyring at start-up, for callers that do not pass one."""
    global _default
    _default = keyring


def default_keyring() -> Keyring:
    return _default if _default is not None else Keyring.from_settings(get_settings())
