"""The event log in SQL: append in batches, read by run or by cursor, prune, delete a run.

``store_events`` writes a batch in one transaction and, in that same transaction, moves the
runs' statuses (through the state machine) and updates the asset index (``index.py`` reads
it). On PostgreSQL the transaction first takes the event-log lock, so that ids become
visible in id order and a reader tailing by cursor never skips an event (docs/storage.md).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from knoll._serdes import deserialize, serialize
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.execution.events import AssetPlannedData, EventType, RunEvent
from knoll.execution.run import RunStatus, check_transition
from knoll.storage.base import (
    ASSET_HISTORY_EVENTS,
    RUN_STATUS_BY_EVENT,
    EventLogStorage,
    EventRecord,
    EventsPage,
    EventWindow,
    PartitionStatus,
)
from knoll.storage.sql.common import chunks, event_window, lock_event_log
from knoll.storage.sql.engine import Database
from knoll.storage.sql.runs import moved_values
from knoll.storage.sql.schema import (
    asset_check_partitions,
    asset_checks,
    asset_partitions,
    assets,
    events,
    run_assets,
    run_tags,
    runs,
    step_plans,
)

# Events that the asset index is built from (delete_run rebuilds it from those left).
_INDEXED_EVENTS = (
    EventType.ASSET_MATERIALIZATION_PLANNED.value,
    EventType.ASSET_MATERIALIZATION.value,
    EventType.ASSET_OBSERVATION.value,
    EventType.ASSET_CHECK_EVALUATION.value,
)

_MATERIALIZATION = EventType.ASSET_MATERIALIZATION.value
_IN_PROGRESS = PartitionStatus.IN_PROGRESS.value


class SqlEventLogStorage(EventLogStorage):
    """The event log part of ``EventLogStorage`` on a SQL database (reads of the asset index
    are in ``index.py``)."""

    _db: Database

    def write_events(self, events: Sequence[RunEvent]) -> None:
        """Store events handed over by an executor (the storage is an ``EventSink``)."""
        self.store_events(events)

    def store_events(self, events: Sequence[RunEvent]) -> None:
        if not events:
            return
        # Serialised first: an event that cannot be written is refused before anything changes.
        rows = [_event_row(event) for event in events]
        self._db.write(lambda conn: append_events(self._db, conn, events, rows))

    def get_events_for_run(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int | None = None,
        of_types: Sequence[EventType] | None = None,
        step_key: str | None = None,
    ) -> EventsPage:
        query = sa.select(events.c.id, events.c.body).where(
            events.c.run_id == run_id, events.c.id > after
        )
        if of_types is not None:
            query = query.where(events.c.event_type.in_([t.value for t in of_types]))
        if step_key is not None:
            query = query.where(events.c.step_key == step_key)
        return self._page(query, after, limit)

    def tail_events(self, *, after: int = 0, limit: int = 1000) -> EventsPage:
        query = sa.select(events.c.id, events.c.body).where(events.c.id > after)
        return self._page(query, after, limit)

    def last_event_id(self) -> int:
        with self._db.read() as conn:
            found = conn.execute(sa.select(sa.func.max(events.c.id))).scalar()
        return int(found) if found is not None else 0

    def get_events_of_type(
        self,
        event_type: EventType,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
        after_timestamp: float | None = None,
        before_timestamp: float | None = None,
    ) -> Sequence[EventRecord]:
        # a range of ix_events_event_type_id, walked either way
        query = sa.select(events.c.id, events.c.body).where(events.c.event_type == event_type.value)
        window = EventWindow(after, before, after_timestamp, before_timestamp, newest_first)
        query = event_window(query, events, window, limit)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [EventRecord(int(r.id), deserialize(r.body, RunEvent)) for r in rows]

    def _page(self, query: sa.Select[Any], after: int, limit: int | None) -> EventsPage:
        query = query.order_by(events.c.id)
        if limit is not None:
            query = query.limit(max(limit, 0) + 1)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        more = limit is not None and len(rows) > limit
        if limit is not None:
            rows = rows[: max(limit, 0)]
        records = [EventRecord(int(r.id), deserialize(r.body, RunEvent)) for r in rows]
        cursor = records[-1].storage_id if records else after
        return EventsPage(records=records, cursor=cursor, has_more=more)

    def prune_run_events(self, run_ids: Sequence[str]) -> int:
        unique = list(dict.fromkeys(run_ids))
        kept = [t.value for t in ASSET_HISTORY_EVENTS]

        def prune(conn: Connection) -> int:
            deleted = 0
            for part in chunks(unique):
                result = conn.execute(
                    sa.delete(events).where(
                        events.c.run_id.in_(part), events.c.event_type.not_in(kept)
                    )
                )
                deleted += result.rowcount
            return deleted

        return self._db.write(prune) if unique else 0

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its events, and what the asset index held because of them."""
        self._db.write(lambda conn: _delete_run(self._db, conn, run_id))


