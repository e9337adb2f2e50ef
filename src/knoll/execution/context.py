"""The contexts user code receives: for ops and assets, and for IO managers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from knoll.defs.asset import AssetsDefinition
from knoll.defs.keys import AssetCheckKey, AssetKey
from knoll.defs.metadata import MetadataValue, normalize_metadata
from knoll.defs.op import OpDefinition
from knoll.defs.output import AssetMaterialization, AssetObservation, ExpectationResult
from knoll.defs.partitions import PartitionKeyRange, PartitionsDefinition, TimeWindow
from knoll.errors import InvalidInvocationError, PartitionKeyError
from knoll.execution.context_partitions import AssetPartitionsMixin, InputPartitionsFn
from knoll.execution.events import EventType
from knoll.execution.metadata_limits import warn_of_cut_values
from knoll.execution.run import Run

if TYPE_CHECKING:
    from knoll.execution.plan import Step

_PY_LOGGER = logging.getLogger("knoll.run")

Emit = Callable[[EventType, str, int, Any], None]


class RunLogger:
    """``context.log``: each line becomes a LOG_MESSAGE event and goes to Python logging."""

    __slots__ = ("_emit", "_name")

    def __init__(self, emit: Emit | None, name: str) -> None:
        self._emit = emit
        self._name = name

    def log(self, level: int, msg: object, *args: object) -> None:
        text = str(msg) % args if args else str(msg)
        if self._emit is not None:
            self._emit(EventType.LOG_MESSAGE, text, level, None)
        if _PY_LOGGER.isEnabledFor(level):
            _PY_LOGGER.log(level, "%s - %s", self._name, text)

    def debug(self, msg: object, *args: object) -> None:
        self.log(logging.DEBUG, msg, *args)

    def info(self, msg: object, *args: object) -> None:
        self.log(logging.INFO, msg, *args)

    def warning(self, msg: object, *args: object) -> None:
        self.log(logging.WARNING, msg, *args)

    warn = warning

    def error(self, msg: object, *args: object) -> None:
        self.log(logging.ERROR, msg, *args)

    def critical(self, msg: object, *args: object) -> None:
        self.log(logging.CRITICAL, msg, *args)

    def exception(self, msg: object, *args: object) -> None:
        self.log(logging.ERROR, msg, *args)


@dataclass
class PartitionScope:
    """The partition(s) a run targets: one key, or a range of keys of one definition."""

    partitions_def: PartitionsDefinition
    keys: tuple[str, ...]
    key_range: PartitionKeyRange

    @property
    def is_single(self) -> bool:
        return len(self.keys) == 1

    def time_window(self, owner: str) -> TimeWindow:
        window_for = getattr(self.partitions_def, "time_window_for_partition_key", None)
        if window_for is None:
            raise PartitionKeyError(
                f"{owner} is partitioned by {self.partitions_def.describe()}, which has no time "
                "windows; use context.partition_key instead of partition_time_window."
            )
        first: TimeWindow = window_for(self.key_range.start)
        last: TimeWindow = window_for(self.key_range.end) if not self.is_single else first
        return TimeWindow(first.start, last.end)


@dataclass
class StepState:
    """Everything a step's context can answer; built by the executor or a ``build_*`` helper."""

    run: Run
    op_def: OpDefinition | None
    step: Step | None
    op_config: Any
    resources: Any
    emit: Emit | None
    partition: PartitionScope | None = None
    instance: object | None = None  # what context.instance gives user code
    retry_number: int = 0
    assets_def: AssetsDefinition | None = None
    output_metadata: dict[str, dict[str, MetadataValue]] = field(default_factory=dict)
    logged_events: list[Any] = field(default_factory=list)
    input_partitions: InputPartitionsFn | None = None  # which upstream partitions an input reads


