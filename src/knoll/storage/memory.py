"""Storage held in this process's memory: for tests and ephemeral instances.

``InMemoryStorage`` implements every storage interface with the same semantics as the SQL
backend (the conformance suites under ``tests/storage/conformance`` hold both to them). One
lock guards everything, so a batch of events and the index updates it causes are one atomic
step, as a transaction is in SQL. Runs and events go through versioned JSON on the way in,
so what the SQL backend could not store is refused here too, and a caller that changes what
it passed in does not change what was stored.
"""

from __future__ import annotations

import json
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from knoll._serdes import deserialize, serialize
from knoll._utils import check_tags
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.errors import InvalidInvocationError, StorageError
from knoll.execution.events import AssetPlannedData, EventType, RunEvent
from knoll.execution.run import Run, RunStatus
from knoll.storage.base import (
    ASSET_HISTORY_EVENTS,
    IN_PROGRESS_STATUSES,
    RUN_STATUS_BY_EVENT,
    AssetRecord,
    Backfill,
    BackfillStatus,
    EventRecord,
    EventsPage,
    InstigatorState,
    InstigatorType,
    PartitionStatus,
    RunRecord,
    RunsFilter,
    RunsPage,
    SlotLease,
    Storage,
    Tick,
    TickStatus,
    check_lease_seconds,
    check_pool_limit,
    run_priority,
)


@dataclass(frozen=True)
class _Window:
    """Exclusive storage-id and timestamp bounds of a read, and its direction."""

    after: int | None
    before: int | None
    after_timestamp: float | None
    before_timestamp: float | None
    newest_first: bool

    def holds(self, stamp: float) -> bool:
        return (self.after_timestamp is None or stamp > self.after_timestamp) and (
            self.before_timestamp is None or stamp < self.before_timestamp
        )


@dataclass
class _AssetEntry:
    """The mutable index row of one asset."""

    last_materialization: EventRecord | None = None
    last_run_id: str | None = None
    materialization_count: int = 0
    last_observation: EventRecord | None = None
    checks: dict[str, AssetCheckEvaluation] = field(default_factory=dict)

    def to_record(self, key: AssetKey) -> AssetRecord:
        return AssetRecord(
            asset_key=key,
            last_materialization=self.last_materialization,
            last_run_id=self.last_run_id,
            materialization_count=self.materialization_count,
            last_observation=self.last_observation,
            check_results=dict(self.checks),
        )


@dataclass
class _PartitionEntry:
    """One partition's status, the run whose event set it, and whether it was ever written."""

    status: PartitionStatus
    run_id: str
    materialized: bool = False


