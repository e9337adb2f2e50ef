"""Running a job with its executor, and re-executing a run: all its steps, or from failure.

A re-execution is a new run linked to its parent and to the root of its lineage. Steps it does
not re-run are not recomputed: their assets are loaded through the IO managers, and the op
outputs they read are loaded from the run of the lineage that stored them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from knoll.defs.job import JobDefinition
from knoll.errors import InvalidInvocationError
from knoll.execution.dynamic_steps import has_dynamic_outputs
from knoll.execution.events import EventType, IOData, StepOutputData
from knoll.execution.executor import execute, execute_in_process, recorder_of
from knoll.execution.plan import ExecutionPlan, build_plan
from knoll.execution.prepare import DEFAULT_IO_MANAGER_KEY, ExecutionRequest, prepare_run
from knoll.execution.recorder import RunRecorder
from knoll.execution.result import ExecuteInProcessResult
from knoll.execution.run import OP_SELECTION_TAG, Run
from knoll.execution.run_state import outside_outputs, step_sources

PARENT_RUN_ID_TAG = "knoll/parent_run_id"
ROOT_RUN_ID_TAG = "knoll/root_run_id"
# the steps a re-execution of an op job runs (comma-separated), read again when it resumes
STEP_SELECTION_TAG = "knoll/step_selection"

_FINISHED_STEP = frozenset({EventType.STEP_SUCCESS})
_SEEN_STEP = frozenset(
    {
        EventType.ASSET_MATERIALIZATION_PLANNED,
        EventType.STEP_START,
        EventType.STEP_FAILURE,
        EventType.STEP_SKIPPED,
        EventType.STEP_SUCCESS,
    }
)
_OUTPUT_EVENTS = frozenset(
    {
        EventType.STEP_START,
        EventType.STEP_FAILURE,
        EventType.STEP_SKIPPED,
        EventType.STEP_SUCCESS,
        EventType.STEP_OUTPUT,
        EventType.HANDLED_OUTPUT,
    }
)


@dataclass(frozen=True)
class ReexecutionOptions:
    """Which run to re-execute, and which of its steps (all of them when ``step_selection`` is
    empty). ``ReexecutionOptions.from_failure(run_id, instance)`` selects the steps that did
    not succeed."""

    parent_run_id: str
    step_selection: Sequence[str] = ()

    @staticmethod
    def from_failure(run_id: str, instance: RunRecorder) -> ReexecutionOptions:
        """Re-run the steps of ``run_id`` that failed, were skipped or never finished (and,
        when executed, what depends on them)."""
        parent = _run(instance, run_id)
        if not parent.is_finished:
            raise InvalidInvocationError(
                f"run {run_id} is {parent.status.value}: re-execute it from failure once it "
                "has finished (or cancel it first)."
            )
        if parent.is_success:
            raise InvalidInvocationError(
                f"run {run_id} succeeded: there is no failure to re-execute from. Re-execute "
                "all of its steps with ReexecutionOptions(parent_run_id=...)."
            )
        seen: list[str] = []
        finished: set[str] = set()
        for event in instance.events_of_run(run_id, _SEEN_STEP):
            if event.step_key is None:
                continue
            if event.step_key not in seen:
                seen.append(event.step_key)
            if event.event_type in _FINISHED_STEP:
                finished.add(event.step_key)
        return ReexecutionOptions(run_id, tuple(k for k in seen if k not in finished))


def execute_job(  # noqa: PLR0913 (Dagster's keyword arguments)
    job: JobDefinition,
    instance: RunRecorder | None,
    *,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = False,
    partition_key: str | None = None,
    asset_selection: Any = None,
    op_selection: Sequence[str] | None = None,
    reexecution_options: ReexecutionOptions | None = None,
    resources: Mapping[str, Any] | None = None,
) -> ExecuteInProcessResult:
    """Run ``job`` into ``instance`` with its executor (``multiprocess_executor`` runs steps in
    worker processes), or re-execute an earlier run of it with ``reexecution_options``."""
    if reexecution_options is None:
        return execute_in_process(
            job,
            run_config=run_config,
            resources=resources,
            partition_key=partition_key,
            tags=tags,
            raise_on_error=raise_on_error,
            instance=instance,
            asset_selection=asset_selection,
            op_selection=op_selection,
            use_executor=True,
        )
    recorder = recorder_of(instance)
    if recorder is None:
        raise InvalidInvocationError(
            f"re-executing {job.describe()} needs the instance its parent run was stored in: "
            "pass instance=... (an ephemeral instance keeps nothing between runs)."
        )
    parent = _parent_run(recorder, reexecution_options.parent_run_id, job)
    scope = _scope(job, recorder, parent, reexecution_options.step_selection, resources)
    root = parent.root_run_id or parent.run_id
    lineage = {PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: root}
    kept = {
        k: v
        for k, v in parent.tags.items()
        if k not in job.tags and k not in lineage and k != STEP_SELECTION_TAG
    }
    if scope.reused is not None and scope.step_keys is not None:
        lineage[STEP_SELECTION_TAG] = ",".join(scope.step_keys)
    request = ExecutionRequest(
        run_config=parent.run_config if run_config is None else run_config,
        resources=resources,
        tags={**kept, **(tags or {}), **lineage},
        asset_selection=scope.asset_selection,
        op_selection=scope.op_selection,
        step_keys=scope.step_keys,
        use_executor=True,
        parent_run_id=parent.run_id,
        root_run_id=root,
        reused_outputs=scope.reused,
    )
    return execute(prepare_run(job, request, recorder), recorder, raise_on_error=raise_on_error)


def _parent_run(recorder: RunRecorder, run_id: str, job: JobDefinition) -> Run:
    parent = _run(recorder, run_id)
    if parent.job_name != job.name:
        raise InvalidInvocationError(
            f"run {parent.run_id} is a run of job {parent.job_name!r}, not of {job.describe()}: "
            "re-execute it with the job it ran."
        )
    return parent


@dataclass(frozen=True)
class _Scope:
    """What a re-execution runs of its parent run, and the op outputs it reads from earlier runs."""

    asset_selection: Any
    op_selection: list[str] | None
    step_keys: list[str] | None = None
    reused: dict[tuple[str, str], str | None] | None = None


def _scope(
    job: JobDefinition,
    recorder: RunRecorder,
    parent: Run,
    step_selection: Sequence[str],
    resources: Mapping[str, Any] | None,
) -> _Scope:
    # a run limited to some ops is re-executed within them
    ops = parent.tags[OP_SELECTION_TAG].split(",") if OP_SELECTION_TAG in parent.tags else None
    parent_plan = build_plan(job, asset_selection=parent.asset_selection, op_selection=ops)
    if step_selection and has_dynamic_outputs(parent_plan):
        raise InvalidInvocationError(
            f"cannot re-execute run {parent.run_id} of {job.describe()} from failure or with a "
            "step selection: the job has dynamic outputs (DynamicOut), whose mapped steps knoll "
            "does not re-execute one by one yet. Re-execute all the steps "
            "(ReexecutionOptions(parent_run_id=...) without step_selection)."
        )
    selection = _selected_steps(parent_plan, step_selection)
    if selection is None:
        return _Scope(parent.asset_selection, ops)
    if job.asset_graph is not None:
        # Assets outside the selection become inputs loaded through their IO managers.
        asset_keys = frozenset(
            k for s in parent_plan.steps if s.key in selection for k in s.produced_asset_keys
        )
        asset_plan = build_plan(job, asset_selection=asset_keys)
        # the ops of a graph-backed asset that succeeded stay out; their outputs are loaded
        kept = tuple(s for s in asset_plan.steps if not s.in_graph_asset or s.key in selection)
        step_keys = [s.key for s in kept]
        if len(kept) == len(asset_plan.steps):
            return _Scope(asset_keys, ops, step_keys)
        what = f"re-execute run {parent.run_id} of {job.describe()}"
        found = _find_outputs(recorder, replace(asset_plan, steps=kept), parent, what)
        _check_loadable(job, resources, found, what)
        reused = {key: source.run_id for key, source in found.items()}
        return _Scope(asset_keys, ops, step_keys, reused)
    # Op outputs read from steps outside the selection load from the runs that stored
    # them; one that cannot be loaded fails here, before anything runs.
    step_keys = [s.key for s in parent_plan.steps if s.key in selection]
    plan = replace(parent_plan, steps=tuple(s for s in parent_plan.steps if s.key in selection))
    what = f"re-execute run {parent.run_id} of {job.describe()}"
    found = _find_outputs(recorder, plan, parent, what)
    _check_loadable(job, resources, found, what)
    reused = {key: source.run_id for key, source in found.items()}
    return _Scope(parent.asset_selection, ops, step_keys, reused)


def reused_outputs(
    instance: RunRecorder, plan: ExecutionPlan, run: Run
) -> dict[tuple[str, str], str | None]:
    """The op outputs that the steps of ``plan`` (some steps of an op job) read from the other
    steps of the job, each with the id of the run that stored it: ``run`` itself when it ran
    that step (a resume), else the nearest ancestor of ``run`` that did (None: the step succeeded
    there without yielding that optional output). Raises ``InvalidInvocationError`` when no run
    of the lineage produced one."""
    found = _find_outputs(instance, plan, run, f"resume run {run.run_id} of {plan.job.describe()}")
    return {key: source.run_id for key, source in found.items()}


def reexecute(
    parent: ExecuteInProcessResult,
    *,
    instance: RunRecorder,
    from_failure: bool = False,
    raise_on_error: bool = False,
    resources: Mapping[str, Any] | None = None,
) -> ExecuteInProcessResult:
    """Re-execute the run behind ``parent`` (all of its steps, or only those that did not
    succeed and what depends on them) as a new run linked to it."""
    options = (
        ReexecutionOptions.from_failure(parent.run_id, instance)
        if from_failure
        else ReexecutionOptions(parent.run_id)
    )
    return execute_job(
        parent._plan.job,
        instance,
        reexecution_options=options,
        raise_on_error=raise_on_error,
        resources=resources,
    )


def _selected_steps(plan: ExecutionPlan, selection: Sequence[str]) -> set[str] | None:
    """The steps to run: the selection and every step downstream of it; None for all."""
    if not selection:
        return None
    chosen = {plan.step(key).key for key in selection}  # plan.step names unknown keys
    for step in plan.steps:  # in dependency order, so one pass reaches every descendant
        if any(up in chosen for up in step.upstream):
            chosen.add(step.key)
    return chosen


@dataclass(frozen=True)
class _Source:
    """Where a reused op output comes from: the run that stored it and its HANDLED_OUTPUT data
    (run_id None: the step succeeded without yielding it; data None: it has no value)."""

    run_id: str | None
    handled: IOData | None = None


@dataclass
class _StepsOfRun:
    """What one run's events say about its steps and their outputs."""

    ran: set[str] = field(default_factory=set)
    succeeded: set[str] = field(default_factory=set)
    produced: set[tuple[str, str]] = field(default_factory=set)
    stored: dict[tuple[str, str], IOData] = field(default_factory=dict)


