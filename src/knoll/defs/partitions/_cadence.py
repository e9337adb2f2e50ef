"""Wall-clock arithmetic for the cadences of time partitions, and time zone lookups.

A cadence is a set of ticks that repeats every day, week or month on the *wall clock*: hourly
ticks are 24 offsets into each day, "09:30 on weekdays" is 5 offsets into each week, "the 1st
and 15th" is 2 offsets into each month. Ticks are numbered with integers, so finding the tick
at or before a datetime, or the tick ``n`` steps later, is arithmetic, never a walk over the
ticks in between. :class:`Zone` turns wall-clock ticks into instants, which is where
daylight-saving time is handled.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Literal

from knoll._utils import did_you_mean
from knoll.errors import CronError, DefinitionError

if TYPE_CHECKING:
    from knoll.defs.cron import CronSchedule

Period = Literal["day", "week", "month"]

_EPOCH = datetime(1970, 1, 1)
_SUNDAY = datetime(1970, 1, 4)  # cron counts weekdays from Sunday = 0
_SECOND = timedelta(seconds=1)
_MINUTE = timedelta(minutes=1)
_DAY_MINUTES = 24 * 60
_PERIOD_DAYS = {"day": 1, "week": 7}
_SHORTHANDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}
MAX_MONTH_DAY = 28
# Two ticks this close (in minutes) may both fall in a skipped hour and give an empty window.
_DENSE_MINUTES = 3 * 60
_FIXED_ZONES = frozenset(
    {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Universal", "Etc/Universal"}
    | {"Zulu", "Etc/Zulu", "Greenwich", "Etc/Greenwich", "GMT0", "GMT+0", "GMT-0"}
)


@dataclass(frozen=True, slots=True)
class Cadence:
    """Ticks at ``offsets`` minutes (sorted) into every day, week (from Sunday 00:00) or
    month (from the 1st, 00:00). ``cron`` is the cron string it came from, for display."""

    period: Period
    offsets: tuple[int, ...]
    cron: str = field(compare=False)
    _deltas: tuple[timedelta, ...] = field(init=False, repr=False, compare=False)
    dense: bool = field(init=False, repr=False, compare=False)
    """Whether two ticks can fall in one skipped hour, leaving an empty window."""
    one_per_day: bool = field(init=False, repr=False, compare=False)
    """Whether no two ticks fall on the same day."""

    def __post_init__(self) -> None:
        offsets = self.offsets
        cycle = _PERIOD_DAYS.get(self.period, MAX_MONTH_DAY) * _DAY_MINUTES
        gaps = [b - a for a, b in itertools.pairwise(offsets)]
        gaps.append(offsets[0] + cycle - offsets[-1])
        days = [offset // _DAY_MINUTES for offset in offsets]
        object.__setattr__(self, "_deltas", tuple(m * _MINUTE for m in offsets))
        object.__setattr__(self, "dense", min(gaps) < _DENSE_MINUTES)
        object.__setattr__(self, "one_per_day", len(set(days)) == len(days))

    @staticmethod
    @cache
    def hourly(minute: int) -> Cadence:
        offsets = tuple(hour * 60 + minute for hour in range(24))
        return Cadence("day", offsets, f"{minute} * * * *")

    @staticmethod
    @cache
    def daily(hour: int, minute: int) -> Cadence:
        return Cadence("day", (hour * 60 + minute,), f"{minute} {hour} * * *")

    @staticmethod
    @cache
    def weekly(day: int, hour: int, minute: int) -> Cadence:
        offsets = (day * _DAY_MINUTES + hour * 60 + minute,)
        return Cadence("week", offsets, f"{minute} {hour} * * {day}")

    @staticmethod
    @cache
    def monthly(day: int, hour: int, minute: int) -> Cadence:
        offsets = ((day - 1) * _DAY_MINUTES + hour * 60 + minute,)
        return Cadence("month", offsets, f"{minute} {hour} {day} * *")

    @property
    def word(self) -> str | None:
        """``hourly``, ``daily``, ``weekly`` or ``monthly``, or None for other cadences."""
        first, count = self.offsets[0], len(self.offsets)
        hourly = tuple(first + 60 * hour for hour in range(24))
        if self.period == "day" and count == 24 and first < 60 and self.offsets == hourly:
            return "hourly"
        if count == 1:
            return {"day": "daily", "week": "weekly", "month": "monthly"}[self.period]
        return None

    @property
    def is_plain(self) -> bool:
        """Whether ticks fall at the natural start of each hour, day, week or month."""
        return self.word is not None and self.offsets[0] == 0

    @property
    def minute(self) -> int:
        return self.offsets[0] % 60

    @property
    def hour(self) -> int:
        return 0 if self.word == "hourly" else self.offsets[0] // 60 % 24

    @property
    def day(self) -> int:
        """The weekday (0 = Sunday) of weekly ticks, the day of the month of monthly ones."""
        day = self.offsets[0] // _DAY_MINUTES
        return day + 1 if self.period == "month" else day

    def _period_start(self, period: int) -> datetime:
        if self.period == "month":
            year, month0 = divmod(period, 12)
            return datetime(year, month0 + 1, 1)
        if self.period == "week":
            return _SUNDAY + timedelta(days=7 * period)
        return _EPOCH + timedelta(days=period)

    def _period_of(self, wall: datetime) -> int:
        if self.period == "month":
            return wall.year * 12 + wall.month - 1
        if self.period == "week":
            return (wall - _SUNDAY).days // 7
        return (wall - _EPOCH).days

    def tick(self, index: int) -> datetime:
        """The wall-clock datetime of tick ``index``."""
        period, position = divmod(index, len(self.offsets))
        return self._period_start(period) + self._deltas[position]

    def floor(self, wall: datetime) -> int:
        """The index of the last tick at or before the naive datetime ``wall``."""
        period = self._period_of(wall)
        into = (wall - self._period_start(period)) / _MINUTE
        return period * len(self.offsets) + bisect_right(self.offsets, into) - 1

    def ticks(self, first: int, last: int) -> Iterator[tuple[int, datetime]]:
        """``(index, wall datetime)`` for every tick from ``first`` to ``last`` included."""
        deltas, count = self._deltas, len(self.offsets)
        period, position = divmod(first, count)
        start = self._period_start(period)
        step = timedelta(days=_PERIOD_DAYS[self.period]) if self.period != "month" else None
        index = first
        while True:
            for delta in deltas[position:]:
                if index > last:
                    return
                yield index, start + delta
                index += 1
            period, position = period + 1, 0
            start = self._period_start(period) if step is None else start + step


def cadence_from_cron(text: object, owner: str) -> Cadence:
    """The cadence a cron string describes, or a DefinitionError saying which forms work."""
    if not isinstance(text, str):
        raise DefinitionError(
            f"cron_schedule of {owner} must be a string such as '0 0 * * *', got "
            f"{type(text).__name__} {text!r}."
        )
    return _parse_cron(text.strip(), owner)


@lru_cache(maxsize=256)
def _parse_cron(text: str, owner: str) -> Cadence:
    simple = _simple_cadence(text)
    if simple is not None:
        return simple
    # Anything beyond plain numbers goes through the full cron parser, imported only then.
    from knoll.defs.cron import CronSchedule

    try:
        schedule = CronSchedule.parse(text)
    except CronError as exc:
        raise CronError(f"cron_schedule of {owner}: {exc}") from None
    cadence = _cadence_of(schedule)
    if cadence is None:
        raise DefinitionError(
            f"cron_schedule {text!r} of {owner} does not repeat the same way every day, week or "
            "month, which time partitions need: restrict minutes and hours, and either the "
            f"days of the week or the days of the month (1 to {MAX_MONTH_DAY}), but not both "
            "and not the months. For example '0 */6 * * *', '30 9 * * 1-5' or '0 0 1,15 * *'."
        )
    return cadence


def _simple_cadence(text: str) -> Cadence | None:
    """The cadence of a cron string made of plain numbers and '*', without the full parser."""
    fields = _SHORTHANDS.get(text, text).split()
    if len(fields) != 5 or fields[3] != "*":
        return None
    minute, hour, dom, _, dow = (
        int(f) if f.isdigit() else None if f == "*" else -1 for f in fields
    )
    if minute is None or not 0 <= minute <= 59 or -1 in (hour, dom, dow):
        return None
    if hour is None:
        return Cadence.hourly(minute) if dom is None and dow is None else None
    if hour > 23:
        return None
    if dom is None and dow is None:
        return Cadence.daily(hour, minute)
    if dom is None and dow is not None and dow <= 7:
        return Cadence.weekly(dow % 7, hour, minute)
    if dow is None and dom is not None and 1 <= dom <= MAX_MONTH_DAY:
        return Cadence.monthly(dom, hour, minute)
    return None


def _cadence_of(schedule: CronSchedule) -> Cadence | None:
    if len(schedule.months) != 12 or schedule.day_rules:
        return None
    times = sorted(h * 60 + m for h in schedule.hours for m in schedule.minutes)
    by_month = len(schedule.days_of_month) != 31
    by_week = len(schedule.days_of_week) != 7
    if by_month and by_week:
        return None
    if by_week:
        days = sorted(schedule.days_of_week)
        offsets = tuple(d * _DAY_MINUTES + t for d in days for t in times)
        return Cadence("week", offsets, schedule.text)
    if by_month:
        if max(schedule.days_of_month) > MAX_MONTH_DAY:
            return None
        days = sorted(schedule.days_of_month)
        offsets = tuple((d - 1) * _DAY_MINUTES + t for d in days for t in times)
        return Cadence("month", offsets, schedule.text)
    return Cadence("day", tuple(times), schedule.text)


class Zone:
    """An IANA time zone that maps wall-clock datetimes to instants (POSIX timestamps).

    A wall time that happens twice (clocks turned back) means its first occurrence; a wall
    time that never happens (clocks turned forward) means the instant the clocks jumped.
    """

    __slots__ = ("fixed", "name", "tz")

    def __init__(self, name: str, tz: tzinfo) -> None:
        self.name = name
        self.tz = tz
        # Zones known never to change offset skip the daylight-saving checks.
        self.fixed = name in _FIXED_ZONES or name.startswith("Etc/GMT")

    def is_gap(self, wall: datetime) -> bool:
        """Whether ``wall`` is skipped by a forward clock change."""
        if self.fixed:
            return False
        tz = self.tz
        before = tz.utcoffset(wall)
        after = tz.utcoffset(wall.replace(fold=1))
        # In a gap, fold=0 uses the offset from before the jump, which is the smaller one.
        return before is not None and after is not None and before < after

    def to_ts(self, wall: datetime) -> float:
        """The instant of a naive wall-clock datetime in this zone."""
        tz = self.tz
        before = tz.utcoffset(wall)
        after = tz.utcoffset(wall.replace(fold=1))
        assert before is not None
        assert after is not None
        if before >= after:
            return (wall - before - _EPOCH) / _SECOND
        return self._jump_ts(wall, before, after)

    def _jump_ts(self, wall: datetime, before: timedelta, after: timedelta) -> float:
        # Binary search for the instant the offset changes, which lies between the two
        # readings of ``wall``; zone transitions fall on whole seconds.
        low = math.floor((wall - after - _EPOCH) / _SECOND)
        high = math.ceil((wall - before - _EPOCH) / _SECOND)
        while high - low > 1:
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self.tz).utcoffset() == after:
                high = middle
            else:
                low = middle
        return float(high)

    def aware(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.tz)

    def wall(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)


def lookup_zone(name: object, owner: str) -> Zone:
    """The :class:`Zone` for an IANA name (default UTC), or a DefinitionError naming ``owner``."""
    if name is None:
        name = "UTC"
    if not isinstance(name, str):
        raise DefinitionError(
            f"timezone of {owner} must be an IANA name such as 'UTC' or 'America/New_York', "
            f"got {type(name).__name__} {name!r}."
        )
    found = _load_zone(name)
    if found is None:
        import zoneinfo

        raise DefinitionError(
            f"timezone {name!r} of {owner} is not known: use an IANA name such as 'UTC', "
            f"'Europe/Paris' or 'America/New_York'."
            f"{did_you_mean(name, zoneinfo.available_timezones())}"
        )
    return found


@cache
def _load_zone(name: str) -> Zone | None:
    # zoneinfo is imported here so that importing knoll does not pay for it.
    import zoneinfo

    try:
        return Zone(name, zoneinfo.ZoneInfo(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None
