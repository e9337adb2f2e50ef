"""Partitions along two dimensions at once, such as date and region."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll._utils import check_name, did_you_mean
from knoll.defs.partitions.base import PartitionsDefinition, TimeWindow
from knoll.defs.partitions.static import StaticPartitionsDefinition
from knoll.defs.partitions.time_window import TimeWindowPartitionsDefinition
from knoll.errors import DefinitionError, InvalidInvocationError, KnollError, PartitionKeyError

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader

MULTIPARTITION_KEY_DELIMITER = "|"


class MultiPartitionKey(str):
    """A key of a :class:`MultiPartitionsDefinition`: one key per dimension.

    It is a string, the dimension keys joined by ``|`` in the order of the dimension names, so
    ``MultiPartitionKey({"region": "eu", "date": "2024-01-01"}) == "2024-01-01|eu"``.
    """

    _keys_by_dimension: dict[str, str]

    def __new__(cls, keys_by_dimension: Mapping[str, str]) -> MultiPartitionKey:
        given: object = keys_by_dimension  # checked: users build keys by hand
        if not isinstance(given, Mapping) or not given:
            raise InvalidInvocationError(
                f"MultiPartitionKey needs a dict of dimension name to key, got "
                f"{keys_by_dimension!r}; for example MultiPartitionKey({{'date': '2024-01-01', "
                "'region': 'eu'}})."
            )
        for name, key in given.items():
            if not isinstance(name, str) or not isinstance(key, str):
                raise InvalidInvocationError(
                    f"MultiPartitionKey({dict(keys_by_dimension)!r}): dimension names and keys "
                    "must be strings."
                )
            if MULTIPARTITION_KEY_DELIMITER in key:
                raise InvalidInvocationError(
                    f"MultiPartitionKey({dict(keys_by_dimension)!r}): the key {key!r} of "
                    f"dimension {name!r} contains '|', which separates dimension keys."
                )
        names = sorted(keys_by_dimension)
        return cls._make(names, [keys_by_dimension[name] for name in names])

    @classmethod
    def _make(cls, names: Sequence[str], keys: Sequence[str]) -> MultiPartitionKey:
        """Build from dimension names in sorted order and their keys, without checks."""
        self = super().__new__(cls, MULTIPARTITION_KEY_DELIMITER.join(keys))
        self._keys_by_dimension = dict(zip(names, keys, strict=True))
        return self

    @property
    def keys_by_dimension(self) -> Mapping[str, str]:
        """The key of each dimension, by dimension name."""
        return dict(self._keys_by_dimension)

    def __getnewargs__(self) -> tuple[dict[str, str]]:  # type: ignore[override]
        return (self._keys_by_dimension,)

    def __repr__(self) -> str:
        return f"MultiPartitionKey({self._keys_by_dimension!r})"


@dataclass(frozen=True, slots=True)
class PartitionDimensionDefinition:
    """One named dimension of a :class:`MultiPartitionsDefinition`."""

    name: str
    partitions_def: PartitionsDefinition


class MultiPartitionsDefinition(PartitionsDefinition):
    """Partitions that are every combination of the keys of two named dimensions.

    Keys are :class:`MultiPartitionKey` strings such as ``"2024-01-01|eu"``; dimensions are
    ordered by name. At most one time dimension gives the keys a time window.
    """

    def __init__(self, partitions_defs: Mapping[str, PartitionsDefinition]) -> None:
        if not isinstance(partitions_defs, Mapping):
            raise DefinitionError(
                "MultiPartitionsDefinition needs a dict of dimension name to partitions "
                f"definition, got {type(partitions_defs).__name__}; for example "
                "MultiPartitionsDefinition({'date': DailyPartitionsDefinition('2024-01-01'), "
                "'region': StaticPartitionsDefinition(['eu', 'us'])})."
            )
        if len(partitions_defs) != 2:
            raise DefinitionError(
                f"MultiPartitionsDefinition has {len(partitions_defs)} dimensions "
                f"({', '.join(repr(n) for n in partitions_defs) or 'none'}): it needs exactly 2."
            )
        dimensions = []
        for name in sorted(partitions_defs):
            check_name(name, "MultiPartitionsDefinition dimension")
            dimension_def = partitions_defs[name]
            _check_dimension(name, dimension_def)
            dimensions.append(PartitionDimensionDefinition(name, dimension_def))
        self._dimensions = tuple(dimensions)
        self._names = tuple(d.name for d in dimensions)

    @property
    def partitions_defs(self) -> Sequence[PartitionDimensionDefinition]:
        """The dimensions, ordered by name."""
        return self._dimensions

    @property
    def partition_dimension_names(self) -> list[str]:
        return list(self._names)

    @property
    def primary_dimension(self) -> PartitionDimensionDefinition:
        """The time dimension if there is exactly one, else the first by name."""
        time_dimensions = [
            d
            for d in self._dimensions
            if isinstance(d.partitions_def, TimeWindowPartitionsDefinition)
        ]
        return time_dimensions[0] if len(time_dimensions) == 1 else self._dimensions[0]

    @property
    def secondary_dimension(self) -> PartitionDimensionDefinition:
        primary = self.primary_dimension
        return next(d for d in self._dimensions if d is not primary)

    @property
    def time_window_dimension(self) -> PartitionDimensionDefinition | None:
        """The time dimension, when exactly one dimension is time-based."""
        primary = self.primary_dimension
        if isinstance(primary.partitions_def, TimeWindowPartitionsDefinition):
            return primary
        return None

    def get_partitions_def_for_dimension(self, dimension_name: str) -> PartitionsDefinition:
        for dimension in self._dimensions:
            if dimension.name == dimension_name:
                return dimension.partitions_def
        raise InvalidInvocationError(
            f"{self.describe()} has no dimension {dimension_name!r}: its dimensions are "
            f"{', '.join(repr(n) for n in self._names)}.{did_you_mean(dimension_name, self._names)}"
        )

    def get_partition_key_from_str(self, partition_key_str: str) -> MultiPartitionKey:
        """The :class:`MultiPartitionKey` a string such as ``"2024-01-01|eu"`` spells."""
        parts = self._split(partition_key_str)
        if parts is None:
            raise PartitionKeyError(
                f"{partition_key_str!r} is not a key of {self.describe()}: write "
                f"{self._shape_hint(None, None)}."
            )
        return MultiPartitionKey._make(self._names, parts)

    def _split(self, partition_key: object) -> list[str] | None:
        if isinstance(partition_key, MultiPartitionKey):
            by_dimension = partition_key._keys_by_dimension
            if tuple(by_dimension) != self._names:
                return None
            return list(by_dimension.values())
        if not isinstance(partition_key, str):
            return None
        parts = partition_key.split(MULTIPARTITION_KEY_DELIMITER)
        return parts if len(parts) == len(self._names) else None

    def _shape_hint(
        self,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsReader | None,
    ) -> str:
        order = MULTIPARTITION_KEY_DELIMITER.join(self._names)
        examples = []
        for dimension in self._dimensions:
            try:
                example = dimension.partitions_def.get_first_partition_key(
                    current_time, dynamic_partitions_store
                )
            except KnollError:
                example = None
            examples.append(example or f"<{dimension.name}>")
        example_key = MULTIPARTITION_KEY_DELIMITER.join(examples)
        return (
            f"one key per dimension joined with '|' in the order {order}, for example "
            f"{example_key!r}"
        )

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[MultiPartitionKey]:
        per_dimension = [
            d.partitions_def.get_partition_keys(current_time, dynamic_partitions_store)
            for d in self._dimensions
        ]
        make, names = MultiPartitionKey._make, self._names
        return [make(names, combination) for combination in itertools.product(*per_dimension)]

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> int:
        count = 1
        for dimension in self._dimensions:
            count *= dimension.partitions_def.get_num_partitions(
                current_time, dynamic_partitions_store
            )
        return count

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> bool:
        parts = self._split(partition_key)
        if parts is None:
            return False
        return all(
            d.partitions_def.has_partition_key(part, current_time, dynamic_partitions_store)
            for d, part in zip(self._dimensions, parts, strict=True)
        )

    def get_multipartition_keys_with_dimension_value(
        self,
        dimension_name: str,
        dimension_partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> list[MultiPartitionKey]:
        """The keys whose ``dimension_name`` key is ``dimension_partition_key``."""
        self.get_partitions_def_for_dimension(dimension_name)
        per_dimension: list[Sequence[str]] = [
            [dimension_partition_key]
            if d.name == dimension_name
            else d.partitions_def.get_partition_keys(current_time, dynamic_partitions_store)
            for d in self._dimensions
        ]
        make, names = MultiPartitionKey._make, self._names
        return [make(names, combination) for combination in itertools.product(*per_dimension)]

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window of the time dimension's key within ``partition_key``."""
        dimension = self._require_time_dimension("time_window_for_partition_key")
        key = self.get_partition_key_from_str(partition_key)
        time_def = dimension.partitions_def
        assert isinstance(time_def, TimeWindowPartitionsDefinition)
        return time_def.time_window_for_partition_key(key._keys_by_dimension[dimension.name])

    def time_window_for_partition_keys(self, partition_keys: Sequence[str]) -> TimeWindow:
        """The window spanning the time dimension's keys within ``partition_keys``."""
        dimension = self._require_time_dimension("time_window_for_partition_keys")
        time_def = dimension.partitions_def
        assert isinstance(time_def, TimeWindowPartitionsDefinition)
        time_keys = [
            self.get_partition_key_from_str(key)._keys_by_dimension[dimension.name]
            for key in partition_keys
        ]
        return time_def.time_window_for_partition_keys(time_keys)

    def _require_time_dimension(self, method: str) -> PartitionDimensionDefinition:
        dimension = self.time_window_dimension
        if dimension is None:
            raise InvalidInvocationError(
                f"{method}() of {self.describe()} needs exactly one time dimension; this "
                "definition has none or two, so its keys have no single time window."
            )
        return dimension

    def _key_hint(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsReader | None,
    ) -> str:
        parts = self._split(partition_key)
        if parts is None:
            hint = self._shape_hint(current_time, dynamic_partitions_store)
            return f"keys of {self.describe()} are {hint}."
        for dimension, part in zip(self._dimensions, parts, strict=True):
            dimension_def = dimension.partitions_def
            if not dimension_def.has_partition_key(part, current_time, dynamic_partitions_store):
                why = dimension_def._key_hint(part, current_time, dynamic_partitions_store)
                return f"its dimension {dimension.name!r} has no key {part!r}: {why}"
        return f"{self.describe()} do not hold it."  # pragma: no cover - has_partition_key agreed

    def describe(self) -> str:
        inner = "; ".join(f"{d.name}: {d.partitions_def.describe()}" for d in self._dimensions)
        return f"multi partitions ({inner})"

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "type": "MultiPartitionsDefinition",
            "dimensions": {d.name: d.partitions_def.to_snapshot() for d in self._dimensions},
        }

    def _identity(self) -> tuple[Any, ...]:
        return ("multi", tuple((d.name, d.partitions_def._identity()) for d in self._dimensions))

    def __repr__(self) -> str:
        inner = ", ".join(f"{d.name!r}: {d.partitions_def!r}" for d in self._dimensions)
        return f"MultiPartitionsDefinition({{{inner}}})"


def _check_dimension(name: str, dimension_def: object) -> None:
    if isinstance(dimension_def, MultiPartitionsDefinition):
        raise DefinitionError(
            f"dimension {name!r} of MultiPartitionsDefinition is itself multi-dimensional: "
            "use exactly two plain dimensions."
        )
    if not isinstance(dimension_def, PartitionsDefinition):
        raise DefinitionError(
            f"dimension {name!r} of MultiPartitionsDefinition must be a partitions definition "
            f"such as StaticPartitionsDefinition(['eu', 'us']), got "
            f"{type(dimension_def).__name__} {dimension_def!r}."
        )
    if isinstance(dimension_def, StaticPartitionsDefinition):
        for key in dimension_def.partition_keys:
            if MULTIPARTITION_KEY_DELIMITER in key:
                raise DefinitionError(
                    f"key {key!r} of dimension {name!r} of MultiPartitionsDefinition contains "
                    "'|', which separates dimension keys in multi-partition keys: rename it."
                )
