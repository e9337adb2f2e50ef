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
        return None if row is None else _state(row)

    def get_instigator_states(
        self, instigator_type: InstigatorType | None = None
    ) -> Sequence[InstigatorState]:
        query = sa.select(instigators).order_by(instigators.c.location, instigators.c.name)
        if instigator_type is not None:
            query = query.where(instigators.c.instigator_type == instigator_type.value)
        with self._db.read() as conn:
            return [_state(row) for row in conn.execute(query)]

    def set_instigator_state(self, state: InstigatorState) -> None:
        self._db.write(lambda conn: _upsert_state(self._db, conn, state))

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

    def claim_tick(
        self,
        location: str,
        name: str,
        instigator_type: InstigatorType,
        tick_key: str,
        timestamp: float,
    ) -> Tick:
        new = Tick(
            0, location, name, instigator_type, TickStatus.STARTED, timestamp, tick_key=tick_key
        )
        where = (ticks.c.location == location, ticks.c.name == name, ticks.c.tick_key == tick_key)

        def claim(conn: Connection) -> Tick:
            row = conn.execute(sa.select(ticks).where(*where)).one_or_none()
            if row is not None:
                return _tick(row)
            tick_id = conn.execute(sa.insert(ticks).returning(ticks.c.id), _tick_row(new))
            return replace(new, tick_id=int(tick_id.scalar_one()))

        try:
            return self._db.write(claim)
        except sa.exc.IntegrityError:  # another daemon claimed it between our read and insert
            with self._db.read() as conn:
                return _tick(conn.execute(sa.select(ticks).where(*where)).one())

    def record_tick_evaluation(self, tick_id: int, evaluation: str) -> str:
        def record(conn: Connection) -> str | None:
            conn.execute(
                sa.update(ticks)
                .where(ticks.c.id == tick_id, ticks.c.evaluation.is_(None))
                .values(evaluation=evaluation)
            )
            return conn.execute(
                sa.select(ticks.c.evaluation).where(ticks.c.id == tick_id)
            ).scalar_one_or_none()

        recorded = self._db.write(record)
        if recorded is None:
            raise StorageError(
                f"cannot record the evaluation of tick {tick_id}: it is not in storage. Record "
                "the evaluation of a tick that claim_tick() returned."
            )
        return recorded

    def update_tick(self, tick: Tick, *, state: InstigatorState | None = None) -> Tick:
        stored = replace(tick, run_ids=tuple(tick.run_ids), run_keys=tuple(tick.run_keys))

        def update(conn: Connection) -> int:
            statement = sa.update(ticks).where(ticks.c.id == tick.tick_id)
            count = conn.execute(statement.values(**_tick_row(stored))).rowcount
            if count == 1 and state is not None:
                _upsert_state(self._db, conn, state, keep_status=True)
            return count

        if self._db.write(update) != 1:
            raise StorageError(
                f"cannot update tick {tick.tick_id} of {tick.name!r}: it is not in storage. "
                "Update a tick that create_tick() returned."
            )
        return stored

    def get_ticks(
        self,
        location: str,
        name: str,
        *,
        limit: int = 100,
        before: tuple[float, int] | None = None,
    ) -> Sequence[Tick]:
        query = (
            sa.select(ticks)
            .where(ticks.c.location == location, ticks.c.name == name)
            .order_by(ticks.c.timestamp.desc(), ticks.c.id.desc())
            .limit(max(limit, 0))
        )
        if before is not None:
            stamp, tick_id = before
            query = query.where(
                sa.or_(
                    ticks.c.timestamp < stamp,
                    sa.and_(ticks.c.timestamp == stamp, ticks.c.id < tick_id),
                )
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
        "started_timestamp": tick.started_timestamp,
        "end_timestamp": tick.end_timestamp,
    }
    return {
        "location": tick.location,
        "name": tick.name,
        "instigator_type": tick.instigator_type.value,
        "status": tick.status.value,
        "timestamp": tick.timestamp,
        "body": json.dumps(body, separators=(",", ":")),
        "tick_key": tick.tick_key,
        "evaluation": tick.evaluation,
    }


def _upsert_state(
    db: Database, conn: Connection, state: InstigatorState, *, keep_status: bool = False
) -> None:
    """Store ``state``; with ``keep_status`` a stored state keeps its status (a user may
    have started or stopped the instigator meanwhile) and only its cursor changes."""
    row = {
        "location": state.location,
        "name": state.name,
        "instigator_type": state.instigator_type.value,
        "status": state.status.value,
        "cursor": state.cursor,
        "update_timestamp": state.updated_timestamp,
    }
    insert = dialect_insert(db, instigators)
    statement = insert.on_conflict_do_update(
        index_elements=[instigators.c.location, instigators.c.name],
        set_={
            c: insert.excluded[c]
            for c in ("instigator_type", "status", "cursor", "update_timestamp")
            if not (keep_status and c == "status")
        },
    )
    conn.execute(statement, row)


def _state(row: Any) -> InstigatorState:
    return InstigatorState(
        location=row.location,
        name=row.name,
        instigator_type=InstigatorType(row.instigator_type),
        status=InstigatorStatus(row.status),
        cursor=row.cursor,
        updated_timestamp=row.update_timestamp,
    )


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
        tick_key=row.tick_key,
        evaluation=row.evaluation,
        started_timestamp=body.get("started_timestamp"),
        end_timestamp=body.get("end_timestamp"),
    )
