"""Small pieces shared by the SQL storage modules: dialect inserts, chunks, the event lock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from knoll.storage.base import EventWindow
from knoll.storage.sql.engine import Database

T = TypeVar("T")

# Bound parameters per IN list: well under SQLite's limit, and short statements on PostgreSQL.
CHUNK = 500

# pg_advisory_xact_lock(key, hashtext(current_schema())): serialises event writers per schema.
_PG_EVENT_LOCK = 0x6B6E_6576  # "knev"


def event_window(
    query: sa.Select[Any], events: sa.Table, window: EventWindow, limit: int
) -> sa.Select[Any]:
    """``query`` over the events table kept inside ``window``, at most ``limit`` rows."""
    for bound in (
        None if window.after is None else events.c.id > window.after,
        None if window.before is None else events.c.id < window.before,
        None if window.after_timestamp is None else events.c.timestamp > window.after_timestamp,
        None if window.before_timestamp is None else events.c.timestamp < window.before_timestamp,
    ):
        if bound is not None:
            query = query.where(bound)
    order = events.c.id.desc() if window.newest_first else events.c.id.asc()
    return query.order_by(order).limit(max(limit, 0))


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def dialect_insert(db: Database, table: sa.Table) -> Any:
    """An INSERT with ``on_conflict_do_update`` / ``on_conflict_do_nothing`` for the dialect.

    Both dialects spell the upsert the same way (``ON CONFLICT ... DO UPDATE``), so one call
    site serves both.
    """
    if db.dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def lock_event_log(db: Database, conn: Connection) -> None:
    """Serialise writers of the event log until this transaction ends (PostgreSQL).

    Event ids come from a sequence when the row is inserted, but become visible when their
    transaction commits: without this lock a reader could see id 11 committed while id 10 is
    still in flight, move its cursor past 10 and never see it. Holding the lock from before
    the insert until the commit makes ids visible in id order. SQLite needs nothing: it has
    one writer at a time already (BEGIN IMMEDIATE). See docs/storage.md.
    """
    if db.dialect == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
            {"key": _PG_EVENT_LOCK},
        )
