"""A step's outputs: type checks, IO managers, materializations and check results."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from knoll._utils import check_tags
from knoll.defs.check import AssetCheckEvaluation, AssetCheckResult, AssetCheckSeverity
from knoll.defs.data_version import DataVersion, check_data_version
from knoll.defs.dynamic import DynamicOutput, check_mapping_key, dynamic_value_type
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.output import (
    AssetMaterialization,
    AssetObservation,
    ExpectationResult,
    MaterializeResult,
    Output,
)
from knoll.errors import (
    DefinitionError,
    ExecutionError,
    InvalidInvocationError,
    TypeCheckError,
    UserCodeError,
)
from knoll.execution.context import (
    OpExecutionContext,
    OutputContext,
    RunLogger,
    StepState,
)
from knoll.execution.dynamic_steps import dynamic_output_key
from knoll.execution.events import (
    CODE_VERSION_TAG,
    EventType,
    IOData,
    StepOutputData,
)
from knoll.execution.metadata_limits import output_owner, warn_of_cut_values_in_step
from knoll.execution.observation import record_observation
from knoll.execution.plan import Step
from knoll.execution.run_state import Returned, RunState, StepFailed, error_text, short_repr
from knoll.execution.type_check import a_type_name, check_value, type_name, yielded_type

# ---- outputs and events -----------------------------------------------------------------

_RESERVED_TAG_PREFIX = "knoll/"


@dataclass(frozen=True)
class _Recorded:
    """What an output adds to its asset's materialization: a data version and tags."""

    data_version: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


_NOTHING_RECORDED = _Recorded()


def _recorded_with(
    step: Step, output_name: str, data_version: DataVersion | str | None, tags: object
) -> _Recorded:
    """Check an output's data version and tags, naming its asset in the error."""
    if data_version is None and not tags:
        return _NOTHING_RECORDED
    spec = step.assets_def.specs_by_output.get(output_name) if step.assets_def else None
    owner = (
        f"the materialization of asset {spec.key.to_user_string()!r}"
        if spec is not None
        else f"output {output_name!r} of {step.describe()}"
    )
    try:
        version = check_data_version(data_version, owner)
        checked = check_tags(dict(tags) if isinstance(tags, Mapping) else tags, owner)
    except DefinitionError as exc:
        raise StepFailed(InvalidInvocationError(str(exc))) from None
    for key in checked:
        if key.startswith(_RESERVED_TAG_PREFIX):
            raise StepFailed(
                InvalidInvocationError(
                    f"tag {key!r} of {owner} starts with {_RESERVED_TAG_PREFIX!r}, which knoll "
                    "keeps for the tags it records itself: give it another prefix."
                )
            )
    return _Recorded(version, checked)


@dataclass(frozen=True)
class _Produced:
    """One output a step produced, before its IO manager stores it."""

    value: Any
    has_value: bool
    metadata: Mapping[str, MetadataValue]
    recorded: _Recorded = _NOTHING_RECORDED
    mapping_key: str | None = None  # one value of a dynamic output
    output_name: str | None = None  # the dynamic output's own name


_NOTHING_PRODUCED = _Produced(None, False, {})
_CHECK_OUTPUT = _Produced(None, True, {})

_RETURNED_AS_IS = (Output, MaterializeResult, AssetCheckResult)


