"""S3 triggers: poll a bucket/prefix (any S3-compatible endpoint), one execution per new or
changed object.

The cursor is the map of every object key under the prefix to the ETag last seen
(`{"etags": {key: etag}}`): exact across restarts and lease moves (nothing missed, nothing
repeated), independent of clocks, and it notices objects rewritten with the same timestamp.
The first poll records the baseline and fires nothing. Each execution's dedupe key is the
trigger, the key and the ETag, so an object version fires once even when two instances poll.
boto3 is blocking, so listings run in a worker thread.

Under an egress policy that blocks ranges, every request the client sends is checked and every
connection pinned to a checked address (`flomation.pinning.boto`, shared with the s3 nodes); a
refusal stops the listing with the policy's reason.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from dataclasses import dataclass, replace
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from flomation.launch.egress import EgressRefused, LaunchEgress
from flomation.launch.sources.base import FIRE_BATCH, SourceContext, apply, fail, next_poll
from flomation.pinning.boto import pin_client
from flomation.sized_lru import SizedLRU
from flomation.timeutil import isoformat
from flomation.triggers.config import S3Config
from flomation.triggers.schemas import Fire, Outcome, TriggerWork

MAX_DEDUPE_KEY = 300


class S3Error(Exception):
    """A listing failed; the message says why (shown as the trigger's last_error)."""


@dataclass(frozen=True)
class S3Object:
    key: str
    etag: str
    size: int
    last_modified: str | None


def _credentials(raw: str | None, name: str | None) -> dict[str, str]:
    if name is None:
        return {}
    if raw is None:
        raise S3Error(f"The secret {name} holding the S3 credentials is not set")
    try:
        value = json.loads(raw)
        credentials = {
            "aws_access_key_id": str(value["access_key_id"]),
            "aws_secret_access_key": str(value["secret_access_key"]),
        }
    except (ValueError, KeyError, TypeError):
        raise S3Error(
            f"The secret {name} must be JSON "
            '{"access_key_id", "secret_access_key", "session_token"?}'
        ) from None
    if value.get("session_token"):
        credentials["aws_session_token"] = str(value["session_token"])
    return credentials


_session_lock = threading.Lock()
_session: boto3.session.Session | None = None
_MAX_CLIENTS = 64
# One client per endpoint, region, credentials and egress policy; a client dropped is closed.
_clients = SizedLRU[tuple[object, ...], Any](
    max_entries=_MAX_CLIENTS, on_evict=lambda _key, client: client.close()
)


def _client(config: S3Config, credentials: dict[str, str], egress: LaunchEgress) -> Any:
    """A client per endpoint, region, credentials and egress policy, from one shared session:
    creating a session loads every service model, far too slow to do on each poll. Clients
    are thread-safe; creating them is not, hence the lock."""
    global _session
    key = (
        egress,
        config.endpoint_url,
        config.region,
        credentials.get("aws_access_key_id"),
        credentials.get("aws_secret_access_key"),
        credentials.get("aws_session_token"),
    )
    with _session_lock:
        client = _clients.get(key)
        if client is not None:
            return client
        _session = _session or boto3.session.Session()
        client = _session.client(
            "s3",
            endpoint_url=config.endpoint_url,
            region_name=config.region or "us-east-1",
            config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}),
            aws_access_key_id=credentials.get("aws_access_key_id"),
            aws_secret_access_key=credentials.get("aws_secret_access_key"),
            aws_session_token=credentials.get("aws_session_token"),
        )
        if egress.checks_addresses:
            pin_client(client, egress.resolve_blocking)
        _clients.put(key, client)
        return client


