from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice, pairwise
from zoneinfo import ZoneInfo

import pytest

from knoll.defs.cron import MACROS, CronSchedule, CronUnion, parse_cron
from knoll.errors import CronError, InvalidInvocationError

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(cron: str, after: datetime, count: int) -> list[datetime]:
    return list(islice(CronSchedule.parse(cron).iter_after(after), count))


def walls(times: list[datetime]) -> list[str]:
    return [f"{t:%m-%d %H:%M %Z}" for t in times]


def instant(dt: datetime) -> datetime:
    # Aware datetimes on the second pass of a repeated hour never compare equal to other
    # timezones, and same-zone subtraction uses wall time: compare in UTC.
    return dt.astimezone(UTC)


def gaps(times: list[datetime]) -> set[timedelta]:
    return {instant(b) - instant(a) for a, b in pairwise(times)}


# -- parsing -------------------------------------------------------------------------------


def test_star_means_every_value() -> None:
    cron = CronSchedule.parse("* * * * *")
    assert cron.minutes == frozenset(range(60))
    assert cron.hours == frozenset(range(24))
    assert cron.days_of_month == frozenset(range(1, 32))
    assert cron.months == frozenset(range(1, 13))
    assert cron.days_of_week == frozenset(range(7))


def test_lists_ranges_and_steps() -> None:
    cron = CronSchedule.parse("1,2,30 1-5 */10 10-12/2 1-5/2")
    assert cron.minutes == {1, 2, 30}
    assert cron.hours == {1, 2, 3, 4, 5}
    assert cron.days_of_month == {1, 11, 21, 31}
    assert cron.months == {10, 12}
    assert cron.days_of_week == {1, 3, 5}


def test_stepped_range_and_start_with_step() -> None:
    assert CronSchedule.parse("10-40/10 * * * *").minutes == {10, 20, 30, 40}
    assert CronSchedule.parse("*/15 * * * *").minutes == {0, 15, 30, 45}
    # 'a/step' runs from a to the end of the field.
    assert CronSchedule.parse("50/5 * * * *").minutes == {50, 55}
    assert CronSchedule.parse("0 0 * * 1/2").days_of_week == {1, 3, 5}


def test_month_and_weekday_names_are_case_insensitive() -> None:
    cron = CronSchedule.parse("0 0 * jan,Mar-may mon-FRI")
    assert cron.months == {1, 3, 4, 5}
    assert cron.days_of_week == {1, 2, 3, 4, 5}
    assert CronSchedule.parse("0 0 * DEC sun,Sat").days_of_week == {0, 6}


def test_seven_is_sunday() -> None:
    assert CronSchedule.parse("0 0 * * 7").days_of_week == {0}
    assert CronSchedule.parse("0 0 * * 5-7").days_of_week == {5, 6, 0}


def test_a_weekday_range_may_end_on_sunday() -> None:
    assert CronSchedule.parse("0 0 * * MON-SUN").days_of_week == frozenset(range(7))
    assert CronSchedule.parse("0 0 * * 5-0").days_of_week == {5, 6, 0}


def test_backwards_range_suggests_two_parts_in_the_same_style() -> None:
    with pytest.raises(CronError, match=r"for example 'FRI-SAT,SUN-TUE'"):
        CronSchedule.parse("0 0 * * FRI-TUE")
    with pytest.raises(CronError, match=r"for example 'NOV-DEC,JAN-FEB'"):
        CronSchedule.parse("0 0 * NOV-FEB *")
    with pytest.raises(CronError, match=r"for example '22-23,0-2'"):
        CronSchedule.parse("0 22-2 * * *")


@pytest.mark.parametrize("macro", sorted(MACROS))
def test_macros_expand_to_their_cron_strings(macro: str) -> None:
    expanded = CronSchedule.parse(MACROS[macro])
    parsed = CronSchedule.parse(macro.upper())
    assert parsed.text == macro.upper()
    assert (parsed.minutes, parsed.hours, parsed.days_of_month) == (
        expanded.minutes,
        expanded.hours,
        expanded.days_of_month,
    )
    assert (parsed.months, parsed.days_of_week) == (expanded.months, expanded.days_of_week)