class InMemoryStorage(Storage):
    """Every storage interface in one process, thread-safe; nothing survives the process."""

    def __init__(self) -> None:
        # Re-entrant: write_events calls store_events, dispose may be called under the lock.
        self._lock = threading.RLock()
        # runs
        self._runs: dict[str, RunRecord] = {}
        self._run_seq = 0
        # events: by storage id, plus the ids in order (all, per run, per asset)
        self._events: dict[int, EventRecord] = {}
        self._event_ids: list[int] = []
        self._event_seq = 0
        self._run_event_ids: dict[str, list[int]] = {}
        self._asset_event_ids: dict[AssetKey, list[int]] = {}
        self._type_event_ids: dict[EventType, list[int]] = {}
        self._materialization_ids: dict[AssetKey, list[int]] = {}
        # the asset index
        self._assets: dict[AssetKey, _AssetEntry] = {}
        self._partitions: dict[AssetKey, dict[str, _PartitionEntry]] = {}
        # per unfinished run: step key -> the (asset, partition) pairs the step planned
        self._plans: dict[str, dict[str | None, list[tuple[AssetKey, str]]]] = {}
        # schedules, backfills, dynamic partitions, key-value
        self._instigators: dict[tuple[str, str], InstigatorState] = {}
        self._ticks: dict[int, Tick] = {}
        self._tick_seq = 0
        self._backfills: dict[str, Backfill] = {}
        self._dynamic: dict[str, dict[str, None]] = {}
        self._kv: dict[str, str] = {}
        # the dequeue lease (owner, expires at), pool limits and held slots
        self._queue_lease: tuple[str, float] | None = None
        self._pool_limits: dict[str, int] = {}
        self._slots: dict[tuple[str, str, str], SlotLease] = {}

    # ---- runs ------------------------------------------------------------------------------

    def add_run(self, run: Run) -> RunRecord:
        stored = deserialize(serialize(run), Run)
        with self._lock:
            if run.run_id in self._runs:
                raise StorageError(
                    f"run {run.run_id} is stored already: a run id names one run. Give the new "
                    "run a new id (knoll.execution.run.new_run_id() makes one)."
                )
            self._run_seq += 1
            now = time.time()
            record = RunRecord(
                storage_id=self._run_seq, run=stored, create_timestamp=now, update_timestamp=now
            )
            self._runs[run.run_id] = record
            return record

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            return self._runs.get(run_id)

    def get_runs(
        self, filters: RunsFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> RunsPage:
        before = _parse_runs_cursor(cursor)
        with self._lock:
            matching = (
                r
                for r in reversed(self._runs.values())
                if (before is None or r.storage_id < before) and _matches(r, filters)
            )
            records: list[RunRecord] = []
            more = False
            for record in matching:
                if len(records) == limit:
                    more = True
                    break
                records.append(record)
        next_cursor = str(records[-1].storage_id) if more and records else None
        return RunsPage(records=records, cursor=next_cursor)

    def count_runs(self, filters: RunsFilter | None = None) -> int:
        with self._lock:
            return sum(1 for r in self._runs.values() if _matches(r, filters))

    def update_run_status(self, run_id: str, status: RunStatus) -> RunRecord:
        with self._lock:
            record = self._known_run(run_id, f"move it to {status.value}")
            updated = _moved(record, status, time.time())
            self._runs[run_id] = updated
            return updated

    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        checked = check_tags(dict(tags), f"run {run_id}")
        with self._lock:
            record = self._known_run(run_id, "tag it")
            run = replace(record.run, tags={**record.run.tags, **checked})
            self._runs[run_id] = replace(record, run=run, update_timestamp=time.time())

    def delete_run(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)
            self._plans.pop(run_id, None)
            touched: set[AssetKey] = set()
            for storage_id in self._run_event_ids.pop(run_id, []):
                key = self._events.pop(storage_id).event.asset_key
                if key is not None:
                    touched.add(key)
            self._drop_gone_ids()
            # a partition can be held by a run whose planned events were pruned
            touched.update(
                key
                for key, parts in self._partitions.items()
                if any(p.run_id == run_id for p in parts.values())
            )
            for key in touched:
                self._rebuild_asset(key, run_id)

    def _known_run(self, run_id: str, doing: str) -> RunRecord:
        record = self._runs.get(run_id)
        if record is None:
            raise StorageError(
                f"cannot {doing}: run {run_id} is not in storage. Check the run id, or store "
                "the run first with add_run()."
            )
        return record

    # ---- events ----------------------------------------------------------------------------

    def write_events(self, events: Sequence[RunEvent]) -> None:
        """Store events handed over by an executor (this storage is an ``EventSink``)."""
        self.store_events(events)

    def store_events(self, events: Sequence[RunEvent]) -> None:
        # Through JSON first: an event SQL could not store is refused before anything changes.
        copies = [deserialize(serialize(e), RunEvent) for e in events]
        with self._lock:
            # Check every status move of the batch before changing anything, so that an illegal
            # one leaves the store as it was (one transaction).
            moved: dict[str, RunRecord] = {}
            for event in copies:
                status = RUN_STATUS_BY_EVENT.get(event.event_type)
                current = moved.get(event.run_id) or self._runs.get(event.run_id)
                if status is not None and current is not None:
                    moved[event.run_id] = _moved(current, status, event.timestamp)
            self._runs.update(moved)
            for event in copies:
                self._event_seq += 1
                record = EventRecord(self._event_seq, event)
                self._events[record.storage_id] = record
                self._event_ids.append(record.storage_id)
                self._run_event_ids.setdefault(event.run_id, []).append(record.storage_id)
                self._type_event_ids.setdefault(event.event_type, []).append(record.storage_id)
                self._index(record)

    def get_events_for_run(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int | None = None,
        of_types: Sequence[EventType] | None = None,
        step_key: str | None = None,
    ) -> EventsPage:
        types = frozenset(of_types) if of_types is not None else None
        with self._lock:
            ids = self._run_event_ids.get(run_id, [])
            candidates = (
                self._events[i]
                for i in ids[bisect_right(ids, after) :]
                if (types is None or self._events[i].event.event_type in types)
                and (step_key is None or self._events[i].event.step_key == step_key)
            )
            return _page(candidates, after, limit)

    def tail_events(self, *, after: int = 0, limit: int = 1000) -> EventsPage:
        with self._lock:
            ids = self._event_ids
            return _page((self._events[i] for i in ids[bisect_right(ids, after) :]), after, limit)

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
        with self._lock:
            return self._scan(
                self._type_event_ids.get(event_type, []),
                _Window(after, before, after_timestamp, before_timestamp, newest_first),
                limit,
            )

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
        wanted = frozenset(partitions) if partitions is not None else None
        window = _Window(after, before, after_timestamp, before_timestamp, newest_first)
        with self._lock:
            if event_type is EventType.ASSET_MATERIALIZATION:
                ids = self._materialization_ids.get(asset_key, [])
            else:
                ids = self._asset_event_ids.get(asset_key, [])
            return self._scan(
                ids,
                window,
                limit,
                lambda event: (
                    event.event_type is event_type and (wanted is None or event.partition in wanted)
                ),
            )

    def _scan(
        self,
        ids: Sequence[int],
        window: _Window,
        limit: int,
        keep: Callable[[RunEvent], bool] | None = None,
    ) -> list[EventRecord]:
        """The stored events among ``ids`` (ascending) inside ``window`` that ``keep``
        accepts, at most ``limit`` (called under the lock)."""
        low = bisect_right(ids, window.after) if window.after is not None else 0
        high = bisect_left(ids, window.before) if window.before is not None else len(ids)
        inside = ids[low:high]
        out: list[EventRecord] = []
        for storage_id in reversed(inside) if window.newest_first else inside:
            if len(out) >= limit:
                break
            record = self._events.get(storage_id)
            if (
                record is not None
                and window.holds(record.event.timestamp)
                and (keep is None or keep(record.event))
            ):
                out.append(record)
        return out

    def get_asset_records(
        self, asset_keys: Sequence[AssetKey] | None = None
    ) -> Sequence[AssetRecord]:
        with self._lock:
            keys = sorted(self._assets) if asset_keys is None else asset_keys
            return [self._assets[k].to_record(k) for k in dict.fromkeys(keys) if k in self._assets]

    def get_latest_materializations(
        self, asset_keys: Sequence[AssetKey]
    ) -> Mapping[AssetKey, EventRecord]:
        with self._lock:
            out: dict[AssetKey, EventRecord] = {}
            for key in asset_keys:
                entry = self._assets.get(key)
                if entry is not None and entry.last_materialization is not None:
                    out[key] = entry.last_materialization
            return out

    def get_partition_status(self, asset_key: AssetKey) -> Mapping[str, PartitionStatus]:
        with self._lock:
            return {p: e.status for p, e in self._partitions.get(asset_key, {}).items()}

    def get_latest_check_results(
        self, check_keys: Sequence[AssetCheckKey]
    ) -> Mapping[AssetCheckKey, AssetCheckEvaluation]:
        with self._lock:
            out: dict[AssetCheckKey, AssetCheckEvaluation] = {}
            for check_key in check_keys:
                entry = self._assets.get(check_key.asset_key)
                evaluation = entry.checks.get(check_key.name) if entry is not None else None
                if evaluation is not None:
                    out[check_key] = evaluation
            return out

    def prune_run_events(self, run_ids: Sequence[str]) -> int:
        deleted = 0
        with self._lock:
            for run_id in dict.fromkeys(run_ids):
                kept: list[int] = []
                for storage_id in self._run_event_ids.get(run_id, []):
                    event = self._events[storage_id].event
                    if event.event_type in ASSET_HISTORY_EVENTS:
                        kept.append(storage_id)
                        continue
                    # per-asset id lists skip ids that are gone: no need to edit them here
                    del self._events[storage_id]
                    deleted += 1
                if run_id in self._run_event_ids:
                    self._run_event_ids[run_id] = kept
            if deleted:
                self._drop_gone_ids()
        return deleted

    def _drop_gone_ids(self) -> None:
        """Forget deleted events in the id lists over the whole log (called under the lock)."""
        self._event_ids = [i for i in self._event_ids if i in self._events]
        for event_type, ids in list(self._type_event_ids.items()):
            self._type_event_ids[event_type] = [i for i in ids if i in self._events]

    # ---- the asset index -------------------------------------------------------------------

    def _index(self, record: EventRecord) -> None:
        """Update the asset index for one stored event (called under the lock)."""
        event = record.event
        data = event.data
        kind = event.event_type
        if kind is EventType.STEP_FAILURE:
            plan = self._plans.get(event.run_id, {})
            self._fail_in_progress(event.run_id, plan.get(event.step_key, ()))
            return
        if kind in (EventType.RUN_FAILURE, EventType.RUN_CANCELED):
            plan = self._plans.pop(event.run_id, {})
            self._fail_in_progress(event.run_id, (p for step in plan.values() for p in step))
            return
        if kind is EventType.RUN_SUCCESS:
            plan = self._plans.pop(event.run_id, {})
            self._settle_unmaterialized(event.run_id, (p for step in plan.values() for p in step))
            return
        key = event.asset_key
        if key is None:
            return
        if kind is EventType.ASSET_MATERIALIZATION_PLANNED and isinstance(data, AssetPlannedData):
            self._asset_event_ids.setdefault(key, []).append(record.storage_id)
            self._apply_to_entry(self._assets.setdefault(key, _AssetEntry()), record)
            if data.partition is not None:
                # A planned range (partition_range_start/end) names no keys this store could
                # list without the partitions definition: only single partitions are tracked.
                parts = self._partitions.setdefault(key, {})
                previous = parts.get(data.partition)
                parts[data.partition] = _PartitionEntry(
                    PartitionStatus.IN_PROGRESS,
                    event.run_id,
                    materialized=previous is not None and previous.materialized,
                )
                steps = self._plans.setdefault(event.run_id, {})
                steps.setdefault(event.step_key, []).append((key, data.partition))
        elif kind is EventType.ASSET_MATERIALIZATION and isinstance(data, AssetMaterialization):
            self._asset_event_ids.setdefault(key, []).append(record.storage_id)
            self._materialization_ids.setdefault(key, []).append(record.storage_id)
            self._apply_to_entry(self._assets.setdefault(key, _AssetEntry()), record)
            if data.partition is not None:
                self._partitions.setdefault(key, {})[data.partition] = _PartitionEntry(
                    PartitionStatus.MATERIALIZED, event.run_id, materialized=True
                )
        elif kind in (EventType.ASSET_OBSERVATION, EventType.ASSET_CHECK_EVALUATION) and (
            isinstance(data, (AssetObservation, AssetCheckEvaluation))
        ):
            self._asset_event_ids.setdefault(key, []).append(record.storage_id)
            self._apply_to_entry(self._assets.setdefault(key, _AssetEntry()), record)

    @staticmethod
    def _apply_to_entry(entry: _AssetEntry, record: EventRecord) -> None:
        """The asset-level part of the index: the same rules when indexing and rebuilding."""
        event = record.event
        data = event.data
        if isinstance(data, AssetPlannedData):
            entry.last_run_id = event.run_id
        elif isinstance(data, AssetMaterialization):
            entry.last_materialization = record
            entry.last_run_id = event.run_id
            entry.materialization_count += 1
        elif isinstance(data, AssetObservation):
            entry.last_observation = record
        elif isinstance(data, AssetCheckEvaluation):
            entry.checks[data.check_name] = data

    def _fail_in_progress(self, run_id: str, planned: Iterable[tuple[AssetKey, str]]) -> None:
        # Only partitions this run still holds in progress: a later run's status stands.
        for key, partition in planned:
            entry = self._partitions.get(key, {}).get(partition)
            if entry is not None and _held_by(entry, run_id):
                entry.status = PartitionStatus.FAILED

    def _settle_unmaterialized(self, run_id: str, planned: Iterable[tuple[AssetKey, str]]) -> None:
        # A run that succeeded without writing a planned partition (an optional output) leaves
        # it materialized if it ever was, and missing otherwise.
        for key, partition in planned:
            parts = self._partitions.get(key, {})
            entry = parts.get(partition)
            if entry is None or not _held_by(entry, run_id):
                continue
            if entry.materialized:
                entry.status = PartitionStatus.MATERIALIZED
            else:
                del parts[partition]

    def _rebuild_asset(self, key: AssetKey, deleted_run_id: str) -> None:
        """Recompute an asset's index from its remaining events after a run was deleted."""
        ids = [i for i in self._asset_event_ids.get(key, []) if i in self._events]
        mat_ids = [i for i in self._materialization_ids.get(key, []) if i in self._events]
        self._asset_event_ids[key] = ids
        self._materialization_ids[key] = mat_ids
        entry = _AssetEntry()
        for storage_id in ids:
            self._apply_to_entry(entry, self._events[storage_id])
        if ids:
            self._assets[key] = entry
        else:
            self._assets.pop(key, None)
            self._asset_event_ids.pop(key, None)
            self._materialization_ids.pop(key, None)
        parts = self._partitions.get(key, {})
        latest_by_partition: dict[str, EventRecord] = {}
        for storage_id in mat_ids:
            record = self._events[storage_id]
            if record.event.partition is not None:
                latest_by_partition[record.event.partition] = record
        for partition, part in list(parts.items()):
            if part.run_id != deleted_run_id:
                part.materialized = partition in latest_by_partition
                continue
            latest = latest_by_partition.get(partition)
            if latest is None:
                del parts[partition]
            else:
                parts[partition] = _PartitionEntry(
                    PartitionStatus.MATERIALIZED, latest.event.run_id, materialized=True
                )
        if not parts:
            self._partitions.pop(key, None)

    # ---- schedules, sensors and ticks ------------------------------------------------------

    def get_instigator_state(self, location: str, name: str) -> InstigatorState | None:
        with self._lock:
            return self._instigators.get((location, name))

    def set_instigator_state(self, state: InstigatorState) -> None:
        with self._lock:
            self._instigators[(state.location, state.name)] = state

    def create_tick(
        self,
        location: str,
        name: str,
        instigator_type: InstigatorType,
        timestamp: float,
    ) -> Tick:
        with self._lock:
            self._tick_seq += 1
            tick = Tick(
                tick_id=self._tick_seq,
                location=location,
                name=name,
                instigator_type=instigator_type,
                status=TickStatus.STARTED,
                timestamp=timestamp,
            )
            self._ticks[tick.tick_id] = tick
            return tick

    def update_tick(self, tick: Tick) -> Tick:
        with self._lock:
            if tick.tick_id not in self._ticks:
                raise StorageError(
                    f"cannot update tick {tick.tick_id} of {tick.name!r}: it is not in storage. "
                    "Update a tick that create_tick() returned."
                )
            stored = replace(tick, run_ids=tuple(tick.run_ids), run_keys=tuple(tick.run_keys))
            self._ticks[tick.tick_id] = stored
            return stored

    def get_ticks(self, location: str, name: str, *, limit: int = 100) -> Sequence[Tick]:
        with self._lock:
            ticks = [t for t in self._ticks.values() if t.location == location and t.name == name]
        ticks.sort(key=lambda t: (t.timestamp, t.tick_id), reverse=True)
        return ticks[:limit]

    # ---- backfills -------------------------------------------------------------------------

    def add_backfill(self, backfill: Backfill) -> None:
        stored = replace(backfill, body=_json_copy(backfill.body, backfill.backfill_id))
        with self._lock:
            if backfill.backfill_id in self._backfills:
                raise StorageError(
                    f"backfill {backfill.backfill_id} is stored already: give the new backfill "
                    "a new id, or change the stored one with update_backfill()."
                )
            self._backfills[backfill.backfill_id] = stored

    def get_backfill(self, backfill_id: str) -> Backfill | None:
        with self._lock:
            return self._backfills.get(backfill_id)

    def update_backfill(self, backfill: Backfill) -> None:
        stored = replace(backfill, body=_json_copy(backfill.body, backfill.backfill_id))
        with self._lock:
            if backfill.backfill_id not in self._backfills:
                raise StorageError(
                    f"cannot update backfill {backfill.backfill_id}: it is not in storage. "
                    "Store it first with add_backfill()."
                )
            self._backfills[backfill.backfill_id] = stored

    def get_backfills(
        self, *, status: BackfillStatus | None = None, limit: int = 100
    ) -> Sequence[Backfill]:
        with self._lock:
            found = [
                b
                for b in reversed(self._backfills.values())
                if status is None or b.status is status
            ]
        return found[:limit]

    # ---- dynamic partitions and key-value --------------------------------------------------

    def get_dynamic_partitions(self, name: str) -> Sequence[str]:
        with self._lock:
            return list(self._dynamic.get(name, ()))

    def has_dynamic_partition(self, name: str, key: str) -> bool:
        with self._lock:
            return key in self._dynamic.get(name, ())

    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            raise InvalidInvocationError(
                f"partition keys for dynamic partitions {name!r} must be a list of strings, got "
                f"the string {keys!r}; write [{keys!r}]."
            )
        with self._lock:
            self._dynamic.setdefault(name, {}).update(dict.fromkeys(keys))

    def delete_dynamic_partition(self, name: str, key: str) -> None:
        with self._lock:
            self._dynamic.get(name, {}).pop(key, None)

    def kv_get(self, keys: Sequence[str]) -> Mapping[str, str]:
        with self._lock:
            return {k: self._kv[k] for k in keys if k in self._kv}

    def kv_set(self, pairs: Mapping[str, str]) -> None:
        with self._lock:
            self._kv.update(pairs)

    # ---- the run queue ---------------------------------------------------------------------

    def get_queued_runs(self, *, limit: int | None = None) -> Sequence[RunRecord]:
        with self._lock:
            queued = [r for r in self._runs.values() if r.run.status is RunStatus.QUEUED]
        queued.sort(key=lambda r: (-run_priority(r.run), r.create_timestamp, r.storage_id))
        return queued if limit is None else queued[: max(limit, 0)]

    def count_in_progress_runs(self) -> int:
        with self._lock:
            return sum(1 for r in self._runs.values() if r.run.status in IN_PROGRESS_STATUSES)

    def count_in_progress_runs_by_tag(self, keys: Sequence[str]) -> Mapping[tuple[str, str], int]:
        wanted = frozenset(keys)
        out: dict[tuple[str, str], int] = {}
        with self._lock:
            for record in self._runs.values():
                if record.run.status not in IN_PROGRESS_STATUSES:
                    continue
                for key, value in record.run.tags.items():
                    if key in wanted:
                        out[(key, value)] = out.get((key, value), 0) + 1
        return out

    def claim_queued_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            record = self._runs.get(run_id)
            if record is None or record.run.status is not RunStatus.QUEUED:
                return None
            moved = _moved(record, RunStatus.STARTING, time.time())
            self._runs[run_id] = moved
            return moved

    def acquire_queue_lease(
        self, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        check_lease_seconds("the run queue", ttl_seconds)
        at = time.time() if now is None else now
        with self._lock:
            held = self._queue_lease
            if held is not None and held[0] != owner and held[1] > at:
                return False
            self._queue_lease = (owner, at + ttl_seconds)
            return True

    def renew_queue_lease(
        self, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        check_lease_seconds("the run queue", ttl_seconds)
        at = time.time() if now is None else now
        with self._lock:
            if self._queue_lease is None or self._queue_lease[0] != owner:
                return False
            self._queue_lease = (owner, at + ttl_seconds)
            return True

    def release_queue_lease(self, owner: str) -> None:
        with self._lock:
            if self._queue_lease is not None and self._queue_lease[0] == owner:
                self._queue_lease = None

    # ---- concurrency pools -----------------------------------------------------------------

    def set_pool_limit(self, pool: str, limit: int) -> None:
        check_pool_limit(pool, limit)
        with self._lock:
            self._pool_limits[pool] = limit

    def delete_pool_limit(self, pool: str) -> None:
        with self._lock:
            self._pool_limits.pop(pool, None)

    def get_pool_limits(self) -> Mapping[str, int]:
        with self._lock:
            return dict(sorted(self._pool_limits.items()))

    def claim_slot(
        self,
        pool: str,
        run_id: str,
        step_key: str,
        lease_seconds: float,
        *,
        now: float | None = None,
    ) -> bool:
        check_lease_seconds(f"a slot of pool {pool!r}", lease_seconds)
        at = time.time() if now is None else now
        key = (pool, run_id, step_key)
        with self._lock:
            held = self._slots.get(key)
            if held is not None and held.expires_at > at:
                self._slots[key] = replace(held, expires_at=at + lease_seconds)
                return True
            limit = self._pool_limits.get(pool)
            if limit is not None:
                live = sum(1 for k, s in self._slots.items() if k[0] == pool and s.expires_at > at)
                if live >= limit:
                    return False
            self._slots[key] = SlotLease(pool, run_id, step_key, at, at + lease_seconds)
            return True

    def renew_slot(
        self,
        pool: str,
        run_id: str,
        step_key: str,
        lease_seconds: float,
        *,
        now: float | None = None,
    ) -> bool:
        check_lease_seconds(f"a slot of pool {pool!r}", lease_seconds)
        at = time.time() if now is None else now
        key = (pool, run_id, step_key)
        with self._lock:
            held = self._slots.get(key)
            if held is None or held.expires_at <= at:
                return False
            self._slots[key] = replace(held, expires_at=at + lease_seconds)
            return True

    def release_slot(self, pool: str, run_id: str, step_key: str) -> None:
        with self._lock:
            self._slots.pop((pool, run_id, step_key), None)

    def free_slots_of_run(self, run_id: str) -> int:
        with self._lock:
            keys = [k for k in self._slots if k[1] == run_id]
            for key in keys:
                del self._slots[key]
            return len(keys)

    def get_pool_slots(self, pool: str, *, now: float | None = None) -> Sequence[SlotLease]:
        at = time.time() if now is None else now
        with self._lock:
            live = [s for k, s in self._slots.items() if k[0] == pool and s.expires_at > at]
        return sorted(live, key=lambda s: (s.claimed_at, s.run_id))

    def dispose(self) -> None:
        """Nothing to release: the data lives as long as this object."""


# ---- helpers -------------------------------------------------------------------------------


def _moved(record: RunRecord, status: RunStatus, when: float) -> RunRecord:
    """``record`` moved to ``status`` at ``when``; raises ``RunStatusError`` if illegal."""
    run = record.run.with_status(status)
    return replace(
        record,
        run=run,
        update_timestamp=max(when, record.update_timestamp),
        start_time=when if status is RunStatus.STARTED else record.start_time,
        end_time=when if status.is_finished else record.end_time,
    )


def _held_by(entry: _PartitionEntry, run_id: str) -> bool:
    """Whether ``run_id`` is the run that put the partition in progress (and still holds it)."""
    return entry.status is PartitionStatus.IN_PROGRESS and entry.run_id == run_id


def _matches(record: RunRecord, filters: RunsFilter | None) -> bool:
    if filters is None:
        return True
    run = record.run
    if filters.run_ids is not None and run.run_id not in filters.run_ids:
        return False
    if filters.job_name is not None and run.job_name != filters.job_name:
        return False
    if filters.statuses is not None and run.status not in filters.statuses:
        return False
    if filters.tags and any(run.tags.get(k) != v for k, v in filters.tags.items()):
        return False
    if filters.asset_key is not None and (
        run.asset_selection is None or filters.asset_key not in run.asset_selection
    ):
        return False
    if filters.created_after is not None and not record.create_timestamp > filters.created_after:
        return False
    return filters.created_before is None or record.create_timestamp < filters.created_before


def _parse_runs_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError:
        raise StorageError(
            f"runs cursor {cursor!r} is not one this storage returned: pass the cursor of the "
            "previous page unchanged, or None for the first page."
        ) from None


def _page(candidates: Iterable[EventRecord], after: int, limit: int | None) -> EventsPage:
    records: list[EventRecord] = []
    more = False
    for record in candidates:
        if limit is not None and len(records) >= limit:
            more = True
            break
        records.append(record)
    cursor = records[-1].storage_id if records else after
    return EventsPage(records=records, cursor=cursor, has_more=more)


def _json_copy(body: Mapping[str, Any], backfill_id: str) -> Mapping[str, Any]:
    try:
        copied: Mapping[str, Any] = json.loads(json.dumps(body))
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"the body of backfill {backfill_id} is not JSON data ({exc}): use dicts, lists, "
            "strings, numbers, booleans and None."
        ) from None
    return copied
