from __future__ import annotations

import pytest

from knoll._serdes import deserialize, serialize
from knoll.defs.partitions import (
    AddDynamicPartitionsRequest,
    DeleteDynamicPartitionsRequest,
    DynamicPartitionsDefinition,
    DynamicPartitionsStore,
    InMemoryDynamicPartitionsStore,
    PartitionKeyRange,
)
from knoll.errors import DefinitionError, InvalidInvocationError, PartitionKeyError


def test_keys_live_in_the_store() -> None:
    customers = DynamicPartitionsDefinition(name="customers")
    store = InMemoryDynamicPartitionsStore()
    assert customers.get_partition_keys(dynamic_partitions_store=store) == []
    store.add_dynamic_partitions("customers", ["acme", "globex"])
    store.add_dynamic_partitions("customers", ["acme", "initech"])
    store.add_dynamic_partitions("other", ["x"])
    assert customers.get_partition_keys(dynamic_partitions_store=store) == [
        "acme",
        "globex",
        "initech",
    ]
    assert customers.has_partition_key("globex", dynamic_partitions_store=store)
    assert not customers.has_partition_key("x", dynamic_partitions_store=store)
    store.delete_dynamic_partition("customers", "globex")
    store.delete_dynamic_partition("customers", "never-added")
    assert customers.get_partition_keys(dynamic_partitions_store=store) == ["acme", "initech"]
    assert customers.get_last_partition_key(dynamic_partitions_store=store) == "initech"
    assert customers.get_num_partitions(dynamic_partitions_store=store) == 2


def test_the_in_memory_store_follows_the_protocol() -> None:
    assert isinstance(InMemoryDynamicPartitionsStore(), DynamicPartitionsStore)


def test_listing_without_a_store_says_what_to_pass() -> None:
    customers = DynamicPartitionsDefinition(name="customers")
    with pytest.raises(
        InvalidInvocationError,
        match=(
            r"get_partition_keys\(\) of dynamic partitions 'customers' needs "
            r"dynamic_partitions_store=\.\.\., because their keys live in the instance"
        ),
    ):
        customers.get_partition_keys()
    with pytest.raises(InvalidInvocationError, match=r"has_partition_key\(\) of dynamic"):
        customers.has_partition_key("a")


def test_validate_suggests_adding_the_key() -> None:
    customers = DynamicPartitionsDefinition(name="customers")
    store = InMemoryDynamicPartitionsStore()
    store.add_dynamic_partitions("customers", ["acme"])
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"asset 'invoices' has no partition 'acne': dynamic partitions 'customers' do not "
            r"hold it \(they hold 'acme'\)\. Did you mean 'acme'\? Add it first, for example by "
            r"returning DynamicPartitionsDefinition\(name='customers'\)\.build_add_request\("
            r"\['acne'\]\) from a sensor\."
        ),
    ):
        customers.validate_partition_key("acne", "asset 'invoices'", dynamic_partitions_store=store)
    empty = InMemoryDynamicPartitionsStore()
    with pytest.raises(PartitionKeyError, match=r"they hold no keys yet"):
        customers.validate_partition_key("a", "asset 'invoices'", dynamic_partitions_store=empty)


def test_requests() -> None:
    customers = DynamicPartitionsDefinition(name="customers")
    add = customers.build_add_request(["acme", "globex"])
    assert add == AddDynamicPartitionsRequest("customers", ("acme", "globex"))
    assert add.partition_keys == ("acme", "globex")
    delete = customers.build_delete_request(["acme"])
    assert delete == DeleteDynamicPartitionsRequest("customers", ["acme"])
    assert deserialize(serialize(add), AddDynamicPartitionsRequest) == add
    assert deserialize(serialize(delete), DeleteDynamicPartitionsRequest) == delete


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("acme", r"partition keys for AddDynamicPartitionsRequest for 'c' must be a list"),
        ([""], r"AddDynamicPartitionsRequest for 'c' has an empty partition key"),
        (["a...b"], r"contains '\.\.\.'"),
        ([3], r"partition key 3 of AddDynamicPartitionsRequest for 'c' must be a string"),
    ],
)
def test_requests_check_their_keys(keys: object, message: str) -> None:
    with pytest.raises(InvalidInvocationError, match=message):
        DynamicPartitionsDefinition(name="c").build_add_request(keys)  # type: ignore[arg-type]


def test_store_checks_keys_it_is_given() -> None:
    with pytest.raises(InvalidInvocationError, match=r"dynamic partitions 'c' has an empty"):
        InMemoryDynamicPartitionsStore().add_dynamic_partitions("c", [""])


def test_keys_in_range() -> None:
    customers = DynamicPartitionsDefinition(name="customers")
    store = InMemoryDynamicPartitionsStore()
    store.add_dynamic_partitions("customers", ["a", "b", "c"])
    assert customers.get_partition_keys_in_range(
        PartitionKeyRange("b", "c"), dynamic_partitions_store=store
    ) == ["b", "c"]
    with pytest.raises(PartitionKeyError, match=r"its end 'z' is not a partition of dynamic"):
        customers.get_partition_keys_in_range(
            PartitionKeyRange("a", "z"), dynamic_partitions_store=store
        )


def test_name_is_checked_and_equality_is_by_name() -> None:
    with pytest.raises(DefinitionError, match=r"DynamicPartitionsDefinition name 'my customers'"):
        DynamicPartitionsDefinition(name="my customers")
    assert DynamicPartitionsDefinition(name="a") == DynamicPartitionsDefinition("a")
    assert DynamicPartitionsDefinition(name="a") != DynamicPartitionsDefinition(name="b")
    assert hash(DynamicPartitionsDefinition(name="a")) == hash(DynamicPartitionsDefinition("a"))
    assert DynamicPartitionsDefinition(name="a").describe() == "dynamic partitions 'a'"
    assert DynamicPartitionsDefinition(name="a").name == "a"
