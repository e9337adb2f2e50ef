"""Time partitions across daylight-saving changes (America/New_York: 2024-03-10 clocks jump
from 02:00 to 03:00; 2024-11-03 the hour 01:00-02:00 happens twice)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from knoll.defs.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    TimeWindow,
    WeeklyPartitionsDefinition,
)

NEW_YORK = "America/New_York"
NY = ZoneInfo(NEW_YORK)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(window: TimeWindow) -> float:
    return (window.end.timestamp() - window.start.timestamp()) / 3600


def test_daily_windows_are_23_and_25_hours_on_change_days() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", timezone=NEW_YORK)
    spring = daily.time_window_for_partition_key("2024-03-10")
    assert (spring.start, spring.end) == (utc(2024, 3, 10, 5), utc(2024, 3, 11, 4))
    assert hours(spring) == 23
    autumn = daily.time_window_for_partition_key("2024-11-03")
    assert (autumn.start, autumn.end) == (utc(2024, 11, 3, 4), utc(2024, 11, 4, 5))
    assert hours(autumn) == 25
    assert hours(daily.time_window_for_partition_key("2024-03-09")) == 24
    assert spring.start.tzinfo == NY
    assert spring.start.isoformat() == "2024-03-10T00:00:00-05:00"
    assert spring.end.isoformat() == "2024-03-11T00:00:00-04:00"


def test_daily_keys_stay_one_per_calendar_day() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-03-08", timezone=NEW_YORK)
    keys = daily.get_partition_keys(current_time=datetime(2024, 3, 13, tzinfo=NY))
    assert keys == ["2024-03-08", "2024-03-09", "2024-03-10", "2024-03-11", "2024-03-12"]
    # Midnight in New York is 04:00 UTC in summer: the March 12 window ends then.
    assert daily.get_last_partition_key(current_time=utc(2024, 3, 13, 3, 59)) == "2024-03-11"
    assert daily.get_last_partition_key(current_time=utc(2024, 3, 13, 4)) == "2024-03-12"


def test_daily_hour_offset_inside_the_skipped_hour_starts_when_clocks_jump() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-03-01", hour_offset=2, timezone=NEW_YORK)
    before = daily.time_window_for_partition_key("2024-03-09")
    assert (before.start, before.end) == (utc(2024, 3, 9, 7), utc(2024, 3, 10, 7))
    change_day = daily.time_window_for_partition_key("2024-03-10")
    assert change_day.start.isoformat() == "2024-03-10T03:00:00-04:00"
    assert change_day.end.isoformat() == "2024-03-11T02:00:00-04:00"
    assert hours(change_day) == 23
    assert daily.has_partition_key("2024-03-10", current_time=utc(2024, 3, 12))


def test_daily_hour_offset_inside_the_repeated_hour_uses_its_first_pass() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-10-01", hour_offset=1, timezone=NEW_YORK)
    window = daily.time_window_for_partition_key("2024-11-03")
    # Compare instants: Python never calls a datetime in a repeated hour equal to one in
    # another zone.
    assert window.start.timestamp() == utc(2024, 11, 3, 5).timestamp()  # 01:00 EDT
    assert window.start.isoformat() == "2024-11-03T01:00:00-04:00"
    assert window.end.timestamp() == utc(2024, 11, 4, 6).timestamp()  # 01:00 EST
    assert hours(window) == 25
    assert hours(daily.time_window_for_partition_key("2024-11-02")) == 24


def test_hourly_skips_the_hour_that_does_not_exist() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-03-10-00:00", timezone=NEW_YORK)
    keys = hourly.get_partition_keys(current_time=datetime(2024, 3, 11, tzinfo=NY))
    assert len(keys) == 23
    assert keys[:4] == [
        "2024-03-10-00:00",
        "2024-03-10-01:00",
        "2024-03-10-03:00",
        "2024-03-10-04:00",
    ]
    assert "2024-03-10-02:00" not in keys
    assert not hourly.has_partition_key("2024-03-10-02:00", current_time=utc(2024, 4, 1))
    assert hourly.time_window_for_partition_key("2024-03-10-01:00") == TimeWindow(
        utc(2024, 3, 10, 6), utc(2024, 3, 10, 7)
    )
    assert hourly.time_window_for_partition_key("2024-03-10-03:00") == TimeWindow(
        utc(2024, 3, 10, 7), utc(2024, 3, 10, 8)
    )
    assert hourly.get_num_partitions(current_time=datetime(2024, 3, 11, tzinfo=NY)) == 23


def test_hourly_repeated_hour_is_one_two_hour_partition() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-11-03-00:00", timezone=NEW_YORK)
    keys = hourly.get_partition_keys(current_time=datetime(2024, 11, 4, tzinfo=NY))
    assert len(keys) == len(set(keys)) == 24
    window = hourly.time_window_for_partition_key("2024-11-03-01:00")
    assert window.start.timestamp() == utc(2024, 11, 3, 5).timestamp()
    assert window.end.timestamp() == utc(2024, 11, 3, 7).timestamp()
    assert hours(window) == 2
    assert hourly.get_partition_key_for_time(utc(2024, 11, 3, 6, 30)) == "2024-11-03-01:00"
    assert hourly.get_partition_key_for_time(utc(2024, 11, 3, 7)) == "2024-11-03-02:00"
    # During the second pass of 01:00 the two-hour window has not ended yet.
    assert hourly.get_last_partition_key(current_time=utc(2024, 11, 3, 6, 30)) == "2024-11-03-00:00"
    assert hourly.get_last_partition_key(current_time=utc(2024, 11, 3, 7)) == "2024-11-03-01:00"


def test_hourly_end_offset_counts_real_partitions_across_the_gap() -> None:
    at_0130_est = utc(2024, 3, 10, 6, 30)
    at_0330_edt = utc(2024, 3, 10, 7, 30)
    plain = HourlyPartitionsDefinition(start_date="2024-03-10-00:00", timezone=NEW_YORK)
    assert plain.get_last_partition_key(current_time=at_0330_edt) == "2024-03-10-01:00"
    ahead = HourlyPartitionsDefinition(
        start_date="2024-03-10-00:00", timezone=NEW_YORK, end_offset=1
    )
    assert ahead.get_last_partition_key(current_time=at_0330_edt) == "2024-03-10-03:00"
    two_ahead = HourlyPartitionsDefinition(
        start_date="2024-03-10-00:00", timezone=NEW_YORK, end_offset=2
    )
    assert two_ahead.get_last_partition_key(current_time=at_0130_est) == "2024-03-10-03:00"
    assert two_ahead.get_num_partitions(current_time=at_0130_est) == 3


def test_a_year_of_hourly_windows_tiles_time_exactly() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00", timezone=NEW_YORK)
    year_end = datetime(2025, 1, 1, tzinfo=NY)
    keys = hourly.get_partition_keys(current_time=year_end)
    assert len(keys) == len(set(keys)) == 366 * 24 - 1
    windows = hourly.time_windows_for_partition_keys(keys)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end == later.start
        assert earlier.end.timestamp() == later.start.timestamp()
    assert windows[0].start == datetime(2024, 1, 1, tzinfo=NY)
    assert windows[-1].end.timestamp() == year_end.timestamp()
    assert sum(hours(w) for w in windows) == 366 * 24
    assert all(hourly.has_partition_key(k, current_time=year_end) for k in keys[::97])


def test_hourly_format_with_utc_offset_names_each_pass() -> None:
    hourly = HourlyPartitionsDefinition(
        start_date=datetime(2024, 11, 3), timezone=NEW_YORK, fmt="%Y-%m-%d-%H:%M%z"
    )
    keys = hourly.get_partition_keys(current_time=datetime(2024, 11, 3, 4, tzinfo=NY))
    assert keys == [
        "2024-11-03-00:00-0400",
        "2024-11-03-01:00-0400",
        "2024-11-03-02:00-0500",
        "2024-11-03-03:00-0500",
    ]
    assert hourly.has_partition_key("2024-11-03-01:00-0400", current_time=utc(2024, 12, 1))
    assert not hourly.has_partition_key("2024-11-03-01:00-0500", current_time=utc(2024, 12, 1))


def test_weekly_and_monthly_in_a_daylight_saving_zone() -> None:
    weekly = WeeklyPartitionsDefinition(start_date="2024-03-03", timezone=NEW_YORK)
    assert hours(weekly.time_window_for_partition_key("2024-03-03")) == 7 * 24
    spring_week = weekly.time_window_for_partition_key("2024-03-10")
    assert hours(spring_week) == 7 * 24 - 1
    monthly = MonthlyPartitionsDefinition(start_date="2024-01-01", timezone=NEW_YORK)
    march = monthly.time_window_for_partition_key("2024-03-01")
    assert hours(march) == 31 * 24 - 1
    assert march.end.isoformat() == "2024-04-01T00:00:00-04:00"


def test_half_hour_clock_change_keeps_keys_unique_and_windows_contiguous() -> None:
    # Lord Howe Island moves its clocks by 30 minutes (02:00 -> 02:30 on 2024-10-06).
    hourly = HourlyPartitionsDefinition(
        start_date="2024-10-05-00:00", timezone="Australia/Lord_Howe"
    )
    keys = hourly.get_partition_keys(current_time=datetime(2024, 10, 7, tzinfo=ZoneInfo("UTC")))
    assert len(keys) == len(set(keys))
    assert "2024-10-06-02:30" in keys
    windows = hourly.time_windows_for_partition_keys(keys)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end.timestamp() == later.start.timestamp()
    assert hours(hourly.time_window_for_partition_key("2024-10-06-02:30")) == 0.5


def test_windows_are_contiguous_for_many_daily_keys_in_a_zone() -> None:
    daily = DailyPartitionsDefinition(start_date="2020-01-01", timezone="Europe/London")
    keys = daily.get_partition_keys(current_time=utc(2024, 1, 1))
    assert len(keys) == (datetime(2024, 1, 1) - datetime(2020, 1, 1)).days
    windows = daily.time_windows_for_partition_keys(keys)
    for earlier, later in itertools.pairwise(windows):
        assert earlier.end.timestamp() == later.start.timestamp()
    assert {hours(w) for w in windows} == {23, 24, 25}
    assert windows[-1].end == utc(2024, 1, 1) + timedelta(0)
