"""Opaque bearer secrets: random, shown once, stored only as their SHA-256.

A prefix says what a token is (`flo_s_` session, `flo_p_` personal API token, `flo_r_` runner
registration token) so that a leaked one is recognisable by secret scanners.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_PREFIX = "flo_s_"
API_TOKEN_PREFIX = "flo_p_"
RUNNER_TOKEN_PREFIX = "flo_r_"


def generate_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 is right here: the secret has 256 bits of entropy, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
