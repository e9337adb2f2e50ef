"""What every partitions definition offers, and the small values passed around with keys."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll._serdes import serializable
from knoll.errors import DefinitionError, InvalidInvocationError, KnollError, PartitionKeyError

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader

# Substrings a partition key may not contain: "..." separates the ends of a key range in the
# CLI and the UI, and control characters break log lines, file names and URLs.
_FORBIDDEN_SUBSTRINGS = ("...", "\n", "\r", "\t", "\v", "\f", "\0", "\a", "\b")


@serializable()
@dataclass(frozen=True, slots=True)
class PartitionKeyRange:
    """The partitions from ``start`` to ``end``, both included, in the definition's order."""

    start: str
    end: str

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise InvalidInvocationError(
                    f"PartitionKeyRange {name} must be a partition key string, got "
                    f"{type(value).__name__} {value!r}."
                )

    def __iter__(self) -> Iterator[str]:
        return iter((self.start, self.end))

    def __str__(self) -> str:
        return f"{self.start}...{self.end}"


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """The span ``[start, end)`` of a time partition, as timezone-aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, datetime) or value.utcoffset() is None:
                raise InvalidInvocationError(
                    f"TimeWindow {name} must be a timezone-aware datetime, got {value!r}; add "
                    "tzinfo, for example datetime(2024, 1, 1, tzinfo=timezone.utc)."
                )
        if self.end.timestamp() < self.start.timestamp():
            raise InvalidInvocationError(
                f"TimeWindow ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()}): swap start and end."
            )

    def __iter__(self) -> Iterator[datetime]:
        return iter((self.start, self.end))


class PartitionsDefinition(ABC):
    """Splits an asset into partitions named by string keys (days, regions, customers...).

    Subclasses compare by value, so two definitions built from the same arguments are equal and
    interchangeable.
    """

    @abstractmethod
    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        """All partition keys, in order, as of ``current_time`` (default: now)."""

    @abstractmethod
    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> bool:
        """Whether ``partition_key`` is one of this definition's keys as of ``current_time``."""

    @abstractmethod
    def describe(self) -> str:
        """A short phrase for messages, such as ``daily partitions from 2024-01-01 (UTC)``."""

    @abstractmethod
    def to_snapshot(self) -> dict[str, Any]:
        """Plain JSON data that :func:`partitions_def_from_snapshot` turns back into ``self``."""

    @abstractmethod
    def _identity(self) -> tuple[Any, ...]:
        """The values that make two definitions equal."""

    @abstractmethod
    def _key_hint(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsReader | None,
    ) -> str:
        """Why ``partition_key`` is not a key and what keys look like, for error messages."""

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> str | None:
        """The first key, or None when there are no partitions (yet)."""
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[0] if keys else None

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> str | None:
        """The last key, or None when there are no partitions (yet)."""
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        return keys[-1] if keys else None

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> int:
        """How many partitions there are as of ``current_time``."""
        return len(self.get_partition_keys(current_time, dynamic_partitions_store))

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        """The keys from ``partition_key_range.start`` to ``.end``, both included."""
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        positions = {key: i for i, key in enumerate(keys)}
        start = positions.get(partition_key_range.start)
        if start is None:
            raise missing_range_end(self, partition_key_range, "start")
        end = positions.get(partition_key_range.end)
        if end is None:
            raise missing_range_end(self, partition_key_range, "end")
        check_range_order(self, partition_key_range, start, end)
        return keys[start : end + 1]

    def validate_partition_key(
        self,
        partition_key: str,
        owner: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> str:
        """Return ``partition_key`` if it is a key, else raise PartitionKeyError naming ``owner``.

        ``owner`` names what is partitioned, for example ``"asset 'orders'"``.
        """
        if not isinstance(partition_key, str):
            raise PartitionKeyError(
                f"partition key {partition_key!r} for {owner} must be a string, got "
                f"{type(partition_key).__name__}."
            )
        if self.has_partition_key(partition_key, current_time, dynamic_partitions_store):
            return partition_key
        hint = self._key_hint(partition_key, current_time, dynamic_partitions_store)
        raise PartitionKeyError(f"{owner} has no partition {partition_key!r}: {hint}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionsDefinition):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __str__(self) -> str:
        return self.describe()


def missing_range_end(
    partitions_def: PartitionsDefinition, key_range: PartitionKeyRange, which: str
) -> PartitionKeyError:
    """The error for a range whose ``which`` end ("start" or "end") is not a key."""
    key = key_range.start if which == "start" else key_range.end
    return PartitionKeyError(
        f"partition key range {str(key_range)!r}: its {which} {key!r} is not a partition of "
        f"{partitions_def.describe()}. Use keys the definition holds, for example from "
        "get_partition_keys()."
    )


def check_range_order(
    partitions_def: PartitionsDefinition, key_range: PartitionKeyRange, start: int, end: int
) -> None:
    """Raise PartitionKeyError when a range's start comes after its end."""
    if start > end:
        raise PartitionKeyError(
            f"partition key range {str(key_range)!r} of {partitions_def.describe()}: its start "
            f"{key_range.start!r} comes after its end {key_range.end!r}. Swap them: "
            f"PartitionKeyRange({key_range.end!r}, {key_range.start!r})."
        )


def check_partition_key_text(
    key: object, where: str, error: type[KnollError] = DefinitionError
) -> str:
    """Validate a key a user chose (static or dynamic): a non-empty string without range
    separators or control characters. Raises ``error`` naming ``where``."""
    if not isinstance(key, str):
        raise error(
            f"partition key {key!r} of {where} must be a string, got {type(key).__name__}; "
            f"write it as {str(key)!r}."
        )
    if not key:
        raise error(f"{where} has an empty partition key: give every partition a non-empty name.")
    for bad in _FORBIDDEN_SUBSTRINGS:
        if bad in key:
            shown = "..." if bad == "..." else repr(bad)[1:-1]
            raise error(
                f"partition key {key!r} of {where} contains {shown!r}, which partition keys may "
                "not contain ('...' separates key ranges; control characters break logs and "
                "paths). Rename the partition."
            )
    return key


def sample_keys(keys: Sequence[str], limit: int = 5) -> str:
    """``'a', 'b', 'c'`` or ``'a', 'b', ... 'z' (26 keys)`` for messages."""
    if len(keys) <= limit:
        return ", ".join(repr(k) for k in keys)
    head = ", ".join(repr(k) for k in keys[: limit - 1])
    return f"{head}, ... {keys[-1]!r} ({len(keys)} keys)"
