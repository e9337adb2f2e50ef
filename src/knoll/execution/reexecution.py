"""Running a job with its executor, and re-executing a run: all its steps, or from failure.

A re-execution is a new run linked to its parent and to the root of its lineage. Steps it does
not re-run are not recomputed: their assets are loaded through the IO managers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from knoll.definitions.job import JobDefinition
from knoll.errors import InvalidInvocationError
from knoll.execution.events import EventType
from knoll.execution.executor import execute_in_process
from knoll.execution.plan import ExecutionPlan, build_plan
from knoll.execution.result import ExecuteInProcessResult
from knoll.execution.run import Run

PARENT_RUN_ID_TAG = "knoll/parent_run_id"
ROOT_RUN_ID_TAG = "knoll/root_run_id"

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


@dataclass(frozen=True)
class ReexecutionOptions:
    """Which run to re-execute, and which of its steps (all of them when ``step_selection`` is
    empty). ``ReexecutionOptions.from_failure(run_id, instance)`` selects the steps that did
    not succeed."""

    parent_run_id: str
    step_selection: Sequence[str] = ()

    @staticmethod
    def from_failure(run_id: str, instance: Any) -> ReexecutionOptions:
        """Re-run the steps of ``run_id`` that failed, were skipped or never finished (and,
        when executed, what depends on them)."""
        parent = instance.get_run(run_id).run
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
        for record in _all_events(instance, run_id):
            event = record.event
            if event.step_key is None or event.event_type not in _SEEN_STEP:
                continue
            if event.step_key not in seen:
                seen.append(event.step_key)
            if event.event_type in _FINISHED_STEP:
                finished.add(event.step_key)
        return ReexecutionOptions(run_id, tuple(k for k in seen if k not in finished))


def execute_job(
    job: JobDefinition,
    instance: Any,
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
    if instance is None or not hasattr(instance, "get_run"):
        raise InvalidInvocationError(
            f"re-executing {job.describe()} needs the instance its parent run was stored in: "
            "pass instance=... (an ephemeral instance keeps nothing between runs)."
        )
    parent: Run = instance.get_run(reexecution_options.parent_run_id).run
    if parent.job_name != job.name:
        raise InvalidInvocationError(
            f"run {parent.run_id} is a run of job {parent.job_name!r}, not of {job.describe()}: "
            "re-execute it with the job it ran."
        )
    parent_plan = build_plan(job, asset_selection=parent.asset_selection)
    selection = _selected_steps(parent_plan, reexecution_options.step_selection)
    root = parent.root_run_id or parent.run_id
    lineage = {PARENT_RUN_ID_TAG: parent.run_id, ROOT_RUN_ID_TAG: root}
    kept = {k: v for k, v in parent.tags.items() if k not in job.tags and k not in lineage}
    asset_keys: Any = parent.asset_selection
    step_keys: list[str] | None = None
    if selection is not None:
        if job.asset_graph is not None:
            # Assets outside the selection become inputs loaded through their IO managers.
            asset_keys = frozenset(
                k for s in parent_plan.steps if s.key in selection for k in s.produced_asset_keys
            )
            step_keys = [s.key for s in build_plan(job, asset_selection=asset_keys).steps]
        else:
            raise InvalidInvocationError(
                f"{job.describe()} is an op job: knoll re-executes op jobs with all their steps "
                f"only (asked for {', '.join(sorted(selection))}). Use "
                "ReexecutionOptions(parent_run_id=...) without a step selection."
            )
    return execute_in_process(
        job,
        run_config=parent.run_config if run_config is None else run_config,
        resources=resources,
        tags={**kept, **(tags or {}), **lineage},
        raise_on_error=raise_on_error,
        instance=instance,
        asset_selection=asset_keys,
        step_keys=step_keys,
        use_executor=True,
        parent_run_id=parent.run_id,
        root_run_id=root,
    )


def reexecute(
    parent: ExecuteInProcessResult,
    *,
    instance: Any,
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


def _all_events(instance: Any, run_id: str) -> list[Any]:
    records: list[Any] = []
    after = 0
    while True:
        page = instance.get_events(run_id, after=after, of_types=sorted(_SEEN_STEP, key=str))
        records.extend(page.records)
        if not page.has_more:
            return records
        after = page.cursor
