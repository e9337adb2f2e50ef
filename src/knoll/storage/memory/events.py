"""The event log of the in-memory store: storing events and reading them back."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence

from knoll._serdes import deserialize, serialize
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.execution.events import EventType, RunEvent
from knoll.storage.base import (
    ASSET_HISTORY_EVENTS,
    RUN_STATUS_BY_EVENT,
    AssetRecord,
    EventRecord,
    EventsPage,
    EventWindow,
    PartitionStatus,
    RunRecord,
)
from knoll.storage.memory._state import events_page, moved_record
from knoll.storage.memory.index import MemoryAssetIndex


class MemoryEventLog(MemoryAssetIndex):
    """The event log of the in-memory store: storing events and reading them back."""

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
                    moved[event.run_id] = moved_record(current, status, event.timestamp)
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
            return events_page(candidates, after, limit)

    def tail_events(self, *, after: int = 0, limit: int = 1000) -> EventsPage:
        with self._lock:
            ids = self._event_ids
            return events_page(
                (self._events[i] for i in ids[bisect_right(ids, after) :]), after, limit
            )

    def last_event_id(self) -> int:
        with self._lock:
            return self._event_ids[-1] if self._event_ids else 0

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
                EventWindow(after, before, after_timestamp, before_timestamp, newest_first),
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
        window = EventWindow(after, before, after_timestamp, before_timestamp, newest_first)
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
        window: EventWindow,
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
