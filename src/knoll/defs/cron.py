"""Cron strings: parsing them, and the instants at which they fire in a timezone.

A :class:`CronSchedule` is a parsed 5-field cron string (``minute hour day-of-month month
day-of-week``). It answers "when does this fire next after ``dt``" and "when did it last fire
before ``dt``" in ``dt``'s own timezone, stepping field by field (month, day, hour, minute)
rather than minute by minute.

Daylight saving time follows two rules, chosen so that a schedule does what its cron string
reads as:

* A schedule whose hour field covers every hour (hourly or finer) follows elapsed time: it
  fires at both passes of a repeated hour and skips wall times that do not exist, so an
  hourly schedule fires exactly once per hour all year.
* A schedule that names its hours follows the wall clock: a wall time that does not exist
  (clocks spring forward) fires at the first instant after the gap, for example 03:00 for a
  02:30 schedule, and a wall time that happens twice (clocks fall back) fires once, on its
  second pass.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, UTC, datetime, timedelta, tzinfo

from knoll._utils import did_you_mean
from knoll.errors import CronError, InvalidInvocationError

EXAMPLE = "'0 6 * * MON-FRI' (06:00 on weekdays)"
_SHAPE = "5 fields: minute hour day-of-month month day-of-week"

MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

_MONTH_NAMES = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAY_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}

_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_UTC = UTC


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)
    names_hint: str = ""


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, "JAN..DEC"),
    # 7 is accepted as a second Sunday and folded onto 0 after parsing.
    _Field("day-of-week", 0, 7, _DAY_NAMES, "SUN..SAT"),
)


class _FieldError(Exception):
    """A problem in one field; turned into a CronError that quotes the whole string."""

    def __init__(self, problem: str, hint: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint


def _error(text: str, problem: str, hint: str = "") -> CronError:
    return CronError(
        f"invalid cron string {text!r}: {problem}.{hint} A cron string has {_SHAPE}, "
        f"for example {EXAMPLE}."
    )


def _value(token: str, spec: _Field, item: str) -> int:
    if token.isdigit():
        number = int(token)
        if not spec.low <= number <= spec.high:
            extra = " (0 and 7 are Sunday)" if spec.name == "day-of-week" else ""
            raise _FieldError(
                f"{spec.name} field {item!r} is out of range {spec.low}-{spec.high}{extra}"
            )
        return number
    named = spec.names.get(token.upper())
    if named is not None:
        return named
    if spec.names:
        raise _FieldError(
            f"{spec.name} field {item!r}: {token!r} is not a number or a name ({spec.names_hint})",
            did_you_mean(token.upper(), spec.names),
        )
    raise _FieldError(f"{spec.name} field {item!r}: {token!r} is not a whole number")


def _wrapped(first: str, last: str, spec: _Field) -> str:
    """``first-last`` written as two ranges that do not wrap, in the same style."""
    end, start = spec.high, spec.low
    if spec.name == "day-of-week":
        end = 6
    if spec.names and not first.isdigit():
        by_number = {number: name for name, number in spec.names.items()}
        return f"{first}-{by_number[end]},{by_number[start]}-{last}"
    return f"{first}-{end},{start}-{last}"


def _parse_field(text: str, spec: _Field) -> tuple[frozenset[int], bool]:
    """The values one field allows, and whether it restricts (does not start with ``*``)."""
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise _FieldError(f"{spec.name} field {text!r} has an empty item between commas")
        body, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise _FieldError(
                    f"{spec.name} field {item!r}: the step {step_text!r} must be a whole "
                    "number of 1 or more"
                )
            step = int(step_text)
        # '*' and 'a/step' run to Saturday, not to the second Sunday (7).
        end = 6 if spec.name == "day-of-week" else spec.high
        if body == "*":
            low, high = spec.low, end
        elif "-" in body:
            first, _, last = body.partition("-")
            low, high = _value(first, spec, item), _value(last, spec, item)
            if spec.name == "day-of-week" and high == 0 and low > 0:
                high = 7  # 'MON-SUN': Sunday closes the week
            if low > high:
                raise _FieldError(
                    f"{spec.name} field {item!r} is a range that goes backwards; ranges go from "
                    "low to high, so list a range that wraps around in two parts "
                    f"(for example '{_wrapped(first, last, spec)}')"
                )
        else:
            low = _value(body, spec, item)
            # 'a/step' means from a to the end of the field, as in Vixie cron.
            high = end if slash else low
        values.update(range(low, high + 1, step))
    if spec.name == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values), not text.startswith("*")


def _next_table(values: frozenset[int], high: int) -> tuple[int | None, ...]:
    """``table[i]`` is the smallest allowed value >= i; the table runs one past ``high``."""
    table: list[int | None] = [None] * (high + 2)
    upcoming: int | None = None
    for i in range(high, -1, -1):
        if i in values:
            upcoming = i
        table[i] = upcoming
    return tuple(table)


def _prev_table(values: frozenset[int], high: int) -> tuple[int | None, ...]:
    """``table[i]`` is the largest allowed value <= i."""
    table: list[int | None] = [None] * (high + 1)
    latest: int | None = None
    for i in range(high + 1):
        if i in values:
            latest = i
        table[i] = latest
    return tuple(table)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed 5-field cron string; build one with :meth:`CronSchedule.parse`."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 is Sunday
    # Standard cron: when both day fields restrict, a day matching either one fires.
    either_day: bool
    _tables: tuple[tuple[int | None, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tables = (
            _next_table(self.minutes, 59),
            _prev_table(self.minutes, 59),
            _next_table(self.hours, 23),
            _prev_table(self.hours, 23),
            _next_table(self.months, 12),
            _prev_table(self.months, 12),
        )
        object.__setattr__(self, "_tables", tables)

    @staticmethod
    def parse(text: str) -> CronSchedule:
        """Parse a cron string or a macro such as ``@daily``; raise CronError if it is wrong."""
        if not isinstance(text, str):
            raise CronError(
                f"a cron string must be a str, got {type(text).__name__} {text!r}; "
                f"for example {EXAMPLE}."
            )
        return _parse(text)

    @property
    def follows_elapsed_time(self) -> bool:
        """True when the hour field covers every hour: DST changes keep the fire interval."""
        return len(self.hours) == 24

    def __str__(self) -> str:
        return self.text

    # -- wall-clock (naive) matching ------------------------------------------------------

    def _day_matches(self, weekday: int, day: int) -> bool:
        in_month = day in self.days_of_month
        in_week = weekday in self.days_of_week
        return (in_month or in_week) if self.either_day else (in_month and in_week)

    def _next_day(self, year: int, month: int, day: int, last: int) -> int | None:
        weekday = (calendar.weekday(year, month, day) + 1) % 7 if day <= last else 0
        for candidate in range(day, last + 1):
            if self._day_matches(weekday, candidate):
                return candidate
            weekday = (weekday + 1) % 7
        return None

    def _prev_day(self, year: int, month: int, day: int) -> int | None:
        weekday = (calendar.weekday(year, month, day) + 1) % 7 if day >= 1 else 0
        for candidate in range(day, 0, -1):
            if self._day_matches(weekday, candidate):
                return candidate
            weekday = (weekday - 1) % 7
        return None

    def _next_naive(self, start: datetime) -> datetime:
        """The first matching wall time at or after ``start`` (naive, whole minutes)."""
        next_minute, _, next_hour, _, next_month, _ = self._tables
        y, mo, d, h, mi = start.year, start.month, start.day, start.hour, start.minute
        while True:
            month = next_month[mo]
            if month is None:
                y, mo, d, h, mi = y + 1, 1, 1, 0, 0
                if y > MAXYEAR:
                    raise CronError(f"cron string {self.text!r} has no fire time after {start}")
                continue
            if month != mo:
                mo, d, h, mi = month, 1, 0, 0
            last = calendar.monthrange(y, mo)[1]
            day = self._next_day(y, mo, d, last)
            if day is None:
                mo, d, h, mi = mo + 1, 1, 0, 0
                continue
            if day != d:
                d, h, mi = day, 0, 0
            hour = next_hour[h]
            if hour is None:
                d, h, mi = d + 1, 0, 0
                continue
            if hour != h:
                h, mi = hour, 0
            minute = next_minute[mi]
            if minute is None:
                h, mi = h + 1, 0
                continue
            return datetime(y, mo, d, h, minute)

    def _prev_naive(self, start: datetime) -> datetime:
        """The last matching wall time at or before ``start`` (naive, whole minutes)."""
        _, prev_minute, _, prev_hour, _, prev_month = self._tables
        y, mo, d, h, mi = start.year, start.month, start.day, start.hour, start.minute
        while True:
            month = prev_month[mo]
            if month is None:
                y, mo, d, h, mi = y - 1, 12, 31, 23, 59
                if y < MINYEAR:
                    raise CronError(f"cron string {self.text!r} has no fire time before {start}")
                continue
            if month != mo:
                mo, d, h, mi = month, 31, 23, 59
            d = min(d, calendar.monthrange(y, mo)[1])
            day = self._prev_day(y, mo, d)
            if day is None:
                mo, d, h, mi = mo - 1, 31, 23, 59
                continue
            if day != d:
                d, h, mi = day, 23, 59
            hour = prev_hour[h]
            if hour is None:
                d, h, mi = d - 1, 23, 59
                continue
            if hour != h:
                h, mi = hour, 59
            minute = prev_minute[mi]
            if minute is None:
                if h == 0:
                    d, h, mi = d - 1, 23, 59
                else:
                    h, mi = h - 1, 59
                continue
            return datetime(y, mo, d, h, minute)

    # -- instants ------------------------------------------------------------------------

    def _instants(self, wall: datetime, tz: tzinfo) -> tuple[tuple[datetime, ...], timedelta]:
        """The UTC instants (naive) at which wall time ``wall`` fires, and the repeat span.

        The span is how far the wall clock jumps back when ``wall`` happens twice and both
        passes fire; other wall times have a span of zero.
        """
        first = wall.replace(tzinfo=tz).utcoffset()
        second = wall.replace(tzinfo=tz, fold=1).utcoffset()
        if first is None or second is None:
            raise InvalidInvocationError(f"timezone {tz!r} has no UTC offset for {wall}")
        if first == second:
            return (wall - first,), _ZERO
        if first > second:  # the wall time happens twice (clocks fell back)
            if self.follows_elapsed_time:
                return (wall - first, wall - second), first - second
            return (wall - second,), _ZERO
        # The wall time does not exist (clocks sprang forward).
        if self.follows_elapsed_time:
            return (), _ZERO
        return (_gap_end(wall - second, wall - first, tz, second),), _ZERO

    def next_after(self, dt: datetime) -> datetime:
        """The first fire time strictly after ``dt``, in ``dt``'s timezone."""
        tz = _require_aware(dt, "next_after")
        now = dt.astimezone(_UTC).replace(tzinfo=None)
        local = _local_wall(now, tz)
        # Instants after a fall-back have wall times earlier than ``local``: start that far back.
        slack = max(_ZERO, _offset(now, tz) - _offset(now + _DAY, tz))
        wall = (local - slack).replace(second=0, microsecond=0)
        best: datetime | None = None
        stop: datetime | None = None
        while True:
            wall = self._next_naive(wall)
            if stop is not None and wall > stop:
                break
            instants, span = self._instants(wall, tz)
            for instant in instants:
                if instant > now and (best is None or instant < best):
                    best = instant
            if best is not None and stop is None:
                # Inside a repeated hour, a later wall time's first pass can come before this
                # one's second pass: keep looking for the length of the repeat.
                stop = wall + span
                if span == _ZERO:
                    break
            wall += _MINUTE
        assert best is not None  # the loop only stops once something was found
        return best.replace(tzinfo=_UTC).astimezone(tz)

    def previous_before(self, dt: datetime) -> datetime:
        """The last fire time strictly before ``dt``, in ``dt``'s timezone."""
        tz = _require_aware(dt, "previous_before")
        now = dt.astimezone(_UTC).replace(tzinfo=None)
        local = _local_wall(now, tz)
        slack = max(_ZERO, _offset(now - _DAY, tz) - _offset(now, tz))
        wall = (local + slack).replace(second=0, microsecond=0)
        best: datetime | None = None
        stop: datetime | None = None
        while True:
            wall = self._prev_naive(wall)
            if stop is not None and wall < stop:
                break
            instants, span = self._instants(wall, tz)
            for instant in instants:
                if instant < now and (best is None or instant > best):
                    best = instant
            if best is not None and stop is None:
                stop = wall - span
                if span == _ZERO:
                    break
            wall -= _MINUTE
        assert best is not None  # the loop only stops once something was found
        return best.replace(tzinfo=_UTC).astimezone(tz)

    def iter_after(self, dt: datetime) -> Iterator[datetime]:
        """Fire times strictly after ``dt``, in order, without end."""
        current = dt
        while True:
            current = self.next_after(current)
            yield current