@dataclass
class _Collector:
    """Sorts what a step returned or yielded into outputs and check results."""

    step: Step
    step_state: StepState
    produced: dict[str, _Produced] = field(default_factory=dict)
    check_results: list[AssetCheckResult] = field(default_factory=list)

    def add_output(
        self,
        output_name: str,
        value: Any,
        has_value: bool,
        metadata: Mapping[str, MetadataValue],
        source: Output[Any] | MaterializeResult | None = None,
    ) -> None:
        step = self.step
        if output_name not in step.op.output_defs:
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned output {output_name!r}, which it does not declare;"
                    f" its outputs: {', '.join(step.op.output_defs)}."
                )
            )
        if output_name not in step.selected_outputs:
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned output {output_name!r}, which is not selected in "
                    f"this run. With can_subset=True, yield only context.selected_output_names "
                    f"({sorted(step.selected_outputs)})."
                )
            )
        if output_name in self.produced:
            raise StepFailed(
                InvalidInvocationError(f"{step.describe()} returned output {output_name!r} twice.")
            )
        if step.op.output_defs[output_name].is_dynamic:
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned a plain value for output {output_name!r}, which "
                    "is declared DynamicOut: yield DynamicOutput(value, mapping_key=...) for each "
                    "value (or return a list of them)."
                )
            )
        recorded = (
            _recorded_with(step, output_name, source.data_version, source.tags)
            if source is not None
            else _NOTHING_RECORDED
        )
        self.produced[output_name] = _Produced(value, has_value, metadata, recorded)

    def add_dynamic(self, item: DynamicOutput[Any]) -> None:
        step = self.step
        name = item.output_name
        if name == "result" and name not in step.op.output_defs:
            name = _sole_output(step)
        output_def = step.op.output_defs.get(name)
        if output_def is None or not output_def.is_dynamic:
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} yielded a DynamicOutput for output {name!r}, which is not "
                    "declared dynamic. Declare it with out=DynamicOut() (or "
                    f"out={{{name!r}: DynamicOut()}}), or yield Output(value) instead."
                )
            )
        problem = check_mapping_key(item.mapping_key, step.describe())
        if problem is not None:
            raise StepFailed(InvalidInvocationError(f"{problem}."))
        key = dynamic_output_key(name, item.mapping_key)
        if key in self.produced:
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} yielded mapping_key {item.mapping_key!r} twice for "
                    f"dynamic output {name!r}; each DynamicOutput of an output needs its own key."
                )
            )
        metadata = normalize_metadata(item.metadata, f"output {name!r} of {step.describe()}")
        self.produced[key] = _Produced(
            item.value, True, metadata, mapping_key=item.mapping_key, output_name=name
        )

    def add_materialize_result(self, result: MaterializeResult) -> None:
        if result.asset_key is not None and self.step.assets_def is not None:
            output_name = self.step.assets_def.output_for(result.asset_key)
        else:
            output_name = _sole_output(self.step)
        self.add_output(output_name, None, False, result.metadata, result)
        self.check_results.extend(result.check_results)

    def add_returned(self, value: Any) -> None:
        """Sort the return value of a step that is not a generator."""
        step = self.step
        if isinstance(value, _RETURNED_AS_IS):
            self.add_item(value)
        elif isinstance(value, list) and value and all(isinstance(v, DynamicOutput) for v in value):
            for inner in value:
                self.add_dynamic(inner)
        elif (
            isinstance(value, tuple)
            and len(step.selected_outputs) > 1
            and all(isinstance(v, (Output, MaterializeResult)) for v in value)
        ):
            for inner in value:
                if isinstance(inner, MaterializeResult):
                    self.add_materialize_result(inner)
                else:
                    self.add_output(inner.output_name, inner.value, True, inner.metadata, inner)
        elif step.check_def is not None:
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned {a_type_name(value)} "
                    f"({short_repr(value)}); an asset check returns "
                    "AssetCheckResult(passed=...)."
                )
            )
        else:
            _process_return_value(step, value, self.add_output)

    def add_item(self, item: Any) -> None:
        """Sort one yielded item (or a returned Output, MaterializeResult or check result)."""
        if isinstance(item, Returned):
            self.add_returned(item.value)
        elif isinstance(item, Output):
            name = item.output_name
            if name == "result" and name not in self.step.op.output_defs:
                name = _sole_output(self.step)
            self.add_output(name, item.value, True, item.metadata, item)
        elif isinstance(item, MaterializeResult):
            self.add_materialize_result(item)
        elif isinstance(item, DynamicOutput):
            self.add_dynamic(item)
        elif isinstance(item, AssetCheckResult):
            self.check_results.append(item)
        elif isinstance(item, (AssetMaterialization, AssetObservation, ExpectationResult)):
            OpExecutionContext(self.step_state).log_event(item)
        else:
            raise StepFailed(
                InvalidInvocationError(
                    f"{self.step.describe()} yielded a {type(item).__name__} "
                    f"({short_repr(item)}); a generator yields Output, MaterializeResult, "
                    "AssetCheckResult, AssetMaterialization or AssetObservation."
                )
            )

    def add_missing_outputs(self) -> None:
        """Fill required outputs that carry no value; fail on any other missing one."""
        step = self.step
        for output_name in step.selected_outputs:
            output_def = step.op.output_defs[output_name]
            if output_name in self.produced or not output_def.is_required:
                continue
            if output_name in step.check_outputs:  # produced by its check's result
                continue
            if output_def.is_dynamic:  # it may yield no value at all: nothing is mapped
                continue
            if output_def.type is MaterializeResult or output_def.is_nothing:
                self.produced[output_name] = _NOTHING_PRODUCED
                continue
            raise StepFailed(
                ExecutionError(
                    f"{step.describe()} did not return required output {output_name!r}. Return "
                    f"or yield it (Output(value, output_name={output_name!r})), or declare it "
                    "is_required=False."
                )
            )


