"""Preparing a run: everything that can be refused before a run exists.

:func:`prepare_run` turns a job and an :class:`ExecutionRequest` into a :class:`PreparedRun`:
the plan, the resolved run config, the resources (their config checked), the partition(s), the
executor and the STARTING run. It runs nothing and records nothing; every error a user can make
in a request is raised here. :func:`knoll.execution.executor.execute` then runs what it made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knoll._utils import check_tags, did_you_mean
from knoll.defs.config_schema import Permissive
from knoll.defs.definitions import IMPLICIT_ASSET_JOB
from knoll.defs.executor import (
    ExecutorDefinition,
    check_executor_config,
    in_process_executor,
)
from knoll.defs.job import JobDefinition
from knoll.defs.job_config import job_run_config
from knoll.defs.keys import AssetKey
from knoll.defs.partitions import PartitionKeyRange, PartitionsDefinition
from knoll.defs.partitions.partitioned_config import PartitionedConfig
from knoll.defs.run_config import (
    ResolvedRunConfig,
    RunConfig,
    RunConfigSchema,
)
from knoll.defs.selection import AssetSelection
from knoll.errors import (
    DefinitionError,
    InvalidConfigError,
    InvalidInvocationError,
    PartitionKeyError,
)
from knoll.execution.context import PartitionScope
from knoll.execution.dynamic_steps import narrow_plan
from knoll.execution.plan import ExecutionPlan, FromAsset, Step, build_plan
from knoll.execution.recorder import RunRecorder
from knoll.execution.resources import check_resource_config, resource_config_schema
from knoll.execution.run import (
    OP_SELECTION_TAG,
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITION_TAG,
    Run,
    RunStatus,
    new_run_id,
)
from knoll.execution.run_state import EventWriter, RunState, outside_outputs

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader
    from knoll.execution.pools import SlotKeeper

__all__ = [
    "DEFAULT_IO_MANAGER_KEY",
    "EPHEMERAL_JOB",
    "ExecutionRequest",
    "PreparedRun",
    "as_partition_key",
    "default_io_manager",
    "prepare_run",
    "run_owner",
    "select_executor",
]

DEFAULT_IO_MANAGER_KEY = "io_manager"
EPHEMERAL_JOB = "__ephemeral_asset_job__"  # the job materialize() builds; never shown to users


@dataclass(frozen=True)
class ExecutionRequest:
    """What a caller asks of one run of a job, besides the job itself.

    ``asset_selection`` is anything ``AssetSelection.from_coercible`` takes; ``step_keys``
    limits the run to those steps (a re-execution or a resume); ``reused_outputs`` maps each
    (step key, output name) that those steps read from steps outside them to the run that
    stored it (None: the step succeeded without yielding that optional output), and
    ``mapping_keys`` gives the mapping keys of the dynamic outputs (step key, output name)
    that those steps map over or collect, when their step does not run. ``resume`` finishes a
    run that is STARTED already: it does not start it again.
    """

    run_config: Mapping[str, Any] | RunConfig | None = None
    resources: Mapping[str, object] | None = None  # overrides of the job's resources
    partition_key: str | None = None
    partition_key_range: PartitionKeyRange | None = None
    tags: Mapping[str, str] | None = None
    run_id: str | None = None
    asset_selection: object = None
    op_selection: Sequence[str] | None = None
    use_executor: bool = False  # False: steps run in this process, whatever the job's executor
    step_keys: Sequence[str] | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    reused_outputs: Mapping[tuple[str, str], str | None] | None = None
    mapping_keys: Mapping[tuple[str, str], Sequence[str]] | None = None
    resume: bool = False


@dataclass(frozen=True)
class PreparedRun:
    """A run that may execute: validated, planned, configured, not yet recorded anywhere."""

    job: JobDefinition
    run: Run  # STARTING
    plan: ExecutionPlan
    resolved: ResolvedRunConfig
    resource_defs: Mapping[str, object]
    executor: ExecutorDefinition | None  # None: steps run in this process
    partition: PartitionScope | None
    asset_selection: frozenset[AssetKey] | None
    op_selection: tuple[str, ...] | None
    resource_overrides: Mapping[str, object] | None
    reused_outputs: Mapping[tuple[str, str], str | None] | None = None
    mapping_keys: Mapping[tuple[str, str], Sequence[str]] | None = None
    resume: bool = False

    @property
    def needed_resources(self) -> set[str]:
        return needed_resource_keys(self.plan)

    def state(
        self,
        run: Run,
        writer: EventWriter,
        recorder: RunRecorder,
        slots: SlotKeeper | None = None,
    ) -> RunState:
        """What the steps of this run share, before its resources are set up."""
        return RunState(
            run=run,
            job=self.job,
            resources=None,
            node_config=self.resolved.node_config,
            partition=self.partition,
            writer=writer,
            recorder=recorder,
            slots=slots,
        )


def prepare_run(
    job: JobDefinition,
    request: ExecutionRequest,
    recorder: RunRecorder | None = None,
) -> PreparedRun:
    """Validate ``request`` against ``job`` and make its run, running and recording nothing.

    ``recorder`` (a ``RunRecorder``, or None) is read for the dynamic partitions that exist and
    for the folder of the default IO manager.
    """
    selected = _asset_selection(job, request.asset_selection)
    ops = tuple(request.op_selection) if request.op_selection is not None else None
    plan = build_plan(job, asset_selection=selected, op_selection=ops)
    # the run config (a re-execution's is its parent's) may configure steps that do not run
    config_steps = plan.steps
    if request.step_keys is not None:
        plan = narrow_plan(plan, request.step_keys)
    outputs_dir: Path | None = recorder.outputs_dir if recorder is not None else None
    # Runs that may cross processes store op outputs in files by default, as memory would not do.
    resource_defs = _resource_defs(job, plan, request.resources, outputs_dir, request.use_executor)
    tags = _run_tags(job, plan, request.tags, ops)
    scope = partition_scope(
        job, plan, request.partition_key, request.partition_key_range, tags, recorder
    )
    single_key = str(scope.keys[0]) if scope is not None and scope.is_single else None
    tags = _with_partition_config_tags(job, plan, tags, request.tags, single_key)
    _tag_partition(tags, scope)
    resolved = _resolve_config(
        job, plan, config_steps, resource_defs, request.run_config, single_key
    )
    # a resource's own config (a ConfigurableResource's fields) is checked now, not at run start
    check_resource_config(resource_defs, resolved.resource_config, only=needed_resource_keys(plan))
    executor = _executor(job, plan, resolved, resource_defs) if request.use_executor else None
    run = Run(
        run_id=request.run_id or new_run_id(),
        job_name=job.name,
        status=RunStatus.STARTING,
        tags=tags,
        run_config=resolved.raw,
        asset_selection=plan.asset_keys or None,
        asset_check_selection=plan.check_keys or None,
        parent_run_id=request.parent_run_id,
        root_run_id=request.root_run_id,
    )
    return PreparedRun(
        job=job,
        run=run,
        plan=plan,
        resolved=resolved,
        resource_defs=resource_defs,
        executor=executor,
        partition=scope,
        asset_selection=selected,
        op_selection=ops,
        resource_overrides=request.resources,
        reused_outputs=request.reused_outputs,
        mapping_keys=request.mapping_keys,
        resume=request.resume,
    )


def _executor(
    job: JobDefinition,
    plan: ExecutionPlan,
    resolved: ResolvedRunConfig,
    resource_defs: Mapping[str, object],
) -> ExecutorDefinition | None:
    """The executor that runs the steps in other processes, or None to run them here."""
    executor = select_executor(job, resolved.execution)
    if executor.name == "in_process":
        return None
    from knoll.execution.multiprocess import check_cross_process_io

    check_cross_process_io(resource_defs, _io_manager_keys(plan), run_owner(job, plan))
    return executor


def _resolve_config(
    job: JobDefinition,
    plan: ExecutionPlan,
    config_steps: Sequence[Step],
    resource_defs: Mapping[str, object],
    run_config: Mapping[str, Any] | RunConfig | None,
    partition_key: str | None = None,
) -> ResolvedRunConfig:
    config_schema = RunConfigSchema(
        {s.handle: s.op.config_schema for s in config_steps},
        {k: _resource_schema(v) for k, v in resource_defs.items()},
        job.name,
        plan.graph_configs,
        plan.omitted_nodes,
    )
    document = run_config.to_config_dict() if isinstance(run_config, RunConfig) else run_config
    if job.config is not None and (document is None or isinstance(document, Mapping)):
        owner = run_owner(job, plan)
        partitioned = job.partitions_def is not None
        document = job_run_config(job.config, document, partition_key, owner, partitioned)
    try:
        return config_schema.validate(document)
    except InvalidConfigError as exc:
        if job.name != EPHEMERAL_JOB:
            raise
        raise InvalidConfigError(run_owner(job, plan), exc.errors) from None


def _run_tags(
    job: JobDefinition,
    plan: ExecutionPlan,
    given: Mapping[str, str] | None,
    ops: tuple[str, ...] | None,
) -> dict[str, str]:
    checked = check_tags(dict(given) if given else None, f"run of {run_owner(job, plan)}")
    tags = {**job.tags, **checked}
    if ops:
        tags[OP_SELECTION_TAG] = ",".join(ops)
    return tags


def _with_partition_config_tags(
    job: JobDefinition,
    plan: ExecutionPlan,
    tags: dict[str, str],
    given: Mapping[str, str] | None,
    partition_key: str | None,
) -> dict[str, str]:
    """``tags`` with those a partitioned config gives ``partition_key``: they sit between the
    job's tags and those given for this run."""
    if not isinstance(job.config, PartitionedConfig) or partition_key is None:
        return tags
    own = {k: v for k, v in tags.items() if k not in job.tags or k in (given or {})}
    partition_tags = job.config.get_tags_for_partition_key(partition_key, run_owner(job, plan))
    return {**job.tags, **partition_tags, **own}


