"""Metadata values attached to assets, materializations, observations and check results.

Users write plain values (``{"rows": 12, "preview": MetadataValue.md(table)}``); plain values
are coerced to typed values so that every record has one JSON form and the UI knows how to
show it.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeAlias

from knoll._serdes import RAW, serializable
from knoll.defs.keys import AssetKey
from knoll.errors import DefinitionError


class MetadataValue:
    """Base of typed metadata values; the static methods build them."""

    @property
    def value(self) -> Any:
        raise NotImplementedError

    @staticmethod
    def text(text: str) -> TextMetadataValue:
        return TextMetadataValue(_require("text", text, (str,), "pass a str, e.g. str(value)"))

    @staticmethod
    def url(url: str) -> UrlMetadataValue:
        return UrlMetadataValue(_require("url", url, (str,), "pass the URL as a str"))

    @staticmethod
    def path(path: str | os.PathLike[str]) -> PathMetadataValue:
        _require("path", path, (str, os.PathLike), "pass a str or a pathlib.Path")
        return PathMetadataValue(os.fspath(path))

    @staticmethod
    def json(data: Any) -> JsonMetadataValue:
        _require("json", data, (Mapping, Sequence, type(None)), "pass a dict or a list")
        return JsonMetadataValue(_check_json(data))

    @staticmethod
    def md(md_str: str) -> MarkdownMetadataValue:
        return MarkdownMetadataValue(_require("md", md_str, (str,), "pass the Markdown as a str"))

    @staticmethod
    def int(value: int) -> IntMetadataValue:
        # a bool is an int in Python, and Dagster takes one here too
        _require("int", value, (builtins.int,), "round it first, e.g. int(value)")
        return IntMetadataValue(value)

    @staticmethod
    def float(value: float) -> FloatMetadataValue:
        _require("float", value, (builtins.float,), "convert it first, e.g. float(value)")
        return FloatMetadataValue(value)

    @staticmethod
    def bool(value: bool) -> BoolMetadataValue:
        _require("bool", value, (builtins.bool,), "convert it first, e.g. bool(value)")
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
        fix = "pass seconds since the epoch as a float, e.g. float(value), or a datetime"
        _require("timestamp", value, (builtins.float,), fix)
        return TimestampMetadataValue(value)

    @staticmethod
    def table(
        records: Sequence[TableRecord], schema: TableSchema | None = None
    ) -> TableMetadataValue:
        return TableMetadataValue(tuple(records), schema)

    @staticmethod
    def table_schema(schema: TableSchema) -> TableSchemaMetadataValue:
        fix = "build one with TableSchema(columns=[...])"
        _require("table_schema", schema, (TableSchema,), fix)
        return TableSchemaMetadataValue(schema)

    @staticmethod
    def column_lineage(lineage: TableColumnLineage) -> TableColumnLineageMetadataValue:
        return TableColumnLineageMetadataValue(lineage)

    @staticmethod
    def asset(asset_key: AssetKey) -> AssetMetadataValue:
        return AssetMetadataValue(asset_key)

    @staticmethod
    def null() -> NullMetadataValue:
        return NullMetadataValue()


_NOT_FINITE_IN_JSON = (
    "holds NaN or infinity, which JSON cannot hold. Use None for a missing number, or record "
    "the number on its own (MetadataValue.float keeps NaN and infinities)"
)


def _require(constructor: str, value: Any, types: tuple[type, ...], fix: str) -> Any:
    """``value`` if it is one of ``types`` (as Dagster checks it); else an error with the fix.

    A bool is refused where only a float (or a str) is expected, as Dagster refuses it: it is
    an int in Python, but rarely what was meant. None is refused too; use MetadataValue.null().
    """
    refused = isinstance(value, builtins.bool) and builtins.bool not in types
    if isinstance(value, types) and not (refused and builtins.int not in types):
        return value
    raise DefinitionError(
        f"MetadataValue.{constructor}() got {value!r:.60} of type {type(value).__name__}; {fix}"
        + (", or MetadataValue.null() for no value." if value is None else ".")
    )


def _check_json(data: Any) -> Any:
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        raise DefinitionError(f"MetadataValue.json: the data {_NOT_FINITE_IN_JSON}.") from None
    except TypeError as exc:
        raise DefinitionError(
            f"MetadataValue.json needs JSON data (dicts, lists, strings, numbers): {exc}"
        ) from None
    return data


MAX_METADATA_VALUE_BYTES = 64 * 1024
"""The most bytes (UTF-8) that one text, markdown, URL, path or JSON metadata value keeps."""


def cut_utf8(text: str, limit: builtins.int) -> tuple[str, builtins.int] | None:
    """``(the start of text that fits in limit bytes of UTF-8, its whole size)``, or None
    when all of it fits. Cuts between characters, never inside one."""
    if len(text) * 4 <= limit:  # a character is at most 4 bytes: no need to encode
        return None
    data = text.encode("utf-8", "surrogatepass")  # paths may hold undecodable bytes
    if len(data) <= limit:
        return None
    end = limit
    while end > 0 and data[end] & 0xC0 == 0x80:  # a continuation byte: inside a character
        end -= 1
    return data[:end].decode("utf-8", "surrogatepass"), len(data)


@dataclass(frozen=True)
class _BoundedText(MetadataValue):
    """A metadata value holding text, kept to ``MAX_METADATA_VALUE_BYTES``.

    Longer text is cut on construction; ``original_size`` then says how many bytes it had.
    """

    original_size: builtins.int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.original_size is not None:
            return  # already cut (read back from storage)
        name = next(f.name for f in dataclasses.fields(self) if f.name != "original_size")
        cut = cut_utf8(getattr(self, name), MAX_METADATA_VALUE_BYTES)
        if cut is not None:
            object.__setattr__(self, name, cut[0])
            object.__setattr__(self, "original_size", cut[1])

    @property
    def truncated(self) -> builtins.bool:
        """True when the text was longer than the limit and only its start is kept."""
        return self.original_size is not None


@serializable()
@dataclass(frozen=True)
class TextMetadataValue(_BoundedText):
    text_value: str

    @property
    def value(self) -> str:
        return self.text_value


@serializable()
@dataclass(frozen=True)
class UrlMetadataValue(_BoundedText):
    url_value: str

    @property
    def value(self) -> str:
        return self.url_value


@serializable()
@dataclass(frozen=True)
class PathMetadataValue(_BoundedText):
    path_value: str

    @property
    def value(self) -> str:
        return self.path_value


@serializable()
@dataclass(frozen=True)
class JsonMetadataValue(MetadataValue):
    """JSON data. Data whose JSON text is over the limit is kept as the start of that text
    (a JSON string), and ``original_size`` says how many bytes it had."""

    data: Any = field(metadata=RAW)
    original_size: builtins.int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.original_size is not None or not isinstance(self.data, (dict, list, str)):
            return  # already cut, or a number, a bool or null: small
        try:
            text = json.dumps(self.data, ensure_ascii=False)
        except (TypeError, ValueError):
            return  # not JSON data: MetadataValue.json and storage refuse it with a message
        cut = cut_utf8(text, MAX_METADATA_VALUE_BYTES)
        if cut is not None:
            object.__setattr__(self, "data", cut[0])
            object.__setattr__(self, "original_size", cut[1])

    @property
    def truncated(self) -> builtins.bool:
        """True when the data was over the limit and only the start of its JSON text is kept."""
        return self.original_size is not None

    @property
    def value(self) -> Any:
        return self.data


@serializable()
@dataclass(frozen=True)
class MarkdownMetadataValue(_BoundedText):
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


_NOT_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


@serializable()
@dataclass(frozen=True)
class FloatMetadataValue(MetadataValue):
    """A float. NaN and infinities are kept and read back as they were: JSON has no such
    numbers, so they are held (and stored) as the strings ``NaN``, ``Infinity`` and
    ``-Infinity``, and ``value`` turns them back into floats."""

    float_value: float | str | None

    def __post_init__(self) -> None:
        number = self.float_value
        if isinstance(number, builtins.float) and not math.isfinite(number):
            name = "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
            object.__setattr__(self, "float_value", name)
        elif isinstance(number, str) and number not in _NOT_FINITE:
            raise DefinitionError(
                f"FloatMetadataValue({number!r}) takes a float; of strings only 'NaN', "
                "'Infinity' and '-Infinity' stand for one. Pass float(value)."
            )

    @property
    def value(self) -> float | None:
        number = self.float_value
        return _NOT_FINITE[number] if isinstance(number, str) else number


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

    def __post_init__(self) -> None:
        if not math.isfinite(self.timestamp_value):
            raise DefinitionError(
                f"MetadataValue.timestamp({self.timestamp_value}) is not a time: a timestamp "
                "is a finite number of seconds since the epoch. Use MetadataValue.float for "
                "other numbers."
            )

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


COLUMN_LINEAGE_METADATA_KEY = "knoll/column_lineage"
"""The metadata key under which an asset records where its columns come from."""


@serializable()
@dataclass(frozen=True)
class TableColumnDep:
    """One column of an upstream asset that a column depends on."""

    asset_key: AssetKey
    column_name: str

    def __init__(self, asset_key: AssetKey | str | Sequence[str], column_name: str) -> None:
        object.__setattr__(self, "asset_key", AssetKey.from_coercible(asset_key))
        given: object = column_name  # checked: it comes from user code or from JSON
        if not isinstance(given, str) or not given:
            raise DefinitionError(
                f"TableColumnDep({self.asset_key.to_user_string()!r}, {column_name!r}): give "
                "the upstream column's name as a non-empty string."
            )
        object.__setattr__(self, "column_name", column_name)

    def __str__(self) -> str:
        return f"{self.asset_key.to_user_string()}.{self.column_name}"


@serializable()
@dataclass(frozen=True)
class TableColumnLineage:
    """Which upstream columns each column of a table is computed from."""

    deps_by_column: Mapping[str, tuple[TableColumnDep, ...]]

    def __init__(self, deps_by_column: Mapping[str, Sequence[TableColumnDep]]) -> None:
        if not isinstance(deps_by_column, Mapping):
            raise DefinitionError(
                f"TableColumnLineage({deps_by_column!r}): give a dict from each column name to "
                "a list of TableColumnDep."
            )
        out: dict[str, tuple[TableColumnDep, ...]] = {}
        for column, deps in deps_by_column.items():
            out[column] = _column_deps(column, deps)
        object.__setattr__(self, "deps_by_column", out)

    def __str__(self) -> str:
        return "; ".join(
            f"{column} <- {', '.join(map(str, deps)) or '(none)'}"
            for column, deps in self.deps_by_column.items()
        )


def _column_deps(column: object, deps: object) -> tuple[TableColumnDep, ...]:
    if not isinstance(column, str) or isinstance(deps, (str, TableColumnDep)):
        raise DefinitionError(
            f"TableColumnLineage column {column!r}: map a column name (str) to a list of "
            "TableColumnDep, such as [TableColumnDep('orders', 'amount')]."
        )
    items = list(deps) if isinstance(deps, Sequence) else None
    if items is None or not all(isinstance(d, TableColumnDep) for d in items):
        raise DefinitionError(
            f"TableColumnLineage column {column!r}: its dependencies must be a list of "
            f"TableColumnDep, got {deps!r}."
        )
    seen: set[tuple[AssetKey, str]] = set()
    for dep in items:
        pair = (dep.asset_key, dep.column_name)
        if pair in seen:
            raise DefinitionError(
                f"TableColumnLineage column {column!r} lists {dep} twice; list each upstream "
                "column once."
            )
        seen.add(pair)
    return tuple(sorted(items, key=lambda d: (d.asset_key.path, d.column_name)))


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
            if isinstance(value, float) and not math.isfinite(value):
                raise DefinitionError(
                    f"TableRecord column {key!r} is {value}, which a table cannot hold (JSON "
                    "has no NaN or infinity). Use None for a missing value."
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


@serializable()
@dataclass(frozen=True)
class TableColumnLineageMetadataValue(MetadataValue):
    lineage: TableColumnLineage

    @property
    def value(self) -> TableColumnLineage:
        return self.lineage


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
    if isinstance(value, TableColumnLineage):
        return TableColumnLineageMetadataValue(value)
    if isinstance(value, (dict, list, tuple)) and _is_json(value, key, owner):
        return JsonMetadataValue(list(value) if isinstance(value, tuple) else value)
    raise DefinitionError(
        f"metadata entry {key!r} of {owner} has a {type(value).__name__} value that knoll cannot "
        "record. Use a str, int, float, bool, dict or list of JSON data, or a MetadataValue "
        "(for example MetadataValue.text(str(value)))."
    )


def _is_json(value: object, key: str, owner: str) -> bool:
    """Whether ``value`` is JSON data; a NaN or infinity in it is an error."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        raise DefinitionError(f"metadata entry {key!r} of {owner} {_NOT_FINITE_IN_JSON}.") from None
    except TypeError:
        return False
    return True


def truncation_messages(metadata: Mapping[str, MetadataValue], owner: str) -> list[str]:
    """One warning per value of ``metadata`` that was cut to ``MAX_METADATA_VALUE_BYTES``."""
    limit = MAX_METADATA_VALUE_BYTES
    return [
        f"metadata {key!r} of {owner} has {value.original_size} bytes, over the limit of "
        f"{limit} bytes per value: only its first {limit} bytes were kept. Keep large data in "
        "the asset itself and point to it with MetadataValue.path or MetadataValue.url"
        for key, value in metadata.items()
        if isinstance(value, (_BoundedText, JsonMetadataValue)) and value.truncated
    ]


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
