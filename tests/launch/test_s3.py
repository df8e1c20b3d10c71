"""S3 triggers against a real S3 API (moto's server on loopback): baseline, new and changed
objects fire once, pagination, restarts and lease moves repeat nothing, failures back off."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from flomation.clock import ManualClock
from flomation.config import Settings
from flomation.db.session import Database
from tests.factories import make_actor
from tests.integrations.common import free_port
from tests.integrations.files_fixtures import moto_endpoint, s3_client
from tests.launch.conftest import MakeLaunch
from tests.triggers.factories import (
    executions_of,
    get_trigger,
    make_flow,
    make_trigger,
    put_secret,
)

_bucket_numbers = itertools.count(1)
BIG_BUCKET = "flomation-big"
BIG_PREFIX = "many/"
BIG_COUNT = 1005
CREDENTIALS = json.dumps({"access_key_id": "testing", "secret_access_key": "testing"})


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with moto_endpoint() as endpoint:
        # Over 1000 objects, made once per session: listing them needs several pages.
        client = s3_client(endpoint)
        client.create_bucket(Bucket=BIG_BUCKET)
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: client.put_object(
                        Bucket=BIG_BUCKET, Key=f"{BIG_PREFIX}{i:05d}", Body=b""
                    ),
                    range(BIG_COUNT),
                )
            )
        yield endpoint


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    return s3_client(s3_endpoint)


async def _s3_trigger(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    endpoint: str,
    bucket: str,
    prefix: str = "in/",
    **config: Any,
) -> tuple[str, str]:
    actor = await make_actor(database)
    await put_secret(database, settings, actor.organization_id, "S3_KEYS", CREDENTIALS)
    flow_id = await make_flow(database, actor.organization_id)
    trigger = await make_trigger(
        database,
        actor.organization_id,
        flow_id,
        "s3",
        {
            "bucket": bucket,
            "prefix": prefix,
            "endpoint_url": endpoint,
            "region": "us-east-1",
            "credentials": "S3_KEYS",
            "interval_s": 10,
            **config,
        },
        now=clock.now(),
    )
    return actor.organization_id, trigger.id


def _new_bucket(s3: Any) -> str:
    name = f"flomation-test-{next(_bucket_numbers)}-{free_port()}"
    s3.create_bucket(Bucket=name)
    return name


async def _keys(database: Database, organization_id: str) -> list[str]:
    return [e.input["key"] for e in await executions_of(database, organization_id)]


async def test_baseline_then_new_and_changed_objects_fire_once(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    make_launch: MakeLaunch,
    s3: Any,
    s3_endpoint: str,
) -> None:
    bucket = _new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="in/existing.csv", Body=b"old")
    s3.put_object(Bucket=bucket, Key="elsewhere/ignored.csv", Body=b"x")
    org, trigger_id = await _s3_trigger(database, settings, clock, s3_endpoint, bucket)
    launch = make_launch()
    await launch.run_once()  # baseline
    assert await executions_of(database, org) == []

    s3.put_object(Bucket=bucket, Key="in/new.csv", Body=b"hello")
    s3.put_object(Bucket=bucket, Key="elsewhere/other.csv", Body=b"x")
    await launch.run_once()  # not due yet: the interval has not passed
    assert await executions_of(database, org) == []
    clock.advance(10)
    await launch.run_once()
    clock.advance(10)
    await launch.run_once()  # nothing new
    [execution] = await executions_of(database, org)
    assert execution.input["bucket"] == bucket
    assert execution.input["key"] == "in/new.csv"
    assert execution.input["size"] == 5
    assert execution.input["etag"]
    assert execution.input["last_modified"].endswith("Z")
    assert execution.trigger["type"] == "s3"
    assert execution.trigger["id"] == trigger_id

    s3.put_object(Bucket=bucket, Key="in/existing.csv", Body=b"changed")
    clock.advance(10)
    await launch.run_once()
    assert await _keys(database, org) == ["in/new.csv", "in/existing.csv"]
    state = (await get_trigger(database, org, trigger_id)).state
    assert state.last_error is None
    assert state.last_fired_at == clock.now()


async def test_listing_over_many_pages_misses_nothing(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    make_launch: MakeLaunch,
    s3: Any,
    s3_endpoint: str,
    backend: str,
) -> None:
    org, trigger_id = await _s3_trigger(
        database, settings, clock, s3_endpoint, BIG_BUCKET, prefix=BIG_PREFIX
    )
    launch = make_launch(s3_page_size=200)
    await launch.run_once()
    cursor = (await get_trigger(database, org, trigger_id)).state.cursor
    assert cursor is not None
    assert len(cursor["etags"]) >= BIG_COUNT
    new_keys = [f"{BIG_PREFIX}zz-{backend}-{i}" for i in range(3)]
    for key in new_keys:
        s3.put_object(Bucket=BIG_BUCKET, Key=key, Body=b"new")
    clock.advance(10)
    await launch.run_once()
    assert sorted(await _keys(database, org)) == new_keys


async def test_a_restart_or_lease_move_repeats_nothing(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    make_launch: MakeLaunch,
    s3: Any,
    s3_endpoint: str,
) -> None:
    bucket = _new_bucket(s3)
    org, _ = await _s3_trigger(database, settings, clock, s3_endpoint, bucket)
    first = make_launch()
    await first.run_once()
    s3.put_object(Bucket=bucket, Key="in/a", Body=b"a")
    clock.advance(10)
    await first.run_once()
    await first.release()  # the instance stops; another takes over

    second = make_launch()
    await second.run_once()
    s3.put_object(Bucket=bucket, Key="in/b", Body=b"b")
    clock.advance(10)
    await second.run_once()
    clock.advance(10)
    await second.run_once()
    assert await _keys(database, org) == ["in/a", "in/b"]
    assert second.held


async def test_a_deleted_bucket_is_reported_with_backoff_and_others_go_on(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    make_launch: MakeLaunch,
    s3: Any,
    s3_endpoint: str,
) -> None:
    doomed = _new_bucket(s3)
    healthy = _new_bucket(s3)
    org, doomed_id = await _s3_trigger(database, settings, clock, s3_endpoint, doomed)
    org_ok, _ = await _s3_trigger(database, settings, clock, s3_endpoint, healthy)
    launch = make_launch()
    await launch.run_once()  # both baselines
    s3.delete_bucket(Bucket=doomed)
    s3.put_object(Bucket=healthy, Key="in/still-works", Body=b"1")
    clock.advance(10)
    await launch.run_once()

    state = (await get_trigger(database, org, doomed_id)).state
    assert state.last_error is not None
    assert "NoSuchBucket" in state.last_error
    assert state.error_count == 1
    assert state.next_fire_at == clock.now() + timedelta(seconds=20)
    assert await _keys(database, org_ok) == ["in/still-works"]

    clock.advance(20)
    await launch.run_once()
    state = (await get_trigger(database, org, doomed_id)).state
    assert state.error_count == 2
    assert state.next_fire_at == clock.now() + timedelta(seconds=40)

    # The bucket comes back: the error clears and polling resumes at the normal interval.
    s3.create_bucket(Bucket=doomed)
    clock.advance(40)
    await launch.run_once()
    state = (await get_trigger(database, org, doomed_id)).state
    assert state.last_error is None
    assert state.error_count == 0
    assert state.next_fire_at == clock.now() + timedelta(seconds=10)


async def test_unreachable_endpoint_and_bad_credentials_are_reported(
    database: Database,
    settings: Settings,
    clock: ManualClock,
    make_launch: MakeLaunch,
    s3_endpoint: str,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    org, unreachable_id = await _s3_trigger(database, settings, clock, closed, "some-bucket")
    await make_launch().run_once()
    state = (await get_trigger(database, org, unreachable_id)).state
    assert state.last_error is not None
    assert "127.0.0.1" in state.last_error

    org2, bad_id = await _s3_trigger(database, settings, clock, s3_endpoint, "some-bucket")
    await put_secret(database, settings, org2, "S3_KEYS", "not json")
    await make_launch().run_once()
    state = (await get_trigger(database, org2, bad_id)).state
    assert state.last_error is not None
    assert "S3_KEYS must be JSON" in state.last_error
