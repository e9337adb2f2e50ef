"""Reading the event log the way sensor code does: records of an asset's materializations and
of runs changing status, each with the storage id a cursor remembers.

Every read goes through the asset index (materializations of one key) or a range of storage
ids after a cursor (run status changes), never a scan of the whole log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knoll.defs.event_filters import AssetRecordsFilter, as_records_filter
from knoll.defs.keys import AssetKey
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.errors import InvalidInvocationError
from knoll.execution.events import EventType, RunEvent
from knoll.storage.base import EventRecord, Storage

RUN_STATUS_EVENT_TYPES = frozenset(
    {
        EventType.RUN_STARTING,
        EventType.RUN_START,
        EventType.RUN_SUCCESS,
        EventType.RUN_FAILURE,
        EventType.RUN_CANCELED,
    }
)
_PAGE = 500


@dataclass(frozen=True)
class EventLogEntry:
    """One stored event as sensor code sees it (the ``asset_event`` of an ``@asset_sensor``).

    ``event`` is knoll's :class:`RunEvent`; ``dagster_event`` is the same object under the
    name Dagster code reads.
    """

    event: RunEvent
    storage_id: int | None = None

    @property
    def dagster_event(self) -> RunEvent:
        return self.event

    @property
    def is_dagster_event(self) -> bool:
        return True

    @property
    def event_type(self) -> EventType:
        return self.event.event_type

    @property
    def dagster_event_type(self) -> EventType:
        return self.event.event_type

    @property
    def run_id(self) -> str:
        return self.event.run_id

    @property
    def job_name(self) -> str:
        return self.event.job_name

    @property
    def timestamp(self) -> float:
        return self.event.timestamp

    @property
    def step_key(self) -> str | None:
        return self.event.step_key

    @property
    def user_message(self) -> str:
        return self.event.message

    @property
    def message(self) -> str:
        return self.event.message

    @property
    def level(self) -> int:
        return self.event.level

    @property
    def asset_key(self) -> AssetKey | None:
        return self.event.asset_key

    @property
    def partition_key(self) -> str | None:
        return self.event.partition

    @property
    def asset_materialization(self) -> AssetMaterialization | None:
        data = self.event.data
        return data if isinstance(data, AssetMaterialization) else None

    @property
    def asset_observation(self) -> AssetObservation | None:
        data = self.event.data
        return data if isinstance(data, AssetObservation) else None


@dataclass(frozen=True)
class EventLogRecord:
    """A stored event with its storage id (what ``fetch_materializations`` returns)."""

    storage_id: int
    event_log_entry: EventLogEntry

    @staticmethod
    def of(record: EventRecord) -> EventLogRecord:
        return EventLogRecord(record.storage_id, EventLogEntry(record.event, record.storage_id))

    @property
    def event(self) -> RunEvent:
        return self.event_log_entry.event

    @property
    def run_id(self) -> str:
        return self.event_log_entry.run_id

    @property
    def timestamp(self) -> float:
        return self.event_log_entry.timestamp

    @property
    def asset_key(self) -> AssetKey | None:
        return self.event_log_entry.asset_key

    @property
    def partition_key(self) -> str | None:
        return self.event_log_entry.partition_key

    @property
    def asset_materialization(self) -> AssetMaterialization | None:
        return self.event_log_entry.asset_materialization


@dataclass(frozen=True)
class EventRecordsResult:
    """One page of records and the cursor to pass back for the next page."""

    records: Sequence[EventLogRecord]
    cursor: str
    has_more: bool


def _cursor_id(cursor: str | None, where: str) -> int | None:
    if cursor is None:
        return None
    try:
        return int(cursor)
    except ValueError:
        raise InvalidInvocationError(
            f"{where}: cursor {cursor!r} is not a cursor this instance returned; pass back the "
            "cursor of a previous result, or None to start from the beginning."
        ) from None


def _check_limit(limit: object, where: str) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInvocationError(
            f"{where}: limit must be a whole number, 1 or more, got {limit!r}."
        )
    return limit


def fetch_materializations(
    storage: Storage,
    records_filter: AssetKey | AssetRecordsFilter,
    limit: int,
    cursor: str | None = None,
    ascending: bool = False,
) -> EventRecordsResult:
    """Materializations of one asset, newest first (oldest first with ``ascending``), after
    ``cursor``, from the asset index."""
    where = "fetch_materializations"
    wanted = as_records_filter(records_filter, where)
    limit = _check_limit(limit, where)
    after, before = wanted.after_storage_id, wanted.before_storage_id
    position = _cursor_id(cursor, where)
    if position is not None and ascending:
        after = position if after is None else max(after, position)
    elif position is not None:
        before = position if before is None else min(before, position)
    partitions = list(wanted.asset_partitions) if wanted.asset_partitions is not None else None
    if not ascending:
        rows = storage.get_materializations(
            wanted.asset_key, partitions=partitions, before=before, limit=limit + 1
        )
        rows = [r for r in rows if after is None or r.storage_id > after]
        page = rows[:limit]
        last = page[-1].storage_id if page else position
    else:
        # newest first from the index, back to the cursor, then the oldest of those
        newer: list[EventRecord] = []
        while True:
            rows = storage.get_materializations(
                wanted.asset_key, partitions=partitions, before=before, limit=_PAGE
            )
            fresh = [r for r in rows if after is None or r.storage_id > after]
            newer.extend(fresh)
            if len(rows) < _PAGE or len(fresh) < len(rows):
                break
            before = rows[-1].storage_id
        newer.reverse()
        page, rows = newer[:limit], newer
        last = page[-1].storage_id if page else (after if after is not None else position)
    return EventRecordsResult(
        records=[EventLogRecord.of(r) for r in page],
        cursor=str(last if last is not None else 0),
        has_more=len(rows) > limit,
    )


def latest_materialization_entry(storage: Storage, key: AssetKey) -> EventLogEntry | None:
    record = storage.get_latest_materialization(AssetKey.from_coercible(key))
    return EventLogEntry(record.event, record.storage_id) if record is not None else None


def latest_materialization_entries(
    storage: Storage, keys: Sequence[AssetKey]
) -> dict[AssetKey, EventLogEntry | None]:
    wanted = [AssetKey.from_coercible(k) for k in keys]
    found = storage.get_latest_materializations(wanted)
    return {
        key: EventLogEntry(found[key].event, found[key].storage_id) if key in found else None
        for key in wanted
    }


def fetch_run_status_changes(
    storage: Storage, event_type: EventType | str, limit: int, cursor: str | None = None
) -> EventRecordsResult:
    """Events of runs reaching ``event_type`` (RUN_SUCCESS, RUN_FAILURE, ...) after ``cursor``,
    oldest first. The storage ids after the cursor are read in pages; each event is seen once,
    including events that commit late."""
    where = "fetch_run_status_changes"
    if isinstance(event_type, str) and event_type in EventType.__members__:
        event_type = EventType[event_type]
    if event_type not in RUN_STATUS_EVENT_TYPES:
        names = ", ".join(sorted(t.value for t in RUN_STATUS_EVENT_TYPES))
        raise InvalidInvocationError(
            f"{where}: {event_type!r} is not a run status event; use one of {names}."
        )
    limit = _check_limit(limit, where)
    after = _cursor_id(cursor, where) or 0
    found: list[EventRecord] = []
    while len(found) < limit:
        page = storage.tail_events(after=after, limit=_PAGE)
        for record in page.records:
            after = record.storage_id
            if record.event.event_type is event_type:
                found.append(record)
                if len(found) == limit:
                    break
        if not page.has_more or len(found) == limit:
            if len(found) < limit:
                after = page.cursor
            break
    more = len(found) == limit
    return EventRecordsResult([EventLogRecord.of(r) for r in found], str(after), more)


def recent_cursor(storage: Storage) -> str:
    """A cursor at or shortly before the end of the event log, found without a scan: the
    last storage id of the newest run. Every event committed later has a higher id."""
    newest = storage.get_runs(limit=1).records
    if not newest:
        return "0"
    after = 0
    while True:
        page = storage.get_events_for_run(newest[0].run.run_id, after=after, limit=_PAGE)
        after = page.cursor
        if not page.has_more:
            return str(after)
