"""The daemon's ``schedules`` duty: every running schedule of every location ticks once at
each of its cron times, in its execution timezone, exactly once (see ``knoll.daemon.ticks``).

A schedule's state in storage says whether it runs (without one, its ``default_status``)
and, as its cursor, the scheduled time of its last tick that ended. The first pass that sees
a running schedule without a cursor starts it from now: history is not ticked. After
downtime, the ticks due since the cursor are run oldest first, but at most
``schedules:max_catchup_runs`` of them (the newest): the older ones are recorded as SKIPPED
ticks that say why (at most :data:`RECORDED_SKIPS` of them; the first one recorded counts
the rest).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from knoll.daemon import PassErrors
from knoll.daemon.clock import Clock, SystemClock
from knoll.daemon.locations import (
    InstigationClient,
    LocationView,
    instigator_status,
    read_locations,
    record_location_error,
)
from knoll.daemon.ticks import Evaluation, carry_tick
from knoll.errors import StorageError
from knoll.storage.base import InstigatorState, InstigatorStatus, InstigatorType, TickStatus

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = [
    "RECORDED_SKIPS",
    "SCHEDULES_DUTY",
    "ScheduleDuty",
    "due_times",
    "next_cron_time",
    "tick_key",
]

SCHEDULES_DUTY = "schedules"
RECORDED_SKIPS = 100
_SCHEDULE = InstigatorType.SCHEDULE


def tick_key(when: datetime) -> str:
    """A schedule tick's key: its scheduled time in UTC, ISO 8601."""
    return when.astimezone(UTC).isoformat()


def due_times(
    entry: Mapping[str, Any], after: float, now: float, keep: int
) -> tuple[list[datetime], int, datetime | None]:
    """The schedule's cron times in ``(after, now]``: the newest ``keep`` of them, how many
    came before those, and the first of all (None when none is due)."""
    from knoll.defs.cron import parse_cron

    cron = parse_cron(entry["cron_schedule"])
    zone = ZoneInfo(entry.get("execution_timezone") or "UTC")
    start = datetime.fromtimestamp(after, zone)
    newest: collections.deque[datetime] = collections.deque(maxlen=keep)
    first: datetime | None = None
    count = 0
    for when in cron.iter_after(start):
        if when.timestamp() > now:
            break
        first = first or when
        count += 1
        newest.append(when)
    return list(newest), count - len(newest), first


def next_cron_time(entry: Mapping[str, Any], after: float) -> datetime:
    """The schedule's first cron time after ``after``, in its execution timezone."""
    from knoll.defs.cron import parse_cron

    zone = ZoneInfo(entry.get("execution_timezone") or "UTC")
    start = datetime.fromtimestamp(after, zone)
    return next(iter(parse_cron(entry["cron_schedule"]).iter_after(start)))


