"""``ExecuteInProcessResult``: what an in-process run returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from knoll._utils import did_you_mean
from knoll.defs.check import AssetCheckEvaluation
from knoll.defs.keys import AssetKey
from knoll.defs.output import AssetMaterialization, AssetObservation
from knoll.errors import InvalidInvocationError, KnollError
from knoll.execution.events import EventType, RunEvent
from knoll.execution.plan import ExecutionPlan
from knoll.execution.run import Run, RunStatus


class ExecuteInProcessResult:
    """The run, its events in order, and the values its steps produced."""

    def __init__(
        self,
        run: Run,
        events: Sequence[RunEvent],
        plan: ExecutionPlan,
        outputs: Mapping[tuple[str, str], Any],
        errors: Mapping[str, KnollError],
        run_error: KnollError | None = None,
    ) -> None:
        self.run = run
        self.all_events: list[RunEvent] = list(events)
        self._plan = plan
        self._outputs = dict(outputs)
        self._errors = dict(errors)
        # what failed the run outside any step (a resource that would not start, a failed
        # blocking check), or None
        self.run_error = run_error

    # ---- status --------------------------------------------------------------------------
    @property
    def success(self) -> bool:
        return self.run.status is RunStatus.SUCCESS

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def job_name(self) -> str:
        return self.run.job_name

    @property
    def dagster_run(self) -> Run:
        return self.run

    @property
    def failed_step_keys(self) -> list[str]:
        return list(self._errors)

    def step_error(self, step_key: str) -> KnollError | None:
        """The error that failed ``step_key`` (the original user exception is its cause)."""
        return self._errors.get(step_key)

    # ---- values --------------------------------------------------------------------------
    def output_for_node(self, node_name: str, output_name: str = "result") -> Any:
        """The value an op (dotted handle for nested graphs) or asset step produced; for a
        graph-backed asset, ``node_name`` may be its graph's and ``output_name`` a graph output."""
        key = self._plan.graph_outputs.get((node_name, output_name), (node_name, output_name))
        if key in self._outputs:
            return self._outputs[key]
        mapped = self._mapped_values(node_name, output_name)
        if mapped is not None:
            return mapped
        graph_outputs = sorted(o for (n, o) in self._plan.graph_outputs if n == node_name)
        if graph_outputs:
            raise InvalidInvocationError(
                f"graph-backed asset node {node_name!r} has no output {output_name!r} in run "
                f"{self.run_id}.{did_you_mean(output_name, graph_outputs)} Its outputs: "
                f"{', '.join(graph_outputs)}."
            )
        steps = [s.handle for s in self._plan.steps]
        if node_name not in steps:
            raise InvalidInvocationError(
                f"run {self.run_id} has no node {node_name!r}.{did_you_mean(node_name, steps)}"
            )
        produced = sorted(o for (s, o) in self._outputs if s == node_name)
        raise InvalidInvocationError(
            f"node {node_name!r} produced no value for output {output_name!r} in run "
            f"{self.run_id} (outputs with values: {', '.join(produced) or 'none'})."
        )

    def _mapped_values(self, node_name: str, output_name: str) -> dict[str, Any] | None:
        """A dynamic or mapped node's values by mapping key (in the order they were yielded)."""
        for step in self._plan.steps:
            if step.handle != node_name:
                continue
            output_def = step.op.output_defs.get(output_name)
            if output_def is not None and output_def.is_dynamic:
                prefix = f"{output_name}["
                return {
                    o[len(prefix) : -1]: self._outputs[(s, o)]
                    for (s, o) in list(self._outputs)
                    if s == step.key and o.startswith(prefix)
                }
            if step.mapped_by is not None:
                prefix = f"{node_name}["
                return {
                    s[len(prefix) : -1]: self._outputs[(s, o)]
                    for (s, o) in list(self._outputs)
                    if o == output_name and s.startswith(prefix)
                }
        return None

    def output_value(self, output_name: str = "result") -> Any:
        """For a job of one op: that op's output."""
        if len(self._plan.steps) != 1:
            raise InvalidInvocationError(
                "output_value() needs a run of exactly one step; use output_for_node(name)."
            )
        return self.output_for_node(self._plan.steps[0].key, output_name)

    def asset_value(self, asset_key: AssetKey | str | Sequence[str]) -> Any:
        """The value an asset was computed as in this run."""
        key = AssetKey.from_coercible(asset_key)
        for step in self._plan.steps:
            assets_def = step.assets_def
            if assets_def is not None and key in step.produced_asset_keys:
                output = assets_def.output_for(key)
                if (step.key, output) not in self._outputs:
                    raise InvalidInvocationError(
                        f"asset {key.to_user_string()!r} has no value in run {self.run_id}: it "
                        "was not computed (its step failed or was skipped), or it returned a "
                        "MaterializeResult or None and stored its data itself."
                    )
                return self.output_for_node(step.key, output)
        shown = [k.to_user_string() for s in self._plan.steps for k in s.produced_asset_keys]
        raise InvalidInvocationError(
            f"asset {key.to_user_string()!r} was not computed in run {self.run_id}."
            f"{did_you_mean(key.to_user_string(), shown)}"
        )

    # ---- events --------------------------------------------------------------------------
    def events_of_type(self, event_type: EventType) -> list[RunEvent]:
        return [e for e in self.all_events if e.event_type is event_type]

    def events_for_node(self, node_name: str) -> list[RunEvent]:
        return [e for e in self.all_events if e.step_key == node_name]

    def get_asset_materialization_events(self) -> list[RunEvent]:
        return self.events_of_type(EventType.ASSET_MATERIALIZATION)

    def get_asset_observation_events(self) -> list[RunEvent]:
        return self.events_of_type(EventType.ASSET_OBSERVATION)

    def asset_materializations_for_node(self, node_name: str) -> list[AssetMaterialization]:
        return [
            e.materialization
            for e in self.events_for_node(node_name)
            if e.event_type is EventType.ASSET_MATERIALIZATION
        ]

    def asset_observations_for_node(self, node_name: str) -> list[AssetObservation]:
        return [
            e.asset_observation
            for e in self.events_for_node(node_name)
            if e.event_type is EventType.ASSET_OBSERVATION
        ]

    def get_asset_check_evaluations(self) -> list[AssetCheckEvaluation]:
        return [
            e.data
            for e in self.all_events
            if e.event_type is EventType.ASSET_CHECK_EVALUATION
            and isinstance(e.data, AssetCheckEvaluation)
        ]

    def get_step_success_events(self) -> list[RunEvent]:
        return self.events_of_type(EventType.STEP_SUCCESS)

    def get_step_failure_events(self) -> list[RunEvent]:
        return self.events_of_type(EventType.STEP_FAILURE)

    def get_step_skipped_events(self) -> list[RunEvent]:
        return self.events_of_type(EventType.STEP_SKIPPED)

    def get_run_success_event(self) -> RunEvent:
        """The run's RUN_SUCCESS event; raises if the run did not succeed."""
        return self._run_end_event(EventType.RUN_SUCCESS)

    def get_run_failure_event(self) -> RunEvent:
        """The run's RUN_FAILURE event (for ``build_run_status_sensor_context`` in tests)."""
        return self._run_end_event(EventType.RUN_FAILURE)

    def _run_end_event(self, event_type: EventType) -> RunEvent:
        events = self.events_of_type(event_type)
        if not events:
            raise InvalidInvocationError(
                f"run {self.run_id} of job {self.job_name!r} has no {event_type.value} event: it"
                f" ended with status {self.run.status.value}."
            )
        return events[0]

    def __repr__(self) -> str:
        return (
            f"<ExecuteInProcessResult run={self.run_id} job={self.job_name!r} "
            f"status={self.run.status.value} events={len(self.all_events)}>"
        )
