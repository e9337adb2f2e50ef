"""Executing a prepared run: record it, initialise resources, execute its steps, end it.

:func:`execute` runs a :class:`~knoll.execution.prepare.PreparedRun` into a
:class:`~knoll.execution.recorder.RunRecorder`; :func:`execute_in_process` is both steps in one
call (prepare, then execute), the engine behind ``materialize``,
``JobDefinition.execute_in_process`` and ``execute_job``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from knoll.defs.job import JobDefinition
from knoll.defs.partitions import PartitionKeyRange
from knoll.errors import (
    ExecutionError,
    InvalidInvocationError,
    KnollError,
    RunFailedError,
    StorageWriteError,
)
from knoll.execution.context import PartitionScope
from knoll.execution.dynamic_steps import concrete_step, resolved_steps, split_kept_name
from knoll.execution.events import (
    AssetPlannedData,
    EventSink,
    EventType,
    RunFailureData,
    SerializableError,
)
from knoll.execution.external_deps import warn_of_near_misses
from knoll.execution.heartbeat import beating, interrupt_main_thread
from knoll.execution.plan import ExecutionPlan, build_plan
from knoll.execution.pools import SlotKeeper
from knoll.execution.prepare import ExecutionRequest, PreparedRun, prepare_run
from knoll.execution.raised import error_for_caller
from knoll.execution.recorder import MemoryRecorder, RunRecorder
from knoll.execution.resources import build_resources
from knoll.execution.result import ExecuteInProcessResult
from knoll.execution.run import Run, RunStatus
from knoll.execution.run_state import EventWriter, RunState, StepOutcome
from knoll.execution.step import execute_step, run_capture

__all__ = ["execute", "execute_in_process", "recorder_of"]

BACKGROUND_FLUSH_SECONDS = 0.5
STORAGE_RETRY_PAUSES = (0.2, 0.5, 1.0, 2.0)
"""Pauses before each retry of a run's RUN_FAILURE after its storage failed a write."""


def recorder_of(instance: object) -> RunRecorder | None:
    """``instance`` as a run recorder (None stays None); anything else is refused, saying what
    to pass instead."""
    if instance is None or isinstance(instance, RunRecorder):
        return instance
    raise InvalidInvocationError(
        f"instance= must be a knoll Instance (knoll.instance.Instance.get() or "
        f"Instance.ephemeral()), got {type(instance).__name__}."
    )


def execute_in_process(  # noqa: PLR0913 (JobDefinition.execute_in_process's keyword arguments)
    job: JobDefinition,
    *,
    run_config: Any = None,
    resources: Mapping[str, object] | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = True,
    run_id: str | None = None,
    instance: RunRecorder | None = None,
    asset_selection: object = None,
    op_selection: Sequence[str] | None = None,
    use_executor: bool = False,
    sinks: Sequence[EventSink] = (),
) -> ExecuteInProcessResult:
    """Prepare a run of ``job`` and execute it into ``instance`` (or into memory).

    Steps run in this process unless ``use_executor`` is set, when the job's executor (or the
    one run config names under ``execution``) runs them. ``sinks`` get every batch of the
    run's events too.
    """
    recorder = recorder_of(instance)
    request = ExecutionRequest(
        run_config=run_config,
        resources=resources,
        partition_key=partition_key,
        partition_key_range=partition_key_range,
        tags=tags,
        run_id=run_id,
        asset_selection=asset_selection,
        op_selection=op_selection,
        use_executor=use_executor,
    )
    prepared = prepare_run(job, request, recorder)
    return execute(
        prepared, recorder or MemoryRecorder(), raise_on_error=raise_on_error, sinks=sinks
    )