def process_items(
    state: RunState, step: Step, step_state: StepState, items: list[Any], log: RunLogger
) -> None:
    if step.assets_def is not None and step.assets_def.is_observable:
        record_observation(state, step, step_state, items)
        return
    collector = _Collector(step, step_state)
    for item in items:
        collector.add_item(item)
    collector.add_missing_outputs()
    for output_name, produced in collector.produced.items():
        _handle_output(state, step, step_state, output_name, produced, log)
    _record_checks(state, step, collector.check_results)
    # an op of a graph-backed asset reports a check by returning its result; the graph output
    # mapped to the check then carries None, so that later ops can wait on it (as in Dagster)
    for output_name in step.check_outputs:
        if output_name in step.selected_outputs:
            _handle_output(state, step, step_state, output_name, _CHECK_OUTPUT, log)


def _sole_output(step: Step) -> str:
    if len(step.selected_outputs) == 1:
        return next(iter(step.selected_outputs))
    raise StepFailed(
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
            add_output(name, None, False, {})
        else:
            add_output(name, value, True, {})
        return
    if value is None and not outputs:
        return
    matches = isinstance(value, tuple) and len(value) == len(outputs)
    if not matches and len(outputs) < len(step.op.output_defs):
        raise StepFailed(
            InvalidInvocationError(
                f"{step.describe()} runs for a subset of its outputs ({outputs}) but returned "
                f"{a_type_name(value)}: yield Output(value, output_name=name) for each name in "
                "context.selected_output_names."
            )
        )
    if not matches:
        raise StepFailed(
            InvalidInvocationError(
                f"{step.describe()} has outputs {outputs}: return a tuple of {len(outputs)} "
                f"values in that order (got {a_type_name(value)}), or yield "
                "Output(value, output_name=...)."
            )
        )
    for name, item in zip(outputs, value, strict=True):
        add_output(name, item, True, {})


@dataclass(frozen=True)
class _OutputTarget:
    """What an output is declared as: its type, its asset (if any) and its metadata."""

    output_type: Any
    asset_key: AssetKey | None
    code_version: str | None
    definition_metadata: Mapping[str, MetadataValue]


def _output_target(step: Step, output_name: str) -> _OutputTarget:
    output_def = step.op.output_defs[output_name]
    if output_name in step.check_outputs:  # carries None once the check's result is recorded
        return _OutputTarget(Any, None, None, output_def.metadata)
    output_type = output_def.type
    if step.op.signature.is_generator:
        output_type = yielded_type(output_type)
    if step.assets_def is not None and output_name in step.assets_def.specs_by_output:
        spec = step.assets_def.specs_by_output[output_name]
        return _OutputTarget(output_type, spec.key, spec.code_version, spec.metadata)
    return _OutputTarget(output_type, None, None, output_def.metadata)


def _handle_output(
    state: RunState,
    step: Step,
    step_state: StepState,
    output_name: str,
    produced: _Produced,
    log: RunLogger,
) -> None:
    # a value of a dynamic output is kept under its own key (``items[key]``)
    kept_as, output_name = output_name, produced.output_name or output_name
    target = _output_target(step, output_name)
    if produced.mapping_key is not None:
        target = dataclasses.replace(target, output_type=dynamic_value_type(target.output_type))
    value = produced.value
    if produced.has_value and not check_value(value, target.output_type):
        raise StepFailed(
            TypeCheckError(
                f"{step.describe()}: output {output_name!r} is annotated "
                f"{type_name(target.output_type)}, "
                f"but the function returned {a_type_name(value)} ({short_repr(value)}). Return "
                "a value of that type or fix the annotation."
            )
        )
    all_metadata = dict(produced.metadata)
    all_metadata.update(step_state.output_metadata.get(output_name, {}))
    shown = f" for mapping key {produced.mapping_key!r}" if produced.mapping_key else ""
    state.writer.emit(
        EventType.STEP_OUTPUT,
        step.key,
        f"produced output {output_name!r}{shown}",
        logging.DEBUG,
        StepOutputData(
            output_name,
            type_name(target.output_type),
            target.asset_key,
            all_metadata,
            produced.mapping_key,
        ),
    )
    io_key = step.op.output_defs[output_name].io_manager_key
    context = OutputContext(
        name=output_name,
        step_key=step.key,
        run_id=state.run.run_id,
        asset_key=target.asset_key,
        partitions_def=step.assets_def.partitions_def if step.assets_def else None,
        partition=step_state.partition,
        metadata=all_metadata,
        definition_metadata=target.definition_metadata,
        dagster_type=target.output_type,
        op_def=step.op,
        resources=state.resources,
        log=log,
        io_manager_key=io_key,
    )
    context.mapping_key = produced.mapping_key
    if produced.has_value:
        _store_output(state, step, context, value, target.asset_key, kept_as)
        all_metadata.update(context.added_metadata)
    state.output_contexts[(step.key, kept_as)] = context
    if produced.mapping_key is not None:
        state.mapping_keys.setdefault((step.key, output_name), []).append(produced.mapping_key)
    owner = output_owner(step, output_name, target.asset_key)
    warn_of_cut_values_in_step(state.writer, step.key, all_metadata, owner)
    if target.asset_key is not None:
        _materialize(
            state, step, step_state, target.asset_key, target.code_version, produced, all_metadata
        )


def _store_output(
    state: RunState,
    step: Step,
    context: OutputContext,
    value: Any,
    asset_key: AssetKey | None,
    kept_as: str,
) -> None:
    """Hand ``value`` to the output's IO manager and keep it for steps in this process."""
    output_name, io_key = context.name, context.io_manager_key
    io_manager = state.resources.get(io_key)
    try:
        io_manager.handle_output(context, value)
    except Exception as exc:
        error = UserCodeError(
            f"{step.describe()}: IO manager {io_key!r} failed to store output "
            f"{output_name!r}: {error_text(exc)}",
            exc,
        )
        error.__cause__ = exc
        raise StepFailed(error) from exc
    state.writer.emit(
        EventType.HANDLED_OUTPUT,
        step.key,
        f"stored output {output_name!r} with IO manager {io_key!r}",
        logging.DEBUG,
        IOData(output_name, io_key, asset_key, None, dict(context.added_metadata)),
    )
    state.outputs[(step.key, kept_as)] = value


def _materialize(
    state: RunState,
    step: Step,
    step_state: StepState,
    asset_key: AssetKey,
    code_version: str | None,
    produced: _Produced,
    metadata: Mapping[str, MetadataValue],
) -> None:
    """Record one materialization of the output's asset per partition of the step."""
    recorded = produced.recorded
    partitions = step_state.partition.keys if step_state.partition is not None else (None,)
    tags = dict(recorded.tags)
    # staleness compares the asset's code version with the one it was computed with
    if code_version is not None:
        tags[CODE_VERSION_TAG] = code_version
    writer = state.writer
    for partition in partitions:
        materialization = AssetMaterialization(
            asset_key,
            metadata=metadata,
            partition=partition,
            tags=tags,
            data_version=recorded.data_version,
        )
        writer.emit(
            EventType.ASSET_MATERIALIZATION,
            step.key,
            f"materialized {asset_key.to_user_string()}" + (f" [{partition}]" if partition else ""),
            logging.INFO,
            materialization,
        )


def _expected_checks(step: Step) -> tuple[dict[AssetCheckKey, bool], AssetKey | None]:
    """The checks the step must report (key -> blocking) and the asset a result defaults to."""
    expected: dict[AssetCheckKey, bool] = {}
    default_asset: AssetKey | None = None
    if step.check_def is not None:
        for spec in step.check_def.specs:
            if spec.key in step.selected_checks:
                expected[spec.key] = spec.blocking
        asset_keys = step.check_def.asset_keys
        default_asset = asset_keys[0] if len(asset_keys) == 1 else None
    elif step.assets_def is not None:
        for spec in step.assets_def.check_specs:
            if spec.key in step.selected_checks:
                expected[spec.key] = spec.blocking
        produced = step.produced_asset_keys
        default_asset = next(iter(produced)) if len(produced) == 1 else None
        checked = {spec.asset_key for spec in step.assets_def.check_specs}
        if step.in_graph_asset and default_asset is None and len(checked) == 1:
            # an op of a graph-backed asset that only computes checks of one asset
            default_asset = next(iter(checked))
    return expected, default_asset


def _check_key(
    step: Step,
    result: AssetCheckResult,
    expected: Mapping[AssetCheckKey, bool],
    default_asset: AssetKey | None,
) -> AssetCheckKey:
    """The declared check a result is for, filling in its asset and name where unambiguous."""
    asset_key = result.asset_key or default_asset
    if asset_key is None:
        raise StepFailed(
            InvalidInvocationError(
                f"{step.describe()} returned an AssetCheckResult without asset_key; set "
                "AssetCheckResult(asset_key=...) when a step computes several assets."
            )
        )
    # an op of a graph-backed asset also knows the checks of its outputs a subset leaves out
    known: frozenset[AssetCheckKey] = frozenset()
    if step.in_graph_asset and step.assets_def is not None:
        known = step.assets_def.check_keys
    name = result.check_name
    if name is None:
        pool = step.graph_checks if step.in_graph_asset else expected
        candidates = sorted(
            (k for k in pool if k.asset_key == asset_key), key=lambda k: k.to_user_string()
        )
        if len(candidates) != 1:
            where = "are declared on its graph-backed asset" if step.in_graph_asset else "run here"
            names = f" ({', '.join(k.name for k in candidates)})" if candidates else ""
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned an AssetCheckResult without check_name, but "
                    f"{len(candidates)} checks of {asset_key}{names} {where}; set "
                    "check_name=..."
                )
            )
        key = candidates[0]
    else:
        key = AssetCheckKey(asset_key, name)
    if key not in expected and key not in known:
        raise StepFailed(
            InvalidInvocationError(
                f"{step.describe()} returned a result for check {key.to_user_string()!r}, "
                "which it does not declare. Add AssetCheckSpec(...) to check_specs=."
            )
        )
    return key


