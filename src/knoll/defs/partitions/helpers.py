"""Questions the execution layer asks of any partitions definition."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from knoll.defs.partitions.base import PartitionKeyRange, PartitionsDefinition, TimeWindow
from knoll.defs.partitions.dynamic import DynamicPartitionsReader
from knoll.defs.partitions.multi import MultiPartitionsDefinition
from knoll.defs.partitions.time_window import TimeWindowPartitionsDefinition
from knoll.errors import InvalidInvocationError


def partition_keys_in_range(
    partitions_def: PartitionsDefinition,
    partition_key_range: PartitionKeyRange,
    current_time: datetime | None = None,
    dynamic_partitions_store: DynamicPartitionsReader | None = None,
) -> Sequence[str]:
    """The keys of ``partition_key_range``, both ends included; PartitionKeyError if an end
    is not a key or the start comes after the end."""
    return partitions_def.get_partition_keys_in_range(
        partition_key_range, current_time, dynamic_partitions_store
    )


def has_time_window(partitions_def: PartitionsDefinition | None) -> bool:
    """Whether keys of ``partitions_def`` have a time window (time, or multi with one time
    dimension)."""
    if isinstance(partitions_def, TimeWindowPartitionsDefinition):
        return True
    return (
        isinstance(partitions_def, MultiPartitionsDefinition)
        and partitions_def.time_window_dimension is not None
    )


def time_window_for_partition_keys(
    partitions_def: PartitionsDefinition, partition_keys: Sequence[str]
) -> TimeWindow:
    """The window from the earliest start to the latest end of ``partition_keys``."""
    if isinstance(partitions_def, TimeWindowPartitionsDefinition | MultiPartitionsDefinition):
        return partitions_def.time_window_for_partition_keys(partition_keys)
    raise InvalidInvocationError(
        f"partition keys of {partitions_def.describe()} have no time window; only time "
        "partitions (or multi partitions with a time dimension) do."
    )


def time_window_for_partition_key_range(
    partitions_def: PartitionsDefinition, partition_key_range: PartitionKeyRange
) -> TimeWindow:
    """The window from the start of the range's first key to the end of its last key."""
    return time_window_for_partition_keys(
        partitions_def, [partition_key_range.start, partition_key_range.end]
    )