def list_objects(
    config: S3Config, credentials: dict[str, str], egress: LaunchEgress, *, page_size: int = 1000
) -> dict[str, S3Object]:
    """Every object under the prefix (blocking: call it in a thread). EgressRefused when the
    policy refuses the endpoint."""
    client = _client(config, credentials, egress)
    found: dict[str, S3Object] = {}
    try:
        paginator = client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=config.bucket,
            Prefix=config.prefix,
            PaginationConfig={"PageSize": page_size},
        )
        for page in pages:
            for item in page.get("Contents", []):
                modified = item.get("LastModified")
                found[item["Key"]] = S3Object(
                    key=item["Key"],
                    etag=str(item.get("ETag", "")).strip('"'),
                    size=int(item.get("Size", 0)),
                    last_modified=isoformat(modified) if modified else None,
                )
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise S3Error(
            f"S3 refused listing s3://{config.bucket}/{config.prefix}: "
            f"{error.get('Code', 'error')}: {error.get('Message', str(exc))}"
        ) from exc
    except BotoCoreError as exc:
        raise S3Error(f"S3 listing of s3://{config.bucket}/{config.prefix} failed: {exc}") from exc
    return found


def dedupe_key(trigger_id: str, obj: S3Object) -> str:
    key = f"s3:{trigger_id}:{obj.etag}:{obj.key}"
    if len(key) <= MAX_DEDUPE_KEY:
        return key
    digest = hashlib.sha256(f"{obj.etag}\0{obj.key}".encode()).hexdigest()
    return f"s3:{trigger_id}:sha256:{digest}"


def _fire(trigger_id: str, bucket: str, obj: S3Object) -> Fire:
    return Fire(
        input={
            "bucket": bucket,
            "key": obj.key,
            "size": obj.size,
            "etag": obj.etag,
            "last_modified": obj.last_modified,
        },
        dedupe_key=dedupe_key(trigger_id, obj),
        trigger_data={"bucket": bucket, "key": obj.key, "etag": obj.etag},
    )


class S3Source:
    def __init__(self, context: SourceContext, *, page_size: int = 1000) -> None:
        self.context = context
        self.page_size = page_size

    async def run(self, work: TriggerWork) -> None:
        config = work.config
        assert isinstance(config, S3Config)
        try:
            raw = (
                await self.context.secret(work.organization_id, config.credentials)
                if config.credentials
                else None
            )
            credentials = _credentials(raw, config.credentials)
            objects = await asyncio.to_thread(
                list_objects, config, credentials, self.context.egress, page_size=self.page_size
            )
        except S3Error as exc:
            await fail(self.context, work, str(exc), interval_s=config.interval_s)
            return
        except EgressRefused as exc:
            where = config.endpoint_url or "the S3 endpoint"
            await fail(self.context, work, f"{where}: {exc}", interval_s=config.interval_s)
            return
        current = {key: obj.etag for key, obj in objects.items()}
        cursor = work.cursor
        if cursor is None or not isinstance(cursor.get("etags"), dict):
            await apply(
                self.context,
                work,
                Outcome(
                    cursor={"etags": current},
                    next_fire_at=next_poll(self.context, config.interval_s),
                ),
            )
            return
        await self._fire_changes(work, config, cursor["etags"], objects)

    async def _fire_changes(
        self,
        work: TriggerWork,
        config: S3Config,
        seen: dict[str, Any],
        objects: dict[str, S3Object],
    ) -> None:
        changed = sorted(
            (obj for key, obj in objects.items() if seen.get(key) != obj.etag),
            key=lambda obj: (obj.last_modified or "", obj.key),
        )
        # Keys gone from the bucket leave the cursor (it only holds what exists).
        etags = {key: etag for key, etag in seen.items() if key in objects}
        batches = [changed[i : i + FIRE_BATCH] for i in range(0, len(changed), FIRE_BATCH)] or [[]]
        for batch in batches:
            etags.update({obj.key: obj.etag for obj in batch})
            now = self.context.clock.now()
            outcome = Outcome(
                cursor={"etags": dict(etags)},
                next_fire_at=next_poll(self.context, config.interval_s),
                fires=[_fire(work.id, config.bucket, obj) for obj in batch],
                fired_at=now if batch else None,
            )
            applied = await apply(self.context, work, outcome)
            if applied is None:
                return
            work = replace(work, state_version=applied.state_version, error_count=0)
