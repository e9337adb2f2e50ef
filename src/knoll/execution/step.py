"""Executing one step: load inputs, call user code at the boundary, store outputs, record events."""

from __future__ import annotations

import enum
import inspect
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knoll.definitions.asset import AssetsDefinition
from knoll.definitions.check import AssetCheckEvaluation, AssetCheckResult, AssetCheckSeverity
from knoll.definitions.job import JobDefinition
from knoll.definitions.keys import AssetCheckKey, AssetKey
from knoll.definitions.metadata import MetadataValue, normalize_metadata
from knoll.definitions.op import NO_VALUE
from knoll.definitions.output import (
    AssetMaterialization,
    AssetObservation,
    ExpectationResult,
    MaterializeResult,
    Output,
)
from knoll.definitions.partitions import infer_partition_mapping
from knoll.errors import (
    ExecutionError,
    Failure,
    InvalidInvocationError,
    KnollError,
    RetryRequested,
    TypeCheckError,
    UserCodeError,
)
from knoll.execution.context import (
    AssetCheckExecutionContext,
    AssetExecutionContext,
    InputContext,
    OpExecutionContext,
    OutputContext,
    PartitionScope,
    RunLogger,
    StepState,
)
from knoll.execution.events import (
    EventType,
    IOData,
    RunEvent,
    SerializableError,
    StepFailureData,
    StepOutputData,
    StepRetryData,
    StepSkippedData,
)
from knoll.execution.plan import FromAsset, FromMany, FromNothing, FromStep, Step
from knoll.execution.run import Run
from knoll.execution.type_check import a_type_name, check_value, type_name, yielded_type


class StepOutcome(enum.Enum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    SKIPPED = "SKIPPED"


class EventWriter:
    """Builds a run's events and hands them to the sinks in batches."""

    def __init__(self, run: Run, sinks: list[Any]) -> None:
        self.run_id = run.run_id
        self.job_name = run.job_name
        self.sinks = sinks
        self.all_events: list[RunEvent] = []
        self._pending: list[RunEvent] = []

    def emit(
        self,
        event_type: EventType,
        step_key: str | None,
        message: str = "",
        level: int = logging.DEBUG,
        data: Any = None,
    ) -> RunEvent:
        event = RunEvent(
            event_type, self.run_id, self.job_name, time.time(), step_key, message, level, data
        )
        self.all_events.append(event)
        self._pending.append(event)
        return event

    def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        for sink in self.sinks:
            sink.write_events(batch)


@dataclass
class RunState:
    """What the steps of one run share."""

    run: Run
    job: JobDefinition
    resources: Any  # knoll.execution.resources.Resources
    node_config: Mapping[str, Any]
    partition: PartitionScope | None
    writer: EventWriter
    instance: Any = None
    outputs: dict[tuple[str, str], Any] = field(default_factory=dict)
    output_contexts: dict[tuple[str, str], OutputContext] = field(default_factory=dict)
    outcomes: dict[str, StepOutcome] = field(default_factory=dict)
    errors: dict[str, KnollError] = field(default_factory=dict)
    blocked_assets: set[AssetKey] = field(default_factory=set)
    check_evaluations: list[AssetCheckEvaluation] = field(default_factory=list)
    _loop: Any = None  # an asyncio event loop, created for the first coroutine
    _worker: Any = None  # a one-thread pool, when the run was started inside a running loop

    def run_coroutine(self, coro: Any) -> Any:
        # asyncio is imported on first use: it costs more to import than all of knoll.
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._run_on_own_loop(coro)
        # The caller is itself async (a notebook, an async test): its loop cannot be re-entered
        # from here, so coroutines run on the run's own loop in one helper thread.
        if self._worker is None:
            from concurrent.futures import ThreadPoolExecutor

            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="knoll-async")
        return self._worker.submit(self._run_on_own_loop, coro).result()

    def _run_on_own_loop(self, coro: Any) -> Any:
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        loop, worker = self._loop, self._worker
        self._loop = self._worker = None
        if loop is not None:

            def finish() -> None:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

            if worker is not None:
                worker.submit(finish).result()
            else:
                finish()
        if worker is not None:
            worker.shutdown()


