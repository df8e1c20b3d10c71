"""JSON columns are encoded and decoded by `flomation.db.jsoncodec` on both databases, and what
it writes reads back as the standard library's `json` would have it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from sqlalchemy import bindparam, select

from flomation.db import jsoncodec
from flomation.db.base import JSONValue
from flomation.db.driver import DriverStatement
from flomation.db.session import Database

DOCUMENTS: list[Any] = [
    {"n": 21, "nested": {"list": [1, 2.5, None, True, "x"]}, "empty": {}},
    {"unicode": "grüße ✓ 日本", "quote": 'a "b" \\ c', "control": "tab\there\nnewline"},
    {"big": 2**80, "negative": -(2**70), "float": 1e-300},
    [1, "two", [3]],
    "a plain string",
    0,
]

_ROUND_TRIP = select(bindparam("document", type_=JSONValue).label("document"))


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_codec_reads_back_what_json_reads_back(document: Any) -> None:
    assert jsoncodec.loads(jsoncodec.dumps(document)) == json.loads(json.dumps(document))
    assert json.loads(jsoncodec.dumps(document)) == document


def test_keys_that_are_not_strings_become_strings_as_in_json() -> None:
    assert jsoncodec.loads(jsoncodec.dumps({1: "a", 2.5: "b"})) == {"1": "a", "2.5": "b"}


def test_nan_reads_back_as_nan() -> None:
    assert math.isnan(jsoncodec.loads(jsoncodec.dumps({"x": math.nan}))["x"])


def test_a_value_of_no_json_type_is_refused() -> None:
    with pytest.raises(Exception, match="object"):
        jsoncodec.dumps({"x": object()})


async def test_the_engine_encodes_and_decodes_json_columns_with_the_codec(
    database: Database,
) -> None:
    dialect = database.engine.dialect
    assert dialect._json_serializer is jsoncodec.dumps
    assert dialect._json_deserializer is jsoncodec.loads


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_a_json_document_round_trips_through_each_database(
    database: Database, document: Any
) -> None:
    async with database.transaction() as session:
        through_sqlalchemy = (await session.execute(_ROUND_TRIP, {"document": document})).scalar()
        through_driver = await DriverStatement(_ROUND_TRIP).first(session, {"document": document})
    assert through_sqlalchemy == document
    assert through_driver is not None
    assert through_driver[0] == document
