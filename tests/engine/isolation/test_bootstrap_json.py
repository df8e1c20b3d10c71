"""The bootstrap's JSON on `_json` alone encodes and decodes as the json package does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flomation.engine.isolation import _bootstrap

VALUES: list[Any] = [
    {"a": [1, 2.5, "é\n\u2028", None, True, False, (1, 2)], 3: 4, 1.5: "x", None: 0},
    "just a string",
    1e300,
    -0.0,
    [],
    {"nested": {"deep": [[[{"k": "v"}]]]}},
    10**40,
]


def test_the_bootstrap_uses_the_c_functions_here() -> None:
    assert _bootstrap.json_loads is not json.loads


@pytest.mark.parametrize("value", VALUES)
def test_encodes_and_decodes_as_json_does(value: Any) -> None:
    assert _bootstrap.json_dumps(value) == json.dumps(value)
    assert _bootstrap.json_dumps(value, allow_nan=False) == json.dumps(value, allow_nan=False)
    encoded = json.dumps(value)
    assert _bootstrap.json_loads(encoded.encode()) == json.loads(encoded)


def test_non_finite_numbers_decode_and_are_refused_when_encoding() -> None:
    assert _bootstrap.json_loads(b"[Infinity, -Infinity]") == [float("inf"), float("-inf")]
    assert _bootstrap.json_dumps(float("nan")) == "NaN"


def circular() -> list[Any]:
    loop: list[Any] = []
    loop.append(loop)
    return loop


@pytest.mark.parametrize("value", [float("nan"), {1: object()}, {(1, 2): 3}, circular()])
def test_refuses_what_json_refuses_with_its_words(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)) as ours:
        _bootstrap.json_dumps(value, allow_nan=False)
    with pytest.raises((TypeError, ValueError)) as theirs:
        json.dumps(value, allow_nan=False)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("text", [b"", b"[1, 2", b"[1] [2]", b"{'a': 1}"])
def test_refuses_broken_json(text: bytes) -> None:
    with pytest.raises(ValueError):
        _bootstrap.json_loads(text)
