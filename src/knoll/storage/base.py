"""The storage interfaces: one per concern, each implemented by every backend.

Backends: ``InMemoryStorage`` (tests, ephemeral instances), ``SqlStorage`` on SQLite (the
default) and on PostgreSQL. One conformance suite per interface runs against all three.

The event log is the source of truth. ``EventLogStorage.store_events`` appends a batch of
events in one transaction and, in that same transaction, updates what is derived from them:
the run's status (RUN_START, RUN_SUCCESS, ...), the asset index (latest materialization per
asset and per partition, counts, last run), partition status and latest check results.
"""

from __future__ import annotations

import enum
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from knoll._serdes import serializable
from knoll.defs.automation_eval_records import AutomationEvaluationRecord
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.errors import InvalidInvocationError
from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import Run, RunStatus
from knoll.storage.access import AccessStorage

# The rules every backend applies in store_events and prune_run_events.

# Run events that move a run's status, and where to.
RUN_STATUS_BY_EVENT: Mapping[EventType, RunStatus] = {
    EventType.RUN_STARTING: RunStatus.STARTING,
    EventType.RUN_START: RunStatus.STARTED,
    EventType.RUN_SUCCESS: RunStatus.SUCCESS,
    EventType.RUN_FAILURE: RunStatus.FAILURE,
    EventType.RUN_CANCELED: RunStatus.CANCELED,
}

# What prune_run_events keeps: the asset history.
ASSET_HISTORY_EVENTS = frozenset(
    {
        EventType.ASSET_MATERIALIZATION,
        EventType.ASSET_OBSERVATION,
        EventType.ASSET_CHECK_EVALUATION,
    }
)


# ---- runs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """A stored run with its bookkeeping timestamps (seconds since the epoch, UTC)."""

    storage_id: int
    run: Run
    create_timestamp: float
    update_timestamp: float
    start_time: float | None = None
    end_time: float | None = None


@dataclass(frozen=True)
class RunsFilter:
    """Which runs to list. Every field narrows the result; ``None`` means no condition."""

    run_ids: Sequence[str] | None = None
    job_name: str | None = None
    statuses: Sequence[RunStatus] | None = None
    tags: Mapping[str, str] | None = None  # every tag must match
    asset_key: AssetKey | None = None  # runs that selected this asset
    created_after: float | None = None
    created_before: float | None = None


@dataclass(frozen=True)
class RunsPage:
    """One page of runs, newest first, and the cursor for the next page (None at the end)."""

    records: Sequence[RunRecord]
    cursor: str | None


class RunStorage(ABC):
    """Runs: their config, tags, lineage and one status that only moves along the state
    machine in ``knoll.execution.run``."""

    @abstractmethod
    def add_run(self, run: Run) -> RunRecord:
        """Store a new run. A run id that exists already raises ``StorageError``."""

    @abstractmethod
    def add_runs(self, runs: Sequence[Run]) -> Sequence[RunRecord]:
        """Store new runs at once (one transaction), in order: all of them or, when a run id
        is stored already or given twice, none, raising ``RunAlreadyStoredError``."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord | None: ...

    @abstractmethod
    def get_runs(
        self, filters: RunsFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> RunsPage:
        """Runs matching ``filters``, newest first, paged by keyset (never OFFSET)."""

    @abstractmethod
    def count_runs(self, filters: RunsFilter | None = None) -> int: ...

    @abstractmethod
    def update_run_status(self, run_id: str, status: RunStatus) -> RunRecord:
        """Move a run to ``status``; an illegal move raises ``RunStatusError``, and two
        writers racing never both succeed with contradicting moves."""

    @abstractmethod
    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None: ...

    @abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run and its events."""


# ---- events and the asset index ---------------------------------------------------------


@serializable()
class PartitionStatus(enum.Enum):
    MATERIALIZED = "MATERIALIZED"
    FAILED = "FAILED"
    IN_PROGRESS = "IN_PROGRESS"
    MISSING = "MISSING"  # never stored: what an unknown partition is


