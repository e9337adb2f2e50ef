from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from knoll.defs.partitions import (
    DailyPartitionsDefinition,
    HourlyPartitionsDefinition,
    MonthlyPartitionsDefinition,
    PartitionKeyRange,
    TimeWindow,
    TimeWindowPartitionsDefinition,
    WeeklyPartitionsDefinition,
)
from knoll.errors import CronError, DefinitionError, InvalidInvocationError, PartitionKeyError


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_daily_keys_are_the_complete_days_before_now() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    keys = daily.get_partition_keys(current_time=utc(2024, 1, 10, 5))
    assert keys == [f"2024-01-{day:02d}" for day in range(1, 10)]
    assert daily.get_first_partition_key() == "2024-01-01"
    assert daily.get_last_partition_key(current_time=utc(2024, 1, 10, 5)) == "2024-01-09"
    assert daily.get_num_partitions(current_time=utc(2024, 1, 10, 5)) == 9


def test_a_window_becomes_a_partition_the_moment_it_ends() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert daily.get_last_partition_key(current_time=utc(2024, 1, 10)) == "2024-01-09"
    just_before = utc(2024, 1, 10) - timedelta(microseconds=1)
    assert daily.get_last_partition_key(current_time=just_before) == "2024-01-08"


def test_no_partitions_before_the_first_window_ends() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert daily.get_partition_keys(current_time=utc(2024, 1, 1, 23)) == []
    assert daily.get_last_partition_key(current_time=utc(2023, 6, 1)) is None
    assert daily.get_first_partition_key(current_time=utc(2023, 6, 1)) is None
    assert daily.get_first_partition_window(current_time=utc(2023, 6, 1)) is None
    assert daily.get_num_partitions(current_time=utc(2023, 6, 1)) == 0


def test_end_offset_extends_or_shrinks_the_last_partition() -> None:
    now = utc(2024, 1, 10, 5)
    ahead = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1)
    assert ahead.get_last_partition_key(current_time=now) == "2024-01-10"
    behind = DailyPartitionsDefinition(start_date="2024-01-01", end_offset=-2)
    assert behind.get_last_partition_key(current_time=now) == "2024-01-07"
    assert ahead.end_offset == 1


def test_end_date_is_exclusive_and_caps_end_offset() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05", end_offset=3)
    assert daily.get_partition_keys(current_time=utc(2030, 1, 1)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]
    assert daily.get_partition_keys(current_time=utc(2024, 1, 2, 12)) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
    ]
    plain = DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")
    assert plain.get_partition_keys(current_time=utc(2024, 1, 3, 12)) == [
        "2024-01-01",
        "2024-01-02",
    ]
    assert plain.end == utc(2024, 1, 5)


def test_start_that_is_not_on_a_tick_begins_at_the_next_window() -> None:
    daily = DailyPartitionsDefinition(start_date=datetime(2024, 1, 1, 12))
    assert daily.get_first_partition_key() == "2024-01-02"
    assert daily.start == utc(2024, 1, 1, 12)


def test_hour_offset_moves_the_windows_but_keys_stay_dates() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=6, minute_offset=30)
    assert daily.get_partition_keys(current_time=utc(2024, 1, 3, 6)) == ["2024-01-01"]
    assert daily.time_window_for_partition_key("2024-01-01") == TimeWindow(
        utc(2024, 1, 1, 6, 30), utc(2024, 1, 2, 6, 30)
    )
    assert daily.has_partition_key("2024-01-01", current_time=utc(2024, 1, 3, 7))
    assert daily.hour_offset == 6
    assert daily.minute_offset == 30
    assert daily.cron_schedule == "30 6 * * *"


