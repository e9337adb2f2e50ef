"""Running a job with its executor, and re-executing a run: all its steps, or from failure.

A re-execution is a new run linked to its parent and to the root of its lineage. Steps it does
not re-run are not recomputed: their assets are loaded through the IO managers, and the op
outputs they read are loaded from the run of the lineage that stored them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from knoll.defs.job import JobDefinition
from knoll.errors import InvalidInvocationError
from knoll.execution.dynamic_steps import (
    dynamic_output_key,
    has_mapped_steps,
    narrow_plan,
    split_kept_name,
)
from knoll.execution.events import EventType, IOData, StepOutputData
from knoll.execution.executor import execute, execute_in_process, recorder_of
from knoll.execution.plan import (
    UNRESOLVED,
    ExecutionPlan,
    FromCollected,
    FromMany,
    FromMapped,
    FromStep,
    Step,
    build_plan,
)
from knoll.execution.prepare import DEFAULT_IO_MANAGER_KEY, ExecutionRequest, prepare_run
from knoll.execution.recorder import RunRecorder
from knoll.execution.result import ExecuteInProcessResult
from knoll.execution.run import OP_SELECTION_TAG, Run
from knoll.execution.run_state import outside_outputs

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
    request = reexecution_request(
        job,
        recorder,
        reexecution_options,
        run_config=run_config,
        tags=tags,
        resources=resources,
    )
    return execute(prepare_run(job, request, recorder), recorder, raise_on_error=raise_on_error)


def reexecution_request(
    job: JobDefinition,
    recorder: RunRecorder,
    options: ReexecutionOptions,
    *,
    run_config: Any = None,
    tags: Mapping[str, str] | None = None,
    resources: Mapping[str, Any] | None = None,
) -> ExecutionRequest:
    """The request of a re-execution of ``options.parent_run_id`` (a run of ``job`` that
    ``recorder`` stored): its steps, the parent's tags and config, and its lineage."""
    parent = _parent_run(recorder, options.parent_run_id, job)
    scope = _scope(job, recorder, parent, options.step_selection, resources)
    root = parent.root_run_id or parent.run_id
    lineage = {PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: root}
    kept = {
        k: v
        for k, v in parent.tags.items()
        if k not in job.tags and k not in lineage and k != STEP_SELECTION_TAG
    }
    if scope.reused is not None and scope.step_keys is not None:
        lineage[STEP_SELECTION_TAG] = ",".join(scope.step_keys)
    return ExecutionRequest(
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
        mapping_keys=scope.mapping_keys,
    )


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
    mapping_keys: dict[tuple[str, str], list[str]] | None = None


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
    what = f"re-execute run {parent.run_id} of {job.describe()}"
    if step_selection and job.asset_graph is None and has_mapped_steps(parent_plan):
        step_keys = _selected_mapped_steps(recorder, parent_plan, parent, step_selection, what)
        steps = _steps_to_run(recorder, parent_plan, parent, step_keys, what)
        _check_loadable(job, resources, steps.found, what)
        return _Scope(
            parent.asset_selection, ops, steps.step_keys, steps.reused, steps.mapping_keys
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
        found = _find_outputs(recorder, replace(asset_plan, steps=kept), parent, what)
        _check_loadable(job, resources, found, what)
        reused = {key: source.run_id for key, source in found.items()}
        return _Scope(asset_keys, ops, step_keys, reused)
    # Op outputs read from steps outside the selection load from the runs that stored
    # them; one that cannot be loaded fails here, before anything runs.
    step_keys = [s.key for s in parent_plan.steps if s.key in selection]
    plan = replace(parent_plan, steps=tuple(s for s in parent_plan.steps if s.key in selection))
    found = _find_outputs(recorder, plan, parent, what)
    _check_loadable(job, resources, found, what)
    reused = {key: source.run_id for key, source in found.items()}
    return _Scope(parent.asset_selection, ops, step_keys, reused)


@dataclass(frozen=True)
class StepsToRun:
    """The steps a re-execution or a resume runs of an op job (``op[key]`` for one mapping key
    of a mapped step), the op outputs they read from the other steps, each with the id of the
    run that stored it (None: the step succeeded there without yielding that optional output),
    and the mapping keys of the dynamic outputs they map over or collect whose step does not
    run."""

    step_keys: list[str]
    reused: dict[tuple[str, str], str | None]
    mapping_keys: dict[tuple[str, str], list[str]]
    found: dict[tuple[str, str], _Source] = field(repr=False)


def steps_to_resume(
    instance: RunRecorder, plan: ExecutionPlan, run: Run, wanted: Sequence[str], done: set[str]
) -> StepsToRun:
    """What a resume of ``run`` (of an op job whose plan is ``plan``) runs: the steps of
    ``wanted`` (step keys, as :func:`~knoll.execution.dynamic_steps.narrow_plan` takes them)
    that are not ``done``, a mapped step for the mapping keys whose step is not done. The
    outputs and mapping keys come from ``run`` itself when it stored them, else from the
    nearest ancestor that did; raises ``InvalidInvocationError`` when no run of the lineage
    produced one."""
    what = f"resume run {run.run_id} of {plan.job.describe()}"
    narrowed = narrow_plan(plan, wanted)
    every = _mapped_outputs(narrowed, plan, outside_only=False)
    known, _ = _mapping_keys_in_lineage(instance, every, run, what)
    step_keys: list[str] = []
    for step in narrowed.steps:
        dynamic = step.mapped_by
        if dynamic is None or dynamic[0] in step_keys or dynamic not in known:
            if step.key not in done:
                step_keys.append(step.key)  # a mapped step whose dynamic step runs: every key
            continue
        only = step.only_mapping_keys
        for key in known[dynamic]:
            concrete = f"{step.handle}[{key}]"
            if (only is None or key in only) and concrete not in done:
                step_keys.append(concrete)
    return _steps_to_run(instance, plan, run, step_keys, what)


def reused_outputs(
    instance: RunRecorder, plan: ExecutionPlan, run: Run
) -> dict[tuple[str, str], str | None]:
    """The op outputs that the steps of ``plan`` (some steps of an op job without dynamic
    outputs) read from the other steps of the job, each with the id of the run that stored it:
    ``run`` itself when it ran that step (a resume), else the nearest ancestor of ``run`` that
    did (None: the step succeeded there without yielding that optional output). Raises
    ``InvalidInvocationError`` when no run of the lineage produced one."""
    found = _find_outputs(instance, plan, run, f"resume run {run.run_id} of {plan.job.describe()}")
    return {key: source.run_id for key, source in found.items()}


def _steps_to_run(
    instance: RunRecorder, job_plan: ExecutionPlan, run: Run, step_keys: list[str], what: str
) -> StepsToRun:
    plan = narrow_plan(job_plan, step_keys)
    wanted = _mapped_outputs(plan, job_plan)
    known, problems = _mapping_keys_in_lineage(instance, wanted, run, what)
    if problems:
        raise InvalidInvocationError(next(iter(problems.values())))
    found = _find_outputs(instance, plan, run, what, _dynamic_outside(plan, job_plan, known))
    reused = {key: source.run_id for key, source in found.items()}
    return StepsToRun(step_keys, reused, known, found)


def _mapped_outputs(
    plan: ExecutionPlan, job_plan: ExecutionPlan, *, outside_only: bool = True
) -> list[tuple[str, str]]:
    """The dynamic outputs (step key, output name) whose mapping keys the steps of ``plan``
    need (those its mapped steps map over and those its steps collect, directly or through a
    mapped step) and, with ``outside_only``, whose step is not in ``plan``."""
    in_plan = set(plan.step_keys) if outside_only else set()
    every = {s.key: s for s in job_plan.steps}
    wanted: list[tuple[str, str]] = []
    for step in plan.steps:
        found = [step.mapped_by]
        for source in step.inputs.values():
            if isinstance(source, FromCollected):
                of = source.step_key, source.output_name
                found.append(of if source.of_dynamic else every[source.step_key].mapped_by)
        for dynamic in found:
            if dynamic is not None and dynamic[0] not in in_plan and dynamic not in wanted:
                wanted.append(dynamic)
    return wanted


def _dynamic_outside(
    plan: ExecutionPlan, job_plan: ExecutionPlan, known: Mapping[tuple[str, str], list[str]]
) -> dict[tuple[str, str], str]:
    """The values of dynamic outputs and of mapped steps that the steps of ``plan`` read from
    steps (or mapping keys) that do not run in it, as (step key, kept name) -> the step that
    reads it."""
    in_plan = {s.key: s for s in plan.steps}
    every = {s.key: s for s in job_plan.steps}

    def runs(unresolved: str, key: str) -> bool:
        step = in_plan.get(unresolved)
        return step is not None and (
            step.only_mapping_keys is None or key in step.only_mapping_keys
        )

    def keys_of(dynamic: tuple[str, str] | None, only: frozenset[str] | None = None) -> list[str]:
        if dynamic is None or dynamic[0] in in_plan:
            return []  # the dynamic step runs: the values are this run's
        return [k for k in known[dynamic] if only is None or k in only]

    readers: dict[tuple[str, str], str] = {}
    for step in plan.steps:
        mine = keys_of(step.mapped_by, step.only_mapping_keys)
        for source in step.inputs.values():
            for one in source.sources if isinstance(source, FromMany) else (source,):
                found: list[tuple[str, str]] = []
                if isinstance(one, FromStep) and one.step_key.endswith(UNRESOLVED):
                    handle = one.step_key[: -len(UNRESOLVED)]
                    found = [
                        (f"{handle}[{k}]", one.output_name)
                        for k in mine
                        if not runs(one.step_key, k)
                    ]
                elif isinstance(one, FromStep) and one.step_key not in in_plan:
                    found = [(one.step_key, one.output_name)]
                elif isinstance(one, FromMapped) and one.step_key not in in_plan:
                    found = [(one.step_key, dynamic_output_key(one.output_name, k)) for k in mine]
                elif isinstance(one, FromCollected) and one.of_dynamic:
                    dynamic = one.step_key, one.output_name
                    found = [
                        (one.step_key, dynamic_output_key(one.output_name, k))
                        for k in keys_of(dynamic)
                    ]
                elif isinstance(one, FromCollected):
                    handle = one.step_key[: -len(UNRESOLVED)]
                    found = [
                        (f"{handle}[{k}]", one.output_name)
                        for k in keys_of(every[one.step_key].mapped_by)
                        if not runs(one.step_key, k)
                    ]
                for key in found:
                    readers.setdefault(key, step.key)
    return readers


def _selected_mapped_steps(
    instance: RunRecorder,
    plan: ExecutionPlan,
    parent: Run,
    selection: Sequence[str],
    what: str,
) -> list[str]:
    """The steps a step selection of a job with mapped steps runs, in plan order: the selected
    steps and every step downstream of them. ``op[key]`` selects one mapping key of mapped
    step ``op[?]`` (and the steps after it for the same key); ``op[?]`` or the dynamic step
    itself selects every key. Raises ``InvalidInvocationError`` for a key that is not a step of
    ``parent``."""
    every = _mapped_outputs(plan, plan, outside_only=False)
    known, problems = _mapping_keys_in_lineage(instance, every, parent, what)
    for problem in problems.values():
        if _RECORDED_WITHOUT_KEYS in problem:
            raise InvalidInvocationError(problem)
    chosen = _chosen(plan, parent, selection, known, what)
    for step in plan.steps:  # in dependency order, so one pass reaches every descendant
        for up in step.upstream:
            if up not in chosen:
                continue
            keys = chosen[up]
            if keys is not None and step.mapped_by is not None and _reads_for_its_key(step, up):
                mine = chosen.get(step.key, set())
                if step.key not in chosen or mine is not None:
                    chosen[step.key] = (mine or set()) | keys
            else:
                chosen[step.key] = None
    step_keys: list[str] = []
    for step in plan.steps:
        if step.key not in chosen:
            continue
        keys = chosen[step.key]
        if keys is None:
            step_keys.append(step.key)
        else:
            step_keys.extend(f"{step.handle}[{k}]" for k in _keys(known, step) if k in keys)
    return step_keys


def _chosen(
    plan: ExecutionPlan,
    parent: Run,
    selection: Sequence[str],
    known: Mapping[tuple[str, str], list[str]],
    what: str,
) -> dict[str, set[str] | None]:
    """The steps ``selection`` names, each with the mapping keys it names (None: all of them,
    or not a mapped step)."""
    steps = {s.key: s for s in plan.steps}
    chosen: dict[str, set[str] | None] = {}
    for name in selection:
        handle, key = split_kept_name(name)
        unresolved = steps.get(f"{handle}{UNRESOLVED}")
        if name in steps:
            chosen[name] = None
        elif unresolved is not None and key is not None and key in _keys(known, unresolved):
            keys = chosen.setdefault(unresolved.key, set())
            if keys is not None:
                keys.add(key)
        else:
            existing = [
                k
                for s in plan.steps
                for k in [s.key, *(f"{s.handle}[{m}]" for m in _keys(known, s))]
            ]
            raise InvalidInvocationError(
                f"cannot {what}: the step selection names {name!r}, which is not a step of run "
                f"{parent.run_id}. Its steps are {', '.join(existing)} (op[?] selects every "
                "mapping key of mapped step op)."
            )
    return chosen


def _keys(known: Mapping[tuple[str, str], list[str]], step: Step) -> list[str]:
    """The mapping keys a mapped step ran for (none for another step, or keys not known)."""
    return known.get(step.mapped_by, []) if step.mapped_by is not None else []


def _reads_for_its_key(step: Step, up: str) -> bool:
    """Whether mapped ``step`` reads mapped step ``up`` for its own mapping key only."""
    sources = list(step.inputs.values())
    keyed = any(isinstance(s, FromStep) and s.step_key == up for s in sources)
    return keyed and not any(isinstance(s, FromCollected) and s.step_key == up for s in sources)


_RECORDED_WITHOUT_KEYS = "without their mapping keys"


def _mapping_keys_in_lineage(
    instance: RunRecorder, wanted: Iterable[tuple[str, str]], start: Run, what: str
) -> tuple[dict[tuple[str, str], list[str]], dict[tuple[str, str], str]]:
    """The mapping keys of the dynamic outputs ``wanted`` (in the order they were yielded),
    from ``start`` or the nearest ancestor whose step ran; and, for those not known, why."""
    left = list(wanted)
    found: dict[tuple[str, str], list[str]] = {}
    problems: dict[tuple[str, str], str] = {}
    run = start
    while left:
        steps = _steps_of_run(instance, run.run_id)
        for dynamic in list(left):
            step_key, output = dynamic
            needs = (
                f"cannot {what}: its steps need the mapping keys of dynamic output {output!r} "
                f"of step {step_key!r}"
            )
            if step_key in steps.succeeded and dynamic in steps.unkeyed:
                problems[dynamic] = (
                    f"cannot {what}: run {run.run_id} stored the values of dynamic output "
                    f"{output!r} of step {step_key!r} {_RECORDED_WITHOUT_KEYS} (an earlier "
                    "version of knoll ran it), so its mapped steps cannot be re-executed one by "
                    "one. Re-execute all the steps (ReexecutionOptions(parent_run_id=...) "
                    "without step_selection)."
                )
            elif step_key in steps.succeeded:
                found[dynamic] = steps.mapping_keys.get(dynamic, [])
            elif step_key in steps.ran:
                problems[dynamic] = (
                    f"{needs}, which did not succeed in run {run.run_id}. Add {step_key!r} to "
                    "the step selection (re-executing from failure selects it), or re-execute "
                    "all the steps."
                )
            else:
                continue
            left.remove(dynamic)
        if not left:
            break
        parent = _parent_of(instance, run)
        if parent is None:
            for step_key, output in left:
                problems[(step_key, output)] = (
                    f"cannot {what}: its steps need the mapping keys of dynamic output "
                    f"{output!r} of step {step_key!r}, which no run of its lineage ran (run "
                    f"{start.run_id} back to its root {run.run_id}). Add {step_key!r} to the "
                    "step selection, or re-execute all the steps."
                )
            break
        run = parent
    return found, problems


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
    produced: set[tuple[str, str]] = field(default_factory=set)  # (step, kept name)
    stored: dict[tuple[str, str], IOData] = field(default_factory=dict)  # (step, kept name)
    # (step, dynamic output) -> its mapping keys in the order they were yielded
    mapping_keys: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # outputs recorded without a mapping key (a dynamic one: by a knoll that did not record it)
    unkeyed: set[tuple[str, str]] = field(default_factory=set)


def _find_outputs(
    instance: RunRecorder,
    plan: ExecutionPlan,
    start: Run,
    what: str,
    dynamic: Mapping[tuple[str, str], str] | None = None,
) -> dict[tuple[str, str], _Source]:
    """The sources of the op outputs ``plan`` reads from steps outside it, searched in
    ``start`` and then up its lineage, each run only for the steps it did not run at all.
    ``dynamic`` gives those of a plan with mapped steps, each with the step that reads it."""
    readers = dict(dynamic) if dynamic is not None else _readers(plan)
    left = sorted(readers) if dynamic is not None else sorted(outside_outputs(plan))
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


def _readers(plan: ExecutionPlan) -> dict[tuple[str, str], str]:
    """(step, output) -> the first step of ``plan`` that reads it."""
    readers: dict[tuple[str, str], str] = {}
    for step in plan.steps:
        for source in step.inputs.values():
            for one in source.sources if isinstance(source, FromMany) else (source,):
                if isinstance(one, FromStep):
                    readers.setdefault((one.step_key, one.output_name), step.key)
    return readers


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
            name, mapping_key = split_kept_name(output)
            in_memory = (source.run_id, step_key, name, mapping_key, None) not in manager.values
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
    # (step, output) -> the name its latest value is kept under: HANDLED_OUTPUT follows it
    kept_as: dict[tuple[str, str], str] = {}
    for event in instance.events_of_run(run_id, _OUTPUT_EVENTS):
        key, data = event.step_key, event.data
        if key is None:
            continue
        if event.event_type is EventType.STEP_SUCCESS:
            steps.succeeded.add(key)
        elif event.event_type is EventType.STEP_OUTPUT:
            if isinstance(data, StepOutputData):
                output, mapping_key = (key, data.output_name), data.mapping_key
                if mapping_key is None:
                    kept_as[output] = data.output_name
                    steps.unkeyed.add(output)
                else:
                    kept_as[output] = dynamic_output_key(data.output_name, mapping_key)
                    steps.mapping_keys.setdefault(output, []).append(mapping_key)
                steps.produced.add((key, kept_as[output]))
        elif event.event_type is EventType.HANDLED_OUTPUT:
            if isinstance(data, IOData):
                steps.stored[(key, kept_as.get((key, data.name), data.name))] = data
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
