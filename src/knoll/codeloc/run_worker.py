"""Run workers: one process per launched run, forked from the code server's warm process.

The code server validates a launch request with :func:`prepare_launch` (execution's own
preparation, which runs and records nothing) and, once the launcher has stored the run, starts
its worker with :func:`fork_run_worker`. The fork already holds the imported user code, so a
run starts in milliseconds. The worker leads a session of its own (a signal to its process
group reaches its step workers too), writes its own output to ``worker.log`` in the run's
compute logs folder, opens its own storage connections (the server's are never used after the
fork), executes the stored run, heartbeats while it runs, and exits.

Cancelling: SIGTERM (or SIGINT) stops the run where it is and records RUN_CANCELED. A worker
also stops on its own when a heartbeat finds its run CANCELING (a canceller on another host).

Resuming: when the run monitor finds that a STARTED run's worker died, it may start a *resume*
worker for the same run, which executes only the steps that have no STEP_SUCCESS event yet
(their upstream assets are loaded through the IO managers, and the op outputs they read from
the run that stored them: the run itself, or for a re-execution an earlier run of its lineage)
and ends the run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import traceback
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knoll._processes import reap_in_background
from knoll.errors import RunStatusError
from knoll.execution.cancel_switch import CancelSwitch
from knoll.execution.capture import set_terminal_copy
from knoll.execution.events import EventType, RunEvent, run_event
from knoll.execution.heartbeat import beating
from knoll.execution.prepare import ExecutionRequest, prepare_run
from knoll.execution.run import Run, RunStatus
from knoll.execution.spawned import job_named

if TYPE_CHECKING:
    from knoll.defs.definitions import Definitions
    from knoll.defs.keys import AssetKey
    from knoll.execution.capture import ComputeLogTarget
    from knoll.execution.pools import SlotClaims
    from knoll.instance import Instance
    from knoll.instance.launcher import LaunchRequest, ReexecutionRequest

__all__ = [
    "RunCanceled",
    "fork_run_worker",
    "prepare_launch",
    "prepare_reexecution",
    "run_worker_main",
    "warm_up",
]

# Events that move a run's status: refused by storage once a canceller has moved it.
_STATUS_EVENTS = frozenset(
    {EventType.RUN_START, EventType.RUN_SUCCESS, EventType.RUN_FAILURE, EventType.RUN_STARTING}
)


class RunCanceled(KeyboardInterrupt):
    """Raised in a run worker's main thread when its run is canceled.

    A ``KeyboardInterrupt``, so that user code does not catch it with ``except Exception`` and
    the executor records RUN_CANCELED on its way out.
    """


# ---- validating a request --------------------------------------------------------------------


def prepare_launch(
    defs: Definitions, location_name: str, request: LaunchRequest, instance: Instance | None
) -> Run:
    """The STARTING run that ``request`` asks for, validated against ``defs`` exactly as its
    execution will prepare it; a request that is wrong raises that error (bad config,
    partition, selection...). Nothing runs and nothing is recorded."""
    from knoll.defs.partitions import PartitionKeyRange
    from knoll.instance.launcher import LOCATION_TAG

    key_range = None
    if request.partition_range_start is not None or request.partition_range_end is not None:
        key_range = PartitionKeyRange(
            request.partition_range_start or "", request.partition_range_end or ""
        )
    wanted = ExecutionRequest(
        run_config=dict(request.run_config) or None,
        partition_key=request.partition_key,
        partition_key_range=key_range,
        tags={**request.tags, LOCATION_TAG: location_name},
        run_id=request.run_id,
        asset_selection=(
            list(request.asset_keys) if request.asset_keys is not None else request.asset_selection
        ),
        use_executor=True,
    )
    job = job_named(defs, request.job_name, asset_selection=wanted.asset_selection)
    return prepare_run(job, wanted, instance).run


def prepare_reexecution(
    defs: Definitions, location_name: str, request: ReexecutionRequest, instance: Instance
) -> Run:
    """The STARTING re-execution of a run stored in ``instance`` that ``request`` asks for,
    validated against ``defs`` as ``execute_job`` prepares one (the parent's job, its steps,
    the outputs it reads from the lineage); nothing runs and nothing is recorded."""
    from dataclasses import replace

    from knoll.errors import InvalidInvocationError
    from knoll.execution.reexecution import ReexecutionOptions, reexecution_request
    from knoll.instance.launcher import LOCATION_TAG

    parent = instance.find_run(request.parent_run_id)
    if parent is None:
        raise InvalidInvocationError(
            f"there is no run {request.parent_run_id} in {instance!r} to re-execute: give "
            "the id of a run this instance recorded (`knoll run list` shows them)."
        )
    job = job_named(defs, parent.job_name)
    options = (
        ReexecutionOptions.from_failure(parent.run_id, instance)
        if request.from_failure
        else ReexecutionOptions(parent.run_id, request.step_selection)
    )
    wanted = reexecution_request(
        job, instance, options, tags={**request.tags, LOCATION_TAG: location_name}
    )
    return prepare_run(job, replace(wanted, run_id=request.run_id), instance).run


# ---- forking a worker ------------------------------------------------------------------------


def fork_run_worker(
    defs: Definitions,
    run_id: str,
    instance_home: str,
    heartbeat_interval: float,
    close: Sequence[socket.socket] = (),
    *,
    resume: bool = False,
) -> int:
    """Fork the worker of stored run ``run_id`` from this process; return its pid (with
    ``resume``, a worker that finishes a STARTED run whose first worker died).

    ``close`` are this process's sockets (the server's listening socket, the request's
    connection) that the worker must not hold open. The parent reaps the worker when it exits.
    """
    warm_up()  # a no-op once done
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        reap_in_background(pid)
        return pid
    code = 1
    try:
        os.setsid()
        for sock in close:
            with contextlib.suppress(OSError):
                # detach: a request's socket has open file wrappers, and close() would wait
                # for them, leaving the fd (and the connection or the port) open in this child
                os.close(sock.detach())
        _stdin_from_devnull()
        code = run_worker_main(defs, run_id, instance_home, heartbeat_interval, resume=resume)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        # never return into the server's code, nor run its exit handlers or finalizers
        os._exit(code)


def warm_up() -> None:
    """Import what launching and running a run needs, once, in the server (as part of
    loading the location, before it counts as loaded), so that neither the first launch nor
    any worker pays for these imports."""
    import knoll.execution.io_managers
    import knoll.execution.multiprocess
    import knoll.instance._backends
    import knoll.storage.sql  # noqa: F401


def _output_to(path: Path) -> None:
    """Send this process's stdout and stderr to ``path``: a worker outlives the server and the
    command that launched it, so it must not hold their terminal or pipes open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def _stdin_from_devnull() -> None:
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)


