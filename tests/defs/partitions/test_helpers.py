from __future__ import annotations

from datetime import UTC, datetime

import pytest

from knoll.defs.partitions import (
    DailyPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionKeyRange,
    StaticPartitionsDefinition,
    TimeWindow,
    has_time_window,
    partition_keys_in_range,
    time_window_for_partition_key_range,
    time_window_for_partition_keys,
)
from knoll.errors import InvalidInvocationError

DAILY = DailyPartitionsDefinition(start_date="2024-01-01")
REGIONS = StaticPartitionsDefinition(["eu", "us"])
MULTI = MultiPartitionsDefinition({"date": DAILY, "region": REGIONS})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_keys_in_range_for_any_definition() -> None:
    now = utc(2024, 2, 1)
    assert partition_keys_in_range(DAILY, PartitionKeyRange("2024-01-02", "2024-01-03"), now) == [
        "2024-01-02",
        "2024-01-03",
    ]
    assert partition_keys_in_range(REGIONS, PartitionKeyRange("us", "us")) == ["us"]


def test_time_window_spanning_keys() -> None:
    assert time_window_for_partition_keys(DAILY, ["2024-01-05", "2024-01-02"]) == TimeWindow(
        utc(2024, 1, 2), utc(2024, 1, 6)
    )
    assert time_window_for_partition_keys(MULTI, ["2024-01-05|eu", "2024-01-02|us"]) == (
        TimeWindow(utc(2024, 1, 2), utc(2024, 1, 6))
    )
    assert time_window_for_partition_key_range(
        DAILY, PartitionKeyRange("2024-01-01", "2024-01-03")
    ) == TimeWindow(utc(2024, 1, 1), utc(2024, 1, 4))
    with pytest.raises(
        InvalidInvocationError, match=r"partition keys of static partitions 'eu', 'us' have no"
    ):
        time_window_for_partition_keys(REGIONS, ["eu"])


def test_has_time_window() -> None:
    assert has_time_window(DAILY)
    assert has_time_window(MULTI)
    assert not has_time_window(REGIONS)
    assert not has_time_window(None)


def test_time_window_values_are_checked() -> None:
    with pytest.raises(InvalidInvocationError, match=r"TimeWindow start must be a timezone-aware"):
        TimeWindow(datetime(2024, 1, 1), utc(2024, 1, 2))
    with pytest.raises(InvalidInvocationError, match=r"TimeWindow ends .* before it starts"):
        TimeWindow(utc(2024, 1, 2), utc(2024, 1, 1))
