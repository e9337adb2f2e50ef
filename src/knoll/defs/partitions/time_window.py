"""Time partitions: one partition per window between cron ticks, keyed by the window start.

The partitions run from the first window starting at or after ``start`` to the last window
that has ended by "now" (shifted by ``end_offset`` windows) and, when ``end`` is given, that
has ended by ``end``. Everything is computed from the cadence, so a definition holds no list of
keys and answers questions about one key in constant time.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knoll.defs.partitions._cadence import (
    Cadence,
    Zone,
    cadence_from_cron,
    lookup_zone,
)
from knoll.defs.partitions.base import (
    PartitionKeyRange,
    PartitionsDefinition,
    TimeWindow,
    check_range_order,
    missing_range_end,
)
from knoll.errors import DefinitionError, InvalidInvocationError, PartitionKeyError

if TYPE_CHECKING:
    from knoll.defs.partitions.dynamic import DynamicPartitionsReader

DAY_FORMAT = "%Y-%m-%d"
HOUR_FORMAT = "%Y-%m-%d-%H:%M"


def _day_key(moment: datetime) -> str:
    return moment.date().isoformat()


def _hour_key(moment: datetime) -> str:
    text = moment.isoformat()
    return f"{text[:10]}-{text[11:16]}"


def _strftime(fmt: str, moment: datetime) -> str:
    return moment.strftime(fmt)


# Listing many keys spends most of its time formatting; these beat strftime for the defaults.
_FAST_FORMATS: dict[str, Callable[[datetime], str]] = {
    DAY_FORMAT: _day_key,
    HOUR_FORMAT: _hour_key,
}


class TimeWindowPartitionsDefinition(PartitionsDefinition):
    """Partitions that each cover the window from one tick of ``cron_schedule`` to the next,
    in a time zone.

    ``start`` and ``end`` are datetimes or strings in ``fmt``; a naive datetime is read in
    ``timezone`` (an IANA name, default UTC). Keys are window starts formatted with ``fmt``.
    """

    _cadence: Cadence
    _zone: Zone
    _fmt: str
    _format: Callable[[datetime], str]
    _needs_tz: bool
    _start_ts: float
    _end_ts: float | None
    _end_offset: int
    _first: int | None

    def __init__(
        self,
        start: datetime | str,
        fmt: str,
        end: datetime | str | None = None,
        *,
        cron_schedule: str | None = None,
        timezone: str | None = None,
        end_offset: int = 0,
    ) -> None:
        owner = type(self).__name__
        if cron_schedule is None:
            raise DefinitionError(
                f"{owner} needs a cron_schedule, for example cron_schedule='0 0 * * *' for daily "
                "windows, or use DailyPartitionsDefinition and its siblings."
            )
        cadence = cadence_from_cron(cron_schedule, owner)
        self._setup(
            start=start,
            end=end,
            cadence=cadence,
            fmt=fmt,
            timezone=timezone,
            end_offset=end_offset,
            arg_names=("start", "end"),
        )

    def _setup(
        self,
        *,
        start: object,
        end: object,
        cadence: Cadence,
        fmt: object,
        timezone: object,
        end_offset: object,
        arg_names: tuple[str, str],
    ) -> None:
        owner = type(self).__name__
        if not isinstance(fmt, str) or not fmt:
            raise DefinitionError(
                f"fmt of {owner} must be a strftime format such as {DAY_FORMAT!r}, got {fmt!r}."
            )
        if not isinstance(end_offset, int) or isinstance(end_offset, bool):
            raise DefinitionError(
                f"end_offset of {owner} must be a whole number of partitions, got {end_offset!r}."
            )
        self._cadence = cadence
        self._zone = lookup_zone(timezone, owner)
        self._fmt = fmt
        self._format = _FAST_FORMATS.get(fmt) or functools.partial(_strftime, fmt)
        self._needs_tz = "%z" in fmt or "%Z" in fmt
        self._end_offset = end_offset
        self._first = None
        self._start_ts = self._instant_arg(start, arg_names[0], owner)
        self._end_ts = None if end is None else self._instant_arg(end, arg_names[1], owner)
        if self._end_ts is not None and self._end_ts <= self._start_ts:
            raise DefinitionError(
                f"{owner} ends ({arg_names[1]}={self.end}) before it starts "
                f"({arg_names[0]}={self.start}): give an {arg_names[1]} after the "
                f"{arg_names[0]}, or leave it out."
            )
        # The default formats are known to name every window apart; skip the check for them.
        day_keys_fit = fmt == DAY_FORMAT and cadence.one_per_day
        if fmt != HOUR_FORMAT and not day_keys_fit:
            self._check_format(owner)

    def _instant_arg(self, value: object, arg_name: str, owner: str) -> float:
        if isinstance(value, datetime):
            if value.utcoffset() is None:
                return self._zone.to_ts(value)
            return value.timestamp()
        if isinstance(value, str):
            try:
                if self._fmt == DAY_FORMAT and len(value) == len("2024-01-01"):
                    parsed = datetime.fromisoformat(value)
                else:
                    parsed = datetime.strptime(value, self._fmt)
            except ValueError:
                try:
                    parsed = datetime.fromisoformat(value)
                except ValueError:
                    raise DefinitionError(
                        f"{arg_name} {value!r} of {owner} does not match the format "
                        f"{self._fmt!r}: write it like {self._format(datetime(2024, 1, 1))!r}, "
                        "or give a datetime."
                    ) from None
            if parsed.utcoffset() is not None:
                return parsed.timestamp()
            return self._zone.to_ts(parsed)
        raise DefinitionError(
            f"{arg_name} of {owner} must be a datetime or a string in the format {self._fmt!r}, "
            f"got {type(value).__name__} {value!r}."
        )

    def _check_format(self, owner: str) -> None:
        # A format coarser than the cadence (say '%Y-%m' for days) gives two windows one key.
        first = self._first_index()
        key, next_key = self._key_at(first), self._key_at(first + 1)
        if key == next_key or self._index_of_key(key) != first:
            raise DefinitionError(
                f"fmt {self._fmt!r} of {owner} gives two windows the same key {key!r}, or its "
                "keys do not read back: include every field down to the cadence, for example "
                f"{HOUR_FORMAT!r} for windows shorter than a day."
            )

    # -- public attributes ----------------------------------------------------------------

    @property
    def start(self) -> datetime:
        """When the first partition may start, in the definition's time zone."""
        return self._zone.aware(self._start_ts)

    @property
    def end(self) -> datetime | None:
        """The exclusive end of the last partition, or None when partitions keep coming."""
        return None if self._end_ts is None else self._zone.aware(self._end_ts)

    @property
    def timezone(self) -> str:
        return self._zone.name

    @property
    def fmt(self) -> str:
        return self._fmt

    @property
    def end_offset(self) -> int:
        return self._end_offset

    @property
    def cron_schedule(self) -> str:
        """The cron string whose ticks start the windows."""
        return self._cadence.cron

    @property
    def schedule_type(self) -> str | None:
        """``hourly``, ``daily``, ``weekly`` or ``monthly``; None for another cron cadence."""
        return self._cadence.word

    @property
    def minute_offset(self) -> int:
        return self._cadence.minute

    @property
    def hour_offset(self) -> int:
        return self._cadence.hour

    @property
    def day_offset(self) -> int:
        return self._cadence.day

    # -- index arithmetic -----------------------------------------------------------------

    def _start_of(self, index: int) -> float:
        return self._zone.to_ts(self._cadence.tick(index))

    def _index_containing(self, ts: float) -> int:
        """The index of the window holding instant ``ts``."""
        index = self._cadence.floor(self._zone.wall(ts))
        # The wall clock and the instant disagree around clock changes; nudge into place.
        while self._start_of(index) > ts:
            index -= 1
        while self._start_of(index + 1) <= ts:
            index += 1
        return index

    def _is_empty(self, index: int) -> bool:
        # Only a tick skipped by a forward clock change can start an empty window.
        wall = self._cadence.tick(index)
        return self._zone.is_gap(wall) and self._start_of(index) == self._start_of(index + 1)

    def _shift(self, index: int, count: int) -> int:
        """The index ``count`` non-empty windows after (before, if negative) ``index``."""
        if self._zone.fixed or not self._cadence.dense:
            return index + count
        step = 1 if count > 0 else -1
        for _ in range(abs(count)):
            index += step
            while self._is_empty(index):
                index += step
        return index

    def _first_index(self) -> int:
        if self._first is None:
            index = self._index_containing(self._start_ts)
            if self._start_of(index) < self._start_ts:
                index += 1
            while self._is_empty(index):
                index += 1
            self._first = index
        return self._first

    def _last_index(self, current_time: datetime | None) -> int:
        now = self._now_ts(current_time)
        last = self._shift(self._index_containing(now) - 1, self._end_offset)
        if self._end_ts is not None:
            last = min(last, self._index_containing(self._end_ts) - 1)
        while last >= self._first_index() and self._is_empty(last):
            last -= 1
        return last

    def _bounds(self, current_time: datetime | None) -> tuple[int, int]:
        """First and last index of existing partitions; first > last when there are none."""
        return self._first_index(), self._last_index(current_time)

    def _now_ts(self, current_time: datetime | None) -> float:
        if current_time is None:
            return time.time()
        if not isinstance(current_time, datetime):
            raise InvalidInvocationError(
                f"current_time must be a datetime, got {type(current_time).__name__} "
                f"{current_time!r}."
            )
        if current_time.utcoffset() is None:
            return self._zone.to_ts(current_time)
        return current_time.timestamp()

    def _key_at(self, index: int) -> str:
        wall = self._cadence.tick(index)
        if self._zone.is_gap(wall):
            return self._format(self._zone.aware(self._start_of(index)))
        return self._format(wall.replace(tzinfo=self._zone.tz) if self._needs_tz else wall)

    def _keys_between(self, first: int, last: int) -> list[str]:
        keys: list[str] = []
        if first > last:
            return keys
        append, fmt, zone = keys.append, self._format, self._zone
        tz, needs_tz, fixed = zone.tz, self._needs_tz, zone.fixed
        for index, wall in self._cadence.ticks(first, last):
            if not fixed and zone.is_gap(wall):
                if not self._is_empty(index):
                    append(fmt(zone.aware(self._start_of(index))))
            elif needs_tz:
                append(fmt(wall.replace(tzinfo=tz)))
            else:
                append(fmt(wall))
        return keys

    def _parse(self, key: str) -> datetime | None:
        """The naive wall-clock datetime a key spells, or None if it does not fit the format."""
        try:
            if self._fmt == DAY_FORMAT and len(key) == len("2024-01-01"):
                parsed = datetime.fromisoformat(key)
            else:
                parsed = datetime.strptime(key, self._fmt)
        except (ValueError, OverflowError):
            return None
        if parsed.utcoffset() is not None:
            return self._zone.wall(parsed.timestamp())
        return parsed

    def _index_of_key(self, key: object) -> int | None:
        """The index of the window keyed ``key``, whether or not it exists yet."""
        wall = self._parse(key) if isinstance(key, str) else None
        if wall is None or not isinstance(key, str):
            return None
        floor = self._cadence.floor(wall)
        # A key may leave out the time of day (daily keys with an hour_offset), so the window
        # can start just after the parsed wall time.
        for index in (floor, floor + 1, floor - 1):
            try:
                if self._key_at(index) == key:
                    return None if self._is_empty(index) else index
            except (ValueError, OverflowError):
                continue
        return None

    def _window(self, index: int) -> TimeWindow:
        zone = self._zone
        return TimeWindow(zone.aware(self._start_of(index)), zone.aware(self._start_of(index + 1)))

    def _indices_overlapping(self, start_ts: float, end_ts: float) -> tuple[int, int]:
        """First and last index of windows overlapping ``[start_ts, end_ts)``."""
        if end_ts <= start_ts:
            return 0, -1
        last = self._index_containing(end_ts)
        if self._start_of(last) >= end_ts:
            last -= 1
        return self._index_containing(start_ts), last

    def _require_index(self, key: str) -> int:
        index = self._index_of_key(key)
        if index is None:
            raise PartitionKeyError(f"{key!r} is not a partition key: {self._format_hint()}")
        return index

    def _format_hint(self) -> str:
        example = self._key_at(self._first_index())
        return (
            f"keys of {self.describe()} are window starts in the format {self._fmt!r}, such as "
            f"{example!r}."
        )

    # -- PartitionsDefinition -------------------------------------------------------------

    def get_partition_keys(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        return self._keys_between(*self._bounds(current_time))

    def has_partition_key(
        self,
        partition_key: str,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> bool:
        index = self._index_of_key(partition_key)
        if index is None:
            return False
        first, last = self._bounds(current_time)
        return first <= index <= last

    def get_first_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> str | None:
        first, last = self._bounds(current_time)
        return self._key_at(first) if first <= last else None

    def get_last_partition_key(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> str | None:
        first, last = self._bounds(current_time)
        return self._key_at(last) if first <= last else None

    def get_num_partitions(
        self,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> int:
        first, last = self._bounds(current_time)
        if first > last:
            return 0
        if self._zone.fixed or not self._cadence.dense:
            return last - first + 1
        return len(self._keys_between(first, last))

    def get_first_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The window of the first partition, or None when there are no partitions yet."""
        first, last = self._bounds(current_time)
        return self._window(first) if first <= last else None

    def get_last_partition_window(self, current_time: datetime | None = None) -> TimeWindow | None:
        """The window of the last partition, or None when there are no partitions yet."""
        first, last = self._bounds(current_time)
        return self._window(last) if first <= last else None

    def get_partition_keys_in_range(
        self,
        partition_key_range: PartitionKeyRange,
        current_time: datetime | None = None,
        dynamic_partitions_store: DynamicPartitionsReader | None = None,
    ) -> Sequence[str]:
        first, last = self._bounds(current_time)
        start = self._index_of_key(partition_key_range.start)
        if start is None or not first <= start <= last:
            raise missing_range_end(self, partition_key_range, "start")
        end = self._index_of_key(partition_key_range.end)
        if end is None or not first <= end <= last:
            raise missing_range_end(self, partition_key_range, "end")
        check_range_order(self, partition_key_range, start, end)
        return self._keys_between(start, end)

    def get_partition_keys_in_time_window(
        self, time_window: TimeWindow, current_time: datetime | None = None
    ) -> Sequence[str]:
        """Keys of the existing partitions whose windows overlap ``time_window``."""
        low, high = self._indices_overlapping(
            time_window.start.timestamp(), time_window.end.timestamp()
        )
        first, last = self._bounds(current_time)
        return self._keys_between(max(low, first), min(high, last))

    def get_partition_key_for_time(self, moment: datetime) -> str:
        """The key of the window holding ``moment``, whether or not that partition exists yet."""
        index = self._index_containing(self._now_ts(moment))
        while self._is_empty(index):
            index += 1
        return self._key_at(index)

    def time_window_for_partition_key(self, partition_key: str) -> TimeWindow:
        """The window a key covers; raises PartitionKeyError for a key of the wrong form."""
        return self._window(self._require_index(partition_key))

    def time_windows_for_partition_keys(self, partition_keys: Sequence[str]) -> list[TimeWindow]:
        """The window of each key, in the order given."""
        return [self.time_window_for_partition_key(key) for key in partition_keys]

    def time_window_for_partition_keys(self, partition_keys: Sequence[str]) -> TimeWindow:
        """The window from the earliest start to the latest end of ``partition_keys``."""
        if not partition_keys:
            raise InvalidInvocationError(
                f"time_window_for_partition_keys of {self.describe()} needs at least one key."
            )
        indices = [self._require_index(key) for key in partition_keys]
        low, high = min(indices), max(indices)
        zone = self._zone
        return TimeWindow(zone.aware(self._start_of(low)), zone.aware(self._start_of(high + 1)))

    def time_window_for_partition_key_range(
        self, partition_key_range: PartitionKeyRange
    ) -> TimeWindow:
        """The window from the start of the range's first key to the end of its last key."""
        return self.time_window_for_partition_keys(
            [partition_key_range.start, partition_key_range.end]
        )

    def _key_hint(
        self,
        partition_key: str,
        current_time: datetime | None,
        dynamic_partitions_store: DynamicPartitionsReader | None,
    ) -> str:
        index = self._index_of_key(partition_key)
        if index is None:
            return self._format_hint()
        first, last = self._bounds(current_time)
        if index < first:
            return (
                f"it comes before the first partition {self._key_at(first)!r} of {self.describe()}."
            )
        as_of = self._zone.aware(self._now_ts(current_time)).isoformat(timespec="seconds")
        if first > last:
            return f"{self.describe()} have no partitions yet as of {as_of}."
        return (
            f"it comes after the last partition {self._key_at(last)!r} of {self.describe()} "
            f"as of {as_of}; a window becomes a partition once it has ended (see end_offset)."
        )

    def describe(self) -> str:
        cadence = self._cadence
        if cadence.is_plain:
            what = str(cadence.word)
        elif cadence.word is not None:
            what = f"{cadence.word} (cron '{cadence.cron}')"
        else:
            what = f"cron '{cadence.cron}'"
        start = self._format(self.start)
        span = f"from {start}"
        end = self.end
        if end is not None:
            span += f" to {self._format(end)}"
        offset = f", end_offset={self._end_offset}" if self._end_offset else ""
        return f"{what} partitions {span} ({self._zone.name}{offset})"

    def to_snapshot(self) -> dict[str, Any]:
        end = self.end
        return {
            "type": type(self).__name__,
            "start": self.start.isoformat(),
            "end": None if end is None else end.isoformat(),
            "timezone": self._zone.name,
            "fmt": self._fmt,
            "cron_schedule": self._cadence.cron,
            "end_offset": self._end_offset,
        }

    @classmethod
    def _from_snapshot(cls, data: dict[str, Any]) -> TimeWindowPartitionsDefinition:
        self = cls.__new__(cls)
        end = data.get("end")
        self._setup(
            start=datetime.fromisoformat(data["start"]),
            end=None if end is None else datetime.fromisoformat(end),
            cadence=cadence_from_cron(data["cron_schedule"], cls.__name__),
            fmt=data["fmt"],
            timezone=data["timezone"],
            end_offset=data.get("end_offset", 0),
            arg_names=("start", "end"),
        )
        return self

    def _identity(self) -> tuple[Any, ...]:
        return (
            "time",
            self._cadence,
            self._start_ts,
            self._end_ts,
            self._zone.name,
            self._fmt,
            self._end_offset,
        )

    def __repr__(self) -> str:
        end = self.end
        return (
            f"{type(self).__name__}(start={self.start.isoformat()!r}, "
            f"end={None if end is None else end.isoformat()!r}, "
            f"cron_schedule={self.cron_schedule!r}, timezone={self.timezone!r}, "
            f"fmt={self._fmt!r}, end_offset={self._end_offset})"
        )