# ---- the worker ------------------------------------------------------------------------------


def _cancel_switch() -> CancelSwitch:
    """Turns SIGTERM/SIGINT into :class:`RunCanceled` in the main thread, but never in the
    middle of an event write (a half-written batch would be lost, a stored one written again)."""
    return CancelSwitch(lambda signum: RunCanceled())


class _WorkerRecorder:
    """The run worker's recorder: the run is stored already (by the launcher), so starting it
    checks that it may still start; a run that a canceller moved keeps the events it can still
    record. Everything else is the instance's."""

    shares_events = True

    def __init__(
        self, instance: Instance, switch: CancelSwitch, heartbeat_interval: float, *, resume: bool
    ) -> None:
        self._instance = instance
        self._switch = switch
        self.run_heartbeat_interval = heartbeat_interval
        # a resume worker finishes a STARTED run; a first worker starts a STARTING one
        self._expected = RunStatus.STARTED if resume else RunStatus.STARTING

    @property
    def outputs_dir(self) -> Path | None:
        return self._instance.outputs_dir

    @property
    def compute_logs(self) -> ComputeLogTarget:
        return self._instance.compute_logs

    @property
    def slot_claims(self) -> SlotClaims:
        return self._instance.slot_claims

    @property
    def context_instance(self) -> Instance:
        return self._instance

    def process_reference(self) -> dict[str, str] | None:
        return self._instance.process_reference()

    def record_run_heartbeat(self, run_id: str, *, interval: float) -> None:
        self._instance.record_run_heartbeat(run_id, interval=interval, in_process=False)

    def start_run(self, run: Run) -> None:
        record = self._instance.storage.get_run(run.run_id)
        if record is None or record.run.status is not self._expected:
            self._switch.requested = True  # deleted, canceled or ended meanwhile: do not run it
            self._switch.raise_once()

    def write_events(self, events: Sequence[RunEvent]) -> None:
        self._switch.write(events, self._write)

    def _write(self, events: Sequence[RunEvent]) -> None:
        try:
            self._instance.write_events(events)
        except RunStatusError:
            if not events:
                raise
            record = self._instance.storage.get_run(events[0].run_id)
            if record is None or record.run.status not in (
                RunStatus.CANCELING,
                RunStatus.CANCELED,
            ):
                raise
            # Canceled meanwhile: keep what happened, drop the status moves it forbids, stop.
            self._switch.requested = True
            kept = [e for e in events if e.event_type not in _STATUS_EVENTS]
            if record.run.status is RunStatus.CANCELED:
                kept = [e for e in kept if e.event_type is not EventType.RUN_CANCELED]
            self._instance.write_events(kept)

    def find_run(self, run_id: str) -> Run | None:
        return self._instance.find_run(run_id)

    def events_of_run(self, run_id: str, of_types: Collection[EventType]) -> list[RunEvent]:
        return self._instance.events_of_run(run_id, of_types)

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        return self._instance.get_dynamic_partitions(partitions_def_name)

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return self._instance.has_dynamic_partition(partitions_def_name, partition_key)


