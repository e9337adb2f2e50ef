"""Versioned JSON (``knoll._serdes``), asset keys and metadata values: what is written, what
is read back, and how bad or newer records fail."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from knoll import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    AssetObservation,
    AutomationCondition,
    BackfillPolicy,
    Backoff,
    DefinitionError,
    ExpectationResult,
    Jitter,
    MetadataValue,
    RetryPolicy,
    SerializationError,
    TableColumn,
    TableColumnConstraints,
    TableRecord,
    TableSchema,
)
from knoll._serdes import RAW, deserialize, pack, serializable, serialize, unpack
from knoll.defs.metadata import (
    FloatMetadataValue,
    coerce_metadata_value,
    normalize_metadata,
)


def round_trip(value: Any) -> Any:
    return deserialize(serialize(value))


# -- the record format -----------------------------------------------------------------------


def test_a_record_carries_its_name_and_version() -> None:
    key = AssetKey(["raw", "orders"])
    assert json.loads(serialize(key)) == {
        "__class__": "AssetKey",
        "__v": 1,
        "path": ["raw", "orders"],
    }
    assert serialize(key) == '{"__class__":"AssetKey","__v":1,"path":["raw","orders"]}'
    assert deserialize(serialize(key)) == key


def test_nested_records_and_enums() -> None:
    check_key = AssetCheckKey(AssetKey("orders"), "has_rows")
    assert pack(check_key) == {
        "__class__": "AssetCheckKey",
        "__v": 1,
        "asset_key": {"__class__": "AssetKey", "__v": 1, "path": ["orders"]},
        "name": "has_rows",
    }
    assert round_trip(check_key) == check_key
    assert pack(AssetCheckSeverity.WARN) == {"__enum__": "AssetCheckSeverity.WARN"}
    assert round_trip(AssetCheckSeverity.WARN) is AssetCheckSeverity.WARN


def test_plain_data_round_trips_with_lists_as_tuples() -> None:
    data = {"a": [1, 2.5, None, True, "x"], "b": {"c": []}}
    assert unpack(pack(data)) == {"a": (1, 2.5, None, True, "x"), "b": {"c": ()}}


def test_sets_are_written_sorted_so_the_text_is_stable() -> None:
    assert serialize(frozenset({"b", "a", "c"})) == '["a","b","c"]'
    keys = {AssetKey("b"), AssetKey("a")}
    assert serialize(keys) == serialize({AssetKey("a"), AssetKey("b")})


def test_deserialize_checks_the_type_when_asked() -> None:
    text = serialize(AssetKey("orders"))
    assert deserialize(text, AssetKey) == AssetKey("orders")
    with pytest.raises(SerializationError, match=r"expected a AssetCheckKey record, got AssetKey"):
        deserialize(text, AssetCheckKey)


# -- what cannot be written ------------------------------------------------------------------


def test_an_unregistered_object() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unregistered:
        x: int

    with pytest.raises(
        SerializationError,
        match=r"cannot write a Unregistered as JSON: register it with @serializable or convert "
        r"it to plain data first",
    ):
        serialize([Unregistered(1)])


def test_a_mapping_with_a_non_string_key() -> None:
    with pytest.raises(
        SerializationError, match=r"cannot write a mapping with a int key 1 as JSON: keys must be"
    ):
        serialize({1: "a"})


@pytest.mark.parametrize("value", [math.nan, math.inf, [1.0, -math.inf]])
def test_nan_and_infinity(value: Any) -> None:
    with pytest.raises(
        SerializationError, match=r"cannot write a \w+ as JSON: it holds NaN or infinity"
    ):
        serialize(value)


def test_an_unregistered_enum() -> None:
    class Color(enum.Enum):
        RED = "red"

    with pytest.raises(SerializationError, match=r"enum Color is not registered as serializable"):
        serialize(Color.RED)


# -- what cannot be read ---------------------------------------------------------------------


def test_text_that_is_not_json() -> None:
    with pytest.raises(SerializationError, match=r"not valid JSON: "):
        deserialize("{not json")


def test_an_unknown_record_type() -> None:
    with pytest.raises(
        SerializationError,
        match=r"unknown record type 'FutureThing': it was written by a knoll that knows it; "
        r"upgrade knoll to read it",
    ):
        deserialize('{"__class__": "FutureThing", "__v": 1}')


def test_a_record_from_a_newer_version() -> None:
    with pytest.raises(
        SerializationError,
        match=r"AssetKey record has version 2, but this knoll reads up to version 1: upgrade "
        r"knoll to read it",
    ):
        deserialize('{"__class__": "AssetKey", "__v": 2, "path": ["a"]}')


def test_unknown_enums_and_members() -> None:
    with pytest.raises(SerializationError, match=r"unknown enum 'Mood' in JSON record"):
        deserialize('{"__enum__": "Mood.HAPPY"}')
    with pytest.raises(SerializationError, match=r"AssetCheckSeverity has no member 'FATAL'"):
        deserialize('{"__enum__": "AssetCheckSeverity.FATAL"}')


def test_a_record_missing_a_field() -> None:
    with pytest.raises(
        SerializationError, match=r"cannot read AssetCheckKey record: .*'asset_key'"
    ):
        deserialize('{"__class__": "AssetCheckKey", "__v": 1, "name": "x"}')


def test_a_record_its_class_rejects_is_a_serialization_error() -> None:
    with pytest.raises(
        SerializationError,
        match=r"cannot read AssetKey record: asset key part '\.\.' in '\.\.' is not valid",
    ):
        deserialize('{"__class__": "AssetKey", "__v": 1, "path": [".."]}')


def test_fields_dropped_in_a_later_version_are_ignored() -> None:
    assert deserialize('{"__class__": "AssetKey", "__v": 1, "path": ["a"], "old": 3}') == AssetKey(
        "a"
    )


# -- registration, versions and upgrades -----------------------------------------------------


def upgrade_point(fields: dict[str, Any], version: int) -> dict[str, Any]:
    # version 1 stored one "xy" list; version 2 stores x and y
    if version == 1:
        x, y = fields.pop("xy")
        fields.update(x=x, y=y)
    return fields


@serializable("TestPoint", version=2, upgrade=upgrade_point)
@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int
    label: Any = dataclasses.field(default=None, metadata=RAW)


def test_an_old_record_is_upgraded() -> None:
    old = '{"__class__": "TestPoint", "__v": 1, "xy": [3, 4]}'
    assert deserialize(old) == Point(3, 4)
    assert json.loads(serialize(Point(1, 2)))["__v"] == 2


def test_raw_fields_come_back_exactly_as_written() -> None:
    label = {"tags": ["a", "b"], "nested": {"__class__": "not a record"}}
    point = round_trip(Point(1, 2, label))
    assert point.label == label
    assert isinstance(point.label["tags"], list)


def test_registration_rules() -> None:
    with pytest.raises(
        SerializationError, match=r"two classes are registered for JSON as 'AssetKey'"
    ):

        @serializable("AssetKey")
        @dataclasses.dataclass(frozen=True)
        class Impostor:
            path: tuple[str, ...]

    with pytest.raises(SerializationError, match=r"NotData must be a dataclass or an enum"):

        @serializable()
        class NotData:
            pass


# -- asset keys ------------------------------------------------------------------------------


def test_asset_key_forms() -> None:
    key = AssetKey(["raw", "orders"])
    assert key == AssetKey(("raw", "orders")) == AssetKey.from_user_string("raw/orders")
    assert AssetKey.from_coercible("raw/orders") == key
    assert AssetKey.from_coercible(["raw", "orders"]) == key
    assert AssetKey.from_coercible(key) is key
    assert AssetKey("orders").path == ("orders",)
    assert key.to_user_string() == str(key) == "raw/orders"
    assert key.to_python_identifier() == "raw__orders"
    assert key.name == "orders"
    assert repr(key) == "AssetKey(['raw', 'orders'])"
    assert key.with_prefix("lake") == AssetKey(["lake", "raw", "orders"])
    assert key.with_prefix(["a", "b"]).path == ("a", "b", "raw", "orders")
    assert sorted([AssetKey("b"), AssetKey(["a", "z"]), AssetKey("a")]) == [
        AssetKey("a"),
        AssetKey(["a", "z"]),
        AssetKey("b"),
    ]
    assert hash(AssetKey("a")) == hash(AssetKey(["a"]))


def test_asset_key_from_objects_with_a_key() -> None:
    class HasKey:
        key = AssetKey("x")

    assert AssetKey.from_coercible(HasKey()) == AssetKey("x")


def test_invalid_asset_keys() -> None:
    with pytest.raises(DefinitionError, match=r"AssetKey needs at least one part"):
        AssetKey([])
    with pytest.raises(
        DefinitionError,
        match=r"asset key part '\.\.' in 'a/\.\.' is not valid: a part is a non-empty string "
        r"other than '\.' and '\.\.', for example 'my_name'\.$",
    ):
        AssetKey(["a", ".."])
    assert AssetKey(["s3.landing", "daily-orders"]).to_user_string() == "s3.landing/daily-orders"
    with pytest.raises(DefinitionError, match=r"asset key part '' in 'a/' is not valid"):
        AssetKey.from_user_string("a/")
    with pytest.raises(
        DefinitionError,
        match=r"cannot make an asset key from 3\.5: give a string, a list of strings, an "
        r"AssetKey or an asset\.",
    ):
        AssetKey.from_coercible(3.5)


def test_a_path_written_as_one_part_says_how_to_split_it() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"asset key part 'raw/orders' in 'raw/orders' holds '/', which separates key parts: "
        r"write AssetKey\(\['raw', 'orders'\]\), or AssetKey\.from_user_string\('raw/orders'\)\.",
    ):
        AssetKey("raw/orders")


def test_asset_check_key() -> None:
    key = AssetCheckKey(AssetKey(["raw", "orders"]), "fresh")
    assert key.to_user_string() == str(key) == "raw/orders:fresh"
    assert key == AssetCheckKey(AssetKey(["raw", "orders"]), "fresh")


# -- metadata --------------------------------------------------------------------------------


def test_plain_values_become_typed_metadata() -> None:
    when = datetime(2024, 1, 2, tzinfo=UTC)
    schema = TableSchema([TableColumn("id", "int")])
    coerced = normalize_metadata(
        {
            "text": "x",
            "int": 3,
            "float": 1.5,
            "bool": True,
            "none": None,
            "dict": {"a": [1]},
            "list": [1, "b"],
            "tuple": (1, 2),
            "path": Path("/data/file.csv"),
            "when": when,
            "key": AssetKey("orders"),
            "schema": schema,
        },
        "asset 'x'",
    )
    assert coerced == {
        "text": MetadataValue.text("x"),
        "int": MetadataValue.int(3),
        "float": MetadataValue.float(1.5),
        "bool": MetadataValue.bool(True),
        "none": MetadataValue.null(),
        "dict": MetadataValue.json({"a": [1]}),
        "list": MetadataValue.json([1, "b"]),
        "tuple": MetadataValue.json([1, 2]),
        "path": MetadataValue.path("/data/file.csv"),
        "when": MetadataValue.timestamp(when),
        "key": MetadataValue.asset(AssetKey("orders")),
        "schema": MetadataValue.table_schema(schema),
    }
    assert coerced["when"].value == when.timestamp()
    assert coerced["path"].value == str(Path("/data/file.csv"))


def test_typed_values_pass_through_and_expose_their_value() -> None:
    typed = {
        "url": MetadataValue.url("https://example.com"),
        "md": MetadataValue.md("# Title"),
        "ts": MetadataValue.timestamp(1700000000.0),
    }
    assert normalize_metadata(typed, "o") == typed
    assert [v.value for v in typed.values()] == ["https://example.com", "# Title", 1700000000.0]


def test_non_finite_floats_are_kept_and_read_back_exactly() -> None:
    assert math.isnan(MetadataValue.float(math.nan).value or 0.0)
    assert MetadataValue.float(math.inf).value == math.inf
    assert serialize(MetadataValue.float(-math.inf)) == (
        '{"__class__":"FloatMetadataValue","__v":1,"float_value":"-Infinity"}'
    )
    back = deserialize(serialize(MetadataValue.float(math.nan)), FloatMetadataValue)
    assert back == MetadataValue.float(math.nan)
    assert math.isnan(back.value or 0.0)
    # records written before NaN was kept hold null, and still read back
    old = '{"__class__":"FloatMetadataValue","__v":1,"float_value":null}'
    assert deserialize(old, FloatMetadataValue).value is None


def test_metadata_that_cannot_be_recorded() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"metadata entry 'conn' of asset 'x' has a object value that knoll cannot record\. "
        r"Use a str, int, float, bool, dict or list of JSON data, or a MetadataValue",
    ):
        coerce_metadata_value(object(), "conn", "asset 'x'")
    with pytest.raises(DefinitionError, match=r"metadata entry 'nan_list' of asset 'x'"):
        coerce_metadata_value([math.nan], "nan_list", "asset 'x'")
    with pytest.raises(DefinitionError, match=r"metadata of asset 'x' must be a dict, got list"):
        normalize_metadata([("a", 1)], "asset 'x'")  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match=r"metadata key 1 of asset 'x' must be a string"):
        normalize_metadata({1: "a"}, "asset 'x'")  # type: ignore[dict-item]


def test_metadata_value_builders_check_their_input() -> None:
    with pytest.raises(
        DefinitionError, match=r"MetadataValue\.json needs JSON data \(dicts, lists, strings"
    ):
        MetadataValue.json({"a": object()})
    with pytest.raises(
        DefinitionError,
        match=r"MetadataValue\.timestamp\(datetime\.datetime\(2024, 1, 1, 0, 0\)\) needs a "
        r"timezone-aware datetime",
    ):
        MetadataValue.timestamp(datetime(2024, 1, 1))
    with pytest.raises(
        DefinitionError, match=r"TableRecord column 'a' has a list value: use str, int, float"
    ):
        TableRecord({"a": [1]})


def test_every_metadata_value_round_trips() -> None:
    schema = TableSchema(
        [
            TableColumn(
                "id",
                "int",
                description="primary key",
                constraints=TableColumnConstraints(nullable=False, unique=True, other=("> 0",)),
                tags={"pii": "no"},
            )
        ],
        constraints=["id is unique"],
    )
    values = {
        "text": MetadataValue.text("x"),
        "url": MetadataValue.url("https://example.com"),
        "path": MetadataValue.path("/tmp/x"),
        "json": MetadataValue.json({"b": [1, {"c": None}], "a": "z"}),
        "md": MetadataValue.md("**bold**"),
        "int": MetadataValue.int(-4),
        "float": MetadataValue.float(0.25),
        "bool": MetadataValue.bool(False),
        "ts": MetadataValue.timestamp(datetime(2024, 5, 1, 6, tzinfo=timezone(timedelta(hours=2)))),
        "table": MetadataValue.table([TableRecord({"id": 1, "name": None})], schema),
        "schema": MetadataValue.table_schema(schema),
        "asset": MetadataValue.asset(AssetKey(["raw", "orders"])),
        "null": MetadataValue.null(),
    }
    back = round_trip(values)
    assert back == values
    assert back["json"].value == {"b": [1, {"c": None}], "a": "z"}
    assert back["table"].value[0].data == {"id": 1, "name": None}


# -- other records ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "record",
    [
        AssetMaterialization("raw/orders", description="d", metadata={"rows": 3}, partition="p"),
        AssetObservation("orders", metadata={"seen": True}, tags={"source": "api"}),
        ExpectationResult(success=False, label="positive", metadata={}),
        AssetCheckEvaluation(
            AssetKey("orders"),
            "has_rows",
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata={"rows": MetadataValue.int(0)},
            blocking=True,
            partition="2024-01-01",
        ),
        RetryPolicy(max_retries=3, delay=0.5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.FULL),
        BackfillPolicy.single_run(),
        BackfillPolicy.multi_run(5),
        AutomationCondition.eager() & ~AutomationCondition.on_cron("0 * * * *", "Europe/Berlin"),
        AutomationCondition.missing() | AutomationCondition.code_version_changed(),
    ],
    ids=lambda record: type(record).__name__,
)
def test_records_round_trip(record: Any) -> None:
    assert round_trip(record) == record