class OpExecutionContext(AssetPartitionsMixin):
    """What an op's (or asset's) function can ask about its run: config, resources, log,
    partitions, the assets it computes."""

    __knoll_context__ = True

    def __init__(self, state: StepState) -> None:
        self._state = state
        name = (
            state.step.key
            if state.step is not None
            else (state.op_def.name if state.op_def else "")
        )
        self.log = RunLogger(state.emit, name)

    # ---- the run -----------------------------------------------------------------------
    @property
    def run(self) -> Run:
        return self._state.run

    @property
    def run_id(self) -> str:
        return self._state.run.run_id

    @property
    def job_name(self) -> str:
        return self._state.run.job_name

    @property
    def run_tags(self) -> Mapping[str, str]:
        return self._state.run.tags

    @property
    def instance(self) -> Any:
        return self._state.instance

    @property
    def retry_number(self) -> int:
        return self._state.retry_number

    def get_mapping_key(self) -> str | None:
        """The mapping key this step runs for, when its op is mapped over a dynamic output."""
        step = self._state.step
        return step.mapping_key if step is not None else None

    @property
    def step_key(self) -> str:
        step = self._state.step
        return step.key if step is not None else self.op_def.name

    @property
    def op_def(self) -> OpDefinition:
        if self._state.op_def is None:
            raise InvalidInvocationError("this context was built without an op or asset.")
        return self._state.op_def

    @property
    def op_config(self) -> Any:
        return self._state.op_config

    @property
    def resources(self) -> Any:
        return self._state.resources

    # ---- partitions --------------------------------------------------------------------
    def _owner(self) -> str:
        if self._state.assets_def is not None:
            return self._state.assets_def.describe()
        return f"op {self._state.op_def.name!r}" if self._state.op_def else "this run"

    def _scope(self) -> PartitionScope:
        scope = self._state.partition
        if scope is None:
            raise PartitionKeyError(
                f"{self._owner()} is not running for a partition: run it with partition_key=... "
                "(or check context.has_partition_key first)."
            )
        return scope

    @property
    def has_partition_key(self) -> bool:
        return self._state.partition is not None and self._state.partition.is_single

    @property
    def has_partition_key_range(self) -> bool:
        return self._state.partition is not None

    @property
    def partition_key(self) -> str:
        scope = self._scope()
        if not scope.is_single:
            raise PartitionKeyError(
                f"{self._owner()} runs over the partition range {scope.key_range}; use "
                "context.partition_keys or context.partition_key_range instead of partition_key."
            )
        return scope.keys[0]

    @property
    def partition_keys(self) -> Sequence[str]:
        return self._scope().keys

    @property
    def partition_key_range(self) -> PartitionKeyRange:
        return self._scope().key_range

    @property
    def partition_time_window(self) -> TimeWindow:
        return self._scope().time_window(self._owner())

    @property
    def partitions_def(self) -> PartitionsDefinition | None:
        scope = self._state.partition
        return scope.partitions_def if scope is not None else None

    # ---- assets ------------------------------------------------------------------------
    @property
    def has_assets_def(self) -> bool:
        return self._state.assets_def is not None

    @property
    def assets_def(self) -> AssetsDefinition:
        if self._state.assets_def is None:
            raise InvalidInvocationError(f"{self._owner()} does not compute assets.")
        return self._state.assets_def

    @property
    def asset_key(self) -> AssetKey:
        keys = self.selected_asset_keys
        if len(keys) != 1:
            raise InvalidInvocationError(
                f"{self._owner()} computes {len(keys)} assets; use "
                "context.asset_key_for_output(name) or context.selected_asset_keys."
            )
        return next(iter(keys))

    @property
    def selected_asset_keys(self) -> frozenset[AssetKey]:
        step = self._state.step
        if step is not None and step.assets_def is not None:
            return step.produced_asset_keys
        return self.assets_def.keys

    @property
    def selected_output_names(self) -> frozenset[str]:
        step = self._state.step
        if step is not None:
            return step.selected_outputs
        if self._state.assets_def is not None:
            return frozenset(
                self._state.assets_def.output_for(k) for k in self._state.assets_def.keys
            )
        return frozenset(self.op_def.output_defs)

    @property
    def selected_asset_check_keys(self) -> frozenset[AssetCheckKey]:
        step = self._state.step
        if step is not None:
            return step.selected_checks
        return self.assets_def.check_keys if self._state.assets_def else frozenset()

    @property
    def is_subset(self) -> bool:
        assets_def = self._state.assets_def
        return assets_def is not None and assets_def.selected_keys is not None

    def asset_key_for_output(self, output_name: str = "result") -> AssetKey:
        specs = self.assets_def.specs_by_output
        if output_name not in specs:
            raise InvalidInvocationError(
                f"{self._owner()} has no output {output_name!r}; outputs: {', '.join(specs)}."
            )
        return specs[output_name].key

    def asset_key_for_input(self, input_name: str) -> AssetKey:
        keys = self.assets_def.input_keys
        if input_name not in keys:
            raise InvalidInvocationError(
                f"{self._owner()} has no input {input_name!r}; inputs: {', '.join(keys) or 'none'}."
            )
        return keys[input_name]

    @property
    def op_execution_context(self) -> OpExecutionContext:
        return self

    # ---- recording ---------------------------------------------------------------------
    def add_output_metadata(
        self, metadata: Mapping[str, Any], output_name: str | None = None
    ) -> None:
        """Attach metadata to an output (and so to the materialization of its asset)."""
        outputs = self.selected_output_names
        if output_name is None:
            if len(outputs) != 1:
                raise InvalidInvocationError(
                    f"{self._owner()} has several outputs; name one: "
                    f"add_output_metadata(..., output_name=...) with one of {sorted(outputs)}."
                )
            output_name = next(iter(outputs))
        normalized = normalize_metadata(metadata, f"output {output_name!r} of {self._owner()}")
        self._state.output_metadata.setdefault(output_name, {}).update(normalized)

    def add_asset_metadata(self, metadata: Mapping[str, Any], asset_key: Any = None) -> None:
        """Attach metadata to the materialization of one of the assets being computed."""
        if asset_key is None:
            output = None
        else:
            output = self.assets_def.output_for(AssetKey.from_coercible(asset_key))
        self.add_output_metadata(metadata, output)

    def log_event(self, event: AssetMaterialization | AssetObservation | ExpectationResult) -> None:
        """Record a materialization, observation or expectation result right away."""
        if not isinstance(event, (AssetMaterialization, AssetObservation, ExpectationResult)):
            raise InvalidInvocationError(
                f"context.log_event got a {type(event).__name__}; it records "
                "AssetMaterialization, AssetObservation or ExpectationResult."
            )
        self._state.logged_events.append(event)
        emit = self._state.emit
        if emit is None:
            return
        if isinstance(event, (AssetMaterialization, AssetObservation)):
            owner = f"asset {event.asset_key.to_user_string()}"
            warn_of_cut_values(emit, event.metadata, owner)
        if isinstance(event, AssetMaterialization):
            emit(
                EventType.ASSET_MATERIALIZATION,
                f"materialized {event.asset_key}",
                logging.INFO,
                event,
            )
        elif isinstance(event, AssetObservation):
            emit(EventType.ASSET_OBSERVATION, f"observed {event.asset_key}", logging.INFO, event)
        else:
            emit(EventType.EXPECTATION_RESULT, event.label or "expectation", logging.INFO, event)

    def get_logged_events(self) -> list[Any]:
        return list(self._state.logged_events)


