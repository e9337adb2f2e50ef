"""The run launcher: turn a run request into a stored run and start its worker; cancel runs.

Launching asks the code server of the run's location twice: once to validate the request
against the location's definitions (it answers with the run to store, tagged with the
location's name), once, after the run is stored, to start its worker, which the server forks
from its already-imported process. The launcher talks to the servers through any object with
the :class:`RunLaunchClient` methods (``knoll.codeloc.client.CodeServerClient`` is the real
one); this layer does not import it. A launcher over a workspace holds one client per
location and routes each stored run to the server of the location its tag names.

Cancelling moves a run to CANCELING, asks its worker to stop (SIGTERM to the worker's process
group, SIGKILL after a grace period) and makes sure the run ends CANCELED with its pool slots
freed, whether or not the worker could say so itself.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from knoll._processes import pid_alive
from knoll._serdes import RAW, serializable
from knoll._utils import did_you_mean
from knoll.defs.keys import AssetKey
from knoll.errors import InvalidInvocationError, RunStatusError, StorageError, WorkspaceError
from knoll.execution.events import EventType, run_event
from knoll.execution.run import Run, RunStatus
from knoll.instance.config import InMemoryStorageSettings
from knoll.instance.heartbeats import read_heartbeats
from knoll.storage.base import RunRecord

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = [
    "DEFAULT_CANCEL_GRACE_SECONDS",
    "LOCATION_TAG",
    "LaunchRequest",
    "ReexecutionRequest",
    "RunLaunchClient",
    "RunLauncher",
    "cancel_run",
    "instance_home",
]

LOCATION_TAG = "knoll/location"
"""Run tag naming the code location a launched run belongs to."""

DEFAULT_CANCEL_GRACE_SECONDS = 10.0
"""How long a run worker has to stop after SIGTERM before it is killed."""

_POLL = 0.02  # seconds between two looks at a run that is being cancelled


@serializable()
@dataclass(frozen=True)
class LaunchRequest:
    """What to run: a job (``job_name``), an asset selection (``asset_selection``, a selection
    string such as ``"orders+"``, or ``asset_keys``, the keys themselves), or both (the
    selection within the job), with its run config, tags and partition (one key, or a range
    from ``partition_range_start`` to ``_end``). ``run_id`` names the run (a new id when None):
    the daemon derives it from the tick that asks, so the run can be stored only once."""

    job_name: str | None = None
    asset_selection: str | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict, metadata=RAW)
    tags: Mapping[str, str] = field(default_factory=dict)
    partition_key: str | None = None
    partition_range_start: str | None = None
    partition_range_end: str | None = None
    asset_keys: tuple[AssetKey, ...] | None = None
    run_id: str | None = None

    def describe(self) -> str:
        """How messages name the request: ``job 'daily'`` or ``assets 'orders+'``."""
        selection = self.asset_selection
        if self.asset_keys is not None:
            selection = ", ".join(key.to_user_string() for key in self.asset_keys)
        if self.job_name and selection:
            return f"assets {selection!r} of job {self.job_name!r}"
        if self.job_name:
            return f"job {self.job_name!r}"
        return f"assets {selection or '*'!r}"


@serializable()
@dataclass(frozen=True)
class ReexecutionRequest:
    """A re-execution of stored run ``parent_run_id`` to build through its code server: all
    its steps, or with ``from_failure`` those that did not succeed (and what depends on
    them), or only the steps ``step_selection`` names (with what they read loaded from the
    runs that stored it), as the run ``run_id`` (a new id when None) with ``tags`` added to
    the parent's."""

    parent_run_id: str
    from_failure: bool = False
    run_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    step_selection: tuple[str, ...] = ()


class RunLaunchClient(Protocol):
    """What the launcher needs of a code server (``CodeServerClient`` has both methods)."""

    def build_run(self, request: LaunchRequest, instance_home: str | None = None) -> Run:
        """Validate ``request`` against the location's definitions: the STARTING run to store."""
        ...

    def build_reexecution(self, request: ReexecutionRequest, instance_home: str) -> Run:
        """Validate a re-execution of a stored run: the STARTING run to store."""
        ...

    def start_run(
        self,
        run_id: str,
        instance_home: str,
        heartbeat_interval: float = ...,
        *,
        resume: bool = ...,
    ) -> int:
        """Start the worker of the stored run ``run_id`` (with ``resume``, one that finishes a
        STARTED run whose worker died); return its pid."""
        ...