def _find_outputs(
    instance: RunRecorder, plan: ExecutionPlan, start: Run, what: str
) -> dict[tuple[str, str], _Source]:
    """The sources of the op outputs ``plan`` reads from steps outside it, searched in
    ``start`` and then up its lineage, each run only for the steps it did not run at all."""
    readers: dict[tuple[str, str], str] = {}
    for step in plan.steps:
        for source in step_sources(step):
            readers.setdefault((source.step_key, source.output_name), step.key)
    left = sorted(outside_outputs(plan))
    found: dict[tuple[str, str], _Source] = {}
    run = start
    while left:
        steps = _steps_of_run(instance, run.run_id)
        for key in list(left):
            step_key, output = key
            needs = (
                f"cannot {what}: step {readers[key]!r} reads output {output!r} of step {step_key!r}"
            )
            if step_key in steps.succeeded:
                if key in steps.stored:
                    found[key] = _Source(run.run_id, steps.stored[key])
                elif key in steps.produced:
                    found[key] = _Source(run.run_id)  # a Nothing output: no value to load
                else:
                    found[key] = _Source(None)  # optional, not yielded: downstream skips
                left.remove(key)
            elif step_key in steps.ran:
                raise InvalidInvocationError(
                    f"{needs}, which did not succeed in run {run.run_id}. Add {step_key!r} to "
                    "the step selection (re-executing from failure selects it), or re-execute "
                    "all the steps."
                )
        if not left:
            break
        parent = _parent_of(instance, run)
        if parent is None:
            step_key, output = left[0]
            raise InvalidInvocationError(
                f"cannot {what}: step {readers[left[0]]!r} reads output {output!r} of step "
                f"{step_key!r}, which no run of its lineage ran (run {start.run_id} back to its "
                f"root {run.run_id}). Add {step_key!r} to the step selection, or re-execute "
                "all the steps (ReexecutionOptions(parent_run_id=...) without step_selection)."
            )
        run = parent
    return found


