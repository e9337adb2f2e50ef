"""The code locations a daemon serves, as the schedule and sensor duties see them: each
location's code server, the schedules and sensors of its latest snapshot, and why a location
that could not be read is broken."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from knoll.daemon.ticks import RunBuilder
from knoll.errors import StorageError
from knoll.storage.base import InstigatorState, InstigatorStatus, InstigatorType, TickStatus

if TYPE_CHECKING:
    from knoll.codeloc.client import LocationSnapshot
    from knoll.defs.schedule import ScheduleEvaluationResult
    from knoll.defs.sensor import SensorEvaluationResult
    from knoll.instance import Instance

__all__ = ["InstigationClient", "LocationView", "instigator_status", "read_locations"]


class InstigationClient(RunBuilder, Protocol):
    """What the schedule and sensor duties need of a code server (``CodeServerClient``)."""

    def snapshot(self) -> LocationSnapshot: ...

    def evaluate_schedule(
        self, name: str, scheduled_execution_time: datetime | None = None
    ) -> ScheduleEvaluationResult: ...

    def evaluate_sensor(
        self,
        name: str,
        cursor: str | None = None,
        last_tick_completion_time: float | None = None,
        last_run_key: str | None = None,
        instance_home: str | None = None,
    ) -> SensorEvaluationResult: ...


@dataclass(frozen=True)
class LocationView:
    """One location: its client and the instigators of one kind in its snapshot (``entries``,
    the snapshot's dicts), or its ``error`` when the snapshot could not be read (then
    ``entries`` are those of the last snapshot that could, if any)."""

    name: str
    client: InstigationClient
    entries: Sequence[Mapping[str, Any]]
    error: str | None = None


def read_locations(
    clients: Mapping[str, InstigationClient],
    section: str,
    last_good: dict[str, Sequence[Mapping[str, Any]]],
) -> list[LocationView]:
    """Each location's ``section`` ("schedules" or "sensors"), remembering in ``last_good``
    the entries of the last snapshot that loaded, for the broken locations' ticks."""
    views: list[LocationView] = []
    for name, client in clients.items():
        try:
            snapshot = client.snapshot()
        except StorageError:
            raise
        except Exception as exc:
            views.append(LocationView(name, client, last_good.get(name, ()), str(exc)))
            continue
        if snapshot.error is not None or snapshot.snapshot is None:
            message = snapshot.error.message if snapshot.error else "the snapshot is empty"
            views.append(LocationView(name, client, last_good.get(name, ()), message))
            continue
        entries = list(snapshot.snapshot.get(section, ()))
        last_good[name] = entries
        views.append(LocationView(name, client, entries))
    return views


def instigator_status(state: InstigatorState | None, entry: Mapping[str, Any]) -> InstigatorStatus:
    """Whether the instigator runs: its stored state, else its ``default_status``."""
    if state is not None:
        return state.status
    return InstigatorStatus(entry.get("default_status", InstigatorStatus.STOPPED.value))


def record_location_error(
    instance: Instance,
    view: LocationView,
    instigator_type: InstigatorType,
    states: Mapping[tuple[str, str], InstigatorState],
    now: float,
) -> None:
    """Record the error of a broken location on a FAILURE tick of each of its running
    instigators, once per distinct error (not on every pass)."""
    from dataclasses import replace

    storage = instance.storage
    error = (
        f"code location {view.name!r} could not be read, so this {_kind(instigator_type)} was "
        f"not evaluated: {view.error}"
    )
    names = {str(entry["name"]) for entry in view.entries}
    names |= {name for (location, name), state in states.items() if location == view.name}
    for name in sorted(names):
        state = states.get((view.name, name))
        entry = next((e for e in view.entries if e["name"] == name), {"default_status": "STOPPED"})
        if instigator_status(state, entry) is not InstigatorStatus.RUNNING:
            continue
        latest = storage.get_ticks(view.name, name, limit=1)
        if latest and latest[0].status is TickStatus.FAILURE and latest[0].error == error:
            continue
        tick = storage.create_tick(view.name, name, instigator_type, now)
        storage.update_tick(
            replace(tick, status=TickStatus.FAILURE, error=error, end_timestamp=now)
        )


def _kind(instigator_type: InstigatorType) -> str:
    return "schedule" if instigator_type is InstigatorType.SCHEDULE else "sensor"
