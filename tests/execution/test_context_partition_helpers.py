"""The asset-partition helpers of the context: for outputs, for inputs, and their errors."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from knoll import (
    AssetExecutionContext,
    AssetIn,
    DailyPartitionsDefinition,
    InMemoryIOManager,
    PartitionKeyError,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindowPartitionMapping,
    asset,
    materialize,
    materialize_to_memory,
)

daily = DailyPartitionsDefinition(start_date="2024-03-01")
UTC = ZoneInfo("UTC")
seen: dict[str, Any] = {}


@asset(partitions_def=daily)
def page_views(context: AssetExecutionContext) -> int:
    seen["key"] = context.asset_partition_key_for_output()
    seen["keys"] = list(context.asset_partition_keys_for_output())
    seen["range"] = context.asset_partition_key_range_for_output()
    seen["window"] = context.asset_partitions_time_window_for_output()
    seen["def"] = context.asset_partitions_def_for_output()
    return 100


@asset(
    partitions_def=daily,
    ins={
        "page_views": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-2)),
    },
)
def three_day_views(context: AssetExecutionContext, page_views: dict[str, int]) -> int:
    seen["in_keys"] = list(context.asset_partition_keys_for_input("page_views"))
    seen["in_range"] = context.asset_partition_key_range_for_input("page_views")
    seen["in_window"] = context.asset_partitions_time_window_for_input("page_views")
    seen["in_def"] = context.asset_partitions_def_for_input("page_views")
    return sum(page_views.values())


def test_output_helpers_give_the_partition_the_step_writes() -> None:
    result = materialize_to_memory([page_views], partition_key="2024-03-05")
    assert result.success
    assert seen["key"] == "2024-03-05"
    assert seen["keys"] == ["2024-03-05"]
    assert seen["range"] == PartitionKeyRange("2024-03-05", "2024-03-05")
    assert seen["window"].start == datetime(2024, 3, 5, tzinfo=UTC)
    assert seen["window"].end == datetime(2024, 3, 6, tzinfo=UTC)
    assert seen["def"] == daily


def test_input_helpers_follow_the_partition_mapping() -> None:
    resources = {"io_manager": InMemoryIOManager()}
    for day in ("2024-03-03", "2024-03-04", "2024-03-05"):
        assert materialize([page_views], partition_key=day, resources=resources).success
    result = materialize(
        [page_views, three_day_views],
        partition_key="2024-03-05",
        selection=[three_day_views],
        resources=resources,
    )
    assert result.success, result
    assert seen["in_keys"] == ["2024-03-03", "2024-03-04", "2024-03-05"]
    assert seen["in_range"] == PartitionKeyRange("2024-03-03", "2024-03-05")
    assert seen["in_window"].start == datetime(2024, 3, 3, tzinfo=UTC)
    assert seen["in_window"].end == datetime(2024, 3, 6, tzinfo=UTC)
    assert seen["in_def"] == daily


def test_key_for_input_refuses_several_upstream_partitions() -> None:
    @asset(
        partitions_def=daily,
        ins={"page_views": AssetIn(partition_mapping=TimeWindowPartitionMapping(start_offset=-1))},
    )
    def two_day_views(context: AssetExecutionContext, page_views: dict[str, int]) -> int:
        return len(context.asset_partition_key_for_input("page_views"))

    resources = {"io_manager": InMemoryIOManager()}
    for day in ("2024-03-04", "2024-03-05"):
        assert materialize([page_views], partition_key=day, resources=resources).success
    with pytest.raises(PartitionKeyError) as info:
        materialize(
            [page_views, two_day_views],
            partition_key="2024-03-05",
            selection=[two_day_views],
            resources=resources,
        )
    message = str(info.value)
    assert "input 'page_views' of asset 'two_day_views' reads 2 upstream partitions" in message
    assert "asset_partition_keys_for_input" in message


def test_helpers_on_an_unpartitioned_run_name_the_asset_and_the_fix() -> None:
    @asset
    def totals(context: AssetExecutionContext) -> str:
        return context.asset_partition_key_for_output()

    with pytest.raises(PartitionKeyError) as info:
        materialize_to_memory([totals])
    message = str(info.value)
    assert "output 'result' of asset 'totals' is not partitioned in this run" in message
    assert "partitions_def" in message


def test_input_helpers_refuse_an_unpartitioned_upstream() -> None:
    @asset
    def prices() -> int:
        return 3

    regions = StaticPartitionsDefinition(["eu", "us"])

    @asset(partitions_def=regions)
    def regional_prices(context: AssetExecutionContext, prices: int) -> int:
        return len(context.asset_partition_keys_for_input("prices"))

    @asset(partitions_def=regions)
    def no_such_input(context: AssetExecutionContext) -> int:
        return len(context.asset_partition_keys_for_input("prices"))

    with pytest.raises(PartitionKeyError) as info:
        materialize_to_memory([prices, regional_prices], partition_key="eu")
    assert "input 'prices' of asset 'regional_prices' reads an unpartitioned asset" in str(
        info.value
    )
    with pytest.raises(PartitionKeyError) as info:
        materialize_to_memory([no_such_input], partition_key="eu")
    assert "asset 'no_such_input' has no asset input 'prices'" in str(info.value)