def test_macro_meanings() -> None:
    start = utc(2024, 1, 3, 10, 15)  # a Wednesday
    assert CronSchedule.parse("@hourly").next_after(start) == utc(2024, 1, 3, 11)
    assert CronSchedule.parse("@daily").next_after(start) == utc(2024, 1, 4)
    assert CronSchedule.parse("@midnight").next_after(start) == utc(2024, 1, 4)
    assert CronSchedule.parse("@weekly").next_after(start) == utc(2024, 1, 7)
    assert CronSchedule.parse("@monthly").next_after(start) == utc(2024, 2, 1)
    assert CronSchedule.parse("@yearly").next_after(start) == utc(2025, 1, 1)
    assert CronSchedule.parse("@annually").next_after(start) == utc(2025, 1, 1)


def test_extra_whitespace_is_fine() -> None:
    assert CronSchedule.parse("  0\t6  * *   MON ").hours == {6}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0 25 * * *", "hour field '25' is out of range 0-23"),
        ("60 * * * *", "minute field '60' is out of range 0-59"),
        ("0 0 0 * *", "day-of-month field '0' is out of range 1-31"),
        ("0 0 * 13 *", "month field '13' is out of range 1-12"),
        ("0 0 * * 8", r"day-of-week field '8' is out of range 0-7 \(0 and 7 are Sunday\)"),
        ("0 0 * * 1-9", "day-of-week field '1-9' is out of range 0-7"),
        ("* * * *", "it has 4 fields"),
        ("* * * * * *", r"it has 6 fields \(knoll cron strings have no seconds or year field\)"),
        ("", "it has 0 fields"),
        ("*/0 * * * *", "minute field '\\*/0': the step '0' must be a whole number of 1 or more"),
        ("*/x * * * *", "minute field '\\*/x': the step 'x' must be a whole number"),
        ("1,,2 * * * *", "minute field '1,,2' has an empty item between commas"),
        ("a * * * *", "minute field 'a': 'a' is not a whole number"),
        ("-1 * * * *", "minute field '-1': '' is not a whole number"),
        ("0 0 * * 5-1", "day-of-week field '5-1' is a range that goes backwards"),
        ("0 0 * FOO *", r"month field 'FOO': 'FOO' is not a number or a name \(JAN..DEC\)"),
        ("0 0 * * MOM", r"'MOM' is not a number or a name \(SUN..SAT\)\. Did you mean 'MON'\?"),
        ("0 0 30 2 *", "day-of-month field '30' never happens in the months of the month field"),
        ("0 0 31 4,6,9,11 *", "they have at most 30 days"),
        ("0 0 15W * *", r"day-of-month field '15W': only 'L' \(the last day of the month\)"),
        ("0 0 * * FRI#6", "day-of-week field 'FRI#6': the week number after '#' must be 1 to 5"),
        ("0 0 * * L", r"day-of-week field 'L' needs a day before it, for example '5L'"),
        ("0 0 * * 9L", "day-of-week field '9L' is out of range 0-7"),
    ],
)
def test_parse_errors_name_the_string_the_field_and_give_an_example(
    text: str, problem: str
) -> None:
    with pytest.raises(CronError, match=problem) as info:
        CronSchedule.parse(text)
    message = str(info.value)
    assert message.startswith(f"invalid cron string {text!r}: ")
    assert "for example '0 6 * * MON-FRI'" in message
    assert "minute hour day-of-month month day-of-week" in message


def test_unknown_macro_suggests_the_closest() -> None:
    with pytest.raises(CronError, match=r"'@daly' is not a known macro .* Did you mean '@daily'"):
        CronSchedule.parse("@daly")


