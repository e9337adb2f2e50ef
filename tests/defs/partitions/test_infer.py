from __future__ import annotations

import pytest

from knoll.defs.partitions import (
    AllPartitionMapping,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    HourlyPartitionsDefinition,
    IdentityPartitionMapping,
    LastPartitionMapping,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
    PartitionMapping,
    PartitionsDefinition,
    StaticPartitionMapping,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    infer_partition_mapping,
)
from knoll.errors import DefinitionError

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
HOURLY = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
REGIONS = StaticPartitionsDefinition(["eu", "us"])
MULTI = MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})
OWNER = "asset 'report'"


@pytest.mark.parametrize(
    ("downstream", "upstream", "expected"),
    [
        (DAILY, None, IdentityPartitionMapping()),
        (None, None, IdentityPartitionMapping()),
        (None, DAILY, AllPartitionMapping()),
        (DAILY, DailyPartitionsDefinition(start_date="2024-01-01"), IdentityPartitionMapping()),
        (REGIONS, StaticPartitionsDefinition(["eu", "us"]), IdentityPartitionMapping()),
        (DAILY, HOURLY, TimeWindowPartitionMapping()),
        (HOURLY, DAILY, TimeWindowPartitionMapping()),
        (DAILY, DailyPartitionsDefinition(start_date="2023-01-01"), TimeWindowPartitionMapping()),
        (MULTI, DAILY, MultiToSingleDimensionPartitionMapping("date")),
        (REGIONS, MULTI, MultiToSingleDimensionPartitionMapping("region")),
        (MULTI, MULTI, IdentityPartitionMapping()),
    ],
)
def test_default_mappings(
    downstream: PartitionsDefinition | None,
    upstream: PartitionsDefinition | None,
    expected: PartitionMapping,
) -> None:
    assert infer_partition_mapping(None, downstream, upstream, OWNER) == expected


@pytest.mark.parametrize(
    ("downstream", "upstream"),
    [
        (REGIONS, StaticPartitionsDefinition(["eu", "asia"])),
        (REGIONS, DAILY),
        (DAILY, DynamicPartitionsDefinition(name="customers")),
        (MULTI, HOURLY),
        (MULTI, MultiPartitionsDefinition({"date": HOURLY, "region": REGIONS})),
    ],
)
def test_pairs_without_a_default_are_an_error(
    downstream: PartitionsDefinition, upstream: PartitionsDefinition
) -> None:
    with pytest.raises(DefinitionError, match=r"Give a partition mapping"):
        infer_partition_mapping(None, downstream, upstream, OWNER)


def test_the_error_names_the_owner_both_definitions_and_the_fix() -> None:
    with pytest.raises(
        DefinitionError,
        match=(
            r"asset 'report' has static partitions 'eu', 'us', but its upstream has daily "
            r"partitions from 2024-01-01 \(UTC\), and there is no default way to tell which "
            r"upstream partitions each partition reads\. Give a partition mapping, for example "
            r"AssetIn\(partition_mapping=StaticPartitionMapping\(\{\.\.\.\}\)\) or "
            r"AssetDep\(upstream, partition_mapping=AllPartitionMapping\(\)\)\."
        ),
    ):
        infer_partition_mapping(None, REGIONS, DAILY, OWNER)


def test_an_explicit_mapping_is_checked_and_kept() -> None:
    explicit = StaticPartitionMapping({"2024-01-01": "eu"})
    assert infer_partition_mapping(explicit, REGIONS, DAILY, OWNER) is explicit
    last = LastPartitionMapping()
    assert infer_partition_mapping(last, None, DAILY, OWNER) is last
    with pytest.raises(DefinitionError, match=r"asset 'report' uses TimeWindowPartitionMapping"):
        infer_partition_mapping(TimeWindowPartitionMapping(), REGIONS, DAILY, OWNER)
    with pytest.raises(
        DefinitionError,
        match=r"partition_mapping of asset 'report' must be a PartitionMapping such as",
    ):
        infer_partition_mapping("identity", REGIONS, DAILY, OWNER)  # type: ignore[arg-type]