def execute(
    prepared: PreparedRun,
    recorder: RunRecorder,
    *,
    raise_on_error: bool = True,
    sinks: Sequence[EventSink] = (),
) -> ExecuteInProcessResult:
    """Record ``prepared``'s run in ``recorder`` and execute it; return its result.

    The run is recorded before its first event, so that every event has its run; a recorder
    that cannot take it fails here, before anything ran. ``sinks`` get every batch of events
    too. A run stopped by KeyboardInterrupt (or SystemExit) says so in its events first.

    While it executes, the run heartbeats when the recorder takes heartbeats; a heartbeat that
    finds the run CANCELING interrupts the run (a KeyboardInterrupt, as Ctrl-C) when it
    executes in the main thread.
    """
    recorder.start_run(prepared.run)
    writer = EventWriter(prepared.run, [recorder, *sinks])
    in_main = threading.current_thread() is threading.main_thread()
    on_canceling = interrupt_main_thread if in_main else None
    try:
        with beating(recorder, prepared.run.run_id, on_canceling=on_canceling):
            return _execute(prepared, recorder, writer, raise_on_error)
    except StorageWriteError as exc:
        raise _record_storage_failure(writer, prepared, exc) from exc
    except (KeyboardInterrupt, SystemExit) as exc:
        _record_interruption(writer, prepared, exc)
        raise


def _record_storage_failure(
    writer: EventWriter, prepared: PreparedRun, exc: StorageWriteError
) -> StorageWriteError:
    """Storage failed a write: the run has stopped. Mark it FAILURE as soon as storage takes a
    write again (with its unwritten events if it takes them, else without), retrying briefly;
    return the error to raise, saying what became of the run."""
    run_id = prepared.run.run_id
    exc = exc.with_detail("")  # what failed, without what it did to a step
    failure = f"run of {prepared.job.describe()} failed: the storage failed a write: {exc}"
    writer.emit(EventType.RUN_FAILURE, None, failure, logging.ERROR, _failure_data(exc))
    with contextlib.suppress(StorageWriteError):
        writer.flush()
        return exc.with_detail(f"run {run_id} stopped and was marked FAILURE")
    lost = writer.drop_pending() - 1
    message = f"{failure}; {lost} of its events could not be stored"
    writer.emit(EventType.RUN_FAILURE, None, message, logging.ERROR, _failure_data(exc))
    for pause in STORAGE_RETRY_PAUSES:
        time.sleep(pause)
        try:
            writer.flush()
        except StorageWriteError:
            continue
        return exc.with_detail(
            f"run {run_id} stopped and was marked FAILURE; {lost} of its events could not be "
            "stored (the events stored before are all kept)"
        )
    writer.drop_pending()
    return exc.with_detail(
        f"run {run_id} stopped, and stays STARTED until the storage takes writes again: free "
        "space (or make the database writable), then `knoll run monitor` marks it FAILURE"
    )


def _failure_data(exc: StorageWriteError) -> RunFailureData:
    return RunFailureData(SerializableError.from_exception(exc))


def _record_interruption(
    writer: EventWriter, prepared: PreparedRun, exc: KeyboardInterrupt | SystemExit
) -> None:
    """The run is over: say so in its events, so that it is not left STARTED forever."""
    what = prepared.job.describe()
    if isinstance(exc, KeyboardInterrupt):
        writer.emit(
            EventType.RUN_CANCELED,
            None,
            f"run of {what} was interrupted ({str(exc) or type(exc).__name__})",
            logging.ERROR,
        )
    else:
        writer.emit(
            EventType.RUN_FAILURE,
            None,
            f"run of {what} was stopped by SystemExit({exc.code!r})",
            logging.ERROR,
            RunFailureData(SerializableError.from_exception(exc)),
        )
    with contextlib.suppress(Exception):
        writer.flush()


def _execute(
    prepared: PreparedRun,
    recorder: RunRecorder,
    writer: EventWriter,
    raise_on_error: bool,
) -> ExecuteInProcessResult:
    job, plan = prepared.job, prepared.plan
    _plan_events(writer, plan, prepared.partition)
    run = prepared.run.with_status(RunStatus.STARTED)
    if not prepared.resume:  # a resumed run is STARTED already
        writer.emit(EventType.RUN_START, None, f"started run of {job.describe()}", logging.INFO)
        warn_of_near_misses(writer, plan, job.asset_graph)
    writer.flush()  # the run is STARTED, and its planned partitions in progress, from now on
    slots = _slot_keeper(plan, run, recorder)
    state = prepared.state(run, writer, recorder, slots)
    try:
        run_error, outputs = _run_plan(prepared, state)
    finally:
        if slots is not None:
            # Steps release their slots as they end; this frees what a failure left behind.
            slots.close()
    return _finish(job, plan, run, writer, state, run_error, outputs, raise_on_error)