def steps_left(
    defs: Definitions, run: Run, instance: Instance
) -> tuple[frozenset[AssetKey] | None, list[str], dict[tuple[str, str], str | None] | None]:
    """What a resume worker executes: the asset selection (None for an op job) and the keys of
    the steps of ``run`` that have no STEP_SUCCESS event, and for an op job where the outputs
    those steps read from the other steps were stored ((step, output) -> run id). The assets of
    the other steps are loaded through their IO managers."""
    selection, step_keys, reused, _ = _left_to_run(defs, run, instance)
    return selection, step_keys, reused


def _left_to_run(
    defs: Definitions, run: Run, instance: Instance
) -> tuple[
    frozenset[AssetKey] | None,
    list[str],
    dict[tuple[str, str], str | None] | None,
    dict[tuple[str, str], list[str]] | None,
]:
    """:func:`steps_left`, with the mapping keys of the dynamic outputs that the steps left
    map over or collect when their step does not run again."""
    from dataclasses import replace

    from knoll.execution.dynamic_steps import has_mapped_steps
    from knoll.execution.plan import build_plan
    from knoll.execution.reexecution import STEP_SELECTION_TAG, reused_outputs, steps_to_resume

    job = job_named(defs, run.job_name, asset_selection=run.asset_selection)
    plan = build_plan(job, asset_selection=_selection(defs, run))
    succeeded = instance.events_of_run(run.run_id, [EventType.STEP_SUCCESS])
    done = {e.step_key for e in succeeded if e.step_key is not None}
    if job.asset_graph is None:
        # a re-execution ran only the steps of its tag; the other outputs are in its lineage
        planned = run.tags.get(STEP_SELECTION_TAG)
        if has_mapped_steps(plan):
            wanted = planned.split(",") if planned else list(plan.step_keys)
            steps = steps_to_resume(instance, plan, run, wanted, done)
            return None, steps.step_keys, steps.reused, steps.mapping_keys
        chosen = set(planned.split(",")) if planned else set(plan.step_keys)
        plan = replace(plan, steps=tuple(s for s in plan.steps if s.key in chosen - done))
        return None, list(plan.step_keys), reused_outputs(instance, plan, run), None
    left = [step for step in plan.steps if step.key not in done]
    keys = frozenset(k for step in left for k in step.produced_asset_keys)
    return keys, [step.key for step in build_plan(job, asset_selection=keys).steps], None, None