class AssetExecutionContext(OpExecutionContext):
    """The context of an asset's function (the same API as ops, named for assets)."""


class AssetCheckExecutionContext(OpExecutionContext):
    """The context of an ``@asset_check`` function."""


class OutputContext:
    """What an IO manager's ``handle_output`` knows about the output it stores."""

    def __init__(  # noqa: PLR0913 (Dagster's OutputContext fields)
        self,
        *,
        name: str,
        step_key: str,
        run_id: str,
        asset_key: AssetKey | None = None,
        partitions_def: PartitionsDefinition | None = None,
        partition: PartitionScope | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        definition_metadata: Mapping[str, MetadataValue] | None = None,
        dagster_type: Any = None,
        op_def: OpDefinition | None = None,
        resources: Any = None,
        log: RunLogger | None = None,
        resource_config: Any = None,
        io_manager_key: str = "io_manager",
        config: Any = None,
    ) -> None:
        self.name = name
        self.config = config
        self.step_key = step_key
        self.run_id = run_id
        self.io_manager_key = io_manager_key
        self._asset_key = asset_key
        self.asset_partitions_def = partitions_def
        self._partition = partition
        self.metadata: dict[str, MetadataValue] = dict(metadata or {})
        self.definition_metadata: dict[str, MetadataValue] = dict(definition_metadata or {})
        self.dagster_type = dagster_type
        self.op_def = op_def
        self.resources = resources
        self.log = log or RunLogger(None, step_key)
        self.resource_config = resource_config
        self.added_metadata: dict[str, MetadataValue] = {}
        self.mapping_key: str | None = None  # set for one value of a dynamic output

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def asset_key(self) -> AssetKey:
        if self._asset_key is None:
            raise InvalidInvocationError(
                f"output {self.name!r} of step {self.step_key!r} is not an asset: check "
                "context.has_asset_key before using context.asset_key."
            )
        return self._asset_key

    @property
    def has_partition_key(self) -> bool:
        return self._partition is not None and self._partition.is_single

    @property
    def has_asset_partitions(self) -> bool:
        return self._partition is not None and self._asset_key is not None

    @property
    def partition_key(self) -> str:
        if self._partition is None or not self._partition.is_single:
            raise PartitionKeyError(
                f"output {self.name!r} of step {self.step_key!r} is not for a single partition; "
                "use context.asset_partition_keys."
            )
        return self._partition.keys[0]

    @property
    def asset_partition_keys(self) -> Sequence[str]:
        return self._partition.keys if self._partition is not None else ()

    @property
    def asset_partition_key_range(self) -> PartitionKeyRange:
        if self._partition is None:
            raise PartitionKeyError(
                f"output {self.name!r} of step {self.step_key!r} is not partitioned."
            )
        return self._partition.key_range

    @property
    def asset_partitions_time_window(self) -> TimeWindow:
        if self._partition is None:
            raise PartitionKeyError(
                f"output {self.name!r} of step {self.step_key!r} is not partitioned."
            )
        return self._partition.time_window(f"output {self.name!r}")

    def add_output_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Metadata the IO manager adds about what it wrote (a path, a row count...)."""
        self.added_metadata.update(normalize_metadata(metadata, f"output {self.name!r}"))

    def get_identifier(self) -> list[str]:
        parts = [self.run_id, self.step_key, self.name]
        if self.mapping_key is not None:
            parts.append(self.mapping_key)
        if self.has_partition_key:
            parts.append(self.partition_key)
        return parts


class InputContext:
    """What an IO manager's ``load_input`` knows about the input it loads."""

    def __init__(  # noqa: PLR0913 (Dagster's InputContext fields)
        self,
        *,
        name: str,
        step_key: str,
        run_id: str,
        asset_key: AssetKey | None = None,
        upstream_output: OutputContext | None = None,
        partitions_def: PartitionsDefinition | None = None,
        partition_keys: Sequence[str] | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        dagster_type: Any = None,
        op_def: OpDefinition | None = None,
        resources: Any = None,
        log: RunLogger | None = None,
        resource_config: Any = None,
        config: Any = None,
        definition_metadata: Mapping[str, MetadataValue] | None = None,
    ) -> None:
        self.name = name
        self.step_key = step_key
        self.run_id = run_id
        self.config = config
        self.definition_metadata: dict[str, MetadataValue] = dict(
            definition_metadata if definition_metadata is not None else metadata or {}
        )
        self._asset_key = asset_key
        self.upstream_output = upstream_output
        self.asset_partitions_def = partitions_def
        self._partition_keys = tuple(partition_keys) if partition_keys is not None else None
        self.metadata: dict[str, MetadataValue] = dict(metadata or {})
        self.dagster_type = dagster_type
        self.op_def = op_def
        self.resources = resources
        self.log = log or RunLogger(None, step_key)
        self.resource_config = resource_config

    @property
    def has_asset_key(self) -> bool:
        return self._asset_key is not None

    @property
    def asset_key(self) -> AssetKey:
        if self._asset_key is None:
            raise InvalidInvocationError(
                f"input {self.name!r} of step {self.step_key!r} is not an asset: check "
                "context.has_asset_key before using context.asset_key."
            )
        return self._asset_key

    @property
    def has_asset_partitions(self) -> bool:
        return self._partition_keys is not None

    @property
    def asset_partition_keys(self) -> Sequence[str]:
        """The upstream partitions to load (after the partition mapping)."""
        return self._partition_keys or ()

    @property
    def has_partition_key(self) -> bool:
        return self._partition_keys is not None and len(self._partition_keys) == 1

    @property
    def partition_key(self) -> str:
        if self._partition_keys is None or len(self._partition_keys) != 1:
            raise PartitionKeyError(
                f"input {self.name!r} of step {self.step_key!r} maps to "
                f"{len(self._partition_keys or ())} upstream partitions; use "
                "context.asset_partition_keys."
            )
        return self._partition_keys[0]

    @property
    def asset_partition_key_range(self) -> PartitionKeyRange:
        keys = self.asset_partition_keys
        if not keys:
            raise PartitionKeyError(
                f"input {self.name!r} of step {self.step_key!r} is not partitioned."
            )
        return PartitionKeyRange(keys[0], keys[-1])

    @property
    def asset_partitions_time_window(self) -> TimeWindow:
        keys = self.asset_partition_keys
        window_for = getattr(self.asset_partitions_def, "time_window_for_partition_key", None)
        if not keys or window_for is None:
            raise PartitionKeyError(
                f"input {self.name!r} of step {self.step_key!r} has no time-window partitions."
            )
        return TimeWindow(window_for(keys[0]).start, window_for(keys[-1]).end)
