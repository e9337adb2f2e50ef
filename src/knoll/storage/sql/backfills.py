"""Backfills in SQL (used by the daemon): the request as JSON, status in its own column."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll.errors import StorageError
from knoll.storage.base import Backfill, BackfillStatus, BackfillStorage
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import backfills


class SqlBackfillStorage(BackfillStorage):
    """``BackfillStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def add_backfill(self, backfill: Backfill) -> None:
        row = {
            "backfill_id": backfill.backfill_id,
            "status": backfill.status.value,
            "create_timestamp": backfill.created_timestamp,
            "body": _body(backfill),
        }
        try:
            self._db.write(lambda conn: conn.execute(sa.insert(backfills), row))
        except sa.exc.IntegrityError:
            raise StorageError(
                f"backfill {backfill.backfill_id} is stored already: give the new backfill "
                "a new id, or change the stored one with update_backfill()."
            ) from None

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(backfills).where(backfills.c.backfill_id == backfill_id)
            ).one_or_none()
        return _backfill(row) if row is not None else None

    def update_backfill(self, backfill: Backfill) -> None:
        values = {
            "status": backfill.status.value,
            "create_timestamp": backfill.created_timestamp,
            "body": _body(backfill),
        }

        def update(conn: Connection) -> int:
            statement = sa.update(backfills).where(backfills.c.backfill_id == backfill.backfill_id)
            return conn.execute(statement.values(**values)).rowcount

        if self._db.write(update) != 1:
            raise StorageError(
                f"cannot update backfill {backfill.backfill_id}: it is not in storage. "
                "Store it first with add_backfill()."
            )

    def get_backfills(
        self,
        *,
        status: BackfillStatus | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> Sequence[Backfill]:
        query = sa.select(backfills).order_by(backfills.c.id.desc()).limit(max(limit, 0))
        if status is not None:
            query = query.where(backfills.c.status == status.value)
        if before is not None:
            row_id = (
                sa.select(backfills.c.id).where(backfills.c.backfill_id == before).scalar_subquery()
            )
            query = query.where(backfills.c.id < row_id)
        with self._db.read() as conn:
            return [_backfill(row) for row in conn.execute(query)]


def _body(backfill: Backfill) -> str:
    try:
        return json.dumps(backfill.body, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"the body of backfill {backfill.backfill_id} is not JSON data ({exc}): use dicts, "
            "lists, strings, numbers, booleans and None."
        ) from None


def _backfill(row: Any) -> Backfill:
    body: Mapping[str, Any] = json.loads(row.body)
    return Backfill(
        backfill_id=row.backfill_id,
        status=BackfillStatus(row.status),
        created_timestamp=row.create_timestamp,
        body=body,
    )
