"""Cursor pagination, the same on every list: ``?limit=N&cursor=C`` and an answer
``{"items": [...], "next_cursor": C | null}``.

A cursor is opaque to clients: URL-safe base64 of a small JSON object that the list which
gave it out reads back (for example the last run's storage id). A cursor that does not decode
is a 400 naming the parameter, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from knoll.server.problems import Problem

T = TypeVar("T")
S = TypeVar("S")
V = TypeVar("V", int, str, float)

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"At most this many items (1 to {MAX_LIMIT}).")
]
Cursor = Annotated[
    str | None,
    Query(description="The next_cursor of the previous page; leave out for the first page."),
]


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def page_of(
    found: Sequence[S],
    limit: int,
    item: Callable[[S], T],
    position: Callable[[S], dict[str, Any]],
) -> Page[T]:
    """The page of the first ``limit`` of ``found`` (read with ``limit + 1``, so that one more
    says there is a next page), each made an ``item``; the next cursor is the ``position`` of
    the last one shown."""
    shown = found[:limit]
    next_cursor = encode_cursor(position(shown[-1])) if len(found) > limit else None
    return Page(items=[item(each) for each in shown], next_cursor=next_cursor)


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The position ``cursor`` stands for (None for the first page), or the 400 problem."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        position = None
    if not isinstance(position, dict):
        raise _invalid(cursor)
    return position


def cursor_value(cursor: str | None, key: str, kind: type[V]) -> V | None:
    """The ``key`` of the position ``cursor`` stands for, which must be a ``kind`` (None for
    the first page), or the 400 problem."""
    position = decode_cursor(cursor)
    if position is None:
        return None
    value = position.get(key)
    if type(value) is not kind:
        raise _invalid(cursor)
    return value


def _invalid(cursor: str | None) -> Problem:
    return Problem(
        400,
        "Invalid cursor",
        f"cursor {cursor!r} is not a cursor this list gave out.",
        object="cursor",
        fix="Pass the next_cursor of the previous page unchanged, or leave cursor out to "
        "start from the first page.",
    )
