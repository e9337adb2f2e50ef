"""Freshness policies: how recently an asset should have been updated.

``FreshnessPolicy.time_window(fail_window=, warn_window=)`` expects an update within the last
``fail_window`` (and warns once the last update is older than ``warn_window``);
``FreshnessPolicy.cron(deadline_cron=, lower_bound_delta=)`` expects an update between
``lower_bound_delta`` before each deadline of the cron string and that deadline. A policy is
attached to an asset (``@asset(freshness_policy=...)``, ``AssetSpec(freshness_policy=...)``)
and evaluated by the daemon's ``freshness`` duty, which records each change of state as a
``FRESHNESS_STATE_CHANGE`` event (:class:`FreshnessStateChange`).
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from knoll._serdes import serializable
from knoll.defs.keys import AssetKey
from knoll.errors import CronError, DefinitionError

if TYPE_CHECKING:
    from knoll.defs.cron import CronSchedule

__all__ = [
    "CronFreshnessPolicy",
    "FreshnessEvaluation",
    "FreshnessPolicy",
    "FreshnessState",
    "FreshnessStateChange",
    "TimeWindowFreshnessPolicy",
]

_GAPS_CHECKED = 60  # deadlines looked at to find the shortest interval between two


@serializable()
class FreshnessState(enum.Enum):
    """An asset's freshness: PASS (fresh), WARN, FAIL, or UNKNOWN (never updated)."""

    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class FreshnessEvaluation:
    """A policy's verdict on an asset at one time: its state and why."""

    state: FreshnessState
    reason: str


class FreshnessPolicy:
    """How recently an asset should have been updated; build one with
    :meth:`time_window` or :meth:`cron`."""

    @staticmethod
    def time_window(
        fail_window: datetime.timedelta, warn_window: datetime.timedelta | None = None
    ) -> TimeWindowFreshnessPolicy:
        """Fresh while the last update is no older than ``warn_window`` (or ``fail_window``),
        WARN past ``warn_window``, FAIL past ``fail_window``."""
        fail = _seconds(fail_window, "fail_window", "FreshnessPolicy.time_window")
        if warn_window is None:
            return TimeWindowFreshnessPolicy(fail)
        warn = _seconds(warn_window, "warn_window", "FreshnessPolicy.time_window")
        if warn >= fail:
            raise DefinitionError(
                f"FreshnessPolicy.time_window(fail_window={fail_window!r}, "
                f"warn_window={warn_window!r}): warn_window must be shorter than fail_window "
                "(a warning comes before the failure), for example fail_window=timedelta(hours="
                "24), warn_window=timedelta(hours=12)."
            )
        return TimeWindowFreshnessPolicy(fail, warn)

    @staticmethod
    def cron(
        deadline_cron: str, lower_bound_delta: datetime.timedelta, timezone: str = "UTC"
    ) -> CronFreshnessPolicy:
        """Fresh when the asset was updated between ``lower_bound_delta`` before the latest
        deadline of ``deadline_cron`` (in ``timezone``) and now; FAIL otherwise."""
        from knoll.defs.cron import CronSchedule

        what = f"FreshnessPolicy.cron(deadline_cron={deadline_cron!r})"
        try:
            schedule = CronSchedule.parse(deadline_cron)
        except CronError as exc:
            raise DefinitionError(f"{what}: {exc}") from None
        zone = _zone(timezone, what)
        delta = _seconds(lower_bound_delta, "lower_bound_delta", what)
        gap = _shortest_gap(schedule, zone)
        if delta > gap:
            raise DefinitionError(
                f"{what}: lower_bound_delta={lower_bound_delta!r} is longer than the "
                f"{datetime.timedelta(seconds=gap)} between two deadlines, so the windows of two "
                "deadlines would overlap. Give a lower_bound_delta no longer than that."
            )
        return CronFreshnessPolicy(deadline_cron, delta, timezone)

    def evaluate(self, last_updated: float | None, now: float) -> FreshnessEvaluation:
        """The asset's freshness at ``now`` when it was last updated at ``last_updated``
        (seconds since the epoch; None: never)."""
        raise NotImplementedError

    def describe(self) -> str:
        """The policy in a few words, as messages show it."""
        raise NotImplementedError