def test_hourly_keys_and_minute_offset() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01-00:00")
    assert hourly.get_partition_keys(current_time=utc(2024, 1, 1, 5, 30)) == [
        f"2024-01-01-{h:02d}:00" for h in range(5)
    ]
    offset = HourlyPartitionsDefinition(start_date="2024-01-01-00:00", minute_offset=30)
    assert offset.get_partition_keys(current_time=utc(2024, 1, 1, 5, 30)) == [
        f"2024-01-01-{h:02d}:30" for h in range(5)
    ]
    assert not offset.has_partition_key("2024-01-01-01:00", current_time=utc(2024, 1, 2))


def test_hourly_accepts_a_date_only_start() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2024-01-01")
    assert hourly.get_first_partition_key() == "2024-01-01-00:00"


def test_weekly_partitions_start_on_sunday_by_default() -> None:
    weekly = WeeklyPartitionsDefinition(start_date="2024-01-01")
    assert weekly.get_partition_keys(current_time=utc(2024, 1, 22)) == ["2024-01-07", "2024-01-14"]
    monday = WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=1)
    assert monday.get_partition_keys(current_time=utc(2024, 1, 22)) == [
        "2024-01-01",
        "2024-01-08",
        "2024-01-15",
    ]
    assert monday.time_window_for_partition_key("2024-01-08") == TimeWindow(
        utc(2024, 1, 8), utc(2024, 1, 15)
    )


def test_monthly_partitions_cross_years_and_leap_february() -> None:
    monthly = MonthlyPartitionsDefinition(start_date="2023-11-01")
    assert monthly.get_partition_keys(current_time=utc(2024, 2, 1)) == [
        "2023-11-01",
        "2023-12-01",
        "2024-01-01",
    ]
    assert monthly.time_window_for_partition_key("2024-02-01") == TimeWindow(
        utc(2024, 2, 1), utc(2024, 3, 1)
    )
    mid = MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=15, hour_offset=2)
    assert mid.get_partition_keys(current_time=utc(2024, 4, 15, 2)) == [
        "2024-01-15",
        "2024-02-15",
        "2024-03-15",
    ]
    assert mid.day_offset == 15


def test_membership_checks_the_form_and_the_bounds() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = utc(2024, 1, 10, 5)
    assert daily.has_partition_key("2024-01-05", current_time=now)
    assert not daily.has_partition_key("2024-01-10", current_time=now)
    assert not daily.has_partition_key("2023-12-31", current_time=now)
    assert not daily.has_partition_key("2024-1-5", current_time=now)
    assert not daily.has_partition_key("garbage", current_time=now)
    assert not daily.has_partition_key("2024-02-30", current_time=now)


def test_validate_partition_key_says_what_keys_look_like() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = utc(2024, 1, 10, 5)
    assert daily.validate_partition_key("2024-01-03", "asset 'orders'", now) == "2024-01-03"
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"asset 'orders' has no partition '2024/01/05': keys of daily partitions from "
            r"2024-01-01 \(UTC\) are window starts in the format '%Y-%m-%d', such as "
            r"'2024-01-01'\."
        ),
    ):
        daily.validate_partition_key("2024/01/05", "asset 'orders'", now)
    with pytest.raises(PartitionKeyError, match="comes before the first partition '2024-01-01'"):
        daily.validate_partition_key("2023-12-31", "asset 'orders'", now)
    with pytest.raises(
        PartitionKeyError,
        match=(
            r"'2024-01-12': it comes after the last partition '2024-01-09' of daily partitions "
            r"from 2024-01-01 \(UTC\) as of 2024-01-10T05:00:00\+00:00"
        ),
    ):
        daily.validate_partition_key("2024-01-12", "asset 'orders'", now)
    with pytest.raises(PartitionKeyError, match="partition key 5 for asset 'orders' must be a str"):
        daily.validate_partition_key(5, "asset 'orders'", now)  # type: ignore[arg-type]


def test_validate_before_any_partition_exists() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    with pytest.raises(PartitionKeyError, match=r"have no partitions yet as of 2023-01-01T00:00"):
        daily.validate_partition_key("2024-01-01", "asset 'a'", utc(2023, 1, 1))


