"""The instance: one deployment's storage, compute logs and settings, wired together.

``Instance.get()`` opens the instance of ``KNOLL_HOME`` (``.knoll/`` in the working directory
by default), configured by its ``knoll.yaml``; ``Instance.ephemeral()`` makes one in memory
for tests. Runs executed with ``instance=`` record their runs, events and logs in it.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.errors import InvalidInvocationError, StorageError
from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import Run
from knoll.instance import event_log, queue
from knoll.instance.compute_logs import ComputeLogManager
from knoll.instance.config import (
    InMemoryStorageSettings,
    InstanceSettings,
    load_settings,
)
from knoll.instance.retention import PruneReport, format_duration
from knoll.storage.base import (
    AssetRecord,
    DaemonHeartbeat,
    EventRecord,
    EventsPage,
    Lease,
    PartitionStatus,
    RunRecord,
    RunsFilter,
    RunsPage,
    Storage,
)

if TYPE_CHECKING:
    from knoll.defs.check import AssetCheckEvaluation
    from knoll.defs.definitions import Definitions
    from knoll.defs.event_filters import AssetRecordsFilter
    from knoll.defs.partitions import PartitionsDefinition
    from knoll.execution.pools import SlotClaims
    from knoll.instance.event_log import (
        EventLogEntry,
        EventRecordsResult,
        RunStatusChangeRecordsFilter,
    )
    from knoll.instance.heartbeats import RunHeartbeat
    from knoll.instance.launcher import LaunchRequest, RunLaunchClient

__all__ = ["Instance", "InstanceSettings", "PruneReport"]

HOME_ENV = "KNOLL_HOME"
DEFAULT_HOME = ".knoll"
_RUN_ID_PREFIX_MIN = 4  # like git: shorter prefixes match too much by accident
_RECENT_RUNS = 1000  # how far back a run id prefix or a did-you-mean looks


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """``home``, else ``$KNOLL_HOME``, else ``.knoll/`` in the working directory (absolute)."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
    return Path(chosen).expanduser().absolute()