@serializable()
@dataclass(frozen=True)
class TimeWindowFreshnessPolicy(FreshnessPolicy):
    """See :meth:`FreshnessPolicy.time_window`; windows in seconds."""

    fail_window_seconds: float
    warn_window_seconds: float | None = None

    @property
    def fail_window(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self.fail_window_seconds)

    @property
    def warn_window(self) -> datetime.timedelta | None:
        warn = self.warn_window_seconds
        return None if warn is None else datetime.timedelta(seconds=warn)

    def evaluate(self, last_updated: float | None, now: float) -> FreshnessEvaluation:
        if last_updated is None:
            return FreshnessEvaluation(FreshnessState.UNKNOWN, "it has never been updated")
        age = max(0.0, now - last_updated)
        since = f"last updated at {_utc(last_updated)}, {_span(age)} ago"
        if age > self.fail_window_seconds:
            why = f"longer ago than its fail window of {_span(self.fail_window_seconds)}"
            return FreshnessEvaluation(FreshnessState.FAIL, f"{since}: {why}")
        warn = self.warn_window_seconds
        if warn is not None and age > warn:
            why = f"longer ago than its warn window of {_span(warn)}"
            return FreshnessEvaluation(FreshnessState.WARN, f"{since}: {why}")
        window = self.fail_window_seconds if warn is None else warn
        return FreshnessEvaluation(FreshnessState.PASS, f"{since}: within {_span(window)}")

    def describe(self) -> str:
        warn = self.warn_window_seconds
        extra = "" if warn is None else f", warn after {_span(warn)}"
        return f"updated within {_span(self.fail_window_seconds)}{extra}"


@serializable()
@dataclass(frozen=True)
class CronFreshnessPolicy(FreshnessPolicy):
    """See :meth:`FreshnessPolicy.cron`; ``lower_bound_delta`` in seconds."""

    deadline_cron: str
    lower_bound_delta_seconds: float
    timezone: str = "UTC"

    @property
    def lower_bound_delta(self) -> datetime.timedelta:
        return datetime.timedelta(seconds=self.lower_bound_delta_seconds)

    def evaluate(self, last_updated: float | None, now: float) -> FreshnessEvaluation:
        from knoll.defs.cron import CronSchedule

        if last_updated is None:
            return FreshnessEvaluation(FreshnessState.UNKNOWN, "it has never been updated")
        zone = ZoneInfo(self.timezone)
        deadline = CronSchedule.parse(self.deadline_cron).previous_before(
            datetime.datetime.fromtimestamp(now, zone)
        )
        opened = deadline.timestamp() - self.lower_bound_delta_seconds
        since = f"last updated at {_utc(last_updated)}"
        window = f"the window of its deadline {_utc(deadline.timestamp())} opened at {_utc(opened)}"
        if last_updated >= opened:
            return FreshnessEvaluation(FreshnessState.PASS, f"{since}, after {window}")
        return FreshnessEvaluation(
            FreshnessState.FAIL, f"{since}, before {window}, and not updated since"
        )

    def describe(self) -> str:
        return (
            f"updated by each deadline of {self.deadline_cron!r} ({self.timezone}), at most "
            f"{_span(self.lower_bound_delta_seconds)} before it"
        )


@serializable()
@dataclass(frozen=True)
class FreshnessStateChange:
    """The data of a ``FRESHNESS_STATE_CHANGE`` event: an asset's new freshness state, the
    one before (None: the first evaluation), why, and when the asset was last updated."""

    asset_key: AssetKey
    state: FreshnessState
    previous_state: FreshnessState | None
    reason: str
    last_updated_timestamp: float | None


def _seconds(value: object, name: str, what: str) -> float:
    if not isinstance(value, datetime.timedelta) or value.total_seconds() <= 0:
        raise DefinitionError(
            f"{what}: {name}={value!r} must be a positive datetime.timedelta, for example "
            "timedelta(hours=24)."
        )
    return value.total_seconds()


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DefinitionError(
            f"{what}: timezone {name!r} is not a time zone name: give an IANA name such as "
            "'UTC' or 'Europe/Paris'."
        ) from None


def _shortest_gap(schedule: CronSchedule, zone: ZoneInfo) -> float:
    start = datetime.datetime(2024, 1, 1, tzinfo=zone)
    times = schedule.iter_after(start)
    previous = next(times)
    gap = float("inf")
    for _ in range(_GAPS_CHECKED):
        current = next(times)
        gap = min(gap, (current - previous).total_seconds())
        previous = current
    return gap


def _utc(stamp: float) -> str:
    return f"{datetime.datetime.fromtimestamp(stamp, datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _span(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))