def _slot_keeper(plan: ExecutionPlan, run: Run, recorder: RunRecorder) -> SlotKeeper | None:
    """The run's pool slots: only when a step has a pool and the recorder stores slots."""
    if not any(step.op.pool is not None for step in plan.steps):
        return None
    claims = recorder.slot_claims
    return SlotKeeper(claims, run.run_id) if claims is not None else None


def _run_plan(
    prepared: PreparedRun, state: RunState
) -> tuple[KnollError | None, dict[tuple[str, str], Any]]:
    if prepared.executor is None:
        run_error = _execute_steps(prepared, state)
        return run_error, state.outputs
    from knoll.execution.multiprocess import StoredOutputs, run_multiprocess

    _reuse_outputs(state, prepared)
    try:
        stored = run_multiprocess(state, prepared)
    except KnollError as exc:
        return exc, {}
    loader = _output_loader(
        prepared.plan, state, prepared.resource_defs, prepared.resolved.resource_config
    )
    return None, StoredOutputs(stored, loader)


def _execute_steps(prepared: PreparedRun, state: RunState) -> KnollError | None:
    plan, writer = prepared.plan, state.writer
    recorder, slots = state.recorder, state.slots
    try:
        with build_resources(
            prepared.resource_defs,
            resource_config=prepared.resolved.resource_config,
            run_id=state.run.run_id,
            only=prepared.needed_resources,
        ) as initialized:
            state.resources = initialized
            _reuse_outputs(state, prepared)
            renewing = slots.renewing() if slots is not None else contextlib.nullcontext()
            # Runs others read show a long step as started while it runs (logs --follow).
            flushing = (
                writer.flushing_every(BACKGROUND_FLUSH_SECONDS)
                if recorder.shares_events
                else contextlib.nullcontext()
            )
            try:
                with renewing, flushing, run_capture(recorder.compute_logs):
                    for step in resolved_steps(state, plan):
                        execute_step(state, step)
                        writer.flush()
            finally:
                state.close()
    except StorageWriteError:
        raise  # the run stops here: execute() records what it can
    except KnollError as exc:
        return exc
    return None


def _finish(
    job: JobDefinition,
    plan: ExecutionPlan,
    run: Run,
    writer: EventWriter,
    state: RunState,
    run_error: KnollError | None,
    outputs: dict[tuple[str, str], Any],
    raise_on_error: bool,
) -> ExecuteInProcessResult:
    failed = list(state.errors)
    errors: dict[str, KnollError] = dict(state.errors)
    if state.blocked_assets and run_error is None:
        blocking = sorted(
            e.check_key.to_user_string() for e in state.check_evaluations if e.blocks_downstream
        )
        skipped = [k for k, o in state.outcomes.items() if o is StepOutcome.SKIPPED]
        run_error = RunFailedError(
            f"blocking check{'s' if len(blocking) > 1 else ''} {', '.join(blocking)} failed, so "
            f"the assets downstream of {'them' if len(blocking) > 1 else 'it'} did not run "
            f"(skipped steps: {', '.join(skipped) or 'none in this run'}). Fix the data, or make "
            "the check non-blocking."
        )
    if run_error is None and not failed:
        run = run.with_status(RunStatus.SUCCESS)
        writer.emit(EventType.RUN_SUCCESS, None, f"finished run of {job.describe()}", logging.INFO)
    else:
        run = run.with_status(RunStatus.FAILURE)
        summary = str(run_error) if run_error is not None else f"steps failed: {', '.join(failed)}"
        writer.emit(
            EventType.RUN_FAILURE,
            None,
            f"run of {job.describe()} failed: {summary}",
            logging.ERROR,
            RunFailureData(
                SerializableError.from_exception(run_error) if run_error is not None else None,
                tuple(failed),
            ),
        )
    writer.flush()
    result = ExecuteInProcessResult(
        run,
        writer.all_events,
        plan,
        outputs,
        errors,
        run_error=run_error,
    )
    if type(outputs) is not dict:
        # the result copies its outputs; values of worker processes must stay lazy
        result._outputs = outputs
    if raise_on_error and not result.success:
        if errors:
            raise error_for_caller(next(iter(errors.values())))
        raise run_error or ExecutionError(f"run {run.run_id} failed")
    return result