def test_cron_must_be_a_string() -> None:
    with pytest.raises(CronError, match="a cron string must be a str, got int 5"):
        CronSchedule.parse(5)  # type: ignore[arg-type]


def test_february_29_is_possible() -> None:
    assert fires("0 0 29 2 *", utc(2024, 3, 1), 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]


def test_schedules_compare_by_content() -> None:
    assert CronSchedule.parse("0 0 * * *") == CronSchedule.parse("0 0 * * *")
    assert str(CronSchedule.parse("@daily")) == "@daily"


# -- stepping through time (UTC) ------------------------------------------------------------


def test_next_after_is_strictly_after() -> None:
    cron = CronSchedule.parse("*/15 * * * *")
    assert cron.next_after(utc(2024, 1, 1, 10, 15)) == utc(2024, 1, 1, 10, 30)
    assert cron.next_after(datetime(2024, 1, 1, 10, 14, 59, 999, tzinfo=UTC)) == utc(
        2024, 1, 1, 10, 15
    )
    assert cron.previous_before(utc(2024, 1, 1, 10, 15)) == utc(2024, 1, 1, 10, 0)
    assert cron.previous_before(datetime(2024, 1, 1, 10, 15, 0, 1, tzinfo=UTC)) == utc(
        2024, 1, 1, 10, 15
    )


def test_rolls_over_hours_days_months_and_years() -> None:
    assert CronSchedule.parse("5 * * * *").next_after(utc(2024, 12, 31, 23, 30)) == utc(
        2025, 1, 1, 0, 5
    )
    assert CronSchedule.parse("0 0 31 * *").next_after(utc(2024, 4, 1)) == utc(2024, 5, 31)
    assert CronSchedule.parse("0 0 31 * *").previous_before(utc(2024, 5, 1)) == utc(2024, 3, 31)
    assert CronSchedule.parse("0 0 1 1 *").previous_before(utc(2024, 1, 1)) == utc(2023, 1, 1)


def test_previous_before_crosses_years_and_skips_missing_days() -> None:
    cron = CronSchedule.parse("0 0 29 2 *")
    assert cron.previous_before(utc(2024, 2, 1)) == utc(2020, 2, 29)
    # 2100 is not a leap year: the field-by-field search jumps eight years without trouble.
    assert cron.next_after(utc(2097, 1, 1)) == utc(2104, 2, 29)


def test_weekdays() -> None:
    times = fires("0 9 * * MON-FRI", utc(2024, 1, 5, 10), 3)  # Friday after 09:00
    assert times == [utc(2024, 1, 8, 9), utc(2024, 1, 9, 9), utc(2024, 1, 10, 9)]


def test_restricted_day_of_month_and_weekday_fire_on_either() -> None:
    # The 13th of each month, and every Friday.
    times = fires("0 0 13 * FRI", utc(2024, 1, 1), 4)
    assert times == [utc(2024, 1, 5), utc(2024, 1, 12), utc(2024, 1, 13), utc(2024, 1, 19)]


def test_a_day_field_starting_with_star_restricts_together_with_the_other() -> None:
    # As in Vixie cron: '*/2' does not count as a restriction, so the days must match both.
    times = fires("0 0 */2 * MON", utc(2023, 12, 31), 3)
    assert times == [utc(2024, 1, 1), utc(2024, 1, 15), utc(2024, 1, 29)]
    assert all(t.day % 2 == 1 and t.weekday() == 0 for t in times)


def test_fixed_offset_timezone() -> None:
    plus_two = timezone(timedelta(hours=2))
    nxt = CronSchedule.parse("0 6 * * *").next_after(datetime(2024, 1, 1, 7, tzinfo=plus_two))
    assert nxt == datetime(2024, 1, 2, 6, tzinfo=plus_two)
    assert nxt.tzinfo is plus_two


def test_result_is_in_the_timezone_of_the_argument() -> None:
    nxt = CronSchedule.parse("0 6 * * *").next_after(datetime(2024, 5, 1, tzinfo=BERLIN))
    assert nxt.tzinfo is BERLIN
    assert (nxt.hour, nxt.day) == (6, 1)


