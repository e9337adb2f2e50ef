"""The daemon's ``sensors`` duty: every running sensor of every location is evaluated at
most once per ``minimum_interval_seconds``, exactly once per tick (see
``knoll.daemon.ticks``), with its cursor committed together with the end of the tick that
moved it, after the tick's runs were created.

A sensor's ticks are keyed ``after:ID``, ID being the sensor's tick before (``after:0`` for
its first), so two daemons that both look at a sensor claim the same tick, and a tick left
STARTED by a daemon that died is carried on by the next pass. Asset, multi-asset and
run-status sensors are evaluated with the instance, whose events they read from the cursor
they keep; run requests without a run key make one run per tick, run keys one run ever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from knoll.daemon import PassErrors
from knoll.daemon.clock import Clock, SystemClock
from knoll.daemon.locations import (
    InstigationClient,
    LocationView,
    instigator_status,
    read_locations,
    record_location_error,
)
from knoll.daemon.ticks import Evaluation, apply_dynamic_partitions, carry_tick
from knoll.errors import StorageError
from knoll.storage.base import InstigatorState, InstigatorStatus, InstigatorType, Tick

if TYPE_CHECKING:
    from knoll.instance import Instance

__all__ = ["SENSORS_DUTY", "SensorDuty", "sensor_tick_key"]

SENSORS_DUTY = "sensors"
_SENSOR = InstigatorType.SENSOR
_DEFAULT_INTERVAL = 30


def sensor_tick_key(latest: Tick | None) -> str:
    """The key of the tick that follows ``latest`` (the sensor's newest tick, or None)."""
    return f"after:{latest.tick_id if latest is not None else 0}"


@dataclass
class SensorDuty:
    """One pass (``one_pass``) evaluates every running sensor whose interval has passed;
    a broken location's error goes on its running sensors' ticks and the others go on."""

    instance: Instance
    clients: Mapping[str, InstigationClient]
    instance_home: str
    clock: Clock = field(default_factory=SystemClock)
    on_runs: Callable[[], object] | None = None  # called when a tick has queued runs
    _last_good: dict[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    _not_before: dict[tuple[str, str], float] = field(default_factory=dict)

    def one_pass(self, owner: str = "") -> None:
        now = self.clock.now()
        states = {
            (state.location, state.name): state
            for state in self.instance.storage.get_instigator_states(_SENSOR)
        }
        errors: list[str] = []
        for view in read_locations(self.clients, "sensors", self._last_good):
            if view.error is not None:
                record_location_error(self.instance, view, _SENSOR, states, now)
                errors.append(f"location {view.name!r}: {view.error}")
                continue
            for entry in view.entries:
                name = str(entry["name"])
                if now < self._not_before.get((view.name, name), 0.0):
                    continue
                try:
                    self._sensor(view, entry, states.get((view.name, name)))
                except StorageError:
                    raise
                except Exception as exc:
                    errors.append(f"sensor {name!r} of {view.name!r}: {exc}")
        if errors:
            raise PassErrors("; ".join(errors))

    def _sensor(
        self, view: LocationView, entry: Mapping[str, Any], state: InstigatorState | None
    ) -> None:
        if instigator_status(state, entry) is not InstigatorStatus.RUNNING:
            return
        name = str(entry["name"])
        interval = float(entry.get("minimum_interval_seconds") or _DEFAULT_INTERVAL)
        storage = self.instance.storage
        recent = storage.get_ticks(view.name, name, limit=2)
        latest = recent[0] if recent else None
        previous = latest  # the ended tick before the one carried
        now = self.clock.now()
        if latest is not None and latest.is_finished:
            due = latest.timestamp + interval
            if now < due:
                self._not_before[(view.name, name)] = due
                return
            tick = storage.claim_tick(view.name, name, _SENSOR, sensor_tick_key(latest), now)
            if tick.is_finished:  # another daemon ticked it a moment ago
                self._not_before[(view.name, name)] = tick.timestamp + interval
                return
        elif latest is not None:
            tick = latest  # begun by a daemon that stopped: carry it on
            previous = recent[1] if len(recent) > 1 and recent[1].is_finished else None
        else:
            tick = storage.claim_tick(view.name, name, _SENSOR, sensor_tick_key(None), now)
        if state is None:
            state = InstigatorState(view.name, name, _SENSOR, InstigatorStatus.RUNNING)
        self._carry(view, tick, state, previous)
        self._not_before[(view.name, name)] = tick.timestamp + interval

    def _carry(
        self, view: LocationView, tick: Tick, state: InstigatorState, previous: Tick | None
    ) -> None:
        kept = state

        def end_state(evaluation: Evaluation | None) -> InstigatorState:
            cursor = getattr(evaluation, "cursor", None)
            if cursor is None:
                cursor = kept.cursor
            return replace(kept, cursor=cursor, updated_timestamp=self.clock.now())

        def evaluate() -> Evaluation:
            return view.client.evaluate_sensor(
                tick.name,
                cursor=kept.cursor,
                last_tick_completion_time=previous.end_timestamp if previous else None,
                last_run_key=_last_run_key(previous),
                instance_home=self.instance_home,
            )

        def apply(evaluation: Evaluation) -> None:
            apply_dynamic_partitions(
                self.instance, getattr(evaluation, "dynamic_partitions_requests", ())
            )

        ended = carry_tick(
            self.instance,
            tick,
            kind="sensor",
            evaluate=evaluate,
            builder=view.client,
            instance_home=self.instance_home,
            end_state=end_state,
            clock=self.clock,
            apply=apply,
        )
        if ended.run_ids and self.on_runs is not None:
            self.on_runs()


def _last_run_key(previous: Tick | None) -> str | None:
    if previous is None or not previous.run_keys:
        return None
    return previous.run_keys[-1]
