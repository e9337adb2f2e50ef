"""Run retries: the daemon's ``run_retries`` duty re-executes runs that fail.

One pass (:func:`retry_pass`) reads the RUN_FAILURE events stored since the previous pass,
through the index on event type and storage id, with a cursor kept in the key-value storage
(a read by ``after=`` sees every event once, however late it committed). For each failed
run it builds a re-execution through the code server of the run's location (its steps that
did not succeed with ``knoll/retry_strategy`` FROM_FAILURE, the default, or all of them with
ALL_STEPS) and submits it to the run queue, so that the queue's limits hold. The retry's id is
``derived_run_id("retry", parent run id)``: two passes, two daemons or a daemon restarted
halfway never store two retries of one run. A run whose retry could not be built (its code
server is down) stays pending and is tried again at the next pass.

Retries are counted along the root run: the N-th retry carries ``knoll/retry_number=N``, and
after ``run_retries:max_retries`` (or the run's ``knoll/max_retries`` tag) the failed run gets
``knoll/retries_exhausted`` and an event that says so. With
``run_retries:retry_on_asset_or_op_failure`` false, only runs that failed for another reason
than a step failure (their worker died, they could not start) are retried.
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from knoll.errors import RunAlreadyStoredError
from knoll.execution.events import EventType, run_event
from knoll.execution.run import Run, RunStatus, derived_run_id
from knoll.instance.config import RunRetrySettings
from knoll.instance.launcher import ReexecutionRequest
from knoll.instance.monitor import RESUME_ATTEMPT_TAG
from knoll.instance.queue import submit_run

if TYPE_CHECKING:
    from knoll.instance import Instance
    from knoll.storage.base import RunRecord, Storage

__all__ = [
    "CURSOR_KEY",
    "MAX_RETRIES_TAG",
    "PENDING_KEY",
    "RETRIES_EXHAUSTED_TAG",
    "RETRY_DUTY",
    "RETRY_NUMBER_TAG",
    "RETRY_RUN_ID_TAG",
    "RETRY_STRATEGY_TAG",
    "ReexecutionBuilder",
    "RetryReport",
    "RetryStrategy",
    "retry_pass",
    "retry_run_id",
]

RETRY_DUTY = "run_retries"
"""The duty's name, and the name of its lease."""
MAX_RETRIES_TAG = "knoll/max_retries"
"""Run (or job) tag: how many retries a root run gets, overriding ``run_retries:max_retries``."""
RETRY_STRATEGY_TAG = "knoll/retry_strategy"
"""Run tag: ``FROM_FAILURE`` (the default) or ``ALL_STEPS``: what a retry re-executes."""
RETRY_NUMBER_TAG = "knoll/retry_number"
"""Tag of a retry: 1 for the first retry of a root run, 2 for the retry of that retry..."""
RETRY_RUN_ID_TAG = "knoll/retry_run_id"
"""Tag the duty puts on a failed run it retried: the id of its retry."""
RETRIES_EXHAUSTED_TAG = "knoll/retries_exhausted"
"""Tag the duty puts on a failed run it did not retry because no retry was left."""

CURSOR_KEY = "knoll/run_retries/cursor"
"""Key-value entry: the storage id of the last RUN_FAILURE event the duty has read."""
PENDING_KEY = "knoll/run_retries/pending"
"""Key-value entry: the failed runs (a JSON list of ids) whose retry is still to be made."""

_BATCH = 500
_log = logging.getLogger("knoll.daemon.run_retries")


class RetryStrategy(enum.Enum):
    """What a retry re-executes of the failed run (the ``knoll/retry_strategy`` tag)."""

    FROM_FAILURE = "FROM_FAILURE"  # the steps that failed or did not run, and their dependents
    ALL_STEPS = "ALL_STEPS"


class ReexecutionBuilder(Protocol):
    """What the duty needs of a run launcher (``RunLauncher`` is one)."""

    def serves(self, record: RunRecord) -> bool: ...

    def build_reexecution(self, parent: Run, request: ReexecutionRequest) -> Run: ...


@dataclass
class RetryReport:
    """What one pass did: retries queued (failed run id, retry id), runs whose retries are
    exhausted, runs left alone (with why), and runs still pending (with the error)."""

    retried: list[tuple[str, str]] = field(default_factory=list)
    exhausted: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)


def retry_run_id(failed_run_id: str) -> str:
    """The id of the retry of ``failed_run_id``: the same in every pass and every daemon."""
    return derived_run_id("retry", failed_run_id)


def retry_pass(
    instance: Instance, builder: ReexecutionBuilder, settings: RunRetrySettings | None = None
) -> RetryReport:
    """One pass of the ``run_retries`` duty (see the module); ``settings`` default to
    ``run_retries`` of the instance's knoll.yaml."""
    limits = settings if settings is not None else instance.settings.run_retries
    storage = instance.storage
    cursor, candidates = _read_state(storage)
    while True:
        records = storage.get_events_of_type(EventType.RUN_FAILURE, after=cursor, limit=_BATCH)
        for record in records:
            if record.event.run_id not in candidates:
                candidates.append(record.event.run_id)
        if records:
            cursor = records[-1].storage_id
        if len(records) < _BATCH:
            break
    report = RetryReport()
    left: list[str] = []
    for run_id in candidates:
        try:
            if not _consider(instance, builder, limits, run_id, report):
                left.append(run_id)
        except Exception as exc:  # the code server is down, the job is gone...: next pass
            report.pending.append((run_id, f"{type(exc).__name__}: {exc}"))
            left.append(run_id)
    storage.kv_set({CURSOR_KEY: str(cursor), PENDING_KEY: json.dumps(left)})
    return report


