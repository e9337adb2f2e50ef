"""One tick of a schedule or sensor, from its claim to its end, exactly once.

A tick goes through fixed steps, each recorded before the next begins, so that a daemon
killed at any point, or a second daemon that takes the duty over, carries the same tick on
instead of making another:

1. **claim**: ``claim_tick`` stores the tick under its key (a schedule's scheduled time, a
   sensor's tick number); a key stored already gives back that tick.
2. **evaluate**: the code server evaluates the schedule or sensor, and what it decided is
   recorded on the tick once (``record_tick_evaluation``); a tick taken up again follows the
   recorded evaluation instead of asking again.
3. **runs**: each run request becomes a QUEUED run whose id is derived from the instigator
   and the request's run key (or, without one, the tick's id and the request's place): a
   run stored already is not stored again. A run key that an earlier tick used is skipped,
   for ever (per instigator).
4. **end**: the tick's status, run ids and end time are stored together with the
   instigator's new state (a sensor's cursor, a schedule's last tick), in one transaction,
   so the cursor is never behind a run that was created, nor ahead of one that was not.

``KNOLL_DAEMON_CRASH_AT=KIND:POINT`` (``schedule`` or ``sensor``; ``claimed``,
``evaluated``, ``run_created``, ``before_commit``) makes the daemon kill itself with SIGKILL
at that point of its next tick: the crash tests use it to check that nothing is lost or
made twice.
"""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from knoll._serdes import deserialize, serialize
from knoll.daemon.clock import Clock
from knoll.errors import RunAlreadyStoredError, StorageError
from knoll.execution.run import RunStatus, derived_run_id
from knoll.instance.launcher import LaunchRequest
from knoll.storage.base import InstigatorState, Tick, TickStatus

if TYPE_CHECKING:
    from knoll.defs.run_request import DynamicPartitionsRequest, RunRequest
    from knoll.execution.run import Run
    from knoll.instance import Instance

__all__ = [
    "CRASH_ENV",
    "RUN_KEY_TAG",
    "TICK_TAG",
    "Evaluation",
    "RunBuilder",
    "apply_dynamic_partitions",
    "EndState",
    "carry_tick",
    "crash_point",
]

RUN_KEY_TAG = "knoll/run_key"
"""Run tag: the run key of the request that made the run."""
TICK_TAG = "knoll/tick"
"""Run tag: the id of the tick that made the run."""
CRASH_ENV = "KNOLL_DAEMON_CRASH_AT"

_MAX_ERROR = 20_000  # characters of a traceback kept on a tick


def crash_point(kind: str, point: str) -> None:
    """Kill this process with SIGKILL when ``KNOLL_DAEMON_CRASH_AT`` names this point."""
    if os.environ.get(CRASH_ENV) == f"{kind}:{point}":
        os.kill(os.getpid(), signal.SIGKILL)


class Evaluation(Protocol):
    """What a schedule's or sensor's evaluation decided (both result classes have these)."""

    @property
    def run_requests(self) -> tuple[RunRequest, ...]: ...

    @property
    def skip_message(self) -> str | None: ...


EndState = Callable[["Evaluation | None"], InstigatorState]
"""What the instigator's state becomes when a tick ends, given its evaluation (None when the
evaluation failed): stored with the tick, in the same transaction."""


class RunBuilder(Protocol):
    """What a tick needs of its location's code server: the run a request asks for
    (``CodeServerClient.build_run``)."""

    def build_run(self, request: LaunchRequest, instance_home: str | None = None) -> Run: ...


def carry_tick(  # noqa: PLR0913 (the tick, its evaluation and where its runs go)
    instance: Instance,
    tick: Tick,
    *,
    kind: str,
    evaluate: Callable[[], Evaluation],
    builder: RunBuilder,
    instance_home: str,
    end_state: EndState,
    clock: Clock,
    apply: Callable[[Evaluation], None] | None = None,
) -> Tick:
    """Take a claimed tick to its end (see the module); returns the ended tick.

    An evaluation that raises, or a run request its location refuses, ends the tick as a
    FAILURE with the error (and the runs created before it); storage errors propagate and
    leave the tick STARTED, for the next pass to carry on. ``apply`` does what the
    evaluation asks besides runs (a sensor's dynamic partitions) before the runs are made.
    """
    crash_point(kind, "claimed")
    storage = instance.storage
    tick = replace(tick, started_timestamp=clock.now())
    if tick.evaluation is None:
        try:
            fresh = evaluate()
        except Exception as exc:
            return _end(instance, tick, end_state(None), clock, error=_error(exc))
        recorded = storage.record_tick_evaluation(tick.tick_id, serialize(fresh))
        tick = replace(tick, evaluation=recorded)
    evaluation: Evaluation = deserialize(tick.evaluation or "")
    crash_point(kind, "evaluated")
    made = _Made()
    try:
        if apply is not None:
            apply(evaluation)
        for index, request in enumerate(evaluation.run_requests):
            _create_run(instance, tick, index, request, builder, instance_home, kind, made)
    except Exception as exc:
        if isinstance(exc, StorageError):
            raise
        return _end(instance, tick, end_state(evaluation), clock, made=made, error=_error(exc))
    crash_point(kind, "before_commit")
    return _end(instance, tick, end_state(evaluation), clock, made=made, evaluation=evaluation)


