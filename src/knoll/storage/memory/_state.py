"""What the in-memory stores share: the data under one lock, and small helpers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetKey
from knoll.errors import StorageError
from knoll.execution.events import EventType
from knoll.execution.run import RunStatus
from knoll.storage.access import ApiToken, AuditEntry, Session, User
from knoll.storage.base import (
    AssetRecord,
    Backfill,
    DaemonHeartbeat,
    EventRecord,
    EventsPage,
    InstigatorState,
    Lease,
    PartitionStatus,
    RunRecord,
    RunsFilter,
    SlotLease,
    Tick,
)


@dataclass
class AssetEntry:
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
class PartitionEntry:
    """One partition's status, the run whose event set it, and whether it was ever written."""

    status: PartitionStatus
    run_id: str
    materialized: bool = False


class MemoryState:
    """The data every in-memory store shares, under one re-entrant lock."""

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
        self._assets: dict[AssetKey, AssetEntry] = {}
        self._partitions: dict[AssetKey, dict[str, PartitionEntry]] = {}
        # per unfinished run: step key -> the (asset, partition) pairs the step planned
        self._plans: dict[str, dict[str | None, list[tuple[AssetKey, str]]]] = {}
        # schedules, backfills, dynamic partitions, key-value
        self._instigators: dict[tuple[str, str], InstigatorState] = {}
        self._ticks: dict[int, Tick] = {}
        self._tick_seq = 0
        self._backfills: dict[str, Backfill] = {}
        self._dynamic: dict[str, dict[str, None]] = {}
        self._kv: dict[str, str] = {}
        # duty leases (the dequeue lease among them) and daemon heartbeats by (daemon, duty)
        self._leases: dict[str, Lease] = {}
        self._daemon_heartbeats: dict[tuple[str, str], DaemonHeartbeat] = {}
        # pool limits and held slots
        self._pool_limits: dict[str, int] = {}
        self._slots: dict[tuple[str, str, str], SlotLease] = {}
        # automation: the cursor of each location (JSON of AutomationCursor's parts) and the
        # evaluation records of each asset, oldest first (as JSON)
        self._automation_cursors: dict[str, tuple[int, float | None, str | None, str | None]] = {}
        self._automation_records: dict[AssetKey, list[str]] = {}
        # users, API tokens and sessions by their keys; failed logins as (name, address, at);
        # the audit log, oldest first (an entry's id is its place in the list, from 1)
        self._users: dict[str, User] = {}
        self._tokens: dict[str, ApiToken] = {}
        self._sessions: dict[str, Session] = {}
        self._login_failures: list[tuple[str, str, float]] = []
        self._audit: list[AuditEntry] = []


def moved_record(record: RunRecord, status: RunStatus, when: float) -> RunRecord:
    """``record`` moved to ``status`` at ``when``; raises ``RunStatusError`` if illegal."""
    run = record.run.with_status(status)
    return replace(
        record,
        run=run,
        update_timestamp=max(when, record.update_timestamp),
        start_time=when if status is RunStatus.STARTED else record.start_time,
        end_time=when if status.is_finished else record.end_time,
    )


def held_by(entry: PartitionEntry, run_id: str) -> bool:
    """Whether ``run_id`` is the run that put the partition in progress (and still holds it)."""
    return entry.status is PartitionStatus.IN_PROGRESS and entry.run_id == run_id


def matches_filters(record: RunRecord, filters: RunsFilter | None) -> bool:
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


def parse_runs_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        position = int(cursor)
        if position < 0:
            raise ValueError(cursor)  # storage ids start at 1: a cursor made up, not returned
        return position
    except ValueError:
        raise StorageError(
            f"runs cursor {cursor!r} is not one this storage returned: pass the cursor of the "
            "previous page unchanged, or None for the first page."
        ) from None


def events_page(candidates: Iterable[EventRecord], after: int, limit: int | None) -> EventsPage:
    records: list[EventRecord] = []
    more = False
    for record in candidates:
        if limit is not None and len(records) >= limit:
            more = True
            break
        records.append(record)
    cursor = records[-1].storage_id if records else after
    return EventsPage(records=records, cursor=cursor, has_more=more)


def json_copy(body: Mapping[str, Any], backfill_id: str) -> Mapping[str, Any]:
    try:
        copied: Mapping[str, Any] = json.loads(json.dumps(body))
    except (TypeError, ValueError) as exc:
        raise StorageError(
            f"the body of backfill {backfill_id} is not JSON data ({exc}): use dicts, lists, "
            "strings, numbers, booleans and None."
        ) from None
    return copied
