"""The asset index of the in-memory store, updated as each event is stored."""

from __future__ import annotations

from collections.abc import Iterable

from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetKey
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.execution.events import AssetPlannedData, EventType
from knoll.storage.base import (
    EventRecord,
    PartitionStatus,
)
from knoll.storage.memory._state import AssetEntry, MemoryState, PartitionEntry, held_by


class MemoryAssetIndex(MemoryState):
    """The asset index of the in-memory store, updated as each event is stored."""

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
            self._apply_to_entry(self._assets.setdefault(key, AssetEntry()), record)
            if data.partition is not None:
                # A planned range (partition_range_start/end) names no keys this store could
                # list without the partitions definition: only single partitions are tracked.
                parts = self._partitions.setdefault(key, {})
                previous = parts.get(data.partition)
                parts[data.partition] = PartitionEntry(
                    PartitionStatus.IN_PROGRESS,
                    event.run_id,
                    materialized=previous is not None and previous.materialized,
                )
                steps = self._plans.setdefault(event.run_id, {})
                steps.setdefault(event.step_key, []).append((key, data.partition))
        elif kind is EventType.ASSET_MATERIALIZATION and isinstance(data, AssetMaterialization):
            self._asset_event_ids.setdefault(key, []).append(record.storage_id)
            self._materialization_ids.setdefault(key, []).append(record.storage_id)
            self._apply_to_entry(self._assets.setdefault(key, AssetEntry()), record)
            if data.partition is not None:
                self._partitions.setdefault(key, {})[data.partition] = PartitionEntry(
                    PartitionStatus.MATERIALIZED, event.run_id, materialized=True
                )
        elif kind in (EventType.ASSET_OBSERVATION, EventType.ASSET_CHECK_EVALUATION) and (
            isinstance(data, (AssetObservation, AssetCheckEvaluation))
        ):
            self._asset_event_ids.setdefault(key, []).append(record.storage_id)
            self._apply_to_entry(self._assets.setdefault(key, AssetEntry()), record)

    @staticmethod
    def _apply_to_entry(entry: AssetEntry, record: EventRecord) -> None:
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
            if entry is not None and held_by(entry, run_id):
                entry.status = PartitionStatus.FAILED

    def _settle_unmaterialized(self, run_id: str, planned: Iterable[tuple[AssetKey, str]]) -> None:
        # A run that succeeded without writing a planned partition (an optional output) leaves
        # it materialized if it ever was, and missing otherwise.
        for key, partition in planned:
            parts = self._partitions.get(key, {})
            entry = parts.get(partition)
            if entry is None or not held_by(entry, run_id):
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
        entry = AssetEntry()
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
                parts[partition] = PartitionEntry(
                    PartitionStatus.MATERIALIZED, latest.event.run_id, materialized=True
                )
        if not parts:
            self._partitions.pop(key, None)
