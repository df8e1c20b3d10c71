"""The pagination helper every list endpoint uses (src/flomation/api/pagination.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from flomation.api.pagination import (
    PageParams,
    decode_cursor,
    encode_cursor,
    keyset,
    make_page,
    page_params,
)
from flomation.db.session import Database
from flomation.errors import ValidationFailed
from flomation.models.auth import Organization
from tests.factories import make_organization


def test_a_cursor_round_trips_and_is_opaque() -> None:
    key = "0190a6f4-8a11-7cc2-9d5e-4a1b2c3d4e5f"
    cursor = encode_cursor(key)
    assert key not in cursor
    assert "=" not in cursor  # safe in a query string as is
    assert decode_cursor(cursor) == key


@pytest.mark.parametrize("cursor", ["%%%", "////", "gA", encode_cursor("\x00\x01")])
def test_a_foreign_cursor_is_a_422_on_the_cursor_parameter(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(cursor)
    assert raised.value.errors == [{"loc": ["query", "cursor"], "msg": "invalid cursor"}]


async def test_page_params_decode_the_cursor() -> None:
    assert await page_params() == PageParams(limit=50, after=None)
    assert await page_params(limit=3, cursor=encode_cursor("k")) == PageParams(limit=3, after="k")


def test_make_page_keeps_limit_items_and_points_past_the_last() -> None:
    params = PageParams(limit=2)
    full = make_page(["a", "b", "c"], params, key=str, item=str.upper)
    last = make_page(["a", "b"], params, key=str, item=str.upper)
    empty = make_page([], params, key=str, item=str.upper)
    assert full.items == ["A", "B"]
    assert full.next_cursor is not None
    assert decode_cursor(full.next_cursor) == "b"
    assert last.next_cursor is None
    assert empty.model_dump() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("descending", [False, True])
async def test_keyset_walks_every_row_once_in_either_direction(
    database: Database, descending: bool
) -> None:
    async with database.transaction() as session:
        made = [await make_organization(session) for _ in range(5)]
    seen: list[str] = []
    params = PageParams(limit=2)
    while True:
        async with database.transaction() as session:
            rows = (
                await session.scalars(
                    keyset(select(Organization), Organization.id, params, descending=descending)
                )
            ).all()
        page = make_page(rows, params, key=lambda row: row.id, item=lambda row: row.id)
        seen += page.items
        if page.next_cursor is None:
            break
        params = PageParams(limit=2, after=decode_cursor(page.next_cursor))
    assert seen == sorted(made, reverse=descending)