class RunLauncher:
    """Launches runs into ``instance`` through the code server of each run's code location.

    ``client`` is the code server of one location (every run goes there), or a mapping from
    location name to the client of that location's server (a workspace): each run then goes to
    the server of the location its ``knoll/location`` tag names, and a run without the tag to
    the only location when there is one. A run of a location the mapping lacks fails, saying
    which locations there are, unless ``leave_other_locations``: then it is another launcher's
    business, :meth:`serves` is False for it and the run queue leaves it QUEUED.

    ``heartbeat_interval`` defaults to ``run_monitoring:heartbeat_interval_seconds`` of the
    instance's knoll.yaml.
    """

    def __init__(
        self,
        instance: Instance,
        client: RunLaunchClient | Mapping[str, RunLaunchClient],
        *,
        heartbeat_interval: float | None = None,
        leave_other_locations: bool = False,
    ) -> None:
        if heartbeat_interval is None:
            heartbeat_interval = instance.settings.run_monitoring.heartbeat_interval_seconds
        if heartbeat_interval <= 0:
            raise InvalidInvocationError(
                f"RunLauncher(heartbeat_interval={heartbeat_interval!r}): the interval between "
                "two heartbeats must be a positive number of seconds, for example 5."
            )
        self._single: RunLaunchClient | None = None
        self.clients: dict[str, RunLaunchClient] = {}
        if isinstance(client, Mapping):
            if not client:
                raise InvalidInvocationError(
                    "RunLauncher(instance, {}): the mapping of code locations is empty. Give "
                    "the client of each location by name, for example "
                    "{'sales': CodeServerClient(socket_path='/tmp/sales.sock')}."
                )
            self.clients = dict(client)
        else:
            self._single = client
        self.instance = instance
        self.heartbeat_interval = heartbeat_interval
        self.leave_other_locations = leave_other_locations
        self._home = instance_home(instance)

    @property
    def locations(self) -> list[str]:
        """The names of the locations this launcher routes to (none for a single client)."""
        return list(self.clients)

    def every_client(self) -> list[RunLaunchClient]:
        """The client of every location this launcher routes to."""
        return [self._single] if self._single is not None else list(self.clients.values())

    def serves(self, record: RunRecord) -> bool:
        """Whether the run is this launcher's to start or resume: False only for a run of a
        location it lacks when it leaves other locations to other launchers."""
        if self._single is not None or not self.leave_other_locations:
            return True
        location = record.run.tags.get(LOCATION_TAG)
        return location is None or location in self.clients

    def client_for(self, run: Run) -> RunLaunchClient:
        """The client of the code server of ``run``'s location; a ``WorkspaceError`` saying
        what to do when the launcher has none."""
        if self._single is not None:
            return self._single
        location = run.tags.get(LOCATION_TAG)
        names = ", ".join(self.clients)
        if location is None:
            if len(self.clients) == 1:
                return next(iter(self.clients.values()))
            raise WorkspaceError(
                f"run {run.run_id} has no {LOCATION_TAG} tag, so it is not known which of the "
                f"code locations {names} it belongs to. Launch runs with `knoll run launch -w "
                f"FILE --location NAME` (which tags them), or give the tag {LOCATION_TAG}=NAME "
                "to a run you submit yourself."
            )
        client = self.clients.get(location)
        if client is None:
            raise WorkspaceError(
                f"run {run.run_id} belongs to code location {location!r} (its {LOCATION_TAG} "
                f"tag), which is not one of the locations served here: {names}."
                f"{did_you_mean(location, self.clients)} Start the queue worker (or the run "
                f"monitor) with a workspace that has location {location!r}, for example "
                "`knoll run queue-worker -w workspace.yaml`, then launch the run again."
            )
        return client

    def launch_run(
        self, request: LaunchRequest, *, queue: bool = False, location: str | None = None
    ) -> RunRecord:
        """Validate ``request`` with the code server of ``location`` (needed when the launcher
        has several), store it as a run and start it now (STARTING), or put it in the run
        queue (QUEUED) with ``queue=True``."""
        run = self._client_named(location, request).build_run(request, self._home)
        if queue:
            return self.instance.submit_run(replace(run, status=RunStatus.QUEUED))
        record = self.instance.create_run(run)
        self.start_run(record)
        return record

    def build_reexecution(self, parent: Run, request: ReexecutionRequest) -> Run:
        """The STARTING re-execution of ``parent`` that ``request`` asks for, built by the code
        server of ``parent``'s location (not stored)."""
        return self.client_for(parent).build_reexecution(request, self._home)

    def launch_queued_run(self, record: RunRecord) -> None:
        """The run queue's ``launch``: start a run that a dequeuer has moved to STARTING."""
        self.start_run(record)

    def start_run(self, record: RunRecord) -> int:
        """Start the worker of a stored STARTING run through its location's code server: its
        pid. A worker that cannot be started (no server for its location, a location whose
        code did not load, a server that is down) fails the run, saying why, and raises."""
        run = record.run
        try:
            client = self.client_for(run)
            return client.start_run(run.run_id, self._home, self.heartbeat_interval)
        except Exception as exc:
            current = self.instance.storage.get_run(run.run_id)
            if current is not None and not current.run.is_finished:
                message = (
                    str(exc)
                    if isinstance(exc, WorkspaceError)
                    else f"run {run.run_id} could not be started: {exc}"
                )
                _write_run_event(self.instance, current.run, EventType.RUN_FAILURE, message)
            raise

    def resume_run(self, record: RunRecord) -> int:
        """Start a new worker for a STARTED run whose worker died, through its location's
        code server: it executes only the steps that have not succeeded. Returns its pid;
        raises when it cannot be started."""
        return self.client_for(record.run).start_run(
            record.run.run_id, self._home, self.heartbeat_interval, resume=True
        )

    def _client_named(self, location: str | None, request: LaunchRequest) -> RunLaunchClient:
        if self._single is not None:
            return self._single
        if location is None:
            if len(self.clients) == 1:
                return next(iter(self.clients.values()))
            raise InvalidInvocationError(
                f"cannot launch {request.describe()}: this run launcher serves several code "
                f"locations ({', '.join(self.clients)}), so a new run needs the one that "
                "defines it: pass location='NAME' (`knoll run launch -w FILE --location NAME`)."
            )
        if location not in self.clients:
            raise WorkspaceError(
                f"cannot launch {request.describe()}: this run launcher has no code location "
                f"{location!r}.{did_you_mean(location, self.clients)} Its locations: "
                f"{', '.join(self.clients)}."
            )
        return self.clients[location]