def test_naive_datetimes_are_rejected() -> None:
    cron = CronSchedule.parse("0 0 * * *")
    with pytest.raises(InvalidInvocationError, match=r"next_after\(.*\) needs a timezone-aware"):
        cron.next_after(datetime(2024, 1, 1))
    with pytest.raises(InvalidInvocationError, match="previous_before"):
        cron.previous_before(datetime(2024, 1, 1))


def _reference_matches(cron: CronSchedule, wall: datetime) -> bool:
    weekday = (wall.weekday() + 1) % 7
    in_month = wall.day in cron.days_of_month
    in_week = weekday in cron.days_of_week
    day = (in_month or in_week) if cron.either_day else (in_month and in_week)
    return (
        day
        and wall.minute in cron.minutes
        and wall.hour in cron.hours
        and wall.month in cron.months
    )


def _reference_fires(cron: CronSchedule, start: datetime, end: datetime) -> list[datetime]:
    """Minute by minute in UTC: a fire time is an instant whose wall time matches."""
    tz = start.tzinfo
    out: list[datetime] = []
    t = start.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t < end:
        local = t.astimezone(tz)
        if _reference_matches(cron, local.replace(tzinfo=None)):
            out.append(local)
        t += timedelta(minutes=1)
    return out


@pytest.mark.parametrize(
    "text",
    [
        "* * * * *",
        "*/7 * * * *",
        "0 */5 * * *",
        "13 3,15 * * *",
        "0 0 1,15 * *",
        "30 12 * * TUE,SAT",
        "0 0 31 * FRI",
        "5-9/2 22-23 * * *",
        "@monthly",
    ],
)
def test_matches_a_minute_by_minute_reference_in_utc(text: str) -> None:
    cron = CronSchedule.parse(text)
    start, end = utc(2024, 2, 20, 5, 7), utc(2024, 3, 4)
    expected = _reference_fires(cron, start, end)
    got = list(_take_until(cron.iter_after(start), end))
    assert got == expected
    backwards: list[datetime] = []
    t = end
    while True:
        t = cron.previous_before(t)
        if instant(t) <= instant(start):
            break
        backwards.append(t)
    assert backwards[::-1] == expected


def _take_until(times: Iterator[datetime], end: datetime) -> list[datetime]:
    out: list[datetime] = []
    for t in times:
        if instant(t) >= instant(end):
            break
        out.append(t)
    return out


# -- daylight saving time -------------------------------------------------------------------
# America/New_York 2024: clocks spring forward on March 10 at 02:00 (to 03:00) and fall back
# on November 3 at 02:00 (to 01:00). Europe/Berlin 2024: forward on March 31 at 02:00 (to
# 03:00), back on October 27 at 03:00 (to 02:00).


def test_missing_wall_time_fires_at_the_end_of_the_gap_new_york() -> None:
    times = fires("30 2 * * *", datetime(2024, 3, 9, tzinfo=NEW_YORK), 3)
    assert walls(times) == ["03-09 02:30 EST", "03-10 03:00 EDT", "03-11 02:30 EDT"]
    assert instant(times[1]) == utc(2024, 3, 10, 7)


def test_missing_wall_time_fires_at_the_end_of_the_gap_berlin() -> None:
    times = fires("30 2 * * *", datetime(2024, 3, 30, 12, tzinfo=BERLIN), 2)
    assert walls(times) == ["03-31 03:00 CEST", "04-01 02:30 CEST"]
    assert instant(times[0]) == utc(2024, 3, 31, 1)


def test_every_wall_time_in_the_gap_fires_once_at_its_end() -> None:
    times = fires("0,15,30,45 2 * * *", datetime(2024, 3, 10, tzinfo=NEW_YORK), 2)
    assert walls(times) == ["03-10 03:00 EDT", "03-11 02:00 EDT"]


