"""knoll's cron schedules side by side with cronsim on thousands of generated strings.

Knoll steps through wall-clock times with cronsim (on a canonical form of the string) and
applies its own daylight saving rules on top; this test runs cronsim directly on the string
as written, in the same timezone, and compares the fire times. They must agree except where a
decision below says why knoll differs: each one follows what Dagster does
(``dagster/_utils/schedules.py``).
"""

from __future__ import annotations

import functools
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim, CronSimError

from knoll.defs.cron import CronSchedule
from knoll.errors import CronError

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe")
MONTHS = [*["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]]
DAYS = [*["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]]
FIRES = 6


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def value(self, low: int, high: int, names: list[str] | None) -> str:
        number = self.rng.randint(low, high)
        if names and number - low < len(names) and self.rng.random() < 0.4:
            return names[number - low]
        return str(number)

    def item(self, low: int, high: int, names: list[str] | None) -> str:
        kind = self.rng.random()
        a, b = sorted(self.rng.sample(range(low, high + 1), 2))
        if kind < 0.3:
            return self.value(low, high, names)
        if kind < 0.5:
            return f"{a}-{b}"
        if kind < 0.65:
            return f"*/{self.rng.randint(1, high - low + 1)}"
        if kind < 0.8:
            return f"{a}-{b}/{self.rng.randint(1, 5)}"
        return f"{self.rng.randint(low, high)}/{self.rng.randint(1, 10)}"

    def field(self, low: int, high: int, star: float, names: list[str] | None = None) -> str:
        if self.rng.random() < star:
            return "*"
        count = self.rng.choice((1, 1, 1, 2, 3))
        return ",".join(self.item(low, high, names) for _ in range(count))

    def expression(self) -> str:
        rng = self.rng
        # Most hour fields stay near the night hours that daylight saving changes touch.
        hour = self.field(0, 4, 0.3) if rng.random() < 0.6 else self.field(0, 23, 0.3)
        day = self.field(1, 31, 0.6)
        weekday = self.field(0, 7, 0.6, DAYS)
        special = rng.random()
        if special < 0.05:
            day = rng.choice(("L", "LW"))
        elif special < 0.1:
            weekday = rng.choice(("5L", "FRI#2", "1#1", "SUN#5", "0L"))
        return " ".join(
            (self.field(0, 59, 0.3), hour, day, self.field(1, 12, 0.6, MONTHS), weekday)
        )

    def start(self, zone: ZoneInfo) -> datetime:
        rng = self.rng
        year = rng.choice((2023, 2024, 2025, 2028))  # 2024 and 2028 have a 29 February
        changes = _clock_changes(zone.key, year)
        if changes and rng.random() < 0.6:
            # The evening before the clocks change, or the night they do.
            day = datetime.combine(rng.choice(changes), time(0), tzinfo=zone)
            return day + timedelta(minutes=rng.randint(-6 * 60, 3 * 60))
        month = rng.choice((1, 2, 3, 4, 10, 11, 12))
        return datetime(
            year, month, rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59), tzinfo=zone
        )


@functools.cache
def _clock_changes(zone_name: str, year: int) -> tuple[date, ...]:
    """The local days of ``year`` on which ``zone_name`` changes its UTC offset."""
    zone = ZoneInfo(zone_name)
    days = (date(year, 1, 1) + timedelta(days=n) for n in range(365))
    return tuple(
        day
        for day in days
        if datetime.combine(day, time(0), tzinfo=zone).utcoffset()
        != datetime.combine(day, time(23, 59), tzinfo=zone).utcoffset()
    )


def _knoll_fires(schedule: CronSchedule, start: datetime) -> list[datetime]:
    fires, current = [], start
    for _ in range(FIRES):
        current = schedule.next_after(current)
        fires.append(current.astimezone(UTC))
    return fires


def _cronsim_fires(text: str, start: datetime) -> list[datetime]:
    fires: list[datetime] = []
    try:
        for fire in CronSim(text, start):
            fires.append(fire.astimezone(UTC))
            if len(fires) == FIRES:
                break
    except StopIteration:
        pass
    return fires


def _at_a_clock_change(instant: datetime, zone: ZoneInfo) -> bool:
    """True when ``instant`` reads as a wall time that happens twice, or is the instant the
    clocks resumed after springing forward: the two places where the DST rules apply."""
    local = instant.astimezone(zone).replace(tzinfo=None)
    repeated = (
        local.replace(tzinfo=zone, fold=0).utcoffset()
        != local.replace(tzinfo=zone, fold=1).utcoffset()
    )
    resumed = (instant - timedelta(minutes=1)).astimezone(zone).utcoffset() != instant.astimezone(
        zone
    ).utcoffset()
    return repeated or resumed


def _half_hour_slip(text: str, instant: datetime, zone: ZoneInfo) -> bool:
    """Decision 4: cronsim loses the first half hour after a 30-minute clock change.

    When the minute or hour field starts with ``*``, cronsim steps hours by adding 3600 s to
    the instant; on the day Lord Howe moves its clocks by 30 minutes that lands on ``:30``,
    so a ``* 10 * * *`` schedule starts at 10:30 that day. Knoll (like Dagster, which finds
    the wall time first and then its instant) fires from 10:00.
    """
    minute, hour = text.split()[:2]
    local = instant.astimezone(zone)
    return (
        zone.key == "Australia/Lord_Howe"
        and (minute.startswith("*") or hour.startswith("*"))
        and local.minute < 30
        and local.date() in _clock_changes(zone.key, local.year)
    )


def _sunday_from_a_step(text: str, schedule: CronSchedule) -> bool:
    """Decision 1: cronsim's day-of-week steps run to 7, knoll's (and ``*/n``) to Saturday.

    ``1/2`` is Monday, Wednesday, Friday in knoll, as ``*/2`` is Sunday to Saturday in both;
    cronsim also fires on Sunday, the 7 that ``1-7/2`` reaches. Knoll keeps a week of 0 to 6
    for stepping, as croniter (the parser behind Dagster's schedules) does, so that a stepped
    list never gains a second Sunday.
    """
    weekday_field = text.split()[4]
    weekdays = {
        item % 7 for item in CronSim(text, datetime(2024, 1, 1)).weekdays if isinstance(item, int)
    }
    stepped = any("/" in item and not item.startswith("*") for item in weekday_field.split(","))
    return stepped and weekdays - schedule.days_of_week == {0}


@pytest.mark.parametrize("seed", range(6))
def test_knoll_and_cronsim_agree_on_generated_schedules(seed: int) -> None:
    generator = _Generator(seed)
    compared = disagreements = 0
    for _ in range(500):
        text = generator.expression()
        zone = ZoneInfo(generator.rng.choice(ZONES))
        start = generator.start(zone)
        try:
            CronSim(text, start)
        except CronSimError:
            # Decision 2: knoll accepts a range that ends on Sunday ('MON-SUN', '3-0'), which
            # cronsim rejects as going backwards; everything else cronsim rejects, knoll does too.
            if any(i.endswith(("-0", "-SUN")) for i in text.split()[4].split(",")):
                assert CronSchedule.parse(text).days_of_week
            else:
                with pytest.raises(CronError):
                    CronSchedule.parse(text)
            continue
        schedule = CronSchedule.parse(text)
        try:
            knoll = _knoll_fires(schedule, start)
        except CronError:
            # No fire time for 50 years: cronsim gives up the same way.
            assert _cronsim_fires(text, start) == []
            continue
        # Stepping back retraces the same fire times.
        for later, earlier in zip(knoll[1:], knoll, strict=False):
            back = schedule.previous_before(later.astimezone(zone))
            assert back.astimezone(UTC) == earlier, (text, start, later)
        if _sunday_from_a_step(text, schedule):
            # Compare with cronsim reading the days as knoll does.
            text = schedule.canonical
        cronsim = _cronsim_fires(text, start)
        assert cronsim, text
        end = min(knoll[-1], cronsim[-1])
        ours = {t for t in knoll if t <= end}
        theirs = {t for t in cronsim if t <= end}
        compared += 1
        if ours == theirs:
            continue
        disagreements += 1
        # Decision 3: every other disagreement is a daylight saving rule (the tests below
        # pin each one): a repeated wall time, or the instant the clocks resumed.
        assert zone.key != "UTC", (text, start)
        for instant in ours ^ theirs:
            explained = _at_a_clock_change(instant, zone) or (
                instant in ours and _half_hour_slip(text, instant, zone)
            )
            assert explained, (text, start, instant.astimezone(zone))
    assert compared > 400
    assert disagreements < compared // 10


NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def _local(fires: list[datetime], zone: ZoneInfo) -> list[str]:
    return [f.astimezone(zone).strftime("%m-%d %H:%M %z") for f in fires]


def test_a_daily_time_the_clocks_skip_fires_when_they_resume() -> None:
    # 10 March 2024, New York: 02:00 -> 03:00. Dagster moves a skipped time to the end of the
    # gap. cronsim agrees for a fixed hour and minute; with a '*' minute it skips the hour.
    start = datetime(2024, 3, 9, 12, tzinfo=NEW_YORK)
    knoll = _knoll_fires(CronSchedule.parse("30 2 * * *"), start)[:2]
    assert _local(knoll, NEW_YORK) == ["03-10 03:00 -0400", "03-11 02:30 -0400"]
    assert _cronsim_fires("30 2 * * *", start)[:2] == knoll
    every_quarter = _knoll_fires(CronSchedule.parse("*/15 2 * * *"), start)[:2]
    assert _local(every_quarter, NEW_YORK) == ["03-10 03:00 -0400", "03-11 02:00 -0400"]
    # cronsim skips 10 March entirely: knoll follows Dagster, which fires once at 03:00.
    assert _local(_cronsim_fires("*/15 2 * * *", start)[:1], NEW_YORK) == ["03-11 02:00 -0400"]


def test_a_thirty_minute_gap_moves_to_its_end() -> None:
    # 6 October 2024, Lord Howe: 02:00 -> 02:30. Both move 02:15 to 02:30.
    start = datetime(2024, 10, 5, 12, tzinfo=LORD_HOWE)
    knoll = _knoll_fires(CronSchedule.parse("15 2 * * *"), start)[:1]
    assert _local(knoll, LORD_HOWE) == ["10-06 02:30 +1100"]
    assert _cronsim_fires("15 2 * * *", start)[:1] == knoll


def test_a_repeated_time_fires_once_on_its_second_pass() -> None:
    # 3 November 2024, New York: 01:59 EDT -> 01:00 EST. Dagster picks the later of the two
    # (fold=1); cronsim picks the first pass. Knoll follows Dagster.
    start = datetime(2024, 11, 2, 12, tzinfo=NEW_YORK)
    knoll = _knoll_fires(CronSchedule.parse("30 1 * * *"), start)[:2]
    assert _local(knoll, NEW_YORK) == ["11-03 01:30 -0500", "11-04 01:30 -0500"]
    cronsim = _cronsim_fires("30 1 * * *", start)[:2]
    assert _local(cronsim, NEW_YORK) == ["11-03 01:30 -0400", "11-04 01:30 -0500"]
    # With a '*' minute cronsim fires both passes; Dagster (not hourly) only the second.
    quarters = _knoll_fires(CronSchedule.parse("*/30 1 * * *"), start)[:2]
    assert _local(quarters, NEW_YORK) == ["11-03 01:00 -0500", "11-03 01:30 -0500"]
    assert len(_cronsim_fires("*/30 1 * * *", start)[:4]) == 4


def test_a_schedule_over_every_hour_keeps_its_interval() -> None:
    # Dagster treats an hour field that covers all hours as hourly: both passes of a repeated
    # hour fire and a skipped hour is skipped. '0 0-23 * * *' names every hour; cronsim reads
    # it on the wall clock (first pass only), knoll as hourly.
    start = datetime(2024, 11, 3, 0, 30, tzinfo=NEW_YORK)
    for text in ("0 * * * *", "0 0-23 * * *"):
        knoll = _knoll_fires(CronSchedule.parse(text), start)[:3]
        assert _local(knoll, NEW_YORK) == [
            "11-03 01:00 -0400",
            "11-03 01:00 -0500",
            "11-03 02:00 -0500",
        ]
    assert _local(_cronsim_fires("0 0-23 * * *", start)[:2], NEW_YORK) == [
        "11-03 01:00 -0400",
        "11-03 02:00 -0500",
    ]


def test_stepped_days_of_week_stop_at_saturday() -> None:
    # Decision 1 above, pinned: '1/2' is Monday, Wednesday, Friday; '7/2' is Sunday alone.
    assert CronSchedule.parse("0 0 * * 1/2").days_of_week == frozenset({1, 3, 5})
    assert CronSchedule.parse("0 0 * * 7/2").days_of_week == frozenset({0})
    sunday = datetime(2024, 1, 6, tzinfo=UTC)  # a Saturday
    assert CronSchedule.parse("0 0 * * 7/2").next_after(sunday) == datetime(2024, 1, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("0 0 L * *", datetime(2024, 2, 29, tzinfo=UTC)),
        ("0 0 LW * *", datetime(2024, 2, 29, tzinfo=UTC)),
        ("0 0 * * 5L", datetime(2024, 2, 23, tzinfo=UTC)),
        ("0 0 * * FRI#2", datetime(2024, 2, 9, tzinfo=UTC)),
        ("0 0 29 2 *", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_last_and_nth_days(text: str, first: datetime) -> None:
    start = datetime(2024, 2, 1, 12, tzinfo=UTC)
    assert CronSchedule.parse(text).next_after(start) == first
    assert _cronsim_fires(text, start)[0] == first


def test_a_range_may_end_on_sunday() -> None:
    # Decision 2 above, pinned: cronsim rejects 'MON-SUN' (Sunday is 0, before Monday); knoll
    # reads it as Monday to Sunday, which is how the string reads, and hands cronsim '0,1,...'.
    with pytest.raises(CronSimError):
        CronSim("0 0 * * MON-SUN", datetime(2024, 1, 1))
    schedule = CronSchedule.parse("0 0 * * MON-SUN")
    assert schedule.days_of_week == frozenset(range(7))
    assert schedule.canonical == "0 0 * * 0,1,2,3,4,5,6"