class _StepFailed(Exception):
    """Raised inside a step to fail it with a knoll error (not user code), without retry."""

    def __init__(self, error: KnollError) -> None:
        self.error = error
        super().__init__(str(error))


def execute_step(state: RunState, step: Step) -> StepOutcome:
    writer = state.writer
    reason = _skip_reason(state, step)
    if reason is not None:
        writer.emit(
            EventType.STEP_SKIPPED,
            step.key,
            f"skipped {step.describe()}: {reason}",
            logging.INFO,
            StepSkippedData(reason),
        )
        state.outcomes[step.key] = StepOutcome.SKIPPED
        return StepOutcome.SKIPPED
    writer.emit(EventType.STEP_START, step.key, f"started {step.describe()}")
    policy = step.op.retry_policy or state.job.op_retry_policy
    attempt = 0
    while True:
        try:
            _run_attempt(state, step, attempt)
        except _StepFailed as failed:
            return _fail(state, step, failed.error, user_code=False)
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
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
        missing = [s for s in sources if isinstance(s, FromStep) and not _produced(state, s)]
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


def _produced(state: RunState, source: FromStep) -> bool:
    """False when the upstream step succeeded without yielding this (optional) output."""
    if state.outcomes.get(source.step_key) is not StepOutcome.SUCCESS:
        return True  # not run in this run (or failed): handled elsewhere
    return (source.step_key, source.output_name) in state.output_contexts


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
        op_config=state.node_config.get(step.key),
        # only what the step declares, so a missing key is reported against this step
        resources=state.resources.for_owner(
            op_def.required_resource_keys,
            step.describe(),
            hint="Add it to the required_resource_keys of the asset or op, or take it as a "
            "parameter, and provide it in resources=.",
        ),
        emit=_step_emitter(state.writer, step.key),
        partition=_partition_for(state, step),
        instance=state.instance,
        retry_number=attempt,
        assets_def=step.assets_def,
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
        value = _load_input(state, step, name, context.log)
        if value is NO_VALUE:
            continue
        if not check_value(value, input_def.type):
            raise _StepFailed(
                TypeCheckError(
                    f"{step.describe()}: input {name!r} expects {type_name(input_def.type)}, but "
                    f"got {a_type_name(value)} ({_short(value)}). Fix the upstream output "
                    f"or the annotation of {name!r}."
                )
            )
        kwargs[name] = value
    result = op_def.compute_fn(**kwargs)
    items = _collect(state, result, sig.is_generator)
    _process_items(state, step, step_state, items, context.log)


def _step_emitter(writer: EventWriter, step_key: str) -> Any:
    def emit(event_type: EventType, message: str, level: int, data: Any) -> None:
        writer.emit(event_type, step_key, message, level, data)

    return emit


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
    return [_Returned(result)]


@dataclass(frozen=True)
class _Returned:
    value: Any


def _error_text(exc: BaseException) -> str:
    # knoll's own messages read as sentences; other exceptions need their class to make sense
    return str(exc) if isinstance(exc, KnollError) else f"{type(exc).__name__}: {exc}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- inputs -----------------------------------------------------------------------------


def _load_input(state: RunState, step: Step, name: str, log: RunLogger) -> Any:
    source = step.inputs.get(name, FromNothing())
    if isinstance(source, FromNothing):
        input_def = step.op.input_defs[name]
        if input_def.has_default:
            return input_def.default_value
        raise _StepFailed(
            ExecutionError(
                f"{step.describe()}: input {name!r} has no value: it is not wired to any "
                f"output and has no default. Connect it in the graph or give In(default_value=...)."
            )
        )
    if isinstance(source, FromMany):
        return [
            _load_from_step(state, step, name, s, log)
            for s in source.sources
            if _produced(state, s)
        ]
    if isinstance(source, FromStep):
        return _load_from_step(state, step, name, source, log)
    return _load_from_asset(state, step, name, source, log)