def test_keys_in_range() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = utc(2024, 1, 10)
    key_range = PartitionKeyRange("2024-01-03", "2024-01-05")
    assert daily.get_partition_keys_in_range(key_range, now) == [
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
    ]
    assert daily.get_partition_keys_in_range(
        PartitionKeyRange("2024-01-04", "2024-01-04"), now
    ) == ["2024-01-04"]
    with pytest.raises(PartitionKeyError, match=r"its start '2024-01-05' comes after its end"):
        daily.get_partition_keys_in_range(PartitionKeyRange("2024-01-05", "2024-01-03"), now)
    with pytest.raises(
        PartitionKeyError,
        match=r"its end '2024-01-20' is not a partition of daily partitions from 2024-01-01",
    ):
        daily.get_partition_keys_in_range(PartitionKeyRange("2024-01-03", "2024-01-20"), now)
    with pytest.raises(PartitionKeyError, match=r"its start 'x' is not a partition"):
        daily.get_partition_keys_in_range(PartitionKeyRange("x", "2024-01-03"), now)


def test_time_windows_of_keys() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert daily.time_windows_for_partition_keys(["2024-01-02", "2024-01-01"]) == [
        TimeWindow(utc(2024, 1, 2), utc(2024, 1, 3)),
        TimeWindow(utc(2024, 1, 1), utc(2024, 1, 2)),
    ]
    assert daily.time_window_for_partition_keys(["2024-01-03", "2024-01-01"]) == TimeWindow(
        utc(2024, 1, 1), utc(2024, 1, 4)
    )
    assert daily.time_window_for_partition_key_range(
        PartitionKeyRange("2024-01-01", "2024-01-02")
    ) == TimeWindow(utc(2024, 1, 1), utc(2024, 1, 3))
    with pytest.raises(InvalidInvocationError, match="needs at least one key"):
        daily.time_window_for_partition_keys([])
    with pytest.raises(PartitionKeyError, match=r"'nope' is not a partition key: keys of daily"):
        daily.time_window_for_partition_key("nope")
    start, end = daily.time_window_for_partition_key("2024-01-01")
    assert (start, end) == (utc(2024, 1, 1), utc(2024, 1, 2))


def test_keys_in_a_time_window_overlap_it_and_exist() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    now = utc(2024, 1, 10)
    window = TimeWindow(utc(2024, 1, 2, 12), utc(2024, 1, 4))
    assert daily.get_partition_keys_in_time_window(window, now) == ["2024-01-02", "2024-01-03"]
    wide = TimeWindow(utc(2023, 12, 1), utc(2024, 2, 1))
    assert daily.get_partition_keys_in_time_window(wide, now) == daily.get_partition_keys(now)
    empty = TimeWindow(utc(2024, 1, 2), utc(2024, 1, 2))
    assert daily.get_partition_keys_in_time_window(empty, now) == []


def test_key_for_a_moment() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01")
    assert daily.get_partition_key_for_time(utc(2024, 1, 5, 13)) == "2024-01-05"
    assert daily.get_partition_key_for_time(utc(2024, 1, 5)) == "2024-01-05"


def test_many_hourly_partitions() -> None:
    hourly = HourlyPartitionsDefinition(start_date="2010-01-01-00:00")
    now = utc(2010, 1, 1) + timedelta(hours=100_000)
    keys = hourly.get_partition_keys(current_time=now)
    assert len(keys) == 100_000 == hourly.get_num_partitions(current_time=now)
    assert len(set(keys)) == 100_000
    assert keys[-1] == hourly.get_last_partition_key(current_time=now) == "2021-05-29-15:00"
    assert hourly.has_partition_key("2015-06-01-12:00", current_time=now)


