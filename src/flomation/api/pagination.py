"""Cursor pagination for every list of the API: `{"items": [...], "next_cursor": ...}`.

How to use it (keyset pagination on one unique, sortable key, usually the UUIDv7 id):

    # endpoint
    @router.get("/things")
    async def list_things(principal: CurrentPrincipal, session: SessionDep,
                          page: PageQuery) -> Page[ThingView]:
        rows = await repository.list_things(session, principal.organization_id, page)
        return make_page(rows, page, key=lambda row: row.id, item=ThingView.of)

    # repository: `keyset` adds the WHERE, ORDER BY and LIMIT (one row more than asked,
    # which is how `make_page` knows whether there is a next page)
    stmt = keyset(select(Thing).where(Thing.organization_id == org), Thing.id, page)

The cursor is opaque to callers (URL-safe base64 of the last key seen); a cursor that does not
decode answers 422 like any other bad query parameter. `?limit` defaults to 50, at most 500.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from flomation.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_MAX_CURSOR_CHARS = 512

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S", bound=Select[Any])


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PageParams:
    """What the caller asked for: at most `limit` items sorted after the key `after`."""

    limit: int = DEFAULT_LIMIT
    after: str | None = None


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor stands for; ValidationFailed (422) when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = raw.decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = ""
    if not key or not key.isprintable():
        raise ValidationFailed(
            "The cursor is not valid: pass the next_cursor of the previous page unchanged",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
        )
    return key


async def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(max_length=_MAX_CURSOR_CHARS, description="next_cursor of the previous page"),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageQuery = Annotated[PageParams, Depends(page_params)]
"""The `?limit=&cursor=` query parameters of a list endpoint, validated and decoded."""


def keyset(
    stmt: S, key: InstrumentedAttribute[Any], page: PageParams, *, descending: bool = False
) -> S:
    """Restrict `stmt` to the rows after the cursor's key, sorted by `key`, one more than asked.

    `key` must be unique (an id, or a name unique within the organisation)."""
    if page.after is not None:
        stmt = stmt.where(key < page.after if descending else key > page.after)
    order = key.desc() if descending else key.asc()
    return stmt.order_by(order).limit(page.limit + 1)


def make_page(
    rows: Sequence[R], page: PageParams, *, key: Callable[[R], str], item: Callable[[R], T]
) -> Page[T]:
    """The page answer for rows fetched with `keyset` (at most `limit + 1` of them)."""
    kept = rows[: page.limit]
    more = len(rows) > page.limit
    return Page[T](
        items=[item(row) for row in kept],
        next_cursor=encode_cursor(key(kept[-1])) if more and kept else None,
    )