@dataclass
class _Made:
    """The runs a tick made (or found made by itself before), with their run keys, and the
    run keys that earlier ticks had used."""

    run_ids: list[str] = field(default_factory=list)
    run_keys: list[str] = field(default_factory=list)
    used: list[str] = field(default_factory=list)


def _end(
    instance: Instance,
    tick: Tick,
    state: InstigatorState,
    clock: Clock,
    *,
    made: _Made | None = None,
    evaluation: Evaluation | None = None,
    error: str | None = None,
) -> Tick:
    made = made or _Made()
    if error is not None:
        status, skip = TickStatus.FAILURE, None
    elif made.run_ids:
        status, skip = TickStatus.SUCCESS, None
    else:
        skip = (evaluation.skip_message if evaluation else None) or _skip_for(made.used)
        status = TickStatus.SKIPPED
    ended = replace(
        tick,
        status=status,
        run_ids=tuple(made.run_ids),
        run_keys=tuple(made.run_keys),
        skip_reason=skip,
        error=error,
        cursor=state.cursor,
        end_timestamp=clock.now(),
    )
    return instance.storage.update_tick(ended, state=state)


def _create_run(
    instance: Instance,
    tick: Tick,
    index: int,
    request: RunRequest,
    builder: RunBuilder,
    instance_home: str,
    kind: str,
    made: _Made,
) -> None:
    """Store request ``index`` of ``tick`` as a QUEUED run unless it was stored before."""
    key = request.run_key
    if key is not None:
        run_id = derived_run_id(tick.location, tick.name, "key", key)
    else:
        run_id = derived_run_id(tick.location, tick.name, "tick", str(tick.tick_id), str(index))
    mine = _run_of_tick(instance, run_id, tick)
    if mine is None:
        tags = {**request.tags, TICK_TAG: str(tick.tick_id)}
        if key is not None:
            tags[RUN_KEY_TAG] = key
        launch = LaunchRequest(
            job_name=request.job_name,
            asset_keys=request.asset_selection,
            run_config=dict(request.run_config or {}),
            tags=tags,
            partition_key=request.partition_key,
            run_id=run_id,
        )
        run = builder.build_run(launch, instance_home)
        try:
            instance.submit_run(replace(run, status=RunStatus.QUEUED))
            mine = True
        except RunAlreadyStoredError:  # another daemon stored it a moment ago
            mine = _run_of_tick(instance, run_id, tick)
        crash_point(kind, "run_created")
    if mine is False:
        made.used.append(key or run_id)
        return
    made.run_ids.append(run_id)
    if key is not None:
        made.run_keys.append(key)


def _run_of_tick(instance: Instance, run_id: str, tick: Tick) -> bool | None:
    """None when run ``run_id`` is not stored; True when this tick made it, False when an
    earlier tick did (its run key was used before)."""
    record = instance.storage.get_run(run_id)
    if record is None:
        return None
    return record.run.tags.get(TICK_TAG) == str(tick.tick_id)


def _skip_for(used: Sequence[str]) -> str:
    if not used:
        return "the evaluation requested no runs"
    shown = ", ".join(repr(key) for key in used[:5]) + (" ..." if len(used) > 5 else "")
    return (
        f"every run request has a run key that an earlier tick used ({shown}): a run key "
        "launches one run, ever"
    )


def _error(exc: BaseException) -> str:
    headline = str(exc) or type(exc).__name__
    trace = getattr(exc, "traceback", None) or traceback.format_exc()
    return f"{headline}\n\n{trace}"[:_MAX_ERROR]


def apply_dynamic_partitions(
    instance: Instance, requests: Sequence[DynamicPartitionsRequest]
) -> None:
    """Add and delete the dynamic partitions a sensor asked for (both are idempotent)."""
    from knoll.defs.partitions.dynamic import AddDynamicPartitionsRequest

    for request in requests:
        if isinstance(request, AddDynamicPartitionsRequest):
            instance.storage.add_dynamic_partitions(
                request.partitions_def_name, list(request.partition_keys)
            )
        else:
            for key in request.partition_keys:
                instance.storage.delete_dynamic_partition(request.partitions_def_name, key)
