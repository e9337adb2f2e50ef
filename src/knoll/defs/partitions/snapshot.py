"""Rebuilding partitions definitions and partition mappings from their ``to_snapshot()``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from knoll.defs.partitions.base import PartitionsDefinition
from knoll.defs.partitions.dynamic import DynamicPartitionsDefinition
from knoll.defs.partitions.mapping import (
    AllPartitionMapping,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    StaticPartitionMapping,
)
from knoll.defs.partitions.multi import MultiPartitionsDefinition
from knoll.defs.partitions.static import StaticPartitionsDefinition
from knoll.defs.partitions.time_cadences import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from knoll.defs.partitions.time_mapping import TimeWindowPartitionMapping
from knoll.defs.partitions.time_window import TimeWindowPartitionsDefinition
from knoll.errors import KnollError, SerializationError

_TIME_CLASSES: dict[str, type[TimeWindowPartitionsDefinition]] = {
    cls.__name__: cls
    for cls in (
        TimeWindowPartitionsDefinition,
        HourlyPartitionsDefinition,
        DailyPartitionsDefinition,
        WeeklyPartitionsDefinition,
        MonthlyPartitionsDefinition,
    )
}


def partitions_def_from_snapshot(data: Mapping[str, Any]) -> PartitionsDefinition:
    """The partitions definition whose ``to_snapshot()`` gave ``data``."""
    kind = _kind(data, "partitions definition")
    try:
        if kind in _TIME_CLASSES:
            return _TIME_CLASSES[kind]._from_snapshot(dict(data))
        if kind == "StaticPartitionsDefinition":
            return StaticPartitionsDefinition(data["keys"])
        if kind == "DynamicPartitionsDefinition":
            return DynamicPartitionsDefinition(data["name"])
        if kind == "MultiPartitionsDefinition":
            return MultiPartitionsDefinition(
                {
                    name: partitions_def_from_snapshot(dimension)
                    for name, dimension in data["dimensions"].items()
                }
            )
    except (KeyError, TypeError, ValueError, KnollError) as exc:
        if isinstance(exc, SerializationError):
            raise
        raise SerializationError(f"cannot read {kind} snapshot {dict(data)!r}: {exc}") from exc
    raise SerializationError(
        f"unknown partitions definition type {kind!r} in snapshot: it was written by a knoll "
        "that knows it; upgrade knoll to read it."
    )


_MAPPINGS: dict[str, Callable[[Mapping[str, Any]], PartitionMapping]] = {
    "IdentityPartitionMapping": lambda d: IdentityPartitionMapping(),
    "AllPartitionMapping": lambda d: AllPartitionMapping(),
    "LastPartitionMapping": lambda d: LastPartitionMapping(),
    "TimeWindowPartitionMapping": lambda d: TimeWindowPartitionMapping(
        start_offset=d["start_offset"],
        end_offset=d["end_offset"],
        allow_nonexistent_upstream_partitions=d["allow_nonexistent_upstream_partitions"],
    ),
    "StaticPartitionMapping": lambda d: StaticPartitionMapping(
        d["downstream_partition_keys_by_upstream_partition_key"]
    ),
    "MultiToSingleDimensionPartitionMapping": lambda d: MultiToSingleDimensionPartitionMapping(
        d["partition_dimension_name"]
    ),
}


def partition_mapping_from_snapshot(data: Mapping[str, Any]) -> PartitionMapping:
    """The partition mapping whose ``to_snapshot()`` gave ``data``."""
    kind = _kind(data, "partition mapping")
    build = _MAPPINGS.get(kind)
    if build is None:
        raise SerializationError(
            f"unknown partition mapping type {kind!r} in snapshot: it was written by a knoll "
            "that knows it; upgrade knoll to read it."
        )
    try:
        return build(data)
    except (KeyError, TypeError, ValueError, KnollError) as exc:
        raise SerializationError(f"cannot read {kind} snapshot {dict(data)!r}: {exc}") from exc


def _kind(data: object, what: str) -> str:
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str):
        raise SerializationError(
            f"a {what} snapshot must be a dict with a 'type' string, got {data!r}."
        )
    return str(data["type"])