# ---- the write path -------------------------------------------------------------------------


def _event_row(event: RunEvent) -> dict[str, Any]:
    key = event.asset_key
    partition = event.partition
    return {
        "run_id": event.run_id,
        "event_type": event.event_type.value,
        "step_key": event.step_key,
        "asset_key": key.to_user_string() if key is not None else None,
        "partition": partition if isinstance(partition, str) else None,
        "timestamp": event.timestamp,
        "body": serialize(event),
    }


def append_events(
    db: Database, conn: Connection, batch: Sequence[RunEvent], rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Append ``batch`` (``rows`` are their ``_event_row``s) inside the caller's transaction:
    take the event-log lock, move run statuses, insert, update the asset index. Returns the
    new storage ids in order."""
    lock_event_log(db, conn)
    _move_runs(conn, batch)
    result = conn.execute(
        sa.insert(events).returning(events.c.id, sort_by_parameter_order=True), list(rows)
    )
    ids = [int(storage_id) for storage_id in result.scalars()]
    index = _IndexWriter(db, conn)
    for storage_id, event in zip(ids, batch, strict=True):
        index.add(storage_id, event)
    index.flush()
    return ids


def _move_runs(conn: Connection, batch: Sequence[RunEvent]) -> None:
    """Apply the batch's run events to the runs' statuses; an illegal move raises
    ``RunStatusError`` and the transaction (the whole batch) rolls back."""
    moves = [
        (e, RUN_STATUS_BY_EVENT[e.event_type]) for e in batch if e.event_type in RUN_STATUS_BY_EVENT
    ]
    if not moves:
        return
    run_ids = list(dict.fromkeys(e.run_id for e, _ in moves))
    states: dict[str, dict[str, Any]] = {}
    for part in chunks(run_ids):
        for row in conn.execute(
            sa.select(runs.c.run_id, runs.c.status, runs.c.update_timestamp)
            .where(runs.c.run_id.in_(part))
            .with_for_update()
        ):
            states[row.run_id] = {"status": row.status, "update_timestamp": row.update_timestamp}
    original = {run_id: state["status"] for run_id, state in states.items()}
    for event, status in moves:
        state = states.get(event.run_id)
        if state is None:
            continue  # events of a run that was never stored (an in-process run) move nothing
        check_transition(event.run_id, RunStatus(state["status"]), status)
        state.update(moved_values(status, event.timestamp, state["update_timestamp"]))
    for run_id, state in states.items():
        if state["status"] != original[run_id]:
            conn.execute(
                sa.update(runs)
                .where(runs.c.run_id == run_id, runs.c.status == original[run_id])
                .values(**state)
            )


def _merge(old: dict[str, Any] | None, new: dict[str, Any], keep: Sequence[str]) -> dict[str, Any]:
    """``new``, keeping ``old``'s value of each ``keep`` column that ``new`` leaves None."""
    if old is not None:
        for column in keep:
            if new[column] is None:
                new[column] = old[column]
    return new


class _IndexWriter:
    """Collects a batch's index changes and writes them with one statement per table.

    Changes that depend on what is stored (a step failure fails the partitions its step
    planned and still holds) flush the collected ones first, so they see every earlier event.
    """

    def __init__(self, db: Database, conn: Connection) -> None:
        self._db = db
        self._conn = conn
        self._now = time.time()
        self._assets: dict[str, dict[str, Any]] = {}
        self._partitions: dict[tuple[str, str], dict[str, Any]] = {}
        self._plans: list[dict[str, Any]] = []
        self._checks: dict[tuple[str, str], dict[str, Any]] = {}
        self._check_partitions: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(self, storage_id: int, event: RunEvent) -> None:
        kind = event.event_type
        run_id = event.run_id
        if kind is EventType.STEP_FAILURE:
            self.flush()
            self._fail_held(run_id, storage_id, only_step=True, step_key=event.step_key)
            return
        if kind in (EventType.RUN_FAILURE, EventType.RUN_CANCELED):
            self.flush()
            self._fail_held(run_id, storage_id, only_step=False, step_key=None)
            self._drop_plans(run_id)
            return
        if kind is EventType.RUN_SUCCESS:
            self.flush()
            self._settle_held(run_id)
            self._drop_plans(run_id)
            return
        if event.asset_key is not None:
            self._add_asset_event(storage_id, event, event.asset_key.to_user_string())

    def _add_asset_event(self, storage_id: int, event: RunEvent, asset_key: str) -> None:
        kind = event.event_type
        data = event.data
        run_id = event.run_id
        if kind is EventType.ASSET_MATERIALIZATION_PLANNED and isinstance(data, AssetPlannedData):
            self._add_planned(storage_id, event, asset_key, data)
        elif kind is EventType.ASSET_MATERIALIZATION and isinstance(data, AssetMaterialization):
            self._asset(asset_key, last_materialization_id=storage_id, last_run_id=run_id, count=1)
            if data.partition is not None:
                materialized = PartitionStatus.MATERIALIZED.value
                self._partition(
                    asset_key, data.partition, materialized, storage_id, run_id, storage_id
                )
        elif kind is EventType.ASSET_OBSERVATION and isinstance(data, AssetObservation):
            self._asset(asset_key, last_observation_id=storage_id)
        elif kind is EventType.ASSET_CHECK_EVALUATION and isinstance(data, AssetCheckEvaluation):
            self._add_check(storage_id, run_id, asset_key, data)

    def _add_planned(
        self, storage_id: int, event: RunEvent, asset_key: str, data: AssetPlannedData
    ) -> None:
        run_id = event.run_id
        self._asset(asset_key, last_run_id=run_id)
        if data.partition is not None:
            self._partition(asset_key, data.partition, _IN_PROGRESS, storage_id, run_id, None)
        if data.partition is not None or data.partition_range_start is not None:
            # A range names no keys without its partitions definition: it is recorded,
            # but only single partitions are tracked as in progress.
            self._plans.append(
                {
                    "run_id": run_id,
                    "step_key": event.step_key,
                    "asset_key": asset_key,
                    "partition": data.partition,
                    "partition_range_start": data.partition_range_start,
                    "partition_range_end": data.partition_range_end,
                }
            )

    def _add_check(
        self, storage_id: int, run_id: str, asset_key: str, data: AssetCheckEvaluation
    ) -> None:
        self._asset(asset_key)
        row = {
            "asset_key": asset_key,
            "check_name": data.check_name,
            "last_evaluation_id": storage_id,
            "last_run_id": run_id,
            "passed": data.passed,
            "severity": data.severity.value,
        }
        self._checks[(asset_key, data.check_name)] = row
        if data.partition is not None:
            self._check_partitions[(asset_key, data.check_name, data.partition)] = {
                **row,
                "partition": data.partition,
            }

    def _asset(
        self,
        asset_key: str,
        *,
        last_materialization_id: int | None = None,
        last_run_id: str | None = None,
        count: int = 0,
        last_observation_id: int | None = None,
    ) -> None:
        old = self._assets.get(asset_key)
        new = {
            "asset_key": asset_key,
            "last_materialization_id": last_materialization_id,
            "last_run_id": last_run_id,
            "materialization_count": count + (old["materialization_count"] if old else 0),
            "last_observation_id": last_observation_id,
            "update_timestamp": self._now,
        }
        keep = ("last_materialization_id", "last_run_id", "last_observation_id")
        self._assets[asset_key] = _merge(old, new, keep)

    def _partition(
        self,
        asset_key: str,
        partition: str,
        status: str,
        storage_id: int,
        run_id: str,
        last_materialization_id: int | None,
    ) -> None:
        key = (asset_key, partition)
        new = {
            "asset_key": asset_key,
            "partition": partition,
            "status": status,
            "last_event_id": storage_id,
            "last_run_id": run_id,
            "last_materialization_id": last_materialization_id,
        }
        self._partitions[key] = _merge(self._partitions.get(key), new, ("last_materialization_id",))

    def flush(self) -> None:
        conn = self._conn
        dialect = self._db.dialect
        if self._assets:
            conn.execute(_assets_upsert(dialect), list(self._assets.values()))
            self._assets.clear()
        if self._partitions:
            conn.execute(_partitions_upsert(dialect), list(self._partitions.values()))
            self._partitions.clear()
        if self._plans:
            conn.execute(sa.insert(step_plans), self._plans)
            self._plans = []
        for table, pending in (
            (asset_checks, self._checks),
            (asset_check_partitions, self._check_partitions),
        ):
            if pending:
                conn.execute(_checks_upsert(dialect, table.name), list(pending.values()))
                pending.clear()

    def _held(
        self, run_id: str, *, only_step: bool, step_key: str | None
    ) -> sa.ColumnElement[bool]:
        """Partitions that ``run_id`` (that step of it) planned and still holds in progress."""
        planned = sa.select(step_plans.c.asset_key, step_plans.c.partition).where(
            step_plans.c.run_id == run_id, step_plans.c.partition.is_not(None)
        )
        if only_step:
            planned = planned.where(step_plans.c.step_key.is_not_distinct_from(step_key))
        return sa.and_(
            asset_partitions.c.status == _IN_PROGRESS,
            asset_partitions.c.last_run_id == run_id,
            sa.tuple_(asset_partitions.c.asset_key, asset_partitions.c.partition).in_(planned),
        )

    def _fail_held(
        self, run_id: str, storage_id: int, *, only_step: bool, step_key: str | None
    ) -> None:
        self._conn.execute(
            sa.update(asset_partitions)
            .where(self._held(run_id, only_step=only_step, step_key=step_key))
            .values(status=PartitionStatus.FAILED.value, last_event_id=storage_id)
        )

    def _settle_held(self, run_id: str) -> None:
        # A run that succeeded without writing a planned partition (an optional output)
        # leaves it materialized if it ever was, and missing otherwise.
        held = self._held(run_id, only_step=False, step_key=None)
        self._conn.execute(
            sa.update(asset_partitions)
            .where(held, asset_partitions.c.last_materialization_id.is_not(None))
            .values(status=PartitionStatus.MATERIALIZED.value)
        )
        self._conn.execute(
            sa.delete(asset_partitions).where(
                held, asset_partitions.c.last_materialization_id.is_(None)
            )
        )

    def _drop_plans(self, run_id: str) -> None:
        self._conn.execute(sa.delete(step_plans).where(step_plans.c.run_id == run_id))


# ---- deleting a run -------------------------------------------------------------------------


def _delete_run(db: Database, conn: Connection, run_id: str) -> None:
    lock_event_log(db, conn)
    touched: set[str] = set()
    for query in (
        sa.select(events.c.asset_key)
        .where(events.c.run_id == run_id, events.c.asset_key.is_not(None))
        .distinct(),
        sa.select(step_plans.c.asset_key).where(step_plans.c.run_id == run_id).distinct(),
        sa.select(asset_partitions.c.asset_key)
        .where(asset_partitions.c.last_run_id == run_id)
        .distinct(),
        sa.select(assets.c.asset_key).where(assets.c.last_run_id == run_id),
        sa.select(asset_checks.c.asset_key).where(asset_checks.c.last_run_id == run_id).distinct(),
    ):
        touched.update(conn.execute(query).scalars())
    for table in (events, step_plans, run_tags, run_assets, runs):
        conn.execute(sa.delete(table).where(table.c.run_id == run_id))
    for asset_key in sorted(touched):
        _rebuild_asset(conn, asset_key, run_id)


def _rebuild_asset(conn: Connection, asset_key: str, deleted_run_id: str) -> None:
    """Recompute one asset's index rows from its remaining events (after a run was deleted)."""
    of_asset = events.c.asset_key == asset_key

    def latest(*types: str) -> Any:
        return conn.execute(
            sa.select(events.c.id, events.c.run_id)
            .where(of_asset, events.c.event_type.in_(types))
            .order_by(events.c.id.desc())
            .limit(1)
        ).one_or_none()

    if latest(*_INDEXED_EVENTS) is None:
        for table in (assets, asset_partitions, asset_checks, asset_check_partitions):
            conn.execute(sa.delete(table).where(table.c.asset_key == asset_key))
        return

    last_materialization = latest(_MATERIALIZATION)
    last_planned_or_materialized = latest(
        EventType.ASSET_MATERIALIZATION_PLANNED.value, _MATERIALIZATION
    )
    last_observation = latest(EventType.ASSET_OBSERVATION.value)
    count = conn.execute(
        sa.select(sa.func.count()).where(of_asset, events.c.event_type == _MATERIALIZATION)
    ).scalar_one()
    conn.execute(sa.delete(assets).where(assets.c.asset_key == asset_key))
    conn.execute(
        sa.insert(assets),
        {
            "asset_key": asset_key,
            "last_materialization_id": last_materialization.id if last_materialization else None,
            "last_run_id": last_planned_or_materialized.run_id
            if last_planned_or_materialized
            else None,
            "materialization_count": count,
            "last_observation_id": last_observation.id if last_observation else None,
            "update_timestamp": time.time(),
        },
    )
    _rebuild_partitions(conn, asset_key, deleted_run_id)
    _rebuild_checks(conn, asset_key)


def _rebuild_partitions(conn: Connection, asset_key: str, deleted_run_id: str) -> None:
    newest = (
        sa.select(sa.func.max(events.c.id).label("id"))
        .where(
            events.c.asset_key == asset_key,
            events.c.event_type == _MATERIALIZATION,
            events.c.partition.is_not(None),
        )
        .group_by(events.c.partition)
        .subquery()
    )
    latest = {
        row.partition: row
        for row in conn.execute(
            sa.select(events.c.partition, events.c.id, events.c.run_id).join(
                newest, events.c.id == newest.c.id
            )
        )
    }
    for row in conn.execute(
        sa.select(
            asset_partitions.c.partition,
            asset_partitions.c.last_run_id,
            asset_partitions.c.last_materialization_id,
        ).where(asset_partitions.c.asset_key == asset_key)
    ).all():
        found = latest.get(row.partition)
        where = sa.and_(
            asset_partitions.c.asset_key == asset_key,
            asset_partitions.c.partition == row.partition,
        )
        if row.last_run_id == deleted_run_id:
            if found is None:
                conn.execute(sa.delete(asset_partitions).where(where))
            else:
                conn.execute(
                    sa.update(asset_partitions)
                    .where(where)
                    .values(
                        status=PartitionStatus.MATERIALIZED.value,
                        last_event_id=found.id,
                        last_run_id=found.run_id,
                        last_materialization_id=found.id,
                    )
                )
        else:
            still = found.id if found is not None else None
            if still != row.last_materialization_id:
                conn.execute(
                    sa.update(asset_partitions).where(where).values(last_materialization_id=still)
                )


def _rebuild_checks(conn: Connection, asset_key: str) -> None:
    latest: dict[str, dict[str, Any]] = {}
    latest_by_partition: dict[tuple[str, str], dict[str, Any]] = {}
    for row in conn.execute(
        sa.select(events.c.id, events.c.run_id, events.c.body)
        .where(
            events.c.asset_key == asset_key,
            events.c.event_type == EventType.ASSET_CHECK_EVALUATION.value,
        )
        .order_by(events.c.id)
    ):
        data = deserialize(row.body, RunEvent).data
        if not isinstance(data, AssetCheckEvaluation):
            continue
        values = {
            "asset_key": asset_key,
            "check_name": data.check_name,
            "last_evaluation_id": int(row.id),
            "last_run_id": row.run_id,
            "passed": data.passed,
            "severity": data.severity.value,
        }
        latest[data.check_name] = values
        if data.partition is not None:
            latest_by_partition[(data.check_name, data.partition)] = {
                **values,
                "partition": data.partition,
            }
    for table, rows in (
        (asset_checks, list(latest.values())),
        (asset_check_partitions, list(latest_by_partition.values())),
    ):
        conn.execute(sa.delete(table).where(table.c.asset_key == asset_key))
        if rows:
            conn.execute(sa.insert(table), rows)


# The upserts are built once per dialect: building one (its EXCLUDED alias above all) costs
# more than SQLite executing it, and every batch of events runs them.


def _insert(dialect: str, table: sa.Table) -> Any:
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


@functools.cache
def _assets_upsert(dialect: str) -> Any:
    insert = _insert(dialect, assets)
    return insert.on_conflict_do_update(
        index_elements=[assets.c.asset_key],
        set_={
            "last_materialization_id": sa.func.coalesce(
                insert.excluded.last_materialization_id, assets.c.last_materialization_id
            ),
            "last_run_id": sa.func.coalesce(insert.excluded.last_run_id, assets.c.last_run_id),
            "materialization_count": assets.c.materialization_count
            + insert.excluded.materialization_count,
            "last_observation_id": sa.func.coalesce(
                insert.excluded.last_observation_id, assets.c.last_observation_id
            ),
            "update_timestamp": insert.excluded.update_timestamp,
        },
    )


@functools.cache
def _partitions_upsert(dialect: str) -> Any:
    insert = _insert(dialect, asset_partitions)
    return insert.on_conflict_do_update(
        index_elements=[asset_partitions.c.asset_key, asset_partitions.c.partition],
        set_={
            "status": insert.excluded.status,
            "last_event_id": insert.excluded.last_event_id,
            "last_run_id": insert.excluded.last_run_id,
            "last_materialization_id": sa.func.coalesce(
                insert.excluded.last_materialization_id,
                asset_partitions.c.last_materialization_id,
            ),
        },
    )


@functools.cache
def _checks_upsert(dialect: str, table_name: str) -> Any:
    table = asset_checks if table_name == asset_checks.name else asset_check_partitions
    keys = ["asset_key", "check_name"] + (["partition"] if table is asset_check_partitions else [])
    insert = _insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=[table.c[c] for c in keys],
        set_={
            c: insert.excluded[c]
            for c in ("last_evaluation_id", "last_run_id", "passed", "severity")
        },
    )
