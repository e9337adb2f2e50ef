"""Schedules' and sensors' state, and their ticks, in SQL (used by the daemon)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll.errors import StorageError
from knoll.storage.base import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleStorage,
    Tick,
    TickStatus,
)
from knoll.storage.sql.common import dialect_insert
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import instigators, ticks


class SqlScheduleStorage(ScheduleStorage):
    """``ScheduleStorage`` on a SQL database (a part of ``SqlStorage``)."""

    _db: Database

    def get_instigator_state(self, location: str, name: str) -> InstigatorState | None:
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(instigators).where(
                    instigators.c.location == location, instigators.c.name == name
                )
            ).one_or_none()
        if row is None:
            return None
        return InstigatorState(
            location=row.location,
            name=row.name,
            instigator_type=InstigatorType(row.instigator_type),
            status=InstigatorStatus(row.status),
            cursor=row.cursor,
            updated_timestamp=row.update_timestamp,
        )

    def set_instigator_state(self, state: InstigatorState) -> None:
        row = {
            "location": state.location,
            "name": state.name,
            "instigator_type": state.instigator_type.value,
            "status": state.status.value,
            "cursor": state.cursor,
            "update_timestamp": state.updated_timestamp,
        }
        insert = dialect_insert(self._db, instigators)
        statement = insert.on_conflict_do_update(
            index_elements=[instigators.c.location, instigators.c.name],
            set_={
                c: insert.excluded[c]
                for c in ("instigator_type", "status", "cursor", "update_timestamp")
            },
        )
        self._db.write(lambda conn: conn.execute(statement, row))

    def create_tick(
        self,
        location: str,
        name: str,
        instigator_type: InstigatorType,
        timestamp: float,
    ) -> Tick:
        tick = Tick(
            tick_id=0,
            location=location,
            name=name,
            instigator_type=instigator_type,
            status=TickStatus.STARTED,
            timestamp=timestamp,
        )

        def insert(conn: Connection) -> int:
            statement = sa.insert(ticks).returning(ticks.c.id)
            return int(conn.execute(statement, _tick_row(tick)).scalar_one())

        tick_id = self._db.write(insert)
        return replace(tick, tick_id=tick_id)

    def update_tick(self, tick: Tick) -> Tick:
        stored = replace(tick, run_ids=tuple(tick.run_ids), run_keys=tuple(tick.run_keys))

        def update(conn: Connection) -> int:
            statement = sa.update(ticks).where(ticks.c.id == tick.tick_id)
            return conn.execute(statement.values(**_tick_row(stored))).rowcount

        if self._db.write(update) != 1:
            raise StorageError(
                f"cannot update tick {tick.tick_id} of {tick.name!r}: it is not in storage. "
                "Update a tick that create_tick() returned."
            )
        return stored

    def get_ticks(self, location: str, name: str, *, limit: int = 100) -> Sequence[Tick]:
        query = (
            sa.select(ticks)
            .where(ticks.c.location == location, ticks.c.name == name)
            .order_by(ticks.c.timestamp.desc(), ticks.c.id.desc())
            .limit(max(limit, 0))
        )
        with self._db.read() as conn:
            return [_tick(row) for row in conn.execute(query)]


def _tick_row(tick: Tick) -> dict[str, Any]:
    body = {
        "run_ids": list(tick.run_ids),
        "run_keys": list(tick.run_keys),
        "skip_reason": tick.skip_reason,
        "error": tick.error,
        "cursor": tick.cursor,
    }
    return {
        "location": tick.location,
        "name": tick.name,
        "instigator_type": tick.instigator_type.value,
        "status": tick.status.value,
        "timestamp": tick.timestamp,
        "body": json.dumps(body, separators=(",", ":")),
    }


def _tick(row: Any) -> Tick:
    body = json.loads(row.body)
    return Tick(
        tick_id=int(row.id),
        location=row.location,
        name=row.name,
        instigator_type=InstigatorType(row.instigator_type),
        status=TickStatus(row.status),
        timestamp=row.timestamp,
        run_ids=tuple(body["run_ids"]),
        run_keys=tuple(body["run_keys"]),
        skip_reason=body["skip_reason"],
        error=body["error"],
        cursor=body["cursor"],
    )