def _upstream_partition_keys(
    state: RunState, step: Step, upstream_key: AssetKey, upstream_def: Any
) -> tuple[str, ...] | None:
    if upstream_def is None:
        return None
    down_def = step.assets_def.partitions_def if step.assets_def is not None else None
    if step.check_def is not None:
        down_def = _asset_partitions_def(state, step.check_def.asset_key)
    explicit = step.assets_def.partition_mapping_for(upstream_key) if step.assets_def else None
    mapping = infer_partition_mapping(explicit, down_def, upstream_def, step.describe())
    keys = state.partition.keys if (state.partition is not None and down_def is not None) else None
    return tuple(mapping.get_upstream_partition_keys(keys, down_def, upstream_def))


def _asset_partitions_def(state: RunState, key: AssetKey) -> Any:
    graph = state.job.asset_graph
    if graph is None or not graph.has(key):
        return None
    return graph.node(key).assets_def.partitions_def


def _load_from_step(
    state: RunState, step: Step, name: str, source: FromStep, log: RunLogger
) -> Any:
    upstream_ctx = state.output_contexts.get((source.step_key, source.output_name))
    if upstream_ctx is None:
        raise _StepFailed(
            ExecutionError(
                f"{step.describe()}: input {name!r} needs output {source.output_name!r} of step "
                f"{source.step_key!r}, which did not produce it (it is optional and was not "
                "yielded)."
            )
        )
    asset_key = step.input_asset_keys.get(name)
    partition_keys = None
    upstream_def = upstream_ctx.asset_partitions_def
    if asset_key is not None:
        partition_keys = _upstream_partition_keys(state, step, asset_key, upstream_def)
    io_key = _io_manager_key_of(upstream_ctx)
    return _call_load(
        state,
        step,
        name,
        io_key,
        asset_key,
        upstream_ctx,
        upstream_def,
        partition_keys,
        source.step_key,
        log,
    )


def _io_manager_key_of(output_ctx: OutputContext) -> str:
    return output_ctx.io_manager_key


def _load_from_asset(
    state: RunState, step: Step, name: str, source: FromAsset, log: RunLogger
) -> Any:
    key = source.asset_key
    graph = state.job.asset_graph
    if graph is None or not graph.has(key):
        raise _StepFailed(ExecutionError(f"{step.describe()}: upstream asset {key} is unknown."))
    upstream_def: AssetsDefinition = graph.node(key).assets_def
    output_name = upstream_def.output_for(key)
    io_key = "io_manager"
    if upstream_def.op is not None:
        io_key = upstream_def.op.output_defs[output_name].io_manager_key
    spec = upstream_def.spec_for(key)
    upstream_ctx = OutputContext(
        name=output_name,
        step_key=upstream_def.op.name if upstream_def.op else key.to_python_identifier(),
        run_id=state.run.run_id,
        asset_key=key,
        partitions_def=upstream_def.partitions_def,
        definition_metadata=spec.metadata,
        op_def=upstream_def.op,
        resources=state.resources,
        log=log,
        io_manager_key=io_key,
    )
    partition_keys = _upstream_partition_keys(state, step, key, upstream_def.partitions_def)
    return _call_load(
        state,
        step,
        name,
        io_key,
        key,
        upstream_ctx,
        upstream_def.partitions_def,
        partition_keys,
        None,
        log,
    )


def _call_load(
    state: RunState,
    step: Step,
    name: str,
    io_key: str,
    asset_key: AssetKey | None,
    upstream_ctx: OutputContext,
    upstream_partitions_def: Any,
    partition_keys: tuple[str, ...] | None,
    upstream_step: str | None,
    log: RunLogger,
) -> Any:
    io_manager = state.resources.get(io_key)
    input_def = step.op.input_defs[name]
    context = InputContext(
        name=name,
        step_key=step.key,
        run_id=state.run.run_id,
        asset_key=asset_key,
        upstream_output=upstream_ctx,
        partitions_def=upstream_partitions_def,
        partition_keys=partition_keys,
        metadata=input_def.metadata,
        dagster_type=input_def.type,
        op_def=step.op,
        resources=state.resources,
        log=log,
    )
    try:
        value = io_manager.load_input(context)
    except Exception as exc:
        what = (
            f"asset {asset_key.to_user_string()!r}" if asset_key else f"output of {upstream_step!r}"
        )
        error = UserCodeError(
            f"{step.describe()}: IO manager {io_key!r} failed to load input {name!r} ({what}): "
            f"{_error_text(exc)}",
            exc,
        )
        error.__cause__ = exc
        raise _StepFailed(error) from exc
    state.writer.emit(
        EventType.LOADED_INPUT,
        step.key,
        f"loaded input {name!r} with IO manager {io_key!r}",
        logging.DEBUG,
        IOData(name, io_key, asset_key, upstream_step),
    )
    return value