def instance_home(instance: Instance) -> str:
    """The home of ``instance`` for processes that record into it (run workers, sensors that
    read it): an error saying what to do when it keeps everything in memory."""
    if instance.home is None or isinstance(instance.settings.storage, InMemoryStorageSettings):
        raise InvalidInvocationError(
            f"{instance!r} keeps its runs in this process's memory, so a run worker (another "
            "process) could not record anything in it. Launch runs into an instance with a "
            "database: Instance.get(home) with SQLite (the default) or PostgreSQL."
        )
    return str(instance.home)


def _write_run_event(instance: Instance, run: Run, event_type: EventType, message: str) -> None:
    instance.write_events([run_event(run, event_type, message)])


# ---- cancel --------------------------------------------------------------------------------


def cancel_run(
    instance: Instance, run_id: str, *, grace_seconds: float = DEFAULT_CANCEL_GRACE_SECONDS
) -> RunRecord:
    """Cancel a run and return its final record (CANCELED, unless it finished first).

    A QUEUED run is CANCELED at once. A running one goes to CANCELING and its worker gets
    SIGTERM (its whole process group: step workers too); a worker still alive
    ``grace_seconds`` later gets SIGKILL. If the worker did not write RUN_CANCELED, this does.
    """
    record = instance.get_run(run_id)
    run = record.run
    run_id = run.run_id  # a prefix was given: the full id from here on
    if run.is_finished:
        raise RunStatusError(
            f"run {run_id} has already finished ({run.status.value}): there is nothing to "
            f"cancel. See what it did with `knoll run show {run_id}`."
        )
    if run.status is RunStatus.QUEUED:
        try:
            _write_run_event(
                instance, run, EventType.RUN_CANCELED, f"run {run_id} was canceled while queued"
            )
        except RunStatusError:
            pass  # a dequeuer started it meanwhile: cancel it as a running run below
        else:
            instance.storage.free_slots_of_run(run_id)
            return _final(instance, run_id)
    if run.status is not RunStatus.CANCELING:
        try:
            instance.storage.update_run_status(run_id, RunStatus.CANCELING)
        except RunStatusError:
            current = _final(instance, run_id)
            if current.run.is_finished:
                return current  # it finished on its own while we were asking
            raise
    _stop_worker(instance, run, grace_seconds)
    current = _final(instance, run_id)
    if not current.run.is_finished:
        _write_run_event(
            instance,
            current.run,
            EventType.RUN_CANCELED,
            f"run {run_id} was canceled (its worker did not record the cancellation)",
        )
    instance.storage.free_slots_of_run(run_id)
    return _final(instance, run_id)


def _final(instance: Instance, run_id: str) -> RunRecord:
    record = instance.storage.get_run(run_id)
    if record is None:
        raise StorageError(f"run {run_id} was deleted while it was being canceled.")
    return record


def _stop_worker(instance: Instance, run: Run, grace_seconds: float) -> None:
    """SIGTERM the run's worker group, wait for the run to end, SIGKILL it if it does not."""
    deadline = time.monotonic() + max(grace_seconds, 0.0)
    beat = read_heartbeats(instance.storage, [run.run_id]).get(run.run_id)
    if beat is None:
        return  # no worker has started: one that starts later finds the run over and exits
    # A run executing in the process that asked for it (not a group of its own) is never
    # signalled: its heartbeat sees CANCELING and stops it, like a worker on another host.
    pid = beat.pid if beat.is_local and not beat.in_process else None
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
    # A worker on another host sees CANCELING at its next heartbeat and stops itself.
    while time.monotonic() < deadline:
        finished = _final(instance, run.run_id).run.is_finished
        if finished and (pid is None or not pid_alive(pid)):
            return
        time.sleep(_POLL)
    if pid is not None and pid_alive(pid):
        _signal_group(pid, signal.SIGKILL)
        # the group is gone once the kernel has delivered the kill; wait for it, briefly
        until = time.monotonic() + 5.0
        while pid_alive(pid) and time.monotonic() < until:
            time.sleep(_POLL)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # the worker leads its own session and process group
    except ProcessLookupError:
        pass
    except PermissionError:
        # not a group we lead (the pid was reused by another user's process): leave it alone
        pass