def test_repeated_wall_time_fires_once_on_its_second_pass_new_york() -> None:
    times = fires("30 1 * * *", datetime(2024, 11, 2, 12, tzinfo=NEW_YORK), 2)
    assert walls(times) == ["11-03 01:30 EST", "11-04 01:30 EST"]
    assert instant(times[0]) == utc(2024, 11, 3, 6, 30)


def test_repeated_wall_time_fires_once_on_its_second_pass_berlin() -> None:
    times = fires("30 2 * * *", datetime(2024, 10, 26, 12, tzinfo=BERLIN), 2)
    assert walls(times) == ["10-27 02:30 CET", "10-28 02:30 CET"]
    assert instant(times[0]) == utc(2024, 10, 27, 1, 30)


def test_from_inside_the_repeated_hour() -> None:
    cron = CronSchedule.parse("30 1 * * *")
    first_pass = utc(2024, 11, 3, 5, 45).astimezone(NEW_YORK)  # 01:45 EDT
    second_pass = utc(2024, 11, 3, 6, 45).astimezone(NEW_YORK)  # 01:45 EST
    assert instant(cron.next_after(first_pass)) == utc(2024, 11, 3, 6, 30)
    assert instant(cron.next_after(second_pass)) == utc(2024, 11, 4, 6, 30)
    assert instant(cron.previous_before(second_pass)) == utc(2024, 11, 3, 6, 30)
    assert instant(cron.previous_before(first_pass)) == utc(2024, 11, 2, 5, 30)


def test_hourly_fires_every_hour_across_fall_back_new_york() -> None:
    times = fires("30 * * * *", datetime(2024, 11, 3, tzinfo=NEW_YORK), 4)
    assert walls(times) == [
        "11-03 00:30 EDT",
        "11-03 01:30 EDT",
        "11-03 01:30 EST",
        "11-03 02:30 EST",
    ]
    assert gaps(times) == {timedelta(hours=1)}


def test_hourly_fires_every_hour_across_spring_forward_new_york() -> None:
    times = fires("30 * * * *", datetime(2024, 3, 10, 1, tzinfo=NEW_YORK), 2)
    assert walls(times) == ["03-10 01:30 EST", "03-10 03:30 EDT"]
    assert gaps(times) == {timedelta(hours=1)}


def test_hourly_fires_every_hour_across_both_changes_berlin() -> None:
    back = fires("0 * * * *", datetime(2024, 10, 27, 1, 30, tzinfo=BERLIN), 3)
    assert walls(back) == ["10-27 02:00 CEST", "10-27 02:00 CET", "10-27 03:00 CET"]
    forward = fires("0 * * * *", datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN), 2)
    assert walls(forward) == ["03-31 03:00 CEST", "03-31 04:00 CEST"]
    assert gaps(forward) == {timedelta(hours=1)}
    assert gaps(back) == {timedelta(hours=1)}


def test_sub_hourly_schedule_keeps_its_interval_in_the_repeated_hour() -> None:
    start = utc(2024, 11, 3, 5, 10).astimezone(NEW_YORK)  # 01:10 EDT
    times = fires("*/20 * * * *", start, 6)
    assert walls(times) == [
        "11-03 01:20 EDT",
        "11-03 01:40 EDT",
        "11-03 01:00 EST",
        "11-03 01:20 EST",
        "11-03 01:40 EST",
        "11-03 02:00 EST",
    ]
    assert gaps(times) == {timedelta(minutes=20)}
    # Starting on the second pass must not go back to the first.
    second = utc(2024, 11, 3, 6, 10).astimezone(NEW_YORK)  # 01:10 EST
    assert walls(fires("*/20 * * * *", second, 1)) == ["11-03 01:20 EST"]


