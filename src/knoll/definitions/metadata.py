"""Metadata values attached to assets, materializations, observations and check results.

Users write plain values (``{"rows": 12, "preview": MetadataValue.md(table)}``); plain values
are coerced to typed values so that every record has one JSON form and the UI knows how to
show it.
"""

from __future__ import annotations

import builtins
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from knoll._serdes import RAW, serializable
from knoll.definitions.keys import AssetKey
from knoll.errors import DefinitionError


class MetadataValue:
    """Base of typed metadata values; the static methods build them."""

    @property
    def value(self) -> Any:
        raise NotImplementedError

    @staticmethod
    def text(text: str) -> TextMetadataValue:
        return TextMetadataValue(text)

    @staticmethod
    def url(url: str) -> UrlMetadataValue:
        return UrlMetadataValue(url)

    @staticmethod
    def path(path: str | os.PathLike[str]) -> PathMetadataValue:
        return PathMetadataValue(os.fspath(path))

    @staticmethod
    def json(data: Any) -> JsonMetadataValue:
        return JsonMetadataValue(_check_json(data))

    @staticmethod
    def md(md_str: str) -> MarkdownMetadataValue:
        return MarkdownMetadataValue(md_str)

    @staticmethod
    def int(value: int) -> IntMetadataValue:
        return IntMetadataValue(value)

    @staticmethod
    def float(value: float) -> FloatMetadataValue:
        return FloatMetadataValue(value)

    @staticmethod
    def bool(value: bool) -> BoolMetadataValue:
        return BoolMetadataValue(value)

    @staticmethod
    def timestamp(value: builtins.float | datetime) -> TimestampMetadataValue:
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise DefinitionError(
                    f"MetadataValue.timestamp({value!r}) needs a timezone-aware datetime; "
                    "add tzinfo, for example datetime.now(timezone.utc)."
                )
            return TimestampMetadataValue(value.timestamp())
        return TimestampMetadataValue(builtins.float(value))

    @staticmethod
    def table(
        records: Sequence[TableRecord], schema: TableSchema | None = None
    ) -> TableMetadataValue:
        return TableMetadataValue(tuple(records), schema)

    @staticmethod
    def table_schema(schema: TableSchema) -> TableSchemaMetadataValue:
        return TableSchemaMetadataValue(schema)

    @staticmethod
    def asset(asset_key: AssetKey) -> AssetMetadataValue:
        return AssetMetadataValue(asset_key)

    @staticmethod
    def null() -> NullMetadataValue:
        return NullMetadataValue()


def _check_json(data: Any) -> Any:
    try:
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(
            f"MetadataValue.json needs JSON data (dicts, lists, strings, numbers): {exc}"
        ) from None
    return data


@serializable()
@dataclass(frozen=True)
class TextMetadataValue(MetadataValue):
    text_value: str

    @property
    def value(self) -> str:
        return self.text_value


@serializable()
@dataclass(frozen=True)
class UrlMetadataValue(MetadataValue):
    url_value: str

    @property
    def value(self) -> str:
        return self.url_value


@serializable()
@dataclass(frozen=True)
class PathMetadataValue(MetadataValue):
    path_value: str

    @property
    def value(self) -> str:
        return self.path_value


@serializable()
@dataclass(frozen=True)
class JsonMetadataValue(MetadataValue):
    data: Any = field(metadata=RAW)

    @property
    def value(self) -> Any:
        return self.data


@serializable()
@dataclass(frozen=True)
class MarkdownMetadataValue(MetadataValue):
    md_str: str

    @property
    def value(self) -> str:
        return self.md_str


@serializable()
@dataclass(frozen=True)
class IntMetadataValue(MetadataValue):
    int_value: int

    @property
    def value(self) -> int:
        return self.int_value


@serializable()
@dataclass(frozen=True)
class FloatMetadataValue(MetadataValue):
    float_value: float | None

    def __post_init__(self) -> None:
        # JSON has no NaN or infinity; keep them as None so records stay valid JSON.
        if self.float_value is not None and not math.isfinite(self.float_value):
            object.__setattr__(self, "float_value", None)

    @property
    def value(self) -> float | None:
        return self.float_value


@serializable()
@dataclass(frozen=True)
class BoolMetadataValue(MetadataValue):
    bool_value: bool

    @property
    def value(self) -> bool:
        return self.bool_value