def _record_checks(state: RunState, step: Step, results: list[AssetCheckResult]) -> None:
    expected, default_asset = _expected_checks(step)
    seen: set[AssetCheckKey] = set()
    for result in results:
        key = _check_key(step, result, expected, default_asset)
        if key in seen:
            raise StepFailed(
                InvalidInvocationError(
                    f"{step.describe()} returned check {key.to_user_string()!r} twice."
                )
            )
        seen.add(key)
        if key not in expected:  # an op of a graph subset: Dagster records it with a warning
            state.writer.emit(
                EventType.LOG_MESSAGE,
                step.key,
                f"{step.describe()} returned a result for check {key.to_user_string()!r}, which "
                "this run does not select; it is recorded anyway.",
                logging.WARNING,
            )
        specs = step.assets_def.check_specs if step.assets_def is not None else ()
        blocking = expected.get(key, any(s.blocking for s in specs if s.key == key))
        _record_check(state, step, key, result, blocking=blocking)
    missing = [k for k in expected if k not in seen]
    if missing:
        names = ", ".join(k.to_user_string() for k in missing)
        raise StepFailed(
            ExecutionError(
                f"{step.describe()} did not return a result for check(s) {names}. Return "
                "AssetCheckResult(...) for each (inside MaterializeResult(check_results=[...]))."
            )
        )


