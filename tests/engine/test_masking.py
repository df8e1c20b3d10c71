"""Secret masking in plain, base64, URL-encoded, JSON-escaped and hex forms; values learned from
templates; tainted strings."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from flomation.engine.masking import (
    MAX_LEARNED_PATTERNS,
    Masker,
    SecretValues,
    TaintedStr,
    is_tainted,
)

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
        SECRET.encode().hex(),
        SECRET.encode().hex().upper(),
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
    value: dict[str, Any] = {"a": ["x hunter22 y", {"hunter22": 1}], "n": 5, "b": True, "z": None}
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


def test_a_long_learned_value_is_masked_anywhere_plain_or_json_escaped() -> None:
    masker = Masker(["Sup3r-Secret"])
    derived = 'terceS-"r3puS'
    masker.learn(TaintedStr(derived))
    for leak in (derived, json.dumps(derived)[1:-1]):
        assert masker.text(f"a {leak} b") == "a *** b"
    assert masker.value({"k": [f"x{derived}"]}) == {"k": ["x***"]}


def test_past_the_limit_learned_values_are_masked_as_whole_values() -> None:
    masker = Masker(["Sup3r-Secret"])
    for n in range(MAX_LEARNED_PATTERNS):
        masker.learn(f"derived-{n:04}")
    masker.learn("one-too-many")
    assert masker.text(f"in derived-{MAX_LEARNED_PATTERNS - 1:04} text") == "in *** text"
    assert masker.value(["one-too-many", "in one-too-many text"]) == ["***", "in one-too-many text"]


def test_a_short_learned_value_is_masked_only_as_a_whole_value_and_never_as_a_key() -> None:
    masker = Masker(["Sup3r-Secret"])
    masker.learn("Su")
    value = {"Su": "Su", "word": "Sunday", "list": ["S", "Su"]}
    assert masker.value(value) == {"Su": "***", "word": "Sunday", "list": ["S", "***"]}
    assert masker.text("Su") == "***"
    assert masker.text("Sunday") == "Sunday"


def test_learning_makes_a_masker_without_secrets_active() -> None:
    masker = Masker([])
    masker.learn("")  # nothing to learn from nothing
    assert not masker.active
    masker.learn("derived-text")
    assert masker.active
    assert masker.knows("derived-text")
    assert masker.text("the derived-text") == "the ***"


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (lambda t: t[1:], "ecret"),
        (lambda t: t[0], "s"),
        (lambda t: list(t), list("secret")),
        (lambda t: t.upper(), "SECRET"),
        (lambda t: t.replace("e", "3"), "s3cr3t"),
        (lambda t: t.split("c"), ["se", "ret"]),
        (lambda t: t.partition("c"), ("se", "c", "ret")),
        (lambda t: "x" + t, "xsecret"),
        (lambda t: t + "x", "secretx"),
        (lambda t: t * 2, "secretsecret"),
        (lambda t: "<%s>" % t, "<secret>"),  # noqa: UP031 (the reflected % is under test)
        (lambda t: t.center(10), "  secret  "),
        (lambda t: t.join("ab"), "asecretb"),
        (lambda t: t.encode().hex(), "736563726574"),
        (lambda t: t.encode()[1:].decode(), "ecret"),
        (lambda t: f"{t:>8}", "  secret"),
    ],
)
def test_operations_on_a_tainted_string_give_tainted_strings(operation: Any, expected: Any) -> None:
    result = operation(TaintedStr("secret"))
    assert result == expected
    assert is_tainted(result)


def test_templates_see_secrets_tainted_with_their_real_value() -> None:
    masker = Masker(["hunter22"])
    secrets = masker.tainted({"PW": "hunter22"})
    assert isinstance(secrets, SecretValues)
    assert secrets["PW"] == "hunter22"
    assert isinstance(secrets["PW"], TaintedStr)
    assert list(secrets) == ["PW"]
    assert secrets.masker is masker
