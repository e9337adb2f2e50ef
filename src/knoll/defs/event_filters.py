"""Filters for reading the event log from sensor code: which records of an asset to fetch.

Pure declarations: the instance reads storage with them (``instance.fetch_materializations``).
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
    partitions, and only records after / before a storage id."""

    asset_key: AssetKey
    asset_partitions: tuple[str, ...] | None
    after_storage_id: int | None
    before_storage_id: int | None

    def __init__(
        self,
        asset_key: AssetKey | str | Sequence[str],
        asset_partitions: Sequence[str] | None = None,
        after_storage_id: int | None = None,
        before_storage_id: int | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "asset_key", AssetKey.from_coercible(asset_key))
        if asset_partitions is not None and (
            isinstance(asset_partitions, str)
            or not all(isinstance(p, str) for p in asset_partitions)
        ):
            raise InvalidInvocationError(
                f"AssetRecordsFilter for {self.asset_key}: asset_partitions must be a list of "
                f"partition keys, got {asset_partitions!r}; for one partition write [key]."
            )
        set_(
            self, "asset_partitions", None if asset_partitions is None else tuple(asset_partitions)
        )
        for name, value in (
            ("after_storage_id", after_storage_id),
            ("before_storage_id", before_storage_id),
        ):
            _check_id(self.asset_key, name, value)
        set_(self, "after_storage_id", after_storage_id)
        set_(self, "before_storage_id", before_storage_id)


def _check_id(key: AssetKey, name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInvocationError(
            f"AssetRecordsFilter for {key}: {name} must be a storage id (an int) or None, "
            f"got {type(value).__name__} {value!r}."
        )


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