@dataclass
class ScheduleDuty:
    """One pass (``one_pass``) ticks every schedule that is due, location by location; a
    broken location's error goes on its running schedules' ticks and the others go on."""

    instance: Instance
    clients: Mapping[str, InstigationClient]
    instance_home: str
    max_catchup_runs: int = 5
    clock: Clock = field(default_factory=SystemClock)
    on_runs: Callable[[], object] | None = None  # called when a tick has queued runs
    _last_good: dict[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    _next_due: dict[tuple[str, str], tuple[tuple[Any, ...], float]] = field(default_factory=dict)

    def one_pass(self, owner: str = "") -> None:
        now = self.clock.now()
        states = {
            (state.location, state.name): state
            for state in self.instance.storage.get_instigator_states(_SCHEDULE)
        }
        errors: list[str] = []
        for view in read_locations(self.clients, "schedules", self._last_good):
            if view.error is not None:
                record_location_error(self.instance, view, _SCHEDULE, states, now)
                errors.append(f"location {view.name!r}: {view.error}")
                continue
            for entry in view.entries:
                try:
                    self._schedule(view, entry, states.get((view.name, entry["name"])), now)
                except StorageError:
                    raise
                except Exception as exc:  # a schedule whose cron cannot be read, say
                    errors.append(f"schedule {entry['name']!r} of {view.name!r}: {exc}")
        if errors:
            raise PassErrors("; ".join(errors))

    def _schedule(
        self,
        view: LocationView,
        entry: Mapping[str, Any],
        state: InstigatorState | None,
        now: float,
    ) -> None:
        if instigator_status(state, entry) is not InstigatorStatus.RUNNING:
            return
        name = str(entry["name"])
        if state is None or state.cursor is None:
            state = InstigatorState(
                view.name, name, _SCHEDULE, InstigatorStatus.RUNNING, _stamp(now), now
            )
            self.instance.storage.set_instigator_state(state)
            return  # a schedule starts from now: its first tick is its next cron time
        # nothing due before the cached next time: idle schedules cost no cron stepping
        seen = (state.cursor, str(entry["cron_schedule"]), entry.get("execution_timezone"))
        cached = self._next_due.get((view.name, name))
        if cached is not None and cached[0] == seen and now < cached[1]:
            return
        due, skipped, first = due_times(entry, float(state.cursor), now, self.max_catchup_runs)
        if not due:
            self._next_due[(view.name, name)] = (seen, next_cron_time(entry, now).timestamp())
            return
        if skipped:
            state = self._skip(view.name, name, entry, state, skipped, first, due[0])
        for when in due:
            state = self._tick(view, name, state, when)

    def _tick(
        self, view: LocationView, name: str, state: InstigatorState, when: datetime
    ) -> InstigatorState:
        storage = self.instance.storage
        tick = storage.claim_tick(view.name, name, _SCHEDULE, tick_key(when), when.timestamp())
        after = replace(state, cursor=_stamp(when.timestamp()), updated_timestamp=self.clock.now())
        if tick.is_finished:  # another daemon ended it: only the cursor is behind
            storage.set_instigator_state(after)
            return after

        def end_state(evaluation: Evaluation | None) -> InstigatorState:
            return after

        ended = carry_tick(
            self.instance,
            tick,
            kind="schedule",
            evaluate=lambda: view.client.evaluate_schedule(name, when),
            builder=view.client,
            instance_home=self.instance_home,
            end_state=end_state,
            clock=self.clock,
        )
        if ended.run_ids and self.on_runs is not None:
            self.on_runs()
        return after

    def _skip(
        self,
        location: str,
        name: str,
        entry: Mapping[str, Any],
        state: InstigatorState,
        skipped: int,
        first: datetime | None,
        next_run: datetime,
    ) -> InstigatorState:
        """Record the ticks that downtime made too many as SKIPPED; the state after them."""
        storage = self.instance.storage
        times = _times_before(entry, float(state.cursor or 0), next_run, RECORDED_SKIPS)
        reason = (
            f"missed while no daemon ran: {skipped + self.max_catchup_runs} ticks were due at "
            f"once, more than schedules:max_catchup_runs ({self.max_catchup_runs}) of "
            "knoll.yaml, so only the newest of them run"
        )
        unrecorded = skipped - len(times)
        for index, when in enumerate(times):
            tick = storage.claim_tick(location, name, _SCHEDULE, tick_key(when), when.timestamp())
            if tick.is_finished:
                continue
            said = reason
            if index == 0 and unrecorded and first is not None:
                said += f" ({unrecorded} earlier ticks since {first.isoformat()} were skipped too)"
            now = self.clock.now()
            state = replace(state, cursor=_stamp(when.timestamp()), updated_timestamp=now)
            storage.update_tick(
                replace(tick, status=TickStatus.SKIPPED, skip_reason=said, end_timestamp=now),
                state=state,
            )
        return state


def _times_before(
    entry: Mapping[str, Any], after: float, before: datetime, keep: int
) -> list[datetime]:
    """The newest ``keep`` cron times in ``(after, before)``."""
    due, _, _ = due_times(entry, after, before.timestamp() - 1e-6, keep)
    return due


def _stamp(timestamp: float) -> str:
    return repr(float(timestamp))
