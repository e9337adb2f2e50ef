"""The partition mapping between time partitions, across cadences and with offsets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll.defs.partitions.base import PartitionsDefinition
from knoll.defs.partitions.mapping import (
    PartitionMapping,
    describe_or_unpartitioned,
    missing_upstream,
)
from knoll.defs.partitions.time_window import TimeWindowPartitionsDefinition
from knoll.errors import DefinitionError, InvalidInvocationError

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader


class TimeWindowPartitionMapping(PartitionMapping):
    """Each downstream time partition reads the upstream time partitions that overlap its
    window, across cadences (a day reads 24 hours; an hour reads its day).

    ``start_offset`` and ``end_offset`` widen or shift the window, counted in *downstream*
    partitions: ``start_offset=-1, end_offset=-1`` reads the previous window's data. An offset
    never reaches past the upstream's partitions (the first day reads no previous day, as in
    Dagster); other upstream partitions that do not exist are an error unless
    ``allow_nonexistent_upstream_partitions``.
    """

    __slots__ = ("_allow_nonexistent", "_end_offset", "_start_offset")

    def __init__(
        self,
        start_offset: int = 0,
        end_offset: int = 0,
        allow_nonexistent_upstream_partitions: bool = False,
    ) -> None:
        offsets: tuple[tuple[str, object], ...] = (
            ("start_offset", start_offset),
            ("end_offset", end_offset),
        )
        for name, value in offsets:
            if not isinstance(value, int) or isinstance(value, bool):
                raise DefinitionError(
                    f"{name} of TimeWindowPartitionMapping must be a whole number of "
                    f"partitions, got {value!r}."
                )
        if start_offset > end_offset:
            raise DefinitionError(
                f"TimeWindowPartitionMapping(start_offset={start_offset}, "
                f"end_offset={end_offset}) maps to an empty window: start_offset must not "
                "be greater than end_offset."
            )
        self._start_offset = start_offset
        self._end_offset = end_offset
        self._allow_nonexistent = bool(allow_nonexistent_upstream_partitions)

    @property
    def start_offset(self) -> int:
        return self._start_offset

    @property
    def end_offset(self) -> int:
        return self._end_offset

    @property
    def allow_nonexistent_upstream_partitions(self) -> bool:
        return self._allow_nonexistent

    @staticmethod
    def _time_defs(
        downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition
    ) -> tuple[TimeWindowPartitionsDefinition, TimeWindowPartitionsDefinition] | None:
        if isinstance(downstream_def, TimeWindowPartitionsDefinition) and isinstance(
            upstream_def, TimeWindowPartitionsDefinition
        ):
            return downstream_def, upstream_def
        return None

    def _require_time_defs(
        self, downstream_def: PartitionsDefinition | None, upstream_def: PartitionsDefinition
    ) -> tuple[TimeWindowPartitionsDefinition, TimeWindowPartitionsDefinition]:
        pair = self._time_defs(downstream_def, upstream_def)
        if pair is None:
            raise InvalidInvocationError(
                f"{self!r} needs time partitions on both sides, but the downstream has "
                f"{describe_or_unpartitioned(downstream_def)} and the upstream has "
                f"{upstream_def.describe()}."
            )
        return pair

    def get_upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        down, up = self._require_time_defs(downstream_def, upstream_def)
        if downstream_keys is None:
            raise InvalidInvocationError(f"{self!r} needs downstream partition keys.")
        first, last = up._bounds(current_time)
        spans = []
        for key in downstream_keys:
            start, end = self._shifted_window(down, down._require_index(key), up, first, last)
            low, high = up._indices_overlapping(start, end)
            if low <= high:
                spans.append((low, high))
        keys: list[str] = []
        missing: list[str] = []
        for low, high in _merge(spans):
            keys.extend(up._keys_between(max(low, first), min(high, last)))
            if not self.allow_nonexistent_upstream_partitions and len(missing) < 5:
                # A few examples are enough for the message; never list a long span.
                missing.extend(up._keys_between(low, min(high, first - 1, low + 4)))
                after = max(low, last + 1)
                missing.extend(up._keys_between(after, min(high, after + 4)))
        missing_upstream(
            self,
            list(dict.fromkeys(missing)),
            up.describe(),
            "wait until they exist, or pass allow_nonexistent_upstream_partitions=True to "
            "skip them",
        )
        return keys

    def _shifted_window(
        self,
        down: TimeWindowPartitionsDefinition,
        index: int,
        up: TimeWindowPartitionsDefinition,
        first: int,
        last: int,
    ) -> tuple[float, float]:
        """The instants downstream window ``index`` reads, offsets applied.

        As in Dagster, an offset never moves an edge past the upstream's existing partitions:
        ``start_offset=-1, end_offset=-1`` on the first day reads no partition (the run goes
        ahead with none) rather than a day that does not exist. Only a window that lies outside
        the upstream partitions without offsets (an upstream that starts later) is missing.
        """
        start = down._start_of(down._shift(index, self.start_offset))
        end = down._start_of(down._shift(index, self.end_offset) + 1)
        if first <= last:
            low_edge, high_edge = up._start_of(first), up._start_of(last + 1)
            start = _clamp(start, self.start_offset, low_edge, high_edge)
            end = _clamp(end, self.end_offset, low_edge, high_edge)
        return start, end

    def get_downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        down, up = self._require_time_defs(downstream_def, upstream_def)
        spans = []
        for key in upstream_keys:
            index = up._require_index(key)
            low, high = down._indices_overlapping(up._start_of(index), up._start_of(index + 1))
            if low <= high:
                # Downstream window i spans windows i+start_offset .. i+end_offset.
                spans.append(
                    (down._shift(low, -self.end_offset), down._shift(high, -self.start_offset))
                )
        first, last = down._bounds(current_time)
        keys: list[str] = []
        for low, high in _merge(spans):
            keys.extend(down._keys_between(max(low, first), min(high, last)))
        return keys

    def validate(
        self,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        owner: str,
    ) -> None:
        if self._time_defs(downstream_def, upstream_def) is None:
            raise DefinitionError(
                f"{owner} uses {self!r}, which needs time partitions on both sides, but "
                f"the downstream has {describe_or_unpartitioned(downstream_def)} and the upstream "
                "has "
                f"{upstream_def.describe()}. Use time partitions on both assets or another "
                "partition mapping."
            )

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "type": "TimeWindowPartitionMapping",
            "start_offset": self.start_offset,
            "end_offset": self.end_offset,
            "allow_nonexistent_upstream_partitions": self.allow_nonexistent_upstream_partitions,
        }


def _clamp(edge: float, offset: int, low_edge: float, high_edge: float) -> float:
    """``edge`` kept within ``[low_edge, high_edge]`` in the direction ``offset`` moved it."""
    if offset < 0:
        return max(edge, low_edge)
    if offset > 0:
        return min(edge, high_edge)
    return edge


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged
