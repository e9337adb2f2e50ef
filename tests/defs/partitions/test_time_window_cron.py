"""Time partitions on cron cadences other than the four presets."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from knoll.defs.partitions import (
    DailyPartitionsDefinition,
    TimeWindow,
    TimeWindowPartitionMapping,
    TimeWindowPartitionsDefinition,
    partitions_def_from_snapshot,
)

MINUTES = "%Y-%m-%d-%H:%M"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(window: TimeWindow) -> float:
    return (window.end.timestamp() - window.start.timestamp()) / 3600


def test_every_six_hours() -> None:
    six = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt=MINUTES, cron_schedule="0 */6 * * *"
    )
    assert six.get_partition_keys(current_time=utc(2024, 1, 2, 7)) == [
        "2024-01-01-00:00",
        "2024-01-01-06:00",
        "2024-01-01-12:00",
        "2024-01-01-18:00",
        "2024-01-02-00:00",
    ]
    assert six.time_window_for_partition_key("2024-01-01-18:00") == TimeWindow(
        utc(2024, 1, 1, 18), utc(2024, 1, 2)
    )
    assert not six.has_partition_key("2024-01-01-03:00", current_time=utc(2024, 2, 1))
    assert six.describe() == "cron '0 */6 * * *' partitions from 2024-01-01-00:00 (UTC)"
    assert six.cron_schedule == "0 */6 * * *"


def test_weekdays_at_half_past_nine() -> None:
    weekdays = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="30 9 * * MON-FRI"
    )
    keys = weekdays.get_partition_keys(current_time=utc(2024, 1, 16, 10))
    assert keys == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
        "2024-01-09",
        "2024-01-10",
        "2024-01-11",
        "2024-01-12",
        "2024-01-15",
    ]
    friday = weekdays.time_window_for_partition_key("2024-01-05")
    assert friday == TimeWindow(utc(2024, 1, 5, 9, 30), utc(2024, 1, 8, 9, 30))
    assert not weekdays.has_partition_key("2024-01-06", current_time=utc(2024, 2, 1))
    assert weekdays.get_partition_key_for_time(utc(2024, 1, 7, 12)) == "2024-01-05"
    assert weekdays.get_num_partitions(current_time=utc(2024, 1, 16, 10)) == 11


def test_twice_a_month() -> None:
    halves = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 1,15 * *"
    )
    assert halves.get_partition_keys(current_time=utc(2024, 3, 1)) == [
        "2024-01-01",
        "2024-01-15",
        "2024-02-01",
        "2024-02-15",
    ]
    assert halves.time_window_for_partition_key("2024-02-15") == TimeWindow(
        utc(2024, 2, 15), utc(2024, 3, 1)
    )


def test_quarter_hours_across_daylight_saving_changes() -> None:
    quarters = TimeWindowPartitionsDefinition(
        start="2024-03-10", fmt=MINUTES, cron_schedule="*/15 * * * *", timezone="America/New_York"
    )
    spring = quarters.get_partition_keys(current_time=utc(2024, 3, 11, 4))
    assert len(spring) == len(set(spring)) == 96 - 4
    assert "2024-03-10-02:15" not in spring
    autumn_def = TimeWindowPartitionsDefinition(
        start="2024-11-03", fmt=MINUTES, cron_schedule="*/15 * * * *", timezone="America/New_York"
    )
    autumn = autumn_def.get_partition_keys(current_time=utc(2024, 11, 4, 5))
    assert len(autumn) == len(set(autumn)) == 96
    windows = autumn_def.time_windows_for_partition_keys(autumn)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end.timestamp() == later.start.timestamp()
    assert hours(autumn_def.time_window_for_partition_key("2024-11-03-01:45")) == 1.25
    assert autumn_def.get_num_partitions(current_time=utc(2024, 11, 4, 5)) == 96


def test_cron_spellings_of_the_same_cadence_are_equal() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    for cron in ["0 0 * * *", "@daily", "0 0 * * 0-6", "0 0 * * SUN-SAT"]:
        general = TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y-%m-%d", cron_schedule=cron
        )
        assert general == daily
        assert hash(general) == hash(daily)


def test_cron_definitions_round_trip_and_map() -> None:
    six = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt=MINUTES, cron_schedule="0 */6 * * *"
    )
    rebuilt = partitions_def_from_snapshot(six.to_snapshot())
    assert rebuilt == six
    assert rebuilt.to_snapshot()["cron_schedule"] == "0 */6 * * *"
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert TimeWindowPartitionMapping().get_upstream_partition_keys(
        ["2024-01-02"], daily, six, utc(2024, 2, 1)
    ) == ["2024-01-02-00:00", "2024-01-02-06:00", "2024-01-02-12:00", "2024-01-02-18:00"]