# ---- outputs and events -----------------------------------------------------------------


def _process_items(
    state: RunState, step: Step, step_state: StepState, items: list[Any], log: RunLogger
) -> None:
    op_def = step.op
    produced: dict[str, tuple[Any, bool, Mapping[str, MetadataValue], str | None]] = {}
    check_results: list[AssetCheckResult] = []

    def add_output(
        output_name: str,
        value: Any,
        has_value: bool,
        metadata: Mapping[str, MetadataValue],
        data_version: str | None,
    ) -> None:
        if output_name not in op_def.output_defs:
            raise _StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned output {output_name!r}, which it does not declare;"
                    f" its outputs: {', '.join(op_def.output_defs)}."
                )
            )
        if output_name not in step.selected_outputs:
            raise _StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned output {output_name!r}, which is not selected in "
                    f"this run. With can_subset=True, yield only context.selected_output_names "
                    f"({sorted(step.selected_outputs)})."
                )
            )
        if output_name in produced:
            raise _StepFailed(
                InvalidInvocationError(f"{step.describe()} returned output {output_name!r} twice.")
            )
        produced[output_name] = (value, has_value, metadata, data_version)

    def from_materialize_result(result: MaterializeResult) -> None:
        if result.asset_key is not None and step.assets_def is not None:
            output_name = step.assets_def.output_for(result.asset_key)
        else:
            output_name = _sole_output(step)
        add_output(output_name, None, False, result.metadata, result.data_version)
        check_results.extend(result.check_results)

    for item in items:
        if isinstance(item, _Returned):
            value = item.value
            if isinstance(value, (Output, MaterializeResult, AssetCheckResult)):
                item = value
            elif (
                isinstance(value, tuple)
                and len(step.selected_outputs) > 1
                and all(isinstance(v, (Output, MaterializeResult)) for v in value)
            ):
                for inner in value:
                    if isinstance(inner, MaterializeResult):
                        from_materialize_result(inner)
                    else:
                        add_output(
                            inner.output_name, inner.value, True, inner.metadata, inner.data_version
                        )
                continue
            else:
                if step.check_def is not None:
                    raise _StepFailed(
                        InvalidInvocationError(
                            f"{step.describe()} returned {a_type_name(value)} "
                            f"({_short(value)}); an asset check returns "
                            "AssetCheckResult(passed=...)."
                        )
                    )
                _process_return_value(step, value, add_output)
                continue
        if isinstance(item, Output):
            name = item.output_name
            if name == "result" and name not in op_def.output_defs:
                name = _sole_output(step)
            add_output(name, item.value, True, item.metadata, item.data_version)
        elif isinstance(item, MaterializeResult):
            from_materialize_result(item)
        elif isinstance(item, AssetCheckResult):
            check_results.append(item)
        elif isinstance(item, (AssetMaterialization, AssetObservation, ExpectationResult)):
            OpExecutionContext(step_state).log_event(item)
        else:
            raise _StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} yielded a {type(item).__name__} ({_short(item)}); a "
                    "generator yields Output, MaterializeResult, AssetCheckResult, "
                    "AssetMaterialization or AssetObservation."
                )
            )
    for output_name in step.selected_outputs:
        output_def = op_def.output_defs[output_name]
        if output_name not in produced and output_def.is_required:
            if output_def.type is MaterializeResult or output_def.is_nothing:
                produced[output_name] = (None, False, {}, None)
                continue
            raise _StepFailed(
                ExecutionError(
                    f"{step.describe()} did not return required output {output_name!r}. Return "
                    f"or yield it (Output(value, output_name={output_name!r})), or declare it "
                    "is_required=False."
                )
            )
    for output_name, (value, has_value, metadata, _version) in produced.items():
        _handle_output(state, step, step_state, output_name, value, has_value, metadata, log)
    _record_checks(state, step, check_results)


