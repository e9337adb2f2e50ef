"""Reading the event log the way sensor code does: records of an asset's materializations
and observations and of runs changing status, each with the storage id a cursor remembers.

Every read goes through the asset index (events of one key) or the index on (event type,
storage id) (run status changes), never a scan of the whole log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from knoll.defs.event_filters import (
    AssetRecordsFilter,
    as_records_filter,
    check_bounds,
    check_id_bounds,
    listed,
)
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
# the instance method that reads each kind of asset event, for error messages
_ASSET_READERS = {
    EventType.ASSET_MATERIALIZATION: "fetch_materializations",
    EventType.ASSET_OBSERVATION: "fetch_observations",
}


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


@dataclass(frozen=True, init=False)
class RunStatusChangeRecordsFilter:
    """Which run status events to fetch: one event type (RUN_SUCCESS, RUN_FAILURE, ...),
    optionally only after / before a timestamp or a storage id (all exclusive), only some
    storage ids, or only runs of some jobs."""

    event_type: EventType
    after_timestamp: float | None
    before_timestamp: float | None
    after_storage_id: int | None
    before_storage_id: int | None
    storage_ids: tuple[int, ...] | None
    job_names: tuple[str, ...] | None

    def __init__(
        self,
        event_type: EventType | str,
        after_timestamp: float | None = None,
        before_timestamp: float | None = None,
        after_storage_id: int | None = None,
        before_storage_id: int | None = None,
        storage_ids: Sequence[int] | None = None,
        job_names: Sequence[str] | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "event_type", run_status_event_type(event_type, "RunStatusChangeRecordsFilter"))
        owner = f"RunStatusChangeRecordsFilter({self.event_type.value})"
        check_bounds(self, owner, after_timestamp, before_timestamp)
        check_id_bounds(self, owner, after_storage_id, before_storage_id)
        set_(self, "storage_ids", listed(owner, "storage_ids", storage_ids, int))
        set_(self, "job_names", listed(owner, "job_names", job_names, str))


def run_status_event_type(value: object, where: str) -> EventType:
    """``value`` as a run status event type (an EventType or its name), or an error."""
    if isinstance(value, str) and value in EventType.__members__:
        value = EventType[value]
    if isinstance(value, EventType) and value in RUN_STATUS_EVENT_TYPES:
        return value
    names = ", ".join(sorted(t.value for t in RUN_STATUS_EVENT_TYPES))
    raise InvalidInvocationError(
        f"{where}: {value!r} is not a run status event; use one of {names}."
    )


def as_run_status_filter(value: object, where: str) -> RunStatusChangeRecordsFilter:
    """A run status event type or filter, as a filter; anything else is an error."""
    if isinstance(value, RunStatusChangeRecordsFilter):
        return value
    if isinstance(value, (EventType, str)):
        return RunStatusChangeRecordsFilter(run_status_event_type(value, where))
    raise InvalidInvocationError(
        f"{where} takes a run status EventType or a RunStatusChangeRecordsFilter, got "
        f"{type(value).__name__} {value!r}; for example EventType.RUN_SUCCESS."
    )


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


class _Read(Protocol):
    """One storage read of a window of ids, either way (``get_events_of_type``'s shape)."""

    def __call__(
        self, *, after: int | None, before: int | None, limit: int, newest_first: bool
    ) -> Sequence[EventRecord]: ...


@dataclass(frozen=True)
class _Query:
    """What every record read shares: its bounds (from a filter), its cursor and its page."""

    where: str
    after: int | None
    before: int | None
    storage_ids: tuple[int, ...] | None
    limit: int
    cursor: str | None
    ascending: bool

    @staticmethod
    def of(
        wanted: AssetRecordsFilter | RunStatusChangeRecordsFilter,
        where: str,
        limit: int,
        cursor: str | None,
        ascending: bool,
    ) -> _Query:
        ids = (wanted.after_storage_id, wanted.before_storage_id, wanted.storage_ids)
        return _Query(where, *ids, limit, cursor, ascending)

    def fetch(self, read: _Read, keep: Callable[[RunEvent], bool] | None) -> EventRecordsResult:
        """Read ``limit`` records past the cursor in the read's direction. Bounds are
        exclusive and a cursor narrows them as Dagster's does: an ascending read continues
        after it, a descending one before it. Storage ids become visible in id order, so an
        ascending reader that keeps passing back the cursor sees each event once, including
        events that commit late."""
        limit = _check_limit(self.limit, self.where)
        position = _cursor_id(self.cursor, self.where)
        after, before = self.after, self.before
        if position is not None and self.ascending:
            after = position if after is None else max(after, position)
        elif position is not None:
            before = position if before is None else min(before, position)
        ids = frozenset(self.storage_ids) if self.storage_ids is not None else None
        if ids is not None and ids:  # only the window the listed ids span
            after = min(ids) - 1 if after is None else max(after, min(ids) - 1)
            before = max(ids) + 1 if before is None else min(before, max(ids) + 1)
        found: list[EventRecord] = []
        size = limit + 1 if ids is None and keep is None else _PAGE
        while ids is None or ids:
            rows = read(after=after, before=before, limit=size, newest_first=not self.ascending)
            found += [
                r
                for r in rows
                if (ids is None or r.storage_id in ids) and (keep is None or keep(r.event))
            ]
            if len(rows) < size or len(found) > limit:
                break
            if self.ascending:
                after = rows[-1].storage_id
            else:
                before = rows[-1].storage_id
        page = found[:limit]
        last = page[-1].storage_id if page else position
        return EventRecordsResult(
            [EventLogRecord.of(r) for r in page],
            str(last if last is not None else 0),
            len(found) > limit,
        )


def fetch_asset_events(
    storage: Storage,
    event_type: EventType,
    records_filter: AssetKey | AssetRecordsFilter,
    limit: int,
    cursor: str | None = None,
    ascending: bool = False,
) -> EventRecordsResult:
    """Materializations (or observations) of one asset, newest first (oldest first with
    ``ascending``), past ``cursor``, read through the asset index."""
    where = _ASSET_READERS.get(event_type, f"fetch of {event_type.value} events")
    wanted = as_records_filter(records_filter, where)
    partitions = list(wanted.asset_partitions) if wanted.asset_partitions is not None else None

    def read(
        *, after: int | None, before: int | None, limit: int, newest_first: bool
    ) -> Sequence[EventRecord]:
        return storage.get_asset_events(
            event_type,
            wanted.asset_key,
            partitions=partitions,
            after=after,
            before=before,
            # a zero timestamp bounds nothing, as in Dagster
            after_timestamp=wanted.after_timestamp or None,
            before_timestamp=wanted.before_timestamp or None,
            limit=limit,
            newest_first=newest_first,
        )

    query = _Query.of(wanted, where, limit, cursor, ascending)
    return query.fetch(read, None)


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
    storage: Storage,
    records_filter: EventType | str | RunStatusChangeRecordsFilter,
    limit: int,
    cursor: str | None = None,
    ascending: bool = False,
) -> EventRecordsResult:
    """Events of runs reaching one status, newest first (oldest first with ``ascending``),
    past ``cursor``, read through the (event type, storage id) index."""
    where = "fetch_run_status_changes"
    wanted = as_run_status_filter(records_filter, where)
    jobs = frozenset(wanted.job_names) if wanted.job_names is not None else None

    def read(
        *, after: int | None, before: int | None, limit: int, newest_first: bool
    ) -> Sequence[EventRecord]:
        return storage.get_events_of_type(
            wanted.event_type,
            after=after,
            before=before,
            limit=limit,
            newest_first=newest_first,
            after_timestamp=wanted.after_timestamp,
            before_timestamp=wanted.before_timestamp,
        )

    query = _Query.of(wanted, where, limit, cursor, ascending)
    return query.fetch(read, None if jobs is None else lambda event: event.job_name in jobs)


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