def run_worker_main(
    defs: Definitions,
    run_id: str,
    instance_home: str,
    heartbeat_interval: float,
    *,
    resume: bool = False,
) -> int:
    """Execute stored run ``run_id`` into the instance at ``instance_home``: the exit code.
    With ``resume``, finish a STARTED run: execute only its steps that have not succeeded."""
    from knoll.instance import Instance

    switch = _cancel_switch()
    switch.install()
    instance = Instance.get(instance_home)
    _output_to(instance.compute_logs.run_dir(run_id) / "worker.log")
    # step output is kept in the step's files; worker.log keeps what the worker itself says
    set_terminal_copy(False)
    try:
        record = instance.storage.get_run(run_id)
        if record is None:
            print(f"knoll run worker: no run {run_id} in {instance!r}", file=sys.stderr)
            return 1
        run = record.run
        expected = RunStatus.STARTED if resume else RunStatus.STARTING
        if run.status is not expected:
            if run.status is RunStatus.CANCELING:
                _record_end(instance, run, EventType.RUN_CANCELED, "canceled before it started")
            return 0  # canceled (or started elsewhere) before this worker got to it
        error: BaseException | None = None
        recorder = _WorkerRecorder(instance, switch, heartbeat_interval, resume=resume)
        try:
            # beats before anything runs: a canceller can find this process from now on
            with beating(recorder, run_id, on_canceling=_stop_own_group):
                _execute_stored(defs, run, instance, recorder, resume=resume)
        except KeyboardInterrupt:
            switch.requested = True
        except BaseException as exc:
            error = exc
        _settle(instance, run, switch, error)
        return 0 if error is None else 1
    finally:
        instance.dispose()


def _execute_stored(
    defs: Definitions, run: Run, instance: Instance, recorder: _WorkerRecorder, *, resume: bool
) -> None:
    from knoll.execution.executor import execute
    from knoll.execution.reexecution import STEP_SELECTION_TAG

    selection, step_keys, reused, mapping_keys = _selection(defs, run), None, None, None
    # a re-execution of some steps of an op job reads the other outputs from its lineage, as
    # a resume does (none of its own steps has succeeded yet)
    if resume or (run.parent_run_id is not None and STEP_SELECTION_TAG in run.tags):
        selection, step_keys, reused, mapping_keys = _left_to_run(defs, run, instance)
    request = ExecutionRequest(
        run_config=dict(run.run_config) or None,
        tags=run.tags,
        run_id=run.run_id,
        asset_selection=selection,
        use_executor=True,
        step_keys=step_keys,
        parent_run_id=run.parent_run_id,
        root_run_id=run.root_run_id,
        reused_outputs=reused,
        mapping_keys=mapping_keys,
        resume=resume,
    )
    job = job_named(defs, run.job_name, asset_selection=run.asset_selection)
    prepared = prepare_run(job, request, recorder)
    execute(prepared, recorder, raise_on_error=False)


def _stop_own_group() -> None:
    """A heartbeat found the run CANCELING: stop the worker and its step workers as a
    canceller's SIGTERM would."""
    os.killpg(os.getpgrp(), signal.SIGTERM)


def _selection(defs: Definitions, run: Run) -> Any:
    job = job_named(defs, run.job_name, asset_selection=run.asset_selection)
    if run.asset_selection is None or job.asset_graph is None:
        return None
    return run.asset_selection


def _settle(
    instance: Instance, run: Run, switch: CancelSwitch, error: BaseException | None
) -> None:
    """Make sure the run ends with an event saying how, whatever stopped the execution."""
    # Signals from here on would only interrupt the bookkeeping.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)
    record = instance.storage.get_run(run.run_id)
    if record is None:
        return
    status = record.run.status
    if status is RunStatus.CANCELED:
        instance.storage.free_slots_of_run(run.run_id)
        return
    if status.is_finished:
        return
    if switch.requested or status is RunStatus.CANCELING:
        _record_end(instance, record.run, EventType.RUN_CANCELED, "canceled")
        instance.storage.free_slots_of_run(run.run_id)
        return
    detail = f"{type(error).__name__}: {error}" if error is not None else "it ended without a word"
    message = f"run {run.run_id} failed in its worker: {detail}"
    _record_end(instance, record.run, EventType.RUN_FAILURE, message, error)


def _record_end(
    instance: Instance,
    run: Run,
    event_type: EventType,
    what: str,
    error: BaseException | None = None,
) -> None:
    message = f"run {run.run_id} was {what}" if event_type is EventType.RUN_CANCELED else what
    event = run_event(run, event_type, message, error=error)
    with contextlib.suppress(RunStatusError):  # a canceller recorded the end meanwhile
        instance.write_events([event])