@serializable()
@dataclass(frozen=True)
class TimestampMetadataValue(MetadataValue):
    """Seconds since the epoch (UTC)."""

    timestamp_value: float

    @property
    def value(self) -> float:
        return self.timestamp_value


@serializable()
@dataclass(frozen=True)
class AssetMetadataValue(MetadataValue):
    asset_key: AssetKey

    @property
    def value(self) -> AssetKey:
        return self.asset_key


@serializable()
@dataclass(frozen=True)
class NullMetadataValue(MetadataValue):
    @property
    def value(self) -> None:
        return None


@serializable()
@dataclass(frozen=True)
class TableColumnConstraints:
    nullable: bool = True
    unique: bool = False
    other: tuple[str, ...] = ()


@serializable()
@dataclass(frozen=True)
class TableColumn:
    """One column of a table schema: name, type (free text) and description."""

    name: str
    type: str = "string"
    description: str | None = None
    constraints: TableColumnConstraints = field(default_factory=TableColumnConstraints)
    tags: Mapping[str, str] = field(default_factory=dict)


@serializable()
@dataclass(frozen=True)
class TableSchema:
    columns: tuple[TableColumn, ...]
    constraints: tuple[str, ...] = ()

    def __init__(self, columns: Sequence[TableColumn], constraints: Sequence[str] = ()) -> None:
        object.__setattr__(self, "columns", tuple(columns))
        object.__setattr__(self, "constraints", tuple(constraints))


@serializable()
@dataclass(frozen=True)
class TableRecord:
    """One row of a table metadata value."""

    data: Mapping[str, Any] = field(metadata=RAW)

    def __init__(self, data: Mapping[str, Any]) -> None:
        for key, value in data.items():
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise DefinitionError(
                    f"TableRecord column {key!r} has a {type(value).__name__} value: "
                    "use str, int, float, bool or None."
                )
        object.__setattr__(self, "data", dict(data))


@serializable()
@dataclass(frozen=True)
class TableMetadataValue(MetadataValue):
    records: tuple[TableRecord, ...]
    schema: TableSchema | None = None

    @property
    def value(self) -> tuple[TableRecord, ...]:
        return self.records


@serializable()
@dataclass(frozen=True)
class TableSchemaMetadataValue(MetadataValue):
    schema: TableSchema

    @property
    def value(self) -> TableSchema:
        return self.schema


RawMetadataValue: TypeAlias = Any
MetadataMapping: TypeAlias = Mapping[str, MetadataValue]


def coerce_metadata_value(value: RawMetadataValue, key: str, owner: str) -> MetadataValue:
    """Turn a plain value into a typed metadata value."""
    if isinstance(value, MetadataValue):
        return value
    if value is None:
        return NullMetadataValue()
    if isinstance(value, bool):
        return BoolMetadataValue(value)
    if isinstance(value, int):
        return IntMetadataValue(value)
    if isinstance(value, float):
        return FloatMetadataValue(value)
    if isinstance(value, str):
        return TextMetadataValue(value)
    if isinstance(value, os.PathLike):
        return PathMetadataValue(os.fspath(value))
    if isinstance(value, datetime):
        return MetadataValue.timestamp(value)
    if isinstance(value, AssetKey):
        return AssetMetadataValue(value)
    if isinstance(value, TableSchema):
        return TableSchemaMetadataValue(value)
    if isinstance(value, (dict, list, tuple)):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            pass
        else:
            return JsonMetadataValue(list(value) if isinstance(value, tuple) else value)
    raise DefinitionError(
        f"metadata entry {key!r} of {owner} has a {type(value).__name__} value that knoll cannot "
        "record. Use a str, int, float, bool, dict or list of JSON data, or a MetadataValue "
        "(for example MetadataValue.text(str(value)))."
    )


def normalize_metadata(
    metadata: Mapping[str, RawMetadataValue] | None, owner: str
) -> dict[str, MetadataValue]:
    if not metadata:
        return {}
    if not isinstance(metadata, Mapping):
        raise DefinitionError(f"metadata of {owner} must be a dict, got {type(metadata).__name__}.")
    out: dict[str, MetadataValue] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise DefinitionError(f"metadata key {key!r} of {owner} must be a string.")
        out[key] = coerce_metadata_value(value, key, owner)
    return out
