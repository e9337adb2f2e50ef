"""Reading the event log the way sensor code does: records of an asset's materializations
and observations and of runs changing status, each with the storage id a cursor remembers.

Every read goes through the asset index (events of one key) or the index on (event type,
storage id) (run status changes), never a scan of the whole log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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


class _AssetEventReader(Protocol):
    def __call__(
        self,
        asset_key: AssetKey,
        *,
        partitions: Sequence[str] | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> Sequence[EventRecord]: ...


@dataclass(frozen=True, init=False)
class RunStatusChangeRecordsFilter:
    """Which run status events to fetch: one event type (RUN_SUCCESS, RUN_FAILURE, ...),
    optionally only after / before a timestamp or a storage id, only some storage ids, or
    only runs of some jobs."""

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
        for name, stamp in (
            ("after_timestamp", after_timestamp),
            ("before_timestamp", before_timestamp),
        ):
            if stamp is not None and (
                isinstance(stamp, bool) or not isinstance(stamp, (int, float))
            ):
                raise InvalidInvocationError(
                    f"{owner}: {name} must be a Unix timestamp in seconds or None, got {stamp!r}."
                )
            set_(self, name, None if stamp is None else float(stamp))
        for name, value in (
            ("after_storage_id", after_storage_id),
            ("before_storage_id", before_storage_id),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidInvocationError(
                    f"{owner}: {name} must be a storage id (an int) or None, got {value!r}."
                )
            set_(self, name, value)
        set_(self, "storage_ids", _listed(owner, "storage_ids", storage_ids, int))
        set_(self, "job_names", _listed(owner, "job_names", job_names, str))


def _listed(owner: str, name: str, values: object, kind: type) -> tuple[Any, ...] | None:
    if values is None:
        return None
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, Sequence)
        or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values)
    ):
        raise InvalidInvocationError(
            f"{owner}: {name} must be a list of {kind.__name__}s or None, got {values!r}."
        )
    return tuple(values)


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


def _bounds(
    after: int | None, before: int | None, position: int | None, ascending: bool
) -> tuple[int | None, int | None]:
    """The storage-id window a filter and a cursor leave: a cursor continues past itself in
    the direction of the read."""
    if position is not None and ascending:
        after = position if after is None else max(after, position)
    elif position is not None:
        before = position if before is None else min(before, position)
    return after, before


def fetch_materializations(
    storage: Storage,
    records_filter: AssetKey | AssetRecordsFilter,
    limit: int,
    cursor: str | None = None,
    ascending: bool = False,
) -> EventRecordsResult:
    """Materializations of one asset, newest first (oldest first with ``ascending``), after
    ``cursor``, from the asset index."""
    return _fetch_asset_events(
        storage.get_materializations,
        "fetch_materializations",
        records_filter,
        limit,
        cursor,
        ascending,
    )


def fetch_observations(
    storage: Storage,
    records_filter: AssetKey | AssetRecordsFilter,
    limit: int,
    cursor: str | None = None,
    ascending: bool = False,
) -> EventRecordsResult:
    """Observations of one asset, as :func:`fetch_materializations` reads materializations."""
    return _fetch_asset_events(
        storage.get_observations, "fetch_observations", records_filter, limit, cursor, ascending
    )


def _fetch_asset_events(
    read: _AssetEventReader,
    where: str,
    records_filter: AssetKey | AssetRecordsFilter,
    limit: int,
    cursor: str | None,
    ascending: bool,
) -> EventRecordsResult:
    wanted = as_records_filter(records_filter, where)
    limit = _check_limit(limit, where)
    position = _cursor_id(cursor, where)
    after, before = _bounds(wanted.after_storage_id, wanted.before_storage_id, position, ascending)
    partitions = list(wanted.asset_partitions) if wanted.asset_partitions is not None else None
    if not ascending:
        rows = read(wanted.asset_key, partitions=partitions, before=before, limit=limit + 1)
        rows = [r for r in rows if after is None or r.storage_id > after]
        page = rows[:limit]
        last = page[-1].storage_id if page else position
    else:
        # newest first from the index, back to the cursor, then the oldest of those
        newer: list[EventRecord] = []
        while True:
            rows = read(wanted.asset_key, partitions=partitions, before=before, limit=_PAGE)
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
    storage: Storage,
    records_filter: EventType | str | RunStatusChangeRecordsFilter,
    limit: int,
    cursor: str | None = None,
    ascending: bool = False,
) -> EventRecordsResult:
    """Events of runs reaching one status, newest first (oldest first with ``ascending``),
    past ``cursor``, read through the (event type, storage id) index. Storage ids become
    visible in id order, so an ascending reader that keeps passing back the cursor sees each
    event once, including events that commit late."""
    where = "fetch_run_status_changes"
    wanted = as_run_status_filter(records_filter, where)
    limit = _check_limit(limit, where)
    position = _cursor_id(cursor, where)
    after, before = _bounds(wanted.after_storage_id, wanted.before_storage_id, position, ascending)
    ids = frozenset(wanted.storage_ids) if wanted.storage_ids is not None else None
    jobs = frozenset(wanted.job_names) if wanted.job_names is not None else None
    if ids is not None and ids:  # only the window the listed ids span
        after = min(ids) - 1 if after is None else max(after, min(ids) - 1)
        before = max(ids) + 1 if before is None else min(before, max(ids) + 1)
    found: list[EventRecord] = []
    size = limit + 1 if ids is None and jobs is None else _PAGE
    while ids is None or ids:
        rows = storage.get_events_of_type(
            wanted.event_type,
            after=after,
            before=before,
            limit=size,
            newest_first=not ascending,
            after_timestamp=wanted.after_timestamp,
            before_timestamp=wanted.before_timestamp,
        )
        found += [
            r
            for r in rows
            if (ids is None or r.storage_id in ids) and (jobs is None or r.event.job_name in jobs)
        ]
        if len(rows) < size or len(found) > limit:
            break
        after, before = (rows[-1].storage_id, before) if ascending else (after, rows[-1].storage_id)
    page = found[:limit]
    last = page[-1].storage_id if page else position
    return EventRecordsResult(
        [EventLogRecord.of(r) for r in page],
        str(last if last is not None else 0),
        len(found) > limit,
    )


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
