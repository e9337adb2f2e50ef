"""Executing one step: load inputs, call user code at the boundary, store outputs, record events."""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from typing import Any

from knoll.defs.logger import LogRoute, routed_to_step
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.op import NO_VALUE
from knoll.errors import (
    Failure,
    KnollError,
    RetryRequested,
    StorageWriteError,
    TypeCheckError,
    UserCodeError,
)
from knoll.execution.capture import ComputeLogTarget, capture_output, capture_session
from knoll.execution.context import (
    AssetCheckExecutionContext,
    AssetExecutionContext,
    OpExecutionContext,
    PartitionScope,
    StepState,
)
from knoll.execution.events import (
    ComputeLogsData,
    EventType,
    SerializableError,
    StepFailureData,
    StepRetryData,
    StepSkippedData,
)
from knoll.execution.hooks import run_hooks
from knoll.execution.plan import FromMany, FromStep, Step
from knoll.execution.pools import waiting_message
from knoll.execution.run_state import (
    EventWriter,
    Returned,
    RunState,
    StepFailed,
    StepOutcome,
    produced,
    short_repr,
)
from knoll.execution.step_inputs import input_partitions, load_input
from knoll.execution.step_outputs import process_items
from knoll.execution.type_check import a_type_name, check_value, type_name


def execute_step(state: RunState, step: Step) -> StepOutcome:
    if skip_if_blocked(state, step):
        return StepOutcome.SKIPPED
    return run_step(state, step)


def skip_if_blocked(state: RunState, step: Step) -> bool:
    """Record ``step`` as skipped and return True when an upstream failure or a blocking check
    stops it (the multiprocess coordinator decides this before handing a step to a worker)."""
    reason = _skip_reason(state, step)
    if reason is None:
        return False
    state.writer.emit(
        EventType.STEP_SKIPPED,
        step.key,
        f"skipped {step.describe()}: {reason}",
        logging.INFO,
        StepSkippedData(reason),
    )
    state.outcomes[step.key] = StepOutcome.SKIPPED
    return True


def run_step(state: RunState, step: Step) -> StepOutcome:
    """Execute ``step`` (with its retries), which is known not to be skipped, holding a slot
    of its concurrency pool while it runs when the run keeps slots (``state.slots``)."""
    pool, keeper = step.op.pool, state.slots
    if pool is None or keeper is None:
        return _start_step(state, step)

    def announce() -> None:
        state.writer.emit(
            EventType.LOG_MESSAGE,
            step.key,
            waiting_message(keeper.claims, pool, step.describe()),
            logging.INFO,
        )
        state.writer.flush()  # the user sees why the step has not started, while it waits

    keeper.wait_for_slot(pool, step.key, announce)
    try:
        return _start_step(state, step)
    finally:
        keeper.release(pool, step.key)


def run_capture(logs: ComputeLogTarget | None) -> contextlib.AbstractContextManager[None]:
    """Around all the steps of a run (or of a worker process): descriptors 1 and 2 are
    redirected once, and each step's compute-log capture only switches the files they go to."""
    if logs is None:
        return contextlib.nullcontext()
    return capture_session(capture_fds=logs.capture_fds)


def _start_step(state: RunState, step: Step) -> StepOutcome:
    writer = state.writer
    logs = state.recorder.compute_logs
    if logs is None:
        writer.emit(EventType.STEP_START, step.key, f"started {step.describe()}")
        outcome = _run_with_retries(state, step)
        run_hooks(state, step, outcome)
        return outcome
    stdout_path, stderr_path = logs.prepare(state.run.run_id, step.key)
    with capture_output(stdout_path, stderr_path, capture_fds=logs.capture_fds):
        writer.emit(EventType.STEP_START, step.key, f"started {step.describe()}")
        writer.emit(
            EventType.LOGS_CAPTURED,
            step.key,
            f"capturing the output of {step.describe()} to {stdout_path.parent}",
            logging.DEBUG,
            ComputeLogsData(str(stdout_path), str(stderr_path)),
        )
        outcome = _run_with_retries(state, step)
        run_hooks(state, step, outcome)
        return outcome


