"""Every JSON body goes through one guard: nesting beyond the limit, NUL characters and lone
surrogates answer 400 problem+json naming what and where, on both databases, and nothing is
written. The parser and the check themselves are pure and tested first."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flomation.api.bodies import JsonBodyRejected, MalformedJson, check_value, parse_json
from flomation.db.session import Database
from tests.factories import Actor
from tests.live import LiveServer

DEEP = 1000


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _refusal(body: bytes, max_depth: int = 64) -> JsonBodyRejected:
    with pytest.raises(JsonBodyRejected) as caught:
        parse_json(body, max_depth=max_depth)
    return caught.value


def test_nesting_at_the_limit_is_accepted_and_one_deeper_is_refused_with_its_pointer() -> None:
    assert parse_json(_nested(64), max_depth=64) is not None
    refused = _refusal(_nested(65))
    assert refused.extra["pointer"] == "/a" * 64
    assert "nested deeper than 64 levels" in refused.detail


def test_nesting_beyond_what_the_parser_can_follow_is_refused_not_a_recursion_error() -> None:
    refused = _refusal(b"[" * DEEP + b"]" * DEEP)
    assert refused.extra["pointer"] == "/0" * 64
    assert refused.status == 400


@pytest.mark.parametrize(
    ("body", "pointer", "what"),
    [
        (b'{"name": "a\\u0000b"}', "/name", "NUL character"),
        (b'{"list": [1, "\\ud800"]}', "/list/1", "lone surrogate (U+D800)"),
        (b'{"x": "\\udc00 trailing"}', "/x", "lone surrogate (U+DC00)"),
        (b'["\xed\xa0\x80"]', "/0", "lone surrogate (U+D800)"),
        (b'{"k\\u0000": 1}', "/k\\u0000", "key that holds a NUL character"),
        (b'{"a/b": {"~c": "\\u0000"}}', "/a~1b/~0c", "NUL character"),
    ],
)
def test_characters_the_databases_cannot_store_are_refused_with_their_pointer(
    body: bytes, pointer: str, what: str
) -> None:
    refused = _refusal(body)
    assert refused.extra["pointer"] == pointer
    assert what in refused.detail
    assert refused.errors is not None
    [error] = refused.errors
    assert error["pointer"] == pointer
    assert what in error["msg"]


def test_the_error_locates_the_value_as_validation_errors_do() -> None:
    refused = _refusal(b'{"definition": {"nodes": [{"id": "start", "name": "\\udfff"}]}}')
    assert refused.errors is not None
    assert refused.errors[0]["loc"] == ["body", "definition", "nodes", 0, "name"]
    assert refused.extra["pointer"] == "/definition/nodes/0/name"


@pytest.mark.parametrize(
    "body",
    [
        rb'{"a": "[[[[ {{{{"}',
        rb'{"a": "\" [[[[", "b": "\\"}',
        rb'{"a": "\\\" [[[[ \\\\", "b": ["x"]}',
        rb'["\\", "[", "\"]", {"k[": "{"}]',
    ],
)
def test_brackets_inside_strings_do_not_count_as_nesting(body: bytes) -> None:
    # The nesting is counted on the raw bytes first (fast); strings must not confuse it.
    value = json.loads(body)
    assert parse_json(body, max_depth=2) == value


def test_paired_surrogates_and_other_characters_are_accepted() -> None:
    assert parse_json(b'{"emoji": "\\ud83d\\ude00", "text": "\xc3\xa9\xed\x9f\xbf"}', max_depth=4)


def test_a_body_that_is_not_json_is_malformed() -> None:
    with pytest.raises(MalformedJson):
        parse_json(b'{"a": ', max_depth=64)


def test_values_built_elsewhere_are_checked_with_their_own_subject() -> None:
    with pytest.raises(JsonBodyRejected) as caught:
        check_value({"query": {"q": "\x00"}}, max_depth=4, subject="The webhook's input")
    assert caught.value.detail.startswith("The webhook's input holds a NUL character")
    assert caught.value.extra["pointer"] == "/query/q"
    assert caught.value.errors is not None
    assert caught.value.errors[0]["loc"] == ["body", "query", "q"]


# ---- through the real API, on both databases -------------------------------------------------


async def _post_raw(api: LiveServer, actor: Actor, path: str, body: bytes) -> Any:
    async with api.client(actor.headers) as client:
        return await client.post(path, content=body, headers={"Content-Type": "application/json"})


async def _flow_count(api: LiveServer, actor: Actor) -> int:
    async with api.client(actor.headers) as client:
        listed = await client.get("/api/v1/flows")
    assert listed.status_code == 200, listed.text
    return len(listed.json()["items"])


def _flow_body(name: str) -> bytes:
    definition = {
        "version": 1,
        "nodes": [{"id": "start", "type": "start"}, {"id": "out", "type": "return"}],
        "edges": [{"from": "start", "to": "out"}],
    }
    # ensure_ascii keeps a lone surrogate as the escape a hostile client would send.
    return json.dumps({"name": name, "definition": definition}, ensure_ascii=True).encode()


@pytest.mark.parametrize(
    ("name", "pointer"),
    [("lone \ud800 surrogate", "/name"), ("nul \x00 inside", "/name")],
)
async def test_an_endpoint_refuses_odd_characters_with_400_and_writes_nothing(
    api: LiveServer, owner: Actor, database: Database, name: str, pointer: str
) -> None:
    response = await _post_raw(api, owner, "/api/v1/flows", _flow_body(name))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/unacceptable-json")
    assert problem["pointer"] == pointer
    assert problem["errors"][0]["loc"] == ["body", "name"]
    assert await _flow_count(api, owner) == 0


async def test_an_endpoint_refuses_deep_nesting_with_400(api: LiveServer, owner: Actor) -> None:
    body = b'{"name": "deep", "definition": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    response = await _post_raw(api, owner, "/api/v1/flows", body)
    assert response.status_code == 400, response.text
    assert response.json()["pointer"] == "/definition" + "/0" * 63
    assert await _flow_count(api, owner) == 0


async def test_a_nul_in_the_path_or_query_is_refused_before_the_database(
    api: LiveServer, owner: Actor
) -> None:
    async with api.client(owner.headers) as client:
        in_path = await client.get("/api/v1/flows/abc%00def")
        in_query = await client.get("/api/v1/flows?cursor=a%00")
    assert in_path.status_code == 400, in_path.text
    assert in_query.status_code == 400, in_query.text
    assert "NUL" in in_path.json()["detail"]


async def test_ordinary_unicode_is_stored_and_read_back(api: LiveServer, owner: Actor) -> None:
    response = await _post_raw(api, owner, "/api/v1/flows", _flow_body("caf\u00e9 \U0001f600"))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "caf\u00e9 \U0001f600"