def _tag_partition(tags: dict[str, str], scope: PartitionScope | None) -> None:
    if scope is None:
        return
    if scope.is_single:
        tags[PARTITION_TAG] = str(scope.keys[0])
    else:
        tags[PARTITION_RANGE_START_TAG] = str(scope.key_range.start)
        tags[PARTITION_RANGE_END_TAG] = str(scope.key_range.end)


def default_io_manager(for_assets: bool, base_dir: Path | str | None = None) -> object:
    """The IO manager used when none is given: files for asset jobs (under ``base_dir``, the
    instance's outputs folder, when given), memory for op jobs."""
    # Imported here, not at the top: it pulls in pydantic, which `import knoll` must not.
    from knoll.execution import io_managers

    if not for_assets:
        return io_managers.InMemoryIOManager()
    return io_managers.FilesystemIOManager(base_dir=str(base_dir) if base_dir else None)


def run_owner(job: JobDefinition, plan: ExecutionPlan) -> str:
    """How messages name what runs: the job, or for materialize() the assets it was given."""
    if job.name != EPHEMERAL_JOB:
        return job.describe()
    keys = sorted(k.to_user_string() for s in plan.steps for k in s.produced_asset_keys)
    shown = ", ".join(repr(k) for k in keys[:3])
    if len(keys) > 3:
        shown += f" and {len(keys) - 3} more"
    return f"materialize() of asset{'s' if len(keys) != 1 else ''} {shown or '(none)'}"