def _run_with_retries(state: RunState, step: Step) -> StepOutcome:
    writer = state.writer
    policy = step.op.retry_policy or state.job.op_retry_policy
    attempt = 0
    while True:
        try:
            with routed_to_step(_log_route(writer, step.key)):
                _run_attempt(state, step, attempt)
        except StepFailed as failed:
            return _fail(state, step, failed.error, user_code=False)
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit, StorageWriteError)):
                raise  # the run stops: no retry, and no step failure it could not store
            retry = _retry_decision(exc, policy, attempt)
            if retry is None:
                return _fail(state, step, _wrap_user_error(step, exc), user_code=True)
            attempt += 1
            max_retries, wait = retry
            writer.emit(
                EventType.STEP_UP_FOR_RETRY,
                step.key,
                f"{step.describe()} failed ({type(exc).__name__}: {exc}); retry {attempt} of "
                f"{max_retries} in {wait:.1f}s",
                logging.WARNING,
                StepRetryData(attempt, max_retries, wait, SerializableError.from_exception(exc)),
            )
            writer.flush()
            if wait > 0:
                time.sleep(wait)
            writer.emit(
                EventType.STEP_RESTARTED, step.key, f"restarted {step.describe()} (retry {attempt})"
            )
            continue
        writer.emit(EventType.STEP_SUCCESS, step.key, f"finished {step.describe()}")
        state.outcomes[step.key] = StepOutcome.SUCCESS
        return StepOutcome.SUCCESS


def _skip_reason(state: RunState, step: Step) -> str | None:
    for up in step.upstream:
        outcome = state.outcomes.get(up)
        if outcome is StepOutcome.FAILURE:
            return f"upstream step {up!r} failed"
        if outcome is StepOutcome.SKIPPED:
            return f"upstream step {up!r} was skipped"
    for name, source in step.inputs.items():
        sources = source.sources if isinstance(source, FromMany) else (source,)
        missing = [s for s in sources if isinstance(s, FromStep) and not produced(state, s)]
        # a fan-in input still runs with the values that were produced
        if missing and len(missing) == len(sources):
            return (
                f"input {name!r} needs output {missing[0].output_name!r} of step "
                f"{missing[0].step_key!r}, which is optional and was not produced"
            )
    if step.assets_def is not None and state.blocked_assets:
        for spec in step.assets_def.specs_by_output.values():
            for dep in spec.dep_keys:
                if dep in state.blocked_assets:
                    return f"a blocking check of upstream asset {dep.to_user_string()!r} failed"
    return None


def _retry_decision(exc: BaseException, policy: Any, attempt: int) -> tuple[int, float] | None:
    if isinstance(exc, RetryRequested):
        if attempt < exc.max_retries:
            return exc.max_retries, float(exc.seconds_to_wait)
        return None
    if isinstance(exc, Failure) and not exc.allow_retries:
        return None
    if policy is not None and attempt < policy.max_retries:
        return policy.max_retries, policy.delay_before(attempt + 1)
    return None


def _wrap_user_error(step: Step, exc: BaseException) -> KnollError:
    if isinstance(exc, KnollError):
        return exc
    if isinstance(exc, Failure):
        message = f"{step.describe()} (step {step.key!r}) failed: {exc.description or 'Failure'}"
    elif isinstance(exc, RetryRequested):
        reason = exc.__cause__ or exc.__context__
        message = (
            f"{step.describe()} (step {step.key!r}) requested a retry, but it has used all its "
            f"retries (RetryRequested(max_retries={exc.max_retries}))"
            + (f" (last error: {type(reason).__name__}: {reason})" if reason else "")
            + ". Raise RetryRequested(max_retries=...) with a higher limit, or fix the cause."
        )
    else:
        message = f"error in {step.describe()} (step {step.key!r}): {type(exc).__name__}: {exc}"
    error = UserCodeError(message, exc)
    error.__cause__ = exc
    return error


