"""Automation evaluations in SQL: a cursor row per code location, a record row per asset.

``begin_automation_tick`` and ``finish_automation_tick`` each read the location's cursor row
and change it in one write transaction, so the checks and the change cannot be split by
another writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll._serdes import deserialize, serialize
from knoll.defs.automation_eval_records import AutomationEvaluationRecord
from knoll.defs.keys import AssetKey
from knoll.errors import InvalidInvocationError, SerializationError
from knoll.storage.base import (
    AutomationCursor,
    AutomationStorage,
    AutomationTick,
    AutomationTickRecord,
    check_automation_finish,
    check_automation_tick,
    ticks_of,
)
from knoll.storage.sql.common import chunks, dialect_insert
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import assets, automation_cursors, automation_evaluations, events


class SqlAutomationStorage(AutomationStorage):
    """``AutomationStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def get_automation_cursor(self, location: str) -> AutomationCursor:
        with self._db.read() as conn:
            return _cursor(conn, location)

    def begin_automation_tick(self, tick: AutomationTick) -> None:
        if not isinstance(tick, AutomationTick):
            raise InvalidInvocationError(
                f"begin_automation_tick takes an AutomationTick, got {type(tick).__name__}."
            )
        rows = [
            {
                "location": tick.location,
                "evaluation_id": tick.evaluation_id,
                "asset_key": record.asset_key.to_user_string(),
                "timestamp": record.timestamp,
                "body": serialize(record),
            }
            for record in tick.records
        ]
        pending = serialize(tick)

        def begin(conn: Connection) -> None:
            cursor = _cursor(conn, tick.location)
            check_automation_tick(cursor, tick)
            for part in chunks(rows):
                conn.execute(sa.insert(automation_evaluations), part)
            insert = dialect_insert(self._db, automation_cursors)
            conn.execute(
                insert.values(
                    location=tick.location,
                    evaluation_id=cursor.evaluation_id,
                    timestamp=cursor.timestamp,
                    state=cursor.state,
                    pending=pending,
                ).on_conflict_do_update(
                    index_elements=[automation_cursors.c.location],
                    set_={"pending": insert.excluded.pending},
                )
            )

        self._db.write(begin)

    def finish_automation_tick(self, location: str, evaluation_id: int) -> AutomationCursor:
        def finish(conn: Connection) -> AutomationCursor:
            tick = check_automation_finish(_cursor(conn, location), evaluation_id)
            conn.execute(
                sa.update(automation_cursors)
                .where(automation_cursors.c.location == location)
                .values(
                    evaluation_id=tick.evaluation_id,
                    timestamp=tick.timestamp,
                    state=tick.state,
                    pending=None,
                )
            )
            return AutomationCursor(location, tick.evaluation_id, tick.timestamp, tick.state)

        result: AutomationCursor = self._db.write(finish)
        return result

    def get_automation_evaluations(
        self,
        asset_key: AssetKey,
        *,
        limit: int = 10,
        before: tuple[str, int] | None = None,
    ) -> Sequence[AutomationEvaluationRecord]:
        table = automation_evaluations
        key = asset_key.to_user_string()
        query = (
            sa.select(table.c.body)
            .where(table.c.asset_key == key)
            .order_by(table.c.id.desc())
            .limit(max(limit, 0))
        )
        if before is not None:
            location, evaluation_id = before
            row_id = (
                sa.select(table.c.id)
                .where(
                    table.c.location == location,
                    table.c.evaluation_id == evaluation_id,
                    table.c.asset_key == key,
                )
                .scalar_subquery()
            )
            query = query.where(table.c.id < row_id)
        with self._db.read() as conn:
            return _records(conn.execute(query).scalars())

    def get_automation_ticks(
        self, location: str, *, limit: int = 10, before: int | None = None
    ) -> Sequence[AutomationTickRecord]:
        table = automation_evaluations
        ids = (
            sa.select(table.c.evaluation_id)
            .where(table.c.location == location)
            .group_by(table.c.evaluation_id)
            .order_by(table.c.evaluation_id.desc())
            .limit(max(limit, 0))
        )
        if before is not None:
            ids = ids.where(table.c.evaluation_id < before)
        with self._db.read() as conn:
            wanted = list(conn.execute(ids).scalars())
            if not wanted:
                return []
            rows = conn.execute(
                sa.select(table.c.body)
                .where(table.c.location == location, table.c.evaluation_id.in_(wanted))
                .order_by(table.c.id)
            ).scalars()
            records = _records(rows)
        return ticks_of(location, wanted, records)

    def get_latest_materialization_ids(
        self, asset_keys: Sequence[AssetKey]
    ) -> Mapping[AssetKey, tuple[int, str]]:
        by_string = {key.to_user_string(): key for key in asset_keys}
        out: dict[AssetKey, tuple[int, str]] = {}
        with self._db.read() as conn:
            for part in chunks(list(by_string)):
                query = (
                    sa.select(assets.c.asset_key, events.c.id, events.c.run_id)
                    .join(events, events.c.id == assets.c.last_materialization_id)
                    .where(assets.c.asset_key.in_(part))
                )
                for key, storage_id, run_id in conn.execute(query):
                    out[by_string[key]] = (int(storage_id), run_id)
        return out


def _records(bodies: Iterable[str]) -> list[AutomationEvaluationRecord]:
    out = []
    for body in bodies:
        try:
            out.append(deserialize(body, AutomationEvaluationRecord))
        except SerializationError:
            continue  # written by a newer knoll
    return out


def _cursor(conn: Connection, location: str) -> AutomationCursor:
    row = conn.execute(
        sa.select(automation_cursors).where(automation_cursors.c.location == location)
    ).one_or_none()
    if row is None:
        return AutomationCursor(location)
    pending = deserialize(row.pending, AutomationTick) if row.pending else None
    return AutomationCursor(location, row.evaluation_id, row.timestamp, row.state, pending)
