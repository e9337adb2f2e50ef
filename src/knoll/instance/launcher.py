"""The run launcher: turn a run request into a stored run and start its worker; cancel runs.

Launching asks the code server of the run's location twice: once to validate the request
against the location's definitions (it answers with the run to store), once, after the run is
stored, to start its worker, which the server forks from its already-imported process. The
launcher talks to the server through any object with the :class:`RunLaunchClient` methods
(``knoll.codeloc.client.CodeServerClient`` is the real one); this layer does not import it.

Cancelling moves a run to CANCELING, asks its worker to stop (SIGTERM to the worker's process
group, SIGKILL after a grace period) and makes sure the run ends CANCELED with its pool slots
freed, whether or not the worker could say so itself.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from knoll._serdes import RAW, serializable
from knoll.errors import InvalidInvocationError, RunStatusError, StorageError
from knoll.execution.events import EventType, RunEvent
from knoll.execution.run import Run, RunStatus
from knoll.instance.config import InMemoryStorageSettings
from knoll.instance.heartbeats import DEFAULT_HEARTBEAT_INTERVAL, read_heartbeats
from knoll.storage.base import RunRecord

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = [
    "DEFAULT_CANCEL_GRACE_SECONDS",
    "LOCATION_TAG",
    "LaunchRequest",
    "RunLaunchClient",
    "RunLauncher",
    "cancel_run",
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
    string such as ``"orders+"``), or both (the selection within the job), with its run config,
    tags and partition (one key, or a range from ``partition_range_start`` to ``_end``)."""

    job_name: str | None = None
    asset_selection: str | None = None
    run_config: Mapping[str, Any] = field(default_factory=dict, metadata=RAW)
    tags: Mapping[str, str] = field(default_factory=dict)
    partition_key: str | None = None
    partition_range_start: str | None = None
    partition_range_end: str | None = None

    def describe(self) -> str:
        """How messages name the request: ``job 'daily'`` or ``assets 'orders+'``."""
        if self.job_name and self.asset_selection:
            return f"assets {self.asset_selection!r} of job {self.job_name!r}"
        if self.job_name:
            return f"job {self.job_name!r}"
        return f"assets {self.asset_selection or '*'!r}"


class RunLaunchClient(Protocol):
    """What the launcher needs of a code server (``CodeServerClient`` has both methods)."""

    def build_run(self, request: LaunchRequest, instance_home: str | None = None) -> Run:
        """Validate ``request`` against the location's definitions: the STARTING run to store."""
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
    """Launches runs of one code location (served by ``client``) into ``instance``."""

    def __init__(
        self,
        instance: Instance,
        client: RunLaunchClient,
        *,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
    ) -> None:
        if heartbeat_interval <= 0:
            raise InvalidInvocationError(
                f"RunLauncher(heartbeat_interval={heartbeat_interval!r}): the interval between "
                "two heartbeats must be a positive number of seconds, for example 5."
            )
        self.instance = instance
        self.client = client
        self.heartbeat_interval = heartbeat_interval
        self._home = _home_of(instance)

    def launch_run(self, request: LaunchRequest, *, queue: bool = False) -> RunRecord:
        """Validate ``request``, store it as a run and start it now (STARTING), or put it in
        the run queue (QUEUED) with ``queue=True``."""
        run = self.client.build_run(request, self._home)
        if queue:
            return self.instance.submit_run(replace(run, status=RunStatus.QUEUED))
        record = self.instance.create_run(run)
        self.start_run(record)
        return record

    def launch_queued_run(self, record: RunRecord) -> None:
        """The run queue's ``launch``: start a run that a dequeuer has moved to STARTING."""
        self.start_run(record)

    def start_run(self, record: RunRecord) -> int:
        """Start the worker of a stored STARTING run: its pid. A worker that cannot be
        started fails the run, saying why, and raises."""
        run = record.run
        try:
            return self.client.start_run(run.run_id, self._home, self.heartbeat_interval)
        except Exception as exc:
            current = self.instance.storage.get_run(run.run_id)
            if current is not None and not current.run.is_finished:
                _write_run_event(
                    self.instance,
                    current.run,
                    EventType.RUN_FAILURE,
                    f"run {run.run_id} could not be started: {exc}",
                )
            raise

    def resume_run(self, record: RunRecord) -> int:
        """Start a new worker for a STARTED run whose worker died: it executes only the steps
        that have not succeeded. Returns its pid; raises when it cannot be started."""
        return self.client.start_run(
            record.run.run_id, self._home, self.heartbeat_interval, resume=True
        )


def _home_of(instance: Instance) -> str:
    if instance.home is None or isinstance(instance.settings.storage, InMemoryStorageSettings):
        raise InvalidInvocationError(
            f"{instance!r} keeps its runs in this process's memory, so a run worker (another "
            "process) could not record anything in it. Launch runs into an instance with a "
            "database: Instance.get(home) with SQLite (the default) or PostgreSQL."
        )
    return str(instance.home)


def _write_run_event(instance: Instance, run: Run, event_type: EventType, message: str) -> None:
    event = RunEvent(
        event_type, run.run_id, run.job_name, time.time(), None, message, logging.ERROR, None
    )
    instance.write_events([event])


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
    pid = beat.pid if beat is not None and beat.is_local else None
    if beat is None:
        return  # no worker has started: one that starts later finds the run over and exits
    if pid is not None:
        _signal_group(pid, signal.SIGTERM)
    # A worker on another host sees CANCELING at its next heartbeat and stops itself.
    while time.monotonic() < deadline:
        finished = _final(instance, run.run_id).run.is_finished
        if finished and (pid is None or not _alive(pid)):
            return
        time.sleep(_POLL)
    if pid is not None and _alive(pid):
        _signal_group(pid, signal.SIGKILL)
        # the group is gone once the kernel has delivered the kill; wait for it, briefly
        until = time.monotonic() + 5.0
        while _alive(pid) and time.monotonic() < until:
            time.sleep(_POLL)


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # the worker leads its own session and process group
    except ProcessLookupError:
        pass
    except PermissionError:
        # not a group we lead (the pid was reused by another user's process): leave it alone
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