@dataclass(frozen=True)
class EventRecord:
    """A stored event and its storage id. Storage ids increase in commit order."""

    storage_id: int
    event: RunEvent


@dataclass(frozen=True)
class EventsPage:
    records: Sequence[EventRecord]
    cursor: int  # pass back as ``after`` to continue; unchanged when nothing new
    has_more: bool


@dataclass(frozen=True)
class AssetRecord:
    """What the asset index knows about one asset, answerable without scanning events."""

    asset_key: AssetKey
    last_materialization: EventRecord | None
    last_run_id: str | None
    materialization_count: int
    last_observation: EventRecord | None = None
    # latest evaluation of each of its checks
    check_results: Mapping[str, AssetCheckEvaluation] = field(default_factory=dict)


@dataclass(frozen=True)
class EventWindow:
    """The storage-id and timestamp bounds of an event read (all exclusive), and its order."""

    after: int | None = None
    before: int | None = None
    after_timestamp: float | None = None
    before_timestamp: float | None = None
    newest_first: bool = False

    def holds(self, stamp: float) -> bool:
        """Whether an event with timestamp ``stamp`` is inside the timestamp bounds."""
        return (self.after_timestamp is None or stamp > self.after_timestamp) and (
            self.before_timestamp is None or stamp < self.before_timestamp
        )


