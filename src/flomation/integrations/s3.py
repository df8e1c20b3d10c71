"""The s3 integration: the `s3` connection type (AWS or any S3-compatible endpoint) and the
`s3.list`, `s3.get`, `s3.put` and `s3.delete` nodes (rules in `integrations.base`).

boto3 is blocking, so each call runs in a worker thread (`asyncio.to_thread`) with botocore's
own connect and read timeouts, and the node waits for it no longer than its deadline. Clients
are cached per endpoint, region and credentials: building one loads botocore's service model,
far too slow to do on every step. Without keys the requests go unsigned (public buckets); the
runner's own environment credentials are never used, so a flow cannot borrow the runner
host's role.

Under an egress policy that blocks ranges, each client checks every request's host and
connects only to the addresses it checked (`flomation.pinning.boto`, shared with Launch's S3
source), so a name that resolves elsewhere at connect time (DNS rebinding) is not followed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flomation.engine.egress import AddressPolicy, pinning_policy
from flomation.engine.event_values import EVENT_VALUE_LIMIT
from flomation.engine.nodes.base import (
    AuthenticationError,
    ConfigError,
    Connection,
    ConnectionFailedError,
    EgressPolicy,
    EngineServices,
    NodeContext,
    NodeError,
    NodeOutcome,
    NodeTimeoutError,
    NodeType,
    ResultTooLargeError,
    ServiceError,
)
from flomation.integrations.base import ConnectionType, IntegrationNode, connection_property
from flomation.integrations.egress import blocking_resolver
from flomation.pinning.boto import pin_client
from flomation.sized_lru import SizedLRU

__all__ = ["CONNECTION_TYPES", "NODE_TYPES"]

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
DEFAULT_MAX_KEYS = 100
MAX_KEYS = 1000
# Errors S3 answers when the keys themselves are refused (not a missing permission).
_AUTH_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
    }
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "access_key_id": {"type": "string", "title": "Access key id"},
        "secret_access_key": {"type": "string", "title": "Secret access key", "x-secret": True},
        "session_token": {"type": "string", "title": "Session token", "x-secret": True},
        "region": {"type": "string", "title": "Region", "default": "us-east-1"},
        "endpoint_url": {
            "type": "string",
            "title": "Endpoint URL",
            "description": "For S3-compatible services (MinIO, R2, Ceph); empty for AWS.",
            "pattern": "^https?://",
        },
        "probe_bucket": {
            "type": "string",
            "title": "Bucket to test with",
            "description": "The connection test lists one key of it.",
        },
    },
    "dependentRequired": {
        "access_key_id": ["secret_access_key"],
        "secret_access_key": ["access_key_id"],
    },
    "additionalProperties": False,
}

_BUCKET = {"type": "string", "minLength": 3, "maxLength": 63, "title": "Bucket"}
_KEY = {"type": "string", "minLength": 1, "maxLength": 1024, "title": "Key"}

# --------------------------------------------------------------------------- clients

_lock = threading.Lock()
_session: Any = None
_clients = SizedLRU[tuple[Any, ...], Any](max_entries=32, on_evict=lambda _k, c: c.close())


def _client(values: Mapping[str, Any], policy: AddressPolicy | None) -> Any:
    """The cached client for these values and policy (thread-safe: creating clients is not);
    with a policy, pinned to the addresses it checks."""
    global _session
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    endpoint = values.get("endpoint_url") or None
    region = values.get("region") or "us-east-1"
    key_id = values.get("access_key_id") or None
    secret = values.get("secret_access_key") or None
    token = values.get("session_token") or None
    cache_key = (policy, endpoint, region, key_id, secret, token)
    with _lock:
        client = _clients.get(cache_key)
        if client is not None:
            return client
        _session = _session or boto3.session.Session()
        config = Config(
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            retries={"max_attempts": 2, "mode": "standard"},
            # S3-compatible servers rarely serve bucket subdomains.
            s3={"addressing_style": "path" if endpoint else "auto"},
            **({} if key_id else {"signature_version": UNSIGNED}),
        )
        client = _session.client(
            "s3",
            endpoint_url=endpoint,
            region_name=region,
            config=config,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )
        if policy is not None:
            pin_client(client, blocking_resolver(policy))
        _clients.put(cache_key, client)
        return client


def _endpoint(values: Mapping[str, Any]) -> str:
    region = values.get("region") or "us-east-1"
    return str(values.get("endpoint_url") or f"https://s3.{region}.amazonaws.com")


T = TypeVar("T")


async def _call(
    egress: EgressPolicy,
    values: Mapping[str, Any],
    what: str,
    call: Callable[[Any], T],
    timeout_s: float | None,
) -> T:
    """Runs `call(client)` in a thread, mapping what botocore raises to node errors that say
    what S3 answered. Every S3 operation the nodes make is idempotent, so failures that happen
    before an answer, and S3's own 5xx, are retryable."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if bool(values.get("access_key_id")) != bool(values.get("secret_access_key")):
        raise ConfigError(
            "the s3 connection needs both access_key_id and secret_access_key (or neither, "
            "for public buckets)",
            field="connection",
        )
    try:
        await egress.check_url(_endpoint(values))
    except NodeError:
        raise
    except Exception as exc:  # the policy could not resolve the host
        raise ConnectionFailedError(f"{what}: {exc}") from None
    try:
        async with asyncio.timeout(timeout_s):
            policy = pinning_policy(egress)
            return await asyncio.to_thread(lambda: call(_client(values, policy)))
    except TimeoutError:
        raise NodeTimeoutError(f"{what}: S3 did not answer within {timeout_s:g} s") from None
    except ClientError as exc:
        raise _client_error(what, exc) from None
    except (EndpointConnectionError, ConnectTimeoutError) as exc:
        raise ConnectionFailedError(f"{what}: could not connect ({exc})") from None
    except ReadTimeoutError:
        raise NodeTimeoutError(
            f"{what}: S3 did not answer within {READ_TIMEOUT_S:g} s", retryable=True
        ) from None
    except BotoCoreError as exc:
        raise ServiceError(f"{what}: {exc}") from None


