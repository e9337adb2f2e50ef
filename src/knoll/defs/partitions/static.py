"""Partitions from a fixed list of keys (regions, customers known in advance...)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll._utils import did_you_mean
from knoll.defs.partitions.base import (
    PartitionKeyRange,
    PartitionsDefinition,
    check_partition_key_text,
    check_range_order,
    missing_range_end,
    sample_keys,
)
from knoll.errors import DefinitionError

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader


class StaticPartitionsDefinition(PartitionsDefinition):
    """Partitions named by a fixed, ordered list of unique, non-empty string keys."""

    def __init__(self, partition_keys: Sequence[str]) -> None:
        if isinstance(partition_keys, str) or not isinstance(partition_keys, Sequence):
            raise DefinitionError(
                f"StaticPartitionsDefinition needs a list of keys, got "
                f"{type(partition_keys).__name__} {partition_keys!r}; for example "
                "StaticPartitionsDefinition(['eu', 'us'])."
            )
        keys = tuple(partition_keys)
        positions: dict[str, int] = {}
        duplicates: list[str] = []
        for position, key in enumerate(keys):
            check_partition_key_text(key, "StaticPartitionsDefinition")
            if key in positions:
                duplicates.append(key)
            positions.setdefault(key, position)
        if duplicates:
            shown = ", ".join(repr(k) for k in dict.fromkeys(duplicates))
            raise DefinitionError(
                f"StaticPartitionsDefinition has duplicate keys {shown}: each partition key must "
                "appear once; remove the repeats."
            )
        self._keys = keys
        self._positions = positions

    @property
    def partition_keys(self) -> Sequence[str]:
        return self._keys

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        return list(self._keys)

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> bool:
        return partition_key in self._positions

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> int:
        return len(self._keys)

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        start = self._positions.get(partition_key_range.start)
        if start is None:
            raise missing_range_end(self, partition_key_range, "start")
        end = self._positions.get(partition_key_range.end)
        if end is None:
            raise missing_range_end(self, partition_key_range, "end")
        check_range_order(self, partition_key_range, start, end)
        return list(self._keys[start : end + 1])

    def _key_hint(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsReader | None,
    ) -> str:
        if not self._keys:
            return "its static partitions definition has no keys."
        suggestion = did_you_mean(partition_key, self._keys)
        return f"its keys are {sample_keys(self._keys)}.{suggestion}"

    def describe(self) -> str:
        if not self._keys:
            return "static partitions (none)"
        return f"static partitions {sample_keys(self._keys)}"

    def to_snapshot(self) -> dict[str, Any]:
        return {"type": "StaticPartitionsDefinition", "keys": list(self._keys)}

    def _identity(self) -> tuple[Any, ...]:
        return ("static", self._keys)

    def __repr__(self) -> str:
        return f"StaticPartitionsDefinition({list(self._keys)!r})"
