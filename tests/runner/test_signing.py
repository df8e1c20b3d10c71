"""Ed25519 request and response signing: what verifies and everything that must not."""

from __future__ import annotations

import time
from typing import Any

import pytest

from flomation.signing import (
    HEADER_NONCE,
    HEADER_RUNNER,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    SignatureInvalid,
    SigningKey,
    VerifyKey,
    canonical_json,
    canonical_request,
    derive_signing_key,
    parse_request_headers,
    sign_request,
    sign_response,
    verify_request,
    verify_response,
)

RUNNER = "0190f000-0000-7000-8000-000000000001"
PATH = "/api/v1/runner/claim?x=1"
BODY = b'{"free_slots":2}'


def _signed(key: SigningKey, **overrides: Any) -> dict[str, str]:
    values: dict[str, Any] = {
        "runner_id": RUNNER,
        "method": "POST",
        "path": PATH,
        "body": BODY,
    }
    values.update(overrides)
    return sign_request(key, **values)


def _verify(
    key: VerifyKey,
    headers: dict[str, str],
    *,
    method: str = "POST",
    path: str = PATH,
    body: bytes = BODY,
    now: float | None = None,
    max_skew_s: float = 300,
) -> None:
    verify_request(
        key,
        parse_request_headers(headers),
        method=method,
        path=path,
        body=body,
        now=time.time() if now is None else now,
        max_skew_s=max_skew_s,
    )


def test_a_signed_request_verifies_with_the_runners_public_key() -> None:
    key = SigningKey.generate()
    headers = _signed(key)
    public = VerifyKey.from_base64(key.public_key_base64())
    _verify(public, headers)
    assert headers[HEADER_RUNNER] == RUNNER


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("body", {"body": b'{"free_slots":200}'}),
        ("path", {"path": "/api/v1/runner/claim?x=2"}),
        ("method", {"method": "PUT"}),
    ],
)
def test_tampering_with_any_signed_part_is_refused(what: str, change: dict[str, Any]) -> None:
    key = SigningKey.generate()
    headers = _signed(key)
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _verify(key.verify_key, headers, **change)


def test_a_changed_timestamp_or_nonce_header_breaks_the_signature() -> None:
    key = SigningKey.generate()
    headers = _signed(key)
    stamped = {**headers, HEADER_TIMESTAMP: str(int(headers[HEADER_TIMESTAMP]) + 1)}
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _verify(key.verify_key, stamped)
    renonced = {**headers, HEADER_NONCE: "f" * 32}
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _verify(key.verify_key, renonced)
    other_runner = {**headers, HEADER_RUNNER: "someone-else"}
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _verify(key.verify_key, other_runner)


def test_a_request_signed_by_another_key_is_refused() -> None:
    headers = _signed(SigningKey.generate())
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _verify(SigningKey.generate().verify_key, headers)


def test_a_stale_or_future_timestamp_is_refused_even_when_the_signature_is_good() -> None:
    key = SigningKey.generate()
    old = _signed(key, timestamp=int(time.time()) - 301)
    with pytest.raises(SignatureInvalid, match="away from the server's clock"):
        _verify(key.verify_key, old, max_skew_s=300)
    future = _signed(key, timestamp=int(time.time()) + 301)
    with pytest.raises(SignatureInvalid, match="away from the server's clock"):
        _verify(key.verify_key, future, max_skew_s=300)
    _verify(key.verify_key, _signed(key, timestamp=int(time.time()) - 299), max_skew_s=300)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {HEADER_RUNNER: RUNNER, HEADER_TIMESTAMP: "1", HEADER_NONCE: "a" * 32},
        {
            HEADER_RUNNER: RUNNER,
            HEADER_TIMESTAMP: "soon",
            HEADER_NONCE: "a" * 32,
            HEADER_SIGNATURE: "x",
        },
        {
            HEADER_RUNNER: RUNNER,
            HEADER_TIMESTAMP: "1",
            HEADER_NONCE: "short",
            HEADER_SIGNATURE: "x",
        },
        {
            HEADER_RUNNER: RUNNER,
            HEADER_TIMESTAMP: "1",
            HEADER_NONCE: "a/b" * 8,
            HEADER_SIGNATURE: "x",
        },
    ],
)
def test_missing_or_malformed_signature_headers_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(SignatureInvalid):
        parse_request_headers(headers)


def test_a_garbage_signature_is_refused_not_crashed_on() -> None:
    key = SigningKey.generate()
    headers = {**_signed(key), HEADER_SIGNATURE: "not base64 at all!"}
    with pytest.raises(SignatureInvalid, match="does not verify"):
        _verify(key.verify_key, headers)


def test_the_canonical_request_string_is_the_documented_one() -> None:
    message = canonical_request(
        method="post", path="/p?q=1", runner_id="r", timestamp="10", nonce="n", body=b"{}"
    )
    assert message.decode().split("\n") == [
        "FLOMATION-RUNNER-REQUEST-V1",
        "POST",
        "/p?q=1",
        "r",
        "10",
        "n",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    ]


def test_the_api_key_is_derived_alike_in_every_process_and_differs_per_secret() -> None:
    secret = b"s" * 32
    assert (
        derive_signing_key(secret).public_key_base64()
        == derive_signing_key(secret).public_key_base64()
    )
    assert (
        derive_signing_key(secret).public_key_base64()
        != derive_signing_key(b"t" * 32).public_key_base64()
    )
    assert derive_signing_key(secret, b"other context").public_key_base64() != (
        derive_signing_key(secret).public_key_base64()
    )


def test_a_response_verifies_only_for_its_own_request_status_and_body() -> None:
    api = derive_signing_key(b"s" * 32)
    body = canonical_json({"executions": [], "cancel": ["b", "a"]})
    signature = sign_response(api, status=200, runner_id=RUNNER, request_nonce="n1" * 8, body=body)
    verify_response(
        api.verify_key, signature, status=200, runner_id=RUNNER, request_nonce="n1" * 8, body=body
    )
    for change in (
        {"body": body.replace(b'"b"', b'"c"')},
        {"request_nonce": "n2" * 8},
        {"status": 201},
        {"runner_id": "other"},
    ):
        values: dict[str, Any] = {
            "status": 200,
            "runner_id": RUNNER,
            "request_nonce": "n1" * 8,
            "body": body,
        }
        values.update(change)
        with pytest.raises(SignatureInvalid):
            verify_response(api.verify_key, signature, **values)
    with pytest.raises(SignatureInvalid, match="carries no"):
        verify_response(
            api.verify_key, None, status=200, runner_id=RUNNER, request_nonce="n", body=body
        )
    impostor = SigningKey.generate()
    forged = sign_response(
        impostor, status=200, runner_id=RUNNER, request_nonce="n1" * 8, body=body
    )
    with pytest.raises(SignatureInvalid, match="not signed by the expected"):
        verify_response(
            api.verify_key, forged, status=200, runner_id=RUNNER, request_nonce="n1" * 8, body=body
        )


def test_canonical_json_sorts_keys_and_drops_spaces() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": "é"}]}) == (
        '{"a":[1,{"c":"é","d":2}],"b":1}'.encode()
    )


def test_the_signing_key_never_shows_its_secret_in_repr() -> None:
    key = SigningKey.generate()
    assert key.public_key_base64() in repr(key)
    assert "private" not in repr(key).lower()


def test_a_public_key_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(SignatureInvalid, match="32 bytes"):
        VerifyKey.from_base64("AAAA")
    with pytest.raises(SignatureInvalid, match="base64"):
        VerifyKey.from_base64("%%%")