class Instance:
    """One deployment's storage (runs, events, asset index), compute logs and settings.

    Storage is opened on first use, so that ``knoll instance migrate`` and ``info`` work on a
    database that is behind the code.
    """

    def __init__(
        self,
        settings: InstanceSettings,
        *,
        home: Path | None = None,
        storage: Storage | None = None,
        temp_dir: str | None = None,
    ) -> None:
        self.home = home
        self.settings = settings
        self.compute_logs = ComputeLogManager(
            settings.compute_logs.base_dir, capture_fds=settings.compute_logs.capture_fds
        )
        self._storage = storage
        self._cleanup: Any = None
        if temp_dir is not None:
            import shutil
            import weakref

            self._cleanup = weakref.finalize(self, shutil.rmtree, temp_dir, ignore_errors=True)

    def process_reference(self) -> dict[str, str] | None:
        """How another process opens this instance (a multiprocess worker started by spawn or
        a forkserver), as JSON: ``{"open": "knoll.instance:Instance.get", "home": ...}``; None
        for an instance without a home (one kept in memory cannot be shared at all)."""
        if self.home is None or isinstance(self.settings.storage, InMemoryStorageSettings):
            return None
        return {"open": "knoll.instance:Instance.get", "home": str(self.home)}

    # ---- opening ---------------------------------------------------------------------------

    @staticmethod
    def get(home: str | os.PathLike[str] | None = None) -> Instance:
        """The instance in ``home`` (default ``$KNOLL_HOME``, else ``.knoll/`` here).

        Reads ``home/knoll.yaml`` if there is one; without it: SQLite at ``home/knoll.db``,
        compute logs in ``home/logs``, outputs of the default IO manager in ``home/storage``.
        """
        folder = resolve_home(home)
        if folder.exists() and not folder.is_dir():
            raise InvalidInvocationError(
                f"KNOLL_HOME {folder} is a file, not a folder. Point KNOLL_HOME at a folder "
                "(it is created when missing)."
            )
        return Instance(load_settings(folder), home=folder)

    @staticmethod
    def ephemeral(storage: Storage | None = None) -> Instance:
        """An instance in memory (or on ``storage``, when given), with compute logs and outputs
        in a temporary folder that is deleted on ``dispose()`` (or when the instance is garbage
        collected)."""
        import tempfile

        from knoll.instance.config import ComputeLogSettings
        from knoll.storage.memory import InMemoryStorage

        temp = tempfile.mkdtemp(prefix="knoll-instance-")
        settings = InstanceSettings(
            storage=InMemoryStorageSettings(),
            compute_logs=ComputeLogSettings(Path(temp) / "logs"),
            retention=None,
            outputs_dir=Path(temp) / "storage",
        )
        return Instance(settings, storage=storage or InMemoryStorage(), temp_dir=temp)

    @property
    def storage(self) -> Storage:
        """The storage backend, opened (and checked against the code's schema) on first use."""
        if self._storage is None:
            from knoll.instance._backends import open_storage

            self._storage = open_storage(self.settings)
        return self._storage

    @property
    def outputs_dir(self) -> Path | None:
        """Where the default IO manager of runs on this instance writes outputs."""
        return self.settings.outputs_dir

    def dispose(self) -> None:
        """Close the storage's connections; an ephemeral instance also deletes its folder."""
        storage, self._storage = self._storage, None
        if storage is not None:
            storage.dispose()
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> Instance:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.dispose()

    def __repr__(self) -> str:
        where = str(self.home) if self.home is not None else "ephemeral"
        return f"<Instance {where}: {self.settings.storage.describe()}>"

    # ---- as a run recorder (what execution sees of an instance) -----------------------------

    @property
    def slot_claims(self) -> SlotClaims:
        """Where runs claim pool slots: the storage's concurrency tables."""
        return self.storage

    @property
    def shares_events(self) -> bool:
        return True

    @property
    def context_instance(self) -> Instance:
        return self

    def start_run(self, run: Run) -> None:
        """Store a run that is about to execute in this process."""
        self.storage.add_run(run)

    def find_run(self, run_id: str) -> Run | None:
        record = self.storage.get_run(run_id)
        return record.run if record is not None else None

    def events_of_run(self, run_id: str, of_types: Collection[EventType]) -> list[RunEvent]:
        """Every stored event of ``run_id`` of these types, in order."""
        events: list[RunEvent] = []
        after = 0
        while True:
            page = self.storage.get_events_for_run(
                run_id, after=after, of_types=sorted(of_types, key=str)
            )
            events.extend(record.event for record in page.records)
            if not page.has_more:
                return events
            after = page.cursor

    # ---- runs ------------------------------------------------------------------------------

    def create_run(self, run: Run) -> RunRecord:
        """Store a new run (before its first event)."""
        return self.storage.add_run(run)

    def submit_run(self, run: Run) -> RunRecord:
        """Put a QUEUED run in the run queue; a dequeuer starts it when limits allow."""
        return queue.submit_run(self, run)

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id, or with this unique id prefix (at least 4 characters)."""
        record = self.storage.get_run(run_id)
        if record is not None:
            return record
        recent = [r.run.run_id for r in self.storage.get_runs(limit=_RECENT_RUNS).records]
        matches = [r for r in recent if r.startswith(run_id)] if run_id else []
        if len(matches) == 1 and len(run_id) >= _RUN_ID_PREFIX_MIN:
            found = self.storage.get_run(matches[0])
            if found is not None:
                return found
        where = self.settings.storage.describe()
        if len(matches) > 1:
            shown = ", ".join(m[:12] for m in matches[:5])
            raise StorageError(
                f"run id prefix {run_id!r} matches {len(matches)} runs ({shown}"
                f"{', ...' if len(matches) > 5 else ''}). Give more characters of the run id."
            )
        if len(matches) == 1:
            raise StorageError(
                f"no run {run_id!r} in {where}. Did you mean {matches[0]!r}? A run id prefix "
                f"needs at least {_RUN_ID_PREFIX_MIN} characters."
            )
        if not recent:
            raise StorageError(f"no run {run_id!r}: {where} has no runs yet.")
        from knoll._utils import did_you_mean

        hint = did_you_mean(run_id, recent) or " List the runs with `knoll run list`."
        raise StorageError(f"no run {run_id!r} in {where}.{hint}")

    def get_runs(
        self, filters: RunsFilter | None = None, *, limit: int = 100, cursor: str | None = None
    ) -> RunsPage:
        """Runs matching ``filters``, newest first; pass the page's cursor for the next page."""
        return self.storage.get_runs(filters, limit=limit, cursor=cursor)

    def count_runs(self, filters: RunsFilter | None = None) -> int:
        return self.storage.count_runs(filters)

    def add_run_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        self.storage.add_run_tags(run_id, tags)

    def delete_run(self, run_id: str) -> None:
        """Delete a run, its events and its compute logs."""
        self.storage.delete_run(run_id)
        self.compute_logs.delete(run_id)

    # ---- launching and cancelling --------------------------------------------------------

    def launch_run(
        self,
        request: LaunchRequest,
        client: RunLaunchClient | Mapping[str, RunLaunchClient],
        *,
        queue: bool = False,
        heartbeat_interval: float | None = None,
        location: str | None = None,
    ) -> RunRecord:
        """Validate ``request`` with the code server behind ``client``, store the run and have
        the server start its worker now, or queue it (QUEUED) with ``queue=True``.

        ``client`` may also map location names to clients (a workspace); ``location`` then
        names the one that defines the request. Workers beat every ``heartbeat_interval``
        seconds (default: ``run_monitoring:heartbeat_interval_seconds`` of knoll.yaml)."""
        from knoll.instance.launcher import RunLauncher

        launcher = RunLauncher(self, client, heartbeat_interval=heartbeat_interval)
        return launcher.launch_run(request, queue=queue, location=location)

    def cancel_run(self, run_id: str, *, grace_seconds: float | None = None) -> RunRecord:
        """Cancel a queued or running run (SIGTERM to its worker, SIGKILL after
        ``grace_seconds``); returns its final record."""
        from knoll.instance import launcher

        grace = launcher.DEFAULT_CANCEL_GRACE_SECONDS if grace_seconds is None else grace_seconds
        return launcher.cancel_run(self, run_id, grace_seconds=grace)

    @property
    def run_heartbeat_interval(self) -> float | None:
        """How often a run executing into this instance records its heartbeat
        (``run_monitoring:heartbeat_interval_seconds``); None for an instance in memory."""
        if isinstance(self.settings.storage, InMemoryStorageSettings):
            return None
        return self.settings.run_monitoring.heartbeat_interval_seconds

    def record_run_heartbeat(
        self, run_id: str, *, interval: float, in_process: bool = True
    ) -> RunHeartbeat:
        """Record that this process is alive and running ``run_id``: a run executing here
        (``in_process``), or a launched run worker."""
        from knoll.instance.heartbeats import write_heartbeat

        return write_heartbeat(self.storage, run_id, interval=interval, in_process=in_process)

    def get_run_heartbeats(self, run_ids: Sequence[str]) -> Mapping[str, RunHeartbeat]:
        """The latest heartbeat of each of these runs that has one (pid, host, time)."""
        from knoll.instance.heartbeats import read_heartbeats

        return read_heartbeats(self.storage, run_ids)

    # ---- duty leases and daemon heartbeats --------------------------------------------------

    def acquire_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        """Take the duty lease ``name`` for ``owner`` for ``ttl_seconds`` (or extend it):
        False while another owner's lease is live. ``now`` replaces the clock."""
        return self.storage.acquire_lease(name, owner, ttl_seconds, now=now)

    def renew_lease(
        self, name: str, owner: str, ttl_seconds: float, *, now: float | None = None
    ) -> bool:
        """Extend ``owner``'s live lease; False when it lost the lease (acquire it again)."""
        return self.storage.renew_lease(name, owner, ttl_seconds, now=now)

    def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up if ``owner`` holds it."""
        return self.storage.release_lease(name, owner)

    def get_lease(self, name: str) -> Lease | None:
        """Who holds lease ``name``, since when and until when (None when nobody took it)."""
        return self.storage.get_lease(name)

    def record_daemon_heartbeat(self, heartbeat: DaemonHeartbeat) -> None:
        """Keep ``heartbeat`` as the latest of its daemon and duty."""
        self.storage.record_daemon_heartbeat(heartbeat)

    def get_daemon_heartbeats(self) -> Sequence[DaemonHeartbeat]:
        """The latest heartbeat of every daemon and duty."""
        return self.storage.get_daemon_heartbeats()

    # ---- events ----------------------------------------------------------------------------

    def write_events(self, events: Sequence[RunEvent]) -> None:
        """Store a batch of events in one transaction (the executor's event sink)."""
        if events:
            self.storage.store_events(events)

    def get_events(
        self,
        run_id: str,
        *,
        after: int = 0,
        limit: int | None = None,
        step_key: str | None = None,
        of_types: Sequence[EventType] | None = None,
    ) -> EventsPage:
        """A run's events after storage id ``after``, in order."""
        return self.storage.get_events_for_run(
            run_id, after=after, limit=limit, step_key=step_key, of_types=of_types
        )

    def tail_events(self, *, after: int = 0, limit: int = 1000) -> EventsPage:
        """Every run's events after storage id ``after``, each exactly once."""
        return self.storage.tail_events(after=after, limit=limit)

    # ---- assets ----------------------------------------------------------------------------

    def get_asset_records(self, keys: Sequence[AssetKey] | None = None) -> Sequence[AssetRecord]:
        """What the asset index knows of these assets (every recorded asset with ``None``)."""
        return self.storage.get_asset_records(keys)

    def get_latest_materialization(self, key: AssetKey) -> EventRecord | None:
        return self.storage.get_latest_materialization(key)

    def get_materializations(
        self, key: AssetKey, *, limit: int = 20, partitions: Sequence[str] | None = None
    ) -> Sequence[EventRecord]:
        """An asset's materializations, newest first."""
        return self.storage.get_materializations(key, partitions=partitions, limit=limit)

    def fetch_materializations(
        self,
        records_filter: AssetKey | AssetRecordsFilter,
        limit: int,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> EventRecordsResult:
        """A page of an asset's materialization records (newest first unless ``ascending``)
        after ``cursor``; pass the result's cursor back for the next page."""
        return event_log.fetch_asset_events(
            self.storage, EventType.ASSET_MATERIALIZATION, records_filter, limit, cursor, ascending
        )

    def get_latest_materialization_event(self, asset_key: AssetKey) -> EventLogEntry | None:
        """The latest materialization of an asset as an event log entry, or None."""
        return event_log.latest_materialization_entry(self.storage, asset_key)

    def get_latest_materialization_events(
        self, asset_keys: Sequence[AssetKey]
    ) -> Mapping[AssetKey, EventLogEntry | None]:
        """The latest materialization of each asset (None for one never materialized), in one
        query."""
        return event_log.latest_materialization_entries(self.storage, asset_keys)

    def fetch_observations(
        self,
        records_filter: AssetKey | AssetRecordsFilter,
        limit: int,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> EventRecordsResult:
        """A page of an asset's observation records (newest first unless ``ascending``)
        after ``cursor``; pass the result's cursor back for the next page."""
        return event_log.fetch_asset_events(
            self.storage, EventType.ASSET_OBSERVATION, records_filter, limit, cursor, ascending
        )

    def fetch_run_status_changes(
        self,
        records_filter: EventType | str | RunStatusChangeRecordsFilter,
        limit: int,
        cursor: str | None = None,
        ascending: bool = False,
    ) -> EventRecordsResult:
        """A page of run status events of one type (RUN_SUCCESS, RUN_FAILURE, ...), newest
        first unless ``ascending``, after ``cursor``; pass the result's cursor back for the
        next page."""
        return event_log.fetch_run_status_changes(
            self.storage, records_filter, limit, cursor, ascending
        )

    def step_failure_events(self, run_id: str) -> list[RunEvent]:
        """A run's STEP_FAILURE events, in order."""
        return self.events_of_run(run_id, [EventType.STEP_FAILURE])

    def recent_event_cursor(self) -> str:
        """A cursor at or shortly before the end of the event log (where a run status sensor
        starts on its first tick), found without reading the whole log."""
        return event_log.recent_cursor(self.storage)

    def get_latest_check_results(
        self, check_keys: Sequence[AssetCheckKey]
    ) -> Mapping[AssetCheckKey, AssetCheckEvaluation]:
        return self.storage.get_latest_check_results(check_keys)

    def get_partition_status(
        self, key: AssetKey, partitions_def: PartitionsDefinition | None = None
    ) -> Mapping[str, PartitionStatus]:
        """Status of an asset's partitions. With its partitions definition, every key of the
        definition is there (MISSING when nothing was recorded), in the definition's order."""
        stored = self.storage.get_partition_status(key)
        if partitions_def is None:
            return stored
        keys = partitions_def.get_partition_keys(dynamic_partitions_store=self)
        return {k: stored.get(k, PartitionStatus.MISSING) for k in keys}

    def get_stale_assets(self, defs: Definitions) -> Mapping[AssetKey, Sequence[str]]:
        """The assets of ``defs`` that need materializing again, each with its reasons; a
        partitioned asset is judged per partition (see :meth:`get_stale_partitions`)."""
        from knoll.instance.staleness import stale_reasons

        graph = defs.get_asset_graph()
        latest = self.storage.get_latest_materializations(list(graph.toposorted_keys))
        return stale_reasons(graph, latest, self.storage, self)

    def get_stale_partitions(
        self,
        defs: Definitions,
        key: AssetKey | str | Sequence[str],
        partition_keys: Sequence[str] | None = None,
    ) -> Mapping[str, Sequence[str]]:
        """The partitions of the partitioned asset ``key`` that need materializing, each
        with its reasons (never-materialized partitions too), in the definition's order;
        ``partition_keys`` asks about those partitions only."""
        from knoll.instance.staleness import stale_partition_reasons

        asset_key = AssetKey.from_coercible(key)
        graph = defs.get_asset_graph()
        return stale_partition_reasons(graph, asset_key, self.storage, self, partition_keys)

    # ---- dynamic partitions (the DynamicPartitionsStore protocol) ----------------------------

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        return self.storage.get_dynamic_partitions(partitions_def_name)

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return self.storage.has_dynamic_partition(partitions_def_name, partition_key)

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        self.storage.add_dynamic_partitions(partitions_def_name, partition_keys)

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        self.storage.delete_dynamic_partition(partitions_def_name, partition_key)

    # ---- housekeeping ----------------------------------------------------------------------

    def prune(self, older_than: datetime.timedelta | None = None) -> PruneReport:
        """Delete the events (except the asset history) and compute logs of runs that finished
        more than ``older_than`` ago (default: ``retention.older_than`` of knoll.yaml), then
        compact the database."""
        from dataclasses import replace

        from knoll.instance import _backends, retention

        age = older_than if older_than is not None else self.settings.retention
        if age is None:
            raise InvalidInvocationError(
                "prune() needs an age: pass older_than=datetime.timedelta(days=30), or set "
                f"retention: {{older_than: 30d}} in {self._settings_file()}."
            )
        before = _backends.database_size(self.settings)
        report = retention.prune(self.storage, self.compute_logs, age)
        if report.events_deleted:
            _backends.vacuum(self.storage)
        return replace(
            report,
            database_bytes_before=before,
            database_bytes_after=_backends.database_size(self.settings),
        )

    def migrate(self) -> tuple[str | None, str]:
        """Upgrade the database to the schema this knoll expects: ``(revision before, after)``."""
        from knoll.instance._backends import migrate

        if self._storage is not None and not isinstance(
            self.settings.storage, InMemoryStorageSettings
        ):
            # reopened (and checked again) on next use
            self._storage.dispose()
            self._storage = None
        return migrate(self.settings)

    def info(self) -> Mapping[str, str]:
        """What ``knoll instance info`` shows: where everything is kept (passwords masked)."""
        from knoll.instance._backends import schema_status

        storage = self.settings.storage
        retention = self.settings.retention
        return {
            "home": str(self.home) if self.home is not None else "(none: ephemeral instance)",
            "settings": self._settings_file(),
            "storage": storage.kind,
            "location": storage.describe(),
            "schema revision": schema_status(self.settings),
            "compute logs": str(self.compute_logs.base_dir),
            "outputs": str(self.outputs_dir) if self.outputs_dir else "(a temporary folder)",
            "retention": (
                f"prune runs older than {format_duration(retention)}"
                if retention is not None
                else "keep everything (set retention: {older_than: 30d} to prune)"
            ),
        }

    def _settings_file(self) -> str:
        if self.settings.source is not None:
            return str(self.settings.source)
        if self.home is not None:
            return f"{self.home / 'knoll.yaml'} (not there: defaults)"
        return "(defaults)"
