from __future__ import annotations

import pickle
from datetime import UTC, datetime

import pytest

from knoll.defs.partitions import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    InMemoryDynamicPartitionsStore,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindow,
)
from knoll.errors import DefinitionError, InvalidInvocationError, PartitionKeyError

NOW = datetime(2024, 1, 3, tzinfo=UTC)


def date_region() -> MultiPartitionsDefinition:
    return MultiPartitionsDefinition(
        {
            "region": StaticPartitionsDefinition(["eu", "us"]),
            "date": DailyPartitionsDefinition(start_date="2024-01-01"),
        }
    )


def test_key_is_a_string_joined_in_dimension_name_order() -> None:
    key = MultiPartitionKey({"region": "eu", "date": "2024-01-01"})
    assert key == "2024-01-01|eu"
    assert isinstance(key, str)
    assert key.keys_by_dimension == {"date": "2024-01-01", "region": "eu"}
    assert hash(key) == hash("2024-01-01|eu")
    assert repr(key) == "MultiPartitionKey({'date': '2024-01-01', 'region': 'eu'})"
    assert pickle.loads(pickle.dumps(key)).keys_by_dimension == key.keys_by_dimension


def test_key_rejects_bad_parts() -> None:
    with pytest.raises(InvalidInvocationError, match=r"key 'a\|b' of dimension 'x' contains '\|'"):
        MultiPartitionKey({"x": "a|b", "y": "c"})
    with pytest.raises(InvalidInvocationError, match=r"MultiPartitionKey needs a dict"):
        MultiPartitionKey({})
    with pytest.raises(InvalidInvocationError, match=r"dimension names and keys must be str"):
        MultiPartitionKey({"x": 1})  # type: ignore[dict-item]


def test_keys_are_every_combination() -> None:
    multi = date_region()
    keys = multi.get_partition_keys(current_time=NOW)
    assert keys == ["2024-01-01|eu", "2024-01-01|us", "2024-01-02|eu", "2024-01-02|us"]
    assert all(isinstance(k, MultiPartitionKey) for k in keys)
    assert keys[1].keys_by_dimension == {"date": "2024-01-01", "region": "us"}
    assert multi.get_num_partitions(current_time=NOW) == 4
    assert multi.partition_dimension_names == ["date", "region"]


def test_primary_dimension_is_the_time_one() -> None:
    multi = MultiPartitionsDefinition(
        {
            "a_region": StaticPartitionsDefinition(["eu"]),
            "z_date": DailyPartitionsDefinition(start_date="2024-01-01"),
        }
    )
    assert multi.primary_dimension.name == "z_date"
    assert multi.secondary_dimension.name == "a_region"
    assert multi.time_window_dimension is not None
    static_only = MultiPartitionsDefinition(
        {"b": StaticPartitionsDefinition(["1"]), "a": StaticPartitionsDefinition(["2"])}
    )
    assert static_only.primary_dimension.name == "a"
    assert static_only.secondary_dimension.name == "b"
    assert static_only.time_window_dimension is None


def test_membership_and_parsing() -> None:
    multi = date_region()
    assert multi.has_partition_key("2024-01-02|us", current_time=NOW)
    assert multi.has_partition_key(MultiPartitionKey({"date": "2024-01-02", "region": "us"}), NOW)
    assert not multi.has_partition_key("2024-01-03|us", current_time=NOW)
    assert not multi.has_partition_key("2024-01-02", current_time=NOW)
    assert not multi.has_partition_key("2024-01-02|us|x", current_time=NOW)
    assert not multi.has_partition_key(MultiPartitionKey({"day": "2024-01-02", "region": "us"}))
    parsed = multi.get_partition_key_from_str("2024-01-02|us")
    assert parsed.keys_by_dimension == {"date": "2024-01-02", "region": "us"}
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"'2024-01-02' is not a key of multi partitions \(date: daily partitions from "
            r"2024-01-01 \(UTC\); region: static partitions 'eu', 'us'\): write one key per "
            r"dimension joined with '\|' in the order date\|region, for example "
            r"'2024-01-01\|eu'\."
        ),
    ):
        multi.get_partition_key_from_str("2024-01-02")


def test_validate_names_the_dimension_at_fault() -> None:
    multi = date_region()
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"asset 'sales' has no partition '2024-01-02\|uss': its dimension 'region' has no "
            r"key 'uss': its keys are 'eu', 'us'\. Did you mean 'us'\?"
        ),
    ):
        multi.validate_partition_key("2024-01-02|uss", "asset 'sales'", NOW)
    with pytest.raises(
        PartitionKeyError,
        match=r"its dimension 'date' has no key '2023-12-31': it comes before the first",
    ):
        multi.validate_partition_key("2023-12-31|eu", "asset 'sales'", NOW)
    with pytest.raises(PartitionKeyError, match=r"keys of multi partitions .* are one key per"):
        multi.validate_partition_key("eu", "asset 'sales'", NOW)


