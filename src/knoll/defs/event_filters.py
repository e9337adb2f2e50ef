"""Filters for reading the event log from sensor code: which records of an asset to fetch.

Pure declarations: the instance reads storage with them (``instance.fetch_materializations``).
Every bound is exclusive, as in Dagster: ``after_storage_id=5`` starts at storage id 6,
``before_timestamp=t`` keeps events stored strictly before ``t``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knoll.defs.keys import AssetKey
from knoll.errors import InvalidInvocationError


@dataclass(frozen=True, init=False)
class AssetRecordsFilter:
    """Which materializations (or observations) of one asset to fetch: optionally only some
    partitions, only records after / before a timestamp or a storage id (all exclusive), and
    only some storage ids."""

    asset_key: AssetKey
    asset_partitions: tuple[str, ...] | None
    after_timestamp: float | None
    before_timestamp: float | None
    after_storage_id: int | None
    before_storage_id: int | None
    storage_ids: tuple[int, ...] | None

    def __init__(
        self,
        asset_key: AssetKey | str | Sequence[str],
        asset_partitions: Sequence[str] | None = None,
        after_timestamp: float | None = None,
        before_timestamp: float | None = None,
        after_storage_id: int | None = None,
        before_storage_id: int | None = None,
        storage_ids: Sequence[int] | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "asset_key", AssetKey.from_coercible(asset_key))
        owner = f"AssetRecordsFilter for {self.asset_key}"
        if asset_partitions is not None and (
            isinstance(asset_partitions, str)
            or not all(isinstance(p, str) for p in asset_partitions)
        ):
            raise InvalidInvocationError(
                f"{owner}: asset_partitions must be a list of "
                f"partition keys, got {asset_partitions!r}; for one partition write [key]."
            )
        set_(
            self, "asset_partitions", None if asset_partitions is None else tuple(asset_partitions)
        )
        check_bounds(self, owner, after_timestamp, before_timestamp)
        check_id_bounds(self, owner, after_storage_id, before_storage_id)
        set_(self, "storage_ids", listed(owner, "storage_ids", storage_ids, int))


def check_bounds(target: object, owner: str, after: object, before: object) -> None:
    """Set ``after_timestamp`` and ``before_timestamp`` on a filter being built, or raise an
    error naming ``owner`` when one is not a number of seconds."""
    for name, stamp in (("after_timestamp", after), ("before_timestamp", before)):
        if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, (int, float))):
            raise InvalidInvocationError(
                f"{owner}: {name} must be a Unix timestamp in seconds or None, got "
                f"{type(stamp).__name__} {stamp!r}."
            )
        object.__setattr__(target, name, None if stamp is None else float(stamp))


def check_id_bounds(target: object, owner: str, after: object, before: object) -> None:
    """Set ``after_storage_id`` and ``before_storage_id`` on a filter being built, or raise
    an error naming ``owner`` when one is not an int."""
    for name, value in (("after_storage_id", after), ("before_storage_id", before)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInvocationError(
                f"{owner}: {name} must be a storage id (an int) or None, got "
                f"{type(value).__name__} {value!r}."
            )
        object.__setattr__(target, name, value)


def listed(owner: str, name: str, values: object, kind: type) -> tuple[Any, ...] | None:
    """``values`` as a tuple of ``kind``, or None; an error naming ``owner`` otherwise."""
    if values is None:
        return None
    if (
        isinstance(values, (str, bytes))
        or not isinstance(values, Sequence)
        or not all(isinstance(v, kind) and not isinstance(v, bool) for v in values)
    ):
        raise InvalidInvocationError(
            f"{owner}: {name} must be a list of {kind.__name__}s or None, got {values!r}."
        )
    return tuple(values)


def as_records_filter(value: object, where: str) -> AssetRecordsFilter:
    """An asset key or filter, as a filter; anything else is an error naming ``where``."""
    if isinstance(value, AssetRecordsFilter):
        return value
    if isinstance(value, (AssetKey, str)) or (
        isinstance(value, (list, tuple)) and all(isinstance(p, str) for p in value)
    ):
        return AssetRecordsFilter(asset_key=value)
    raise InvalidInvocationError(
        f"{where} takes an AssetKey or an AssetRecordsFilter, got {type(value).__name__} "
        f"{value!r}; for example AssetRecordsFilter(asset_key=AssetKey('orders'))."
    )
