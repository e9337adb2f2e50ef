"""Reads of the asset index: what is known about each asset without scanning the event log.

Every query here is an index lookup: the latest materialization of many assets is one join,
the status of an asset's 100,000 partitions is one range scan of a primary key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from knoll._serdes import deserialize
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.execution.events import EventType, RunEvent
from knoll.storage.base import (
    AssetRecord,
    EventLogStorage,
    EventRecord,
    EventWindow,
    PartitionStatus,
)
from knoll.storage.sql.common import chunks, event_window
from knoll.storage.sql.engine import Database
from knoll.storage.sql.schema import asset_checks, asset_partitions, assets, events

_STATUS_BY_VALUE = {status.value: status for status in PartitionStatus}
# Built once: constructing the statement costs more than SQLite answering it.
_LATEST_ONE = (
    sa.select(assets.c.asset_key, events.c.id, events.c.body)
    .join(events, events.c.id == assets.c.last_materialization_id)
    .where(assets.c.asset_key == sa.bindparam("key"))
)

_SEPARATOR = "\x1f"  # ASCII unit separator: not expected in partition keys (checked anyway)


class SqlAssetIndex(EventLogStorage):
    """The asset-index reads of ``EventLogStorage`` on a SQL database."""

    _db: Database

    def get_asset_events(  # noqa: PLR0913 (one window, several bounds)
        self,
        event_type: EventType,
        asset_key: AssetKey,
        *,
        partitions: Sequence[str] | None = None,
        after: int | None = None,
        before: int | None = None,
        after_timestamp: float | None = None,
        before_timestamp: float | None = None,
        limit: int = 100,
        newest_first: bool = True,
    ) -> Sequence[EventRecord]:
        # a range of ix_events_asset_key_event_type_id, walked either way
        query = sa.select(events.c.id, events.c.body).where(
            events.c.asset_key == asset_key.to_user_string(),
            events.c.event_type == event_type.value,
        )
        if partitions is not None:
            query = query.where(events.c.partition.in_(list(partitions)))
        window = EventWindow(after, before, after_timestamp, before_timestamp, newest_first)
        query = event_window(query, events, window, limit)
        with self._db.read() as conn:
            return [_event_record(row) for row in conn.execute(query)]

    def get_asset_records(
        self, asset_keys: Sequence[AssetKey] | None = None
    ) -> Sequence[AssetRecord]:
        with self._db.read() as conn:
            if asset_keys is None:
                rows = list(conn.execute(sa.select(assets)))
                wanted = sorted(AssetKey.from_user_string(row.asset_key) for row in rows)
            else:
                wanted = list(dict.fromkeys(asset_keys))
                rows = []
                for part in chunks([k.to_user_string() for k in wanted]):
                    rows.extend(conn.execute(sa.select(assets).where(assets.c.asset_key.in_(part))))
            by_key = {row.asset_key: row for row in rows}
            event_ids = [
                storage_id
                for row in rows
                for storage_id in (row.last_materialization_id, row.last_observation_id)
                if storage_id is not None
            ]
            stored = _events_by_id(conn, event_ids)
            checks = _check_results(conn, list(by_key))
        out: list[AssetRecord] = []
        for key in wanted:
            row = by_key.get(key.to_user_string())
            if row is None:
                continue
            out.append(
                AssetRecord(
                    asset_key=key,
                    last_materialization=stored.get(row.last_materialization_id),
                    last_run_id=row.last_run_id,
                    materialization_count=int(row.materialization_count),
                    last_observation=stored.get(row.last_observation_id),
                    check_results=checks.get(row.asset_key, {}),
                )
            )
        return out

    def get_latest_materializations(
        self, asset_keys: Sequence[AssetKey]
    ) -> Mapping[AssetKey, EventRecord]:
        by_string = {key.to_user_string(): key for key in asset_keys}
        out: dict[AssetKey, EventRecord] = {}
        with self._db.read() as conn:
            for part in chunks(list(by_string)):
                query = (
                    sa.select(assets.c.asset_key, events.c.id, events.c.body)
                    .join(events, events.c.id == assets.c.last_materialization_id)
                    .where(assets.c.asset_key.in_(part))
                )
                for row in conn.execute(query):
                    out[by_string[row.asset_key]] = _event_record(row)
        return out

    def get_latest_materialization(self, asset_key: AssetKey) -> EventRecord | None:
        with self._db.read() as conn:
            row = conn.execute(_LATEST_ONE, {"key": asset_key.to_user_string()}).first()
        return _event_record(row) if row is not None else None

    def get_partition_status(self, asset_key: AssetKey) -> Mapping[str, PartitionStatus]:
        # One range scan that joins each status's keys into one string: 100,000 partitions
        # come back as three strings instead of 100,000 rows, several times faster to read.
        of_asset = asset_partitions.c.asset_key == asset_key.to_user_string()
        join = sa.func.string_agg if self._db.dialect == "postgresql" else sa.func.group_concat
        statuses = [s for s in PartitionStatus if s is not PartitionStatus.MISSING]
        query = sa.select(
            sa.func.count(),
            *(
                join(asset_partitions.c.partition, _SEPARATOR).filter(
                    asset_partitions.c.status == s.value
                )
                for s in statuses
            ),
        ).where(of_asset)
        out: dict[str, PartitionStatus] = {}
        with self._db.read() as conn:
            count, *joined = conn.execute(query).one()
            for status, keys in zip(statuses, joined, strict=True):
                if keys is not None:
                    out.update(dict.fromkeys(keys.split(_SEPARATOR), status))
            if len(out) != count:
                # A key holds the separator itself: read row by row instead.
                rows = conn.execute(
                    sa.select(asset_partitions.c.partition, asset_partitions.c.status).where(
                        of_asset
                    )
                )
                out = {partition: _STATUS_BY_VALUE[value] for partition, value in rows}
        return out

    def get_latest_check_results(
        self, check_keys: Sequence[AssetCheckKey]
    ) -> Mapping[AssetCheckKey, AssetCheckEvaluation]:
        wanted = {(k.asset_key.to_user_string(), k.name): k for k in check_keys}
        with self._db.read() as conn:
            results = _check_results(conn, list(dict.fromkeys(a for a, _ in wanted)))
        out: dict[AssetCheckKey, AssetCheckEvaluation] = {}
        for (asset_key, name), check_key in wanted.items():
            evaluation = results.get(asset_key, {}).get(name)
            if evaluation is not None:
                out[check_key] = evaluation
        return out


def _event_record(row: Any) -> EventRecord:
    return EventRecord(int(row.id), deserialize(row.body, RunEvent))


def _events_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, EventRecord]:
    out: dict[int, EventRecord] = {}
    for part in chunks(sorted(set(ids))):
        for row in conn.execute(sa.select(events.c.id, events.c.body).where(events.c.id.in_(part))):
            out[int(row.id)] = _event_record(row)
    return out


def _check_results(
    conn: Connection, asset_keys: Sequence[str]
) -> dict[str, dict[str, AssetCheckEvaluation]]:
    """The latest evaluation of every check of these assets, by asset and check name."""
    out: dict[str, dict[str, AssetCheckEvaluation]] = {}
    for part in chunks(asset_keys):
        query = (
            sa.select(asset_checks.c.asset_key, asset_checks.c.check_name, events.c.body)
            .join(events, events.c.id == asset_checks.c.last_evaluation_id)
            .where(asset_checks.c.asset_key.in_(part))
        )
        for row in conn.execute(query):
            data = deserialize(row.body, RunEvent).data
            if isinstance(data, AssetCheckEvaluation):
                out.setdefault(row.asset_key, {})[row.check_name] = data
    return out