def test_custom_format() -> None:
    daily = DailyPartitionsDefinition(start_date="2024/01/01", fmt="%Y/%m/%d")
    assert daily.get_partition_keys(current_time=utc(2024, 1, 3)) == ["2024/01/01", "2024/01/02"]
    assert daily.has_partition_key("2024/01/02", current_time=utc(2024, 1, 3))
    assert not daily.has_partition_key("2024-01-02", current_time=utc(2024, 1, 3))
    assert daily.fmt == "%Y/%m/%d"


def test_format_too_coarse_for_the_cadence_is_rejected() -> None:
    with pytest.raises(
        DefinitionError,
        match=r"fmt '%Y-%m' of DailyPartitionsDefinition gives two windows the same key '2024-01'",
    ):
        DailyPartitionsDefinition(start_date="2024-01", fmt="%Y-%m")


def test_general_definition_equals_the_matching_preset() -> None:
    general = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * * *"
    )
    assert general == DailyPartitionsDefinition(start_date="2024-01-01")
    assert hash(general) == hash(DailyPartitionsDefinition(start_date="2024-01-01"))
    assert TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="@weekly"
    ) == WeeklyPartitionsDefinition(start_date="2024-01-01")
    assert TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 1 * *"
    ) == MonthlyPartitionsDefinition(start_date="2024-01-01")


def test_equality_is_by_value() -> None:
    assert DailyPartitionsDefinition(start_date="2024-01-01") == DailyPartitionsDefinition(
        start_date="2024-01-01"
    )
    assert len({DailyPartitionsDefinition(start_date="2024-01-01") for _ in range(3)}) == 1
    different = [
        DailyPartitionsDefinition(start_date="2024-01-02"),
        DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-01"),
        DailyPartitionsDefinition(start_date="2024-01-01", timezone="Europe/Paris"),
        DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1),
        DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=1),
        HourlyPartitionsDefinition(start_date="2024-01-01-00:00"),
    ]
    for other in different:
        assert other != DailyPartitionsDefinition(start_date="2024-01-01")


def test_describe_and_repr() -> None:
    assert (
        DailyPartitionsDefinition(start_date="2024-01-01").describe()
        == "daily partitions from 2024-01-01 (UTC)"
    )
    assert (
        HourlyPartitionsDefinition(
            start_date="2024-01-01-00:00", end_date="2024-02-01-00:00", timezone="Europe/Paris"
        ).describe()
        == "hourly partitions from 2024-01-01-00:00 to 2024-02-01-00:00 (Europe/Paris)"
    )
    assert (
        DailyPartitionsDefinition(start_date="2024-01-01", hour_offset=6, end_offset=1).describe()
        == "daily (cron '0 6 * * *') partitions from 2024-01-01 (UTC, end_offset=1)"
    )
    assert "DailyPartitionsDefinition(start='2024-01-01T00:00:00+00:00'" in repr(
        DailyPartitionsDefinition(start_date="2024-01-01")
    )


def test_naive_and_aware_starts_are_read_in_the_timezone() -> None:
    naive = DailyPartitionsDefinition(start_date=datetime(2024, 1, 1), timezone="America/New_York")
    aware = DailyPartitionsDefinition(start_date=utc(2024, 1, 1, 5), timezone="America/New_York")
    assert naive == aware
    assert naive.start.isoformat() == "2024-01-01T00:00:00-05:00"
    assert naive.timezone == "America/New_York"