def _sole_output(step: Step) -> str:
    if len(step.selected_outputs) == 1:
        return next(iter(step.selected_outputs))
    raise _StepFailed(
        InvalidInvocationError(
            f"{step.describe()} has several outputs ({sorted(step.selected_outputs)}): return "
            "Output(value, output_name=...) or MaterializeResult(asset_key=...) for each."
        )
    )


def _process_return_value(step: Step, value: Any, add_output: Any) -> None:
    outputs = [o for o in step.op.output_defs if o in step.selected_outputs]
    if len(step.op.output_defs) == 1:
        name = next(iter(step.op.output_defs))
        output_def = step.op.output_defs[name]
        if value is None and (output_def.type is MaterializeResult or output_def.is_nothing):
            add_output(name, None, False, {}, None)
        else:
            add_output(name, value, True, {}, None)
        return
    if value is None and not outputs:
        return
    matches = isinstance(value, tuple) and len(value) == len(outputs)
    if not matches and len(outputs) < len(step.op.output_defs):
        raise _StepFailed(
            InvalidInvocationError(
                f"{step.describe()} runs for a subset of its outputs ({outputs}) but returned "
                f"{a_type_name(value)}: yield Output(value, output_name=name) for each name in "
                "context.selected_output_names."
            )
        )
    if not matches:
        raise _StepFailed(
            InvalidInvocationError(
                f"{step.describe()} has outputs {outputs}: return a tuple of {len(outputs)} "
                f"values in that order (got {a_type_name(value)}), or yield "
                "Output(value, output_name=...)."
            )
        )
    for name, item in zip(outputs, value, strict=True):
        add_output(name, item, True, {}, None)


def _handle_output(
    state: RunState,
    step: Step,
    step_state: StepState,
    output_name: str,
    value: Any,
    has_value: bool,
    metadata: Mapping[str, MetadataValue],
    log: RunLogger,
) -> None:
    output_def = step.op.output_defs[output_name]
    asset_key = None
    definition_metadata: Mapping[str, MetadataValue] = output_def.metadata
    if step.assets_def is not None and output_name in step.assets_def.specs_by_output:
        spec = step.assets_def.specs_by_output[output_name]
        asset_key = spec.key
        definition_metadata = spec.metadata
    output_type = output_def.type
    if step.op.signature.is_generator:
        output_type = yielded_type(output_type)
    if has_value and not check_value(value, output_type):
        raise _StepFailed(
            TypeCheckError(
                f"{step.describe()}: output {output_name!r} is annotated "
                f"{type_name(output_type)}, "
                f"but the function returned {a_type_name(value)} ({_short(value)}). Return "
                "a value of that type or fix the annotation."
            )
        )
    all_metadata = dict(metadata)
    all_metadata.update(step_state.output_metadata.get(output_name, {}))
    writer = state.writer
    writer.emit(
        EventType.STEP_OUTPUT,
        step.key,
        f"produced output {output_name!r}",
        logging.DEBUG,
        StepOutputData(output_name, type_name(output_type), asset_key, all_metadata),
    )
    io_key = output_def.io_manager_key
    context = OutputContext(
        name=output_name,
        step_key=step.key,
        run_id=state.run.run_id,
        asset_key=asset_key,
        partitions_def=step.assets_def.partitions_def if step.assets_def else None,
        partition=step_state.partition,
        metadata=all_metadata,
        definition_metadata=definition_metadata,
        dagster_type=output_type,
        op_def=step.op,
        resources=state.resources,
        log=log,
        io_manager_key=io_key,
    )
    if has_value:
        io_manager = state.resources.get(io_key)
        try:
            io_manager.handle_output(context, value)
        except Exception as exc:
            error = UserCodeError(
                f"{step.describe()}: IO manager {io_key!r} failed to store output "
                f"{output_name!r}: {_error_text(exc)}",
                exc,
            )
            error.__cause__ = exc
            raise _StepFailed(error) from exc
        writer.emit(
            EventType.HANDLED_OUTPUT,
            step.key,
            f"stored output {output_name!r} with IO manager {io_key!r}",
            logging.DEBUG,
            IOData(output_name, io_key, asset_key, None, dict(context.added_metadata)),
        )
        all_metadata.update(context.added_metadata)
        state.outputs[(step.key, output_name)] = value
    state.output_contexts[(step.key, output_name)] = context
    if asset_key is not None:
        partitions = step_state.partition.keys if step_state.partition is not None else (None,)
        for partition in partitions:
            materialization = AssetMaterialization(
                asset_key, metadata=all_metadata, partition=partition
            )
            writer.emit(
                EventType.ASSET_MATERIALIZATION,
                step.key,
                f"materialized {asset_key.to_user_string()}"
                + (f" [{partition}]" if partition else ""),
                logging.INFO,
                materialization,
            )


