"""What a user does to a schedule or sensor, the same from ``knoll schedule``/``knoll sensor``
and from the webserver: find it in a location's snapshot, start and stop it, set or forget a
sensor's cursor, pick the time a schedule preview evaluates, and read a tick's duration and
reason. The daemon's duties read the states these write."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from knoll._utils import did_you_mean
from knoll.daemon.locations import instigator_status
from knoll.daemon.schedules import next_cron_time
from knoll.storage.base import InstigatorState, InstigatorStatus, InstigatorType, Tick

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = [
    "find_instigator",
    "instigator_word",
    "preview_time",
    "set_instigator_running",
    "set_sensor_cursor",
    "tick_duration",
    "tick_reason",
    "unknown_instigator",
]


def instigator_word(instigator_type: InstigatorType) -> str:
    """``schedule`` or ``sensor``."""
    return instigator_type.value.lower()


def _section(instigator_type: InstigatorType) -> str:
    return instigator_word(instigator_type) + "s"


def find_instigator(entries: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    """The snapshot entry named ``name`` among a location's schedules or sensors."""
    return next((entry for entry in entries if entry["name"] == name), None)


def unknown_instigator(
    location: str,
    entries: Sequence[Mapping[str, Any]],
    instigator_type: InstigatorType,
    name: str,
) -> str:
    """Says that ``location`` has no schedule (sensor) ``name``, with the close names and the
    ones it has."""
    names = [str(entry["name"]) for entry in entries]
    known = ", ".join(names) if names else "none"
    return (
        f"code location {location!r} has no {instigator_word(instigator_type)} named {name!r}."
        f"{did_you_mean(name, names)} Its {_section(instigator_type)}: {known}."
    )


def set_instigator_running(
    instance: Instance,
    location: str,
    name: str,
    instigator_type: InstigatorType,
    running: bool,
    now: float,
) -> bool:
    """Start (``running``) or stop the schedule or sensor; False when it was so already (its
    stored state said so: one never started or stopped is written even when its
    ``default_status`` agrees, so the choice outlives a change of the default). A started
    schedule ticks from ``now`` on, never the cron times it missed while stopped; a sensor
    keeps its cursor."""
    storage = instance.storage
    state = storage.get_instigator_state(location, name)
    wanted = InstigatorStatus.RUNNING if running else InstigatorStatus.STOPPED
    if state is not None and state.status is wanted:
        return False
    cursor = state.cursor if state is not None else None
    if instigator_type is InstigatorType.SCHEDULE:
        cursor = repr(now) if running else None
    storage.set_instigator_state(
        InstigatorState(location, name, instigator_type, wanted, cursor, now)
    )
    return True


def set_sensor_cursor(
    instance: Instance,
    location: str,
    entry: Mapping[str, Any],
    cursor: str | None,
    now: float,
) -> None:
    """Store ``cursor`` as the sensor's (None forgets it: the next tick starts afresh),
    keeping its status (a sensor without a stored state keeps its ``default_status``)."""
    name = str(entry["name"])
    state = instance.storage.get_instigator_state(location, name)
    if state is None:
        state = InstigatorState(
            location, name, InstigatorType.SENSOR, instigator_status(None, entry)
        )
    instance.storage.set_instigator_state(replace(state, cursor=cursor, updated_timestamp=now))


def preview_time(entry: Mapping[str, Any], at: datetime | None, now: float) -> datetime:
    """The time a preview of the schedule evaluates: ``at`` (read in the schedule's timezone
    when it has no offset), else its next cron time after ``now``."""
    if at is None:
        return next_cron_time(entry, now)
    if at.tzinfo is None:
        return at.replace(tzinfo=ZoneInfo(entry.get("execution_timezone") or "UTC"))
    return at


def tick_duration(tick: Tick) -> float | None:
    """How long the tick took, once it ended."""
    if tick.end_timestamp is None or tick.started_timestamp is None:
        return None
    return max(0.0, tick.end_timestamp - tick.started_timestamp)


def tick_reason(tick: Tick) -> str | None:
    """The first line of its error, its skip reason, or the run keys it requested."""
    if tick.error:
        return tick.error.split("\n", 1)[0]
    if tick.skip_reason:
        return tick.skip_reason
    if tick.run_keys:
        return "run keys " + ", ".join(tick.run_keys)
    return None
