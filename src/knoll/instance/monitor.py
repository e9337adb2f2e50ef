"""The run monitor: finds runs whose worker died, that never started, or that ran too long.

``monitor_once`` is one pass (``knoll run monitor`` calls it every
``run_monitoring.poll_interval_seconds``). A STARTED run whose worker has not beaten for
``heartbeat_timeout_seconds`` (and, when the worker ran on this host, whose process is gone)
is resumed by a new worker that runs only its unfinished steps, started through the code
server of the run's location, while resume attempts are left, and otherwise marked FAILURE
with an event that says the worker died. A run still
STARTING after ``start_timeout_seconds`` fails. A run that executed in the process that
asked for it (``knoll asset materialize``, ``materialize(instance=)``) is never resumed: it
fails as soon as that process is gone from this host, or its heartbeat is older than the
timeout. A run past its maximum runtime
(``max_runtime_seconds``, or its ``knoll/max_runtime`` tag) is canceled.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from knoll._processes import pid_alive
from knoll.errors import RunStatusError, WorkspaceError
from knoll.execution.events import EventType, run_event
from knoll.execution.run import Run, RunStatus
from knoll.instance.config import RunMonitoringSettings
from knoll.instance.heartbeats import RunHeartbeat, write_heartbeat
from knoll.storage.base import RunRecord, RunsFilter

if TYPE_CHECKING:
    from knoll.instance import Instance
    from knoll.instance.launcher import RunLauncher

__all__ = ["MAX_RUNTIME_TAG", "RESUME_ATTEMPT_TAG", "MonitorReport", "monitor_once"]

RESUME_ATTEMPT_TAG = "knoll/resume_attempt"
"""Run tag counting how many times the monitor resumed the run after its worker died."""

MAX_RUNTIME_TAG = "knoll/max_runtime"
"""Run tag: seconds the run may run before the monitor cancels it (overrides the setting)."""

_log = logging.getLogger("knoll.run_monitor")


@dataclass
class MonitorReport:
    """What one monitor pass did, by run id."""

    failed: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)

    @property
    def acted(self) -> bool:
        """True when the pass changed anything."""
        return bool(self.failed or self.resumed or self.canceled)


def monitor_once(
    instance: Instance,
    *,
    settings: RunMonitoringSettings | None = None,
    launcher: RunLauncher | None = None,
    now: float | None = None,
) -> MonitorReport:
    """One pass of the run monitor over the runs in progress; returns what it did.

    ``settings`` defaults to ``run_monitoring`` of the instance's knoll.yaml. Without a
    ``launcher`` a run whose worker died cannot be resumed, so it fails; a launcher that
    leaves other locations to other launchers leaves their runs to their own monitor.
    """
    limits = settings if settings is not None else instance.settings.run_monitoring
    report = MonitorReport()
    if not limits.enabled:
        return report
    when = time.time() if now is None else now
    records = _in_progress(instance)
    beats = instance.get_run_heartbeats([r.run.run_id for r in records])
    for record in records:
        run = record.run
        try:
            if run.status is RunStatus.STARTING:
                _check_starting(instance, record, limits, when, report)
            elif _too_long(record, limits, when):
                instance.cancel_run(run.run_id)
                report.canceled.append(run.run_id)
            else:
                beat = beats.get(run.run_id)
                if _worker_dead(record, beat, limits, when):
                    _dead_worker(instance, record, beat, limits, launcher, when, report)
        except RunStatusError:
            continue  # the run moved on (ended, canceled) while we looked at it
    return report


def _in_progress(instance: Instance) -> list[RunRecord]:
    wanted = RunsFilter(statuses=[RunStatus.STARTING, RunStatus.STARTED])
    records: list[RunRecord] = []
    cursor: str | None = None
    while True:
        page = instance.storage.get_runs(wanted, limit=500, cursor=cursor)
        records.extend(page.records)
        if page.cursor is None:
            return records
        cursor = page.cursor


def _check_starting(
    instance: Instance,
    record: RunRecord,
    limits: RunMonitoringSettings,
    now: float,
    report: MonitorReport,
) -> None:
    waited = now - record.create_timestamp
    if waited <= limits.start_timeout_seconds:
        return
    run = record.run
    _write(
        instance,
        run,
        EventType.RUN_FAILURE,
        f"run {run.run_id} did not start within {limits.start_timeout_seconds:g}s (it was "
        f"STARTING for {waited:.0f}s): its worker never began. Check the code server's output "
        "and the worker.log in the run's compute logs, then re-execute the run.",
        logging.ERROR,
    )
    report.failed.append(run.run_id)


def _too_long(record: RunRecord, limits: RunMonitoringSettings, now: float) -> bool:
    limit = limits.max_runtime_seconds
    tagged = record.run.tags.get(MAX_RUNTIME_TAG)
    if tagged is not None:
        try:
            limit = float(tagged)
        except ValueError:
            _log.warning(
                "run %s has tag %s=%r, which is not a number of seconds: ignored. Write, for "
                "example, '3600'.",
                record.run.run_id,
                MAX_RUNTIME_TAG,
                tagged,
            )
    started = record.start_time
    return limit is not None and started is not None and now - started > limit


def _worker_dead(
    record: RunRecord, beat: RunHeartbeat | None, limits: RunMonitoringSettings, now: float
) -> bool:
    if beat is None:
        # never beat: give it as long as a run may take to start
        since = record.start_time or record.create_timestamp
        return now - since > limits.start_timeout_seconds
    if beat.in_process and beat.is_local and not pid_alive(beat.pid):
        return True  # the process that ran it here is gone: no need to wait for the timeout
    if beat.age(now) <= limits.heartbeat_timeout_seconds:
        return False
    if beat.in_process:
        # its heartbeat thread lives in the run's own process: silent that long, the run has
        # stopped (it could not record its end, e.g. its storage failed a write)
        return True
    # a worker on this host that is still there is late (a stuck database), not dead
    return not (beat.is_local and pid_alive(beat.pid))


def _dead_worker(
    instance: Instance,
    record: RunRecord,
    beat: RunHeartbeat | None,
    limits: RunMonitoringSettings,
    launcher: RunLauncher | None,
    now: float,
    report: MonitorReport,
) -> None:
    run = record.run
    if beat is not None and beat.in_process:
        _dead_process(instance, run, beat, limits, now, report)
        return
    death = _death(beat, limits, now)
    attempts = _resume_attempts(run)
    if launcher is not None and attempts < limits.max_resume_attempts:
        if launcher.serves(record):  # else the monitor of the run's location resumes it
            _resume(instance, record, launcher, death, attempts + 1, limits, report)
        return
    why = ""
    if attempts and attempts >= limits.max_resume_attempts:
        why = (
            f" It was resumed {attempts} time(s) already, the most "
            f"run_monitoring:max_resume_attempts ({limits.max_resume_attempts}) allows."
        )
    elif limits.max_resume_attempts and launcher is None:
        why = " It could not be resumed: this monitor has no run launcher for its location."
    _fail(
        instance,
        run,
        f"run {run.run_id} failed: {death}.{why} Re-execute it from failure with "
        f"`knoll run reexecute {run.run_id} --from-failure`.",
        report,
    )


def _death(beat: RunHeartbeat | None, limits: RunMonitoringSettings, now: float) -> str:
    """How a run worker died, as the run's failure message says it."""
    if beat is None:
        return "its run worker never sent a heartbeat"
    return (
        f"its run worker (pid {beat.pid} on {beat.host}) died: its last heartbeat is "
        f"{beat.age(now):.0f}s old (timeout {limits.heartbeat_timeout_seconds:g}s)"
    )