def _resource_schema(value: object) -> Any:
    schema = resource_config_schema(value)
    if isinstance(schema, type):
        # A ConfigurableResource: check_resource_config validates its fields (with their paths).
        return Permissive()
    return schema


def _asset_selection(job: JobDefinition, selection: object) -> frozenset[AssetKey] | None:
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
    return frozenset(keys)


def _resource_defs(
    job: JobDefinition,
    plan: ExecutionPlan,
    overrides: Mapping[str, object] | None,
    outputs_dir: Path | None = None,
    cross_process: bool = False,
) -> dict[str, object]:
    defs: dict[str, object] = {**job.resource_defs, **(overrides or {})}
    needed = needed_resource_keys(plan)
    if DEFAULT_IO_MANAGER_KEY in needed and DEFAULT_IO_MANAGER_KEY not in defs:
        files = cross_process or job.asset_graph is not None
        defs[DEFAULT_IO_MANAGER_KEY] = default_io_manager(files, outputs_dir)
    missing = sorted(needed - set(defs))
    if missing:
        users = _users_of(plan, missing[0])
        raise DefinitionError(
            f"{users} requires resource {missing[0]!r}, which {run_owner(job, plan)} does not "
            f"provide.{did_you_mean(missing[0], defs)} Pass it: resources={{{missing[0]!r}: ...}}."
        )
    return defs