def _read_state(storage: Storage) -> tuple[int, list[str]]:
    """The cursor and the pending runs; on the very first pass, the cursor starts after the
    latest failure so far: runs that failed before retries were turned on are not retried."""
    stored = storage.kv_get([CURSOR_KEY, PENDING_KEY])
    if CURSOR_KEY not in stored:
        latest = storage.get_events_of_type(EventType.RUN_FAILURE, newest_first=True, limit=1)
        return (latest[0].storage_id if latest else 0), []
    pending = json.loads(stored.get(PENDING_KEY) or "[]")
    return int(stored[CURSOR_KEY]), [str(run_id) for run_id in pending]


def _consider(
    instance: Instance,
    builder: ReexecutionBuilder,
    limits: RunRetrySettings,
    run_id: str,
    report: RetryReport,
) -> bool:
    """Retry failed run ``run_id`` if it should be: True when it needs nothing more, False
    when another daemon's launcher serves its location (it stays pending)."""
    storage = instance.storage
    record = storage.get_run(run_id)
    if record is None or record.run.status is not RunStatus.FAILURE:
        return True  # deleted, or re-stored with another status: nothing to retry
    run = record.run
    retry_id = retry_run_id(run_id)
    if storage.get_run(retry_id) is not None or RETRIES_EXHAUSTED_TAG in run.tags:
        return True  # done by an earlier pass
    allowed = _max_retries(run, limits)
    number = _retry_number(run) + 1
    if allowed == 0:
        report.skipped.append((run_id, f"{MAX_RETRIES_TAG} is 0"))
        return True
    if number > allowed:
        _exhausted(instance, run, allowed)
        report.exhausted.append(run_id)
        return True
    if not limits.retry_on_asset_or_op_failure and instance.step_failure_events(run_id):
        report.skipped.append(
            (run_id, "a step failed, and run_retries:retry_on_asset_or_op_failure is false")
        )
        return True
    if not builder.serves(record):
        return False
    strategy = _strategy(run)
    request = ReexecutionRequest(
        run_id,
        from_failure=strategy is RetryStrategy.FROM_FAILURE,
        run_id=retry_id,
        tags={RETRY_NUMBER_TAG: str(number)},
    )
    built = builder.build_reexecution(run, request)
    tags = {k: v for k, v in built.tags.items() if k != RESUME_ATTEMPT_TAG}
    try:
        submit_run(instance, replace(built, status=RunStatus.QUEUED, tags=tags))
    except RunAlreadyStoredError:
        return True  # another daemon (or this one, before a restart) queued it meanwhile
    storage.add_run_tags(run_id, {RETRY_RUN_ID_TAG: retry_id})
    message = (
        f"run {run_id} failed; retry {number} of {allowed} is queued as run {retry_id} "
        f"({strategy.value})"
    )
    instance.write_events([run_event(run, EventType.LOG_MESSAGE, message, level=logging.INFO)])
    report.retried.append((run_id, retry_id))
    return True


def _exhausted(instance: Instance, run: Run, allowed: int) -> None:
    instance.storage.add_run_tags(run.run_id, {RETRIES_EXHAUSTED_TAG: "true"})
    root = run.root_run_id or run.run_id
    message = (
        f"run {run.run_id} failed and is not retried: its root run {root} has had its "
        f"{allowed} retr{'y' if allowed == 1 else 'ies'} ({MAX_RETRIES_TAG} or "
        "run_retries:max_retries of knoll.yaml). Fix the cause, then re-execute it with "
        f"`knoll run reexecute {run.run_id} --from-failure`."
    )
    instance.write_events([run_event(run, EventType.LOG_MESSAGE, message, level=logging.WARNING)])


def _max_retries(run: Run, limits: RunRetrySettings) -> int:
    tagged = run.tags.get(MAX_RETRIES_TAG)
    if tagged is None:
        return limits.max_retries
    try:
        value = int(tagged)
    except ValueError:
        value = -1
    if value < 0:
        _log.warning(
            "run %s has tag %s=%r, which is not a number of retries: run_retries:max_retries "
            "(%d) is used. Write a whole number such as '3', or '0' for no retries.",
            run.run_id,
            MAX_RETRIES_TAG,
            tagged,
            limits.max_retries,
        )
        return limits.max_retries
    return value


def _retry_number(run: Run) -> int:
    try:
        return max(0, int(run.tags.get(RETRY_NUMBER_TAG, "0")))
    except ValueError:
        return 0


def _strategy(run: Run) -> RetryStrategy:
    tagged = run.tags.get(RETRY_STRATEGY_TAG)
    if tagged is None:
        return RetryStrategy.FROM_FAILURE
    try:
        return RetryStrategy(tagged.upper())
    except ValueError:
        _log.warning(
            "run %s has tag %s=%r, which is not a retry strategy: FROM_FAILURE is used. Write "
            "FROM_FAILURE or ALL_STEPS.",
            run.run_id,
            RETRY_STRATEGY_TAG,
            tagged,
        )
        return RetryStrategy.FROM_FAILURE