def test_naive_current_time_is_read_in_the_timezone() -> None:
    daily = DailyPartitionsDefinition(start_date="2024-01-01", timezone="Asia/Tokyo")
    assert daily.get_last_partition_key(current_time=datetime(2024, 1, 3, 0, 30)) == "2024-01-02"
    with pytest.raises(InvalidInvocationError, match="current_time must be a datetime"):
        daily.get_partition_keys(current_time="2024-01-03")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: DailyPartitionsDefinition(start_date="01/01/2024"),
            r"start_date '01/01/2024' of DailyPartitionsDefinition does not match the format "
            r"'%Y-%m-%d': write it like '2024-01-01'",
        ),
        (
            lambda: DailyPartitionsDefinition(start_date="2024-01-05", end_date="2024-01-01"),
            r"DailyPartitionsDefinition ends \(end_date=2024-01-01 00:00:00\+00:00\) before it "
            r"starts",
        ),
        (
            lambda: DailyPartitionsDefinition(start_date="2024-01-01", timezone="America/New_Yrok"),
            r"timezone 'America/New_Yrok' of DailyPartitionsDefinition is not known.*"
            r"Did you mean 'America/New_York'",
        ),
        (
            lambda: HourlyPartitionsDefinition(start_date="2024-01-01", minute_offset=60),
            r"minute_offset of HourlyPartitionsDefinition must be a whole number from 0 to 59, "
            r"got 60",
        ),
        (
            lambda: MonthlyPartitionsDefinition(start_date="2024-01-01", day_offset=29),
            r"day_offset of MonthlyPartitionsDefinition must be a whole number from 1 to 28",
        ),
        (
            lambda: WeeklyPartitionsDefinition(start_date="2024-01-01", day_offset=7),
            r"day_offset of WeeklyPartitionsDefinition must be a whole number from 0 to 6",
        ),
        (
            lambda: DailyPartitionsDefinition(start_date="2024-01-01", end_offset=1.5),  # type: ignore[arg-type]
            r"end_offset of DailyPartitionsDefinition must be a whole number of partitions",
        ),
        (
            lambda: DailyPartitionsDefinition(start_date=20240101),  # type: ignore[arg-type]
            r"start_date of DailyPartitionsDefinition must be a datetime or a string",
        ),
        (
            lambda: TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y-%m-%d"),
            r"TimeWindowPartitionsDefinition needs a cron_schedule",
        ),
        (
            lambda: TimeWindowPartitionsDefinition(
                start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 31 * *"
            ),
            r"cron_schedule '0 0 31 \* \*' of TimeWindowPartitionsDefinition does not repeat the "
            r"same way every day, week or month",
        ),
        (
            lambda: TimeWindowPartitionsDefinition(
                start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 1 1 *"
            ),
            r"does not repeat the same way every day, week or month",
        ),
        (
            lambda: TimeWindowPartitionsDefinition(
                start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 1 * 1"
            ),
            r"but not both and not the months",
        ),
        (
            lambda: TimeWindowPartitionsDefinition(
                start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 */6 * * *"
            ),
            r"fmt '%Y-%m-%d' of TimeWindowPartitionsDefinition gives two windows the same key",
        ),
    ],
)
def test_bad_definitions_are_rejected(build: object, message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        build()  # type: ignore[operator]


def test_cron_syntax_errors_are_cron_errors() -> None:
    with pytest.raises(
        CronError,
        match=(
            r"cron_schedule of TimeWindowPartitionsDefinition: invalid cron string "
            r"'61 \* \* \* \*': minute field '61' is out of range 0-59"
        ),
    ):
        TimeWindowPartitionsDefinition(
            start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="61 * * * *"
        )
    with pytest.raises(CronError, match="it has 4 fields"):
        TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="0 0 * *")
    with pytest.raises(DefinitionError, match=r"cron_schedule of TimeWindowPartitionsDefinition"):
        TimeWindowPartitionsDefinition(start="2024-01-01", fmt="%Y-%m-%d", cron_schedule=5)  # type: ignore[arg-type]


def test_general_definition_with_offsets_from_cron() -> None:
    weekly = TimeWindowPartitionsDefinition(
        start="2024-01-01", fmt="%Y-%m-%d", cron_schedule="30 6 * * 7"
    )
    assert weekly == WeeklyPartitionsDefinition(
        start_date="2024-01-01", minute_offset=30, hour_offset=6, day_offset=0
    )
    assert weekly.get_first_partition_key() == "2024-01-07"