def needed_resource_keys(plan: ExecutionPlan) -> set[str]:
    """The resources the steps of ``plan`` use, with the IO managers of what they read."""
    needed: set[str] = set()
    for (_, output_name), producer in outside_outputs(plan).items():
        needed.add(producer.op.output_defs[output_name].io_manager_key)
    graph = plan.job.asset_graph
    for step in plan.steps:
        needed.update(step.op.required_resource_keys)
        for hook in step.op.hook_defs | plan.job.hook_defs:
            needed.update(hook.required_resource_keys)
        for output in step.selected_outputs:
            needed.add(step.op.output_defs[output].io_manager_key)
        for source in step.inputs.values():
            if isinstance(source, FromAsset) and graph is not None:
                upstream = graph.node(source.asset_key).assets_def
                if upstream.op is not None:
                    output = upstream.output_for(source.asset_key)
                    needed.add(upstream.op.output_defs[output].io_manager_key)
                else:
                    spec = upstream.spec_for(source.asset_key)
                    needed.add(spec.io_manager_key or DEFAULT_IO_MANAGER_KEY)
    return needed


def _users_of(plan: ExecutionPlan, key: str) -> str:
    for step in plan.steps:
        if key in step.op.required_resource_keys or any(
            step.op.output_defs[o].io_manager_key == key for o in step.selected_outputs
        ):
            return step.describe()
        for hook in sorted(step.op.hook_defs | plan.job.hook_defs, key=lambda h: h.name):
            if key in hook.required_resource_keys:
                return f"{hook.describe()} (on step {step.key!r})"
    return "an input of this run"


def partition_scope(
    job: JobDefinition,
    plan: ExecutionPlan,
    partition_key: str | None,
    key_range: PartitionKeyRange | None,
    tags: Mapping[str, str],
    store: DynamicPartitionsReader | None = None,
) -> PartitionScope | None:
    """The partition(s) of the run; ``store`` holds dynamic partitions (the recorder)."""
    if partition_key is None:
        partition_key = tags.get(PARTITION_TAG)
    start, end = tags.get(PARTITION_RANGE_START_TAG), tags.get(PARTITION_RANGE_END_TAG)
    if key_range is None and start is not None and end is not None:
        key_range = PartitionKeyRange(start, end)
    pdef = job.partitions_def or _plan_partitions_def(job, plan)
    if job.name == IMPLICIT_ASSET_JOB and plan.asset_keys:
        # every asset's job: the assets selected decide (an unpartitioned one needs no key)
        pdef = _plan_partitions_def(job, plan)
    if partition_key is None and key_range is None:
        if pdef is not None and plan.asset_keys:
            partitioned = _partitioned_keys(plan)
            raise PartitionKeyError(
                f"{run_owner(job, plan)} materializes partitioned assets "
                f"({', '.join(partitioned[:3])}) but no partition was given: pass "
                f"partition_key=... (one of {pdef.describe()})."
            )
        return None
    if pdef is None:
        raise PartitionKeyError(
            f"{run_owner(job, plan)} is not partitioned, but a partition was given "
            f"({partition_key or key_range}). Leave partition_key out, or partition its assets."
        )
    # for materialize(), the partitioned asset says more than a job the user never named
    partitioned = _partitioned_keys(plan)
    owner = (
        f"asset {partitioned[0]!r}"
        if job.name == EPHEMERAL_JOB and len(partitioned) == 1
        else run_owner(job, plan)
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
            f"{run_owner(job, plan)} mixes assets with different partitions ({shown}). A run "
            "covers partitions of one definition: materialize them in separate runs."
        )
    return next(iter(found), None)


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


def _io_manager_keys(plan: ExecutionPlan) -> set[str]:
    return {s.op.output_defs[o].io_manager_key for s in plan.steps for o in s.selected_outputs}
