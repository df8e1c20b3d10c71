"""Cursor pagination for every list of the API: `{"items": [...], "next_cursor": ...}`.

How to use it (keyset pagination on one unique, sortable key, usually the UUIDv7 id):

    # endpoint: each list names itself, so a cursor of one list is refused by another
    ThingPages = Annotated[PageParams[str], Depends(page_query("things"))]

    @router.get("/things")
    async def list_things(principal: CurrentPrincipal, session: SessionDep,
                          page: ThingPages) -> Page[ThingView]:
        rows = await repository.list_things(session, principal.organization_id, page)
        return make_page(rows, page, key=lambda row: row.id, item=ThingView.of)

    # repository: `keyset` adds the WHERE, ORDER BY and LIMIT (one row more than asked,
    # which is how `make_page` knows whether there is a next page)
    stmt = keyset(select(Thing).where(Thing.organization_id == org), Thing.id, page)

A list whose answer model is its own (not `Page[...]`) takes the kept rows and the next
cursor from `split_page`.

The cursor is opaque to callers: URL-safe base64 of a check and the last key seen. The check
is a digest of the list's name and the key, so a cursor that is mangled, made up, or given out
by another list answers 422 on `query.cursor` like any other bad query parameter. It is not a
secret: a caller who forges one only pages through rows the query shows them anyway.
`?limit` defaults to 50, at most 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, overload

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from flomation.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_MAX_CURSOR_CHARS = 512
_CHECK_BYTES = 8

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K")
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)  # no slots: `PageParams[str](...)` sets `__orig_class__`
class PageParams(Generic[K]):
    """What the caller asked of the list `list_name`: at most `limit` items sorted after the
    key `after`."""

    list_name: str
    limit: int = DEFAULT_LIMIT
    after: K | None = None


def _check(list_name: str, key: bytes) -> bytes:
    digest = hashlib.blake2s(key, digest_size=_CHECK_BYTES, person=b"cursor")
    digest.update(b"\x00" + list_name.encode())
    return digest.digest()


def encode_cursor(list_name: str, key: object) -> str:
    """The cursor that continues the list `list_name` after `key` (its `str` form)."""
    raw = str(key).encode()
    return base64.urlsafe_b64encode(_check(list_name, raw) + raw).decode().rstrip("=")


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not valid: pass the next_cursor of the previous page unchanged",
        errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}],
    )


def decode_cursor(list_name: str, cursor: str) -> str:
    """The key a cursor of `list_name` stands for; ValidationFailed (422) when the list did
    not give it out."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
    check, key = raw[:_CHECK_BYTES], raw[_CHECK_BYTES:]
    canonical = base64.urlsafe_b64encode(raw).decode().rstrip("=") == cursor
    if not key or not canonical or check != _check(list_name, key):
        raise invalid_cursor()
    try:
        text = key.decode()
    except UnicodeDecodeError:
        raise invalid_cursor() from None
    if not text.isprintable():
        raise invalid_cursor()
    return text


@overload
def page_query(list_name: str) -> Callable[..., Awaitable[PageParams[str]]]: ...


@overload
def page_query(
    list_name: str, key: Callable[[str], K]
) -> Callable[..., Awaitable[PageParams[K]]]: ...


def page_query(
    list_name: str, key: Callable[[str], Any] = str
) -> Callable[..., Awaitable[PageParams[Any]]]:
    """The dependency reading `?limit=&cursor=` for the list `list_name`, whose keys `key`
    parses from their `str` form (a ValueError there is a 422 too)."""

    async def page_params(
        limit: Annotated[
            int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[
            str | None,
            Query(max_length=_MAX_CURSOR_CHARS, description="next_cursor of the previous page"),
        ] = None,
    ) -> PageParams[Any]:
        if cursor is None or cursor == "":
            return PageParams(list_name, limit)
        text = decode_cursor(list_name, cursor)
        try:
            after = key(text)
        except ValueError:
            raise invalid_cursor() from None
        return PageParams(list_name, limit, after)

    return page_params


def keyset(
    stmt: S, column: InstrumentedAttribute[Any], page: PageParams[Any], *, descending: bool = False
) -> S:
    """Restrict `stmt` to the rows after the cursor's key, sorted by `column`, one more than
    asked.

    `column` must be unique within what `stmt` selects (an id, or a number unique per parent)."""
    if page.after is not None:
        stmt = stmt.where(column < page.after if descending else column > page.after)
    order = column.desc() if descending else column.asc()
    return stmt.order_by(order).limit(page.limit + 1)


def split_page(
    rows: Sequence[R], page: PageParams[Any], *, key: Callable[[R], object]
) -> tuple[Sequence[R], str | None]:
    """The rows to answer and the next cursor, for rows fetched with `keyset` (at most
    `limit + 1` of them)."""
    kept = rows[: page.limit]
    more = len(rows) > page.limit
    return kept, (encode_cursor(page.list_name, key(kept[-1])) if more and kept else None)


def make_page(
    rows: Sequence[R], page: PageParams[Any], *, key: Callable[[R], object], item: Callable[[R], T]
) -> Page[T]:
    """The page answer for rows fetched with `keyset` (at most `limit + 1` of them)."""
    kept, next_cursor = split_page(rows, page, key=key)
    return Page[T](items=[item(row) for row in kept], next_cursor=next_cursor)
