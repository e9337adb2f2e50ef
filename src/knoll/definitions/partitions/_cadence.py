"""Wall-clock arithmetic for the fixed cadences of time partitions, and time zone lookups.

A cadence numbers its ticks with integers: tick ``i`` is a naive local datetime, and ticks
are evenly spaced on the *wall clock* (an hour, a day, a week or a calendar month apart).
Finding the tick at or before a datetime, or the tick ``n`` steps later, is arithmetic, never
a walk over the ticks in between. :class:`Zone` turns wall-clock ticks into instants, which
is where daylight-saving time is handled.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache, lru_cache
from typing import Literal

from knoll._utils import did_you_mean
from knoll.errors import CronError, DefinitionError

Unit = Literal["hour", "day", "week", "month"]

_EPOCH = datetime(1970, 1, 1)
_SECOND = timedelta(seconds=1)
_STEPS: dict[str, timedelta] = {
    "hour": timedelta(hours=1),
    "day": timedelta(days=1),
    "week": timedelta(days=7),
}
_WORDS: dict[str, str] = {"hour": "hourly", "day": "daily", "week": "weekly", "month": "monthly"}
_SHORTHANDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
}
MAX_MONTH_DAY = 28
_COMPLEX = -1  # a cron field with a list, range or step
_FIXED_ZONES = frozenset(
    {"UTC", "Etc/UTC", "GMT", "Etc/GMT", "UCT", "Etc/UCT", "Universal", "Etc/Universal"}
    | {"Zulu", "Etc/Zulu", "Greenwich", "Etc/Greenwich", "GMT0", "GMT+0", "GMT-0"}
)


@dataclass(frozen=True, slots=True)
class Cadence:
    """Hourly, daily, weekly or monthly ticks at ``minute``/``hour``/``day`` offsets.

    ``day`` is the weekday for weekly cadences (0 = Sunday, as in cron) and the day of the
    month for monthly ones.
    """

    unit: Unit
    minute: int = 0
    hour: int = 0
    day: int = 0

    @property
    def word(self) -> str:
        return _WORDS[self.unit]

    @property
    def cron(self) -> str:
        if self.unit == "hour":
            return f"{self.minute} * * * *"
        if self.unit == "day":
            return f"{self.minute} {self.hour} * * *"
        if self.unit == "week":
            return f"{self.minute} {self.hour} * * {self.day}"
        return f"{self.minute} {self.hour} {self.day} * *"

    @property
    def is_plain(self) -> bool:
        """Whether the ticks fall at the natural start of each hour, day, week or month."""
        default_day = {"week": 0, "month": 1}.get(self.unit, 0)
        return self.minute == 0 and self.hour == 0 and self.day == default_day

    def _base(self) -> datetime:
        if self.unit == "week":
            # 1970-01-04 was a Sunday; cron counts weekdays from Sunday = 0.
            return datetime(1970, 1, 4 + self.day, self.hour, self.minute)
        return datetime(1970, 1, 1, self.hour, self.minute)

    def tick(self, index: int) -> datetime:
        """The wall-clock datetime of tick ``index``."""
        if self.unit == "month":
            year, month0 = divmod(index, 12)
            return datetime(year, month0 + 1, self.day, self.hour, self.minute)
        return self._base() + index * _STEPS[self.unit]

    def floor(self, wall: datetime) -> int:
        """The index of the last tick at or before the naive datetime ``wall``."""
        if self.unit == "month":
            index = wall.year * 12 + wall.month - 1
            return index if self.tick(index) <= wall else index - 1
        return (wall - self._base()) // _STEPS[self.unit]

    def ticks(self, first: int, last: int) -> Iterator[tuple[int, datetime]]:
        """``(index, wall datetime)`` for every tick from ``first`` to ``last`` included."""
        if self.unit == "month":
            for index in range(first, last + 1):
                yield index, self.tick(index)
            return
        step = _STEPS[self.unit]
        wall = self.tick(first)
        for index in range(first, last + 1):
            yield index, wall
            wall += step


def cadence_from_cron(text: str, owner: str) -> Cadence:
    """The cadence a cron string describes, or a DefinitionError saying which forms work."""
    if not isinstance(text, str):
        raise DefinitionError(
            f"cron_schedule of {owner} must be a string such as '0 0 * * *', got "
            f"{type(text).__name__} {text!r}."
        )
    return _parse_cron(text.strip(), owner)


@lru_cache(maxsize=256)
def _parse_cron(text: str, owner: str) -> Cadence:
    fields = _SHORTHANDS.get(text, text).split()
    if len(fields) != 5:
        raise CronError(
            f"cron_schedule {text!r} of {owner} must have 5 fields (minute hour day-of-month "
            "month day-of-week), for example '0 0 * * *' for every day at midnight."
        )
    minute_f, hour_f, dom_f, month_f, dow_f = fields
    minute = _field(minute_f, low=0, high=59, name="minute", text=text, owner=owner)
    hour = _field(hour_f, low=0, high=23, name="hour", text=text, owner=owner)
    dom = _field(dom_f, low=1, high=31, name="day-of-month", text=text, owner=owner)
    month = _field(month_f, low=1, high=12, name="month", text=text, owner=owner)
    dow = _field(dow_f, low=0, high=7, name="day-of-week", text=text, owner=owner)
    fixed = _COMPLEX not in (minute, hour, dom, month, dow)
    if fixed and minute is not None and month is None:
        if hour is None and dom is None and dow is None:
            return Cadence("hour", minute=minute)
        if hour is not None and dom is None and dow is None:
            return Cadence("day", minute=minute, hour=hour)
        if hour is not None and dom is None and dow is not None:
            return Cadence("week", minute=minute, hour=hour, day=dow % 7)
        if hour is not None and dom is not None and dow is None and dom <= MAX_MONTH_DAY:
            return Cadence("month", minute=minute, hour=hour, day=dom)
    raise DefinitionError(
        f"cron_schedule {text!r} of {owner} is not a cadence time partitions support: use "
        "hourly 'M * * * *', daily 'M H * * *', weekly 'M H * * D' or monthly 'M H D * *' "
        f"(D from 1 to {MAX_MONTH_DAY}) with numbers for M, H and D, or "
        "HourlyPartitionsDefinition, DailyPartitionsDefinition, WeeklyPartitionsDefinition or "
        "MonthlyPartitionsDefinition."
    )


def _field(value: str, *, low: int, high: int, name: str, text: str, owner: str) -> int | None:
    if value == "*":
        return None
    if value.isdigit():
        number = int(value)
        if low <= number <= high:
            return number
        raise CronError(
            f"cron_schedule {text!r} of {owner}: {name} {number} is out of range; use a number "
            f"from {low} to {high}."
        )
    # Lists, ranges and steps are valid cron but not a fixed cadence; the caller says so.
    if all(c.isdigit() or c in ",-/*" for c in value):
        return _COMPLEX
    raise CronError(
        f"cron_schedule {text!r} of {owner}: {name} field {value!r} is not a number or '*'."
    )


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
