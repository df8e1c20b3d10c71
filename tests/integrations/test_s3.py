"""The s3 nodes and probe against a real S3 API (moto's server on loopback): every node's
output shape, text/JSON/binary bodies, the step size limit, what S3 answered in errors,
which errors are retried, and secret values masked in what the engine stores."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flomation.engine.egress import AddressPolicy
from flomation.engine.event_values import EVENT_VALUE_LIMIT
from flomation.engine.nodes.base import (
    AuthenticationError,
    BlockedError,
    ConfigError,
    ConnectionFailedError,
    EngineServices,
    NodeError,
    ResultTooLargeError,
    ServiceError,
)
from flomation.engine.nodes.registry import default_registry
from flomation.integrations.registry import connection_types
from flomation.integrations.s3 import S3DeleteNode, S3GetNode, S3ListNode, S3PutNode, probe
from tests.integrations import files_fixtures
from tests.integrations.common import serve_http
from tests.integrations.files_fixtures import flow, free_port, run_engine, run_node, s3_client

# The fixtures these tests use (bound here so pytest finds them).
s3_endpoint = files_fixtures.s3_endpoint
s3_bucket = files_fixtures.s3_bucket

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def values(endpoint: str, **extra: Any) -> dict[str, Any]:
    return {
        "access_key_id": "AKIAFLOMATIONTEST",
        "secret_access_key": SECRET,
        "region": "us-east-1",
        "endpoint_url": endpoint,
        **extra,
    }


def test_s3_types_are_registered() -> None:
    registry = default_registry()
    for name in ("s3.list", "s3.get", "s3.put", "s3.delete"):
        node_type = registry.get(name)
        assert node_type is not None, name
        assert node_type.connection_types == ("s3",)
    s3 = connection_types().get("s3")
    assert s3 is not None
    assert s3.secret_fields == {"secret_access_key", "session_token"}
    assert s3.probe is not None


async def test_put_get_list_delete(s3_endpoint: str, s3_bucket: str) -> None:
    conn = values(s3_endpoint)
    put = await run_node(
        S3PutNode, {"bucket": s3_bucket, "key": "a/hello.txt", "body": "héllo"}, "s3", conn
    )
    assert put.outcome["etag"]
    await run_node(
        S3PutNode,
        {"bucket": s3_bucket, "key": "a/data.json", "body": {"n": 1, "xs": [1, 2]}},
        "s3",
        conn,
    )
    png = b"\x89PNG\r\n\x1a\n\x00\x00\xff"
    await run_node(
        S3PutNode,
        {
            "bucket": s3_bucket,
            "key": "b/image.png",
            "body_base64": base64.b64encode(png).decode(),
            "content_type": "image/png",
        },
        "s3",
        conn,
    )

    text = await run_node(S3GetNode, {"bucket": s3_bucket, "key": "a/hello.txt"}, "s3", conn)
    assert text.outcome["body"] == "héllo"
    assert text.outcome["body_base64"] is None
    assert text.outcome["content_type"] == "text/plain; charset=utf-8"
    assert text.outcome["size"] == len("héllo".encode())
    assert text.outcome["etag"] == put.outcome["etag"]

    parsed = await run_node(
        S3GetNode, {"bucket": s3_bucket, "key": "a/data.json", "parse_json": True}, "s3", conn
    )
    assert parsed.outcome["body"] == {"n": 1, "xs": [1, 2]}
    assert parsed.outcome["content_type"] == "application/json"

    binary = await run_node(S3GetNode, {"bucket": s3_bucket, "key": "b/image.png"}, "s3", conn)
    assert binary.outcome["body"] is None
    assert base64.b64decode(binary.outcome["body_base64"]) == png
    assert binary.outcome["content_type"] == "image/png"

    listed = await run_node(S3ListNode, {"bucket": s3_bucket, "prefix": "a/"}, "s3", conn)
    objects = listed.outcome["objects"]
    assert [o["key"] for o in objects] == ["a/data.json", "a/hello.txt"]
    assert set(objects[0]) == {"key", "size", "etag", "last_modified"}
    assert objects[1]["size"] == len("héllo".encode())
    assert objects[1]["last_modified"].startswith("20")
    assert listed.outcome["truncated"] is False

    page = await run_node(
        S3ListNode, {"bucket": s3_bucket, "max_keys": 1, "start_after": "a/data.json"}, "s3", conn
    )
    assert [o["key"] for o in page.outcome["objects"]] == ["a/hello.txt"]
    assert page.outcome["truncated"] is True

    deleted = await run_node(S3DeleteNode, {"bucket": s3_bucket, "key": "a/hello.txt"}, "s3", conn)
    assert deleted.outcome == {"deleted": True, "key": "a/hello.txt"}
    remaining = s3_client(s3_endpoint).list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert sorted(o["Key"] for o in remaining) == ["a/data.json", "b/image.png"]


async def test_errors_say_what_s3_answered(s3_endpoint: str, s3_bucket: str) -> None:
    conn = values(s3_endpoint)
    with pytest.raises(ServiceError) as missing_key:
        await run_node(S3GetNode, {"bucket": s3_bucket, "key": "nope"}, "s3", conn)
    assert "NoSuchKey" in missing_key.value.message
    assert f"s3://{s3_bucket}/nope" in missing_key.value.message
    assert missing_key.value.retryable is False

    with pytest.raises(ServiceError) as missing_bucket:
        await run_node(S3ListNode, {"bucket": "no-such-bucket-flomation"}, "s3", conn)
    assert "NoSuchBucket" in missing_bucket.value.message
    assert missing_bucket.value.retryable is False


async def test_not_json_when_parse_json(s3_endpoint: str, s3_bucket: str) -> None:
    conn = values(s3_endpoint)
    s3_client(s3_endpoint).put_object(Bucket=s3_bucket, Key="x.txt", Body=b"not json")
    with pytest.raises(ServiceError, match="is not JSON"):
        await run_node(
            S3GetNode, {"bucket": s3_bucket, "key": "x.txt", "parse_json": True}, "s3", conn
        )


async def test_objects_past_the_step_size_limit_fail(s3_endpoint: str, s3_bucket: str) -> None:
    conn = values(s3_endpoint)
    client = s3_client(s3_endpoint)
    client.put_object(Bucket=s3_bucket, Key="big.txt", Body=b"x" * (EVENT_VALUE_LIMIT + 1))
    with pytest.raises(ResultTooLargeError, match="larger than the step size limit"):
        await run_node(S3GetNode, {"bucket": s3_bucket, "key": "big.txt"}, "s3", conn)
    # Binary grows by a third in base64: under the limit raw, over it encoded.
    client.put_object(Bucket=s3_bucket, Key="big.bin", Body=b"\0" * (EVENT_VALUE_LIMIT - 10))
    with pytest.raises(ResultTooLargeError):
        await run_node(S3GetNode, {"bucket": s3_bucket, "key": "big.bin"}, "s3", conn)
    client.put_object(Bucket=s3_bucket, Key="fits.txt", Body=b"y" * EVENT_VALUE_LIMIT)
    exact = await run_node(S3GetNode, {"bucket": s3_bucket, "key": "fits.txt"}, "s3", conn)
    assert exact.outcome["size"] == EVENT_VALUE_LIMIT


async def test_listings_past_the_step_size_limit_fail(s3_endpoint: str, s3_bucket: str) -> None:
    conn = values(s3_endpoint)
    client = s3_client(s3_endpoint)
    for i in range(100):
        client.put_object(Bucket=s3_bucket, Key=f"{i:03d}-" + "k" * 700, Body=b"")
    with pytest.raises(ResultTooLargeError, match="lower max_keys"):
        await run_node(S3ListNode, {"bucket": s3_bucket}, "s3", conn)
    fits = await run_node(S3ListNode, {"bucket": s3_bucket, "max_keys": 10}, "s3", conn)
    assert len(fits.outcome["objects"]) == 10


async def test_unreachable_endpoint_is_a_retryable_connection_error() -> None:
    conn = values(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConnectionFailedError) as caught:
        await run_node(S3GetNode, {"bucket": "any-bucket", "key": "k"}, "s3", conn)
    assert caught.value.retryable is True
    assert "could not connect" in caught.value.message


async def test_put_needs_exactly_one_body(s3_endpoint: str, s3_bucket: str) -> None:
    conn = values(s3_endpoint)
    assert S3PutNode().check_config({"bucket": s3_bucket, "key": "k"}) == [
        ("body", "give either body or body_base64")
    ]
    with pytest.raises(ConfigError):
        await run_node(S3PutNode, {"bucket": s3_bucket, "key": "k"}, "s3", conn)
    with pytest.raises(ConfigError, match="not base64"):
        await run_node(
            S3PutNode, {"bucket": s3_bucket, "key": "k", "body_base64": "%%%"}, "s3", conn
        )


async def test_wrong_connection_type_fails_the_node(s3_endpoint: str) -> None:
    with pytest.raises(ConfigError, match="takes 's3'"):
        await run_node(S3GetNode, {"bucket": "b", "key": "k"}, "smtp", {"host": "x"})


async def test_probe(s3_endpoint: str, s3_bucket: str) -> None:
    services = EngineServices()
    with_bucket = await probe(values(s3_endpoint, probe_bucket=s3_bucket), services, 15)
    assert f"listed s3://{s3_bucket}" in with_bucket
    without = await probe(values(s3_endpoint), services, 15)
    assert "visible" in without
    with pytest.raises(ServiceError, match="NoSuchBucket"):
        await probe(values(s3_endpoint, probe_bucket="flomation-missing-probe"), services, 15)
    with pytest.raises(ConnectionFailedError):
        await probe(values(f"http://127.0.0.1:{free_port()}"), services, 15)


async def test_secret_values_are_masked_in_stored_steps(s3_endpoint: str, s3_bucket: str) -> None:
    """A flow that writes the secret into an object and reads it back, then fails on a key
    named after it: the stored document never holds it."""
    doc = flow(
        {
            "id": "put",
            "type": "s3.put",
            "config": {"connection": "conn", "bucket": s3_bucket, "key": "k", "body": SECRET},
        },
        {
            "id": "get",
            "type": "s3.get",
            "config": {"connection": "conn", "bucket": s3_bucket, "key": "k"},
        },
        {
            "id": "fail",
            "type": "s3.get",
            "config": {"connection": "conn", "bucket": s3_bucket, "key": f"missing/{SECRET}"},
        },
    )
    document = await run_engine(doc, "s3", values(s3_endpoint))
    assert document["status"] == "failed"
    steps = {step["node_id"]: step for step in document["steps"]}
    assert steps["get"]["status"] == "succeeded"
    assert steps["get"]["output"]["body"] != SECRET
    assert "NoSuchKey" in steps["fail"]["error"]["message"]
    assert SECRET not in json.dumps(document)
    # The object really holds it: the masking is in what was stored, not in what ran.
    body = s3_client(s3_endpoint).get_object(Bucket=s3_bucket, Key="k")["Body"].read()
    assert body == SECRET.encode()


@pytest.fixture
def s3_refusing() -> Iterator[list[tuple[int, str]]]:
    """A loopback server that answers every request with the S3 error the test puts first in
    the list (status, code), in S3's XML: the answers moto does not give (refused keys,
    throttling). The list starts with `(0, endpoint URL)`, which the test pops."""
    answers: list[tuple[int, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            status, code = answers[0] if answers else (500, "InternalError")
            body = (
                f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                f"<Message>the test server says {code}</Message></Error>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_DELETE = do_HEAD = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve_http(Handler) as url:
        answers.append((0, url))
        yield answers


@pytest.mark.parametrize(
    ("status", "code", "error", "retryable"),
    [
        (403, "InvalidAccessKeyId", AuthenticationError, False),
        (403, "SignatureDoesNotMatch", AuthenticationError, False),
        (403, "AccessDenied", ServiceError, False),
        (503, "SlowDown", ServiceError, True),
        (500, "InternalError", ServiceError, True),
    ],
)
async def test_what_s3_refused_and_whether_it_is_retried(
    s3_refusing: list[tuple[int, str]],
    status: int,
    code: str,
    error: type[NodeError],
    retryable: bool,
) -> None:
    endpoint = s3_refusing.pop()[1]
    s3_refusing.append((status, code))
    with pytest.raises(error) as caught:
        await run_node(S3GetNode, {"bucket": "some-bucket", "key": "k"}, "s3", values(endpoint))
    assert f"S3 answered {code}: the test server says {code}" in caught.value.message
    assert caught.value.retryable is retryable


async def test_probe_without_a_bucket_when_listing_buckets_is_denied(
    s3_refusing: list[tuple[int, str]],
) -> None:
    endpoint = s3_refusing.pop()[1]
    s3_refusing.append((403, "AccessDenied"))
    message = await probe(values(endpoint), EngineServices(), 15)
    assert "the keys are accepted" in message
    s3_refusing[0] = (403, "InvalidAccessKeyId")
    with pytest.raises(AuthenticationError):
        await probe(values(endpoint), EngineServices(), 15)


async def test_keys_come_in_pairs(s3_endpoint: str) -> None:
    with pytest.raises(ConfigError, match="both access_key_id and secret_access_key"):
        await run_node(
            S3GetNode,
            {"bucket": "b", "key": "k"},
            "s3",
            {"access_key_id": "AKIA", "endpoint_url": s3_endpoint},
        )


async def test_public_buckets_without_keys(s3_endpoint: str, s3_bucket: str) -> None:
    s3_client(s3_endpoint).put_object(
        Bucket=s3_bucket, Key="open.txt", Body=b"open", ACL="public-read"
    )
    run = await run_node(
        S3GetNode, {"bucket": s3_bucket, "key": "open.txt"}, "s3", {"endpoint_url": s3_endpoint}
    )
    assert run.outcome["body"] == "open"
    # Unsigned: a private object stays private (no credentials of the runner's are used).
    s3_client(s3_endpoint).put_object(Bucket=s3_bucket, Key="private.txt", Body=b"p")
    with pytest.raises(ServiceError, match="403"):
        await run_node(
            S3GetNode,
            {"bucket": s3_bucket, "key": "private.txt"},
            "s3",
            {"endpoint_url": s3_endpoint},
        )


async def test_the_egress_policy_is_asked_first(s3_endpoint: str) -> None:
    limited = EngineServices(egress=AddressPolicy.preset("shared_cloud"))
    with pytest.raises(BlockedError, match=r"127\.0\.0\.1"):
        await run_node(
            S3GetNode, {"bucket": "b", "key": "k"}, "s3", values(s3_endpoint), services=limited
        )
    with pytest.raises(BlockedError):
        await probe(values(s3_endpoint), limited, 15)


def test_schemas_are_valid_and_take_the_tests_values(s3_endpoint: str) -> None:
    s3 = connection_types().get("s3")
    assert s3 is not None
    Draft202012Validator.check_schema(s3.schema)
    assert not list(Draft202012Validator(s3.schema).iter_errors(values(s3_endpoint)))
    for node_type in (S3ListNode, S3GetNode, S3PutNode, S3DeleteNode):
        Draft202012Validator.check_schema(node_type.config_schema)