def _client_error(what: str, exc: Any) -> NodeError:
    error = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    code = str(error.get("Code") or status or "error")
    message = f"{what}: S3 answered {code}: {error.get('Message') or exc}"
    if code in _AUTH_CODES:
        return AuthenticationError(message)
    return ServiceError(message, retryable=status >= 500 or code in ("SlowDown", "RequestTimeout"))


def _timeout(ctx: NodeContext) -> float | None:
    return ctx.remaining_s()


# --------------------------------------------------------------------------- probe


async def probe(values: Mapping[str, Any], services: EngineServices, timeout_s: float) -> str:
    bucket = values.get("probe_bucket")
    where = _endpoint(values)
    if bucket:

        def list_one(client: Any) -> int:
            answer = client.list_objects_v2(Bucket=bucket, MaxKeys=1)
            return int(answer.get("KeyCount", 0))

        count = await _call(services.egress, values, f"listing s3://{bucket}", list_one, timeout_s)
        return f"listed s3://{bucket} at {where} ({'not empty' if count else 'empty'})"

    def list_buckets(client: Any) -> int:
        return len(client.list_buckets().get("Buckets", []))

    try:
        count = await _call(services.egress, values, "listing buckets", list_buckets, timeout_s)
    except ServiceError as exc:
        if "AccessDenied" not in exc.message:
            raise
        # S3 checks the signature before the permission: the keys are good.
        return (
            f"the keys are accepted by {where}, but may not list buckets; "
            "set probe_bucket to test one bucket"
        )
    return f"connected to {where}: {count} bucket{'s' if count != 1 else ''} visible"


CONNECTION_TYPES: tuple[ConnectionType, ...] = (
    ConnectionType(
        type="s3",
        title="Amazon S3 (or S3-compatible)",
        schema=SCHEMA,
        probe=probe,
        icon="s3",
        description="Buckets on AWS S3, MinIO, Cloudflare R2, Ceph or any S3-compatible store.",
    ),
)

# --------------------------------------------------------------------------- nodes


class _S3Node(IntegrationNode):
    connection_types = ("s3",)
    group = "s3"
    icon = "s3"

    async def s3(
        self, ctx: NodeContext, connection: Connection, what: str, call: Callable[[Any], T]
    ) -> T:
        return await _call(ctx.services.egress, connection.values, what, call, _timeout(ctx))


