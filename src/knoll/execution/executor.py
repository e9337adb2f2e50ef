"""Running a job in this process: validate, plan, initialise resources, execute steps in order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from knoll._utils import check_tags, did_you_mean
from knoll.definitions.config_schema import Permissive
from knoll.definitions.executor import (
    ExecutorDefinition,
    check_executor_config,
    in_process_executor,
)
from knoll.definitions.job import JobDefinition
from knoll.definitions.keys import AssetKey
from knoll.definitions.partitions import PartitionKeyRange, PartitionsDefinition
from knoll.definitions.run_config import RunConfig, RunConfigSchema, merge_run_configs
from knoll.definitions.selection import AssetSelection
from knoll.errors import (
    DefinitionError,
    ExecutionError,
    InvalidConfigError,
    InvalidInvocationError,
    KnollError,
    PartitionKeyError,
    RunFailedError,
)
from knoll.execution.context import PartitionScope
from knoll.execution.events import (
    AssetPlannedData,
    EventType,
    RunFailureData,
    SerializableError,
)
from knoll.execution.plan import ExecutionPlan, FromAsset, build_plan
from knoll.execution.pools import SlotKeeper, slot_claims_of
from knoll.execution.resources import build_resources, resource_config_schema
from knoll.execution.result import ExecuteInProcessResult
from knoll.execution.run import (
    OP_SELECTION_TAG,
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Run,
    RunStatus,
    new_run_id,
)
from knoll.execution.run_state import EventWriter, RunState, StepOutcome, outside_outputs
from knoll.execution.step import execute_step, run_capture

DEFAULT_IO_MANAGER_KEY = "io_manager"
BACKGROUND_FLUSH_SECONDS = 0.5
EPHEMERAL_JOB = "__ephemeral_asset_job__"  # the job materialize() builds; never shown to users


def default_io_manager(for_assets: bool, base_dir: Any = None) -> Any:
    """The IO manager used when none is given: files for asset jobs (under ``base_dir``, the
    instance's outputs folder, when given), memory for op jobs."""
    # Imported here, not at the top: it pulls in pydantic, which `import knoll` must not.
    from knoll.execution import io_managers

    if not for_assets:
        return io_managers.InMemoryIOManager()
    return io_managers.FilesystemIOManager(base_dir=str(base_dir) if base_dir else None)


def execute_in_process(
    job: JobDefinition,
    *,
    run_config: Mapping[str, Any] | Any = None,
    resources: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    partition_key_range: PartitionKeyRange | None = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = True,
    run_id: str | None = None,
    instance: Any = None,
    asset_selection: Any = None,
    op_selection: Sequence[str] | None = None,
    sinks: Sequence[Any] = (),
    use_executor: bool = False,
    step_keys: Sequence[str] | None = None,
    parent_run_id: str | None = None,
    root_run_id: str | None = None,
    reused_outputs: Mapping[tuple[str, str], str | None] | None = None,
) -> ExecuteInProcessResult:
    """Execute ``job`` and return its result (the engine behind ``materialize``,
    ``JobDefinition.execute_in_process`` and ``execute_job``).

    Steps run in this process unless ``use_executor`` is set, when the job's executor (or the
    one run config names under ``execution``) runs them. ``step_keys`` limits the run to those
    steps (re-execution); ``parent_run_id`` and ``root_run_id`` link it to earlier runs.
    ``reused_outputs`` maps each (step key, output name) that the steps of an op job read from
    steps outside ``step_keys`` to the run that stored it (None: the step succeeded without
    yielding that optional output); they are loaded through their IO managers.
    """
    selected = _asset_selection(job, asset_selection)
    inputs = RunInputs(
        selected, tuple(op_selection) if op_selection is not None else None, step_keys, resources
    )
    parts = prepare_run_parts(
        job, run_config, inputs, getattr(instance, "outputs_dir", None), use_executor
    )
    plan, resolved = parts.plan, parts.resolved
    run_tags = {
        **job.tags,
        **check_tags(dict(tags) if tags else None, f"run of {_run_owner(job, plan)}"),
    }
    if op_selection:
        run_tags[OP_SELECTION_TAG] = ",".join(op_selection)
    store = instance if hasattr(instance, "get_dynamic_partitions") else None
    scope = partition_scope(job, plan, partition_key, partition_key_range, run_tags, store)
    if scope is not None:
        if scope.is_single:
            run_tags[PARTITION_TAG] = str(scope.keys[0])
        else:
            run_tags[PARTITION_RANGE_START_TAG] = str(scope.key_range.start)
            run_tags[PARTITION_RANGE_END_TAG] = str(scope.key_range.end)
    run = Run(
        run_id=run_id or new_run_id(),
        job_name=job.name,
        status=RunStatus.STARTING,
        tags=run_tags,
        run_config=resolved.raw,
        asset_selection=plan.asset_keys or None,
        asset_check_selection=plan.check_keys or None,
        parent_run_id=parent_run_id,
        root_run_id=root_run_id,
    )
    sink_list = list(sinks)
    if instance is not None and hasattr(instance, "write_events"):
        # Stored before its first event, so every event has its run; a storage that is down
        # fails here, before anything ran.
        if hasattr(instance, "create_run"):
            instance.create_run(run)
        sink_list.append(instance)
    writer = EventWriter(run, sink_list)
    try:
        return _execute(
            job, parts, inputs, run, writer, scope, instance, raise_on_error, reused_outputs
        )
    except (KeyboardInterrupt, SystemExit) as exc:
        # The run is over: say so in its events, so that it is not left STARTED forever.
        if isinstance(exc, KeyboardInterrupt):
            writer.emit(
                EventType.RUN_CANCELED,
                None,
                f"run of {job.describe()} was interrupted (KeyboardInterrupt)",
                logging.ERROR,
            )
        else:
            writer.emit(
                EventType.RUN_FAILURE,
                None,
                f"run of {job.describe()} was stopped by SystemExit({exc.code!r})",
                logging.ERROR,
                RunFailureData(SerializableError.from_exception(exc)),
            )
        with contextlib.suppress(Exception):
            writer.flush()
        raise


@dataclass(frozen=True)
class RunInputs:
    """What a run was asked to execute besides its job and config: the worker processes of a
    multiprocess executor that do not fork from the run (forkserver, spawn) rebuild the run's
    plan and resources from these."""

    asset_selection: frozenset[AssetKey] | None = None
    op_selection: tuple[str, ...] | None = None
    step_keys: Sequence[str] | None = None
    resources: Mapping[str, Any] | None = None  # overrides of the job's resources


@dataclass(frozen=True)
class RunParts:
    """A run before anything runs: its plan, resources, resolved config and executor."""

    plan: ExecutionPlan
    resource_defs: dict[str, Any]
    resolved: Any
    executor: ExecutorDefinition | None  # None: steps run in this process

    @property
    def needed_resources(self) -> set[str]:
        return _needed_resource_keys(self.plan)


def prepare_run_parts(
    job: JobDefinition,
    run_config: Any,
    inputs: RunInputs,
    outputs_dir: Any = None,
    use_executor: bool = True,
) -> RunParts:
    """Plan the run, pick its resources and validate its config (every error a user can make
    in a run request is raised here, before the run is stored)."""
    plan = build_plan(job, asset_selection=inputs.asset_selection, op_selection=inputs.op_selection)
    # the run config (a re-execution's is its parent's) may configure steps that do not run
    config_steps = plan.steps
    if inputs.step_keys is not None:
        plan = _only_steps(plan, inputs.step_keys)
    # Runs that may cross processes store op outputs in files by default, as memory would not do.
    resource_defs = _resource_defs(job, plan, inputs.resources, outputs_dir, use_executor)
    config_schema = RunConfigSchema(
        {s.key: s.op.config_schema for s in config_steps},
        {k: _resource_schema(v) for k, v in resource_defs.items()},
        job.name,
    )
    document = run_config.to_config_dict() if isinstance(run_config, RunConfig) else run_config
    if job.config and (document is None or isinstance(document, Mapping)):
        document = merge_run_configs(job.config, document or {})
    try:
        resolved = config_schema.validate(document)
    except InvalidConfigError as exc:
        if job.name != EPHEMERAL_JOB:
            raise
        raise InvalidConfigError(_run_owner(job, plan), exc.errors) from None
    executor = select_executor(job, resolved.execution) if use_executor else None
    if executor is not None and executor.name == "in_process":
        executor = None
    if executor is not None:
        from knoll.execution.multiprocess import check_cross_process_io

        check_cross_process_io(resource_defs, _io_manager_keys(plan), _run_owner(job, plan))
    return RunParts(plan, resource_defs, resolved, executor)


def _execute(
    job: JobDefinition,
    parts: RunParts,
    inputs: RunInputs,
    run: Run,
    writer: EventWriter,
    scope: PartitionScope | None,
    instance: Any,
    raise_on_error: bool,
    reused: Mapping[tuple[str, str], str | None] | None = None,
) -> ExecuteInProcessResult:
    plan = parts.plan
    _plan_events(writer, plan, scope)
    run = run.with_status(RunStatus.STARTED)
    writer.emit(EventType.RUN_START, None, f"started run of {job.describe()}", logging.INFO)
    writer.flush()  # the run is STARTED, and its planned partitions in progress, from now on
    slots = _slot_keeper(plan, run, instance)
    try:
        state, run_error, outputs = _run_plan(
            job, parts, inputs, run, writer, scope, instance, slots, reused
        )
    finally:
        if slots is not None:
            # Steps release their slots as they end; this frees what a failure left behind.
            slots.close()
    return _finish(job, plan, run, writer, state, run_error, outputs, raise_on_error)


def _slot_keeper(plan: ExecutionPlan, run: Run, instance: Any) -> SlotKeeper | None:
    """The run's pool slots: only when a step has a pool and the instance stores slots."""
    if not any(step.op.pool is not None for step in plan.steps):
        return None
    claims = slot_claims_of(instance)
    return SlotKeeper(claims, run.run_id) if claims is not None else None


def _run_plan(
    job: JobDefinition,
    parts: RunParts,
    inputs: RunInputs,
    run: Run,
    writer: EventWriter,
    scope: PartitionScope | None,
    instance: Any,
    slots: SlotKeeper | None,
    reused: Mapping[tuple[str, str], str | None] | None = None,
) -> tuple[RunState | None, KnollError | None, dict[tuple[str, str], Any]]:
    plan, resource_defs, resolved, executor = (
        parts.plan,
        parts.resource_defs,
        parts.resolved,
        parts.executor,
    )
    state: RunState | None = None
    run_error: KnollError | None = None
    outputs: dict[tuple[str, str], Any] = {}
    if executor is not None:
        from knoll.execution.multiprocess import StoredOutputs, run_multiprocess

        state = RunState(
            run=run,
            job=job,
            resources=None,
            node_config=resolved.node_config,
            partition=scope,
            writer=writer,
            instance=instance,
            slots=slots,
        )
        _reuse_outputs(state, plan, reused)
        try:
            stored = run_multiprocess(state, parts, inputs)
            outputs = StoredOutputs(
                stored, _output_loader(plan, state, resource_defs, resolved.resource_config)
            )
        except KnollError as exc:
            run_error = exc
    else:
        state, run_error = _execute_steps(
            job, plan, run, writer, resource_defs, resolved, scope, instance, slots, reused
        )
        if state is not None:
            outputs = state.outputs
    return state, run_error, outputs


def _execute_steps(
    job: JobDefinition,
    plan: ExecutionPlan,
    run: Run,
    writer: EventWriter,
    resource_defs: Mapping[str, Any],
    resolved: Any,
    scope: PartitionScope | None,
    instance: Any,
    slots: SlotKeeper | None = None,
    reused: Mapping[tuple[str, str], str | None] | None = None,
) -> tuple[RunState | None, KnollError | None]:
    state: RunState | None = None
    run_error: KnollError | None = None
    try:
        with build_resources(
            resource_defs,
            resource_config=resolved.resource_config,
            run_id=run.run_id,
            only=_needed_resource_keys(plan),
        ) as initialized:
            state = RunState(
                run=run,
                job=job,
                resources=initialized,
                node_config=resolved.node_config,
                partition=scope,
                writer=writer,
                instance=instance,
                slots=slots,
            )
            _reuse_outputs(state, plan, reused)
            renewing = slots.renewing() if slots is not None else contextlib.nullcontext()
            try:
                # Persisted runs show a long step as started while it runs (logs --follow).
                with (
                    renewing,
                    writer.flushing_every(BACKGROUND_FLUSH_SECONDS),
                    run_capture(instance),
                ):
                    for step in plan.steps:
                        execute_step(state, step)
                        writer.flush()
            finally:
                state.close()
    except KnollError as exc:
        run_error = exc
    return state, run_error


def _finish(
    job: JobDefinition,
    plan: ExecutionPlan,
    run: Run,
    writer: EventWriter,
    state: RunState | None,
    run_error: KnollError | None,
    outputs: dict[tuple[str, str], Any],
    raise_on_error: bool,
) -> ExecuteInProcessResult:
    failed = list(state.errors) if state is not None else []
    errors: dict[str, KnollError] = dict(state.errors) if state is not None else {}
    if state is not None and state.blocked_assets and run_error is None:
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
            raise next(iter(errors.values()))
        raise run_error or ExecutionError(f"run {run.run_id} failed")
    return result


def _run_owner(job: JobDefinition, plan: ExecutionPlan) -> str:
    """How messages name what runs: the job, or for materialize() the assets it was given."""
    if job.name != EPHEMERAL_JOB:
        return job.describe()
    keys = sorted(k.to_user_string() for s in plan.steps for k in s.produced_asset_keys)
    shown = ", ".join(repr(k) for k in keys[:3])
    if len(keys) > 3:
        shown += f" and {len(keys) - 3} more"
    return f"materialize() of asset{'s' if len(keys) != 1 else ''} {shown or '(none)'}"


def _resource_schema(value: Any) -> Any:
    schema = resource_config_schema(value)
    if isinstance(schema, type):
        # A ConfigurableResource: build_resources validates its fields (with their paths).
        return Permissive()
    return schema


def _asset_selection(job: JobDefinition, selection: Any) -> frozenset[AssetKey] | None:
    if selection is None:
        return None
    if job.asset_graph is None:
        raise InvalidInvocationError(
            f"{job.describe()} is an op job; asset_selection= applies to asset jobs only. "
            "Use op_selection=[...] to run some of its ops."
        )
    keys = AssetSelection.from_coercible(selection).resolve(job.asset_graph)
    if job.asset_selection is not None:
        outside = keys - job.asset_selection
        if outside:
            shown = ", ".join(sorted(k.to_user_string() for k in outside))
            raise InvalidInvocationError(
                f"asset_selection names assets outside {job.describe()}: {shown}."
            )
    return keys


def _resource_defs(
    job: JobDefinition,
    plan: ExecutionPlan,
    overrides: Mapping[str, Any] | None,
    outputs_dir: Any = None,
    cross_process: bool = False,
) -> dict[str, Any]:
    defs: dict[str, Any] = {**job.resource_defs, **(overrides or {})}
    needed = _needed_resource_keys(plan)
    if DEFAULT_IO_MANAGER_KEY in needed and DEFAULT_IO_MANAGER_KEY not in defs:
        files = cross_process or job.asset_graph is not None
        defs[DEFAULT_IO_MANAGER_KEY] = default_io_manager(files, outputs_dir)
    missing = sorted(needed - set(defs))
    if missing:
        users = _users_of(plan, missing[0])
        raise DefinitionError(
            f"{users} requires resource {missing[0]!r}, which {_run_owner(job, plan)} does not "
            f"provide.{did_you_mean(missing[0], defs)} Pass it: resources={{{missing[0]!r}: ...}}."
        )
    return defs


def _reuse_outputs(
    state: RunState, plan: ExecutionPlan, reused: Mapping[tuple[str, str], str | None] | None
) -> None:
    """Before the steps run: the upstream steps that do not run succeeded, and their outputs
    load from the runs that stored them."""
    if not reused:
        return
    from knoll.execution.worker_pool import output_context

    for key, producer in outside_outputs(plan).items():
        if key not in reused:
            continue  # loading it fails the step that reads it, saying it was not produced
        state.outcomes[producer.key] = StepOutcome.SUCCESS
        stored_by = reused[key]
        if stored_by is not None:
            state.output_contexts[key] = output_context(state, producer, key[1], stored_by)


def _needed_resource_keys(plan: ExecutionPlan) -> set[str]:
    needed: set[str] = set()
    for (_, output_name), producer in outside_outputs(plan).items():
        needed.add(producer.op.output_defs[output_name].io_manager_key)
    graph = plan.job.asset_graph
    for step in plan.steps:
        needed.update(step.op.required_resource_keys)
        for output in step.selected_outputs:
            needed.add(step.op.output_defs[output].io_manager_key)
        for source in step.inputs.values():
            if isinstance(source, FromAsset) and graph is not None:
                upstream = graph.node(source.asset_key).assets_def
                if upstream.op is not None:
                    output = upstream.output_for(source.asset_key)
                    needed.add(upstream.op.output_defs[output].io_manager_key)
                else:
                    needed.add(DEFAULT_IO_MANAGER_KEY)
    return needed


def _users_of(plan: ExecutionPlan, key: str) -> str:
    for step in plan.steps:
        if key in step.op.required_resource_keys or any(
            step.op.output_defs[o].io_manager_key == key for o in step.selected_outputs
        ):
            return step.describe()
    return "an input of this run"


def partition_scope(
    job: JobDefinition,
    plan: ExecutionPlan,
    partition_key: str | None,
    key_range: PartitionKeyRange | None,
    tags: Mapping[str, str],
    store: Any = None,
) -> PartitionScope | None:
    """The partition(s) of the run; ``store`` holds dynamic partitions (the instance)."""
    if partition_key is None:
        partition_key = tags.get(PARTITION_TAG)
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    if key_range is None and start is not None and end is not None:
        key_range = PartitionKeyRange(start, end)
    pdef = job.partitions_def or _plan_partitions_def(job, plan)
    if partition_key is None and key_range is None:
        if pdef is not None and plan.asset_keys:
            partitioned = _partitioned_keys(plan)
            raise PartitionKeyError(
                f"{_run_owner(job, plan)} materializes partitioned assets "
                f"({', '.join(partitioned[:3])}) but no partition was given: pass "
                f"partition_key=... (one of {pdef.describe()})."
            )
        return None
    if pdef is None:
        raise PartitionKeyError(
            f"{_run_owner(job, plan)} is not partitioned, but a partition was given "
            f"({partition_key or key_range}). Leave partition_key out, or partition its assets."
        )
    # for materialize(), the partitioned asset says more than a job the user never named
    partitioned = _partitioned_keys(plan)
    owner = (
        f"asset {partitioned[0]!r}"
        if job.name == EPHEMERAL_JOB and len(partitioned) == 1
        else _run_owner(job, plan)
    )
    if partition_key is not None and key_range is not None:
        raise InvalidInvocationError(
            f"{owner}: give either partition_key or a partition key range, not both."
        )
    if partition_key is not None:
        key = as_partition_key(
            pdef, pdef.validate_partition_key(partition_key, owner, dynamic_partitions_store=store)
        )
        return PartitionScope(pdef, (key,), PartitionKeyRange(key, key))
    assert key_range is not None
    keys = tuple(
        as_partition_key(pdef, k)
        for k in pdef.get_partition_keys_in_range(key_range, dynamic_partitions_store=store)
    )
    return PartitionScope(pdef, keys, key_range)


def as_partition_key(pdef: PartitionsDefinition, key: str) -> str:
    """``key`` as the partitions definition spells it (a ``MultiPartitionKey`` for multi
    partitions, so that ``context.partition_key.keys_by_dimension`` works)."""
    convert = getattr(pdef, "get_partition_key_from_str", None)
    return convert(key) if convert is not None else key


def _partitioned_keys(plan: ExecutionPlan) -> list[str]:
    return sorted(
        k.to_user_string()
        for s in plan.steps
        for k in s.produced_asset_keys
        if s.assets_def is not None and s.assets_def.partitions_def is not None
    )


def _plan_partitions_def(job: JobDefinition, plan: ExecutionPlan) -> PartitionsDefinition | None:
    found: dict[PartitionsDefinition, str] = {}
    for step in plan.steps:
        pdef = step.assets_def.partitions_def if step.assets_def is not None else None
        if pdef is not None:
            found.setdefault(pdef, step.describe())
    if len(found) > 1:
        shown = "; ".join(f"{owner}: {pdef.describe()}" for pdef, owner in found.items())
        raise PartitionKeyError(
            f"{_run_owner(job, plan)} mixes assets with different partitions ({shown}). A run "
            "covers partitions of one definition: materialize them in separate runs."
        )
    return next(iter(found), None)


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


def select_executor(job: JobDefinition, execution: Mapping[str, Any]) -> ExecutorDefinition:
    """The executor of a run: the one run config names under ``execution`` (``{config:
    {multiprocess: {max_concurrent: 2}}}``), else the job's, else in-process."""
    base = job.executor_def or in_process_executor
    if not execution:
        return base
    section = execution.get("config", execution) if len(execution) == 1 else execution
    where = f"{job.describe()}, run config at path execution"
    if not isinstance(section, Mapping) or len(section) != 1:
        raise InvalidConfigError(
            job.describe(),
            [
                "at path execution: name one executor, for example "
                "{config: {multiprocess: {max_concurrent: 2}}} or {config: {in_process: {}}}"
            ],
        )
    name, config = next(iter(section.items()))
    try:
        check_executor_config(str(name), config or {}, where)
    except DefinitionError as exc:
        raise InvalidConfigError(job.describe(), [str(exc)]) from None
    if name == base.name:
        return base.configured(dict(config or {}))
    return ExecutorDefinition(str(name), dict(config or {}))


def _only_steps(plan: ExecutionPlan, step_keys: Sequence[str]) -> ExecutionPlan:
    wanted = set(step_keys)
    for key in sorted(wanted - set(plan.step_keys)):
        plan.step(key)  # raises, naming the closest step
    return replace(plan, steps=tuple(s for s in plan.steps if s.key in wanted))


def _io_manager_keys(plan: ExecutionPlan) -> set[str]:
    return {s.op.output_defs[o].io_manager_key for s in plan.steps for o in s.selected_outputs}


def _output_loader(
    plan: ExecutionPlan,
    state: RunState,
    resource_defs: Mapping[str, Any],
    resource_config: Mapping[str, Any],
) -> Any:
    """Loads a value a worker process stored, through its IO manager, for the run's result."""

    def load(key: tuple[str, str]) -> Any:
        from knoll.execution.context import InputContext
        from knoll.execution.worker_pool import output_context

        step = plan.step(key[0])
        io_key = step.op.output_defs[key[1]].io_manager_key
        with build_resources(
            resource_defs, resource_config=resource_config, run_id=state.run.run_id, only={io_key}
        ) as resources:
            state.resources = resources
            try:
                upstream = output_context(state, step, key[1])
            finally:
                state.resources = None
            scope = upstream.asset_partitions_def and state.partition
            context = InputContext(
                name=key[1],
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