def test_time_window_of_a_key() -> None:
    multi = date_region()
    expected = TimeWindow(datetime(2024, 1, 2, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC))
    assert multi.time_window_for_partition_key("2024-01-02|us") == expected
    assert multi.time_window_for_partition_keys(["2024-01-02|us", "2024-01-01|eu"]) == TimeWindow(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 3, tzinfo=UTC)
    )
    static_only = MultiPartitionsDefinition(
        {"b": StaticPartitionsDefinition(["1"]), "a": StaticPartitionsDefinition(["2"])}
    )
    with pytest.raises(InvalidInvocationError, match=r"needs exactly one time dimension"):
        static_only.time_window_for_partition_key("2|1")


def test_keys_with_one_dimension_value_and_ranges() -> None:
    multi = date_region()
    assert multi.get_multipartition_keys_with_dimension_value("region", "us", NOW) == [
        "2024-01-01|us",
        "2024-01-02|us",
    ]
    with pytest.raises(InvalidInvocationError, match=r"has no dimension 'regio'.*'region'"):
        multi.get_multipartition_keys_with_dimension_value("regio", "us", NOW)
    assert multi.get_partition_keys_in_range(
        PartitionKeyRange("2024-01-01|us", "2024-01-02|eu"), NOW
    ) == ["2024-01-01|us", "2024-01-02|eu"]


def test_dynamic_dimension_uses_the_store() -> None:
    multi = MultiPartitionsDefinition(
        {
            "customer": DynamicPartitionsDefinition(name="customers"),
            "region": StaticPartitionsDefinition(["eu", "us"]),
        }
    )
    store = InMemoryDynamicPartitionsStore()
    store.add_dynamic_partitions("customers", ["acme"])
    assert multi.get_partition_keys(dynamic_partitions_store=store) == ["acme|eu", "acme|us"]
    assert multi.has_partition_key("acme|us", dynamic_partitions_store=store)
    with pytest.raises(InvalidInvocationError, match=r"needs dynamic_partitions_store"):
        multi.get_partition_keys()
    with pytest.raises(PartitionKeyError, match=r"for example 'acme\|eu'"):
        multi.validate_partition_key("acme", "asset 'x'", dynamic_partitions_store=store)


@pytest.mark.parametrize(
    ("dimensions", "message"),
    [
        ({"a": StaticPartitionsDefinition(["x"])}, r"has 1 dimensions \('a'\): it needs exactly 2"),
        (
            {
                "a": StaticPartitionsDefinition(["x"]),
                "b": StaticPartitionsDefinition(["y"]),
                "c": StaticPartitionsDefinition(["z"]),
            },
            r"has 3 dimensions \('a', 'b', 'c'\)",
        ),
        (
            {"a": StaticPartitionsDefinition(["x|y"]), "b": StaticPartitionsDefinition(["y"])},
            r"key 'x\|y' of dimension 'a' of MultiPartitionsDefinition contains '\|'",
        ),
        (
            {"a": "daily", "b": StaticPartitionsDefinition(["y"])},
            r"dimension 'a' of MultiPartitionsDefinition must be a partitions definition",
        ),
        (
            {"a b": StaticPartitionsDefinition(["x"]), "b": StaticPartitionsDefinition(["y"])},
            r"MultiPartitionsDefinition dimension name 'a b' is not valid",
        ),
    ],
)
def test_bad_definitions(dimensions: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        MultiPartitionsDefinition(dimensions)  # type: ignore[arg-type]


def test_nested_multi_is_rejected() -> None:
    with pytest.raises(DefinitionError, match=r"dimension 'b' .* is itself multi-dimensional"):
        MultiPartitionsDefinition({"a": StaticPartitionsDefinition(["x"]), "b": date_region()})


def test_equality_by_value() -> None:
    assert date_region() == date_region()
    assert hash(date_region()) == hash(date_region())
    renamed = MultiPartitionsDefinition(
        {
            "area": StaticPartitionsDefinition(["eu", "us"]),
            "date": DailyPartitionsDefinition(start_date="2024-01-01"),
        }
    )
    assert renamed != date_region()
    assert "MultiPartitionsDefinition({'date': DailyPartitionsDefinition(" in repr(date_region())