@dataclass(frozen=True)
class CronUnion:
    """Several cron strings read as one schedule: it fires whenever any of them fires."""

    schedules: tuple[CronSchedule, ...]

    @property
    def text(self) -> tuple[str, ...]:
        return tuple(s.text for s in self.schedules)

    def next_after(self, dt: datetime) -> datetime:
        """The first time any of the cron strings fires strictly after ``dt``."""
        return min((s.next_after(dt) for s in self.schedules), key=_instant)

    def previous_before(self, dt: datetime) -> datetime:
        """The last time any of the cron strings fired strictly before ``dt``."""
        return max((s.previous_before(dt) for s in self.schedules), key=_instant)

    def iter_after(self, dt: datetime) -> Iterator[datetime]:
        """Fire times of all the cron strings strictly after ``dt``, in order, each once."""
        current = dt
        while True:
            current = self.next_after(current)
            yield current


def parse_cron(value: str | Sequence[str]) -> CronSchedule | CronUnion:
    """Parse one cron string, or a sequence of them into a :class:`CronUnion`."""
    if isinstance(value, str):
        return CronSchedule.parse(value)
    if not value:
        raise CronError(
            f"a cron schedule must be a cron string or a non-empty list of them, got {value!r}; "
            f"for example {EXAMPLE}."
        )
    schedules = tuple(CronSchedule.parse(item) for item in value)
    return schedules[0] if len(schedules) == 1 else CronUnion(schedules)


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> CronSchedule:
    stripped = text.strip()
    if stripped.startswith("@"):
        expanded = MACROS.get(stripped.lower())
        if expanded is None:
            raise CronError(
                f"invalid cron string {text!r}: {stripped!r} is not a known macro "
                f"({', '.join(MACROS)}).{did_you_mean(stripped.lower(), MACROS)}"
            )
        parts = expanded.split()
    else:
        parts = stripped.split()
    if len(parts) != len(_FIELDS):
        extra = " (knoll cron strings have no seconds or year field)" if len(parts) > 5 else ""
        raise _error(text, f"it has {len(parts)} field{'s' if len(parts) != 1 else ''}{extra}")
    try:
        parsed = [_parse_field(part, spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    except _FieldError as exc:
        raise _error(text, exc.problem, exc.hint) from None
    (minutes, _), (hours, _), (days, days_restrict), (months, _), (weekdays, week_restrict) = parsed
    if days_restrict and not week_restrict:
        longest = max(calendar.monthrange(2000, m)[1] for m in months)  # 2000 is a leap year
        if min(days) > longest:
            raise _error(
                text,
                f"day-of-month field {parts[2]!r} never happens in the months of the month "
                f"field {parts[3]!r} (they have at most {longest} days)",
            )
    return CronSchedule(
        text=text,
        minutes=minutes,
        hours=hours,
        days_of_month=days,
        months=months,
        days_of_week=weekdays,
        either_day=days_restrict and week_restrict,
    )


def _require_aware(dt: datetime, method: str) -> tzinfo:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise InvalidInvocationError(
            f"CronSchedule.{method}({dt!r}) needs a timezone-aware datetime, so that it knows "
            "which timezone the cron string is read in; for example "
            "datetime(2024, 1, 1, tzinfo=ZoneInfo('Europe/Berlin'))."
        )
    return dt.tzinfo


def _instant(dt: datetime) -> datetime:
    return dt.astimezone(_UTC)


def _offset(utc: datetime, tz: tzinfo) -> timedelta:
    offset = utc.replace(tzinfo=_UTC).astimezone(tz).utcoffset()
    return offset if offset is not None else _ZERO


def _local_wall(utc: datetime, tz: tzinfo) -> datetime:
    return utc.replace(tzinfo=_UTC).astimezone(tz).replace(tzinfo=None, fold=0)


def _gap_end(before: datetime, after: datetime, tz: tzinfo, new_offset: timedelta) -> datetime:
    """The UTC instant (naive) at which clocks sprang forward, between ``before`` and ``after``.

    The offset is the old one at ``before`` and ``new_offset`` at ``after``; bisect to the second.
    """
    second = timedelta(seconds=1)
    while after - before > second:
        middle = before + (after - before) // 2
        middle = middle.replace(microsecond=0)
        if _offset(middle, tz) == new_offset:
            after = middle
        else:
            before = middle
    return after