class S3ListNode(_S3Node):
    type = "s3.list"
    title = "S3: list objects"
    description = "Lists the objects of a bucket under a prefix, in key order."
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "bucket": _BUCKET,
            "prefix": {"type": "string", "default": "", "title": "Prefix"},
            "start_after": {
                "type": "string",
                "title": "Start after",
                "description": "List keys after this one (the last key of the previous page).",
            },
            "max_keys": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_KEYS,
                "default": DEFAULT_MAX_KEYS,
            },
        },
        "required": ["connection", "bucket"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "objects": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string"},
                        "size": {"type": "integer"},
                        "etag": {"type": "string"},
                        "last_modified": {"type": ["string", "null"]},
                    },
                },
            },
            "truncated": {"type": "boolean"},
        },
        "required": ["objects"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        bucket = str(ctx.config["bucket"])
        prefix = str(ctx.config.get("prefix") or "")
        arguments: dict[str, Any] = {
            "Bucket": bucket,
            "Prefix": prefix,
            "MaxKeys": int(ctx.config.get("max_keys", DEFAULT_MAX_KEYS)),
        }
        if ctx.config.get("start_after"):
            arguments["StartAfter"] = str(ctx.config["start_after"])
        answer = await self.s3(
            ctx,
            connection,
            f"listing s3://{bucket}/{prefix}",
            lambda client: client.list_objects_v2(**arguments),
        )
        objects = [
            {
                "key": item["Key"],
                "size": int(item.get("Size", 0)),
                "etag": str(item.get("ETag", "")).strip('"'),
                "last_modified": _isoformat(item.get("LastModified")),
            }
            for item in answer.get("Contents", [])
        ]
        output = {"objects": objects, "truncated": bool(answer.get("IsTruncated"))}
        if len(json.dumps(output)) > EVENT_VALUE_LIMIT:
            raise ResultTooLargeError(
                f"the listing of s3://{bucket}/{prefix} is larger than the step size limit "
                f"({EVENT_VALUE_LIMIT} bytes): lower max_keys or narrow the prefix"
            )
        return NodeOutcome(output)


class S3GetNode(_S3Node):
    type = "s3.get"
    title = "S3: get object"
    description = (
        "Reads one object: text as `body` (parsed when `parse_json`), anything else as "
        "`body_base64`. Objects past the step size limit fail the node."
    )
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "bucket": _BUCKET,
            "key": _KEY,
            "parse_json": {"type": "boolean", "default": False, "title": "Parse as JSON"},
        },
        "required": ["connection", "bucket", "key"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {
            "body": {},
            "body_base64": {"type": ["string", "null"]},
            "content_type": {"type": ["string", "null"]},
            "size": {"type": "integer"},
            "etag": {"type": "string"},
            "last_modified": {"type": ["string", "null"]},
        },
        "required": ["body", "body_base64", "content_type", "size", "etag"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        bucket, key = str(ctx.config["bucket"]), str(ctx.config["key"])
        where = f"s3://{bucket}/{key}"

        def read(client: Any) -> tuple[dict[str, Any], bytes | None]:
            answer = client.get_object(Bucket=bucket, Key=key)
            stream = answer["Body"]
            try:
                if int(answer.get("ContentLength") or 0) > EVENT_VALUE_LIMIT:
                    return answer, None
                # Read one byte past the limit: a length header can be missing or wrong.
                data = stream.read(EVENT_VALUE_LIMIT + 1)
            finally:
                stream.close()
            return answer, (None if len(data) > EVENT_VALUE_LIMIT else data)

        answer, data = await self.s3(ctx, connection, f"reading {where}", read)
        size = int(answer.get("ContentLength") or 0)
        too_large = ResultTooLargeError(
            f"{where} is {size} bytes, larger than the step size limit "
            f"({EVENT_VALUE_LIMIT} bytes): read it in a process node, or store smaller objects"
        )
        if data is None:
            raise too_large
        output: dict[str, Any] = {
            "body": None,
            "body_base64": None,
            "content_type": answer.get("ContentType"),
            "size": len(data),
            "etag": str(answer.get("ETag", "")).strip('"'),
            "last_modified": _isoformat(answer.get("LastModified")),
        }
        text = _text(data)
        if text is None:
            if ctx.config.get("parse_json"):
                raise ServiceError(f"{where} is not JSON: it is not UTF-8 text")
            encoded = base64.b64encode(data).decode()
            if len(encoded) > EVENT_VALUE_LIMIT:
                raise too_large
            output["body_base64"] = encoded
        elif ctx.config.get("parse_json"):
            try:
                output["body"] = json.loads(text)
            except ValueError as exc:
                raise ServiceError(f"{where} is not JSON: {exc}") from None
        else:
            output["body"] = text
        return NodeOutcome(output)


class S3PutNode(_S3Node):
    type = "s3.put"
    title = "S3: put object"
    description = (
        "Writes one object: `body` as text (a JSON value is written as JSON) or `body_base64`."
    )
    config_schema = {
        "type": "object",
        "properties": {
            "connection": connection_property(),
            "bucket": _BUCKET,
            "key": _KEY,
            "body": {"description": "Text, or any JSON value (written as JSON)."},
            "body_base64": {"type": "string", "description": "Binary content, base64."},
            "content_type": {"type": "string", "title": "Content type"},
        },
        "required": ["connection", "bucket", "key"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"etag": {"type": "string"}, "size": {"type": "integer"}},
        "required": ["etag"],
    }

    def check_config(self, config: Mapping[str, Any]) -> list[tuple[str, str]]:
        if ("body" in config) == ("body_base64" in config):
            return [("body", "give either body or body_base64")]
        return []

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        config = ctx.config
        bucket, key = str(config["bucket"]), str(config["key"])
        data, content_type = _put_body(config)

        def put(client: Any) -> dict[str, Any]:
            answer: dict[str, Any] = client.put_object(
                Bucket=bucket, Key=key, Body=data, ContentType=content_type
            )
            return answer

        answer = await self.s3(ctx, connection, f"writing s3://{bucket}/{key}", put)
        return NodeOutcome({"etag": str(answer.get("ETag", "")).strip('"'), "size": len(data)})


def _put_body(config: Mapping[str, Any]) -> tuple[bytes, str]:
    if ("body" in config) == ("body_base64" in config):
        raise ConfigError("give either body or body_base64", field="body")
    content_type = config.get("content_type")
    if "body_base64" in config:
        try:
            data = base64.b64decode(str(config["body_base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError("body_base64 is not base64", field="body_base64") from None
        return data, str(content_type or "application/octet-stream")
    body = config["body"]
    if isinstance(body, str):
        return body.encode(), str(content_type or "text/plain; charset=utf-8")
    return json.dumps(body, ensure_ascii=False).encode(), str(content_type or "application/json")


class S3DeleteNode(_S3Node):
    type = "s3.delete"
    title = "S3: delete object"
    description = "Deletes one object (deleting a key that is not there succeeds too)."
    config_schema = {
        "type": "object",
        "properties": {"connection": connection_property(), "bucket": _BUCKET, "key": _KEY},
        "required": ["connection", "bucket", "key"],
        "additionalProperties": False,
    }
    output_schema = {
        "type": "object",
        "properties": {"deleted": {"type": "boolean"}, "key": {"type": "string"}},
        "required": ["deleted"],
    }

    async def run(self, ctx: NodeContext) -> NodeOutcome:
        connection = self.connect(ctx)
        bucket, key = str(ctx.config["bucket"]), str(ctx.config["key"])
        await self.s3(
            ctx,
            connection,
            f"deleting s3://{bucket}/{key}",
            lambda client: client.delete_object(Bucket=bucket, Key=key),
        )
        return NodeOutcome({"deleted": True, "key": key})


def _text(data: bytes) -> str | None:
    """`data` as text when it is UTF-8 without NUL bytes (which text never holds)."""
    if b"\0" in data:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def _isoformat(value: Any) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else None


NODE_TYPES: tuple[type[NodeType], ...] = (S3ListNode, S3GetNode, S3PutNode, S3DeleteNode)
