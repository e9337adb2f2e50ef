"""The asset-partition helpers of an execution context (``asset_partition_key_for_output``...).

An asset step runs for one partition scope, shared by all of its outputs. Its inputs may read
other partitions of their upstream assets (through a partition mapping); the step tells the
context which ones with ``StepState.input_partitions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from knoll.defs.output import DEFAULT_OUTPUT
from knoll.defs.partitions import PartitionKeyRange, PartitionsDefinition, TimeWindow
from knoll.errors import PartitionKeyError

if TYPE_CHECKING:
    from knoll.execution.context import PartitionScope, StepState


@dataclass(frozen=True)
class InputPartitions:
    """The partitions one input of a step reads from its upstream asset."""

    partitions_def: PartitionsDefinition | None
    keys: tuple[str, ...] | None  # None: the upstream asset is not partitioned


#: How a step answers "which partitions does input ``name`` read" (None: not an asset input).
InputPartitionsFn = Callable[[str], "InputPartitions | None"]


class AssetPartitionsMixin:
    """Dagster's ``asset_partition_*_for_output`` / ``_for_input`` helpers of a context."""

    _state: StepState

    def _owner(self) -> str:
        raise NotImplementedError

    # ---- outputs -----------------------------------------------------------------------
    def _output_scope(self, output_name: str) -> PartitionScope:
        assets_def = self._state.assets_def
        if assets_def is not None and output_name not in assets_def.specs_by_output:
            names = sorted(assets_def.specs_by_output)
            raise PartitionKeyError(
                f"{self._owner()} has no output {output_name!r}; its outputs are {names}."
            )
        scope = self._state.partition
        if scope is None:
            raise PartitionKeyError(
                f"output {output_name!r} of {self._owner()} is not partitioned in this run: give "
                "the asset a partitions_def and run it with partition_key=... (or check "
                "context.has_partition_key first)."
            )
        return scope

    def asset_partitions_def_for_output(
        self, output_name: str = DEFAULT_OUTPUT
    ) -> PartitionsDefinition:
        """The partitions definition of the asset that ``output_name`` produces."""
        assets_def = self._state.assets_def
        if assets_def is None or assets_def.partitions_def is None:
            raise PartitionKeyError(
                f"output {output_name!r} of {self._owner()} has no partitions definition: "
                "give the asset partitions_def=... to partition it."
            )
        return assets_def.partitions_def

    def asset_partition_key_for_output(self, output_name: str = DEFAULT_OUTPUT) -> str:
        """The one partition key the step writes to ``output_name``."""
        scope = self._output_scope(output_name)
        if not scope.is_single:
            raise PartitionKeyError(
                f"output {output_name!r} of {self._owner()} covers the partition range "
                f"{scope.key_range}; use context.asset_partition_keys_for_output instead."
            )
        return scope.keys[0]

    def asset_partition_keys_for_output(self, output_name: str = DEFAULT_OUTPUT) -> Sequence[str]:
        """Every partition key the step writes to ``output_name``."""
        return self._output_scope(output_name).keys

    def asset_partition_key_range_for_output(
        self, output_name: str = DEFAULT_OUTPUT
    ) -> PartitionKeyRange:
        """The range of partition keys the step writes to ``output_name``."""
        return self._output_scope(output_name).key_range

    def asset_partitions_time_window_for_output(
        self, output_name: str = DEFAULT_OUTPUT
    ) -> TimeWindow:
        """The time window the step writes to ``output_name`` (time partitions only)."""
        return self._output_scope(output_name).time_window(
            f"output {output_name!r} of {self._owner()}"
        )

    # ---- inputs ------------------------------------------------------------------------
    def _input(self, input_name: str) -> tuple[PartitionsDefinition, tuple[str, ...]]:
        fn = self._state.input_partitions
        found = fn(input_name) if fn is not None else None
        if found is None:
            raise PartitionKeyError(
                f"{self._owner()} has no asset input {input_name!r}: name a parameter that "
                "receives an upstream asset."
            )
        if found.partitions_def is None or found.keys is None:
            raise PartitionKeyError(
                f"input {input_name!r} of {self._owner()} reads an unpartitioned asset: only "
                "an input from a partitioned asset has partition keys."
            )
        return found.partitions_def, found.keys

    def asset_partitions_def_for_input(self, input_name: str) -> PartitionsDefinition:
        """The partitions definition of the upstream asset that ``input_name`` reads."""
        return self._input(input_name)[0]

    def asset_partition_keys_for_input(self, input_name: str) -> Sequence[str]:
        """The partition keys of the upstream asset that ``input_name`` reads."""
        return self._input(input_name)[1]

    def asset_partition_key_for_input(self, input_name: str) -> str:
        """The one partition key of the upstream asset that ``input_name`` reads."""
        keys = self._input(input_name)[1]
        if len(keys) != 1:
            raise PartitionKeyError(
                f"input {input_name!r} of {self._owner()} reads {len(keys)} upstream partitions; "
                "use context.asset_partition_keys_for_input or "
                "asset_partition_key_range_for_input instead."
            )
        return keys[0]

    def asset_partition_key_range_for_input(self, input_name: str) -> PartitionKeyRange:
        """The range (first to last) of upstream partition keys that ``input_name`` reads."""
        keys = self._input(input_name)[1]
        if not keys:
            raise PartitionKeyError(
                f"input {input_name!r} of {self._owner()} reads no upstream partition."
            )
        return PartitionKeyRange(keys[0], keys[-1])

    def asset_partitions_time_window_for_input(self, input_name: str) -> TimeWindow:
        """The time window of the upstream partitions that ``input_name`` reads."""
        pdef, keys = self._input(input_name)
        window_for = getattr(pdef, "time_window_for_partition_key", None)
        if window_for is None or not keys:
            raise PartitionKeyError(
                f"input {input_name!r} of {self._owner()} reads {pdef.describe()}, which has "
                "no time windows; use context.asset_partition_keys_for_input instead."
            )
        first: TimeWindow = window_for(keys[0])
        last: TimeWindow = window_for(keys[-1])
        return TimeWindow(first.start, last.end)
