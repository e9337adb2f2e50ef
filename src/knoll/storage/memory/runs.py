"""Runs in the in-memory store."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from knoll._serdes import deserialize, serialize
from knoll._utils import check_tags
from knoll.defs.keys import AssetKey
from knoll.errors import RunAlreadyStoredError, StorageError
from knoll.execution.run import Run, RunStatus
from knoll.storage.base import (
    RunRecord,
    RunsFilter,
    RunsPage,
)
from knoll.storage.memory._state import matches_filters, moved_record, parse_runs_cursor
from knoll.storage.memory.events import MemoryEventLog


class MemoryRunStorage(MemoryEventLog):
    """Runs in the in-memory store."""

    # ---- runs ------------------------------------------------------------------------------

    def add_run(self, run: Run) -> RunRecord:
        stored = deserialize(serialize(run), Run)
        with self._lock:
            if run.run_id in self._runs:
                raise RunAlreadyStoredError(
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

    def add_runs(self, runs: Sequence[Run]) -> Sequence[RunRecord]:
        stored = [deserialize(serialize(run), Run) for run in runs]
        with self._lock:
            ids = [run.run_id for run in runs]
            if len(set(ids)) != len(ids) or any(run_id in self._runs for run_id in ids):
                first = runs[0].run_id
                raise RunAlreadyStoredError(
                    f"one of the {len(runs)} runs (the first is {first}) is stored already, or "
                    "given twice: a run id names one run, so none of them was stored. Give each "
                    "new run a new id (knoll.execution.run.new_run_id() makes one)."
                )
            now = time.time()
            records: list[RunRecord] = []
            for run in stored:
                self._run_seq += 1
                record = RunRecord(
                    storage_id=self._run_seq, run=run, create_timestamp=now, update_timestamp=now
                )
                self._runs[run.run_id] = record
                records.append(record)
            return records

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            return self._runs.get(run_id)

    def get_runs(
        self, filters: RunsFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> RunsPage:
        before = parse_runs_cursor(cursor)
        with self._lock:
            matching = (
                r
                for r in reversed(self._runs.values())
                if (before is None or r.storage_id < before) and matches_filters(r, filters)
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
            return sum(1 for r in self._runs.values() if matches_filters(r, filters))

    def update_run_status(self, run_id: str, status: RunStatus) -> RunRecord:
        with self._lock:
            record = self._known_run(run_id, f"move it to {status.value}")
            updated = moved_record(record, status, time.time())
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
