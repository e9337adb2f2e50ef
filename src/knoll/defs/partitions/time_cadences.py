"""The four everyday time partitions: hourly, daily, weekly and monthly."""

from __future__ import annotations

from datetime import datetime

from knoll.defs.partitions._cadence import MAX_MONTH_DAY, Cadence
from knoll.defs.partitions.time_window import (
    DAY_FORMAT,
    HOUR_FORMAT,
    TimeWindowPartitionsDefinition,
)
from knoll.errors import DefinitionError


def _check_offset(value: object, name: str, low: int, high: int, owner: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DefinitionError(
            f"{name} of {owner} must be a whole number from {low} to {high}, got {value!r}."
        )
    return value


class HourlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per hour, starting ``minute_offset`` minutes past the hour.

    Keys look like ``2024-01-01-13:00``. Across a clock change the windows follow the wall
    clock: the hour that repeats when clocks go back belongs to one two-hour partition.
    """

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        *,
        timezone: str | None = None,
        fmt: str | None = None,
        minute_offset: int = 0,
        end_offset: int = 0,
    ) -> None:
        owner = type(self).__name__
        minute = _check_offset(minute_offset, "minute_offset", 0, 59, owner)
        self._setup(
            start=start_date,
            end=end_date,
            cadence=Cadence.hourly(minute),
            fmt=HOUR_FORMAT if fmt is None else fmt,
            timezone=timezone,
            end_offset=end_offset,
            arg_names=("start_date", "end_date"),
        )


class DailyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per day, starting at ``hour_offset:minute_offset``; keys like
    ``2024-01-01``."""

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        *,
        minute_offset: int = 0,
        hour_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        owner = type(self).__name__
        cadence = Cadence.daily(
            hour=_check_offset(hour_offset, "hour_offset", 0, 23, owner),
            minute=_check_offset(minute_offset, "minute_offset", 0, 59, owner),
        )
        self._setup(
            start=start_date,
            end=end_date,
            cadence=cadence,
            fmt=DAY_FORMAT if fmt is None else fmt,
            timezone=timezone,
            end_offset=end_offset,
            arg_names=("start_date", "end_date"),
        )


class WeeklyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per week, starting on weekday ``day_offset`` (0 = Sunday, as in cron);
    keys are the first day of each week, like ``2024-01-07``."""

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        *,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 0,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        owner = type(self).__name__
        cadence = Cadence.weekly(
            day=_check_offset(day_offset, "day_offset", 0, 6, owner),
            hour=_check_offset(hour_offset, "hour_offset", 0, 23, owner),
            minute=_check_offset(minute_offset, "minute_offset", 0, 59, owner),
        )
        self._setup(
            start=start_date,
            end=end_date,
            cadence=cadence,
            fmt=DAY_FORMAT if fmt is None else fmt,
            timezone=timezone,
            end_offset=end_offset,
            arg_names=("start_date", "end_date"),
        )


class MonthlyPartitionsDefinition(TimeWindowPartitionsDefinition):
    """One partition per month, starting on day ``day_offset`` (1 to 28) of each month;
    keys like ``2024-01-01``."""

    def __init__(
        self,
        start_date: datetime | str,
        end_date: datetime | str | None = None,
        *,
        minute_offset: int = 0,
        hour_offset: int = 0,
        day_offset: int = 1,
        timezone: str | None = None,
        fmt: str | None = None,
        end_offset: int = 0,
    ) -> None:
        owner = type(self).__name__
        cadence = Cadence.monthly(
            day=_check_offset(day_offset, "day_offset", 1, MAX_MONTH_DAY, owner),
            hour=_check_offset(hour_offset, "hour_offset", 0, 23, owner),
            minute=_check_offset(minute_offset, "minute_offset", 0, 59, owner),
        )
        self._setup(
            start=start_date,
            end=end_date,
            cadence=cadence,
            fmt=DAY_FORMAT if fmt is None else fmt,
            timezone=timezone,
            end_offset=end_offset,
            arg_names=("start_date", "end_date"),
        )