@pytest.mark.parametrize("tz", [NEW_YORK, BERLIN], ids=["new_york", "berlin"])
@pytest.mark.parametrize("text", ["*/20 * * * *", "30 * * * *", "0 * * * MON-SUN"])
def test_hourly_and_finer_match_elapsed_time_reference_across_dst(tz: ZoneInfo, text: str) -> None:
    cron = CronSchedule.parse(text)
    for start, end in [
        (datetime(2024, 3, 9, 20, tzinfo=tz), datetime(2024, 4, 1, 6, tzinfo=tz)),
        (datetime(2024, 10, 26, 20, tzinfo=tz), datetime(2024, 11, 4, 6, tzinfo=tz)),
    ]:
        expected = _reference_fires(cron, start, end)
        got = _take_until(cron.iter_after(start), end)
        assert [instant(t) for t in got] == [instant(t) for t in expected]
        assert walls(got) == walls(expected)


@pytest.mark.parametrize("tz", [NEW_YORK, BERLIN], ids=["new_york", "berlin"])
@pytest.mark.parametrize("text", ["30 2 * * *", "30 1 * * *", "0,30 1-3 * * *", "*/20 * * * *"])
def test_previous_before_walks_back_through_the_same_times(tz: ZoneInfo, text: str) -> None:
    cron = CronSchedule.parse(text)
    for day in (datetime(2024, 3, 9, tzinfo=tz), datetime(2024, 10, 26, tzinfo=tz)):
        end = day + timedelta(days=40)
        forward = _take_until(cron.iter_after(day), end)
        backward: list[datetime] = []
        t = forward[-1]
        while instant(t) > instant(forward[0]):
            t = cron.previous_before(t)
            backward.append(t)
        assert [x.astimezone(UTC) for x in backward[::-1]] == [
            x.astimezone(UTC) for x in forward[:-1]
        ]
        # Strictly increasing instants: nothing fires twice.
        instants = [x.astimezone(UTC) for x in forward]
        assert instants == sorted(set(instants))


# -- several cron strings ---------------------------------------------------------------------


def test_union_fires_when_any_fires_and_only_once_per_instant() -> None:
    union = parse_cron(["45 23 * * SAT", "30 9 * * SUN", "30 9 * * 0"])
    assert isinstance(union, CronUnion)
    assert union.text == ("45 23 * * SAT", "30 9 * * SUN", "30 9 * * 0")
    times = list(islice(union.iter_after(utc(2024, 1, 1)), 3))
    assert times == [utc(2024, 1, 6, 23, 45), utc(2024, 1, 7, 9, 30), utc(2024, 1, 13, 23, 45)]
    assert union.previous_before(utc(2024, 1, 7, 12)) == utc(2024, 1, 7, 9, 30)
    assert union.next_after(utc(2024, 1, 7, 9, 30)) == utc(2024, 1, 13, 23, 45)


def test_parse_cron_accepts_one_string_or_a_list() -> None:
    assert parse_cron("@daily") == CronSchedule.parse("@daily")
    assert parse_cron(["@daily"]) == CronSchedule.parse("@daily")
    with pytest.raises(CronError, match="a cron string or a non-empty list of them, got \\[\\]"):
        parse_cron([])
    with pytest.raises(CronError, match="invalid cron string '0 24 \\* \\* \\*': hour field"):
        parse_cron(["@daily", "0 24 * * *"])


def test_a_schedule_without_a_next_fire_time_says_so() -> None:
    # 'FRI#5' in February needs a leap year whose February starts on a Friday (2036, 2064...):
    # none before the calendar ends.
    schedule = CronSchedule.parse("0 0 * 2 FRI#5")
    assert schedule.next_after(utc(2024, 1, 1)) == utc(2036, 2, 29)
    with pytest.raises(CronError, match=r"cron string '0 0 \* 2 FRI#5' has no fire time after"):
        schedule.next_after(utc(9990, 1, 1))
    with pytest.raises(CronError, match="check that its day-of-month, month and day-of-week"):
        CronSchedule.parse("0 0 1 1 *").next_after(utc(9999, 6, 1))
