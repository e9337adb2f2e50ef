"""Partition mappings: which partitions of an upstream asset each downstream partition reads.

A mapping answers in both directions: the upstream keys a set of downstream keys reads
(to load inputs and check that they exist) and the downstream keys a set of upstream keys
feeds (to know what a new upstream partition makes stale).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll._utils import did_you_mean
from knoll.defs.partitions.base import PartitionsDefinition, sample_keys
from knoll.defs.partitions.multi import MultiPartitionsDefinition
from knoll.defs.partitions.static import StaticPartitionsDefinition
from knoll.errors import DefinitionError, InvalidInvocationError, PartitionKeyError

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader


class PartitionMapping(ABC):
    """Says which upstream partitions each partition of a downstream asset depends on.

    Mappings compare by value: two mappings with the same snapshot are equal.
    """

    __slots__ = ()

    @abstractmethod
    def get_upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        """The upstream keys that ``downstream_keys`` read, in upstream order where it has one.

        ``downstream_keys`` and ``downstream_def`` are None when the downstream asset is not
        partitioned. Raises PartitionKeyError when a needed upstream partition does not exist.
        """

    @abstractmethod
    def get_downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        """The existing downstream keys that read any of ``upstream_keys``."""

    def validate(
        self,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        owner: str,
    ) -> None:
        """Raise DefinitionError, naming ``owner``, if this mapping cannot join the two."""
        return None

    @abstractmethod
    def to_snapshot(self) -> dict[str, Any]:
        """Plain JSON data that :func:`partition_mapping_from_snapshot` reads back."""

    def _identity(self) -> object:
        return json.dumps(self.to_snapshot(), sort_keys=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartitionMapping):
            return NotImplemented
        return type(self) is type(other) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __repr__(self) -> str:
        fields = {k: v for k, v in self.to_snapshot().items() if k != "type"}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in fields.items())})"

    def _needs_downstream(
        self, downstream_def: PartitionsDefinition | None, owner: str, alternative: str
    ) -> PartitionsDefinition:
        if downstream_def is None:
            raise DefinitionError(
                f"{owner} is not partitioned, so {self!r} has no downstream partitions to map "
                f"from: use {alternative}, or partition {owner}."
            )
        return downstream_def


def _unique(keys: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(keys))


def missing_upstream(
    mapping: PartitionMapping,
    missing: Sequence[str],
    upstream: str,
    fix: str = "map only to keys the upstream definition holds",
) -> None:
    """Raise PartitionKeyError if a mapping read upstream keys that do not exist."""
    if missing:
        raise PartitionKeyError(
            f"{mapping!r} reads upstream partitions {sample_keys(missing)}, which "
            f"{upstream} do not hold (yet): {fix}."
        )


class IdentityPartitionMapping(PartitionMapping):
    """Each downstream partition reads the upstream partition with the same key."""

    __slots__ = ()

    def get_upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        if downstream_keys is None:
            raise InvalidInvocationError(
                "IdentityPartitionMapping() needs downstream partition keys; an unpartitioned "
                "asset reads its partitioned upstream through AllPartitionMapping()."
            )
        keys = _unique(downstream_keys)
        missing = [
            k
            for k in keys
            if not upstream_def.has_partition_key(k, current_time, dynamic_partitions_store)
        ]
        missing_upstream(self, missing, upstream_def.describe())
        return keys

    def get_downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        return [
            k
            for k in _unique(upstream_keys)
            if downstream_def.has_partition_key(k, current_time, dynamic_partitions_store)
        ]

    def validate(
        self,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        owner: str,
    ) -> None:
        self._needs_downstream(
            downstream_def, owner, "AllPartitionMapping() or LastPartitionMapping()"
        )

    def to_snapshot(self) -> dict[str, Any]:
        return {"type": "IdentityPartitionMapping"}


class AllPartitionMapping(PartitionMapping):
    """Every downstream partition (or the unpartitioned downstream) reads every upstream
    partition."""

    __slots__ = ()

    def get_upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        if downstream_keys is not None and not downstream_keys:
            return []
        return upstream_def.get_partition_keys(current_time, dynamic_partitions_store)

    def get_downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        if not upstream_keys:
            return []
        return downstream_def.get_partition_keys(current_time, dynamic_partitions_store)

    def to_snapshot(self) -> dict[str, Any]:
        return {"type": "AllPartitionMapping"}


class LastPartitionMapping(PartitionMapping):
    """Every downstream partition (or the unpartitioned downstream) reads the latest upstream
    partition."""

    __slots__ = ()

    def get_upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        if downstream_keys is not None and not downstream_keys:
            return []
        last = upstream_def.get_last_partition_key(current_time, dynamic_partitions_store)
        return [] if last is None else [last]

    def get_downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        last = upstream_def.get_last_partition_key(current_time, dynamic_partitions_store)
        if last is None or last not in upstream_keys:
            return []
        return downstream_def.get_partition_keys(current_time, dynamic_partitions_store)

    def to_snapshot(self) -> dict[str, Any]:
        return {"type": "LastPartitionMapping"}


def describe_or_unpartitioned(partitions_def: PartitionsDefinition | None) -> str:
    """``describe()`` of a definition, or "no partitions" for an unpartitioned asset."""
    return "no partitions" if partitions_def is None else partitions_def.describe()


class StaticPartitionMapping(PartitionMapping):
    """Maps keys by a table from upstream key to the downstream key (or keys) it feeds.

    ``StaticPartitionMapping({"eu-west": "eu", "eu-north": "eu", "us-east": "us"})`` makes
    downstream partition ``eu`` read upstream partitions ``eu-west`` and ``eu-north``.
    """

    __slots__ = ("_inverse", "_table")

    def __init__(
        self,
        downstream_partition_keys_by_upstream_partition_key: Mapping[str, str | Collection[str]],
    ) -> None:
        table: object = downstream_partition_keys_by_upstream_partition_key
        if not isinstance(table, Mapping):
            raise DefinitionError(
                "StaticPartitionMapping needs a dict from upstream key to downstream key(s), "
                f"got {type(table).__name__}; for example StaticPartitionMapping({{'eu-west': "
                "'eu'}})."
            )
        normalized: dict[str, tuple[str, ...]] = {}
        for upstream_key, downstream in table.items():
            values = (downstream,) if isinstance(downstream, str | bytes) else downstream
            if (
                not isinstance(upstream_key, str)
                or not isinstance(values, Collection)
                or not all(isinstance(v, str) for v in values)
            ):
                raise DefinitionError(
                    f"StaticPartitionMapping entry {upstream_key!r}: {downstream!r} must map a "
                    "string upstream key to a string downstream key or a collection of them."
                )
            normalized[upstream_key] = tuple(dict.fromkeys(str(v) for v in values))
        self._table = normalized
        self._inverse: dict[str, list[str]] = {}
        for upstream_key, downstream_keys in normalized.items():
            for downstream_key in downstream_keys:
                self._inverse.setdefault(downstream_key, []).append(upstream_key)

    @property
    def downstream_partition_keys_by_upstream_partition_key(
        self,
    ) -> Mapping[str, Sequence[str]]:
        return dict(self._table)

    def get_upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        if downstream_keys is None:
            raise InvalidInvocationError(f"{self!r} needs downstream partition keys.")
        keys = _unique(k for d in downstream_keys for k in self._inverse.get(d, ()))
        missing = [
            k
            for k in keys
            if not upstream_def.has_partition_key(k, current_time, dynamic_partitions_store)
        ]
        missing_upstream(self, missing, upstream_def.describe())
        return keys

    def get_downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        keys = _unique(d for u in upstream_keys for d in self._table.get(u, ()))
        return [
            k
            for k in keys
            if downstream_def.has_partition_key(k, current_time, dynamic_partitions_store)
        ]

    def validate(
        self,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        owner: str,
    ) -> None:
        downstream_def = self._needs_downstream(
            downstream_def, owner, "AllPartitionMapping() or LastPartitionMapping()"
        )
        sides = (
            ("upstream", upstream_def, list(self._table)),
            ("downstream", downstream_def, list(self._inverse)),
        )
        for side, side_def, keys in sides:
            if not isinstance(side_def, StaticPartitionsDefinition):
                continue
            unknown = [k for k in keys if not side_def.has_partition_key(k)]
            if unknown:
                raise DefinitionError(
                    f"{owner} uses a StaticPartitionMapping with {side} keys "
                    f"{sample_keys(unknown)} that {side_def.describe()} do not hold."
                    f"{did_you_mean(unknown[0], side_def.partition_keys)} Fix the mapping's "
                    f"{side} keys."
                )

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "type": "StaticPartitionMapping",
            "downstream_partition_keys_by_upstream_partition_key": {
                u: list(d) for u, d in self._table.items()
            },
        }

    def _identity(self) -> object:
        return frozenset((u, frozenset(d)) for u, d in self._table.items())

    def __repr__(self) -> str:
        shown = {u: d[0] if len(d) == 1 else list(d) for u, d in self._table.items()}
        return f"StaticPartitionMapping({shown!r})"


class MultiToSingleDimensionPartitionMapping(PartitionMapping):
    """Joins a multi-partitioned asset and a single-dimension one through one dimension.

    A ``date|region`` partition reads (or feeds) the ``date`` partition with the same key.
    ``partition_dimension_name`` picks the dimension; when None, it is the dimension whose
    definition equals the other asset's.
    """

    __slots__ = ("_dimension_name",)

    def __init__(self, partition_dimension_name: str | None = None) -> None:
        if partition_dimension_name is not None and not isinstance(partition_dimension_name, str):
            raise DefinitionError(
                "partition_dimension_name of MultiToSingleDimensionPartitionMapping must be a "
                f"dimension name or None, got {partition_dimension_name!r}."
            )
        self._dimension_name = partition_dimension_name

    @property
    def partition_dimension_name(self) -> str | None:
        return self._dimension_name

    def _resolve(
        self,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        owner: str | None,
    ) -> tuple[MultiPartitionsDefinition, PartitionsDefinition, str, bool]:
        """The multi definition, the single one, the dimension, and whether multi is
        downstream."""
        error = DefinitionError if owner is not None else InvalidInvocationError
        where = f"{owner} uses {self!r}" if owner is not None else f"{self!r} is used"
        down_multi = isinstance(downstream_def, MultiPartitionsDefinition)
        up_multi = isinstance(upstream_def, MultiPartitionsDefinition)
        if downstream_def is None or down_multi == up_multi:
            raise error(
                f"{where}, which needs one multi-partitioned side and one single-dimension "
                f"side, but the downstream has {describe_or_unpartitioned(downstream_def)} and "
                f"the upstream has {upstream_def.describe()}."
            )
        multi, single = (
            (downstream_def, upstream_def) if down_multi else (upstream_def, downstream_def)
        )
        assert isinstance(multi, MultiPartitionsDefinition)
        names = multi.partition_dimension_names
        name = self.partition_dimension_name
        if name is None:
            matching = [d.name for d in multi.partitions_defs if d.partitions_def == single]
            if len(matching) != 1:
                raise error(
                    f"{where} without partition_dimension_name, but "
                    f"{'no dimension' if not matching else 'several dimensions'} of "
                    f"{multi.describe()} equal {single.describe()}: pass "
                    f"partition_dimension_name, one of {', '.join(repr(n) for n in names)}."
                )
            name = matching[0]
        elif name not in names:
            raise error(
                f"{where}, but {multi.describe()} has no dimension {name!r}: use one of "
                f"{', '.join(repr(n) for n in names)}.{did_you_mean(name, names)}"
            )
        return multi, single, name, down_multi

    def get_upstream_partition_keys(
        self,
        downstream_keys: Sequence[str] | None,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        multi, single, name, down_multi = self._resolve(downstream_def, upstream_def, None)
        if downstream_keys is None:
            raise InvalidInvocationError(f"{self!r} needs downstream partition keys.")
        dimension_def = multi.get_partitions_def_for_dimension(name)
        if down_multi:
            keys = _unique(
                multi.get_partition_key_from_str(k).keys_by_dimension[name] for k in downstream_keys
            )
            check_def = single
        else:
            keys = _unique(downstream_keys)
            check_def = dimension_def
        missing = [
            k
            for k in keys
            if not check_def.has_partition_key(k, current_time, dynamic_partitions_store)
        ]
        missing_upstream(self, missing, check_def.describe())
        if down_multi:
            return keys
        return _unique(
            multi_key
            for k in keys
            for multi_key in multi.get_multipartition_keys_with_dimension_value(
                name, k, current_time, dynamic_partitions_store
            )
        )

    def get_downstream_partition_keys(
        self,
        upstream_keys: Sequence[str],
        upstream_def: PartitionsDefinition,
        downstream_def: PartitionsDefinition,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        multi, single, name, down_multi = self._resolve(downstream_def, upstream_def, None)
        if not down_multi:
            keys = _unique(
                multi.get_partition_key_from_str(k).keys_by_dimension[name] for k in upstream_keys
            )
            return [
                k
                for k in keys
                if single.has_partition_key(k, current_time, dynamic_partitions_store)
            ]
        dimension_def = multi.get_partitions_def_for_dimension(name)
        return _unique(
            multi_key
            for k in _unique(upstream_keys)
            if dimension_def.has_partition_key(k, current_time, dynamic_partitions_store)
            for multi_key in multi.get_multipartition_keys_with_dimension_value(
                name, k, current_time, dynamic_partitions_store
            )
        )

    def validate(
        self,
        downstream_def: PartitionsDefinition | None,
        upstream_def: PartitionsDefinition,
        owner: str,
    ) -> None:
        self._resolve(downstream_def, upstream_def, owner)

    def to_snapshot(self) -> dict[str, Any]:
        return {
            "type": "MultiToSingleDimensionPartitionMapping",
            "partition_dimension_name": self.partition_dimension_name,
        }
