from __future__ import annotations

import pytest

from knoll.defs.partitions import PartitionKeyRange, StaticPartitionsDefinition
from knoll.errors import DefinitionError, PartitionKeyError


def test_keys_in_order_and_membership() -> None:
    regions = StaticPartitionsDefinition(["us-east", "us-west", "eu-central"])
    assert regions.get_partition_keys() == ["us-east", "us-west", "eu-central"]
    assert regions.partition_keys == ("us-east", "us-west", "eu-central")
    assert regions.has_partition_key("us-west")
    assert not regions.has_partition_key("ap-south")
    assert regions.get_first_partition_key() == "us-east"
    assert regions.get_last_partition_key() == "eu-central"
    assert regions.get_num_partitions() == 3


def test_keys_returned_are_a_copy() -> None:
    regions = StaticPartitionsDefinition(["a", "b"])
    keys = regions.get_partition_keys()
    assert isinstance(keys, list)
    keys.append("c")
    assert regions.get_partition_keys() == ["a", "b"]


def test_duplicates_are_rejected_and_named() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"StaticPartitionsDefinition has duplicate keys 'a', 'b': each partition key must",
    ):
        StaticPartitionsDefinition(["a", "b", "a", "b", "a"])


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("abc", r"StaticPartitionsDefinition needs a list of keys, got str 'abc'"),
        ([1, 2], r"partition key 1 of StaticPartitionsDefinition must be a string, got int"),
        (["a", ""], r"StaticPartitionsDefinition has an empty partition key"),
        (["a...b"], r"partition key 'a...b' of StaticPartitionsDefinition contains '...'"),
        (["a\nb"], r"partition key 'a\\nb' of StaticPartitionsDefinition contains '\\\\n'"),
    ],
)
def test_bad_keys_are_rejected(keys: object, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        StaticPartitionsDefinition(keys)  # type: ignore[arg-type]


def test_validate_suggests_the_closest_key() -> None:
    regions = StaticPartitionsDefinition(["us-east", "us-west", "eu-central"])
    assert regions.validate_partition_key("us-east", "asset 'sales'") == "us-east"
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"asset 'sales' has no partition 'eu-centrl': its keys are 'us-east', 'us-west', "
            r"'eu-central'\. Did you mean 'eu-central'\?"
        ),
    ):
        regions.validate_partition_key("eu-centrl", "asset 'sales'")


def test_validate_with_many_keys_shows_a_sample() -> None:
    letters = StaticPartitionsDefinition([chr(c) * 3 for c in range(ord("a"), ord("z") + 1)])
    with pytest.raises(
        PartitionKeyError,
        match=r"its keys are 'aaa', 'bbb', 'ccc', 'ddd', \.\.\. 'zzz' \(26 keys\)\.$",
    ):
        letters.validate_partition_key("123", "asset 'x'")


def test_keys_in_range() -> None:
    regions = StaticPartitionsDefinition(["a", "b", "c", "d"])
    assert regions.get_partition_keys_in_range(PartitionKeyRange("b", "d")) == ["b", "c", "d"]
    with pytest.raises(PartitionKeyError, match=r"its start 'd' comes after its end 'b'"):
        regions.get_partition_keys_in_range(PartitionKeyRange("d", "b"))
    with pytest.raises(
        PartitionKeyError,
        match=r"partition key range 'a\.\.\.z': its end 'z' is not a partition of static",
    ):
        regions.get_partition_keys_in_range(PartitionKeyRange("a", "z"))


def test_equality_describe_and_repr() -> None:
    assert StaticPartitionsDefinition(["a", "b"]) == StaticPartitionsDefinition(("a", "b"))
    assert hash(StaticPartitionsDefinition(["a", "b"])) == hash(
        StaticPartitionsDefinition(["a", "b"])
    )
    assert StaticPartitionsDefinition(["a", "b"]) != StaticPartitionsDefinition(["b", "a"])
    assert StaticPartitionsDefinition(["a", "b"]).describe() == "static partitions 'a', 'b'"
    assert repr(StaticPartitionsDefinition(["a"])) == "StaticPartitionsDefinition(['a'])"
    assert str(StaticPartitionsDefinition([])) == "static partitions (none)"


def test_range_type_checks_its_ends() -> None:
    with pytest.raises(Exception, match=r"PartitionKeyRange end must be a partition key string"):
        PartitionKeyRange("a", 3)  # type: ignore[arg-type]
    start, end = PartitionKeyRange("a", "b")
    assert (start, end) == ("a", "b")
    assert str(PartitionKeyRange("a", "b")) == "a...b"
