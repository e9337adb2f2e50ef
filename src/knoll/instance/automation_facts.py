"""``StorageAutomationFacts``: what automation conditions read, answered from storage.

The latest materialization id and run of every asset are read from the asset index in one
query on first use, and the queued and in-progress runs once; data versions, partition
status, check results and runs are read per asset only when a condition asks for them, and
each is read once per evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from knoll.defs.automation_eval_records import Partition
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.output import AssetMaterialization
from knoll.execution.events import EventType
from knoll.execution.run import PARTITION_TAG, RunStatus
from knoll.storage.base import PartitionStatus, RunsFilter, Storage

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader

__all__ = ["StorageAutomationFacts"]

_ACTIVE = (RunStatus.QUEUED, RunStatus.STARTING, RunStatus.STARTED, RunStatus.CANCELING)
_PAGE = 1000


class StorageAutomationFacts:
    """An ``AutomationFacts`` over ``storage``, for the assets ``keys`` of one evaluation."""

    def __init__(self, storage: Storage, keys: Sequence[AssetKey]) -> None:
        self.storage = storage
        self._keys = list(keys)
        self._latest: Mapping[AssetKey, tuple[int, str]] | None = None
        self._data_versions: dict[AssetKey, str | None] = {}
        self._progress: dict[AssetKey, set[Partition]] | None = None
        self._status: dict[AssetKey, Mapping[str, PartitionStatus]] = {}
        self._runs: dict[str, frozenset[AssetKey]] = {}

    @property
    def dynamic_partitions(self) -> DynamicPartitionsReader:
        return self.storage

    def _latest_of(self, key: AssetKey) -> tuple[int, str] | None:
        if self._latest is None:
            self._latest = self.storage.get_latest_materialization_ids(self._keys)
        return self._latest.get(key)

    def latest_materialization_id(self, key: AssetKey) -> int | None:
        latest = self._latest_of(key)
        return None if latest is None else latest[0]

    def latest_run_id(self, key: AssetKey) -> str | None:
        latest = self._latest_of(key)
        return None if latest is None else latest[1]

    def data_version(self, key: AssetKey) -> str | None:
        if key not in self._data_versions:
            record = self.storage.get_latest_materialization(key)
            data = record.event.data if record is not None else None
            self._data_versions[key] = (
                data.data_version if isinstance(data, AssetMaterialization) else None
            )
        return self._data_versions[key]

    def _partition_status(self, key: AssetKey) -> Mapping[str, PartitionStatus]:
        found = self._status.get(key)
        if found is None:
            found = self.storage.get_partition_status(key)
            self._status[key] = found
        return found

    def materialized_partitions(self, key: AssetKey) -> frozenset[str]:
        # a partition that failed or is in progress after a materialization keeps its data
        if self.latest_materialization_id(key) is None:
            return frozenset()
        status = self._partition_status(key)
        found = {p for p, s in status.items() if s is PartitionStatus.MATERIALIZED}
        unsure = [p for p, s in status.items() if s is not PartitionStatus.MATERIALIZED]
        if unsure:
            for record in self.storage.get_materializations(key, partitions=unsure, limit=_PAGE):
                if record.event.partition is not None:
                    found.add(record.event.partition)
        return frozenset(found)

    def updated_partitions(self, key: AssetKey, after: int | None) -> Mapping[str, str]:
        found: dict[str, str] = {}
        cursor = after
        while True:
            page = self.storage.get_asset_events(
                EventType.ASSET_MATERIALIZATION, key, after=cursor, limit=_PAGE, newest_first=False
            )
            for record in page:
                if record.event.partition is not None:
                    found[record.event.partition] = record.event.run_id
            if len(page) < _PAGE:
                return found
            cursor = page[-1].storage_id

    def _in_progress(self) -> dict[AssetKey, set[Partition]]:
        if self._progress is None:
            progress: dict[AssetKey, set[Partition]] = {}
            cursor = None
            while True:
                page = self.storage.get_runs(
                    RunsFilter(statuses=_ACTIVE), limit=_PAGE, cursor=cursor
                )
                for record in page.records:
                    run = record.run
                    partition = run.tags.get(PARTITION_TAG)
                    for key in run.asset_selection or ():
                        progress.setdefault(key, set()).add(partition)
                if page.cursor is None:
                    break
                cursor = page.cursor
            self._progress = progress
        return self._progress

    def in_progress_partitions(self, key: AssetKey) -> frozenset[Partition]:
        return frozenset(self._in_progress().get(key, ()))

    def failed_partitions(self, key: AssetKey) -> frozenset[Partition]:
        status = self._partition_status(key)
        if status:
            return frozenset(p for p, s in status.items() if s is PartitionStatus.FAILED)
        latest = self.storage.get_runs(RunsFilter(asset_key=key), limit=1).records
        if latest and latest[0].run.status is RunStatus.FAILURE:
            return frozenset({None})
        return frozenset()

    def run_asset_keys(self, run_id: str) -> frozenset[AssetKey]:
        found = self._runs.get(run_id)
        if found is None:
            record = self.storage.get_run(run_id)
            found = (
                frozenset(record.run.asset_selection or ()) if record is not None else frozenset()
            )
            self._runs[run_id] = found
        return found

    def check_results(self, key: AssetCheckKey) -> Mapping[Partition, bool]:
        results = self.storage.get_latest_check_results([key])
        result = results.get(key)
        if result is None:
            return {}
        return {result.partition: result.passed}
