"""The pagination helper every list endpoint uses (src/flomation/pagination.py)."""

from __future__ import annotations

import string

import pytest
from sqlalchemy import select

from flomation.db.session import Database
from flomation.errors import ValidationFailed
from flomation.models.auth import Organization
from flomation.pagination import (
    PageParams,
    decode_cursor,
    encode_cursor,
    keyset,
    make_page,
    page_query,
    split_page,
)
from tests.factories import make_organization

_INVALID = [{"loc": ["query", "cursor"], "msg": "invalid cursor"}]


def test_a_cursor_round_trips_and_is_opaque() -> None:
    key = "0190a6f4-8a11-7cc2-9d5e-4a1b2c3d4e5f"
    cursor = encode_cursor("things", key)
    assert key not in cursor
    assert "=" not in cursor  # safe in a query string as is
    assert decode_cursor("things", cursor) == key


def _tampered(cursor: str) -> str:
    """One character of the middle changed: the cursor still decodes, to other bytes."""
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


def _padding_changed(cursor: str) -> str:
    """The unused low bits of the last character set: decodes to the same bytes."""
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    return cursor[:-1] + alphabet[alphabet.index(cursor[-1]) + 1]


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "////",
        "gA",
        "not-a-cursor",
        encode_cursor("things", "\x00\x01"),
        encode_cursor("other things", "k"),
        _tampered(encode_cursor("things", "k")),
        _padding_changed(encode_cursor("things", "kk")),
    ],
)
def test_a_cursor_this_list_did_not_give_out_is_a_422_on_the_cursor_parameter(
    cursor: str,
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor("things", cursor)
    assert raised.value.errors == _INVALID


async def test_page_query_decodes_and_parses_the_cursor() -> None:
    things = page_query("things")
    numbered = page_query("numbered", int)
    assert await things() == PageParams("things", limit=50, after=None)
    assert await things(limit=3, cursor=encode_cursor("things", "k")) == PageParams(
        "things", limit=3, after="k"
    )
    assert await numbered(cursor=encode_cursor("numbered", 7)) == PageParams("numbered", after=7)
    for cursor in (encode_cursor("numbered", "seven"), encode_cursor("things", "k")):
        with pytest.raises(ValidationFailed) as raised:
            await numbered(cursor=cursor)
        assert raised.value.errors == _INVALID


def test_make_page_keeps_limit_items_and_points_past_the_last() -> None:
    params = PageParams[str]("letters", limit=2)
    full = make_page(["a", "b", "c"], params, key=str, item=str.upper)
    last = make_page(["a", "b"], params, key=str, item=str.upper)
    empty = make_page([], params, key=str, item=str.upper)
    assert full.items == ["A", "B"]
    assert full.next_cursor is not None
    assert decode_cursor("letters", full.next_cursor) == "b"
    assert last.next_cursor is None
    assert empty.model_dump() == {"items": [], "next_cursor": None}
    assert split_page(["a", "b", "c"], params, key=str) == (["a", "b"], full.next_cursor)


@pytest.mark.parametrize("descending", [False, True])
async def test_keyset_walks_every_row_once_in_either_direction(
    database: Database, descending: bool
) -> None:
    async with database.transaction() as session:
        made = [await make_organization(session) for _ in range(5)]
    seen: list[str] = []
    params = PageParams[str]("organizations", limit=2)
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
        after = decode_cursor("organizations", page.next_cursor)
        params = PageParams("organizations", limit=2, after=after)
    assert seen == sorted(made, reverse=descending)