class EventLogStorage(ABC):
    """The append-only event log and the indexes derived from it."""

    @abstractmethod
    def store_events(self, events: Sequence[RunEvent]) -> None:
        """Append ``events`` in one transaction and update runs and indexes in the same one."""

    @abstractmethod
    def get_events_for_run(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int | None = None,
        of_types: Sequence[EventType] | None = None,
        step_key: str | None = None,
    ) -> EventsPage:
        """A run's events in order, after storage id ``after``."""

    @abstractmethod
    def tail_events(self, *, after: int = 0, limit: int = 1000) -> EventsPage:
        """Every event after storage id ``after``, in order. A reader that keeps passing back
        the returned cursor sees each event exactly once, including events whose transaction
        commits late (see docs/storage.md)."""

    @abstractmethod
    def last_event_id(self) -> int:
        """The highest storage id of the log (0 when it is empty). Every event stored but not
        yet visible gets a higher id, so a reader that tails from it misses nothing committed
        after the call; it reads one index entry, never the log."""

    @abstractmethod
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
        """Events of one type with a storage id strictly between ``after`` and ``before`` (and
        a timestamp strictly between the two timestamps), oldest first or ``newest_first``,
        read through the index on (event type, storage id)."""

    @abstractmethod
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
        """Events of one type (a materialization, an observation...) of one asset, optionally
        of some partitions, with a storage id strictly between ``after`` and ``before`` and a
        timestamp strictly between the two timestamps, newest first (oldest first without
        ``newest_first``), read through the index on (asset key, event type, storage id)."""

    def get_materializations(
        self,
        asset_key: AssetKey,
        *,
        partitions: Sequence[str] | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> Sequence[EventRecord]:
        """Materializations of an asset, newest first."""
        return self.get_asset_events(
            EventType.ASSET_MATERIALIZATION,
            asset_key,
            partitions=partitions,
            before=before,
            limit=limit,
        )

    def get_observations(
        self,
        asset_key: AssetKey,
        *,
        partitions: Sequence[str] | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> Sequence[EventRecord]:
        """Observations of an asset, newest first (as ``get_materializations``)."""
        return self.get_asset_events(
            EventType.ASSET_OBSERVATION,
            asset_key,
            partitions=partitions,
            before=before,
            limit=limit,
        )

    @abstractmethod
    def get_asset_records(
        self, asset_keys: Sequence[AssetKey] | None = None
    ) -> Sequence[AssetRecord]:
        """Index rows of the given assets (all assets ever recorded when ``None``)."""

    @abstractmethod
    def get_latest_materializations(
        self, asset_keys: Sequence[AssetKey]
    ) -> Mapping[AssetKey, EventRecord]:
        """The latest materialization of each asset that has one, in one query."""

    def get_latest_materialization(self, asset_key: AssetKey) -> EventRecord | None:
        """The latest materialization of one asset (backends answer this with one lookup)."""
        return self.get_latest_materializations([asset_key]).get(asset_key)

    @abstractmethod
    def get_partition_status(self, asset_key: AssetKey) -> Mapping[str, PartitionStatus]:
        """Status of every partition of an asset that has one; absent keys are MISSING."""

    @abstractmethod
    def get_latest_check_results(
        self, check_keys: Sequence[AssetCheckKey]
    ) -> Mapping[AssetCheckKey, AssetCheckEvaluation]: ...

    @abstractmethod
    def prune_run_events(self, run_ids: Sequence[str]) -> int:
        """Delete the given runs' events except materializations, observations and check
        evaluations (the asset history); returns how many were deleted."""


# ---- schedules, sensors and their ticks (used by the daemon) ------------------------------


@serializable()
class InstigatorType(enum.Enum):
    SCHEDULE = "SCHEDULE"
    SENSOR = "SENSOR"


@serializable()
class InstigatorStatus(enum.Enum):
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"


@serializable()
class TickStatus(enum.Enum):
    STARTED = "STARTED"
    SKIPPED = "SKIPPED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True)
class InstigatorState:
    """A schedule's or sensor's state: running or not, and a sensor's cursor."""

    location: str
    name: str
    instigator_type: InstigatorType
    status: InstigatorStatus
    cursor: str | None = None
    updated_timestamp: float = 0.0


@dataclass(frozen=True)
class Tick:
    """One evaluation of a schedule or sensor.

    ``tick_key`` names the tick among its instigator's (a schedule's scheduled time, a
    sensor's tick number): storage keeps one tick per key, which is what lets a daemon that
    restarts, or a second daemon, find a tick begun before instead of making another.
    ``evaluation`` is what the evaluation decided (versioned JSON, recorded once), so a tick
    that is taken up again creates the same runs. ``timestamp`` is a schedule's scheduled
    time or when a sensor's tick began; ``started_timestamp`` and ``end_timestamp`` are when
    the daemon took the tick up (the last time, if it was taken up again) and ended it.
    """

    tick_id: int
    location: str
    name: str
    instigator_type: InstigatorType
    status: TickStatus
    timestamp: float
    run_ids: tuple[str, ...] = ()
    run_keys: tuple[str, ...] = ()
    skip_reason: str | None = None
    error: str | None = None
    cursor: str | None = None
    tick_key: str | None = None
    evaluation: str | None = None
    started_timestamp: float | None = None
    end_timestamp: float | None = None

    @property
    def is_finished(self) -> bool:
        return self.status is not TickStatus.STARTED


class ScheduleStorage(ABC):
    @abstractmethod
    def get_instigator_state(self, location: str, name: str) -> InstigatorState | None: ...

    @abstractmethod
    def set_instigator_state(self, state: InstigatorState) -> None: ...

    @abstractmethod
    def create_tick(
        self,
        location: str,
        name: str,
        instigator_type: InstigatorType,
        timestamp: float,
    ) -> Tick: ...

    @abstractmethod
    def get_instigator_states(
        self, instigator_type: InstigatorType | None = None
    ) -> Sequence[InstigatorState]:
        """Every stored state (of one type), by location then name."""

    @abstractmethod
    def claim_tick(
        self,
        location: str,
        name: str,
        instigator_type: InstigatorType,
        tick_key: str,
        timestamp: float,
    ) -> Tick:
        """The tick ``tick_key`` of the instigator: a new STARTED one, or the one stored
        already under that key (whatever its status), so that no key is ever ticked twice."""

    @abstractmethod
    def record_tick_evaluation(self, tick_id: int, evaluation: str) -> str:
        """Record what tick ``tick_id``'s evaluation decided, unless one was recorded already;
        returns the recorded one, which every daemon that works on the tick then follows."""

    @abstractmethod
    def update_tick(self, tick: Tick, *, state: InstigatorState | None = None) -> Tick:
        """Store ``tick``; with ``state``, store the instigator's state (a sensor's new cursor,
        a schedule's last tick) in the same transaction, so neither is kept without the other.
        A stored state keeps its status then (it may have been started or stopped meanwhile):
        only its cursor and update time change."""

    @abstractmethod
    def get_ticks(
        self,
        location: str,
        name: str,
        *,
        limit: int = 100,
        before: tuple[float, int] | None = None,
    ) -> Sequence[Tick]:
        """Newest first (by timestamp, then tick id); with ``before`` (the timestamp and id of
        the last tick of a page), the ticks after it in that order."""


# ---- backfills (used by the daemon) ------------------------------------------------------


@serializable()
class BackfillStatus(enum.Enum):
    REQUESTED = "REQUESTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"


@dataclass(frozen=True)
class Backfill:
    backfill_id: str
    status: BackfillStatus
    created_timestamp: float
    body: Mapping[str, Any]  # the request: selection, partitions, tags (JSON data)


class BackfillStorage(ABC):
    @abstractmethod
    def add_backfill(self, backfill: Backfill) -> None: ...

    @abstractmethod
    def get_backfill(self, backfill_id: str) -> Backfill | None: ...

    @abstractmethod
    def update_backfill(self, backfill: Backfill) -> None: ...

    @abstractmethod
    def get_backfills(
        self,
        *,
        status: BackfillStatus | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> Sequence[Backfill]:
        """Newest first; with ``before`` (the id of the last backfill of a page), the ones
        stored before it (none when no backfill has that id)."""


# ---- dynamic partitions and key-value ----------------------------------------------------


class DynamicPartitionsStorage(ABC):
    """Keys of dynamic partitions definitions; satisfies ``DynamicPartitionsStore``."""

    @abstractmethod
    def get_dynamic_partitions(self, name: str) -> Sequence[str]: ...

    @abstractmethod
    def has_dynamic_partition(self, name: str, key: str) -> bool: ...

    @abstractmethod
    def add_dynamic_partitions(self, name: str, keys: Sequence[str]) -> None: ...

    @abstractmethod
    def delete_dynamic_partition(self, name: str, key: str) -> None: ...


class KeyValueStorage(ABC):
    @abstractmethod
    def kv_get(self, keys: Sequence[str]) -> Mapping[str, str]: ...

    @abstractmethod
    def kv_set(self, pairs: Mapping[str, str]) -> None: ...


# ---- duty leases and daemon heartbeats ---------------------------------------------------

QUEUE_LEASE = "run_queue"
"""The name of the run queue's dequeue lease (``acquire_queue_lease`` and its siblings)."""


@serializable()
@dataclass(frozen=True)
class Lease:
    """A named lease as stored: who holds it, when they took it, when they last renewed it
    and when it runs out (seconds since the epoch). Past ``expires_at`` anyone may take it."""

    name: str
    owner: str
    acquired_at: float
    renewed_at: float
    expires_at: float

    def is_held(self, now: float | None = None) -> bool:
        """Whether the lease is still live at ``now`` (default: the current time)."""
        return (time.time() if now is None else now) < self.expires_at


@serializable()
@dataclass(frozen=True)
class DaemonHeartbeat:
    """One heartbeat of one duty's loop in one daemon: when it beat, the errors the loop met
    since its previous beat (messages, oldest first; empty when all went well) and free-form
    facts about the loop (``{"interval": "30"}``, for example)."""

    daemon_id: str
    duty: str
    timestamp: float
    errors: tuple[str, ...] = ()
    info: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # a list of errors or a caller's own dict is kept as a copy that cannot change
        object.__setattr__(self, "errors", tuple(self.errors))
        object.__setattr__(self, "info", dict(self.info))


def check_lease_name(name: object) -> None:
    """Raise ``InvalidInvocationError`` for a lease name that cannot be stored."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInvocationError(
            f"lease name {name!r} is not valid: give a non-empty string naming the duty the "
            "lease guards, such as 'schedules'."
        )


def check_lease_owner(name: str, owner: object) -> None:
    """Raise ``InvalidInvocationError`` for an owner that cannot hold lease ``name``."""
    if not isinstance(owner, str) or not owner:
        raise InvalidInvocationError(
            f"owner {owner!r} of lease {name!r} is not valid: give a non-empty string that no "
            "other process uses, such as 'host:pid'."
        )


def _lease_subject(name: str) -> str:
    return "the run queue" if name == QUEUE_LEASE else repr(name)


def check_lease_arguments(name: object, owner: object, ttl_seconds: object) -> None:
    """The checks of ``acquire_lease`` and ``renew_lease``: name, owner and duration."""
    check_lease_name(name)
    assert isinstance(name, str)
    check_lease_owner(name, owner)
    check_lease_seconds(_lease_subject(name), ttl_seconds, argument="ttl_seconds")


def check_daemon_heartbeat(heartbeat: object) -> None:
    """Raise ``InvalidInvocationError`` for a heartbeat that cannot be stored."""
    if not isinstance(heartbeat, DaemonHeartbeat):
        raise InvalidInvocationError(
            f"record_daemon_heartbeat takes a DaemonHeartbeat, got {type(heartbeat).__name__}: "
            "pass DaemonHeartbeat(daemon_id, duty, timestamp)."
        )
    names: tuple[tuple[str, object], ...] = (
        ("daemon_id", heartbeat.daemon_id),
        ("duty", heartbeat.duty),
    )
    for what, value in names:
        if not isinstance(value, str) or not value:
            raise InvalidInvocationError(
                f"the {what} of a daemon heartbeat is {value!r}: give a non-empty string "
                "(daemon_id names the daemon process, duty its loop, such as 'schedules')."
            )
    stamp: object = heartbeat.timestamp
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp):
        raise InvalidInvocationError(
            f"the timestamp of the heartbeat of duty {heartbeat.duty!r} is {stamp!r}: give "
            "seconds since the epoch, such as time.time()."
        )


class DaemonStorage(ABC):
    """Named duty leases, so that one daemon at a time runs each duty, and the heartbeats
    of the daemons' loops.

    A lease is held by one owner until it expires; the holder extends it with
    ``renew_lease`` (its heartbeat). Every change is one conditional statement in one
    transaction, so two processes racing for a lease never both get it. ``now`` (seconds
    since the epoch) replaces the clock, for tests that simulate time.
    """

    @abstractmethod
    def acquire_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        """Take lease ``name`` for ``owner`` until ``now + ttl_seconds``: True if ``owner``
        holds it now (it was free, expired, or ``owner``'s already: then it is extended and
        keeps its ``acquired_at``), False while another owner's lease is live."""

    @abstractmethod
    def renew_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        """Extend ``owner``'s live lease to ``now + ttl_seconds``: False, changing nothing,
        when ``owner`` does not hold it or it expired (acquire it again then)."""

    @abstractmethod
    def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up if ``owner`` holds it: True if it did, False otherwise."""

    @abstractmethod
    def get_lease(self, name: str) -> Lease | None:
        """The stored lease (live or expired, see ``Lease.is_held``); None when it was never
        taken or was released."""

    @abstractmethod
    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        """Keep ``heartbeat`` as the latest of its daemon and duty (an older one than the
        stored one is ignored)."""

    @abstractmethod
    def get_daemon_heartbeats(self) -> Sequence[DaemonHeartbeat]:
        """The latest heartbeat of every daemon and duty, by duty, then daemon id."""


# ---- retention of the daemon's bookkeeping -----------------------------------------------


class RetentionStorage(ABC):
    """Deleting old ticks and daemon heartbeats (the daemon's ``retention`` duty)."""

    @abstractmethod
    def delete_ticks(self, before: float, *, keep_last: int = 0) -> int:
        """Delete the ticks with a timestamp before ``before`` (seconds since the epoch), except
        the newest ``keep_last`` of each schedule and sensor: how many were deleted."""

    @abstractmethod
    def delete_daemon_heartbeats(self, before: float) -> int:
        """Delete the daemon heartbeats that beat before ``before``: how many were deleted."""


# ---- the run queue and concurrency pools --------------------------------------------------

PRIORITY_TAG = "knoll/priority"
"""Run tag holding an integer: queued runs with a higher priority start first (default 0)."""

IN_PROGRESS_STATUSES = frozenset({RunStatus.STARTING, RunStatus.STARTED, RunStatus.CANCELING})
"""The statuses that count against the run queue's limits."""


def run_priority(run: Run) -> int:
    """The run's ``knoll/priority`` tag as an integer; 0 when absent or not an integer."""
    try:
        return int(run.tags.get(PRIORITY_TAG, 0))
    except ValueError:
        return 0


class RunQueueStorage(DaemonStorage):
    """What the run queue reads and the lease that lets one dequeuer at a time start runs."""

    @abstractmethod
    def get_queued_runs(self, *, limit: int | None = None) -> Sequence[RunRecord]:
        """QUEUED runs in dequeue order: higher ``knoll/priority`` first, then oldest first."""

    @abstractmethod
    def count_in_progress_runs(self) -> int:
        """How many runs are STARTING, STARTED or CANCELING."""

    @abstractmethod
    def count_in_progress_runs_by_tag(self, keys: Sequence[str]) -> Mapping[tuple[str, str], int]:
        """In-progress runs per ``(tag key, tag value)`` for the given tag keys."""

    @abstractmethod
    def claim_queued_run(self, run_id: str) -> RunRecord | None:
        """Move the run from QUEUED to STARTING, only if it is still QUEUED: the record
        moved, or None when it was not QUEUED (another dequeuer started it, or it was
        cancelled). Two callers racing never both get the record."""

    # The dequeue lease is the duty lease named QUEUE_LEASE: these keep the queue's own names.

    def acquire_queue_lease(
        self, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        """Take (or extend) the dequeue lease for ``ttl_seconds``: True if ``owner`` holds it
        now, False if another owner holds a lease that has not expired."""
        check_lease_seconds("the run queue", ttl_seconds)
        return self.acquire_lease(QUEUE_LEASE, owner, ttl_seconds, now=now)

    def renew_queue_lease(
        self, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        """Extend ``owner``'s lease; False when ``owner`` no longer holds it."""
        check_lease_seconds("the run queue", ttl_seconds)
        return self.renew_lease(QUEUE_LEASE, owner, ttl_seconds, now=now)

    def release_queue_lease(self, owner: str) -> None:
        """Give the lease up if ``owner`` holds it (nothing otherwise)."""
        self.release_lease(QUEUE_LEASE, owner)


@dataclass(frozen=True)
class SlotLease:
    """A concurrency slot held by one step of one run, until ``expires_at`` unless renewed."""

    pool: str
    run_id: str
    step_key: str
    claimed_at: float
    expires_at: float


def check_pool_limit(pool: object, limit: object) -> None:
    """Raise ``InvalidInvocationError`` for a pool name or limit that cannot be stored."""
    if not isinstance(pool, str) or not pool:
        raise InvalidInvocationError(
            f"concurrency pool name {pool!r} is not valid: give a non-empty string, such as "
            "'database'."
        )
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise InvalidInvocationError(
            f"limit {limit!r} of concurrency pool {pool!r} is not valid: give a whole number of "
            "slots, 0 or more (0 stops every step of the pool from starting)."
        )


def check_lease_seconds(what: str, seconds: object, *, argument: str = "lease_seconds") -> None:
    """Raise ``InvalidInvocationError`` unless ``seconds`` is a positive number."""
    # user input from a caller that may not be type-checked
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise InvalidInvocationError(
            f"the lease of {what} must last a positive number of seconds, got {seconds!r}: "
            f"pass {argument}=30, for example."
        )


class ConcurrencyStorage(ABC):
    """Concurrency pools: a limit per pool name, and the slots steps hold as expiring leases.

    A pool without a limit is not limited: every claim succeeds. A slot whose lease expired
    is free again, so a run that crashed or was killed never keeps a slot for good.
    """

    @abstractmethod
    def set_pool_limit(self, pool: str, limit: int) -> None:
        """Let at most ``limit`` steps (0 or more) hold a slot of ``pool`` at once."""

    @abstractmethod
    def delete_pool_limit(self, pool: str) -> None:
        """Remove the limit: ``pool`` is no longer limited."""

    @abstractmethod
    def get_pool_limits(self) -> Mapping[str, int]: ...

    @abstractmethod
    def claim_slot(
        self,
        pool: str,
        run_id: str,
        step_key: str,
        lease_seconds: float,
        *,
        now: float | None = None,
    ) -> bool:
        """Take a slot of ``pool`` for the step until ``now + lease_seconds``: False when
        every slot is held by a live lease. A step that holds one already renews it."""

    @abstractmethod
    def renew_slot(
        self,
        pool: str,
        run_id: str,
        step_key: str,
        lease_seconds: float,
        *,
        now: float | None = None,
    ) -> bool:
        """Extend the step's lease (the heartbeat); False when it expired or was freed."""

    @abstractmethod
    def release_slot(self, pool: str, run_id: str, step_key: str) -> None:
        """Free the step's slot (nothing happens if it holds none)."""

    @abstractmethod
    def free_slots_of_run(self, run_id: str) -> int:
        """Free every slot the run holds; returns how many were freed."""

    @abstractmethod
    def get_pool_slots(self, pool: str, *, now: float | None = None) -> Sequence[SlotLease]:
        """The live (not expired) slots of ``pool``, oldest claim first."""


# ---- automation evaluations (used by the daemon) -------------------------------------------


@serializable()
@dataclass(frozen=True)
class AutomationTick:
    """One evaluation of a code location's automation conditions: the records of its assets,
    the QUEUED runs it requested (named with ``derived_run_id``) and the state the next
    evaluation of the location starts from."""

    location: str
    evaluation_id: int
    timestamp: float
    state: str
    records: tuple[AutomationEvaluationRecord, ...] = ()
    runs: tuple[Run, ...] = ()


@dataclass(frozen=True)
class AutomationTickRecord:
    """One stored evaluation of a location's automation conditions, as it is read back: its
    time and the record of each asset it evaluated."""

    location: str
    evaluation_id: int
    timestamp: float
    records: tuple[AutomationEvaluationRecord, ...]


@dataclass(frozen=True)
class AutomationCursor:
    """Where a location's automation stands: its latest finished evaluation (id, time and
    state) and the evaluation begun after it whose runs may not all be stored yet."""

    location: str
    evaluation_id: int = 0
    timestamp: float | None = None
    state: str | None = None
    pending: AutomationTick | None = None


class AutomationStorage(ABC):
    """Automation evaluations: a cursor per code location and a record per asset evaluated.

    An evaluation is stored in two steps, so that a daemon that dies in between never
    requests its runs twice: ``begin_automation_tick`` stores the records and keeps the tick
    as pending; the daemon stores the tick's runs; ``finish_automation_tick`` then moves the
    location's cursor to it. A daemon that finds a pending tick stores its runs again
    (``RunAlreadyStoredError`` says which exist) and finishes it, rather than evaluating anew.
    """

    @abstractmethod
    def get_automation_cursor(self, location: str) -> AutomationCursor:
        """The location's cursor (evaluation 0, no state, when it was never evaluated)."""

    @abstractmethod
    def begin_automation_tick(self, tick: AutomationTick) -> None:
        """Store ``tick``'s records and keep it as the location's pending tick. It must be the
        evaluation after the latest finished one, with no other tick pending."""

    @abstractmethod
    def finish_automation_tick(self, location: str, evaluation_id: int) -> AutomationCursor:
        """Move the location's cursor to its pending tick ``evaluation_id``."""

    @abstractmethod
    def get_automation_evaluations(
        self,
        asset_key: AssetKey,
        *,
        limit: int = 10,
        before: tuple[str, int] | None = None,
    ) -> Sequence[AutomationEvaluationRecord]:
        """The latest evaluation records of one asset, newest first; with ``before`` (the
        location and evaluation id of the last record of a page), the ones stored before it
        (none when the asset has no such record)."""

    @abstractmethod
    def get_automation_ticks(
        self, location: str, *, limit: int = 10, before: int | None = None
    ) -> Sequence[AutomationTickRecord]:
        """The latest evaluations of a location that recorded something, newest first, each
        with its records; with ``before``, those whose evaluation id is below it."""

    @abstractmethod
    def get_latest_materialization_ids(
        self, asset_keys: Sequence[AssetKey]
    ) -> Mapping[AssetKey, tuple[int, str]]:
        """The storage id and run id of the latest materialization of each asset that has one,
        read from the asset index without reading the events themselves (what an evaluation
        of automation conditions compares first)."""


def ticks_of(
    location: str, evaluation_ids: Sequence[int], records: Sequence[AutomationEvaluationRecord]
) -> list[AutomationTickRecord]:
    """The ticks ``evaluation_ids`` of ``location`` (in that order) from their records."""
    by_id: dict[int, list[AutomationEvaluationRecord]] = {}
    for record in records:
        by_id.setdefault(record.evaluation_id, []).append(record)
    return [
        AutomationTickRecord(
            location,
            evaluation_id,
            max(record.timestamp for record in by_id[evaluation_id]),
            tuple(by_id[evaluation_id]),
        )
        for evaluation_id in evaluation_ids
        if by_id.get(evaluation_id)
    ]


def check_automation_tick(cursor: AutomationCursor, tick: AutomationTick) -> None:
    """Raise ``InvalidInvocationError`` unless ``tick`` may begin after ``cursor``."""
    if not isinstance(tick, AutomationTick):
        raise InvalidInvocationError(
            f"begin_automation_tick takes an AutomationTick, got {type(tick).__name__}."
        )
    if cursor.pending is not None:
        raise InvalidInvocationError(
            f"automation of code location {tick.location!r}: evaluation "
            f"{cursor.pending.evaluation_id} is still pending, so evaluation "
            f"{tick.evaluation_id} cannot begin; finish the pending one first "
            "(finish_automation_tick)."
        )
    if tick.evaluation_id != cursor.evaluation_id + 1:
        raise InvalidInvocationError(
            f"automation of code location {tick.location!r}: evaluation {tick.evaluation_id} "
            f"does not follow the latest finished one ({cursor.evaluation_id}); begin "
            f"evaluation {cursor.evaluation_id + 1}."
        )


def check_automation_finish(cursor: AutomationCursor, evaluation_id: int) -> AutomationTick:
    """The pending tick ``evaluation_id`` of ``cursor``, or ``InvalidInvocationError``."""
    pending = cursor.pending
    if pending is None or pending.evaluation_id != evaluation_id:
        shown = "none" if pending is None else str(pending.evaluation_id)
        raise InvalidInvocationError(
            f"automation of code location {cursor.location!r}: evaluation {evaluation_id} is "
            f"not pending (pending: {shown}); begin it with begin_automation_tick first."
        )
    return pending


class Storage(
    RunStorage,
    EventLogStorage,
    ScheduleStorage,
    BackfillStorage,
    DynamicPartitionsStorage,
    KeyValueStorage,
    RunQueueStorage,
    DaemonStorage,
    ConcurrencyStorage,
    AutomationStorage,
    RetentionStorage,
    AccessStorage,
):
    """Everything an instance stores; each backend implements all of it."""

    @abstractmethod
    def dispose(self) -> None:
        """Release connections and files."""