def _fail(state: RunState, step: Step, error: KnollError, *, user_code: bool) -> StepOutcome:
    cause = error.__cause__ if isinstance(error, UserCodeError) else None
    serial = SerializableError.from_exception(error)
    metadata: dict[str, MetadataValue] = {}
    if isinstance(cause, Failure):
        metadata = normalize_metadata(cause.metadata, step.describe())
    state.writer.emit(
        EventType.STEP_FAILURE,
        step.key,
        str(error),
        logging.ERROR,
        StepFailureData(serial, user_code, metadata),
    )
    state.outcomes[step.key] = StepOutcome.FAILURE
    state.errors[step.key] = error
    return StepOutcome.FAILURE


# ---- one attempt ------------------------------------------------------------------------


def _run_attempt(state: RunState, step: Step, attempt: int) -> None:
    op_def = step.op
    sig = op_def.signature
    step_state = StepState(
        run=state.run,
        op_def=op_def,
        step=step,
        op_config=state.node_config.get(step.handle),
        # only what the step declares, so a missing key is reported against this step
        resources=state.resources.for_owner(
            op_def.required_resource_keys,
            step.describe(),
            hint="Add it to the required_resource_keys of the asset or op, or take it as a "
            "parameter, and provide it in resources=.",
        ),
        emit=_step_emitter(state.writer, step.key),
        partition=_partition_for(state, step),
        instance=state.recorder.context_instance,
        retry_number=attempt,
        assets_def=step.assets_def,
        input_partitions=lambda name: input_partitions(state, step, name),
    )
    if step.check_def is not None:
        context: OpExecutionContext = AssetCheckExecutionContext(step_state)
    elif step.assets_def is not None:
        context = AssetExecutionContext(step_state)
    else:
        context = OpExecutionContext(step_state)
    kwargs: dict[str, Any] = {}
    if sig.context_param is not None:
        kwargs[sig.context_param] = context
    if sig.config_param is not None:
        kwargs[sig.config_param.name] = step_state.op_config
    for param in sig.resource_params:
        kwargs[param.name] = state.resources.get(param.name)
    for name, input_def in op_def.input_defs.items():
        if input_def.is_nothing:
            continue
        value = load_input(state, step, name, context.log)
        if value is NO_VALUE:
            continue
        if not check_value(value, input_def.type):
            raise StepFailed(
                TypeCheckError(
                    f"{step.describe()}: input {name!r} expects {type_name(input_def.type)}, but "
                    f"got {a_type_name(value)} ({short_repr(value)}). Fix the upstream output "
                    f"or the annotation of {name!r}."
                )
            )
        kwargs[name] = value
    result = op_def.compute_fn(**kwargs)
    items = _collect(state, result, sig.is_generator)
    process_items(state, step, step_state, items, context.log)


def _step_emitter(writer: EventWriter, step_key: str) -> Any:
    def emit(event_type: EventType, message: str, level: int, data: Any) -> None:
        writer.emit(event_type, step_key, message, level, data)

    return emit


def _log_route(writer: EventWriter, step_key: str) -> LogRoute:
    def route(text: str, level: int) -> None:
        writer.emit(EventType.LOG_MESSAGE, step_key, text, level)

    return route


def _partition_for(state: RunState, step: Step) -> PartitionScope | None:
    if state.partition is None:
        return None
    if step.assets_def is not None and step.assets_def.partitions_def is None:
        return None
    return state.partition


def _collect(state: RunState, result: Any, is_generator: bool) -> list[Any]:
    if inspect.isasyncgen(result):

        async def drain() -> list[Any]:
            return [item async for item in result]

        return list(state.run_coroutine(drain()))
    if inspect.iscoroutine(result):
        result = state.run_coroutine(result)
    if is_generator or inspect.isgenerator(result):
        return list(result)
    return [Returned(result)]