def _record_check(
    state: RunState, step: Step, key: AssetCheckKey, result: AssetCheckResult, *, blocking: bool
) -> None:
    owner = f"check {key.to_user_string()}"
    warn_of_cut_values_in_step(state.writer, step.key, result.metadata, owner)
    for partition in _check_partitions(state, step, key):
        evaluation = AssetCheckEvaluation(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=result.passed,
            severity=result.severity,
            metadata=result.metadata,
            description=result.description,
            blocking=blocking,
            partition=partition,
        )
        state.check_evaluations.append(evaluation)
        _emit_check(state, step, key, result, evaluation)


def _check_partitions(state: RunState, step: Step, key: AssetCheckKey) -> tuple[str | None, ...]:
    """The partitions a check result is recorded for: each of the run's partitions for a
    partitioned check, else the run's one partition (or none)."""
    scope = state.partition
    if scope is None:
        return (None,)
    specs = step.check_def.specs if step.check_def is not None else ()
    if step.assets_def is not None:
        specs = step.assets_def.check_specs
    if any(s.key == key and s.partitions_def is not None for s in specs):
        return scope.keys
    return (scope.keys[0],) if scope.is_single else (None,)


def _emit_check(
    state: RunState,
    step: Step,
    key: AssetCheckKey,
    result: AssetCheckResult,
    evaluation: AssetCheckEvaluation,
) -> None:
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
