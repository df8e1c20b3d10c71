"""Secret masking in plain, base64, URL-encoded and JSON-escaped forms."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from flomation.engine.masking import Masker

SECRET = 's3cr3t/p@ss word+Ω"q'


@pytest.mark.parametrize(
    "leak",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(SECRET, ensure_ascii=False)[1:-1],
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        base64.b64encode(SECRET.encode()).decode(),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
        # Inside a longer encoded value, at each of the three alignments.
        base64.b64encode(b"user:" + SECRET.encode()).decode(),
        base64.b64encode(b"ab" + SECRET.encode() + b"tail").decode(),
        base64.b64encode(b"a" + SECRET.encode()).decode(),
    ],
)
def test_every_form_of_the_secret_is_masked(leak: str) -> None:
    masked = Masker([SECRET]).text(f"before {leak} after")
    assert leak not in masked
    assert "***" in masked
    assert masked.startswith("before ")
    assert masked.endswith(" after")


def test_values_are_masked_deeply_keys_included() -> None:
    masker = Masker(["hunter22"])
    value = {"a": ["x hunter22 y", {"hunter22": 1}], "n": 5, "b": True, "z": None}
    assert masker.value(value) == {"a": ["x *** y", {"***": 1}], "n": 5, "b": True, "z": None}
    assert value["a"][0] == "x hunter22 y"  # the original is untouched


def test_without_secrets_values_pass_unchanged() -> None:
    masker = Masker([])
    value = {"a": "hunter22"}
    assert not masker.active
    assert masker.value(value) is value


def test_a_basic_auth_header_is_masked() -> None:
    header = "Basic " + base64.b64encode(b"alice:correct horse battery").decode()
    assert "***" in Masker(["correct horse battery"]).text(header)