def _check_loadable(
    job: JobDefinition,
    resources: Mapping[str, Any] | None,
    found: Mapping[tuple[str, str], _Source],
    what: str,
) -> None:
    """Refuse outputs that were kept in the memory of a process this re-execution cannot reach
    (an op job run by execute_in_process without an executor keeps its outputs in memory)."""
    from knoll.execution.io_managers import InMemoryIOManager

    given = {**job.resource_defs, **(resources or {})}
    for (step_key, output), source in sorted(found.items()):
        handled = source.handled
        if handled is None or source.run_id is None:
            continue
        manager = given.get(handled.io_manager_key)
        if manager is None and handled.io_manager_key == DEFAULT_IO_MANAGER_KEY:
            # Loaded by knoll's default, a FilesystemIOManager, which records the path of each
            # op output it stores: without one, the run kept the value in memory.
            in_memory = "path" not in handled.metadata
        elif isinstance(manager, InMemoryIOManager):
            in_memory = (source.run_id, step_key, output, None, None) not in manager.values
        else:
            continue
        if in_memory:
            raise InvalidInvocationError(
                f"cannot {what}: output {output!r} of step {step_key!r} was kept in memory by "
                f"run {source.run_id} (IO manager {handled.io_manager_key!r}; execute_in_process "
                "without an executor keeps op outputs in memory), so this run cannot load it. "
                "Run the job with a persistent IO manager (resources={'io_manager': "
                "FilesystemIOManager(base_dir=...)}) or through execute_job or `knoll job "
                "execute`, or re-execute all the steps (ReexecutionOptions(parent_run_id=...) "
                "without step_selection)."
            )


def _steps_of_run(instance: RunRecorder, run_id: str) -> _StepsOfRun:
    steps = _StepsOfRun()
    for event in instance.events_of_run(run_id, _OUTPUT_EVENTS):
        key, data = event.step_key, event.data
        if key is None:
            continue
        if event.event_type is EventType.STEP_SUCCESS:
            steps.succeeded.add(key)
        elif event.event_type is EventType.STEP_OUTPUT:
            if isinstance(data, StepOutputData):
                steps.produced.add((key, data.output_name))
        elif event.event_type is EventType.HANDLED_OUTPUT:
            if isinstance(data, IOData):
                steps.stored[(key, data.name)] = data
        else:
            steps.ran.add(key)
    return steps


def _run(instance: RunRecorder, run_id: str) -> Run:
    run = instance.find_run(run_id)
    if run is None:
        raise InvalidInvocationError(
            f"there is no run {run_id} in {instance!r}: re-execute a run this instance recorded "
            "(`knoll run list` shows them)."
        )
    return run


def _parent_of(instance: RunRecorder, run: Run) -> Run | None:
    if run.parent_run_id is None:
        return None
    return instance.find_run(run.parent_run_id)  # None: deleted, the lineage ends here
