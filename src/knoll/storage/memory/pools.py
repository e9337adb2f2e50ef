"""The run queue and concurrency pools of the in-memory store."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace

from knoll.execution.run import RunStatus
from knoll.storage.base import (
    IN_PROGRESS_STATUSES,
    RunRecord,
    SlotLease,
    check_lease_seconds,
    check_pool_limit,
    run_priority,
)
from knoll.storage.memory._state import MemoryState, moved_record


class MemoryQueueStorage(MemoryState):
    """The run queue and concurrency pools of the in-memory store."""

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
            moved = moved_record(record, RunStatus.STARTING, time.time())
            self._runs[run_id] = moved
            return moved

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
