"""Secret masking: every secret value becomes `***` in what the engine reports.

A secret leaks in more shapes than its plain text: inside an `Authorization: Basic` header
(base64), in a URL (percent-encoded) and inside a JSON string (escaped). The masker looks for
all of these. Values passed between nodes are never masked; only events (outputs, step
inputs, logs, errors) are.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "Masker"]

MASK = "***"
# Secrets shorter than this are still masked in plain form, but their encoded fragments would
# match too much unrelated text.
_MIN_ENCODED_LEN = 4


def _base64_fragments(secret: bytes) -> set[str]:
    """Base64 text that encodes `secret` wherever it sits in a longer encoded value.

    The secret may start at any of three byte offsets inside a base64 group; for each, keep
    only the characters fully determined by the secret's own bytes.
    """
    fragments: set[str] = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + secret).decode().rstrip("=")
            skip = (0, 2, 3)[offset]
            if (offset + len(secret)) % 3:
                encoded = encoded[:-1]  # the last character mixes in the following bytes
            fragment = encoded[skip:]
            if len(fragment) >= _MIN_ENCODED_LEN:
                fragments.add(fragment)
    return fragments


def _forms(secret: str) -> set[str]:
    forms = {secret}
    if len(secret) < _MIN_ENCODED_LEN:
        return forms
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(quote(secret, safe=""))
    forms.add(quote_plus(secret, safe=""))
    forms.add(quote(secret))
    forms |= _base64_fragments(secret.encode())
    return {form for form in forms if form}


class Masker:
    """Replaces secret values (and their encodings) with `***` in strings and JSON values."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if isinstance(secret, str) and secret:
                forms |= _forms(secret)
        # Longest first, so a secret's encoding is replaced whole rather than piecewise.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    @property
    def active(self) -> bool:
        """False when there is nothing to mask (the common case: skip all the work)."""
        return self._pattern is not None

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(MASK, value)

    def value(self, value: Any) -> Any:
        """A copy of a JSON value with every string (and mapping key) masked."""
        if self._pattern is None:
            return value
        return self._mask(value)

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._pattern.sub(MASK, value) if self._pattern else value
        if isinstance(value, dict):
            return {self._mask(k): self._mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value
