"""Cron strings: parsing them, and the instants at which they fire in a timezone.

A :class:`CronSchedule` is a parsed 5-field cron string (``minute hour day-of-month month
day-of-week``). It answers "when does this fire next after ``dt``" and "when did it last fire
before ``dt``" in ``dt``'s own timezone. Knoll validates the string itself (so that an error
names the field and shows how to fix it) and expands Dagster's macros; the wall-clock stepping
is cronsim's, on a canonical form of the string; the daylight saving rules below are knoll's.

Daylight saving time follows Dagster's two rules (``dagster/_utils/schedules.py``), so that a
schedule does what its cron string reads as:

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
import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from cronsim import CronSim

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

_SECOND = timedelta(seconds=1)
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


def _day_rule(item: str, spec: _Field) -> str | None:
    """The cronsim token for an ``L`` or ``#`` item of a day field, or None for other items."""
    upper = item.upper()
    if spec.name == "day-of-month":
        if upper in ("L", "LW"):
            return upper
        if "W" in upper or "L" in upper:
            raise _FieldError(
                f"day-of-month field {item!r}: only 'L' (the last day of the month) and 'LW' "
                "(its last weekday) are accepted, not 'W' after a day; list the days instead"
            )
        return None
    if spec.name != "day-of-week":
        return None
    if "#" in item:
        day, _, nth = item.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise _FieldError(
                f"day-of-week field {item!r}: the week number after '#' must be 1 to 5, "
                "for example 'FRI#2' (the second Friday of the month)"
            )
        return f"{_value(day, spec, item) % 7}#{int(nth)}"
    if upper.endswith("L") and upper != "L" and "/" not in upper and "-" not in upper:
        return f"{_value(item[:-1], spec, item) % 7}L"
    if upper == "L":
        raise _FieldError(
            "day-of-week field 'L' needs a day before it, for example '5L' (the last Friday "
            "of the month)"
        )
    return None


def _parse_field(text: str, spec: _Field) -> tuple[frozenset[int], bool, tuple[str, ...]]:
    """The values one field allows, whether it restricts (does not start with ``*``), and its
    ``L`` / ``#`` items as cronsim tokens."""
    values: set[int] = set()
    rules: list[str] = []
    for item in text.split(","):
        if not item:
            raise _FieldError(f"{spec.name} field {text!r} has an empty item between commas")
        rule = _day_rule(item, spec)
        if rule is not None:
            rules.append(rule)
            continue
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
            # 'a/step' means from a to the end of the field, as in Vixie cron; '7/step' is
            # Sunday alone.
            high = max(end, low) if slash else low
        values.update(range(low, high + 1, step))
    if spec.name == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return frozenset(values), not text.startswith("*"), tuple(rules)


def _canonical_field(text: str, values: frozenset[int], rules: tuple[str, ...], full: int) -> str:
    """One field written so that cronsim reads it exactly as knoll does.

    Plain numbers for what knoll expanded, the ``L`` / ``#`` tokens after them, and a leading
    ``*`` item kept as written: cronsim, like cron, ANDs the two day fields when either one
    starts with ``*`` (and reads ``*`` and ``*/n`` the same way knoll does).
    """
    if text == "*":
        return "*"
    items: list[str] = []
    covered: frozenset[int] = frozenset()
    if text.startswith("*"):
        head = text.split(",", 1)[0]
        items.append(head)
        step = int(head[2:]) if head.startswith("*/") else 1
        low = 1 if full in (31, 12) else 0
        covered = frozenset(range(low, low + full, step))
    items.extend(str(v) for v in sorted(values - covered))
    items.extend(rules)
    return ",".join(items)


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
    # 'L', 'LW' (day-of-month), '5L', '5#2' (day-of-week) items, as cronsim tokens.
    day_rules: tuple[str, ...]
    # The same schedule as a cronsim expression (see _canonical_field).
    canonical: str

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

    # -- wall-clock (naive) stepping, by cronsim -----------------------------------------

    def _walls(self, start: datetime, *, reverse: bool) -> Iterator[datetime]:
        """Matching wall times (naive, whole minutes) from ``start`` on, ``start`` included."""
        # cronsim steps strictly past its start: begin one second before (or after) ``start``.
        origin = start - _SECOND if not reverse else start + _SECOND
        # cronsim gives up after 50 years without a match; datetime gives up at year 9999.
        with contextlib.suppress(StopIteration, OverflowError, ValueError):
            yield from CronSim(self.canonical, origin, reverse=reverse)
        direction = "before" if reverse else "after"
        raise CronError(
            f"cron string {self.text!r} has no fire time {direction} {start}; check that its "
            "day-of-month, month and day-of-week fields can all happen together."
        )

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
        first = (local - slack).replace(second=0, microsecond=0)
        best: datetime | None = None
        stop: datetime | None = None
        for wall in self._walls(first, reverse=False):
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
        assert best is not None  # the loop only stops once something was found
        return best.replace(tzinfo=_UTC).astimezone(tz)

    def previous_before(self, dt: datetime) -> datetime:
        """The last fire time strictly before ``dt``, in ``dt``'s timezone."""
        tz = _require_aware(dt, "previous_before")
        now = dt.astimezone(_UTC).replace(tzinfo=None)
        local = _local_wall(now, tz)
        slack = max(_ZERO, _offset(now - _DAY, tz) - _offset(now, tz))
        last = (local + slack).replace(second=0, microsecond=0)
        best: datetime | None = None
        stop: datetime | None = None
        for wall in self._walls(last, reverse=True):
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
    (minutes, _, _), (hours, _, _), (days, days_restrict, dom_rules), (months, _, _) = parsed[:4]
    weekdays, week_restrict, dow_rules = parsed[4]
    if days_restrict and not week_restrict and days and not dom_rules:
        longest = max(calendar.monthrange(2000, m)[1] for m in months)  # 2000 is a leap year
        if min(days) > longest:
            raise _error(
                text,
                f"day-of-month field {parts[2]!r} never happens in the months of the month "
                f"field {parts[3]!r} (they have at most {longest} days)",
            )
    fields = zip(parts, parsed, (60, 24, 31, 12, 7), strict=True)
    canonical = " ".join(
        _canonical_field(part, values, rules, full) for part, (values, _, rules), full in fields
    )
    return CronSchedule(
        text=text,
        minutes=minutes,
        hours=hours,
        days_of_month=days,
        months=months,
        days_of_week=weekdays,
        either_day=days_restrict and week_restrict,
        day_rules=dom_rules + dow_rules,
        canonical=canonical,
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