def _resume(
    instance: Instance,
    record: RunRecord,
    launcher: RunLauncher,
    death: str,
    attempt: int,
    limits: RunMonitoringSettings,
    report: MonitorReport,
) -> None:
    """Resume a run whose worker died in a new worker, or fail it if that cannot be done."""
    run = record.run
    try:
        launcher.client_for(run)
    except WorkspaceError as exc:
        _fail(
            instance,
            run,
            f"run {run.run_id}: {death}, and it cannot be resumed here: {exc}",
            report,
        )
        return
    instance.storage.add_run_tags(run.run_id, {RESUME_ATTEMPT_TAG: str(attempt)})
    _write(
        instance,
        run,
        EventType.LOG_MESSAGE,
        f"run {run.run_id}: {death}; resuming it in a new worker (attempt {attempt} of "
        f"{limits.max_resume_attempts}), which runs only the steps that have not succeeded",
        logging.WARNING,
    )
    try:
        pid = launcher.resume_run(record)
    except Exception as exc:
        _fail(
            instance,
            run,
            f"run {run.run_id}: {death}, and resuming it failed: {type(exc).__name__}: "
            f"{exc}. Check the code server, then re-execute the run.",
            report,
        )
        return
    # the new worker beats at once; this covers the moment before it does
    write_heartbeat(instance.storage, run.run_id, pid=pid, interval=launcher.heartbeat_interval)
    report.resumed.append(run.run_id)


def _fail(instance: Instance, run: Run, message: str, report: MonitorReport) -> None:
    """Fail ``run`` with ``message`` and free the pool slots it held."""
    _write(instance, run, EventType.RUN_FAILURE, message, logging.ERROR)
    instance.storage.free_slots_of_run(run.run_id)
    report.failed.append(run.run_id)


def _dead_process(
    instance: Instance,
    run: Run,
    beat: RunHeartbeat,
    limits: RunMonitoringSettings,
    now: float,
    report: MonitorReport,
) -> None:
    """Fail a run that executed in its own process (``knoll asset materialize``,
    ``materialize(instance=)``) which died: no code server holds its code, so it is never
    resumed."""
    last = datetime.datetime.fromtimestamp(beat.timestamp, datetime.UTC)
    if beat.is_local and not pid_alive(beat.pid):
        why = "that process is gone"
    else:
        why = f"it has not beaten for longer than {limits.heartbeat_timeout_seconds:g}s"
    _fail(
        instance,
        run,
        f"run {run.run_id} failed: the process that executed it (pid {beat.pid} on "
        f"{beat.host}) ended without recording the run's end: its last heartbeat was at "
        f"{last:%Y-%m-%d %H:%M:%S} UTC, {beat.age(now):.0f}s ago, and {why}. It was killed, "
        "ran out of memory, crashed, or stopped when its storage failed a write (its output "
        f"says which). Re-execute it from failure with `knoll run reexecute {run.run_id} "
        "--from-failure`.",
        report,
    )


def _resume_attempts(run: Run) -> int:
    try:
        return int(run.tags.get(RESUME_ATTEMPT_TAG, "0"))
    except ValueError:
        return 0


def _write(instance: Instance, run: Run, event_type: EventType, message: str, level: int) -> None:
    instance.write_events([run_event(run, event_type, message, level=level)])