def _reuse_outputs(state: RunState, prepared: PreparedRun) -> None:
    """Before the steps run: the upstream steps that do not run succeeded, their outputs load
    from the runs that stored them, and the dynamic outputs of those steps have the mapping
    keys they had there."""
    reused, known = prepared.reused_outputs or {}, prepared.mapping_keys or {}
    if not reused and not known:
        return
    from knoll.execution.worker_pool import output_context

    every = {step.key: step for step in build_plan(prepared.plan.job).steps}
    for (step_key, output_name), keys in known.items():
        state.outcomes[step_key] = StepOutcome.SUCCESS
        state.mapping_keys[(step_key, output_name)] = list(keys)
    in_plan = set(prepared.plan.step_keys)
    for step in every.values():
        dynamic = step.mapped_by
        if dynamic is not None and dynamic in known and step.key not in in_plan:
            # a mapped step that does not run: what collects it reads each of its keys
            state.resolved[step.key] = [f"{step.handle}[{k}]" for k in known[dynamic]]
    for key, stored_by in reused.items():
        producer = concrete_step(every, key[0])
        state.outcomes[producer.key] = StepOutcome.SUCCESS
        if stored_by is not None:
            name, mapping_key = split_kept_name(key[1])
            state.output_contexts[key] = output_context(
                state, producer, name, stored_by, mapping_key
            )


def _plan_events(writer: EventWriter, plan: ExecutionPlan, scope: PartitionScope | None) -> None:
    # One planned event per asset partition (like materializations), so that storage can mark
    # each partition of a range in progress, and failed if the run fails.
    for step in plan.steps:
        partitioned = (
            scope is not None
            and step.assets_def is not None
            and (step.assets_def.partitions_def is not None)
        )
        partitions: tuple[str | None, ...] = scope.keys if partitioned and scope else (None,)
        for key in sorted(step.produced_asset_keys):
            for partition in partitions:
                shown = key.to_user_string() + (f" [{partition}]" if partition else "")
                writer.emit(
                    EventType.ASSET_MATERIALIZATION_PLANNED,
                    step.key,
                    f"{shown} will be materialized",
                    logging.DEBUG,
                    AssetPlannedData(key, partition=partition),
                )


def _output_loader(
    plan: ExecutionPlan,
    state: RunState,
    resource_defs: Mapping[str, Any],
    resource_config: Mapping[str, Any],
) -> Any:
    """Loads a value a worker process stored, through its IO manager, for the run's result."""
    steps = {s.key: s for s in plan.steps}

    def load(key: tuple[str, str]) -> Any:
        from knoll.execution.context import InputContext
        from knoll.execution.worker_pool import output_context

        step = concrete_step(steps, key[0])
        name, mapping_key = split_kept_name(key[1])
        io_key = step.op.output_defs[name].io_manager_key
        with build_resources(
            resource_defs, resource_config=resource_config, run_id=state.run.run_id, only={io_key}
        ) as resources:
            state.resources = resources
            try:
                upstream = output_context(state, step, name, mapping_key=mapping_key)
            finally:
                state.resources = None
            scope = upstream.asset_partitions_def and state.partition
            context = InputContext(
                name=name,
                step_key=step.key,
                run_id=state.run.run_id,
                asset_key=upstream.asset_key if upstream.has_asset_key else None,
                upstream_output=upstream,
                partitions_def=upstream.asset_partitions_def,
                partition_keys=tuple(scope.keys) if scope else None,
                dagster_type=upstream.dagster_type,
                op_def=step.op,
                resources=resources,
            )
            return resources.get(io_key).load_input(context)

    return load