def _record_checks(state: RunState, step: Step, results: list[AssetCheckResult]) -> None:
    expected: dict[AssetCheckKey, bool] = {}  # check key -> blocking
    default_asset: AssetKey | None = None
    if step.check_def is not None:
        expected[step.check_def.key] = step.check_def.spec.blocking
        default_asset = step.check_def.asset_key
    elif step.assets_def is not None:
        for spec in step.assets_def.check_specs:
            if spec.key in step.selected_checks:
                expected[spec.key] = spec.blocking
        produced = step.produced_asset_keys
        default_asset = next(iter(produced)) if len(produced) == 1 else None
    seen: set[AssetCheckKey] = set()
    for result in results:
        asset_key = result.asset_key or default_asset
        if asset_key is None:
            raise _StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned an AssetCheckResult without asset_key; set "
                    "AssetCheckResult(asset_key=...) when a step computes several assets."
                )
            )
        name = result.check_name
        if name is None:
            candidates = [k for k in expected if k.asset_key == asset_key]
            if len(candidates) != 1:
                raise _StepFailed(
                    InvalidInvocationError(
                        f"{step.describe()} returned an AssetCheckResult without check_name, but "
                        f"{len(candidates)} checks of {asset_key} run here; set check_name=..."
                    )
                )
            key = candidates[0]
        else:
            key = AssetCheckKey(asset_key, name)
        if key not in expected:
            raise _StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned a result for check {key.to_user_string()!r}, "
                    "which it does not declare. Add AssetCheckSpec(...) to check_specs=."
                )
            )
        if key in seen:
            raise _StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned check {key.to_user_string()!r} twice."
                )
            )
        seen.add(key)
        evaluation = AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=result.passed,
            severity=result.severity,
            metadata=result.metadata,
            description=result.description,
            blocking=expected[key],
            partition=state.partition.keys[0]
            if state.partition and state.partition.is_single
            else None,
        )
        state.check_evaluations.append(evaluation)
        level = (
            logging.INFO
            if result.passed
            else (logging.ERROR if result.severity is AssetCheckSeverity.ERROR else logging.WARNING)
        )
        state.writer.emit(
            EventType.ASSET_CHECK_EVALUATION,
            step.key,
            f"check {key.to_user_string()} {'passed' if result.passed else 'failed'}",
            level,
            evaluation,
        )
        if evaluation.blocks_downstream:
            state.blocked_assets.add(key.asset_key)
    missing = [k for k in expected if k not in seen]
    if missing:
        names = ", ".join(k.to_user_string() for k in missing)
        raise _StepFailed(
            ExecutionError(
                f"{step.describe()} did not return a result for check(s) {names}. Return "
                "AssetCheckResult(...) for each (inside MaterializeResult(check_results=[...]))."
            )
        )
