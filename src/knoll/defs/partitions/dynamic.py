"""Partitions whose keys are added and removed while the deployment runs (new customers,
uploaded files...). The keys live in a :class:`DynamicPartitionsStore`, not in the definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from knoll._serdes import serializable
from knoll._utils import check_name, did_you_mean
from knoll.defs.partitions.base import (
    PartitionKeyRange,
    PartitionsDefinition,
    check_partition_key_text,
    check_range_order,
    missing_range_end,
    sample_keys,
)
from knoll.errors import InvalidInvocationError


@runtime_checkable
class DynamicPartitionsReader(Protocol):
    """Where the keys of dynamic partitions are read, by definition name: all that listing and
    checking keys needs (a run recorder offers this much)."""

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        """The keys added under ``partitions_def_name``, oldest first."""

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool: ...


@runtime_checkable
class DynamicPartitionsStore(DynamicPartitionsReader, Protocol):
    """Where the keys of dynamic partitions live, by definition name (the instance's storage
    in a deployment, :class:`InMemoryDynamicPartitionsStore` in tests)."""

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        """Add keys; keys already there are left where they are."""

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        """Remove a key; removing a key that is not there does nothing."""


class InMemoryDynamicPartitionsStore:
    """A :class:`DynamicPartitionsStore` held in a dict, for tests and one-process runs."""

    def __init__(self) -> None:
        # dicts keep insertion order, which is the order keys are listed in.
        self._keys: dict[str, dict[str, None]] = {}

    def get_dynamic_partitions(self, partitions_def_name: str) -> Sequence[str]:
        return list(self._keys.get(partitions_def_name, ()))

    def has_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> bool:
        return partition_key in self._keys.get(partitions_def_name, ())

    def add_dynamic_partitions(
        self, partitions_def_name: str, partition_keys: Sequence[str]
    ) -> None:
        keys = _check_keys(partition_keys, f"dynamic partitions {partitions_def_name!r}")
        self._keys.setdefault(partitions_def_name, {}).update(dict.fromkeys(keys))

    def delete_dynamic_partition(self, partitions_def_name: str, partition_key: str) -> None:
        self._keys.get(partitions_def_name, {}).pop(partition_key, None)


def _check_keys(partition_keys: object, where: str) -> tuple[str, ...]:
    if isinstance(partition_keys, str) or not isinstance(partition_keys, Sequence):
        raise InvalidInvocationError(
            f"partition keys for {where} must be a list of strings, got "
            f"{type(partition_keys).__name__} {partition_keys!r}; for example ['customer_1']."
        )
    return tuple(
        check_partition_key_text(key, where, InvalidInvocationError) for key in partition_keys
    )


@serializable()
@dataclass(frozen=True, slots=True)
class AddDynamicPartitionsRequest:
    """Asks for keys to be added to dynamic partitions (sensors return it)."""

    partitions_def_name: str
    partition_keys: tuple[str, ...]

    def __init__(self, partitions_def_name: str, partition_keys: Sequence[str]) -> None:
        where = f"AddDynamicPartitionsRequest for {partitions_def_name!r}"
        object.__setattr__(self, "partitions_def_name", partitions_def_name)
        object.__setattr__(self, "partition_keys", _check_keys(partition_keys, where))


@serializable()
@dataclass(frozen=True, slots=True)
class DeleteDynamicPartitionsRequest:
    """Asks for keys to be removed from dynamic partitions (sensors return it)."""

    partitions_def_name: str
    partition_keys: tuple[str, ...]

    def __init__(self, partitions_def_name: str, partition_keys: Sequence[str]) -> None:
        where = f"DeleteDynamicPartitionsRequest for {partitions_def_name!r}"
        object.__setattr__(self, "partitions_def_name", partitions_def_name)
        object.__setattr__(self, "partition_keys", _check_keys(partition_keys, where))


class DynamicPartitionsDefinition(PartitionsDefinition):
    """Partitions whose keys are added at run time under ``name``.

    Methods that list or check keys need ``dynamic_partitions_store=`` (the instance, in a
    deployment). Sensors add keys by returning ``build_add_request(keys)``.
    """

    def __init__(self, name: str) -> None:
        self._name = check_name(name, "DynamicPartitionsDefinition")

    @property
    def name(self) -> str:
        return self._name

    def build_add_request(self, partition_keys: Sequence[str]) -> AddDynamicPartitionsRequest:
        """A request, for a sensor to return, that adds ``partition_keys``."""
        return AddDynamicPartitionsRequest(self._name, partition_keys)

    def build_delete_request(self, partition_keys: Sequence[str]) -> DeleteDynamicPartitionsRequest:
        """A request, for a sensor to return, that removes ``partition_keys``."""
        return DeleteDynamicPartitionsRequest(self._name, partition_keys)

    def _store(
        self, dynamic_partitions_store: DynamicPartitionsReader | None, method: str
    ) -> DynamicPartitionsReader:
        if dynamic_partitions_store is None:
            raise InvalidInvocationError(
                f"{method}() of dynamic partitions {self._name!r} needs "
                "dynamic_partitions_store=..., because their keys live in the instance: pass "
                "context.instance (or an InMemoryDynamicPartitionsStore in tests)."
            )
        return dynamic_partitions_store

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        store = self._store(dynamic_partitions_store, "get_partition_keys")
        return list(store.get_dynamic_partitions(self._name))

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> bool:
        store = self._store(dynamic_partitions_store, "has_partition_key")
        return store.has_dynamic_partition(self._name, partition_key)

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        store = self._store(dynamic_partitions_store, "get_partition_keys_in_range")
        keys = list(store.get_dynamic_partitions(self._name))
        positions = {key: i for i, key in enumerate(keys)}
        start = positions.get(partition_key_range.start)
        if start is None:
            raise missing_range_end(self, partition_key_range, "start")
        end = positions.get(partition_key_range.end)
        if end is None:
            raise missing_range_end(self, partition_key_range, "end")
        check_range_order(self, partition_key_range, start, end)
        return keys[start : end + 1]

    def _key_hint(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsReader | None,
    ) -> str:
        keys = self.get_partition_keys(current_time, dynamic_partitions_store)
        held = f"they hold {sample_keys(keys)}" if keys else "they hold no keys yet"
        return (
            f"{self.describe()} do not hold it ({held}).{did_you_mean(partition_key, keys)} "
            f"Add it first, for example by returning "
            f"DynamicPartitionsDefinition(name={self._name!r}).build_add_request("
            f"[{partition_key!r}]) from a sensor."
        )

    def describe(self) -> str:
        return f"dynamic partitions {self._name!r}"

    def to_snapshot(self) -> dict[str, Any]:
        return {"type": "DynamicPartitionsDefinition", "name": self._name}

    def _identity(self) -> tuple[Any, ...]:
        return ("dynamic", self._name)

    def __repr__(self) -> str:
        return f"DynamicPartitionsDefinition(name={self._name!r})"
