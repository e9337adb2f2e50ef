"""The typed MetadataValue constructors refuse values of another type, as Dagster's do."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from knoll import MaterializeResult, MetadataValue, TableColumn, TableSchema
from knoll.defs.keys import AssetKey
from knoll.errors import DefinitionError


@pytest.mark.parametrize(
    ("constructor", "value", "shown"),
    [
        ("int", 12.5, "got 12.5 of type float; round it first, e.g. int(value)."),
        ("int", "12", "got '12' of type str; round it first"),
        ("float", 3, "got 3 of type int; convert it first, e.g. float(value)."),
        ("float", True, "got True of type bool; convert it first"),
        ("bool", 1, "got 1 of type int; convert it first, e.g. bool(value)."),
        ("text", 42, "got 42 of type int; pass a str, e.g. str(value)."),
        ("md", ["# a"], "got ['# a'] of type list; pass the Markdown as a str."),
        ("url", 8080, "got 8080 of type int; pass the URL as a str."),
        ("path", 7, "got 7 of type int; pass a str or a pathlib.Path."),
        ("json", 1.5, "got 1.5 of type float; pass a dict or a list."),
        ("timestamp", 1700000000, "got 1700000000 of type int; pass seconds since the epoch"),
        ("table_schema", ["id"], "got ['id'] of type list; build one with TableSchema"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(constructor: str, value: Any, shown: str) -> None:
    with pytest.raises(DefinitionError) as info:
        getattr(MetadataValue, constructor)(value)
    assert str(info.value).startswith(f"MetadataValue.{constructor}() ")
    assert shown in str(info.value)


def test_none_is_refused_with_null_as_the_fix() -> None:
    with pytest.raises(DefinitionError, match=r"or MetadataValue\.null\(\) for no value\.$"):
        MetadataValue.int(None)  # type: ignore[arg-type]


def test_values_of_the_right_type_are_kept() -> None:
    assert MetadataValue.int(True).value is True  # a bool is an int, as in Dagster
    assert MetadataValue.int(3).value == 3
    assert math.isnan(MetadataValue.float(math.nan).value or 0.0)
    assert MetadataValue.bool(False).value is False
    assert MetadataValue.text("rows").value == "rows"
    assert MetadataValue.path(Path("/data/orders.parquet")).value == "/data/orders.parquet"
    assert MetadataValue.json(["a", 1]).value == ["a", 1]
    assert MetadataValue.json(None).value is None
    when = datetime(2024, 5, 1, tzinfo=UTC)
    assert MetadataValue.timestamp(when).value == when.timestamp()
    assert MetadataValue.timestamp(1714521600.0).value == 1714521600.0
    schema = TableSchema(columns=[TableColumn("id", "int")])
    assert MetadataValue.table_schema(schema).value == schema


def test_materialize_result_takes_the_asset_key_first() -> None:
    result = MaterializeResult("orders", {"rows": 3})
    assert result.asset_key == AssetKey("orders")
    assert result.metadata["rows"] == MetadataValue.int(3)
    assert MaterializeResult(["sales", "orders"]).asset_key == AssetKey(["sales", "orders"])
